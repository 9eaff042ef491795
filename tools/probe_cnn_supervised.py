"""How well can a CNN read the rendered factors at all? Supervised probes at equal wall time.

Renders a fixed pool of images of z ~ uniform([-1, 1]^10) once (cached in --cache), then trains
each named CNN by MSE regression of z for --seconds of wall time on it, and prints its held-out
R^2 per factor (the last 4,000 images of the pool). A ceiling for the contrastive 3dident preset:
a factor the supervised probe cannot read in minutes, InfoNCE will not recover either.

Run:  OPENBLAS_NUM_THREADS=1 python tools/probe_cnn_supervised.py base wide --seconds 120
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

# name: (conv widths, strides, batch norm). "base" is the preset's CNN (models.conv_encoders).
ARCHITECTURES = {
    "base": ((32, 64, 128), (2, 2, 2), False),
    "s1first": ((32, 32, 64, 128), (1, 2, 2, 2), False),
    "wide": ((64, 128, 256), (2, 2, 2), False),
    "deep": ((32, 64, 64, 128, 128), (2, 1, 2, 1, 2), False),
    "s1bn": ((32, 32, 64, 128), (1, 2, 2, 2), True),
}
HELD_OUT = 4000


def build(name: str, size: int, dense: int = 256):
    import keras

    widths, strides, batch_norm = ARCHITECTURES[name]
    inputs = keras.Input((size, size, 3))
    h = inputs
    for width, stride in zip(widths, strides, strict=True):
        h = keras.layers.Conv2D(width, 3, strides=stride, padding="same")(h)
        if batch_norm:
            h = keras.layers.BatchNormalization()(h)
        h = keras.layers.LeakyReLU(0.01)(h)
    h = keras.layers.LeakyReLU(0.01)(keras.layers.Dense(dense)(keras.layers.Flatten()(h)))
    return keras.Model(inputs, keras.layers.Dense(10)(h))


def pool(size: int, count: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images and their factors, rendered once (XLA, chunks of 500) and cached."""
    import tensorflow as tf

    from tfclica.observations.renderer import SCENE_VERSION, render

    path = cache / f"pool-scene{SCENE_VERSION}-{size}px-{count}.npz"
    if path.is_file():
        data = np.load(path)
        return data["x"], data["z"]
    z = np.random.default_rng(0).uniform(-1, 1, (count, 10)).astype("float32")
    draw = tf.function(lambda f: render(f, size), jit_compile=True)
    start = time.time()
    x = np.concatenate([draw(z[i : i + 500]).numpy() for i in range(0, count, 500)])
    print(f"rendered {count} images in {time.time() - start:.1f} s", flush=True)
    x = np.round(x * 255).astype("uint8")
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, z=z)
    return x, z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=sorted(ARCHITECTURES))
    parser.add_argument("--seconds", type=float, default=120.0, help="training wall time each")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=40000, help="pool size (incl. held-out)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/tfclica-probe"))
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from tfclica.observations.renderer import FACTOR_NAMES

    x, z = pool(args.image_size, args.images, args.cache)
    x_test, z_test = x[-HELD_OUT:].astype("float32") / 255, z[-HELD_OUT:]
    x, z = x[:-HELD_OUT], z[:-HELD_OUT]
    rng = np.random.default_rng(0)
    for name in args.names:
        keras.utils.set_random_seed(0)
        model, optimizer = build(name, args.image_size), keras.optimizers.Adam(args.lr)

        @tf.function(jit_compile=True)
        def step(images, factors, model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                prediction = model(tf.cast(images, tf.float32) / 255, training=True)
                loss = tf.reduce_mean(tf.square(prediction - factors))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        start, steps = time.time(), 0
        while time.time() - start < args.seconds:
            batch = rng.integers(0, len(x), args.batch_size)
            step(x[batch], z[batch])
            steps += 1
        rate = steps * args.batch_size / (time.time() - start)
        predicted = model.predict(x_test, batch_size=1000, verbose=0)
        r2 = 1 - ((predicted - z_test) ** 2).mean(0) / z_test.var(0)
        factors = ", ".join(f"{n} {v:.3f}" for n, v in zip(FACTOR_NAMES, r2, strict=True))
        print(f"{name}: {steps} steps, {rate:.0f} images/s, mean R^2 {r2.mean():.3f}; {factors}")


if __name__ == "__main__":
    main()

"""Where the time of one 3dident train step goes: the renderer and the CNN, each timed alone.

Run:  python tools/image_step_breakdown.py [--batch-size 256] [--image-size 32] [--repeats 7]

A step renders both views of ``batch`` pairs (``2 * batch`` images, one XLA program) and runs
the CNN forward and backward on them. Printed: the renderer's milliseconds at several march
steps (and the share of channel values that differ from a 96-step render), and the CNN's
forward+backward under XLA and as a TF graph (oneDNN's kernels), in float32 and mixed
bfloat16. Medians after a warm-up call (``tfclica.experiments.bench.median_seconds``).
"""

from __future__ import annotations

import argparse

import numpy as np

EXACT_MARCH_STEPS = 96  # the render the cheaper step counts are compared with


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=256, help="pairs per step")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--march-steps", type=int, nargs="+", default=[32, 24, 20])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import tensorflow as tf

    from tfclica.experiments.bench import median_seconds
    from tfclica.models.conv_encoders import build_cnn_encoder
    from tfclica.observations.renderer import render, to_uint8

    images, size = 2 * args.batch_size, args.image_size
    z = tf.random.stateless_uniform([images, 10], [0, 1], -1.0, 1.0)
    exact = to_uint8(render(z, size, EXACT_MARCH_STEPS)).numpy().astype(int)
    for steps in args.march_steps:
        fn = tf.function(lambda z, steps=steps: render(z, size, steps), jit_compile=True)
        ms = 1e3 * median_seconds(lambda _, fn=fn: fn(z).numpy(), args.repeats)
        off = np.abs(to_uint8(fn(z)).numpy().astype(int) - exact) > 2
        print(
            f"render {images} images {size}x{size}, {steps} march steps: {ms:.1f} ms; "
            f"{100 * off.mean():.2f}% of channel values off by > 2/255 against "
            f"{EXACT_MARCH_STEPS} steps"
        )
    x = tf.random.stateless_uniform([images, size, size, 3], [0, 2])
    for dtype in (None, "mixed_bfloat16"):
        encoder = build_cnn_encoder((size, size, 3), 10, seed=0, dtype=dtype)
        for jit in (True, False):

            @tf.function(jit_compile=jit)
            def forward_backward(x, encoder=encoder):
                with tf.GradientTape() as tape:
                    h = encoder(x, training=True)
                    loss = tf.reduce_mean(tf.square(h))
                return loss, tape.gradient(loss, encoder.trainable_variables)

            ms = 1e3 * median_seconds(lambda _, f=forward_backward: f(x)[0].numpy(), args.repeats)
            how = "XLA" if jit else "graph (oneDNN)"
            print(f"CNN forward+backward {images} images, {dtype or 'float32'}, {how}: {ms:.1f} ms")


if __name__ == "__main__":
    main()

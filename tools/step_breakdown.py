"""Where the time of one train step goes: each part compiled and timed on its own.

Run:  python tools/step_breakdown.py [--batch-size 6144] [--repeats 5]

Parts (paper setting unless flags say otherwise): pair sampling, mixing g on both views, encoder
forward, encoder forward+backward, loss forward+backward (encoder + similarity matrix), the
Adam update, and the whole step, each with and without XLA (``jit_compile``).
"""

from __future__ import annotations

import argparse

import keras
import tensorflow as tf

from tfclica.experiments.bench import gemm_peak_gflops, median_seconds
from tfclica.latents import build_pair_sampler, seeds
from tfclica.losses import cosine_infonce
from tfclica.models.encoders import build_mlp_encoder
from tfclica.observations.mixing import build_mixing
from tfclica.presets import get_preset


def _median_ms(fn, repeats: int) -> float:
    fn().numpy()  # compile (median_seconds warms up once more)
    return 1e3 * median_seconds(lambda _: fn().numpy(), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=6144)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cfg = get_preset("sphere-vmf-paper").config.replace(batch_size=args.batch_size)
    b = cfg.batch_size
    sampler = build_pair_sampler(cfg)
    mixing = build_mixing(cfg.dim, cfg.mixing_layers, seed=0, pilot_draws=2000)
    encoder = build_mlp_encoder(cfg.dim, cfg.dim, cfg.hidden_widths, cfg.head, seed=0)
    optimizer = keras.optimizers.Adam(cfg.lr)
    optimizer.build(encoder.trainable_variables)
    variables = encoder.trainable_variables
    seed = seeds.as_seed(0)
    z, z_tilde = sampler.sample_pairs(b, seed)
    x = mixing(tf.concat([z, z_tilde], 0))

    def sample():
        z, zt = sampler.sample_pairs(b, seed)
        return tf.reduce_sum(z) + tf.reduce_sum(zt)

    def mix():
        return tf.reduce_sum(mixing(tf.concat([z, z_tilde], 0)))

    def forward():
        return tf.reduce_sum(encoder(x, training=True))

    def forward_backward():
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(encoder(x, training=True))
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(out, variables)])

    def loss_forward_backward():
        with tf.GradientTape() as tape:
            a, p = tf.split(encoder(x, training=True), 2)
            loss = tf.reduce_mean(cosine_infonce(a, p, cfg.tau))
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, variables)])

    def similarity_only():
        a, p = tf.split(tf.math.l2_normalize(x, -1), 2)  # unit norm, as after the sphere head
        with tf.GradientTape() as tape:
            tape.watch(a)
            loss = tf.reduce_mean(cosine_infonce(a, p, cfg.tau))
        return tf.reduce_sum(tape.gradient(loss, a))

    grads = [tf.zeros_like(v) for v in variables]

    def adam():
        optimizer.apply_gradients(zip(grads, variables))
        return tf.constant(0.0)

    def full_step():
        z, zt = sampler.sample_pairs(b, seed)
        xx = mixing(tf.concat([z, zt], 0))
        with tf.GradientTape() as tape:
            a, p = tf.split(encoder(xx, training=True), 2)
            loss = tf.reduce_mean(cosine_infonce(a, p, cfg.tau))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    parts = [
        ("sample pairs", sample),
        ("mixing g (2 views)", mix),
        ("encoder forward", forward),
        ("encoder fwd+bwd", forward_backward),
        ("loss on raw x, fwd+bwd", similarity_only),
        ("encoder+loss fwd+bwd", loss_forward_backward),
        ("adam update", adam),
        ("full step", full_step),
    ]
    print(f"batch {b}; GEMM peak {gemm_peak_gflops():.1f} GFLOP/s (fp32 4096^3)")
    print(f"{'part':<26}{'XLA ms':>10}{'graph ms':>10}")
    for name, fn in parts:
        xla = _median_ms(tf.function(fn, jit_compile=True), args.repeats)
        graph = _median_ms(tf.function(fn), args.repeats)
        print(f"{name:<26}{xla:>10.1f}{graph:>10.1f}", flush=True)


if __name__ == "__main__":
    main()

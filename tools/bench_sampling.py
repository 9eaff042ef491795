"""Pairs per second of the latent samplers, compiled with XLA, against a NumPy vMF baseline.

Usage::

    python tools/bench_sampling.py                      # 6144 pairs, n = 10, the settings below
    python tools/bench_sampling.py --num 6144 --dim 10 --repeats 50 --json

Each setting is timed as one ``tf.function(jit_compile=True)`` call of
``PairSampler.sample_pairs(num, seed)`` (marginal and conditional, a fresh seed per call) up to
host NumPy arrays. The figure is the median over ``--repeats`` calls after a warm-up; CPU time
(all threads) per call is reported too because wall time on a shared machine is noisy. The
NumPy baseline draws the same vMF pairs the way the reference does (uniform marginal; batch
Wood rejection with ``np.random.beta``; a random orthogonal direction).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

SETTINGS = {
    "vmf-k1": dict(space="sphere", marginal="uniform", conditional="vmf", conditional_scale=1.0),
    "vmf-k10": dict(space="sphere", marginal="uniform", conditional="vmf", conditional_scale=10.0),
    "sphere-laplace": dict(space="sphere", conditional="laplace", conditional_scale=0.05),
    "box-normal": dict(space="box", conditional="normal", conditional_scale=0.05),
    "box-laplace": dict(space="box", conditional="laplace", conditional_scale=0.05),
    "box-gennorm3": dict(
        space="box", conditional="gennorm", conditional_scale=0.05, conditional_p=3.0
    ),
    "unbounded-gennorm1.5": dict(
        space="unbounded",
        marginal="gennorm",
        marginal_p=1.5,
        conditional="gennorm",
        conditional_p=1.5,
        conditional_scale=0.05,
    ),
}


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def numpy_vmf_pairs(num: int, dim: int, kappa: float, rng: np.random.Generator):
    """The reference's way: NumPy batch rejection for w, then an orthogonal direction."""
    z = rng.standard_normal((num, dim))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    m = dim - 1
    b = m / (np.sqrt(4.0 * kappa**2 + m**2) + 2 * kappa)
    x = (1.0 - b) / (1.0 + b)
    c = kappa * x + m * np.log(1 - x**2)
    accepted, count = [], 0
    while count < num:
        beta = rng.beta(m / 2.0, m / 2.0, size=num)
        w = (1.0 - (1.0 + b) * beta) / (1.0 - (1.0 - b) * beta)
        keep = kappa * w + m * np.log(1.0 - x * w) - c >= np.log(rng.uniform(size=num))
        accepted.append(w[keep])
        count += int(keep.sum())
    w = np.concatenate(accepted)[:num, None]
    v = rng.standard_normal((num, dim))
    v -= z * np.einsum("ij,ij->i", z, v)[:, None]
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return z, v * np.sqrt(1.0 - w**2) + w * z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num", type=int, default=6144, help="pairs per call")
    parser.add_argument("--dim", type=int, default=10, help="latent dimension n")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per setting")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    import tensorflow as tf

    from tfclica.config.experiment import ExperimentConfig
    from tfclica.latents import build_pair_sampler, seeds

    results = {}
    for name in args.settings:
        sampler = build_pair_sampler(ExperimentConfig(dim=args.dim, **SETTINGS[name]))
        # As in training: the per-step seed is folded inside the compiled function.
        draw = tf.function(
            lambda i, sp=sampler: sp.sample_pairs(args.num, seeds.fold((0, 0), i)),
            jit_compile=True,
        )
        step = iter(range(10**9))

        def call(draw=draw, step=step):
            z, z_tilde = draw(tf.constant(next(step)))
            return z.numpy(), z_tilde.numpy()

        call()
        wall, cpu = _time(call, args.repeats)
        results[name] = {"ms": 1e3 * wall, "cpu_ms": 1e3 * cpu, "pairs_per_second": args.num / wall}

    rng = np.random.default_rng(0)
    for kappa in (1.0, 10.0):
        wall, cpu = _time(lambda k=kappa: numpy_vmf_pairs(args.num, args.dim, k, rng), args.repeats)
        results[f"numpy-vmf-k{kappa:g}"] = {
            "ms": 1e3 * wall,
            "cpu_ms": 1e3 * cpu,
            "pairs_per_second": args.num / wall,
        }

    if args.json:
        print(json.dumps({"num": args.num, "dim": args.dim, "results": results}))
        return
    print(f"{args.num} pairs, n = {args.dim}, median of {args.repeats} calls")
    for name, r in results.items():
        print(
            f"{name:<22} {r['ms']:7.2f} ms  (cpu {r['cpu_ms']:6.2f} ms)"
            f"  {r['pairs_per_second'] / 1e6:6.2f} M pairs/s"
        )


if __name__ == "__main__":
    main()

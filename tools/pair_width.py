"""How wide are the positive pairs the reference trains 3DIdent on, against exact pairs?

The reference draws z from the marginal and z~ from the conditional (truncated Normal, sigma 0.1
by default), then trains on the images whose stored latents are nearest to z and to z~ (never
the same image twice). In a folder of N images the nearest stored latent is far from the query
in 10 dimensions, so the latents of the pair it trains on are much further apart than z and z~.
This draws pairs with the package's own sampler (the 3dident preset's setting, ``--sigma``
overriding its conditional scale) and the folder loader's exact nearest-neighbour search
(:class:`tfclica.data.loader.NearestLatents`) over N uniform latents in the box (the published
dataset has N = 250,000; ``tfclica render -n 10000`` makes N = 10,000), and prints the
per-coordinate RMS of ``z~ - z`` for exact pairs and for the pairs the loader would return.

Run:  python tools/pair_width.py                      (sigma 0.1; N = 10,000 and 250,000)
      python tools/pair_width.py --sigma 0.1 0.2 0.25 0.3 --sizes 250000
"""

from __future__ import annotations

import argparse

import numpy as np


def rms_spread(z, z_tilde) -> float:
    """Per-coordinate root mean square of ``z_tilde - z`` (the pairs' width)."""
    diff = np.asarray(z_tilde, np.float64) - np.asarray(z, np.float64)
    return float(np.sqrt(np.mean(np.square(diff))))


def nearest_pairs(stored, z, z_tilde):
    """The stored latents the folder loader pairs for ``(z, z~)``: the nearest to ``z``, and
    the nearest to ``z~`` other than that one. Returns ``(stored[i], stored[j])``."""
    from tfclica.data.loader import NearestLatents

    nearest = NearestLatents(stored)
    i = nearest(z)
    j = nearest(z_tilde, exclude=i)
    return stored[i.numpy()], stored[j.numpy()]


def exact_pairs(sigma: float, num: int, seed: int):
    """``num`` pairs of the 3dident setting with conditional scale ``sigma`` (NumPy)."""
    import tensorflow as tf

    from tfclica.latents import build_pair_sampler
    from tfclica.presets import get_preset

    cfg = get_preset("3dident").config.replace(conditional_scale=sigma, tau=2 * sigma**2)
    z, z_tilde = build_pair_sampler(cfg).sample_pairs(num, tf.constant([seed, 1], tf.int32))
    return z.numpy(), z_tilde.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 250_000])
    parser.add_argument("--queries", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    folders = {n: rng.uniform(-1.0, 1.0, (n, 10)).astype(np.float32) for n in args.sizes}
    print("sigma  exact pairs  " + "  ".join(f"N={n:,} nearest" for n in args.sizes))
    for sigma in args.sigma:
        z, z_tilde = exact_pairs(sigma, args.queries, args.seed)
        row = [f"{rms_spread(*nearest_pairs(folders[n], z, z_tilde)):.3f}" for n in args.sizes]
        print(f"{sigma:<6} {rms_spread(z, z_tilde):.3f}        " + "  ".join(row))


if __name__ == "__main__":
    main()

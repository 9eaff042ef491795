"""Write a picture of rendered positive pairs of the 3dident preset (docs/images/3dident_pairs.png).

Top row: images of z ~ uniform([-1, 1]^10); bottom row: their partners z~ drawn from the
preset's conditional (truncated Normal(z, sigma), sigma its ``conditional_scale``).
Run: ``python tools/render_pairs.py [--out FILE] [--pairs K] [--image-size S]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/3dident_pairs.png"))
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import tensorflow as tf

    from tfclica.latents import build_pair_sampler
    from tfclica.observations.renderer import render, to_uint8
    from tfclica.presets import get_preset
    from tfclica.rundir import atomic_write_bytes

    sampler = build_pair_sampler(get_preset("3dident").config)
    z, z_tilde = sampler.sample_pairs(args.pairs, tf.constant([args.seed, 0], tf.int32))
    size, gap = args.image_size, 2
    images = render(tf.concat([z, z_tilde], 0), size).numpy().reshape(2, args.pairs, size, size, 3)
    grid = np.ones((2 * size + gap, args.pairs * (size + gap) - gap, 3), np.float32)
    for row in range(2):
        for k in range(args.pairs):
            top, left = row * (size + gap), k * (size + gap)
            grid[top : top + size, left : left + size] = images[row, k]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, tf.io.encode_png(to_uint8(grid)).numpy())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

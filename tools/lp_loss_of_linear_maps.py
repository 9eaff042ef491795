"""The reference's Lp InfoNCE of the linear encoders h = s z on box pairs, against the scale s.

On a box with truncated pairs and the matched Lp model, the matched encoder is h = z (with tau
the conditional's: box-laplace, b = 0.05, p = 1, tau = 0.05; 3dident before the sixth session,
sigma = 0.1, p = 2, tau = 2 sigma^2 = 0.02), or any h = z / sqrt[p](tau') at another tau'.
This evaluates the loss the presets train (``tfclica.losses.lp_infonce``: d_pos / tau +
logsumexp over the batch's anchors, self included at distance 0, and the positive) of every
h = s z on one fresh batch, so one can see which scale a batch of that size prefers among the
linear maps (s = 1 is matched) and compare with the loss a trained encoder logs.

Run:  python tools/lp_loss_of_linear_maps.py --batch 1024 4096          (box-laplace at tau 1)
      python tools/lp_loss_of_linear_maps.py --conditional normal --conditional-scale 0.1 \\
          --p 2 --box -1 1 --tau 0.02 --batch 256          (3dident at the reference's sigma 0.1)
"""

from __future__ import annotations

import argparse

import numpy as np

SCALES = (0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5)


def truncated_pairs(rng, batch: int, dim: int, conditional: str, scale: float, low=0.0, high=1.0):
    """z uniform in [low, high]^dim and z~ ~ conditional(z, scale) truncated to the box, by
    rejection per coordinate as the reference does (``laplace``: scale b; ``normal``: sigma)."""
    noise = {"laplace": rng.laplace, "normal": rng.normal}[conditional]
    z = rng.uniform(low, high, (batch, dim))
    z_tilde = np.empty_like(z)
    todo = np.ones(z.shape, bool)
    while todo.any():
        draw = z + noise(0.0, scale, z.shape)
        ok = todo & (draw >= low) & (draw <= high)
        z_tilde[ok] = draw[ok]
        todo &= ~ok
    return z, z_tilde


def loss_of_linear_map(z, z_tilde, s: float, p: float = 1.0, tau: float = 1.0) -> float:
    """Mean over anchors of ``d_pos + logsumexp({-d_ij}_j U {-d_pos})`` for h = s z, with
    ``d = sum_k |h_k - h'_k|^p / tau`` and j over every anchor of the batch (self included, at
    distance 0): :func:`tfclica.losses.lp_infonce` of ``(s z, s z~)``."""
    d_pos = (np.abs(z - z_tilde) ** p).sum(1) * s**p / tau
    d_neg = (np.abs(z[:, None, :] - z[None, :, :]) ** p).sum(-1) * s**p / tau
    logits = np.concatenate([-d_neg, -d_pos[:, None]], axis=1)
    top = logits.max(1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(1))
    return float((d_pos + lse).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1024])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--conditional", choices=("laplace", "normal"), default="laplace")
    parser.add_argument("--conditional-scale", type=float, default=0.05)
    parser.add_argument("--p", type=float, default=1.0, help="the model's Lp exponent")
    parser.add_argument("--tau", type=float, default=1.0)
    parser.add_argument("--box", type=float, nargs=2, default=(0.0, 1.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--scales", type=float, nargs="+", help="default: around the matched s")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # Matched: s^p |d|^p / tau is the pairs' -log-density, |d| / b or |d|^2 / (2 sigma^2).
    spread = {"laplace": args.conditional_scale, "normal": 2**0.5 * args.conditional_scale}
    matched = (args.tau / spread[args.conditional] ** args.p) ** (1.0 / args.p)
    scales = args.scales or [round(matched * f, 4) for f in SCALES]
    print(f"matched scale s = {matched:g}")
    rng = np.random.default_rng(args.seed)
    for batch in args.batch:
        z, z_tilde = truncated_pairs(
            rng, batch, args.dim, args.conditional, args.conditional_scale, *args.box
        )
        losses = [(s, loss_of_linear_map(z, z_tilde, s, args.p, args.tau)) for s in scales]
        best = min(losses, key=lambda item: item[1])
        row = "  ".join(f"s={s:g}: {loss:.3f}" for s, loss in losses)
        print(f"batch {batch}: smallest at s = {best[0]:g} ({best[1]:.3f});  {row}")


if __name__ == "__main__":
    main()

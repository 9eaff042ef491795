"""Build pair samplers: from a space and the names of its distributions, or from a config."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfclica.config.experiment import ExperimentConfig
from tfclica.latents.pairs import PairSampler
from tfclica.latents.product import Product
from tfclica.latents.spaces import Space, space_from_config


def make_pair_sampler(
    space: Space,
    marginal: str,
    conditional: str,
    marginal_scale: float = 1.0,
    marginal_p: float = 2.0,
    conditional_scale: float = 1.0,
    conditional_p: float = 2.0,
) -> PairSampler:
    """The :class:`PairSampler` of ``marginal`` and ``conditional`` on ``space`` (the setting
    names of docs/DESIGN.md).

    Raises:
        ConfigError: a name the space does not support, or a non-positive scale or p.
    """
    return PairSampler(
        space.marginal(marginal, marginal_scale, marginal_p),
        space.conditional(conditional, conditional_scale, conditional_p),
        space.dim,
    )


def product_pair_sampler(samplers: Sequence[PairSampler]) -> PairSampler:
    """Independent factors side by side: z and z~ are the factors' latents concatenated.

    Example (3DIdent-like latents: positions etc. in a box, a rotation direction on S^2)::

        product_pair_sampler([
            make_pair_sampler(Box(7), "uniform", "normal", conditional_scale=0.05),
            make_pair_sampler(Sphere(3), "uniform", "vmf", conditional_scale=10.0),
        ])
    """
    samplers = tuple(samplers)
    sizes = [s.dim for s in samplers]

    def conditional(z):
        blocks = tf.split(z, sizes, axis=-1)
        return Product([s.conditional(b) for s, b in zip(samplers, blocks)])

    return PairSampler(Product([s.marginal for s in samplers]), conditional, sum(sizes))


def build_pair_sampler(cfg: ExperimentConfig) -> PairSampler:
    """The marginal and conditional of ``cfg`` as a :class:`PairSampler`."""
    return make_pair_sampler(
        space_from_config(cfg),
        cfg.marginal,
        cfg.conditional,
        cfg.marginal_scale,
        cfg.marginal_p,
        cfg.conditional_scale,
        cfg.conditional_p,
    )

"""Build the pair sampler an :class:`~tfclica.config.ExperimentConfig` describes."""

from __future__ import annotations

import tensorflow as tf

from tfclica.config import ConfigError, ExperimentConfig
from tfclica.latents.pairs import PairSampler
from tfclica.latents.sphere import UniformSphere
from tfclica.latents.vmf import VonMisesFisher


def build_pair_sampler(cfg: ExperimentConfig) -> PairSampler:
    """The marginal and conditional of ``cfg`` as a :class:`PairSampler`."""
    if cfg.space == "sphere" and cfg.marginal == "uniform" and cfg.conditional == "vmf":
        radius = cfg.radius
        kappa = cfg.conditional_scale

        def conditional(z):
            direction = tf.math.l2_normalize(z, axis=-1)
            return _Scaled(VonMisesFisher(direction, tf.constant(kappa, z.dtype)), radius)

        return PairSampler(UniformSphere(cfg.dim, radius), conditional, cfg.dim)
    raise ConfigError(
        f"setting space={cfg.space!r} marginal={cfg.marginal!r} conditional={cfg.conditional!r} "
        "is not implemented yet"
    )


class _Scaled:
    """Samples of ``base`` times ``radius`` (vMF lives on the unit sphere)."""

    def __init__(self, base, radius: float):
        self.base, self.radius = base, radius

    def sample(self, sample_shape=(), seed=None):
        return self.radius * self.base.sample(sample_shape, seed=seed)

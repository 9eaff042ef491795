"""Positive pairs (z, z~): a marginal p(z) and a conditional p(z~|z), sampled statelessly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.latents import seeds

tfd = tfp.distributions


@dataclass(frozen=True)
class PairSampler:
    """Draws latents from the marginal and positive partners from the conditional.

    Every method is a pure function of its stateless ``seed`` (shape ``[2]`` int32), runs inside
    ``tf.function(jit_compile=True)`` and returns static shapes.

    Attributes:
        marginal: p(z), event shape ``[n]``.
        conditional: maps a batch of latents ``z`` to the distribution p(z~|z) (batch shape
            ``[batch]``, event ``[n]``).
        dim: latent dimension n.
    """

    marginal: tfd.Distribution
    conditional: Callable[[tf.Tensor], tfd.Distribution]
    dim: int

    def sample_marginal(self, num: int, seed) -> tf.Tensor:
        """``num`` latents from p(z), shape ``[num, n]``."""
        return self.marginal.sample(num, seed=seed)

    def sample_pairs(self, num: int, seed) -> tuple[tf.Tensor, tf.Tensor]:
        """``num`` positive pairs ``(z, z~)``, each of shape ``[num, n]``."""
        seed_z, seed_tilde = seeds.split(seed, 2)
        z = self.sample_marginal(num, seed_z)
        z_tilde = self.conditional(z).sample(seed=seed_tilde)
        return z, z_tilde

"""The uniform distribution on a sphere of any radius."""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.latents import seeds

tfd = tfp.distributions


class UniformSphere(tfd.Distribution):
    """Uniform on ``{z in R^n : |z| = radius}``; ``log_prob`` is w.r.t. surface measure.

    Args:
        dim: ambient dimension n (the sphere is S^(n-1)).
        radius: sphere radius.
        dtype: float dtype of samples.
    """

    def __init__(self, dim: int, radius: float = 1.0, dtype=tf.float32, name="UniformSphere"):
        parameters = dict(locals())
        self._dim = int(dim)
        self._radius = float(radius)
        super().__init__(
            dtype=dtype,
            reparameterization_type=tfd.FULLY_REPARAMETERIZED,
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    @property
    def radius(self) -> float:
        return self._radius

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {}

    def _event_shape(self):
        return tf.TensorShape([self._dim])

    def _batch_shape(self):
        return tf.TensorShape([])

    def _sample_n(self, n, seed=None):
        normals = seeds.normal([n, self._dim], seed, self.dtype)
        return self._radius * tf.math.l2_normalize(normals, axis=-1)

    def _log_prob(self, z):
        # Surface area of the (n-1)-sphere of radius r: 2 pi^(n/2) r^(n-1) / Gamma(n/2).
        n = self._dim
        log_area = (
            math.log(2.0)
            + 0.5 * n * math.log(math.pi)
            + (n - 1) * math.log(self._radius)
            - math.lgamma(0.5 * n)
        )
        return tf.fill(tf.shape(z)[:-1], tf.constant(-log_area, self.dtype))

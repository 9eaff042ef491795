"""The uniform distribution on a sphere of any radius."""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.latents import seeds
from tfclica.latents.base import FixedDistribution

tfd = tfp.distributions


class UniformSphere(FixedDistribution):
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
        super().__init__(dtype, parameters, name, reparameterized=True)

    @property
    def radius(self) -> float:
        return self._radius

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


class _SphereDistribution(FixedDistribution):
    """Event shape ``[n]`` of a wrapped distribution on R^n; samples land on a sphere."""

    def __init__(self, base: tfd.Distribution, radius: float, parameters, name):
        self._base = base
        self._radius = float(radius)
        if not self._radius > 0:
            raise ValueError(f"radius must be positive, got {radius}")
        super().__init__(base.dtype, parameters, name, reparameterized=False)

    @property
    def base(self) -> tfd.Distribution:
        return self._base

    @property
    def radius(self) -> float:
        return self._radius

    def _event_shape(self):
        return self._base.event_shape

    def _batch_shape(self):
        return self._base.batch_shape


class RadialProjection(_SphereDistribution):
    """A distribution on R^n pushed onto the sphere of ``radius`` by ``z -> radius z / |z|``.

    The reference's sphere conditionals other than vMF (a normal or Laplace around ``z`` in R^n,
    then projected) and, with a base centred at ``radius * e_1``, its non-uniform marginals on
    the sphere. The projected density needs a radial integral with no closed form for most
    bases, so ``log_prob`` is not provided.

    Args:
        base: a distribution with event shape ``[n]``.
        radius: the sphere's radius.
    """

    def __init__(self, base: tfd.Distribution, radius: float = 1.0, name="RadialProjection"):
        parameters = dict(locals())
        super().__init__(base, radius, parameters, name)

    def _sample_n(self, n, seed=None):
        return self._radius * tf.math.l2_normalize(self._base.sample(n, seed=seed), axis=-1)


class OnSphere(_SphereDistribution):
    """A distribution on the unit sphere (e.g. vMF) scaled to the sphere of ``radius``.

    ``log_prob`` is w.r.t. the surface measure of the radius-``r`` sphere: the unit-sphere
    density at ``z / r`` divided by ``r^(n-1)``.

    Args:
        unit: a distribution on the unit sphere, event shape ``[n]``.
        radius: the sphere's radius.
    """

    def __init__(self, unit: tfd.Distribution, radius: float = 1.0, name="OnSphere"):
        parameters = dict(locals())
        super().__init__(unit, radius, parameters, name)

    def _sample_n(self, n, seed=None):
        return self._radius * self._base.sample(n, seed=seed)

    def _log_prob(self, z):
        n = int(self.event_shape[0])
        return self._base.log_prob(z / self._radius) - (n - 1) * math.log(self._radius)

"""Distributions on R^n and on boxes that are independent across coordinates.

``TruncatedNormal``, ``TruncatedLaplace`` and ``TruncatedGenNormal`` place an independent copy of
the law around each coordinate of ``loc`` and, given finite ``low``/``high``, restrict it to that
interval (on the box, per coordinate, like the reference). Sampling is exact inverse-CDF sampling
with a fixed number of operations (no rejection), stateless, and XLA-safe; ``log_prob`` is the
normalised truncated density. With the default infinite bounds they are the plain laws on R^n.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfclica.latents import seeds, tails
from tfclica.latents.base import FixedDistribution


class _Coordinatewise(FixedDistribution):
    """Shared machinery: event shape ``[n]`` (the last axis of ``loc``), batch shape the rest."""

    def __init__(self, loc, scale, low, high, law, parameters, name, dtype=tf.float32):
        self._loc = tf.convert_to_tensor(loc, dtype)
        if self._loc.shape.rank == 0 or self._loc.shape[-1] is None:
            raise ValueError("loc must have a static last axis (the dimension n)")
        self._scale, self._low, self._high = float(scale), float(low), float(high)
        if not self._scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if not self._low < self._high:
            raise ValueError(f"low={low} must be below high={high}")
        self._law = law
        super().__init__(dtype, parameters, name, reparameterized=False)

    @property
    def loc(self):
        return self._loc

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def low(self) -> float:
        return self._low

    @property
    def high(self) -> float:
        return self._high

    def _event_shape(self):
        return self._loc.shape[-1:]

    def _batch_shape(self):
        return self._loc.shape[:-1]

    def _standard_bounds(self, loc):
        lo = (self._low - loc) / self._scale
        hi = (self._high - loc) / self._scale
        return lo, hi

    def _sample_n(self, n, seed=None):
        shape = tf.concat([[n], tf.shape(self._loc)], 0)
        loc = tf.broadcast_to(self._loc, shape)
        if not (math.isfinite(self._low) or math.isfinite(self._high)):
            # No bounds: skip the tail probabilities of the bounds (and Box-Muller for normals).
            if isinstance(self._law, tails.StandardNormal):
                return loc + self._scale * seeds.normal(shape, seed, self.dtype)
            u = seeds.uniform(shape, seed, self.dtype)
            return loc + self._scale * tails.sample_untruncated(self._law, u)
        u = seeds.uniform(shape, seed, self.dtype)
        lo, hi = self._standard_bounds(loc)
        s = tails.sample_truncated(self._law, lo, hi, u)
        return tf.clip_by_value(loc + self._scale * s, self._low, self._high)

    def _log_prob(self, x):
        x = tf.convert_to_tensor(x, self.dtype)
        loc = self._loc
        lo, hi = self._standard_bounds(loc)
        log_p = self._law.log_density((x - loc) / self._scale) - math.log(self._scale)
        if math.isfinite(self._low) or math.isfinite(self._high):
            log_p = log_p - tf.math.log(tails.truncated_mass(self._law, lo, hi))
        inside = (x >= self._low) & (x <= self._high)
        log_p = tf.where(inside, log_p, tf.constant(-math.inf, self.dtype))
        return tf.reduce_sum(log_p, axis=-1)

    def _mean(self):
        if math.isfinite(self._low) or math.isfinite(self._high):
            raise NotImplementedError("mean of a truncated law is not implemented")
        return tf.identity(self._loc)


class TruncatedNormal(_Coordinatewise):
    """Independent ``N(loc_i, scale^2)`` per coordinate, each restricted to ``[low, high]``.

    Args:
        loc: centres, shape ``[..., n]`` (batch shape ``[...]``, event shape ``[n]``).
        scale: standard deviation sigma.
        low, high: bounds of every coordinate (default: none, the plain normal on R^n).
    """

    def __init__(self, loc, scale, low=-math.inf, high=math.inf, name="TruncatedNormal"):
        parameters = dict(locals())
        law = tails.StandardNormal()
        super().__init__(loc, scale, low, high, law, parameters, name)


class TruncatedLaplace(_Coordinatewise):
    """Independent ``Laplace(loc_i, scale)`` (density ``exp(-|x|/scale) / 2 scale``), truncated.

    Args: as :class:`TruncatedNormal`, with ``scale`` the Laplace scale lambda.
    """

    def __init__(self, loc, scale, low=-math.inf, high=math.inf, name="TruncatedLaplace"):
        parameters = dict(locals())
        law = tails.StandardLaplace()
        super().__init__(loc, scale, low, high, law, parameters, name)


class TruncatedGenNormal(_Coordinatewise):
    """Independent generalised normals, density ``prop. to exp(-|(x - loc_i)/scale|^p)``, truncated.

    The reference's ``generalized_normal(mean, lbd, p)`` (``scipy.stats.gennorm(p, loc, lbd)``),
    for any real ``p > 0`` rather than integers only.

    Args: as :class:`TruncatedNormal`, plus ``p`` the exponent.
    """

    def __init__(self, loc, scale, p, low=-math.inf, high=math.inf, name="TruncatedGenNormal"):
        parameters = dict(locals())
        if not float(p) > 0:
            raise ValueError(f"p must be positive, got {p}")
        self._p = float(p)
        law = tails.StandardGenNormal(self._p)
        super().__init__(loc, scale, low, high, law, parameters, name)

    @property
    def p(self) -> float:
        return self._p


class UniformBox(FixedDistribution):
    """Uniform on the box ``[low, high]^n``.

    Args:
        dim: n.
        low, high: the bounds of every coordinate.
    """

    def __init__(self, dim: int, low: float = 0.0, high: float = 1.0, name="UniformBox"):
        parameters = dict(locals())
        self._dim, self._low, self._high = int(dim), float(low), float(high)
        if not self._low < self._high:
            raise ValueError(f"low={low} must be below high={high}")
        super().__init__(tf.float32, parameters, name, reparameterized=True)

    def _event_shape(self):
        return tf.TensorShape([self._dim])

    def _batch_shape(self):
        return tf.TensorShape([])

    def _sample_n(self, n, seed=None):
        u = seeds.uniform(tf.stack([n, self._dim]), seed, self.dtype)
        return self._low + (self._high - self._low) * u

    def _log_prob(self, x):
        inside = tf.reduce_all((x >= self._low) & (x <= self._high), axis=-1)
        log_density = -self._dim * math.log(self._high - self._low)
        return tf.where(inside, log_density, -math.inf)

"""Latent spaces and the marginals p(z) and conditionals p(z~|z) each one supports.

A space knows its dimension, which points belong to it, and how to build each distribution of
the setting vocabulary (docs/DESIGN.md) on itself:

============  =====================================  =========================================
space         marginal p(z)                          conditional p(z~|z)
============  =====================================  =========================================
Sphere        uniform; normal/laplace/gennorm        vmf(kappa); normal/laplace/gennorm around
              around radius*e_1, projected radially  z in R^n, projected radially
Box           uniform; normal/laplace/gennorm        normal/laplace/gennorm around z, truncated
              around the centre, truncated           to the box per coordinate
Euclidean     normal/laplace/gennorm around 0        normal/laplace/gennorm around z
============  =====================================  =========================================

The sphere's radius is honoured everywhere (marginal, conditional, membership).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.errors import ConfigError
from tfclica.latents.coordinatewise import (
    TruncatedGenNormal,
    TruncatedLaplace,
    TruncatedNormal,
    UniformBox,
)
from tfclica.latents.sphere import OnSphere, RadialProjection, UniformSphere
from tfclica.latents.vmf import VonMisesFisher

tfd = tfp.distributions
Conditional = Callable[[tf.Tensor], tfd.Distribution]


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _coordinatewise(kind: str, loc, scale: float, p: float, low=-math.inf, high=math.inf):
    """The per-coordinate law ``kind`` around ``loc`` (truncated to ``[low, high]``)."""
    if kind == "normal":
        return TruncatedNormal(loc, scale, low, high)
    if kind == "laplace":
        return TruncatedLaplace(loc, scale, low, high)
    if kind == "gennorm":
        return TruncatedGenNormal(loc, scale, p, low, high)
    raise ConfigError(
        f"distribution {kind!r} is not one of: normal, laplace, gennorm, uniform, vmf"
    )


@dataclass(frozen=True)
class Space:
    """Base class: ``dim`` is the ambient dimension n."""

    dim: int

    def __post_init__(self):
        if not isinstance(self.dim, int) or self.dim <= 0:
            raise ConfigError(f"dim must be a positive integer, got {self.dim!r}")

    def contains(self, z, atol: float = 1e-5) -> tf.Tensor:
        """Whether each row of ``z`` (shape ``[..., n]``) lies in the space (within ``atol``)."""
        raise NotImplementedError

    def marginal(self, kind: str, scale: float = 1.0, p: float = 2.0) -> tfd.Distribution:
        """p(z) of the vocabulary's ``kind`` with ``scale`` (and exponent ``p`` for gennorm)."""
        raise NotImplementedError

    def conditional(self, kind: str, scale: float = 1.0, p: float = 2.0) -> Conditional:
        """A function from latents ``z`` ``[batch, n]`` to p(z~|z) with batch shape ``[batch]``."""
        raise NotImplementedError

    def _check(self, role: str, kind: str, scale: float, p: float, allowed: Sequence[str]):
        if kind not in allowed:
            raise ConfigError(
                f"{role}={kind!r} is not available on {type(self).__name__.lower()}; "
                f"choose one of: {', '.join(allowed)}"
            )
        _positive(f"{role}_scale", scale)
        _positive(f"{role}_p", p)


@dataclass(frozen=True)
class Sphere(Space):
    """The sphere ``{z in R^n : |z| = radius}`` (S^(n-1))."""

    radius: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        _positive("radius", self.radius)
        if self.dim < 2:
            raise ConfigError(f"dim must be at least 2 on the sphere, got {self.dim}")

    def contains(self, z, atol: float = 1e-5) -> tf.Tensor:
        return tf.abs(tf.norm(z, axis=-1) - self.radius) <= atol * max(1.0, self.radius)

    def marginal(self, kind="uniform", scale=1.0, p=2.0):
        self._check("marginal", kind, scale, p, ("uniform", "normal", "laplace", "gennorm"))
        if kind == "uniform":
            return UniformSphere(self.dim, self.radius)
        # Centred on the sphere at radius * e_1, as the reference does: a normal centred at the
        # origin would project to exactly the uniform marginal.
        centre = tf.one_hot(0, self.dim) * self.radius
        return RadialProjection(_coordinatewise(kind, centre, scale, p), self.radius)

    def conditional(self, kind="vmf", scale=1.0, p=2.0):
        self._check("conditional", kind, scale, p, ("vmf", "normal", "laplace", "gennorm"))
        radius = self.radius
        if kind == "vmf":

            def vmf(z):
                direction = tf.math.l2_normalize(z, axis=-1)
                return OnSphere(VonMisesFisher(direction, tf.constant(scale, z.dtype)), radius)

            return vmf

        def projected(z):
            return RadialProjection(_coordinatewise(kind, z, scale, p), radius)

        return projected


@dataclass(frozen=True)
class Box(Space):
    """The box ``[low, high]^n`` (default ``[0, 1]^n`` as in the reference)."""

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(f"box_low={self.low} must be below box_high={self.high} (finite)")

    def contains(self, z, atol: float = 0.0) -> tf.Tensor:
        return tf.reduce_all((z >= self.low - atol) & (z <= self.high + atol), axis=-1)

    def marginal(self, kind="uniform", scale=1.0, p=2.0):
        self._check("marginal", kind, scale, p, ("uniform", "normal", "laplace", "gennorm"))
        if kind == "uniform":
            return UniformBox(self.dim, self.low, self.high)
        centre = tf.fill([self.dim], 0.5 * (self.low + self.high))
        return _coordinatewise(kind, centre, scale, p, self.low, self.high)

    def conditional(self, kind="normal", scale=1.0, p=2.0):
        self._check("conditional", kind, scale, p, ("normal", "laplace", "gennorm"))
        return lambda z: _coordinatewise(kind, z, scale, p, self.low, self.high)


@dataclass(frozen=True)
class Euclidean(Space):
    """Unbounded R^n."""

    def contains(self, z, atol: float = 0.0) -> tf.Tensor:
        return tf.reduce_all(tf.math.is_finite(z), axis=-1)

    def marginal(self, kind="normal", scale=1.0, p=2.0):
        self._check("marginal", kind, scale, p, ("normal", "laplace", "gennorm"))
        return _coordinatewise(kind, tf.zeros([self.dim]), scale, p)

    def conditional(self, kind="normal", scale=1.0, p=2.0):
        self._check("conditional", kind, scale, p, ("normal", "laplace", "gennorm"))
        return lambda z: _coordinatewise(kind, z, scale, p)


class ProductSpace(Space):
    """The Cartesian product of spaces (e.g. box x sphere, like the 3DIdent latents).

    Coordinates are the factors' coordinates concatenated in order. Build its distributions
    from the factors' with :func:`tfclica.latents.product_pair_sampler`.
    """

    def __init__(self, factors: Sequence[Space]):
        factors = tuple(factors)
        if not factors:
            raise ConfigError("a product space needs at least one factor")
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "dim", sum(f.dim for f in factors))

    def __repr__(self):
        return f"ProductSpace({list(self.factors)!r})"

    def contains(self, z, atol: float = 1e-5) -> tf.Tensor:
        blocks = tf.split(z, [f.dim for f in self.factors], axis=-1)
        inside = [f.contains(b, atol) for f, b in zip(self.factors, blocks)]
        return tf.reduce_all(tf.stack(inside, axis=-1), axis=-1)


def space_from_config(cfg) -> Space:
    """The :class:`Space` an :class:`~tfclica.config.experiment.ExperimentConfig` names."""
    if cfg.space == "sphere":
        return Sphere(cfg.dim, cfg.radius)
    if cfg.space == "box":
        return Box(cfg.dim, cfg.box_low, cfg.box_high)
    if cfg.space == "unbounded":
        return Euclidean(cfg.dim)
    raise ConfigError(f"space={cfg.space!r} is not one of: sphere, box, unbounded")

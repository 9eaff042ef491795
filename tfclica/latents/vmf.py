"""Von Mises-Fisher distribution with a stateless, XLA-safe Wood (1994) sampler."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.latents import seeds

tfd = tfp.distributions

# A safety bound on rejection rounds; the acceptance rate of Wood's proposal is above 1/2 for
# every kappa and dimension, so reaching it has probability below 2^-64 per element.
_MAX_ROUNDS = 64


def _chi2(shape, dof: int, seed, dtype):
    """Chi-square(dof) as a sum of squared normals: exact for integer dof and XLA-friendly."""
    normals = seeds.normal(tuple(shape) + (dof,), seed, dtype)
    return tf.reduce_sum(tf.square(normals), axis=-1)


def sample_wood(mean_direction, concentration, sample_shape, seed):
    """Draw vMF samples by Wood's rejection sampler inside a ``tf.while_loop``.

    Args:
        mean_direction: unit vectors, shape ``[..., m]`` with static ``m >= 2``.
        concentration: kappa, broadcastable to ``mean_direction.shape[:-1]``.
        sample_shape: leading shape of the draw (a list of ints).
        seed: a stateless seed, shape ``[2]`` int32.

    Returns:
        Unit vectors of shape ``sample_shape + batch_shape + [m]``.
    """
    dtype = mean_direction.dtype
    m = int(mean_direction.shape[-1])
    batch_shape = tf.broadcast_static_shape(
        mean_direction.shape[:-1], tf.TensorShape(concentration.shape)
    )
    shape = list(sample_shape) + batch_shape.as_list()
    kappa = tf.broadcast_to(concentration, shape)
    mm1 = tf.cast(m - 1, dtype)
    # b = (m-1) / (2k + sqrt(4k^2 + (m-1)^2)): Wood's b in a form that is stable for large kappa.
    b = mm1 / (2.0 * kappa + tf.sqrt(4.0 * tf.square(kappa) + tf.square(mm1)))
    x0 = (1.0 - b) / (1.0 + b)
    c = kappa * x0 + mm1 * tf.math.log1p(-tf.square(x0))

    seed_loop, seed_tangent = seeds.split(seed, 2)

    def round_(i, w, done):
        s_beta1, s_beta2, s_unif = seeds.split(seeds.fold(seed_loop, i), 3)
        g1 = _chi2(shape, m - 1, s_beta1, dtype)
        g2 = _chi2(shape, m - 1, s_beta2, dtype)
        beta = g1 / (g1 + g2)  # Beta((m-1)/2, (m-1)/2)
        proposal = (1.0 - (1.0 + b) * beta) / (1.0 - (1.0 - b) * beta)
        u = seeds.uniform(shape, s_unif, dtype)
        log_ratio = kappa * proposal + mm1 * tf.math.log1p(-x0 * proposal) - c
        accept = tf.logical_and(tf.logical_not(done), log_ratio >= tf.math.log(u))
        return i + 1, tf.where(accept, proposal, w), tf.logical_or(done, accept)

    _, w, _ = tf.while_loop(
        lambda i, w, done: tf.logical_not(tf.reduce_all(done)),
        round_,
        (tf.constant(0), tf.ones(shape, dtype), tf.zeros(shape, tf.bool)),
        maximum_iterations=_MAX_ROUNDS,
    )

    # Uniform direction in the tangent space of e1, then a Householder reflection e1 -> mu.
    tangent = seeds.normal(shape + [m - 1], seed_tangent, dtype)
    tangent = tf.math.l2_normalize(tangent, axis=-1)
    w = w[..., None]
    around_e1 = tf.concat([w, tf.sqrt(tf.maximum(1.0 - tf.square(w), 0.0)) * tangent], axis=-1)
    mu = tf.broadcast_to(mean_direction, shape + [m])
    e1 = tf.one_hot(0, m, dtype=dtype)
    u_vec = e1 - mu
    u_sq = tf.reduce_sum(tf.square(u_vec), axis=-1, keepdims=True)
    safe = u_sq > 1e-12
    proj = tf.reduce_sum(around_e1 * u_vec, axis=-1, keepdims=True)
    reflected = around_e1 - 2.0 * u_vec * proj / tf.where(safe, u_sq, tf.ones_like(u_sq))
    return tf.where(safe, reflected, around_e1)


class VonMisesFisher(tfd.VonMisesFisher):
    """``tfd.VonMisesFisher`` whose sampling is stateless and compiles under XLA in any order.

    Density, mean and entropy are TFP's; only ``sample`` is replaced by :func:`sample_wood`,
    which avoids TFP's module-level tf.function cache that breaks ``jit_compile`` when a
    non-XLA sample of the same shape ran earlier in the process.
    """

    def _sample_n(self, n, seed=None):
        seed = seeds.as_seed(seed)
        mean_direction = tf.convert_to_tensor(self.mean_direction)
        concentration = tf.convert_to_tensor(self.concentration)
        return sample_wood(mean_direction, concentration, [n], seed)

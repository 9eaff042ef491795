"""Von Mises-Fisher distribution with a stateless, XLA-safe Wood (1994) sampler."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from tfclica.latents import seeds

tfd = tfp.distributions

# A safety bound on redraw rounds; each gives a leftover element four more proposals, each
# accepted with probability above 1/2, so reaching it has probability below 2^-256 per element.
_MAX_ROUNDS = 64


def _symmetric_beta(shape, m: int, seed, dtype):
    """Beta((m-1)/2, (m-1)/2) with a fixed number of draws, exact for every integer ``m >= 2``.

    ``(1 + x_1) / 2`` for the first coordinate ``x_1`` of a uniform point on S^(m-1) has this law;
    ``x_1 = g / sqrt(g^2 + chi2_(m-1))``, and an integer-dof chi-square is ``-2 log`` of a product
    of ``(m-1) // 2`` uniforms (plus one squared normal when ``m-1`` is odd). That takes about
    ``m/2 + 2`` random numbers per proposal instead of ``2(m-1)`` squared normals.
    """
    s_normal, s_unif = seeds.split(seed, 2)
    normals = seeds.normal(list(shape) + [2], s_normal, dtype)
    g = normals[..., 0]
    chi2 = tf.zeros(shape, dtype) if (m - 1) % 2 == 0 else tf.square(normals[..., 1])
    pairs = (m - 1) // 2
    if pairs:
        u = seeds.uniform(list(shape) + [pairs], s_unif, dtype)
        # One log of the product (>= 2^-25 per factor, so no underflow below 5 factors).
        for start in range(0, pairs, 4):
            chi2 = chi2 - 2.0 * tf.math.log(tf.reduce_prod(u[..., start : start + 4], axis=-1))
    return 0.5 + 0.5 * g * tf.math.rsqrt(tf.square(g) + chi2)


def _wood_proposals(params, m: int, num_proposals: int, seed):
    """``num_proposals`` Wood proposals for each element; the first accepted one, and whether any.

    ``params`` holds per-element ``(kappa, b, x0, c)``, each of shape ``[k]``.
    """
    kappa, b, x0, c = params
    dtype = kappa.dtype
    shape = [num_proposals, int(kappa.shape[0])]
    s_beta, s_unif = seeds.split(seed, 2)
    beta = _symmetric_beta(shape, m, s_beta, dtype)
    proposal = (1.0 - (1.0 + b) * beta) / (1.0 - (1.0 - b) * beta)
    log_u = tf.math.log(seeds.uniform(shape, s_unif, dtype))
    log_ratio = kappa * proposal + (m - 1) * tf.math.log1p(-x0 * proposal) - c
    accept = log_ratio >= log_u
    first = tf.argmax(tf.cast(accept, tf.int32), axis=0)  # first accepted (0 if none)
    w = tf.gather(tf.transpose(proposal), first[:, None], batch_dims=1)[:, 0]
    return w, tf.reduce_any(accept, axis=0)


def _wood_w(kappa, m: int, seed):
    """The cosine ``w`` to the mean of vMF(kappa) on S^(m-1) for each element of 1-D ``kappa``.

    One pass of two proposals per element settles all but a few percent (Wood's acceptance rate
    is above 1/2); the rest are gathered into a buffer of static size and redrawn there, so later
    rounds cost a fraction of a full pass and all shapes stay static.
    """
    dtype = kappa.dtype
    size = int(kappa.shape[0])
    mm1 = tf.cast(m - 1, dtype)
    # b = (m-1) / (2k + sqrt(4k^2 + (m-1)^2)): Wood's b in a form that is stable for large kappa.
    b = mm1 / (2.0 * kappa + tf.sqrt(4.0 * tf.square(kappa) + tf.square(mm1)))
    x0 = (1.0 - b) / (1.0 + b)
    c = kappa * x0 + mm1 * tf.math.log1p(-tf.square(x0))
    params = (kappa, b, x0, c)
    seed_first, seed_loop = seeds.split(seed, 2)
    w, done = _wood_proposals(params, m, 2, seed_first)

    buffer = max(1, min(size, size // 8 + 16))
    # Slot ``size`` of the padded arrays is a scratch slot for buffer entries with no element.
    padded = [tf.concat([t, tf.zeros([1], dtype)], 0) for t in params]

    def round_(i, w, done):
        todo = tf.logical_not(done)
        slot = tf.cumsum(tf.cast(todo, tf.int32)) - 1
        slot = tf.where(todo & (slot < buffer), slot, buffer)
        index = tf.tensor_scatter_nd_update(
            tf.fill([buffer + 1], size), slot[:, None], tf.range(size)
        )[:buffer]
        sub = [tf.gather(t, index) for t in padded]
        sub[0] = tf.where(index < size, sub[0], tf.ones_like(sub[0]))  # a harmless kappa
        w_new, ok = _wood_proposals(sub, m, 4, seeds.fold(seed_loop, i))
        ok = ok & (index < size)
        target = tf.where(ok, index, size)[:, None]
        w = tf.tensor_scatter_nd_update(tf.concat([w, [0.0]], 0), target, w_new)[:size]
        done = tf.tensor_scatter_nd_update(tf.concat([done, [False]], 0), target, ok)[:size]
        return i + 1, w, done

    _, w, _ = tf.while_loop(
        lambda i, w, done: tf.logical_not(tf.reduce_all(done)),
        round_,
        (tf.constant(0), w, done),
        maximum_iterations=_MAX_ROUNDS,
    )
    return w


def sample_wood(mean_direction, concentration, sample_shape, seed):
    """Draw vMF samples by Wood's (1994) rejection sampler with static shapes.

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
    kappa = tf.reshape(tf.broadcast_to(tf.cast(concentration, dtype), shape), [-1])
    seed_w, seed_tangent = seeds.split(seed, 2)
    w = tf.reshape(_wood_w(kappa, m, seed_w), shape)

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

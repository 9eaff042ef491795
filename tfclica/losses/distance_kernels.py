"""Row-blocked logsumexp kernels of the Lp-distance losses, with custom gradients.

Both compute, for anchors ``a_i`` and negatives ``m_j``, the row-wise
``logsumexp({-d(a_i, m_j)/tau}_j U {column_i})`` with ``d(u, v) = sum_k |u_k - v_k|^p`` (see
:func:`tfclica.losses.distance.lp_distance`), without the ``[batch, m, n]`` tensor that
broadcasting builds (1.5 GB per temporary at batch 6144, n = 10):

- ``p = 2``: the matmul expansion ``d = |a|^2 + |m|^2 - 2 a.m`` on the fused similarity kernel
  (:func:`~tfclica.losses.similarity_kernels.blocked_similarity_logsumexp`);
- any other ``p > 0``: blocks of :data:`DISTANCE_ROWS` anchors, whose forward and explicit
  gradient each run as one XLA program, so the block's ``[rows, m, n]`` differences are fused
  into their reductions instead of being written op by op.
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.losses.distance import EPS
from tfclica.losses.similarity_kernels import (
    SIMILARITY_ROWS,
    _row_shifted_exp,
    blocked_similarity_logsumexp,
    row_blocks,
    similarity_block_products,
)

# Anchors per block of the general-p kernel, read at call time (tests shrink it). The loss's CPU
# time at batch 1024 was the same for 64, 256 and 1024 rows (within a shared machine's noise);
# 256 caps a block's [rows, m, n] at 63 MB at batch 6144 with 24 blocks to trace.
DISTANCE_ROWS = 256
# Anchors per block of the p = 2 kernel: the similarity kernel it runs on.
L2_ROWS = SIMILARITY_ROWS


def _power(diff, p: float):
    """``|diff|^p``, with the quadratic guard of ``lp_distance`` on ``|diff| < EPS`` for p < 1."""
    magnitude = tf.abs(diff)
    if p == 1.0:
        return magnitude
    if p == 3.0:  # a product instead of pow's exp(p log|x|)
        return magnitude * diff * diff
    if p >= 1.0:
        return tf.pow(magnitude, p)
    small = magnitude < EPS
    safe = tf.where(small, tf.ones_like(diff), magnitude)  # no inf in the unused branch
    return tf.where(small, EPS**p * tf.square(diff / EPS), tf.pow(safe, p))


def _power_slope(diff, p: float):
    """``d |diff|^p / d diff``: ``p sign(diff) |diff|^(p-1)`` (0 at 0 for p >= 1), and the
    guard's slope ``2 EPS^(p-2) diff`` on ``|diff| < EPS`` for p < 1."""
    if p == 1.0:
        return tf.sign(diff)
    if p == 3.0:
        return 3.0 * diff * tf.abs(diff)
    if p >= 1.0:
        return p * tf.sign(diff) * tf.pow(tf.abs(diff), p - 1.0)
    magnitude = tf.abs(diff)
    small = magnitude < EPS
    safe = tf.where(small, tf.ones_like(diff), magnitude)
    return tf.where(small, 2.0 * EPS ** (p - 2.0) * diff, p * tf.sign(diff) * tf.pow(safe, p - 1))


@tf.function(jit_compile=True)
def _block_exp(anchors, negatives_t, column, p: float, tau: float):
    """``exp(-d/tau - shift)`` of one block ``[rows, m]`` and its per-row shift ``[rows]``;
    ``negatives_t`` is ``[n, m]``."""
    distances = tf.add_n([_power(d, p) for d in _coordinate_differences(anchors, negatives_t)])
    return _row_shifted_exp(-distances / tau, column)


@tf.function(jit_compile=True)
def _block_grads(anchors, negatives_t, exp_logits, weight, p: float, tau: float):
    """``(d anchors [rows, n], d negatives [m, n])`` of ``sum_ij weight_i exp_logits_ij``
    through the logits ``-d_ij/tau`` of one block: ``-/+ sum W_ij slope(a_i - m_j) / tau``
    over j / over i."""
    weighted = exp_logits * (weight / tau)[:, None]
    slopes = [weighted * _power_slope(d, p) for d in _coordinate_differences(anchors, negatives_t)]
    d_anchors = tf.stack([-tf.reduce_sum(s, axis=1) for s in slopes], axis=1)
    return d_anchors, tf.stack([tf.reduce_sum(s, axis=0) for s in slopes], axis=1)


def _coordinate_differences(anchors, negatives_t):
    """``a_ik - m_jk`` as one ``[rows, m]`` matrix per coordinate k: XLA fuses the n of them
    into one loop along m (vectorised), where ``[rows, m, n]`` reduced over its short last
    axis measured 1.3-2x the CPU time."""
    return [anchors[:, k : k + 1] - negatives_t[k][None, :] for k in range(anchors.shape[1])]


def _general_kernel(p: float, tau: float, rows: int):
    """The custom-gradient kernel of :func:`lp_logsumexp` for one ``p != 2``."""

    @tf.custom_gradient
    def kernel(anchors, negatives, column):
        batch = anchors.shape[0]
        # An unknown batch size (no static shape) is one block.
        bounds = [(i, i + s) for i, s in row_blocks(batch, rows)] if batch else [(0, None)]
        negatives_t = tf.transpose(negatives)  # [n, m]: rows of m contiguous per coordinate
        parts = [_block_exp(anchors[i:j], negatives_t, column[i:j], p, tau) for i, j in bounds]
        exps = [e for e, _ in parts]
        shift = tf.concat([s for _, s in parts], 0)
        exp_column = tf.exp(column - shift)
        total = tf.concat([tf.reduce_sum(e, axis=1) for e in exps], 0) + exp_column

        def grad(upstream):
            weight = upstream / total
            grads = [
                _block_grads(anchors[i:j], negatives_t, e, weight[i:j], p, tau)
                for (i, j), e in zip(bounds, exps)
            ]
            d_anchors = tf.concat([d for d, _ in grads], 0)
            return d_anchors, tf.add_n([d for _, d in grads]), exp_column * weight

        return shift + tf.math.log(total), grad

    return kernel


def lp_logsumexp(anchors, negatives, p: float, tau: float, column=None, rows: int | None = None):
    """Row-wise ``logsumexp`` of ``[-d(a_i, m_j)/tau for j] + [column_i]``, row-blocked.

    Same values and gradients as the plain formula (within float rounding; for ``p = 2`` the
    expansion ``|a|^2 + |m|^2 - 2 a.m`` rounds at ``eps * |a|^2 / tau``). Besides the
    ``[batch, m]`` exponentials kept for the backward pass (as the similarity kernels keep
    theirs), memory is one block: for ``p != 2`` the ``[rows, m, n]`` differences, held by one
    block's XLA program at a time. Each row is shifted by its own maximum, so far-away negatives
    cannot underflow.

    Args:
        anchors: ``[batch, n]``.
        negatives: ``[m, n]`` (may be ``anchors`` itself).
        p: exponent of the distance, any real ``p > 0``.
        tau: temperature.
        column: ``[batch]``, one more logit per row (the positive); ``None`` for none.
        rows: anchors per block (default: :data:`L2_ROWS` for ``p = 2``, else
            :data:`DISTANCE_ROWS`).

    Returns:
        ``[batch]``.
    """
    anchors = tf.convert_to_tensor(anchors)
    negatives = tf.convert_to_tensor(negatives)
    p, tau = float(p), float(tau)
    if column is None:  # exp(-inf) = 0: the extra column adds nothing, its gradient is 0
        column = tf.fill(tf.shape(anchors)[:1], tf.constant(-float("inf"), anchors.dtype))
    if p == 2.0:
        return _l2_logsumexp(anchors, negatives, column, tau, rows or L2_ROWS)
    return _general_kernel(p, tau, rows or DISTANCE_ROWS)(anchors, negatives, column)


def _l2_logsumexp(anchors, negatives, column, tau: float, rows: int):
    """``p = 2`` through the similarity kernel: ``-d_ij/tau = (2 a_i.m_j - |m_j|^2)/tau -
    |a_i|^2/tau``; the last term is constant along the row, so it leaves the logsumexp."""
    own = tf.reduce_sum(tf.square(anchors), axis=-1) / tau
    scaled = tf.concat([anchors * (2.0 / tau), -tf.ones_like(anchors[:, :1]) / tau], 1)
    extended = tf.concat([negatives, tf.reduce_sum(tf.square(negatives), -1, keepdims=True)], 1)
    return blocked_similarity_logsumexp(scaled, extended, column + own, rows) - own


def lp_block_rows(p: float) -> int:
    """Anchors per block of :func:`lp_logsumexp` for exponent ``p`` (its default)."""
    return L2_ROWS if float(p) == 2.0 else DISTANCE_ROWS


def lp_block_products(rows: int, m: int, n: int, p: float) -> list[tuple]:
    """The matmuls :func:`lp_logsumexp` runs on one block of ``rows`` anchors against ``m``
    negatives of width ``n``: for ``p = 2`` those of the similarity kernel on the extended
    width ``n + 1`` (:func:`~tfclica.losses.similarity_kernels.similarity_block_products`);
    none for other ``p`` (element-wise work only).

    Returns:
        ``(label, m, k, cols, transpose_a, transpose_b)`` per product.
    """
    return similarity_block_products(rows, m, n + 1) if float(p) == 2.0 else []

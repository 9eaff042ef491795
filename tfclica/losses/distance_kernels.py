"""Row-blocked logsumexp kernels of the Lp-distance losses, with custom gradients.

:func:`lp_logsumexp` computes, for anchors ``a_i`` and negatives ``m_j``, the row-wise
``logsumexp({-d(a_i, m_j)/tau}_j U {column_i})`` with ``d(u, v) = sum_k |u_k - v_k|^p`` (see
:func:`tfclica.losses.distance.lp_distance`), without the ``[batch, m, n]`` tensor that
broadcasting builds (1.5 GB per temporary at batch 6144, n = 10). It runs

- with the anchors as their own negatives (one replica), the symmetric kernels of
  :mod:`tfclica.losses.self_distance_kernels`;
- with other negatives (the gathered global batch under several replicas), for ``p = 2`` the
  matmul expansion ``d = |a|^2 + |m|^2 - 2 a.m`` on the fused similarity kernel
  (:func:`~tfclica.losses.similarity_kernels.blocked_similarity_logsumexp`), and for any other
  ``p > 0`` blocks of :data:`DISTANCE_ROWS` anchors whose forward and explicit gradient each run
  as one XLA program, so a block's differences are fused into their reductions instead of being
  written op by op.
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.losses.distance import coordinate_differences, power, power_slope
from tfclica.losses.self_distance_kernels import self_lp_block_products, self_lp_logsumexp
from tfclica.losses.similarity_kernels import (
    SIMILARITY_ROWS,
    _row_shifted_exp,
    blocked_similarity_logsumexp,
    row_blocks,
)

# Anchors per block of the general-p kernel, read at call time (tests shrink it). The loss's CPU
# time at batch 1024 was the same for 64, 256 and 1024 rows (within a shared machine's noise);
# 256 caps a block's [rows, m, n] at 63 MB at batch 6144 with 24 blocks to trace.
DISTANCE_ROWS = 256
# Anchors per block of the p = 2 kernel: the similarity kernel it runs on.
L2_ROWS = SIMILARITY_ROWS


@tf.function(jit_compile=True)
def _block_exp(anchors, negatives_t, column, p: float, tau: float):
    """``exp(-d/tau - shift)`` of one block ``[rows, m]`` and its per-row shift ``[rows]``;
    ``negatives_t`` is ``[n, m]``."""
    distances = tf.add_n([power(d, p) for d in coordinate_differences(anchors, negatives_t)])
    return _row_shifted_exp(-distances / tau, column)


@tf.function(jit_compile=True)
def _block_grads(anchors, negatives_t, exp_logits, weight, p: float, tau: float):
    """``(d anchors [rows, n], d negatives [m, n])`` of ``sum_ij weight_i exp_logits_ij``
    through the logits ``-d_ij/tau`` of one block: ``-/+ sum W_ij slope(a_i - m_j) / tau``
    over j / over i."""
    weighted = exp_logits * (weight / tau)[:, None]
    slopes = [weighted * power_slope(d, p) for d in coordinate_differences(anchors, negatives_t)]
    d_anchors = tf.stack([-tf.reduce_sum(s, axis=1) for s in slopes], axis=1)
    return d_anchors, tf.stack([tf.reduce_sum(s, axis=0) for s in slopes], axis=1)


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
    expansion ``|a|^2 + |m|^2 - 2 a.m``, on points centred on their mean, rounds at
    ``eps |a - mean|^2 / tau`` per logit). Besides the
    ``[batch, m]`` exponentials kept for the backward pass (as the similarity kernels keep
    theirs), memory is one block: for ``p != 2`` its ``[rows, m, n]`` differences, held by one
    block's XLA program at a time. Each row is shifted by its own maximum, so far-away negatives
    cannot underflow.

    Args:
        anchors: ``[batch, n]``.
        negatives: ``[m, n]``; ``None`` or ``anchors`` itself (the same tensor, static shape)
            takes the faster symmetric kernel of :mod:`tfclica.losses.self_distance_kernels`.
        p: exponent of the distance, any real ``p > 0``.
        tau: temperature.
        column: ``[batch]``, one more logit per row (the positive); ``None`` for none.
        rows: anchors per block (default :func:`lp_block_rows`).

    Returns:
        ``[batch]``.
    """
    own_negatives = negatives is None or negatives is anchors
    anchors = tf.convert_to_tensor(anchors)
    negatives = anchors if own_negatives else tf.convert_to_tensor(negatives)
    p, tau, rows = float(p), float(tau), rows or lp_block_rows(p)
    if column is None:  # exp(-inf) = 0: the extra column adds nothing, its gradient is 0
        column = tf.fill(tf.shape(anchors)[:1], tf.constant(-float("inf"), anchors.dtype))
    if own_negatives and anchors.shape.is_fully_defined():
        return self_lp_logsumexp(anchors, column, p, tau, rows)
    if p == 2.0:
        return _l2_logsumexp(anchors, negatives, column, tau, rows)
    return _general_kernel(p, tau, rows)(anchors, negatives, column)


def _l2_logsumexp(anchors, negatives, column, tau: float, rows: int):
    """``p = 2`` through the similarity kernel: ``-d_ij/tau = (2 a_i.m_j - |m_j|^2)/tau -
    |a_i|^2/tau``; the last term is constant along the row, so it leaves the logsumexp. Both
    sides are centred on the negatives' mean first (distances do not change), so the expansion
    rounds at ``eps |a - mean|^2 / tau`` per logit."""
    centre = tf.stop_gradient(tf.reduce_mean(negatives, axis=0))
    anchors, negatives = anchors - centre, negatives - centre
    own = tf.reduce_sum(tf.square(anchors), axis=-1) / tau
    scaled = tf.concat([anchors * (2.0 / tau), -tf.ones_like(anchors[:, :1]) / tau], 1)
    extended = tf.concat([negatives, tf.reduce_sum(tf.square(negatives), -1, keepdims=True)], 1)
    return blocked_similarity_logsumexp(scaled, extended, column + own, rows) - own


def lp_block_rows(p: float) -> int:
    """Anchors per block of :func:`lp_logsumexp` for exponent ``p`` (its default)."""
    return L2_ROWS if float(p) == 2.0 else DISTANCE_ROWS


def lp_block_products(rows: int, batch: int, n: int, p: float) -> list[tuple]:
    """The matmuls :func:`lp_logsumexp` runs per block of ``rows`` anchors on one replica (the
    anchors as their own negatives): those of
    :func:`~tfclica.losses.self_distance_kernels.self_lp_block_products`, matmuls for ``p = 2``
    only. (With gathered negatives ``p = 2`` runs the similarity kernel on width ``n + 1``.)

    Returns:
        ``(label, m, k, cols, transpose_a, transpose_b)`` per product.
    """
    return self_lp_block_products(rows, batch, n, p)

"""Row-blocked Lp logsumexp kernels with the anchors as their own negatives (one replica).

With ``m = a`` the matrix ``S_ij = exp(-d(a_i, a_j)/tau)`` is symmetric, ``S_ii = 1`` and every
entry lies in ``(0, 1]``. So:

- no pass looks for row maxima: each row's largest logit is its self term 0, so its shift
  ``max(0, column_i)`` is known before any block is computed, and ``S`` itself (kept unshifted
  for the backward pass) can neither overflow nor lose a term that matters;
- the backward pass needs only row sums: with ``w_i = u_i exp(-shift_i) / total_i`` (``u`` the
  upstream gradient) and ``S^T = S``, ``d a_k = -(1/tau) sum_j (w_k + w_j) S_kj slope(a_k - a_j)``
  for the slope of ``|x|^p``; for ``p = 2`` that is ``-(2/tau) [a_k (w_k r_k + (S w)_k) -
  w_k (S a)_k - (S (w a))_k]`` with ``r = S 1``: one product ``S_block @ [a, w a, w]`` per
  block.

Their block size ``rows`` comes from :func:`tfclica.losses.distance_kernels.lp_logsumexp`.
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.losses.distance import coordinate_differences, power, power_slope
from tfclica.losses.similarity_kernels import row_blocks


def self_lp_block_products(rows: int, batch: int, n: int, p: float) -> list[tuple]:
    """The matmuls :func:`self_lp_logsumexp` runs on one block of ``rows`` of ``batch`` anchors
    of width ``n``: for ``p = 2`` the logits ``[2a/tau, -|a|^2/tau, -1/tau] . [a, 1, |a|^2]``
    (width ``n + 2``) and the backward's ``S_block @ [a, w a, w]`` (``2n + 1`` columns); none for
    other ``p`` (element-wise work only).

    Returns:
        ``(label, m, k, cols, transpose_a, transpose_b)`` per product ``op(a)[m, k] @
        op(b)[k, cols]``.
    """
    if float(p) != 2.0:
        return []
    return [
        ("distance", rows, n + 2, batch, False, True),
        ("d anchors", rows, batch, 2 * n + 1, False, False),
    ]


@tf.function(jit_compile=True)
def _block_similarities(block, anchors_t, p: float, tau: float):
    """``S`` of one block ``[rows, batch]`` and its row sums, for ``p != 2``."""
    distances = tf.add_n([power(d, p) for d in coordinate_differences(block, anchors_t)])
    similarities = tf.exp(-distances / tau)
    return similarities, tf.reduce_sum(similarities, axis=1)


@tf.function(jit_compile=True)
def _block_grads(block, anchors_t, similarities, block_weight, weight, p: float, tau: float):
    """``d block [rows, n]``: ``-(1/tau) sum_j (w_i + w_j) S_ij slope(a_i - a_j)``."""
    pair = similarities * ((block_weight[:, None] + weight[None, :]) / tau)
    slopes = [pair * power_slope(d, p) for d in coordinate_differences(block, anchors_t)]
    return tf.stack([-tf.reduce_sum(s, axis=1) for s in slopes], axis=1)


def _l2_similarities(centred, tau: float, blocks):
    """``S`` blocks for ``p = 2`` and their row sums, the logits straight out of one matmul per
    block (no element-wise pass before the ``exp``).

    ``centred``: the anchors minus their mean (distances do not change), so the expansion
    cancels less: it rounds at ``eps |a - mean|^2 / tau`` per logit. The diagonal, the row
    maximum, is exactly 1: the forward's row sums take it so rather than as rounded; the
    backward keeps the rounded ``S`` throughout, where the diagonal's terms cancel exactly.

    Returns:
        ``(S blocks, row sums with the exact diagonal, row sums as rounded)``.
    """
    squares = tf.reduce_sum(tf.square(centred), axis=1, keepdims=True)
    ones = tf.ones_like(squares)
    rows_side = tf.concat([centred * (2.0 / tau), -squares / tau, -ones / tau], 1)
    cols_side = tf.concat([centred, ones, squares], 1)
    sims = [tf.exp(tf.matmul(rows_side[i:j], cols_side, transpose_b=True)) for i, j in blocks]
    rounded = tf.concat([tf.reduce_sum(s, axis=1) for s in sims], 0)
    diagonal = tf.concat([tf.linalg.diag_part(s, k=i) for (i, _), s in zip(blocks, sims)], 0)
    return sims, rounded + (1.0 - diagonal), rounded


def _self_kernel(p: float, tau: float, rows: int):
    """The custom-gradient kernel of :func:`self_lp_logsumexp` for one ``p``, ``tau``."""

    @tf.custom_gradient
    def kernel(anchors, column):
        batch, n = anchors.shape
        blocks = [(i, i + s) for i, s in row_blocks(batch, rows)]
        if p == 2.0:
            centred = anchors - tf.reduce_mean(anchors, axis=0)
            sims, row_sums, rounded_sums = _l2_similarities(centred, tau, blocks)
        else:
            anchors_t = tf.transpose(anchors)  # [n, batch]: one contiguous row per coordinate
            parts = [_block_similarities(anchors[i:j], anchors_t, p, tau) for i, j in blocks]
            sims = [s for s, _ in parts]
            row_sums = tf.concat([r for _, r in parts], 0)
        shift = tf.maximum(column, 0.0)  # the row maximum: the self term's logit is 0
        exp_shift = tf.exp(-shift)
        exp_column = tf.exp(column - shift)
        total = row_sums * exp_shift + exp_column

        def grad(upstream):
            weight = upstream * exp_shift / total
            if p == 2.0:
                both = tf.concat([centred, weight[:, None] * centred, weight[:, None]], 1)
                products = tf.concat([tf.matmul(s, both) for s in sims], 0)
                own = (weight * rounded_sums + products[:, 2 * n])[:, None] * centred
                cross = weight[:, None] * products[:, :n] + products[:, n : 2 * n]
                d_anchors = (-2.0 / tau) * (own - cross)
            else:
                d_anchors = tf.concat(
                    [
                        _block_grads(anchors[i:j], anchors_t, s, weight[i:j], weight, p, tau)
                        for (i, j), s in zip(blocks, sims)
                    ],
                    0,
                )
            return d_anchors, upstream * exp_column / total

        return shift + tf.math.log(total), grad

    return kernel


def self_lp_logsumexp(anchors, column, p: float, tau: float, rows: int):
    """Row-wise ``logsumexp`` of ``[-d(a_i, a_j)/tau for j] + [column_i]``: the anchors as
    their own negatives, self included.

    Same values and gradients as ``lp_logsumexp(anchors, anchors, ...)`` on the general path,
    with half its backward reductions (row sums only) and, for ``p = 2``, one product per block.

    Args:
        anchors: ``[batch, n]``, static shape.
        column: ``[batch]``, one more logit per row (``-inf`` for none).
        p: exponent of the distance, any real ``p > 0``.
        tau: temperature.
        rows: anchors per block.

    Returns:
        ``[batch]``.
    """
    return _self_kernel(float(p), float(tau), rows)(anchors, column)

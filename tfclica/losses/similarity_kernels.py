"""Fused row-wise logsumexp kernels of the dot-product (similarity) losses, with custom gradients.

Each kernel computes ``logsumexp`` over a row of logits plus one more column (the positive)
without building the concatenation, and its gradient reuses the forward's ``exp``: on a CPU the
contrastive loss is bound by the element-wise passes over the ``[batch, m]`` matrix, not by its
matmuls. Large batches run in blocks of :data:`SIMILARITY_ROWS` anchors (:func:`row_blocks`);
:func:`self_similarity_block_products` names the matmuls run per block, which
:mod:`tfclica.experiments.flops` counts.
"""

from __future__ import annotations

import tensorflow as tf

# Rows of the similarity matrix handled at once: a [512, m] block of float32 stays in a CPU's
# L3 cache across its max/exp/sum passes (measured 55 ms vs 71 ms for the loss at batch 6144).
SIMILARITY_ROWS = 512

# The shared shift serves a batch whose rows' own logits |a_i|^2/tau all lie within this of it
# (exp(-60) ~ 1e-26, far from float32 underflow); otherwise each row gets its own shift.
SHARED_SHIFT_MARGIN = 60.0


def row_blocks(batch: int, rows: int) -> list[tuple[int, int]]:
    """``(start, size)`` of each block of at most ``rows`` anchors, as the kernels slice a batch
    of ``batch`` anchors (the last block holds the remainder)."""
    return [(start, min(rows, batch - start)) for start in range(0, batch, rows)]


def self_similarity_block_products(rows: int, batch: int, n: int) -> list[tuple]:
    """The matmuls :func:`self_similarity_logsumexp` runs on one block of ``rows`` anchors of a
    batch of ``batch`` anchors of width ``n``, with the shared shift.

    Returns:
        ``(label, m, k, cols, transpose_a, transpose_b)`` per product ``op(a)[m, k] @
        op(b)[k, cols]``: the forward logits ``a_block @ a^T`` and the backward's one product
        ``E_block @ [a, w * a / tau]`` of ``2n`` columns. Per-row shifts (and gathered negatives,
        :func:`similarity_logsumexp`) run two products of ``n`` columns instead: the same FLOPs.
    """
    return [
        ("similarity", rows, n, batch, False, True),
        ("d anchors+negatives", rows, batch, 2 * n, False, False),
    ]


@tf.custom_gradient
def logsumexp_with_column(logits, column):
    """Row-wise ``logsumexp`` of ``[logits, column[:, None]]`` without building the concat.

    The gradient reuses the forward's ``exp`` instead of recomputing a softmax, so the
    ``[batch, m]`` matrix is read and written the fewest times.

    Args:
        logits: ``[batch, m]``.
        column: ``[batch]``, one more logit per row (the positive).

    Returns:
        ``[batch]``.
    """
    shift = tf.stop_gradient(tf.maximum(tf.reduce_max(logits, axis=1), column))
    exp_logits = tf.exp(logits - shift[:, None])
    exp_column = tf.exp(column - shift)
    total = tf.reduce_sum(exp_logits, axis=1) + exp_column

    def grad(upstream):
        weight = upstream / total
        return exp_logits * weight[:, None], exp_column * weight

    return shift + tf.math.log(total), grad


def _row_shifted_exp(logits, column):
    """``exp(logits - shift)`` with each row's own shift ``max(row max, column)``, and the shift."""
    shift = tf.maximum(tf.reduce_max(logits, axis=1), column)
    return tf.exp(logits - shift[:, None]), shift


def _weighted_similarity_grads(exp_logits, weight, scaled, negatives):
    """Gradients of ``sum_i weight_i * sum_j exp_logits_ij`` through ``scaled @ negatives^T``:
    ``(d scaled, d negatives)``, the per-row weights folded into the two matmuls."""
    d_scaled = weight * tf.matmul(exp_logits, negatives)
    d_negatives = tf.matmul(exp_logits, weight * scaled, transpose_a=True)
    return d_scaled, d_negatives


@tf.custom_gradient
def similarity_logsumexp(scaled, negatives, column):
    """Row-wise ``logsumexp`` of ``[scaled @ negatives^T, column[:, None]]``, fused.

    Same value as :func:`logsumexp_with_column` on the similarity matrix, but the gradient
    folds the per-row weights into its two matmuls, so the ``[batch, m]`` softmax is never
    written: the backward pass reads the stored ``exp`` once per matmul.

    Args:
        scaled: ``[batch, n]`` anchors already divided by the temperature.
        negatives: ``[m, n]``.
        column: ``[batch]``, the positive logits.

    Returns:
        ``[batch]``.
    """
    exp_logits, shift = _row_shifted_exp(tf.matmul(scaled, negatives, transpose_b=True), column)
    exp_column = tf.exp(column - shift)
    total = tf.reduce_sum(exp_logits, axis=1) + exp_column

    def grad(upstream):
        weight = (upstream / total)[:, None]
        d_scaled, d_negatives = _weighted_similarity_grads(exp_logits, weight, scaled, negatives)
        return d_scaled, d_negatives, exp_column * weight[:, 0]

    return shift + tf.math.log(total), grad


def blocked_similarity_logsumexp(scaled, negatives, column, rows: int = SIMILARITY_ROWS):
    """:func:`similarity_logsumexp` over blocks of ``rows`` anchors (same values and gradients).

    Falls back to one block when the batch size is not known statically.
    """
    batch = scaled.shape[0]
    if batch is None or batch <= rows:
        return similarity_logsumexp(scaled, negatives, column)
    blocks = [
        similarity_logsumexp(scaled[i : i + size], negatives, column[i : i + size])
        for i, size in row_blocks(batch, rows)
    ]
    return tf.concat(blocks, axis=0)


def _self_similarity_kernel(tau: float, rows: int):
    """The custom-gradient kernel of :func:`self_similarity_logsumexp` for one ``tau``."""

    @tf.custom_gradient
    def kernel(anchors, column):
        batch, n = anchors.shape
        scaled = anchors / tau
        blocks = row_blocks(batch, rows)
        squares = tf.reduce_sum(tf.square(anchors), axis=-1)
        shared = tf.maximum(tf.reduce_max(squares) / tau, tf.reduce_max(column))
        symmetric = tf.reduce_min(squares) / tau - shared >= -SHARED_SHIFT_MARGIN

        def logits(i, size):
            return tf.matmul(scaled[i : i + size], anchors, transpose_b=True)

        def shared_shift():
            return [tf.exp(logits(*b) - shared) for b in blocks], tf.fill([batch], shared)

        def row_shifts():
            pairs = [_row_shifted_exp(logits(i, s), column[i : i + s]) for i, s in blocks]
            return [e for e, _ in pairs], tf.concat([shift for _, shift in pairs], 0)

        # A cond inside the custom gradient: no autodiff through it, so no zero-filled copies
        # of the untaken branch's [batch, batch] intermediates.
        exps, shift = tf.cond(symmetric, shared_shift, row_shifts)
        exp_column = tf.exp(column - shift)
        total = tf.concat([tf.reduce_sum(e, axis=1) for e in exps], 0) + exp_column

        def grad(upstream):
            # d/d(scaled_i) = w_i (E a)_i and d/d(a_j as a negative) = (E^T (w * scaled))_j.
            weight = (upstream / total)[:, None]

            def symmetric_grad():  # E^T = E: one product per block gives both
                both = tf.concat([anchors, weight * scaled], 1)
                products = tf.concat([tf.matmul(e, both) for e in exps], 0)
                return weight * products[:, :n] / tau + products[:, n:]

            def general_grad():  # as similarity_logsumexp, block by block
                parts = [
                    _weighted_similarity_grads(e, weight[i : i + s], scaled[i : i + s], anchors)
                    for (i, s), e in zip(blocks, exps)
                ]
                return tf.concat([d for d, _ in parts], 0) / tau + tf.add_n([d for _, d in parts])

            d_anchors = tf.cond(symmetric, symmetric_grad, general_grad)
            return d_anchors, exp_column * weight[:, 0]

        return shift + tf.math.log(total), grad

    return kernel


def self_similarity_logsumexp(anchors, column, tau: float, rows: int = SIMILARITY_ROWS):
    """Row-wise ``logsumexp`` of ``[anchors @ anchors^T / tau, column[:, None]]``: the anchors
    as their own negatives.

    Same values and gradients as :func:`blocked_similarity_logsumexp` with ``negatives =
    anchors``, but faster when the anchors' norms are (nearly) equal, as behind a sphere head:
    one scalar shift ``c = max(max_i |a_i|^2 / tau, max_i column_i)`` then bounds every logit
    (Cauchy-Schwarz), so no pass looks for row maxima, and ``E = exp(a a^T/tau - c)`` is
    symmetric, so the backward pass needs one product per block instead of two. A batch whose
    norms spread so far that a row could underflow under that shift (see
    ``SHARED_SHIFT_MARGIN``) takes per-row shifts and the two products instead.

    Args:
        anchors: ``[batch, n]``, also the negatives; static shape.
        column: ``[batch]``, the positive logits.
        tau: temperature.
        rows: anchors per block.

    Returns:
        ``[batch]``.
    """
    return _self_similarity_kernel(tau, rows)(anchors, column)

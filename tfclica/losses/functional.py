"""The InfoNCE family as functions: per-anchor losses of a batch of encodings.

Convention: ``loss(anchors, positives)`` with ``anchors = f(g(z))`` and ``positives = f(g(z~))``,
both ``[batch, n]``, returns one value per anchor. As in the reference (``main_mlp.py``:
``z3_rec = roll(z1_rec)``), the negatives of anchor i are all anchors of the batch, i itself
included, plus its own positive; ``negatives`` (or ``all_anchors``) passes the global batch
under data parallelism.
"""

from __future__ import annotations

import tensorflow as tf

from tfclica.losses.distance import lp_distance
from tfclica.losses.distance_kernels import lp_logsumexp
from tfclica.losses.similarity_kernels import (
    blocked_similarity_logsumexp,
    self_similarity_logsumexp,
)


def cosine_infonce(anchors, positives, tau: float = 1.0, negatives=None, alpha: float = 0.5):
    """Per-anchor dot-product InfoNCE (the reference's ``SimCLRLoss``).

    ``l_i = 2 * (alpha * (-s_ii~) + (1 - alpha) * logsumexp({s_ij}_j U {s_ii~}))`` with
    ``s_ij = <a_i, m_j>/tau`` over the negatives ``m_j`` (default: all anchors, self included) and
    ``s_ii~ = <a_i, p_i>/tau``. ``alpha = 1/2`` is plain InfoNCE.

    Args:
        anchors: ``[batch, n]`` encodings of z.
        positives: ``[batch, n]`` encodings of z~.
        tau: temperature.
        negatives: ``[m, n]`` encodings used as negatives (default ``anchors``).
        alpha: weight of the positive term.

    Returns:
        ``[batch]`` per-anchor losses.
    """
    own_negatives = negatives is None or negatives is anchors
    anchors = tf.convert_to_tensor(anchors)
    scaled = anchors / tau  # scale [batch, n], not the [batch, m] similarity matrix
    pos = tf.reduce_sum(scaled * positives, axis=-1)
    if own_negatives and anchors.shape.is_fully_defined():  # one replica: the faster kernel
        lse = self_similarity_logsumexp(anchors, pos, tau)
    else:
        lse = blocked_similarity_logsumexp(scaled, anchors if own_negatives else negatives, pos)
    return 2.0 * (alpha * -pos + (1.0 - alpha) * lse)


def lp_infonce(
    anchors,
    positives,
    tau: float = 1.0,
    p: float = 2.0,
    negatives=None,
    alpha: float = 0.5,
    own_positive: bool = False,
):
    """Per-anchor Lp InfoNCE (the reference's ``LpSimCLRLoss``, ``simclr_compatibility_mode``).

    ``l_i = 2 * (alpha * d_ii~/tau + (1 - alpha) * logsumexp({-d_ij/tau}_j U {-d_ii~/tau}))``
    with ``d(u, v) = sum_k |u_k - v_k|^p`` (see :func:`lp_distance`) and negatives ``m_j``
    (default: all anchors, self included, whose distance is 0). Any real ``p > 0``. The
    logsumexp runs row-blocked (:func:`~tfclica.losses.distance_kernels.lp_logsumexp`).

    Args:
        anchors: ``[batch, n]`` encodings of z.
        positives: ``[batch, n]`` encodings of z~.
        tau: temperature.
        p: exponent of the distance.
        negatives: ``[m, n]`` encodings used as negatives (default ``anchors``).
        alpha: weight of the positive term.
        own_positive: ``negatives`` already holds each anchor's positive (e.g. the batch's
            positives, CPC's InfoNCE): the logsumexp runs over them alone, without the extra
            ``-d_ii~/tau``. With the anchors as negatives the anchor itself is a candidate at
            distance 0, which at a sharp model's scale outweighs every other term; with the
            positives it is not (docs/RESULTS.md, box-laplace).

    Returns:
        ``[batch]`` per-anchor losses.
    """
    anchors = tf.convert_to_tensor(anchors)
    negatives = anchors if negatives is None else negatives
    if own_positive and negatives is anchors:
        raise ValueError("own_positive=True needs the positives among the negatives, not anchors")
    pos = lp_distance(anchors, positives, p) / tau
    lse = lp_logsumexp(anchors, negatives, p, tau, column=None if own_positive else -pos)
    return 2.0 * (alpha * pos + (1.0 - alpha) * lse)


def ntxent(anchors, positives, tau: float = 1.0, all_anchors=None, all_positives=None, offset=0):
    """Per-pair symmetric NT-Xent (SimCLR): both views are anchors, with 2N-2 negatives each.

    With unit vectors ``u = a/|a|``, ``v = p/|p|`` over the global batch of N pairs and
    ``s(x, y) = <x, y>/tau``: ``l(a_i) = -s(u_i, v_i) + logsumexp_{k != u_i} s(u_i, k)`` over the
    2N vectors ``{u} U {v}`` except ``u_i`` itself (so the positive and 2N-2 negatives), likewise
    ``l(p_i)``; the result is ``(l(a_i) + l(p_i)) / 2``.

    Args:
        anchors, positives: ``[batch, n]`` local views.
        tau: temperature.
        all_anchors, all_positives: ``[N, n]`` global views (default: the local ones).
        offset: row of ``anchors[0]`` in ``all_anchors``.

    Returns:
        ``[batch]`` per-pair losses.
    """
    all_anchors = anchors if all_anchors is None else all_anchors
    all_positives = positives if all_positives is None else all_positives
    u, v = tf.math.l2_normalize(anchors, -1), tf.math.l2_normalize(positives, -1)
    everything = tf.concat(
        [tf.math.l2_normalize(all_anchors, -1), tf.math.l2_normalize(all_positives, -1)], 0
    )
    total = tf.shape(everything)[0]
    rows = tf.range(tf.shape(u)[0]) + offset
    pos = tf.reduce_sum(u * v, -1) / tau

    def one_view(x, self_rows):
        logits = tf.matmul(x, everything, transpose_b=True) / tau
        # Exclude each view's similarity to itself (a large negative, not -inf: finite grads).
        logits -= 1e9 * tf.one_hot(self_rows, total, dtype=logits.dtype)
        return tf.reduce_logsumexp(logits, axis=1) - pos

    n_global = tf.shape(all_anchors)[0]
    return 0.5 * (one_view(u, rows) + one_view(v, rows + n_global))


def align_uniform(
    anchors, positives, tau: float = 1.0, p: float = 2.0, negatives=None, alpha: float = 0.5
):
    """Per-anchor alignment + uniformity (Wang & Isola 2020; the reference's weighting).

    ``l_i = (1 - alpha) * d(a_i, p_i) + alpha * log mean_j exp(-d(a_i, m_j)/tau)`` with
    ``d`` the Lp distance of :func:`lp_distance` and negatives ``m_j`` (default: all anchors,
    self included, as in the reference). ``tau = 1`` is the reference's
    ``AlignmentUniformityLoss``; Wang & Isola's ``t = 2`` is ``tau = 1/2``. The log-mean-exp
    runs row-blocked (:func:`~tfclica.losses.distance_kernels.lp_logsumexp`).

    Args:
        anchors: ``[batch, n]`` encodings of z.
        positives: ``[batch, n]`` encodings of z~.
        tau: temperature of the uniformity term.
        p: exponent of the distance.
        negatives: ``[m, n]`` encodings used as negatives (default ``anchors``).
        alpha: weight of the uniformity term.

    Returns:
        ``[batch]`` per-anchor losses.
    """
    anchors = tf.convert_to_tensor(anchors)
    negatives = anchors if negatives is None else tf.convert_to_tensor(negatives)
    align = lp_distance(anchors, positives, p)
    count = tf.cast(tf.shape(negatives)[0], anchors.dtype)
    uniform = lp_logsumexp(anchors, negatives, p, tau) - tf.math.log(count)
    return (1.0 - alpha) * align + alpha * uniform

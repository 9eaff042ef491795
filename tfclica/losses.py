"""The InfoNCE family of contrastive losses, as Keras-serializable losses.

Convention: ``loss(anchors, positives)`` with ``anchors = f(g(z))`` and ``positives = f(g(z~))``,
both ``[batch, n]``; ``Loss.call`` returns one value per anchor and ``Loss.__call__`` their mean.
As in the reference (``main_mlp.py``: ``z3_rec = roll(z1_rec)``), the negatives of anchor i are
all anchors of the batch, i itself included, plus its own positive.

Under data parallelism each replica holds a slice of the global batch. ``per_anchor`` therefore
takes the gathered global tensors (``all_anchors``, ``all_positives``) and the position
``offset`` of the local slice in them (see :mod:`tfclica.replicas`); the negatives always come
from the global batch, so N replicas compute exactly the one-device loss.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# |d|^p for p < 1 is replaced by EPS^p (d/EPS)^2 on |d| < EPS: finite gradients at d = 0 (the
# anchor's distance to itself) and the exact value everywhere else; the error is below EPS^p.
EPS = 1e-6


def lp_distance(a, b, p: float):
    """``sum_k |a_k - b_k|^p`` (no root, as the reference) over the last axis, broadcasting.

    For ``p < 1`` the gradient of ``|d|^p`` is infinite at ``d = 0``; there a quadratic guard on
    ``|d| < EPS`` keeps values and gradients finite (value 0 at ``d = 0``).
    """
    diff = a - b
    if p >= 1.0:
        return tf.reduce_sum(tf.pow(tf.abs(diff), p), axis=-1)
    small = tf.abs(diff) < EPS
    safe = tf.where(small, tf.ones_like(diff), tf.abs(diff))  # no inf in the unused branch
    value = tf.where(small, EPS**p * tf.square(diff / EPS), tf.pow(safe, p))
    return tf.reduce_sum(value, axis=-1)


def _pairwise_lp(a, m, p: float):
    """``[batch, m]`` distances between rows of ``a`` and rows of ``m``."""
    return lp_distance(a[:, None, :], m[None, :, :], p)


@tf.custom_gradient
def logsumexp_with_column(logits, column):
    """Row-wise ``logsumexp`` of ``[logits, column[:, None]]`` without building the concat.

    The gradient reuses the forward's ``exp`` instead of recomputing a softmax, so the
    ``[batch, m]`` matrix is read and written the fewest times: on a CPU the contrastive loss is
    bound by these element-wise passes, not by its matmul.

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


# Rows of the similarity matrix handled at once: a [512, m] block of float32 stays in a CPU's
# L3 cache across its max/exp/sum passes (measured 55 ms vs 71 ms for the loss at batch 6144).
SIMILARITY_ROWS = 512


def blocked_similarity_logsumexp(scaled, negatives, column, rows: int = SIMILARITY_ROWS):
    """:func:`similarity_logsumexp` over blocks of ``rows`` anchors (same values and gradients).

    Falls back to one block when the batch size is not known statically.
    """
    batch = scaled.shape[0]
    if batch is None or batch <= rows:
        return similarity_logsumexp(scaled, negatives, column)
    blocks = [
        similarity_logsumexp(scaled[i : i + rows], negatives, column[i : i + rows])
        for i in range(0, batch, rows)
    ]
    return tf.concat(blocks, axis=0)


# The shared shift serves a batch whose rows' own logits |a_i|^2/tau all lie within this of it
# (exp(-60) ~ 1e-26, far from float32 underflow); otherwise each row gets its own shift.
SHARED_SHIFT_MARGIN = 60.0


def _self_similarity_kernel(tau: float, rows: int):
    """The custom-gradient kernel of :func:`self_similarity_logsumexp` for one ``tau``."""

    @tf.custom_gradient
    def kernel(anchors, column):
        batch, n = anchors.shape
        scaled = anchors / tau
        starts = range(0, batch, rows)
        squares = tf.reduce_sum(tf.square(anchors), axis=-1)
        shared = tf.maximum(tf.reduce_max(squares) / tau, tf.reduce_max(column))
        symmetric = tf.reduce_min(squares) / tau - shared >= -SHARED_SHIFT_MARGIN

        def logits(i):
            return tf.matmul(scaled[i : i + rows], anchors, transpose_b=True)

        def shared_shift():
            return [tf.exp(logits(i) - shared) for i in starts], tf.fill([batch], shared)

        def row_shifts():
            pairs = [_row_shifted_exp(logits(i), column[i : i + rows]) for i in starts]
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
                    _weighted_similarity_grads(
                        e, weight[i : i + rows], scaled[i : i + rows], anchors
                    )
                    for i, e in zip(starts, exps)
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


def _log_mean_exp(x, axis):
    return tf.reduce_logsumexp(x, axis=axis) - tf.math.log(tf.cast(tf.shape(x)[axis], x.dtype))


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
    anchors, positives, tau: float = 1.0, p: float = 2.0, negatives=None, alpha: float = 0.5
):
    """Per-anchor Lp InfoNCE (the reference's ``LpSimCLRLoss``, ``simclr_compatibility_mode``).

    ``l_i = 2 * (alpha * d_ii~/tau + (1 - alpha) * logsumexp({-d_ij/tau}_j U {-d_ii~/tau}))``
    with ``d(u, v) = sum_k |u_k - v_k|^p`` (see :func:`lp_distance`) and negatives ``m_j``
    (default: all anchors, self included, whose distance is 0). Any real ``p > 0``.

    Returns:
        ``[batch]`` per-anchor losses.
    """
    negatives = anchors if negatives is None else negatives
    pos = lp_distance(anchors, positives, p) / tau
    neg = _pairwise_lp(anchors, negatives, p) / tau
    lse = logsumexp_with_column(-neg, -pos)
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
    ``AlignmentUniformityLoss``; Wang & Isola's ``t = 2`` is ``tau = 1/2``.

    Returns:
        ``[batch]`` per-anchor losses.
    """
    negatives = anchors if negatives is None else negatives
    align = lp_distance(anchors, positives, p)
    uniform = _log_mean_exp(-_pairwise_lp(anchors, negatives, p) / tau, axis=1)
    return (1.0 - alpha) * align + alpha * uniform


class _InfoNCELoss(keras.losses.Loss):
    """Base: ``call`` is the per-anchor loss on one batch; ``per_anchor`` the replica form."""

    #: True when the loss needs the gathered positives too (NT-Xent), not only the anchors.
    needs_all_positives = False

    def __init__(self, tau: float, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.tau = float(tau)

    def call(self, anchors, positives):
        return self.per_anchor(anchors, positives)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        """Per-anchor losses of a local slice against the negatives of the global batch.

        Args:
            anchors, positives: ``[batch, n]`` local slice.
            all_anchors, all_positives: ``[N, n]`` global batch (default: the local slice).
            offset: row of ``anchors[0]`` in ``all_anchors``.
        """
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


@keras.saving.register_keras_serializable(package="tfclica")
class CosineInfoNCE(_InfoNCELoss):
    """Dot-product InfoNCE; see :func:`cosine_infonce`.

    Args:
        tau: temperature (matched to a vMF conditional when ``tau = 1/kappa``).
        alpha: weight of the positive term (the reference's default 1/2).
    """

    def __init__(self, tau: float = 1.0, alpha: float = 0.5, name="cosine_infonce", **kwargs):
        super().__init__(tau, name=name, **kwargs)
        self.alpha = float(alpha)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return cosine_infonce(anchors, positives, self.tau, all_anchors, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class _DistanceLoss(_InfoNCELoss):
    """Base of the losses on the Lp distance: an exponent ``p`` and a term weight ``alpha``."""

    def __init__(self, tau: float, p: float, alpha: float, name: str, **kwargs):
        super().__init__(tau, name=name, **kwargs)
        self.p, self.alpha = float(p), float(alpha)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="tfclica")
class LpInfoNCE(_DistanceLoss):
    """Lp InfoNCE; see :func:`lp_infonce`.

    Args:
        tau: temperature.
        p: exponent, any real ``p > 0``.
        alpha: weight of the positive term (the reference's default 1/2).
    """

    def __init__(self, tau=1.0, p=2.0, alpha=0.5, name="lp_infonce", **kwargs):
        super().__init__(tau, p, alpha, name=name, **kwargs)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return lp_infonce(anchors, positives, self.tau, self.p, all_anchors, self.alpha)


@keras.saving.register_keras_serializable(package="tfclica")
class NTXent(_InfoNCELoss):
    """Symmetric NT-Xent of SimCLR; see :func:`ntxent`.

    Args:
        tau: temperature.
    """

    needs_all_positives = True

    def __init__(self, tau: float = 1.0, name: str = "ntxent", **kwargs):
        super().__init__(tau, name=name, **kwargs)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return ntxent(anchors, positives, self.tau, all_anchors, all_positives, offset)


@keras.saving.register_keras_serializable(package="tfclica")
class AlignUniform(_DistanceLoss):
    """Alignment + uniformity; see :func:`align_uniform`.

    Args:
        tau: temperature of the uniformity term (1: the reference).
        p: exponent of the distance.
        alpha: weight of the uniformity term (the reference's default 1/2).
    """

    def __init__(self, tau=1.0, p=2.0, alpha=0.5, name="align_uniform", **kwargs):
        super().__init__(tau, p, alpha, name=name, **kwargs)

    def per_anchor(self, anchors, positives, all_anchors=None, all_positives=None, offset=0):
        return align_uniform(anchors, positives, self.tau, self.p, all_anchors, self.alpha)


def build_loss(name: str, tau: float = 1.0, p: float = 2.0) -> _InfoNCELoss:
    """The loss called ``name`` (the ``--loss`` vocabulary: cosine, lp, ntxent, align-uniform)."""
    if name == "cosine":
        return CosineInfoNCE(tau)
    if name == "lp":
        return LpInfoNCE(tau, p)
    if name == "ntxent":
        return NTXent(tau)
    if name == "align-uniform":
        return AlignUniform(tau, p)
    raise ValueError(f"loss={name!r} is not one of: cosine, lp, ntxent, align-uniform")

"""The row-blocked Lp kernels against autodiff of the plain broadcasting formula."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from tfclica.losses import align_uniform, lp_infonce
from tfclica.losses.distance import pairwise_lp
from tfclica.losses.distance_kernels import lp_logsumexp

P_VALUES = [1.0, 2.0, 3.0, 0.5]


def _plain(anchors, negatives, p, tau, column):
    """The broadcasting formula the kernels replace: ``[batch, m, n]`` in one tensor."""
    logits = -pairwise_lp(anchors, negatives, p) / tau
    if column is not None:
        logits = tf.concat([logits, column[:, None]], 1)
    return tf.reduce_logsumexp(logits, 1)


def _values_and_grads(fn, tensors, weights):
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = tf.reduce_sum(weights * fn(*tensors))
    return value.numpy(), [g.numpy() for g in tape.gradient(value, tensors)]


NEGATIVES = {
    "self": "the anchors tensor itself: the symmetric kernels",
    "copy": "an equal, other tensor (as gathered under replicas): the general kernels",
    "other": "17 other points: the general kernels",
}


@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("negatives_kind", list(NEGATIVES))
@pytest.mark.parametrize("with_column", [True, False], ids=["column", "no-column"])
def test_lp_logsumexp_equals_autodiff_of_the_plain_formula(p, negatives_kind, with_column):
    # float64, 23 anchors in blocks of 5 (a partial last block). With the anchors among the
    # negatives each row has a zero distance (the p < 1 guard and the p = 1 kink at 0). The
    # column (the positive's logit) reaches +-9, above the self term's 0, so the shift is
    # exercised both ways. Both sides are the same function in float64 and differ by rounding
    # (~1e-15 relative): 1e-9 leaves room for the p = 2 expansion's |a|^2 cancellation only.
    own_negatives = negatives_kind == "self"
    rng = np.random.default_rng(int(10 * p) + 2 * len(negatives_kind) + with_column)
    anchors = tf.constant(rng.normal(size=(23, 4)))
    negatives = {
        "self": anchors,
        "copy": tf.identity(anchors),
        "other": tf.constant(rng.normal(size=(17, 4))),
    }[negatives_kind]
    column = tf.constant(rng.normal(scale=3.0, size=23)) if with_column else None
    weights = tf.constant(rng.normal(size=23))
    tau = 0.7
    inputs = [anchors] + ([] if own_negatives else [negatives]) + ([column] if with_column else [])

    def call(kernel):
        def fn(a, *rest):
            m = a if own_negatives else rest[0]
            col = rest[-1] if with_column else None
            return kernel(a, m, col)

        return fn

    got, got_grads = _values_and_grads(
        call(lambda a, m, c: lp_logsumexp(a, m, p, tau, column=c, rows=5)), inputs, weights
    )
    want, want_grads = _values_and_grads(
        call(lambda a, m, c: _plain(a, m, p, tau, c)), inputs, weights
    )
    np.testing.assert_allclose(got, want, rtol=1e-9)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * np.abs(w).max())


@pytest.mark.parametrize("p", P_VALUES)
def test_blocked_lp_losses_equal_the_numpy_formula_in_float32(p):
    # 600 anchors: more than one block at the default sizes (256 for p != 2, 512 for p = 2).
    # Box-like encodings in [0, 1]^10 as behind the box head; float32 sums over 600 terms of
    # losses near log(601) ~ 6.4: relative rounding ~1e-6, so 1e-5.
    rng = np.random.default_rng(1)
    a = rng.uniform(size=(600, 10)).astype(np.float32)
    pos = np.clip(a + rng.normal(scale=0.05, size=a.shape), 0, 1).astype(np.float32)
    a64, pos64 = a.astype(np.float64), pos.astype(np.float64)
    d = np.sum(np.abs(a64[:, None] - a64[None]) ** p, axis=-1)
    d_pos = np.sum(np.abs(a64 - pos64) ** p, axis=-1)
    tau = 0.5
    lse = logsumexp(-np.concatenate([d, d_pos[:, None]], 1) / tau, axis=1)
    want = d_pos / tau + lse  # alpha = 1/2
    np.testing.assert_allclose(lp_infonce(a, pos, tau, p).numpy(), want, rtol=1e-5)
    uniform = logsumexp(-d / tau, axis=1) - np.log(600)
    want_au = 0.5 * d_pos + 0.5 * uniform
    got_au = align_uniform(a, pos, tau, p).numpy()
    np.testing.assert_allclose(got_au, want_au, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_no_tensor_of_the_graph_holds_batch_by_batch_by_n(p):
    # The point of the kernels: the loss and its gradient never build [batch, batch, n]
    # (the broadcasting formula's 1.5 GB per temporary at batch 6144). The largest tensors
    # of the traced forward and backward are the [rows, batch] blocks.
    batch, n = 600, 10

    @tf.function
    def loss_and_grad(a, pos):
        with tf.GradientTape() as tape:
            tape.watch(a)
            value = tf.reduce_mean(lp_infonce(a, pos, 0.5, p))
        return tape.gradient(value, a)

    spec = tf.TensorSpec([batch, n], tf.float32)
    graph = loss_and_grad.get_concrete_function(spec, spec).graph
    sizes = [
        out.shape.num_elements()
        for op in graph.get_operations()
        for out in op.outputs
        if out.shape.is_fully_defined()
    ]
    assert max(sizes) <= batch * batch < batch * batch * n


def test_unknown_batch_size_is_one_block():
    # A tf.function traced with a None batch (e.g. an export signature) still gives the values.
    rng = np.random.default_rng(3)
    a = rng.normal(size=(9, 3)).astype(np.float32)
    fn = tf.function(
        lambda x: lp_logsumexp(x, x, 1.0, 1.0, rows=4),
        input_signature=[tf.TensorSpec([None, 3], tf.float32)],
    )
    want = _plain(tf.constant(a), tf.constant(a), 1.0, 1.0, None).numpy()
    np.testing.assert_allclose(fn(a).numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("p", [1.0, 2.0])
@pytest.mark.parametrize("negatives_kind", ["self", "copy"])
def test_far_apart_anchors_and_large_columns_stay_finite(p, negatives_kind):
    # float32, anchors ~100 apart at tau 0.1: every off-diagonal exp(-d/tau) underflows to 0, and
    # positive logits of +-500 would overflow exp without the shift. The plain
    # reduce_logsumexp shifts by each row's maximum and is exact here (float32 rounding).
    rng = np.random.default_rng(8)
    tau = 0.1
    anchors = tf.constant(100.0 * rng.normal(size=(11, 3)), tf.float32)
    negatives = tf.identity(anchors)
    column = tf.constant(500.0 * np.sign(rng.normal(size=11)), tf.float32)
    weights = tf.constant(rng.normal(size=11), tf.float32)

    def kernel(a, c):
        return lp_logsumexp(a, a if negatives_kind == "self" else negatives, p, tau, c, rows=4)

    def plain(a, c):
        return _plain(a, a if negatives_kind == "self" else negatives, p, tau, c)

    got, got_grads = _values_and_grads(kernel, [anchors, column], weights)
    want, want_grads = _values_and_grads(plain, [anchors, column], weights)
    assert np.isfinite(got) and all(np.all(np.isfinite(g)) for g in got_grads)
    # Values: exact but for the p = 2 expansion on gathered negatives, whose self term (the row
    # maximum) rounds at 8 eps |a - mean|^2 / tau per logit (the symmetric kernel sets it to 0).
    a = anchors.numpy()
    expansion = 8 * np.finfo(np.float32).eps * np.square(a - a.mean(0)).sum(1).max() / tau
    atol = expansion * np.abs(weights.numpy()).sum() if (p, negatives_kind) == (2.0, "copy") else 0
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol)
    # Gradients against the largest slope of a logit, p |a_i - a_j|^(p-1) / tau: float32 sums.
    slope = p * np.abs(a[:, None] - a[None]).max() ** (p - 1) / tau
    np.testing.assert_allclose(got_grads[0], want_grads[0], atol=1e-5 * slope)
    np.testing.assert_allclose(got_grads[1], want_grads[1], rtol=1e-5, atol=1e-6)


def test_the_symmetric_kernel_runs_exactly_with_the_anchors_as_negatives(monkeypatch):
    # The fast path is the point for one replica: check which kernel runs, not only values.
    from tfclica.losses import distance_kernels

    calls = []
    real = distance_kernels.self_lp_logsumexp
    monkeypatch.setattr(
        distance_kernels, "self_lp_logsumexp", lambda *args: calls.append(1) or real(*args)
    )
    a = tf.constant(np.random.default_rng(9).normal(size=(7, 3)), tf.float32)
    for p in (1.0, 2.0):
        lp_infonce(a, a + 0.1, 0.5, p)
        align_uniform(a, a + 0.1, 0.5, p)
    assert len(calls) == 4
    lp_infonce(a, a + 0.1, 0.5, 1.0, negatives=tf.identity(a))  # gathered: the general path
    align_uniform(a, a + 0.1, 0.5, 2.0, negatives=tf.identity(a))
    assert len(calls) == 4

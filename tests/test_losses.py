import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from tfclica.losses import (
    AlignUniform,
    CosineInfoNCE,
    LpInfoNCE,
    NTXent,
    build_loss,
    cosine_infonce,
    lp_infonce,
)

# float32 losses of O(1..30) on 16 x 5 inputs: rounding stays far below 1e-5 relative.
RTOL = 1e-5


def _pairs(seed=0, batch=16, dim=5, normalise=True):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(batch, dim)).astype(np.float32)
    p = (a + 0.3 * rng.normal(size=(batch, dim))).astype(np.float32)
    if normalise:
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        p /= np.linalg.norm(p, axis=1, keepdims=True)
    return a, p


def numpy_simclr_loss(a, p, tau, alpha=0.5):
    """The reference's SimCLRLoss with z3 = roll(z1): negatives = all anchors."""
    neg = a @ np.roll(a, 1, axis=0).T
    pos = np.sum(a * p, axis=1)
    logits = np.concatenate([neg, pos[:, None]], axis=1) / tau
    return 2 * (alpha * (-pos / tau) + (1 - alpha) * logsumexp(logits, axis=1))


def numpy_lp_distance(u, v, p):
    return np.sum(np.abs(u - v) ** p, axis=-1)


def numpy_lp_simclr_loss(a, p_, tau, p, alpha=0.5):
    """The reference's LpSimCLRLoss(simclr_compatibility_mode=True), float64."""
    a, p_ = a.astype(np.float64), p_.astype(np.float64)
    neg = numpy_lp_distance(a[:, None], np.roll(a, 1, axis=0)[None], p)
    pos = numpy_lp_distance(a, p_, p)
    lse = logsumexp(-np.concatenate([neg, pos[:, None]], axis=1) / tau, axis=1)
    return 2 * (alpha * pos / tau + (1 - alpha) * lse)


def numpy_ntxent(a, p, tau):
    """SimCLR's NT-Xent over 2N views, written with explicit loops."""
    views = np.concatenate([a, p]).astype(np.float64)
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    n = len(a)
    per_view = []
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        sims = [views[i] @ views[k] / tau for k in range(2 * n) if k != i]
        per_view.append(-views[i] @ views[partner] / tau + logsumexp(sims))
    per_view = np.array(per_view)
    return 0.5 * (per_view[:n] + per_view[n:])


def numpy_align_uniform(a, p_, tau, p, alpha=0.5):
    a, p_ = a.astype(np.float64), p_.astype(np.float64)
    align = numpy_lp_distance(a, p_, p)
    d = numpy_lp_distance(a[:, None], a[None], p)
    uniform = logsumexp(-d / tau, axis=1) - np.log(len(a))
    return (1 - alpha) * align + alpha * uniform


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_cosine_infonce_equals_numpy_formula(tau):
    a, p = _pairs()
    got = cosine_infonce(a, p, tau).numpy()
    np.testing.assert_allclose(got, numpy_simclr_loss(a, p, tau), rtol=RTOL, atol=1e-5)
    loss = CosineInfoNCE(tau)
    np.testing.assert_allclose(float(loss(a, p)), numpy_simclr_loss(a, p, tau).mean(), rtol=RTOL)
    weighted = cosine_infonce(a, p, tau, alpha=0.8).numpy()
    np.testing.assert_allclose(weighted, numpy_simclr_loss(a, p, tau, 0.8), rtol=RTOL, atol=1e-5)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_lp_infonce_equals_numpy_formula(p):
    a, pos = _pairs(seed=1, normalise=False)
    got = LpInfoNCE(tau=0.5, p=p).call(a, pos).numpy()
    np.testing.assert_allclose(got, numpy_lp_simclr_loss(a, pos, 0.5, p), rtol=RTOL)
    skewed = lp_infonce(a, pos, 0.5, p, alpha=0.3).numpy()
    np.testing.assert_allclose(skewed, numpy_lp_simclr_loss(a, pos, 0.5, p, 0.3), rtol=RTOL)


@pytest.mark.parametrize("tau", [1.0, 0.2])
def test_ntxent_equals_numpy_formula(tau):
    a, p = _pairs(seed=2, normalise=False)
    got = NTXent(tau).call(a, p).numpy()
    np.testing.assert_allclose(got, numpy_ntxent(a, p, tau), rtol=RTOL)


@pytest.mark.parametrize("p", [0.5, 2.0])
def test_align_uniform_equals_numpy_formula(p):
    a, pos = _pairs(seed=3, normalise=False)
    got = AlignUniform(tau=0.5, p=p).call(a, pos).numpy()
    # atol: the uniformity term can be near 0, where a relative tolerance means nothing.
    np.testing.assert_allclose(got, numpy_align_uniform(a, pos, 0.5, p), rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("name", ["lp", "align-uniform"])
@pytest.mark.parametrize("p", [0.25, 0.5, 1.0])
def test_self_distance_keeps_values_and_gradients_finite(name, p):
    # Negatives include each anchor itself (distance 0), and a positive equal to its anchor
    # adds another zero difference: |d|^p with p < 1 has an infinite slope at 0.
    a, _ = _pairs(seed=4, normalise=False)
    pos = a.copy()
    pos[::2] += 0.1
    a, pos = tf.constant(a), tf.constant(pos)
    loss = build_loss(name, tau=0.5, p=p)
    with tf.GradientTape() as tape:
        tape.watch([a, pos])
        value = loss(a, pos)
    grads = tape.gradient(value, [a, pos])
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    # The guard changes nothing away from 0: the value is the exact formula (self term 0).
    a_np, pos_np = a.numpy(), pos.numpy()
    expected = (
        numpy_lp_simclr_loss(a_np, pos_np, 0.5, p)
        if name == "lp"
        else numpy_align_uniform(a_np, pos_np, 0.5, p)
    )
    np.testing.assert_allclose(float(value), expected.mean(), rtol=RTOL, atol=1e-6)


def test_gradient_matches_finite_differences_for_small_p():
    # A guarded gradient that is finite but wrong would pass the test above; check it against
    # central differences in float64 away from the guard (steps 1e-6 >> EPS region not crossed).
    a, pos = _pairs(seed=5, batch=6, dim=3, normalise=False)
    a, pos = a.astype(np.float64), pos.astype(np.float64)
    at = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(at)
        value = tf.reduce_mean(lp_infonce(at, pos, 0.5, 0.5))
    grad = tape.gradient(value, at).numpy()
    h = 1e-6
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (
            numpy_lp_simclr_loss(up, pos, 0.5, 0.5).mean()
            - numpy_lp_simclr_loss(down, pos, 0.5, 0.5).mean()
        ) / (2 * h)
    # The NumPy self-distance term is constant (|0|^p = 0, |+-h - (+-h)| = 0), as is the
    # guarded one's gradient (0): both differentiate the same function. O(h^2) truncation.
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "loss",
    [
        CosineInfoNCE(0.25, alpha=0.6),
        LpInfoNCE(0.5, p=1.5),
        NTXent(0.2),
        AlignUniform(0.5, 3.0),
    ],
)
def test_losses_are_keras_serializable(loss):
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(clone) is type(loss)
    assert clone.get_config() == loss.get_config()
    a, p = _pairs(seed=6)
    assert float(clone(a, p)) == pytest.approx(float(loss(a, p)), rel=1e-6)


def test_build_loss_names_the_unknown_loss():
    with pytest.raises(ValueError, match="nope"):
        build_loss("nope")


def test_logsumexp_with_column_matches_concat_value_and_gradient():
    import tensorflow as tf

    from tfclica.losses import logsumexp_with_column

    rng = np.random.default_rng(3)
    logits = tf.constant(rng.normal(scale=30.0, size=(7, 9)), tf.float32)  # large: tests shift
    column = tf.constant(rng.normal(scale=30.0, size=(7,)), tf.float32)
    weights = tf.constant(rng.normal(size=(7,)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, column])
        fused = tf.reduce_sum(weights * logsumexp_with_column(logits, column))
        plain = tf.reduce_sum(
            weights * tf.reduce_logsumexp(tf.concat([logits, column[:, None]], 1), 1)
        )
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-6)
    for got, want in zip(
        tape.gradient(fused, [logits, column]), tape.gradient(plain, [logits, column])
    ):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


def test_similarity_logsumexp_matches_autodiff_of_the_plain_formula():
    import tensorflow as tf

    from tfclica.losses import similarity_logsumexp

    rng = np.random.default_rng(4)
    a = tf.constant(rng.normal(size=(6, 3)), tf.float32)
    m = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    col = tf.constant(rng.normal(size=(6,)), tf.float32)
    w = tf.constant(rng.normal(size=(6,)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, m, col])
        fused = tf.reduce_sum(w * similarity_logsumexp(a, m, col))
        logits = tf.concat([tf.matmul(a, m, transpose_b=True), col[:, None]], 1)
        plain = tf.reduce_sum(w * tf.reduce_logsumexp(logits, 1))
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-6)
    for got, want in zip(tape.gradient(fused, [a, m, col]), tape.gradient(plain, [a, m, col])):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_blocked_similarity_logsumexp_equals_one_block():
    import tensorflow as tf

    from tfclica.losses import blocked_similarity_logsumexp, similarity_logsumexp

    rng = np.random.default_rng(5)
    a = tf.constant(rng.normal(size=(23, 4)), tf.float32)
    col = tf.constant(rng.normal(size=(23,)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, col])
        blocked = tf.reduce_sum(blocked_similarity_logsumexp(a, a, col, rows=5))
        whole = tf.reduce_sum(similarity_logsumexp(a, a, col))
    np.testing.assert_allclose(blocked.numpy(), whole.numpy(), rtol=1e-6)
    for got, want in zip(tape.gradient(blocked, [a, col]), tape.gradient(whole, [a, col])):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def _anchors(rng, batch, dim, norms):
    a = rng.normal(size=(batch, dim))
    return a / np.linalg.norm(a, axis=1, keepdims=True) * np.asarray(norms)[:, None]


# (norms of the 23 anchors, tau): equal norms take the shared shift, whose size radius^2/tau up
# to 90 would overflow exp without it; a zero row (|a|^2/tau 100 below the shift), norms spread
# over 0.1..10, or norms equal only up to float32 rounding at radius^2/tau = 9e8 take per-row
# shifts (under the shared one they underflow to -inf / NaN).
NORM_CASES = {
    "equal r=1 tau=1": ([1.0] * 23, 1.0),
    "equal r=1 tau=0.05": ([1.0] * 23, 0.05),
    "equal r=3 tau=0.1": ([3.0] * 23, 0.1),
    "zero row tau=0.01": ([1.0] * 22 + [0.0], 0.01),
    "spread tau=0.05": (np.geomspace(0.1, 10.0, 23), 0.05),
    "equal r=3000 tau=0.01": ([3000.0] * 23, 0.01),
}


@pytest.mark.parametrize("case", list(NORM_CASES))
def test_self_similarity_logsumexp_equals_autodiff_of_the_plain_formula(case):
    # 23 rows in blocks of 5: a partial last block.
    from tfclica.losses import self_similarity_logsumexp

    norms, tau = NORM_CASES[case]
    rng = np.random.default_rng(6)
    a = tf.constant(_anchors(rng, 23, 4, norms), tf.float32)
    col = tf.constant(rng.uniform(-1, 1, size=23) * np.square(norms) / tau, tf.float32)
    w = tf.constant(rng.normal(size=(23,)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, col])
        fused = tf.reduce_sum(w * self_similarity_logsumexp(a, col, tau, rows=5))
        logits = tf.concat([tf.matmul(a, a, transpose_b=True) / tau, col[:, None]], 1)
        plain = tf.reduce_sum(w * tf.reduce_logsumexp(logits, 1))
    assert np.isfinite(fused.numpy())
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5)
    for got, want in zip(tape.gradient(fused, [a, col]), tape.gradient(plain, [a, col])):
        scale = np.abs(want.numpy()).max()  # relative to the largest entry: float32 sums
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5 * scale)


def test_the_shared_shift_is_taken_exactly_when_no_row_can_underflow(monkeypatch):
    # The fast branch is the point of the kernel: check which branch runs, not only values.
    from tfclica.losses import similarity_kernels

    taken = []
    real_cond = tf.cond

    def spy(pred, true_fn, false_fn):
        taken.append(bool(pred))
        return real_cond(pred, true_fn, false_fn)

    monkeypatch.setattr(similarity_kernels.tf, "cond", spy)
    for case, expected in [("equal r=3 tau=0.1", True), ("zero row tau=0.01", False)]:
        norms, tau = NORM_CASES[case]
        a = tf.constant(_anchors(np.random.default_rng(1), 23, 4, norms), tf.float32)
        taken.clear()
        with tf.GradientTape() as tape:
            tape.watch(a)
            value = tf.reduce_sum(
                similarity_kernels.self_similarity_logsumexp(a, tf.zeros(23), tau, rows=5)
            )
        tape.gradient(value, a)
        assert taken == [expected, expected], case  # forward and backward agree


def test_cosine_loss_takes_the_self_similarity_kernel_with_its_own_negatives(monkeypatch):
    # 600 anchors: two blocks through cosine_infonce itself. Radius 2 (a learnable sphere).
    from tfclica.losses import functional

    calls = []
    real = functional.self_similarity_logsumexp
    monkeypatch.setattr(
        functional, "self_similarity_logsumexp", lambda *args: calls.append(1) or real(*args)
    )
    a, p = _pairs(seed=7, batch=600)
    a, p = tf.constant(2.0 * a), tf.constant(2.0 * p)
    results = []
    for own in (True, False):
        with tf.GradientTape() as tape:
            tape.watch([a, p])
            negatives = None if own else tf.identity(a)  # an equal, other tensor: blocked
            value = tf.reduce_mean(cosine_infonce(a, p, 0.1, negatives=negatives))
        results.append((value.numpy(), [g.numpy() for g in tape.gradient(value, [a, p])]))
    assert len(calls) == 1
    (v_fast, g_fast), (v_blocked, g_blocked) = results
    np.testing.assert_allclose(v_fast, v_blocked, rtol=RTOL)
    for got, want in zip(g_fast, g_blocked):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.abs(want).max())
    expected = numpy_simclr_loss(a.numpy(), p.numpy(), 0.1).mean()
    np.testing.assert_allclose(v_fast, expected, rtol=RTOL)

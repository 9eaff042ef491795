"""Lp InfoNCE against the batch's positives (negatives = "positives"): CPC's InfoNCE."""

import numpy as np
import pytest
import tensorflow as tf

from tfclica.config.experiment import ExperimentConfig, validate
from tfclica.errors import ConfigError
from tfclica.losses import LpInfoNCE, lp_infonce
from tfclica.training.objectives import build_objective


def _plain(anchors, positives, tau, p, alpha=0.5):
    """``2 (alpha d_ii~ / tau + (1 - alpha) logsumexp_j -d(a_i, p_j) / tau)`` in float64."""
    a, v = (np.asarray(t, np.float64) for t in (anchors, positives))
    d = (np.abs(a[:, None, :] - v[None, :, :]) ** p).sum(-1) / tau
    top = (-d).max(1)
    lse = top + np.log(np.exp(-d - top[:, None]).sum(1))
    return 2.0 * (alpha * np.diag(d) + (1.0 - alpha) * lse)


def _pairs(seed, batch=48, dim=5):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 3, (batch, dim)).astype(np.float32)
    return a, (a + rng.normal(0, 0.2, a.shape)).astype(np.float32)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_positives_as_negatives_is_cpc_infonce(p):
    a, v = _pairs(0)
    ours = lp_infonce(a, v, 0.5, p, negatives=v, own_positive=True).numpy()
    # p = 2 runs the expansion |a|^2 + |m|^2 - 2 a.m: float32 rounding of about 1e-6 absolute.
    np.testing.assert_allclose(ours, _plain(a, v, 0.5, p), rtol=1e-4, atol=1e-5)
    # The reference's form differs: the anchor itself is a candidate at distance 0.
    assert not np.allclose(lp_infonce(a, v, 0.5, p).numpy(), ours, rtol=1e-2)


def test_gradients_match_the_plain_formula():
    a, v = (tf.constant(t) for t in _pairs(1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, v])
        ours = tf.reduce_sum(lp_infonce(a, v, 0.3, 1.0, negatives=v, own_positive=True))
        d = tf.reduce_sum(tf.abs(a[:, None, :] - v[None, :, :]), -1) / 0.3
        plain = tf.reduce_sum(tf.linalg.diag_part(d) + tf.reduce_logsumexp(-d, axis=1))
    for x in (a, v):
        np.testing.assert_allclose(tape.gradient(ours, x), tape.gradient(plain, x), atol=1e-5)


def test_replica_slices_add_up_to_the_one_device_loss():
    a, v = _pairs(2)
    loss = LpInfoNCE(tau=0.5, p=1.0, negatives="positives")
    assert loss.needs_all_positives
    whole = loss.per_anchor(a, v).numpy()
    halves = [loss.per_anchor(a[i : i + 24], v[i : i + 24], a, v, i).numpy() for i in (0, 24)]
    np.testing.assert_allclose(np.concatenate(halves), whole, rtol=1e-5)


def test_config_round_trip_and_objective():
    loss = LpInfoNCE(tau=0.5, p=3.0, negatives="positives")
    again = LpInfoNCE.from_config(loss.get_config())
    assert (again.negatives, again.p, again.tau) == ("positives", 3.0, 0.5)
    assert LpInfoNCE().negatives == "anchors" and not LpInfoNCE().needs_all_positives
    cfg = ExperimentConfig(loss="lp", negatives="positives")
    assert build_objective(cfg, "unsupervised").uses_all_positives
    with pytest.raises(ConfigError, match="negatives='positives' needs loss='lp'"):
        validate(ExperimentConfig(loss="cosine", negatives="positives"))
    with pytest.raises(ConfigError, match="negatives='others'"):
        validate(ExperimentConfig(loss="lp", negatives="others"))


def test_an_unknown_contrast_is_refused_by_the_loss_itself():
    with pytest.raises(ConfigError, match="negatives='others' is not one of: anchors, positives"):
        LpInfoNCE(negatives="others")

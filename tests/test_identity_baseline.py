"""The identity baseline is compared like with like: held-out R^2 against held-out R^2.

The observations here have more values (3 + 297 = 300) than there are fit samples (256), as
images do: an affine least-squares fit then interpolates its fit set (in-sample R^2 1), so the
old comparison (the encoder's held-out R^2 against that in-sample 1) flagged every encoder.
"""

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from tfclica.cli.train import failure_lines
from tfclica.config.experiment import ExperimentConfig
from tfclica.evaluation.metrics import linear_r2, mcc, ridge_r2
from tfclica.evaluation.scoring import (
    IDENTITY_OLS,
    IDENTITY_RIDGE,
    evaluate_encoder,
    identity_baseline,
)
from tfclica.latents import build_pair_sampler

DIM, JUNK, FIT = 3, 297, 256
POWER = 9  # x shows z only as z^9: a linear read-out of z from z^9 on [0, 1] has R^2 0.58


class WideObservations:
    """``x = [z^9, cos(40 z W + b)]``: z bent by a power, then 297 high-frequency features."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.w = tf.constant(rng.normal(size=(DIM, JUNK)) * 40.0, tf.float32)
        self.b = tf.constant(rng.uniform(0, 2 * np.pi, JUNK), tf.float32)

    def __call__(self, z):
        return tf.concat([z**POWER, tf.cos(z @ self.w + self.b)], axis=1)


def _sampler():
    cfg = replace(
        ExperimentConfig(),
        **dict(space="box", dim=DIM, marginal="uniform", tau=1.0, loss="lp", head="box"),
        **dict(conditional="normal", conditional_scale=0.05),
    )
    return build_pair_sampler(cfg)


def _good(x):
    """Inverts the power, with a small error from one junk feature: held-out R^2 about 0.99."""
    return x[:, :DIM] ** (1 / POWER) + 0.03 * x[:, DIM : DIM + 1]


def _bad(x):
    """Junk features only: nothing of z."""
    return x[:, DIM : 2 * DIM]


@pytest.fixture(scope="module")
def scored():
    sampler, source = _sampler(), WideObservations()
    return {
        name: evaluate_encoder(encode, sampler, source, FIT, seed=(4, 2), nonlinear=False)
        for name, encode in (("good", _good), ("bad", _bad))
    }


def test_wide_observations_get_a_held_out_ridge_baseline(scored):
    identity = scored["good"]["identity"]
    assert identity["method"] == IDENTITY_RIDGE and len(identity["ridge_alphas"]) == DIM
    # The interpolant the old baseline was: in-sample 1 on these 300 columns.
    z = _sampler().sample_marginal(FIT, tf.constant([4, 2])).numpy()
    assert linear_r2(z, WideObservations()(z).numpy()) > 0.999
    # A real held-out fit, not the 1.0 of an interpolant: at most what z^9 allows (0.58 in
    # population; 0.7 leaves room for 256 samples), and above the mean's 0, which the largest
    # penalty approaches (measured: 0.17; with 997 junk columns 0.03).
    assert 0.0 < identity["r2_linear_heldout"] < 0.7
    assert identity["r2_linear_heldout"] <= identity["r2_linear"] < 1.0


def test_a_good_encoder_is_not_flagged_and_a_bad_one_is(scored):
    good, bad = scored["good"], scored["bad"]
    assert good["r2_linear_heldout"] > 0.97
    assert not good["below_identity_r2"] and not good["below_identity"]
    assert failure_lines(good) == []
    assert bad["r2_linear_heldout"] < 0.1
    assert bad["below_identity_r2"] and bad["below_identity_mcc"] and bad["below_identity"]
    assert any("below the identity baseline" in line for line in failure_lines(bad))


def test_narrow_observations_keep_least_squares():
    rng = np.random.default_rng(1)
    z, z_test = rng.uniform(size=(500, DIM)), rng.uniform(size=(500, DIM))
    mix = rng.normal(size=(DIM, 8))
    x, x_test = np.tanh(z @ mix), np.tanh(z_test @ mix)
    identity = identity_baseline(z, x, z_test, x_test)
    assert identity["method"] == IDENTITY_OLS
    assert identity["r2_linear"] == linear_r2(z, x)
    assert identity["r2_linear_heldout"] == linear_r2(z, x, z_test, x_test)
    assert identity["mcc_pearson"] == mcc(z, x)


def test_ridge_with_more_samples_than_columns_is_least_squares_at_its_smallest_penalty():
    # With 2,000 samples of 5 columns and little noise, the chosen penalty is the smallest and
    # ridge is least squares to the R^2's third decimal.
    rng = np.random.default_rng(2)
    x, x_test = rng.normal(size=(2000, 5)), rng.normal(size=(2000, 5))
    a = rng.normal(size=(5, 2))
    z, z_test = x @ a + 0.01 * rng.normal(size=(2000, 2)), x_test @ a
    ridge = ridge_r2(z, x, z_test, x_test)
    assert ridge["r2_linear_heldout"] == pytest.approx(linear_r2(z, x, z_test, x_test), abs=1e-3)

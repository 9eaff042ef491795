"""Identifiability scores: values on known maps, and defined numbers for degenerate encodings."""

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.metrics import r2_score

from tfclica.errors import ConfigError
from tfclica.evaluation.metrics import (
    MIN_EVAL_SAMPLES,
    collapse_diagnostics,
    identifiability_scores,
    kernel_r2,
    linear_alignment,
    linear_r2,
    mcc,
    min_eval_samples,
    permutation_alignment,
)


def _latents(num=4096, n=6, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(num, n))


def test_mcc_is_one_for_signed_permutation_with_scaling():
    z = _latents()
    perm = np.array([3, 0, 5, 1, 4, 2])
    signs = np.array([1, -1, -1, 1, 1, -1])
    scales = np.array([0.1, 2.0, 5.0, 0.7, 1.0, 30.0])
    z_hat = z[:, perm] * signs * scales
    assert mcc(z, z_hat, "pearson") > 1 - 1e-9
    assert mcc(z, z_hat, "spearman") > 1 - 1e-9
    assert linear_r2(z, z_hat) > 1 - 1e-9


def test_rotation_keeps_linear_r2_but_breaks_mcc():
    z = _latents()
    rotation = ortho_group.rvs(6, random_state=1)
    z_hat = z @ rotation
    assert linear_r2(z, z_hat) > 1 - 1e-9
    assert linear_r2(z[:2048], z_hat[:2048], z[2048:], z_hat[2048:]) > 1 - 1e-9
    assert mcc(z, z_hat) < 0.9


def test_independent_noise_scores_near_zero():
    z, noise = _latents(seed=1), _latents(seed=2)
    # With 2048 held-out samples, R^2 of pure noise is O(n/N): well below 0.05.
    assert linear_r2(z[:2048], noise[:2048], z[2048:], noise[2048:]) < 0.05
    assert mcc(z, noise) < 0.1


def test_linear_alignment_recovers_a_known_affine_map():
    z = _latents()
    rng = np.random.default_rng(3)
    mixing = ortho_group.rvs(6, random_state=2) * rng.uniform(0.5, 3.0, size=6)  # rotate, scale
    shift = rng.normal(size=6)
    z_hat = z @ mixing + shift
    a, b = linear_alignment(z, z_hat)
    # z = (z_hat - shift) @ inv(mixing): exact up to float64 least-squares round-off.
    inverse = np.linalg.inv(mixing)
    np.testing.assert_allclose(a, inverse, atol=1e-9)
    np.testing.assert_allclose(b, -shift @ inverse, atol=1e-9)
    np.testing.assert_allclose(z_hat @ a + b, z, atol=1e-9)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_permutation_alignment_recovers_permutation_sign_scale_offset(method):
    z = _latents()
    order = np.array([3, 0, 5, 1, 4, 2])  # z_hat[:, j] is a rescaled z[:, order[j]]
    signs = np.array([1, -1, -1, 1, 1, -1])
    scales = np.array([0.1, 2.0, 5.0, 0.7, 1.0, 30.0])
    offsets = np.array([0.0, 1.0, -3.0, 0.5, 10.0, -0.2])
    extra = np.random.default_rng(4).normal(size=(z.shape[0], 1))  # an unmatched spare dimension
    z_hat = np.concatenate([z[:, order] * signs * scales + offsets, extra], axis=1)
    fit = permutation_alignment(z, z_hat, method)
    inv = np.argsort(order)  # true dimension i sits in column inv[i]
    np.testing.assert_array_equal(fit["perm"], inv)
    np.testing.assert_array_equal(fit["sign"], signs[inv])
    np.testing.assert_allclose(fit["scale"], 1 / scales[inv], rtol=1e-9)
    np.testing.assert_allclose(fit["offset"], -offsets[inv] / (signs * scales)[inv], atol=1e-9)
    aligned = fit["sign"] * fit["scale"] * z_hat[:, fit["perm"]] + fit["offset"]
    np.testing.assert_allclose(aligned, z, atol=1e-9)


def test_permutation_alignment_refuses_too_few_dimensions():
    z = _latents()
    with pytest.raises(ConfigError, match="2 dimensions, fewer than the 6"):
        permutation_alignment(z, z[:, :2])


def _scores(z, z_hat, half):
    return identifiability_scores(z[:half], z_hat[:half], z[half:], z_hat[half:], nonlinear=True)


def _assert_defined(scores):
    for key in ("r2_linear", "r2_linear_heldout", "r2_nonlinear", "mcc_pearson", "mcc_spearman"):
        assert isinstance(scores[key], float) and np.isfinite(scores[key]), (key, scores[key])


def test_constant_encodings_score_as_a_constant_predictor():
    z = _latents(num=2048, n=4)
    z_hat = np.full_like(z, 0.37)
    scores = _scores(z, z_hat, 1024)
    _assert_defined(scores)
    # Predicting the fit set's mean: 0 in-sample; held out, -|mean gap|^2 / var, which for 1024
    # uniform samples per set is O(1/1024) per dimension (and identical for the kernel R^2).
    assert abs(scores["r2_linear"]) < 1e-12
    constant_r2 = r2_score(z[1024:], np.broadcast_to(z[:1024].mean(0), (1024, 4)))
    assert scores["r2_linear_heldout"] == pytest.approx(constant_r2, abs=1e-12)
    assert scores["r2_nonlinear"] == pytest.approx(constant_r2, abs=1e-12)
    assert -0.01 < constant_r2 <= 0
    assert scores["mcc_pearson"] == 0 and scores["mcc_spearman"] == 0
    assert scores["collapsed"] is True


def _one_bad_column(z, bad):
    z_hat = z[:, ::-1] * 3.0 + 1.0  # a perfect encoding, permuted and rescaled ...
    z_hat[:, 0] = bad  # ... whose first column (true latent n-1) is ruined
    return z_hat


@pytest.mark.parametrize(
    "bad",
    [0.25, np.nan, np.inf, -np.inf, 1e300],
    ids=["constant", "nan", "inf", "-inf", "overflowing"],
)
def test_one_inert_column_loses_exactly_its_latent(bad):
    z = _latents(num=2048, n=4)
    scores = _scores(z, _one_bad_column(z, bad), 1024)
    _assert_defined(scores)
    # Three latents are recovered exactly (score 1) and one not at all: its correlation with the
    # inert column is exactly 0; its regressions see only the other, independent latents, whose
    # R^2 for it is O(3/1024) in-sample and |.| < 0.01 held out. The mean over 4 is 3/4.
    for key in ("mcc_pearson", "mcc_spearman"):
        assert scores[key] == pytest.approx(0.75, abs=1e-9), key
    assert scores["r2_linear"] == pytest.approx(0.75, abs=0.003)
    assert scores["r2_linear_heldout"] == pytest.approx(0.75, abs=0.01)
    assert scores["r2_nonlinear"] == pytest.approx(0.75, abs=0.01)
    assert scores["collapsed"] is False


def test_scattered_nonfinite_entries_cost_only_their_samples():
    z = _latents(num=2048, n=4)
    z_hat = z * 2.0
    z_hat[::10, 1] = np.nan  # 10% of one column; the rest of it still encodes z_1
    z_hat[5::50, 2] = np.inf
    scores = _scores(z, z_hat, 1024)
    _assert_defined(scores)
    # Imputed entries sit at the column mean: latent 1 loses about 10% of its variance
    # (R^2 ~ 0.9), latent 2 about 2%, so the mean over 4 latents is about 1 - 0.12/4 = 0.97.
    assert scores["r2_linear"] == pytest.approx(0.97, abs=0.01)
    assert 0.9 < scores["mcc_pearson"] < 1 and scores["collapsed"] is False
    diagnostics = collapse_diagnostics(z_hat)
    assert diagnostics["nonfinite_fraction"] == pytest.approx((205 + 41) / z_hat.size)


def test_tiny_but_informative_encodings_score_fully_and_are_flagged():
    # Scores are scale-invariant, so 1e-9 * z is a perfect encoding; its spread is far below
    # what any loss can see, so it is flagged as collapsed all the same.
    z = _latents(num=1024, n=4)
    scores = _scores(z, 1e-9 * z, 512)
    _assert_defined(scores)
    assert scores["r2_linear"] > 1 - 1e-9 and scores["mcc_pearson"] > 1 - 1e-9
    assert scores["collapsed"] is True


def test_float32_jitter_around_a_point_scores_as_noise():
    z = _latents(num=2048, n=4)
    jitter = np.random.default_rng(5).normal(size=z.shape) * 1e-7
    z_hat = (0.3 + jitter).astype(np.float32)  # a collapsed float32 encoder: a point + rounding
    scores = _scores(z, z_hat, 1024)
    _assert_defined(scores)
    # Noise independent of z: held-out R^2 O(n/N) from zero; max-matched |corr| of 1024 samples
    # about 3/sqrt(1024) ~ 0.1 at most.
    assert abs(scores["r2_linear_heldout"]) < 0.05 and abs(scores["r2_nonlinear"]) < 0.05
    assert scores["mcc_pearson"] < 0.12 and scores["collapsed"] is True


def test_collapse_diagnostics_values():
    z = _latents(num=4096, n=6)
    d = collapse_diagnostics(z)
    # U(-1, 1) has variance 1/3 per dimension; the sample variance's std at 4096 samples is
    # about 0.0047 per dimension, so the sum of 6 is 2 within 0.05.
    assert d["total_variance"] == pytest.approx(2.0, abs=0.05)
    assert d["relative_variance"] == pytest.approx(1.0, abs=0.01)  # zero mean: var == power
    assert d == {**d, "constant_dims": 0, "nonfinite_fraction": 0.0, "collapsed": False}
    shifted = collapse_diagnostics(z * 1e-4 + 100.0)  # a collapse far from the origin
    assert shifted["total_variance"] == pytest.approx(2e-8, rel=0.05)
    assert shifted["relative_variance"] < 1e-11 and shifted["collapsed"] is True
    far = collapse_diagnostics(z + 100.0)  # small relative to its norm, but a wide spread
    assert far["relative_variance"] < 1e-4 and far["collapsed"] is False
    zeros = collapse_diagnostics(np.zeros((10, 3)))
    assert zeros["constant_dims"] == 3 and zeros["relative_variance"] == 0
    assert zeros["collapsed"] is True


def test_kernel_r2_finds_a_relation_linear_r2_misses():
    u = _latents(num=4096, n=4)
    z = u**2  # each latent is a function of one encoding, uncorrelated with it
    fit, test = slice(0, 2048), slice(2048, None)
    # Uncorrelated: held-out linear R^2 is O(n/N) from 0; the kernel recovers the parabola.
    assert abs(linear_r2(z[fit], u[fit], z[test], u[test])) < 0.02
    assert kernel_r2(z[fit], u[fit], z[test], u[test]) > 0.99


def test_kernel_r2_of_independent_noise_is_near_zero():
    z, noise = _latents(num=2048, n=4, seed=1), _latents(num=2048, n=4, seed=2)
    # CV picks the heavy ridge; what is left is O(n/N) over 1024 held-out samples.
    assert abs(kernel_r2(z[:1024], noise[:1024], z[1024:], noise[1024:])) < 0.03


@pytest.mark.parametrize("num", [2, 3, 5])
def test_scores_are_defined_below_the_minimum_too(num):
    # Refused by configuration validation, but a direct caller still gets numbers.
    z = _latents(num=2 * num, n=4)
    _assert_defined(_scores(z, z * 2.0, num))


def test_scores_fit_on_the_smallest_allowed_sample():
    assert min_eval_samples(4) == MIN_EVAL_SAMPLES and min_eval_samples(100) == 102
    z = _latents(num=2 * MIN_EVAL_SAMPLES, n=4)
    scores = _scores(z, z @ ortho_group.rvs(4, random_state=0), MIN_EVAL_SAMPLES)
    _assert_defined(scores)
    assert scores["r2_linear"] > 1 - 1e-9 and scores["r2_nonlinear"] > 0.5


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((np.zeros((5, 2)), np.zeros((4, 2))), "z has 5 samples but z_hat has 4"),
        ((np.zeros((1, 2)), np.zeros((1, 2))), "z has 1 samples; scores need at least 2"),
        ((np.full((4, 2), np.nan), np.zeros((4, 2))), "z (the true latents) has non-finite"),
        ((np.zeros(4), np.zeros((4, 2))), "z: expected a [samples, dims] array"),
    ],
)
def test_bad_arrays_are_refused_with_one_line(args, needle):
    with pytest.raises(ConfigError) as info:
        linear_r2(*args)
    assert needle in str(info.value) and "\n" not in str(info.value)

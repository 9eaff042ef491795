"""Truncated and plain per-coordinate laws against SciPy: KS tests, densities, tails."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from tfclica.latents import TruncatedGenNormal, TruncatedLaplace, TruncatedNormal, UniformBox, tails

NUM = 4000
# KS p-value threshold: under a correct sampler the p-value is uniform, so each test has a 1e-3
# false-alarm rate (and, with fixed seeds, a fixed outcome). With 4000 draws it flags CDF errors
# above about 0.03.
P_MIN = 1e-3
LOCS = [0.02, 0.5, 0.97]  # near the low edge, centre, near the high edge of [0, 1]


def _scipy_law(kind, loc, scale, p):
    if kind == "normal":
        return stats.norm(loc, scale)
    if kind == "laplace":
        return stats.laplace(loc, scale)
    return stats.gennorm(p, loc, scale)


def _ours(kind, loc, scale, p, low, high):
    if kind == "normal":
        return TruncatedNormal(loc, scale, low, high)
    if kind == "laplace":
        return TruncatedLaplace(loc, scale, low, high)
    return TruncatedGenNormal(loc, scale, p, low, high)


def _truncated_cdf(law, low, high):
    """CDF-based truncation of a SciPy law (scipy.stats.truncnorm for normals is checked too)."""
    lo, hi = law.cdf(low), law.cdf(high)
    return lambda x: (law.cdf(x) - lo) / (hi - lo)


CASES = [("normal", 2.0), ("laplace", 1.0), ("gennorm", 3.0), ("gennorm", 0.7)]


@pytest.mark.parametrize(("kind", "p"), CASES)
@pytest.mark.parametrize("scale", [0.05, 0.4])
def test_truncated_to_box_matches_scipy(kind, p, scale):
    dist = _ours(kind, tf.constant([LOCS]), scale, p, 0.0, 1.0)
    draw = tf.function(lambda s: dist.sample(NUM, seed=s), jit_compile=True)
    x = draw(tf.constant([len(kind), int(10 * p + 100 * scale)])).numpy()[:, 0, :]
    assert x.shape == (NUM, 3) and x.min() >= 0.0 and x.max() <= 1.0
    for i, loc in enumerate(LOCS):
        cdf = _truncated_cdf(_scipy_law(kind, loc, scale, p), 0.0, 1.0)
        assert stats.kstest(x[:, i], cdf).pvalue > P_MIN, (kind, p, scale, loc)
        if kind == "normal":
            ref = stats.truncnorm(-loc / scale, (1 - loc) / scale, loc=loc, scale=scale)
            assert stats.kstest(x[:, i], ref.cdf).pvalue > P_MIN


@pytest.mark.parametrize(("kind", "p"), CASES + [("gennorm", 1.5)])
def test_unbounded_matches_scipy(kind, p):
    x = _ours(kind, tf.constant([0.3]), 2.0, p, -np.inf, np.inf).sample(NUM, seed=(5, 5))
    law = _scipy_law(kind, 0.3, 2.0, p)
    assert stats.kstest(x.numpy()[:, 0], law.cdf).pvalue > P_MIN


@pytest.mark.parametrize(("kind", "p"), CASES)
def test_log_prob_is_the_normalised_truncated_density(kind, p):
    loc, scale, low, high = 0.9, 0.2, 0.0, 1.0
    dist = _ours(kind, tf.constant([loc]), scale, p, low, high)
    grid = np.linspace(low, high, 20_001, dtype=np.float32)
    log_p = dist.log_prob(grid[:, None]).numpy()
    law = _scipy_law(kind, loc, scale, p)
    expected = law.logpdf(grid) - np.log(law.cdf(high) - law.cdf(low))
    np.testing.assert_allclose(log_p, expected, atol=1e-4)  # float32 log densities
    # Trapezoid rule with h = 5e-5 on a smooth density (kinks only at the loc): error < 1e-5.
    mass = np.sum((np.exp(log_p[1:]) + np.exp(log_p[:-1])) / 2 * np.diff(grid))
    assert abs(mass - 1.0) < 1e-4
    assert dist.log_prob([[1.5]]).numpy()[0] == -np.inf


def test_uniform_box():
    dist = UniformBox(4, -2.0, 3.0)
    x = dist.sample(NUM, seed=(1, 1)).numpy()
    assert x.min() >= -2.0 and x.max() <= 3.0
    for i in range(4):
        assert stats.kstest(x[:, i], stats.uniform(-2.0, 5.0).cdf).pvalue > P_MIN
    np.testing.assert_allclose(dist.log_prob(x[:3]).numpy(), -4 * np.log(5.0), rtol=1e-6)
    assert dist.log_prob([[0.0, 0.0, 0.0, 3.5]]).numpy()[0] == -np.inf


@pytest.mark.parametrize("p", [0.5, 1.5, 3.0, 8.0])
def test_gennorm_tail_tables_match_scipy(p):
    law = tails.StandardGenNormal(p)
    t = np.linspace(0.0, 6.0, 1001).astype(np.float32)
    tail, ref = law.upper_tail(tf.constant(t)).numpy(), stats.gennorm(p).sf(t.astype(float))
    ok = ref > 1e-30
    # Relative error of T(t): float32 storage of y = -log 2T (up to ~70) alone gives ~1e-5;
    # measured at most 7e-5 (p = 8).
    assert np.max(np.abs(tail[ok] - ref[ok]) / ref[ok]) < 2e-4
    q = np.geomspace(1e-30, 0.5, 500).astype(np.float32)
    inv = law.inverse_upper_tail(tf.constant(q)).numpy()
    ref = stats.gennorm(p).isf(q.astype(float))
    # Quantiles: measured at most 1.1e-6 relative (p = 0.5), float32 resolution is 6e-8.
    assert np.max(np.abs(inv - ref) / np.maximum(ref, 1e-3)) < 1e-5


def test_truncation_far_in_a_tail_keeps_precision():
    # An interval 8-10 sigma out: 1 - F is 6e-16, below float32 resolution of 1 - F.
    dist = TruncatedNormal(tf.constant([0.0]), 1.0, 8.0, 10.0)
    x = dist.sample(NUM, seed=(3, 3)).numpy()[:, 0]
    assert x.min() >= 8.0 and x.max() <= 10.0
    ref = stats.truncnorm(8.0, 10.0)
    assert stats.kstest(x, ref.cdf).pvalue > P_MIN
    np.testing.assert_allclose(dist.log_prob([[8.5]]).numpy()[0], ref.logpdf(8.5), rtol=1e-4)

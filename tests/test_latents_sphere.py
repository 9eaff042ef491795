"""Sphere laws: uniformity, radius, vMF against theory, projected conditionals, densities."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scipy.special import ive

from tfclica.latents import OnSphere, Sphere, UniformSphere, VonMisesFisher

NUM = 20_000
P_MIN = 1e-3  # KS false-alarm rate per test under a correct sampler (outcome fixed by seeds)


def test_uniform_sphere_radius_and_moments():
    n, r = 10, 2.5
    z = UniformSphere(n, r).sample(NUM, seed=(1, 2)).numpy().astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), r, rtol=1e-5)
    # Mean 0: each coordinate has sd r/sqrt(n); 5 standard errors of the sample mean.
    assert np.all(np.abs(z.mean(0)) < 5 * r / math.sqrt(n * NUM))
    # Second moment r^2 I / n: sd of z_i z_j is at most r^2/sqrt(n(n+2)) * sqrt(3) (z_i^2 terms),
    # so the se of each entry is below r^2 * 0.17 / sqrt(N); 5 se.
    second = z.T @ z / NUM
    assert np.max(np.abs(second - r**2 * np.eye(n) / n)) < 5 * r**2 * 0.17 / math.sqrt(NUM)


def _vmf_cdf_n3(kappa):
    """CDF of w = <x, mu> under vMF on S^2: density prop. to exp(kappa w) on [-1, 1]."""
    return lambda w: np.expm1(kappa * (w + 1)) / np.expm1(2 * kappa)


@pytest.mark.parametrize("kappa", [0.5, 10.0, 200.0])
def test_vmf_n3_cosine_law_and_scipy(kappa):
    mu = tf.math.l2_normalize(tf.constant([1.0, -2.0, 0.5]))
    draw = tf.function(lambda s: VonMisesFisher(mu, kappa).sample(NUM, seed=s), jit_compile=True)
    x = draw(tf.constant([3, int(kappa)])).numpy().astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    w = x @ mu.numpy()
    assert stats.kstest(w, _vmf_cdf_n3(kappa)).pvalue > P_MIN
    # The tangent direction is uniform: compare to SciPy's own vMF sampler (two-sample KS on
    # one coordinate, which mixes cosine and tangent).
    ref = stats.vonmises_fisher(mu.numpy(), kappa).rvs(NUM, random_state=0)
    assert stats.ks_2samp(x[:, 2], ref[:, 2]).pvalue > P_MIN


@pytest.mark.parametrize("kappa", [1.0, 10.0])
def test_vmf_n10_on_a_sphere_of_radius_3(kappa):
    n, r = 10, 3.0
    sphere = Sphere(n, r)
    z = sphere.marginal("uniform").sample(4096, seed=(4, 4))
    z_tilde = sphere.conditional("vmf", kappa)(z).sample(seed=(5, 5))
    assert bool(tf.reduce_all(sphere.contains(z_tilde)))
    cos = np.sum(z.numpy() * z_tilde.numpy(), axis=1) / r**2
    expected = ive(n / 2, kappa) / ive(n / 2 - 1, kappa)  # mean resultant length A_n(kappa)
    assert abs(cos.mean() - expected) < 5 * cos.std() / math.sqrt(cos.size)  # 5 se


def test_vmf_log_prob_normalises_on_radius_sphere():
    # E_uniform[p(z) / u(z)] = 1 for any density p on the sphere: a Monte-Carlo integral.
    n, r = 5, 2.0
    uniform = UniformSphere(n, r)
    z = uniform.sample(NUM, seed=(6, 6))
    mu = tf.math.l2_normalize(tf.ones([n]))
    dist = OnSphere(VonMisesFisher(mu, 2.0), r)
    ratio = np.exp(dist.log_prob(z).numpy() - uniform.log_prob(z).numpy())
    assert abs(ratio.mean() - 1.0) < 5 * ratio.std() / math.sqrt(NUM)  # 5 se
    # The uniform density is 1 / area: area of S^4 of radius 2 is 8 pi^2 r^4 / 3.
    area = 8 * math.pi**2 * r**4 / 3
    np.testing.assert_allclose(np.exp(uniform.log_prob(z[:2]).numpy()), 1 / area, rtol=1e-5)


@pytest.mark.parametrize("kind", ["normal", "laplace", "gennorm"])
def test_projected_conditionals_match_a_direct_simulation(kind):
    n, r, scale, p = 6, 1.5, 0.3, 3.0
    sphere = Sphere(n, r)
    z = np.tile(r * np.eye(n)[:1], (NUM, 1)).astype(np.float32)
    x = sphere.conditional(kind, scale, p)(tf.constant(z)).sample(seed=(7, 7)).numpy()
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), r, rtol=1e-5)
    rng = np.random.default_rng(0)
    law = {"normal": stats.norm(), "laplace": stats.laplace(), "gennorm": stats.gennorm(p)}[kind]
    noise = law.rvs(size=(NUM, n), random_state=rng)
    ref = z + scale * noise
    ref = r * ref / np.linalg.norm(ref, axis=1, keepdims=True)
    for i in (0, 1):  # the radial coordinate and a tangent one
        assert stats.ks_2samp(x[:, i], ref[:, i]).pvalue > P_MIN, (kind, i)


def test_projected_marginal_is_on_the_sphere_and_not_uniform():
    sphere = Sphere(3, 2.0)
    z = sphere.marginal("laplace", 1.0).sample(NUM, seed=(8, 8)).numpy()
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 2.0, rtol=1e-5)
    # A projected Laplace piles up near the axes: |z_1|/r is not U(0,1) as it is for uniform.
    assert stats.kstest(np.abs(z[:, 0]) / 2.0, "uniform").pvalue < 1e-6

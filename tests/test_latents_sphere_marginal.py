"""Non-uniform sphere marginals: centred at radius * e_1 as in the reference, not at the origin.

A normal centred at the origin projects to exactly the uniform law (mean 0): the test fails on
that, and checks the mean of z_1 against its value computed by SciPy quadrature.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from tfclica.latents import Sphere

NUM = 20_000
SIGMAS = 4.0  # two-sided false-alarm rate 6e-5 per coordinate (outcome fixed by the seeds)


def projected_normal_mean(n: int, radius: float, scale: float) -> float:
    """E[z_1] for z = radius * y / |y|, y ~ N(radius * e_1, scale^2 I_n).

    With y_1 = radius + scale * a and |y_2..n|^2 = scale^2 * R, a ~ N(0, 1), R ~ chi^2(n - 1).
    """

    def given_a(a):
        c = radius + scale * a

        def term(r):
            return stats.chi2.pdf(r, n - 1) * radius * c / math.sqrt(c * c + scale**2 * r)

        return integrate.quad(term, 0, np.inf)[0]

    return integrate.quad(lambda a: stats.norm.pdf(a) * given_a(a), -np.inf, np.inf)[0]


@pytest.mark.parametrize(("n", "radius", "scale"), [(10, 1.0, 1.0), (5, 2.0, 1.0)])
def test_projected_normal_marginal_has_the_mean_of_a_law_centred_at_e1(n, radius, scale):
    z = Sphere(n, radius).marginal("normal", scale).sample(NUM, seed=(5, n)).numpy()
    z = z.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), radius, rtol=1e-5)
    mean, se = z.mean(axis=0), z.std(axis=0) / math.sqrt(NUM)
    want = projected_normal_mean(n, radius, scale)
    assert want > 0.25 * radius  # the setting is far from uniform (whose mean is 0)
    assert abs(mean[0] - want) < SIGMAS * se[0], (mean[0], want, se[0])
    assert mean[0] > 20 * se[0]  # not zero: an origin-centred normal gives 0 +- se
    assert np.all(np.abs(mean[1:]) < SIGMAS * se[1:]), mean[1:]  # symmetric about the e_1 axis


@pytest.mark.parametrize("kind", ["laplace", "gennorm"])
def test_other_sphere_marginals_match_a_numpy_reference_centred_at_e1(kind):
    n, radius, scale, p = 10, 2.0, 1.0, 3.0
    z = Sphere(n, radius).marginal(kind, scale, p).sample(NUM, seed=(6, 6)).numpy()
    rng = np.random.default_rng(0)
    if kind == "laplace":
        y = rng.laplace(0.0, scale, size=(NUM, n))
    else:
        y = stats.gennorm.rvs(p, scale=scale, size=(NUM, n), random_state=rng)
    y[:, 0] += radius
    ref = radius * y / np.linalg.norm(y, axis=1, keepdims=True)
    for i in (0, 1):  # the e_1 coordinate and a transverse one
        assert stats.ks_2samp(z[:, i], ref[:, i]).pvalue > 1e-3, (kind, i)
    se = z[:, 0].std() / math.sqrt(NUM)
    assert z[:, 0].mean() > 20 * se  # concentrated towards +e_1

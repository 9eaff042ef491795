import numpy as np
from scipy.stats import ortho_group

from tfclica.metrics import linear_r2, mcc


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

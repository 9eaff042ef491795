import numpy as np
import pytest
from scipy.stats import ortho_group

from tfclica.errors import ConfigError
from tfclica.metrics import linear_alignment, linear_r2, mcc, permutation_alignment


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

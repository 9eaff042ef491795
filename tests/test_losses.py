import numpy as np
import pytest
from scipy.special import logsumexp

from tfclica.losses import CosineInfoNCE, cosine_infonce


def numpy_simclr_loss(a, p, tau):
    """The reference's SimCLRLoss (alpha=1/2) with z3 = roll(z1): negatives = all anchors."""
    neg = a @ np.roll(a, 1, axis=0).T
    pos = np.sum(a * p, axis=1)
    logits = np.concatenate([neg, pos[:, None]], axis=1) / tau
    return 2 * (0.5 * (-pos / tau) + 0.5 * logsumexp(logits, axis=1))


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_cosine_infonce_equals_numpy_formula(tau):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(16, 5)).astype(np.float32)
    p = rng.normal(size=(16, 5)).astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    got = cosine_infonce(a, p, tau).numpy()
    np.testing.assert_allclose(got, numpy_simclr_loss(a, p, tau), rtol=1e-5, atol=1e-5)
    loss = CosineInfoNCE(tau)
    np.testing.assert_allclose(float(loss(a, p)), numpy_simclr_loss(a, p, tau).mean(), rtol=1e-5)


def test_cosine_infonce_is_serializable():
    loss = CosineInfoNCE(tau=0.25)
    clone = CosineInfoNCE.from_config(loss.get_config())
    assert clone.tau == 0.25

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy.special import ive

from tfclica.latents import VonMisesFisher

NUM = 20_000


def mean_resultant_length(n, kappa):
    """A_n(kappa) = I_{n/2}(kappa) / I_{n/2-1}(kappa), the expected cosine to the mean."""
    return ive(n / 2, kappa) / ive(n / 2 - 1, kappa)


@pytest.mark.parametrize("kappa", [1.0, 10.0, 100.0])
def test_mean_cosine_matches_theory(kappa):
    n = 10
    mu = tf.math.l2_normalize(tf.range(1.0, n + 1.0))
    samples = VonMisesFisher(mu, kappa).sample(NUM, seed=(7, int(kappa))).numpy()
    np.testing.assert_allclose(np.linalg.norm(samples, axis=1), 1.0, atol=1e-5)
    cos = samples @ mu.numpy()
    # 5 standard errors of the sample mean: a false alarm has probability below 1e-6.
    tol = 5 * cos.std() / np.sqrt(NUM)
    assert abs(cos.mean() - mean_resultant_length(n, kappa)) < tol


def test_xla_compiles_in_any_order_and_same_seed_repeats():
    mu = tf.math.l2_normalize(tf.ones([64, 10]))
    # TFP's own vMF sampler, run eagerly first, breaks a later XLA sample of the same shape;
    # ours must not care.
    tfp.distributions.VonMisesFisher(mu, 5.0).sample(seed=(1, 1))
    draw = tf.function(lambda seed: VonMisesFisher(mu, 5.0).sample(seed=seed), jit_compile=True)
    xla = draw(tf.constant([3, 4])).numpy()
    np.testing.assert_array_equal(xla, draw(tf.constant([3, 4])).numpy())
    np.testing.assert_allclose(np.linalg.norm(xla, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(xla, draw(tf.constant([3, 5])).numpy())
    eager = VonMisesFisher(mu, 5.0).sample(seed=(3, 4)).numpy()
    np.testing.assert_array_equal(eager, VonMisesFisher(mu, 5.0).sample(seed=(3, 4)).numpy())

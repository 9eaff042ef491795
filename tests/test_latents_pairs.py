"""Pair samplers of every preset and setting: static shapes, membership, eager == XLA, errors."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from tfclica.config.experiment import ExperimentConfig
from tfclica.errors import ConfigError
from tfclica.latents import (
    Box,
    Euclidean,
    ProductSpace,
    Sphere,
    build_pair_sampler,
    make_pair_sampler,
    product_pair_sampler,
    space_from_config,
)
from tfclica.presets import all_presets

NUM = 512
MATRIX = [p for p in all_presets() if p.config.steps < 100_000]  # the CPU-schedule presets


def test_presets_cover_the_paper_matrix():
    settings = {
        (p.config.space, p.config.marginal, p.config.conditional, p.config.conditional_scale)
        for p in all_presets()
    }
    for needed in [
        ("sphere", "uniform", "vmf", 1.0),
        ("sphere", "uniform", "vmf", 10.0),
        ("sphere", "uniform", "laplace", 0.05),
        ("sphere", "uniform", "normal", 0.05),
        ("box", "uniform", "normal", 0.05),
        ("box", "uniform", "laplace", 0.05),
        ("box", "uniform", "gennorm", 0.05),
        ("unbounded", "laplace", "normal", 0.05),
        ("unbounded", "laplace", "laplace", 0.05),
        ("unbounded", "normal", "normal", 0.05),
        ("unbounded", "normal", "laplace", 0.05),
    ]:
        assert needed in settings
    synthetic = [p for p in all_presets() if p.config.observations == "mixing"]
    for p in (p for p in synthetic if p.matched):  # mismatched rows vary the model
        cfg = p.config
        if cfg.space == "sphere":
            assert (cfg.loss, cfg.head) == ("cosine", "sphere")
        else:  # Lp model with p matched to the conditional
            assert cfg.loss == "lp" and cfg.head == ("box" if cfg.space == "box" else "none")
            want = {"laplace": 1.0, "normal": 2.0, "gennorm": cfg.conditional_p}[cfg.conditional]
            assert cfg.model_p == want


@pytest.mark.parametrize("preset", MATRIX, ids=lambda p: p.name)
def test_every_preset_samples_inside_its_space_eager_and_xla_alike(preset):
    cfg = preset.config
    sampler, space = build_pair_sampler(cfg), space_from_config(cfg)
    seed = tf.constant([cfg.dim, 17])
    z, z_tilde = tf.function(lambda s: sampler.sample_pairs(NUM, s), jit_compile=True)(seed)
    assert z.shape == z_tilde.shape == (NUM, cfg.dim)  # static under XLA
    assert sampler.dim == cfg.dim
    assert bool(tf.reduce_all(space.contains(z))) and bool(tf.reduce_all(space.contains(z_tilde)))
    ez, ez_tilde = sampler.sample_pairs(NUM, seed)
    # Same integer bits; float transforms differ by ulps (values here are O(1), or up to ~10 for
    # R^n marginals). A truncated conditional's inverse CDF multiplies them by the scale over the
    # density, large where the box face cuts the tail (measured: 1.9e-5 at one of 5,120 values
    # for 3dident's sigma 0.25), so z~ gets 1e-4.
    np.testing.assert_allclose(ez.numpy(), z.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ez_tilde.numpy(), z_tilde.numpy(), rtol=1e-5, atol=1e-4)
    assert sampler.sample_marginal(NUM, seed).shape == (NUM, cfg.dim)
    if cfg.conditional != "vmf":
        # Concentrated conditionals: z~ stays near z (scale 0.05 per coordinate, so typical
        # distances are 0.05 sqrt(n) = 0.16; the median is far below the marginal's spread).
        gap = np.median(np.linalg.norm(z_tilde.numpy() - z.numpy(), axis=1))
        spread = np.median(np.linalg.norm(z.numpy() - z.numpy()[::-1], axis=1))
        assert gap < 0.5 * spread


def test_box_marginal_is_truncated_around_the_centre():
    box = Box(2, -1.0, 3.0)
    z = box.marginal("normal", 1.5).sample(4000, seed=(2, 9)).numpy()
    ref = stats.truncnorm(-2 / 1.5, 2 / 1.5, loc=1.0, scale=1.5)
    assert stats.kstest(z[:, 0], ref.cdf).pvalue > 1e-3  # 1e-3 false-alarm rate, fixed seed


def test_product_of_box_and_sphere():
    sampler = product_pair_sampler(
        [
            make_pair_sampler(Box(4), "uniform", "normal", conditional_scale=0.05),
            make_pair_sampler(Sphere(3, 2.0), "uniform", "vmf", conditional_scale=50.0),
        ]
    )
    space = ProductSpace([Box(4), Sphere(3, 2.0)])
    assert sampler.dim == space.dim == 7
    z, z_tilde = tf.function(lambda s: sampler.sample_pairs(NUM, s), jit_compile=True)([1, 2])
    assert z.shape == (NUM, 7)
    assert bool(tf.reduce_all(space.contains(z))) and bool(tf.reduce_all(space.contains(z_tilde)))
    box_gap = np.abs(z_tilde.numpy()[:, :4] - z.numpy()[:, :4])
    assert np.median(box_gap) < 0.05  # median |N(0, 0.05)| is 0.034
    log_p = sampler.conditional(z).log_prob(z_tilde).numpy()
    assert log_p.shape == (NUM,) and np.all(np.isfinite(log_p))


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        (dict(conditional_scale=0.0), "kappa"),
        (dict(space="box", conditional="normal", conditional_scale=-1.0), "conditional_scale"),
        (dict(space="box", conditional="gennorm", conditional_p=0.0), "conditional_p"),
        (dict(space="box", conditional="normal", marginal_scale=0.0), "marginal_scale"),
        (dict(space="box", conditional="normal", box_low=1.0, box_high=0.0), "box_low"),
        (dict(space="box", conditional="vmf"), "vmf"),
        (dict(space="unbounded", marginal="uniform", conditional="normal"), "uniform"),
        (dict(conditional="cauchy"), "cauchy"),
        (dict(space="torus"), "torus"),
        (dict(radius=0.0), "radius"),
    ],
)
def test_bad_settings_name_the_parameter(settings, needle):
    with pytest.raises(ConfigError, match=needle):
        ExperimentConfig(**settings)


def test_spaces_refuse_bad_settings_directly():
    with pytest.raises(ConfigError, match="vmf"):
        Box(3).conditional("vmf", 1.0)
    with pytest.raises(ConfigError, match="uniform"):
        Euclidean(3).marginal("uniform")
    with pytest.raises(ConfigError, match="radius"):
        Sphere(3, -1.0)
    with pytest.raises(ConfigError, match="conditional_scale"):
        Sphere(3).conditional("vmf", 0.0)

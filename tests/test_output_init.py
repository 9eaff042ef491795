import numpy as np
import pytest

from tfclica.config.experiment import ExperimentConfig
from tfclica.models.encoders import build_mlp_encoder
from tfclica.models.output_init import output_layer, standardize_output_layer


def _pre_head(encoder, x):
    import keras

    dense = output_layer(encoder)
    return np.asarray(keras.Model(encoder.inputs, dense.output)(x))


def test_outputs_have_mean_zero_and_std_one_on_the_fitted_sample():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(1500, 6)) * 0.1 + 0.3).astype(np.float32)  # offset, small: like g's x
    encoder = build_mlp_encoder(6, 4, (32, 32), head="none", seed=1)
    before = _pre_head(encoder, x)
    mean, std = standardize_output_layer(encoder, x)
    np.testing.assert_allclose(mean, before.mean(0), atol=1e-5)
    np.testing.assert_allclose(std, before.std(0), rtol=1e-4)
    after = _pre_head(encoder, x)
    np.testing.assert_allclose(after.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(after.std(0), 1.0, atol=1e-4)
    # an affine map of the old outputs: the same function family, only rescaled per unit
    np.testing.assert_allclose(after, (before - mean) / std, atol=1e-4)


def test_standardising_spreads_the_sphere_outputs_of_the_reference_encoder():
    import tensorflow as tf

    from tfclica.data.sources import build_observation_source
    from tfclica.latents import build_pair_sampler
    from tfclica.models.build import build_encoder

    cfg = ExperimentConfig(space="sphere", conditional="vmf", conditional_scale=1.0, tau=1.0)
    source = build_observation_source(cfg)
    z = build_pair_sampler(cfg).sample_marginal(2000, tf.constant([3, 4]))
    x = source(z).numpy()
    encoder = build_encoder(cfg, source.observation_shape)

    def mean_cosine(f):  # between independent samples (0 for uniform outputs on the sphere)
        c = f @ f.T
        return float(c[np.triu_indices(len(f), 1)].mean())

    # Glorot init: nearly one direction for every input (0.81 measured on this mixing). With
    # 2000 samples the mean over ~2e6 pairs has a standard error below 0.01 around its value.
    assert mean_cosine(np.asarray(encoder(x))) > 0.5
    standardize_output_layer(encoder, x)
    assert abs(mean_cosine(np.asarray(encoder(x)))) < 0.1


def test_a_run_standardises_only_when_it_starts_fresh(tmp_path):
    from tfclica.rundir import prepare_run_dir
    from tfclica.training import TrainingRun

    cfg = ExperimentConfig(
        dim=4, encoder_widths=(16, 16), steps=10, batch_size=32, eval_every=10,
        checkpoint_every=10, eval_samples=512, output_init="standardized",
    )  # fmt: skip
    run = TrainingRun(cfg, prepare_run_dir(tmp_path / "r"))
    glorot = TrainingRun(cfg.replace(output_init="glorot"), prepare_run_dir(tmp_path / "g"))
    assert not np.allclose(output_layer(run.encoder).bias.numpy(), 0.0)
    np.testing.assert_array_equal(output_layer(glorot.encoder).bias.numpy(), 0.0)
    run.run_steps()
    trained = [w.numpy() for w in run.encoder.weights]
    resumed = TrainingRun(cfg, tmp_path / "r")
    assert resumed.restored_from is not None
    for a, b in zip(trained, (w.numpy() for w in resumed.encoder.weights), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_output_init_is_a_config_error():
    from tfclica.errors import ConfigError

    with pytest.raises(ConfigError, match="output_init"):
        ExperimentConfig(output_init="lsuv")

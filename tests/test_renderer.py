"""The renderer and the RenderedImages source: shapes, determinism, every factor visible."""

import numpy as np
import pytest
import tensorflow as tf

from tfclica import rundir
from tfclica.errors import ConfigError
from tfclica.observations.rendered import EAGER_CHUNK, RenderedImages
from tfclica.observations.renderer import FACTOR_NAMES, NUM_FACTORS, render, to_uint8

Z = np.random.default_rng(0).uniform(-1, 1, (48, NUM_FACTORS)).astype(np.float32)


def _xla(size):
    return tf.function(lambda z: render(z, size), jit_compile=True)


def test_images_are_rgb_in_unit_range_and_differ():
    images = render(Z[:6], 16).numpy()
    assert images.shape == (6, 16, 16, 3) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    # Different latents, different images (no image is the background alone either).
    assert np.abs(images[0] - images[1]).mean() > 0.01
    assert all(images[i].std(axis=(0, 1)).max() > 0.02 for i in range(6))


def test_eager_and_xla_render_the_same_images():
    eager = render(Z, 32).numpy()
    xla = _xla(32)(Z).numpy()
    # XLA fuses and reorders the float ops, so the two agree to rounding only: measured max
    # |difference| 2.5e-4 over 64 images; 1e-3 is a quarter of one uint8 level.
    assert np.abs(eager - xla).max() < 1e-3
    as_int = lambda x: to_uint8(x).numpy().astype(int)  # noqa: E731
    assert np.abs(as_int(eager) - as_int(xla)).max() <= 1
    np.testing.assert_array_equal(_xla(32)(Z).numpy(), xla)  # repeatable bit for bit


def test_each_factor_alone_visibly_changes_the_image():
    base = np.random.default_rng(1).uniform(-0.5, 0.5, (8, NUM_FACTORS)).astype(np.float32)
    draw = _xla(16)
    before = draw(base).numpy()
    for i, name in enumerate(FACTOR_NAMES):
        moved = base.copy()
        moved[:, i] += 0.5
        change = np.abs(draw(moved).numpy() - before)
        # Measured smallest per-image changes: mean 0.003 and largest pixel 0.096 (spotlight
        # hue, a dimly lit pose) up to mean 0.10 (background hue). Thresholds: half a uint8
        # level averaged over every pixel, and a largest pixel change of 13 levels (visible).
        assert change.mean(axis=(1, 2, 3)).min() > 0.002, name
        assert change.max(axis=(1, 2, 3)).min() > 0.05, name


def test_source_renders_eagerly_in_chunks_as_one_compiled_call():
    source = RenderedImages(16)
    z = np.random.default_rng(2).uniform(-1, 1, (EAGER_CHUNK + 7, NUM_FACTORS))
    images = source(z.astype(np.float32)).numpy()
    assert images.shape == (EAGER_CHUNK + 7, 16, 16, 3)
    direct = _xla(16)(z[-7:].astype(np.float32)).numpy()
    assert np.abs(images[-7:] - direct).max() < 1e-5  # the padded last chunk is cut right
    inside = tf.function(lambda z: source(z))(z[:5].astype(np.float32)).numpy()
    assert np.abs(inside - images[:5]).max() < 1e-5  # traced inside a graph: the same program
    assert source.observation_shape == (16, 16, 3) and source.latent_dim == 10
    assert source.factor_names == FACTOR_NAMES


def test_source_round_trips_through_a_run_directory(tmp_path):
    source = RenderedImages(24, march_steps=20)
    rundir.save_mixing(tmp_path, source)
    loaded = rundir.load_mixing(tmp_path)
    assert loaded == source and loaded.checksum() == source.checksum()
    assert RenderedImages(24).checksum() != source.checksum()
    spec = {**source.spec(), "scene_version": -1}
    with pytest.raises(ConfigError, match="scene version -1"):
        RenderedImages.from_saved(spec, {})

"""The 3DIdent folder layout: `tfclica render` writes it, the loader reads it back exactly."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfclica.data import image_folder
from tfclica.data.loader import FolderPairs
from tfclica.errors import ConfigError
from tfclica.latents import build_pair_sampler
from tfclica.observations.rendered import RenderedImages
from tfclica.observations.renderer import to_uint8
from tfclica.presets import get_preset

SIZE = 16


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """200 rendered images (16x16) in the 3DIdent layout."""
    out = tmp_path_factory.mktemp("render") / "set"
    image_folder.write_rendered_set(out, 200, image_size=SIZE, seed=5)
    return out


def test_layout_names_and_latents(folder):
    names = sorted(os.listdir(folder / "images"))
    assert names == [f"{i:03d}.png" for i in range(200)]  # ceil(log10 200) = 3 digits
    latents = np.load(folder / "raw_latents.npy")
    assert latents.shape == (200, 10) and latents.dtype == np.float32
    assert latents.min() >= -1 and latents.max() <= 1 and latents.std(0).min() > 0.4
    assert [image_folder.index_width(n) for n in (1, 10, 11, 100, 10_000, 250_000)] == [
        0,
        1,
        2,
        2,
        4,
        6,
    ]


def test_loader_reads_back_each_image_with_its_latents(folder):
    pairs = FolderPairs(folder, build_pair_sampler(get_preset("3dident").config), 8)
    latents = pairs.folder.latents
    rendered = to_uint8(RenderedImages(SIZE)(latents)).numpy().astype(int)
    loaded = np.stack([pairs.load_image(i).numpy() for i in range(200)]).astype(np.float64)
    np.testing.assert_array_equal(np.round(loaded * 255).astype(int), rendered)
    # The stored statistics are the set's own, and the loader normalises with them.
    meta = json.loads((folder / "render.json").read_text())
    np.testing.assert_allclose(meta["channel_mean"], loaded.mean(axis=(0, 1, 2)), atol=1e-6)
    np.testing.assert_allclose(meta["channel_std"], loaded.std(axis=(0, 1, 2)), atol=1e-6)
    z, z_tilde, x, x_tilde = next(iter(pairs.dataset()))
    i, j = (idx.numpy() for idx in pairs.pair_indices(0))
    np.testing.assert_array_equal(z.numpy(), latents[i])
    np.testing.assert_array_equal(z_tilde.numpy(), latents[j])
    expected = (loaded[j] - meta["channel_mean"]) / meta["channel_std"]
    np.testing.assert_allclose(x_tilde.numpy(), expected, atol=1e-5)
    assert x.shape == (8, SIZE, SIZE, 3)


def test_a_pipeline_started_later_replays_the_same_batches(folder):
    pairs = FolderPairs(folder, build_pair_sampler(get_preset("3dident").config), 4, seed=1)
    from_start = iter(pairs.dataset(0))
    batches = [next(from_start) for _ in range(3)]
    later = next(iter(pairs.dataset(2)))
    for a, b in zip(batches[2], later):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(batches[0][0].numpy(), batches[1][0].numpy())


def test_resize_and_sample_images(folder):
    pairs = FolderPairs(folder, build_pair_sampler(get_preset("3dident").config), 4, image_size=8)
    z, x = pairs.sample_images(50, (0, 1))
    assert x.shape == (50, 8, 8, 3) and z.shape == (50, 10)
    assert len({tuple(row) for row in z}) == 50  # distinct images


def test_interrupted_render_leaves_nothing(tmp_path):
    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        image_folder.write_rendered_set(tmp_path / "set", 300, image_size=SIZE, on_progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_bad_folders_are_config_errors(tmp_path, folder):
    with pytest.raises(ConfigError, match="raw_latents.npy"):
        image_folder.read_folder(tmp_path)
    np.save(tmp_path / "raw_latents.npy", np.zeros((3, 10), np.float32))
    with pytest.raises(ConfigError, match="missing"):
        image_folder.read_folder(tmp_path)
    with pytest.raises(ConfigError, match="not empty"):
        image_folder.write_rendered_set(folder, 5, image_size=SIZE)
    cfg = get_preset("default").config  # dim 10 on the sphere: the folder's dim matches ...
    with pytest.raises(ConfigError, match="dim=4"):
        FolderPairs(folder, build_pair_sampler(cfg.replace(dim=4)), 4)


def _cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "tfclica.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_render_command(tmp_path):
    out = tmp_path / "set"
    done = _cli("render", "-n", "12", "--out", str(out), "--image-size", str(SIZE), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out / "images")) == [f"{i:02d}.png" for i in range(12)]
    assert np.load(out / "raw_latents.npy").shape == (12, 10)
    png = tf.io.decode_png(tf.io.read_file(str(out / "images" / "07.png"))).numpy()
    assert png.shape == (SIZE, SIZE, 3) and png.dtype == np.uint8
    for args, needle in (
        (("-n", "5", "--out", str(out)), "not empty"),
        (("-n", "-1", "--out", str(tmp_path / "b")), "--num-images"),
        (("-n", "5", "--out", str(tmp_path / "c"), "--image-size", "3"), "--image-size"),
    ):
        bad = _cli("render", *args)
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and needle in lines[0], bad.stderr


def test_the_train_step_trains_on_the_folder_pairs(folder):
    import keras

    from tfclica.data.training_data import FolderData
    from tfclica.losses import build_loss
    from tfclica.models.conv_encoders import build_cnn_encoder
    from tfclica.training import ContrastiveObjective, TrainState, TrainStep

    def make():
        cfg = get_preset("3dident").config
        pairs = FolderPairs(folder, build_pair_sampler(cfg), 8, seed=2)
        encoder = build_cnn_encoder((SIZE, SIZE, 3), 10, seed=0)
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(encoder.trainable_variables)
        objective = ContrastiveObjective(build_loss("lp", tau=1.0, p=2.0))
        strategy = tf.distribute.get_strategy()
        data = FolderData(pairs, folder, SIZE)
        step = TrainStep(
            data, encoder, optimizer, objective, strategy, TrainState(0, 1), 8, steps_per_call=3
        )
        assert step.xla_mode == "sampling"  # a tf.data pipeline: never compiled around it
        return step, encoder

    step, encoder = make()
    before = [w.numpy().copy() for w in encoder.trainable_weights]
    losses = step(3)
    assert losses.shape == (3,) and np.isfinite(losses).all()
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, encoder.trainable_weights))
    assert int(step.state.step.numpy()) == 3
    again, _ = make()  # the same seed and step: the same batches, the same losses
    np.testing.assert_allclose(again(3), losses, rtol=1e-5)

"""Convolutional encoders: shapes, heads, seeds, save/load; the factory that picks them."""

import numpy as np
import pytest

from tfclica.config.experiment import ExperimentConfig
from tfclica.models.build import build_encoder
from tfclica.models.conv_encoders import (
    build_cnn_encoder,
    build_resnet18_encoder,
    build_resnet50_encoder,
)

X = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 3)).astype(np.float32)


@pytest.mark.parametrize("build", [build_cnn_encoder, build_resnet18_encoder])
@pytest.mark.parametrize("head", ["none", "sphere", "box"])
def test_outputs_and_heads(build, head):
    encoder = build((32, 32, 3), 10, head=head, seed=1)
    h = encoder(X, training=False).numpy()
    assert h.shape == (3, 10) and np.isfinite(h).all()
    if head == "sphere":
        np.testing.assert_allclose(np.linalg.norm(h, axis=1), 1.0, rtol=1e-5)
    if head == "box":
        assert (h > 0).all() and (h < 1).all()  # sigmoid(x) * bound, bound initialised to 1


@pytest.mark.parametrize("build", [build_cnn_encoder, build_resnet18_encoder])
def test_seeded_and_round_trips(build, tmp_path):
    a, b = build((32, 32, 3), 10, seed=4), build((32, 32, 3), 10, seed=4)
    np.testing.assert_array_equal(a(X).numpy(), b(X).numpy())
    assert not np.allclose(a(X).numpy(), build((32, 32, 3), 10, seed=5)(X).numpy())
    import keras

    a.save(tmp_path / "e.keras")
    loaded = keras.models.load_model(tmp_path / "e.keras")
    np.testing.assert_allclose(loaded(X).numpy(), a(X).numpy(), atol=1e-6)


def test_cnn_downsamples_to_four_by_four_for_any_size():
    for size in (16, 32, 64):
        encoder = build_cnn_encoder((size, size, 3), 10, seed=0)
        assert encoder.get_layer("flatten").output.shape[1] == 4 * 4 * {16: 64, 32: 128}.get(
            size, 128
        )


def test_resnet18_has_its_size():
    encoder = build_resnet18_encoder((64, 64, 3), 10, seed=0)
    trainable = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
    # torchvision's resnet18 has 11,689,512 parameters, 513,000 of them its 1000-way
    # classifier; ours replaces that by a 512 x 10 output layer.
    assert trainable == 11_689_512 - 513_000 + 512 * 10 + 10


def test_resnet50_builds_from_keras_applications():
    encoder = build_resnet50_encoder((32, 32, 3), 10, seed=0)
    assert encoder(X[:2]).shape == (2, 10)
    with pytest.raises(ValueError, match="float32 only"):
        build_resnet50_encoder((32, 32, 3), 10, dtype="mixed_bfloat16")


def test_factory_picks_the_encoder_of_the_config():
    mlp = build_encoder(ExperimentConfig(dim=4, encoder_widths=(8,)), (4,))
    assert mlp.input_shape == (None, 4)
    cfg = ExperimentConfig(
        space="box",
        box_low=-1.0,
        box_high=1.0,
        conditional="normal",
        dim=10,
        observations="render",
        image_size=32,
        encoder="cnn",
        head="none",
    )
    cnn = build_encoder(cfg, (32, 32, 3))
    assert cnn.input_shape == (None, 32, 32, 3) and cnn.output_shape == (None, 10)

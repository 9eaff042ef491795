"""The MLP encoders' output heads: the values they compute, their ranges, and serialisation."""

import keras
import numpy as np
import pytest

from tfclica.models.encoders import (
    LINEAR_BOX_SHARPNESS,
    BoxHead,
    LinearBoxHead,
    build_head,
    build_mlp_encoder,
)


def _soft_clip(x, k):
    """The linear-box head's squashing in float64, written with log1p/exp for large |x|."""
    softplus = lambda t: np.logaddexp(0.0, t)  # noqa: E731
    return x - softplus(k * (x - 1.0)) / k + softplus(-k * (x + 1.0)) / k


def test_linear_box_head_matches_its_formula():
    head = LinearBoxHead()
    x = np.linspace(-4.0, 4.0, 81, dtype=np.float32)[:, None].repeat(3, axis=1)
    head.build(x.shape)
    head.log_bound.assign(np.log(np.array([1.0, 2.0, 20.0], np.float32)))
    expected = (_soft_clip(x.astype(np.float64), LINEAR_BOX_SHARPNESS) + 1.0) / 2.0
    expected *= np.array([1.0, 2.0, 20.0])
    # float32 rounding of x - softplus(.) / k near the faces, times the extent 20: a few 1e-6.
    np.testing.assert_allclose(np.asarray(head(x)), expected, rtol=1e-5, atol=5e-6)


def test_linear_box_head_is_linear_inside_and_bounded_outside():
    head = LinearBoxHead()
    # |x| <= 0.6 is at least 4 / sharpness from the faces: the slope there is within 2% of 1.
    inner = np.linspace(-0.6, 0.6, 61, dtype=np.float32)[:, None]
    slope = np.diff(np.asarray(head(inner))[:, 0]) / np.diff(inner[:, 0])
    assert np.all(np.abs(slope - 0.5) < 0.5 * 0.02), slope  # (x + 1) / 2 at bound 1
    wide = np.linspace(-8.0, 8.0, 1601, dtype=np.float32)[:, None]
    out = np.asarray(head(wide))[:, 0]
    ulp = 2e-6  # float32 rounding of x - softplus(...) / k at |x| = 8
    assert out.min() >= -ulp and out.max() <= 1.0 + ulp
    assert np.all(np.diff(out) >= -ulp)  # monotone (up to rounding in the flat tails)
    assert np.all(np.diff(out[700:900]) > 0.0)  # strictly, where it is not flat
    assert out[0] < ulp and out[-1] > 1.0 - ulp


def test_linear_box_head_gradient_is_never_zero_inside_its_range():
    import tensorflow as tf

    head = LinearBoxHead()
    x = tf.constant(np.linspace(-1.5, 1.5, 31, dtype=np.float32)[:, None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(head(x))
    grad = tape.gradient(y, x).numpy()[:, 0]
    # Half a face's slope at +-1 (sigmoid(0) = 0.5, times the 0.5 of (x + 1) / 2).
    np.testing.assert_allclose(grad[[5, 25]], 0.25, atol=1e-4)
    assert grad.min() > 0.0


def test_heads_by_name():
    assert isinstance(build_head("box"), BoxHead)
    assert isinstance(build_head("linear-box"), LinearBoxHead)
    assert build_head("none") is None
    with pytest.raises(ValueError, match="head='cube'"):
        build_head("cube")


def test_linear_box_encoder_round_trips_through_keras_saving(tmp_path):
    encoder = build_mlp_encoder(4, 3, [8], head="linear-box", seed=1)
    encoder.get_layer("head").log_bound.assign(np.array([0.5, -1.0, 2.0], np.float32))
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    encoder.save(tmp_path / "e.keras")
    loaded = keras.saving.load_model(tmp_path / "e.keras")
    assert loaded.get_layer("head").sharpness == LINEAR_BOX_SHARPNESS
    np.testing.assert_allclose(loaded(x), encoder(x), rtol=1e-6)


def test_standardize_head_gives_every_output_unit_variance_in_training():
    import tensorflow as tf

    encoder = build_mlp_encoder(4, 3, [8], head="standardize", seed=2)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 4)).astype(np.float32)
    # Scale one input up a thousandfold: without the head its outputs would be far from std 1.
    x[:, 0] *= 1000.0
    train_out = np.asarray(encoder(tf.constant(x), training=True))
    np.testing.assert_allclose(train_out.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train_out.std(0), 1.0, rtol=1e-3)  # eps 1e-3 against var ~1e6


def test_standardize_head_uses_its_moving_statistics_at_inference():
    import tensorflow as tf

    encoder = build_mlp_encoder(4, 3, [8], head="standardize", seed=2)
    x = np.random.default_rng(3).normal(2.0, 1.0, size=(256, 4)).astype(np.float32)
    for _ in range(800):  # momentum 0.99: 0.99^800 < 1e-3 of the initial statistics remain
        encoder(tf.constant(x), training=True)
    head = encoder.get_layer("head")
    pre = np.asarray(keras.Model(encoder.inputs, head.input)(x))
    np.testing.assert_allclose(np.asarray(head.moving_mean), pre.mean(0), rtol=1e-2, atol=1e-3)
    inference = np.asarray(encoder(x, training=False))
    np.testing.assert_allclose(inference.std(0), 1.0, rtol=2e-2)
    assert not np.allclose(inference, pre)

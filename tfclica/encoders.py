"""Keras encoders f: x -> z_hat, with the output heads of the reference."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

HEAD_NAMES = ("sphere", "learnable-sphere", "box", "none")


@keras.saving.register_keras_serializable(package="tfclica")
class SphereHead(keras.layers.Layer):
    """Projects onto the sphere of a fixed radius: ``radius * x / |x|``."""

    def __init__(self, radius: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.radius = float(radius)

    def call(self, x):
        return self.radius * x * ops.rsqrt(ops.maximum(ops.sum(x * x, -1, keepdims=True), 1e-24))

    def get_config(self):
        return {**super().get_config(), "radius": self.radius}


@keras.saving.register_keras_serializable(package="tfclica")
class LearnableSphereHead(keras.layers.Layer):
    """Projects onto a sphere whose radius is a trained scalar (initialised at ``radius``)."""

    def __init__(self, radius: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_radius = float(radius)

    def build(self, input_shape):
        self.r = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_radius), name="r"
        )

    def call(self, x):
        unit = x * ops.rsqrt(ops.maximum(ops.sum(x * x, -1, keepdims=True), 1e-24))
        return self.r * unit

    def get_config(self):
        return {**super().get_config(), "radius": self.initial_radius}


@keras.saving.register_keras_serializable(package="tfclica")
class BoxHead(keras.layers.Layer):
    """Maps into a box with a trained per-dimension extent: ``sigmoid(x) * bound``."""

    def build(self, input_shape):
        self.bound = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="bound")

    def call(self, x):
        return ops.sigmoid(x) * self.bound


def build_head(name: str, radius: float = 1.0) -> keras.layers.Layer | None:
    """The output head called ``name`` (``None`` for ``"none"``)."""
    if name == "sphere":
        return SphereHead(radius, name="head")
    if name == "learnable-sphere":
        return LearnableSphereHead(radius, name="head")
    if name == "box":
        return BoxHead(name="head")
    if name == "none":
        return None
    raise ValueError(f"head={name!r} is not one of: {', '.join(HEAD_NAMES)}")


def build_mlp_encoder(
    input_dim: int,
    latent_dim: int,
    hidden_widths: Sequence[int],
    head: str = "sphere",
    negative_slope: float = 0.01,
    radius: float = 1.0,
    seed: int | None = None,
    name: str = "encoder",
    dtype: str | None = None,
) -> keras.Model:
    """The reference MLP: Dense layers with leaky ReLU (0.01), a linear output, then the head.

    Args:
        input_dim: width of the observations x.
        latent_dim: number of outputs n.
        hidden_widths: widths of the hidden layers (reference: ``[10n, 50n, 50n, 50n, 50n, 10n]``).
        head: one of ``HEAD_NAMES``.
        negative_slope: leaky-ReLU slope.
        radius: radius of the sphere heads.
        seed: seed for the weight initialisers (``None``: Keras' global seed).
        name: model name.
        dtype: Keras dtype policy of the hidden layers (e.g. ``"mixed_bfloat16"``); the head
            and the output are always float32, so losses are computed in float32.

    Returns:
        A functional ``keras.Model`` mapping ``[batch, input_dim]`` to ``[batch, latent_dim]``.
    """
    inputs = keras.Input(shape=(input_dim,), name="x")
    h = inputs
    widths = list(hidden_widths) + [latent_dim]
    for i, width in enumerate(widths):
        init = keras.initializers.GlorotUniform(seed=None if seed is None else seed + i)
        h = keras.layers.Dense(width, kernel_initializer=init, name=f"dense_{i}", dtype=dtype)(h)
        if i < len(widths) - 1:
            h = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"act_{i}", dtype=dtype)(
                h
            )
    head_layer = build_head(head, radius)
    if head_layer is not None:
        h = head_layer(h)  # heads are float32 layers: they cast a mixed-precision input
    elif dtype is not None:
        h = keras.layers.Activation("linear", dtype="float32", name="to_float32")(h)
    return keras.Model(inputs, h, name=name)

"""Keras encoders f: x -> z_hat, with the output heads of the reference."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from tfclica.config.vocabulary import HEADS

# How sharply the linear-box head turns at the box faces: soft_clip's slope is 0.5 at x = +-1
# and within 2% of 1 for |x| < 1 - 4 / sharpness.
LINEAR_BOX_SHARPNESS = 10.0


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


@keras.saving.register_keras_serializable(package="tfclica")
class LinearBoxHead(keras.layers.Layer):
    """Maps into a box with a trained per-dimension extent, linearly in its interior.

    ``bound * (soft_clip(x) + 1) / 2`` with ``soft_clip(x) = x - softplus(k (x - 1)) / k +
    softplus(-k (x + 1)) / k``: the identity on most of (-1, 1), saturating smoothly at +-1,
    strictly increasing everywhere. The same output space as :class:`BoxHead`, but an encoder
    whose pre-activation is linear in the latents has outputs linear in them too, where behind a
    sigmoid they bend: the box-laplace runs of docs/RESULTS.md learn pre-activations with
    Pearson MCC 0.996 whose sigmoid outputs score 0.972. (Behind this head box-laplace ends at
    0.975: its encoder pushes the outer latents onto the faces instead; RESULTS.md says why.)
    """

    def __init__(self, sharpness: float = LINEAR_BOX_SHARPNESS, **kwargs):
        super().__init__(**kwargs)
        self.sharpness = float(sharpness)

    def build(self, input_shape):
        # The extent is trained in log space, so Adam can change it by a factor per step rather
        # than by about lr (box-laplace's matched extent at tau 1 is 20, from 1; it settles at
        # 2.4-2.6 either way, the loss's choice: docs/RESULTS.md).
        self.log_bound = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", name="log_bound"
        )

    @property
    def bound(self):
        """The box's extent per dimension, ``exp(log_bound)``."""
        return ops.exp(self.log_bound)

    def call(self, x):
        k = self.sharpness
        clipped = x - ops.softplus(k * (x - 1.0)) / k + ops.softplus(-k * (x + 1.0)) / k
        return (clipped + 1.0) * 0.5 * self.bound

    def get_config(self):
        return {**super().get_config(), "sharpness": self.sharpness}


def build_head(name: str, radius: float = 1.0) -> keras.layers.Layer | None:
    """The output head called ``name`` (``None`` for ``"none"``)."""
    if name == "sphere":
        return SphereHead(radius, name="head")
    if name == "learnable-sphere":
        return LearnableSphereHead(radius, name="head")
    if name == "box":
        return BoxHead(name="head")
    if name == "linear-box":
        return LinearBoxHead(name="head")
    if name == "standardize":
        # Mean 0, std 1 per output over each training batch (moving statistics at inference):
        # no output can collapse to a constant. The matched encoders of isotropic pairs in a
        # box (every rotation of sqrt(3) z for uniform z in [-1, 1]^n) have exactly these
        # moments, so the model family still holds them.
        return keras.layers.BatchNormalization(
            center=False, scale=False, momentum=0.99, name="head", dtype="float32"
        )
    if name == "none":
        return None
    raise ValueError(f"head={name!r} is not one of: {', '.join(HEADS)}")


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
        head: one of ``tfclica.config.vocabulary.HEADS``.
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

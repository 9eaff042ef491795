"""Keras 3 convolutional encoders f: images -> z_hat (channels-last), with the MLP encoders' heads.

- :func:`build_cnn_encoder`: a small fast CNN (stride-2 convolutions down to 4x4, a dense layer);
  the CPU default for rendered images.
- :func:`build_resnet18_encoder`: ResNet-18 (He et al. 2016, basic blocks [2, 2, 2, 2], batch
  norm, the ImageNet stem), written here: neither Keras' applications nor this environment's
  packages provide it.
- :func:`build_resnet50_encoder`: ``keras.applications.ResNet50(weights=None)``.

Each maps float32 ``[batch, H, W, 3]`` to ``[batch, latent_dim]``: features, global pooling (the
CNN flattens instead: positions are factors), a linear layer of ``latent_dim`` outputs, then the
head (:func:`~tfclica.models.encoders.build_head`). Inputs are used as given: the renderer's
images are in [0, 1], the folder loader's are normalised per channel.
"""

from __future__ import annotations

import math

import keras

from tfclica.models.encoders import build_head

CNN_WIDTHS = (32, 64, 128, 128, 256, 256)  # channels of the stride-2 convolutions, in order
CNN_DENSE = 256
_LEAKY_SLOPE = 0.01  # as the MLP encoders


def _outputs(h, latent_dim: int, head: str, radius: float, seed: int | None, name: str, dtype):
    """The linear output layer (float32) and the head."""
    init = keras.initializers.GlorotUniform(seed=seed)
    h = keras.layers.Dense(latent_dim, kernel_initializer=init, name="output", dtype=dtype)(h)
    if dtype is not None:
        h = keras.layers.Activation("linear", dtype="float32", name="to_float32")(h)
    head_layer = build_head(head, radius)
    return h if head_layer is None else head_layer(h)


def _seed(seed: int | None, i: int) -> int | None:
    return None if seed is None else seed + i


def build_cnn_encoder(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    head: str = "none",
    radius: float = 1.0,
    seed: int | None = None,
    name: str = "encoder",
    dtype: str | None = None,
) -> keras.Model:
    """A small CNN: 3x3 stride-2 convolutions (leaky ReLU) until the feature map is at most 4x4,
    flattened, a dense layer of 256, then ``latent_dim`` outputs and the head.

    Args:
        image_shape: ``(H, W, 3)``.
        latent_dim: number of outputs n.
        head: one of :data:`tfclica.config.vocabulary.HEADS`.
        radius: radius of the sphere heads.
        seed: seed of the weight initialisers (``None``: Keras' global seed).
        name: model name.
        dtype: Keras dtype policy of the hidden layers (e.g. ``"mixed_bfloat16"``); the output
            is float32.

    Returns:
        A functional ``keras.Model``.
    """
    inputs = keras.Input(shape=tuple(image_shape), name="x")
    downsamplings = max(1, math.ceil(math.log2(max(image_shape[:2]) / 4)))
    h = inputs
    for i in range(downsamplings):
        width = CNN_WIDTHS[min(i, len(CNN_WIDTHS) - 1)]
        init = keras.initializers.GlorotUniform(seed=_seed(seed, i))
        h = keras.layers.Conv2D(
            width,
            3,
            strides=2,
            padding="same",
            kernel_initializer=init,
            name=f"conv_{i}",
            dtype=dtype,
        )(h)
        h = keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, name=f"act_{i}", dtype=dtype)(h)
    h = keras.layers.Flatten(name="flatten", dtype=dtype)(h)
    init = keras.initializers.GlorotUniform(seed=_seed(seed, downsamplings))
    h = keras.layers.Dense(CNN_DENSE, kernel_initializer=init, name="dense", dtype=dtype)(h)
    h = keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, name="act_dense", dtype=dtype)(h)
    outputs = _outputs(h, latent_dim, head, radius, _seed(seed, downsamplings + 1), name, dtype)
    return keras.Model(inputs, outputs, name=name)


def _conv_bn(h, filters, kernel, strides, name, seed, dtype, relu=True):
    init = keras.initializers.HeNormal(seed=seed)
    h = keras.layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=init,
        name=f"{name}_conv",
        dtype=dtype,
    )(h)
    h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn", dtype=dtype)(
        h
    )
    return keras.layers.ReLU(name=f"{name}_relu", dtype=dtype)(h) if relu else h


def _basic_block(h, filters, strides, name, seed, dtype):
    """Two 3x3 convolutions with a residual connection (a 1x1 projection when the shape
    changes)."""
    shortcut = h
    out = _conv_bn(h, filters, 3, strides, f"{name}_a", seed, dtype)
    out = _conv_bn(out, filters, 3, 1, f"{name}_b", _seed(seed, 1), dtype, relu=False)
    if strides != 1 or h.shape[-1] != filters:
        shortcut = _conv_bn(h, filters, 1, strides, f"{name}_proj", _seed(seed, 2), dtype, False)
    out = keras.layers.Add(name=f"{name}_add", dtype=dtype)([out, shortcut])
    return keras.layers.ReLU(name=f"{name}_out", dtype=dtype)(out)


def build_resnet18_encoder(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    head: str = "none",
    radius: float = 1.0,
    seed: int | None = None,
    name: str = "encoder",
    dtype: str | None = None,
) -> keras.Model:
    """ResNet-18: the ImageNet stem (7x7/2 convolution, 3x3/2 max pool), four stages of two basic
    blocks (64, 128, 256, 512 channels; stride 2 from the second stage), global average pooling,
    then ``latent_dim`` outputs and the head. Arguments as :func:`build_cnn_encoder`."""
    inputs = keras.Input(shape=tuple(image_shape), name="x")
    h = _conv_bn(inputs, 64, 7, 2, "stem", _seed(seed, 0), dtype)
    h = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool", dtype=dtype)(h)
    for stage, filters in enumerate((64, 128, 256, 512)):
        for block in range(2):
            strides = 2 if stage > 0 and block == 0 else 1
            block_seed = _seed(seed, 10 * (2 * stage + block + 1))
            h = _basic_block(h, filters, strides, f"stage{stage + 1}_{block}", block_seed, dtype)
    h = keras.layers.GlobalAveragePooling2D(name="pool", dtype=dtype)(h)
    outputs = _outputs(h, latent_dim, head, radius, _seed(seed, 1000), name, dtype)
    return keras.Model(inputs, outputs, name=name)


def build_resnet50_encoder(
    image_shape: tuple[int, int, int],
    latent_dim: int,
    head: str = "none",
    radius: float = 1.0,
    seed: int | None = None,
    name: str = "encoder",
    dtype: str | None = None,
) -> keras.Model:
    """``keras.applications.ResNet50`` without downloaded weights (``weights=None``), global
    average pooling, then ``latent_dim`` outputs and the head. Images must be at least 32x32.
    ``dtype`` other than ``None`` is refused: the application takes no dtype policy.
    Arguments as :func:`build_cnn_encoder`.

    Raises:
        ValueError: a ``dtype`` was given.
    """
    if dtype is not None:
        raise ValueError(
            "the ResNet-50 encoder is float32 only (keras.applications takes no dtype)"
        )
    if seed is not None:
        keras.utils.set_random_seed(seed)  # the application's initialisers take no seed
    inputs = keras.Input(shape=tuple(image_shape), name="x")
    backbone = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=tuple(image_shape), pooling="avg"
    )
    h = backbone(inputs)
    outputs = _outputs(h, latent_dim, head, radius, _seed(seed, 1000), name, None)
    return keras.Model(inputs, outputs, name=name)


CONV_ENCODERS = {
    "cnn": build_cnn_encoder,
    "resnet18": build_resnet18_encoder,
    "resnet50": build_resnet50_encoder,
}

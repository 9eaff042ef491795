"""A data-dependent initialisation of an encoder's output layer.

A freshly initialised deep MLP maps every input to nearly the same direction: on the reference
mixing, the Glorot-initialised reference encoder's unit-sphere outputs have a mean cosine of
0.81 between independent samples (0 in expectation for uniform latents). Under the cosine loss
with tau = 1 the uniformity term is too weak to undo that quickly, and behind a box head the
common offset saturates the sigmoid. Standardising the last Dense layer on a sample of
observations (mean 0, std 1 per output at step 0, in the spirit of Mishkin & Matas' LSUV init)
starts training from spread-out outputs. It changes the starting point only, not the model family.
"""

from __future__ import annotations

import keras
import numpy as np

# Observations whose statistics set the output layer; chunks bound the memory of image encoders.
INIT_SAMPLES = 4096
INIT_CHUNK = 512


def output_layer(encoder: keras.Model) -> keras.layers.Dense:
    """The last Dense layer of a functional ``encoder`` (the one that feeds its head)."""
    dense = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError(f"encoder {encoder.name!r} has no Dense layer to standardise")
    return dense[-1]


def standardize_output_layer(encoder: keras.Model, observations) -> tuple[np.ndarray, np.ndarray]:
    """Rescale the output layer so that its outputs on ``observations`` have mean 0, std 1.

    Args:
        encoder: a functional Keras encoder (its variables are assigned in place).
        observations: array ``[num, *observation_shape]``.

    Returns:
        The outputs' mean and std per unit before the rescaling (float64).
    """
    dense = output_layer(encoder)
    features = keras.Model(encoder.inputs, dense.input)
    kernel = np.asarray(dense.kernel.numpy(), np.float64)
    bias = np.asarray(dense.bias.numpy(), np.float64)
    outputs = []
    for start in range(0, len(observations), INIT_CHUNK):
        h = np.asarray(features(observations[start : start + INIT_CHUNK]), np.float64)
        outputs.append(h @ kernel + bias)
    outputs = np.concatenate(outputs)
    mean, std = outputs.mean(0), outputs.std(0)
    scale = 1.0 / np.maximum(std, 1e-12)
    dense.kernel.assign((kernel * scale).astype(dense.kernel.dtype))
    dense.bias.assign(((bias - mean) * scale).astype(dense.bias.dtype))
    return mean, std

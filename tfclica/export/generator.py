"""The frozen generator g and its exact inverse as graphs: ``g.onnx``, ``g_inverse.onnx`` and
their SavedModels, written into an export's ``mixing/`` directory.

A tool in any runtime can then make observations ``x = g(z)`` and compare an encoder with the
true inverse ``z = g^-1(x)``. Inputs and outputs are float32 ``[batch, n]``; inside, the graphs
compute in float64 (the inverse through ``inv(W)`` computed in float64 at export), so every
output is the float32 rounding of :meth:`Mixing.numpy_forward` / :meth:`Mixing.numpy_inverse`
(checked at export time: :func:`tfclica.export.parity.generator_parity`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfclica.export.formats import MIN_OPSET, function_to_onnx, save_function
from tfclica.export.layout import G_INVERSE, GENERATORS, ONNX_MIXING_KEY
from tfclica.observations.mixing import Mixing


def generator_function(mixing: Mixing, inverse: bool = False):
    """``g`` (or ``g^-1``) as a TF function: float32 ``[batch, n]`` in and out, float64 inside.

    Leaky ReLU and its inverse are ``where(h > 0, h, s * h)`` and ``where(h > 0, h, h / s)``,
    the NumPy reference's float64 operations. (``max(h, s * h)`` would be fused by tf2onnx into
    an ONNX LeakyRelu, whose float32 ``alpha`` attribute is off by 1.5e-8 relative.)
    """
    slope = float(mixing.negative_slope)
    if not 0.0 < slope < 1.0:
        raise ValueError(f"negative_slope={slope} must be in (0, 1) for an invertible g")
    last = len(mixing.weights) - 1
    if not inverse:
        # x = h @ W.T per layer, as Mixing.numpy_forward.
        # NumPy arrays, made constants inside the trace (captured eager tensors would become
        # extra graph inputs in tf2onnx).
        mats = [w.astype(np.float64).T for w in mixing.weights]

        def g(z):
            h = tf.cast(z, tf.float64)
            for i, w_t in enumerate(mats):
                h = tf.matmul(h, tf.constant(w_t))
                if i < last:
                    h = tf.where(h > 0, h, slope * h)
            return tf.cast(h, tf.float32)

        return g
    inverses = [np.linalg.inv(w.astype(np.float64)).T for w in mixing.weights]

    def g_inverse(x):
        h = tf.cast(x, tf.float64)
        for i in reversed(range(len(inverses))):
            if i < last:
                h = tf.where(h > 0, h, h / slope)
            h = tf.matmul(h, tf.constant(inverses[i]))
        return tf.cast(h, tf.float32)

    return g_inverse


def write_generator(
    mixing: Mixing,
    folder: Path,
    spec_file: Path,
    formats=("savedmodel", "onnx"),
    opset: int = MIN_OPSET,
) -> None:
    """Write ``g.onnx``, ``g_inverse.onnx`` and/or their SavedModels into ``folder``.

    Args:
        mixing: the frozen g.
        folder: the export's ``mixing/`` directory (already holding ``spec.json``).
        spec_file: ``mixing/spec.json``: copied into each SavedModel's assets and stored in each
            ONNX file's ``metadata_props["tfclica.observations.mixing"]``.
        formats: which of ``"savedmodel"``, ``"onnx"`` to write.
        opset: ONNX opset, at least 17.
    """
    spec_json = Path(spec_file).read_text()
    for files in GENERATORS:
        function = generator_function(mixing, inverse=files is G_INVERSE)
        spec = tf.TensorSpec([None, mixing.dim], tf.float32, name=files.input)

        if "savedmodel" in formats:
            serve = _named(function, files.output)
            save_function(serve, spec, folder / files.savedmodel, spec_file, files.name)
        if "onnx" in formats:
            function_to_onnx(
                function,
                spec,
                [files.output],
                folder / files.onnx,
                spec_json,
                opset,
                metadata_key=ONNX_MIXING_KEY,
            )


def _named(function, name: str):
    """``function`` returning ``{name: output}`` (a SavedModel signature's named output)."""
    return lambda value: {name: function(value)}

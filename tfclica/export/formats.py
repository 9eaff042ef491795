"""Writers for the two export formats: a TF SavedModel and an ONNX graph of the encoder.

Both take a Keras encoder and expose the same contract: input ``x`` float32 ``[batch, d_x]``,
output ``z_hat`` float32 ``[batch, n]``, batch dimension dynamic. The orchestration (metadata,
parity, atomic placement) lives in :mod:`tfclica.export.writer`; the names in
:mod:`tfclica.export.layout`.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from tfclica.export.layout import (
    INPUT_NAME,
    ONNX_BATCH_AXIS,
    ONNX_METADATA_KEY,
    OUTPUT_NAME,
    SIGNATURE_KEY,
)

MIN_OPSET = 17


def input_spec(encoder: keras.Model) -> tf.TensorSpec:
    """``float32 [None, d_x]`` named ``x``: the one input signature of every export."""
    return tf.TensorSpec([None, int(encoder.input_shape[-1])], tf.float32, name=INPUT_NAME)


class _ServingModule(tf.Module):
    """What the SavedModel holds: the encoder's variables, a serving function, the metadata."""

    def __init__(self, encoder: keras.Model, metadata_file: Path):
        super().__init__(name="tfclica_encoder")
        self.encoder = encoder  # tracked: its variables are saved with the module
        self.metadata = tf.saved_model.Asset(str(metadata_file))
        self.serve = tf.function(self._serve, input_signature=[input_spec(encoder)])

    def _serve(self, x):
        return {OUTPUT_NAME: self.encoder(x, training=False)}


def write_savedmodel(encoder: keras.Model, path: Path, metadata_file: Path) -> None:
    """Save ``encoder`` as a SavedModel at ``path`` with a ``serving_default`` signature.

    Args:
        encoder: the trained Keras encoder.
        path: directory to create (must not exist yet).
        metadata_file: a JSON file copied into ``path/assets/`` under its own name.
    """
    module = _ServingModule(encoder, metadata_file)
    tf.saved_model.save(module, str(path), signatures={SIGNATURE_KEY: module.serve})


def _rename_value(graph, old: str, new: str) -> None:
    """Rename a tensor of an ONNX graph everywhere it is produced, consumed or exposed."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in list(graph.input) + list(graph.output):
        if value.name == old:
            value.name = new


def write_onnx(encoder: keras.Model, path: Path, metadata_json: str, opset: int = MIN_OPSET):
    """Convert ``encoder`` to ONNX with tf2onnx and write it to ``path``.

    ``tf2onnx.convert.from_keras`` does not support Keras 3, so the encoder is traced through a
    ``tf.function`` with an input signature. tf2onnx names the output after the TF graph
    (``Identity:0``); it is renamed to ``z_hat`` and the batch axis is labelled ``batch``.

    Args:
        encoder: the trained Keras encoder.
        path: the ``.onnx`` file to write.
        metadata_json: stored in the model's ``metadata_props`` under ``tfclica.metadata``.
        opset: ONNX opset, at least 17.
    """
    import onnx
    import tf2onnx

    if opset < MIN_OPSET:
        raise ValueError(f"opset={opset} is below the minimum {MIN_OPSET}")
    function = tf.function(lambda x: encoder(x, training=False))
    model_proto, _ = tf2onnx.convert.from_function(
        function, input_signature=[input_spec(encoder)], opset=opset
    )
    graph = model_proto.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise RuntimeError(
            f"tf2onnx produced {len(graph.input)} inputs and {len(graph.output)} outputs; "
            "expected one of each"
        )
    _rename_value(graph, graph.input[0].name, INPUT_NAME)
    _rename_value(graph, graph.output[0].name, OUTPUT_NAME)
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = ONNX_BATCH_AXIS
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, metadata_json
    model_proto.producer_name = "tfclica (tf2onnx)"
    onnx.checker.check_model(model_proto)
    onnx.save(model_proto, str(path))

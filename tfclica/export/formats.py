"""Writers for the two export formats, a TF SavedModel and an ONNX graph, of any traced function.

Every exported graph has one float32 input of shape ``[batch, *shape]`` (batch dynamic;
``[batch, d]`` for vectors, ``[batch, H, W, 3]`` channels-last for images) and named float32
outputs; the encoder's are ``x -> z_hat`` (:func:`write_savedmodel`, :func:`write_onnx`), the
generator's ``z -> x`` and ``x -> z`` (:mod:`tfclica.export.generator`). The orchestration
(metadata, parity, atomic placement) lives in :mod:`tfclica.export.writer`; the names in
:mod:`tfclica.export.layout`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """``float32 [None, *observation shape]`` named ``x``: the one input signature of every
    encoder export (``[None, d_x]`` for an MLP, ``[None, H, W, 3]`` for an image encoder)."""
    shape = [int(d) for d in encoder.input_shape[1:]]
    return tf.TensorSpec([None, *shape], tf.float32, name=INPUT_NAME)


class _ServingModule(tf.Module):
    """What a SavedModel holds: tracked state (variables), a serving function, one asset."""

    def __init__(self, name: str, serve: Callable, spec: tf.TensorSpec, asset: Path, state=None):
        super().__init__(name=name)
        self.state = state  # tracked: its variables are saved with the module
        self.metadata = tf.saved_model.Asset(str(asset))
        self.serve = tf.function(serve, input_signature=[spec])


def save_function(
    serve: Callable, spec: tf.TensorSpec, path: Path, asset: Path, name: str, state=None
) -> None:
    """Save ``serve`` (one tensor in, a dict of named tensors out) as a SavedModel at ``path``.

    Args:
        serve: the function; its input is called ``spec.name`` in the ``serving_default``
            signature, its outputs keep their dict keys.
        spec: the input signature.
        path: directory to create (must not exist yet).
        asset: a file copied into ``path/assets/`` under its own name.
        name: the module's name inside the SavedModel.
        state: an object whose variables ``serve`` reads (e.g. the Keras encoder).
    """
    module = _ServingModule(name, serve, spec, asset, state)
    tf.saved_model.save(module, str(path), signatures={SIGNATURE_KEY: module.serve})


def write_savedmodel(encoder: keras.Model, path: Path, metadata_file: Path, extra=None) -> None:
    """Save ``encoder`` as a SavedModel at ``path`` with a ``serving_default`` signature.

    Args:
        encoder: the trained Keras encoder.
        path: directory to create (must not exist yet).
        metadata_file: a JSON file copied into ``path/assets/`` under its own name.
        extra: ``{name: fn}`` of further outputs, each a function of ``z_hat`` (e.g. the
            aligned latents); ``z_hat`` is always the first.
    """
    extra = dict(extra or {})

    def serve(x):
        z_hat = encoder(x, training=False)
        return {OUTPUT_NAME: z_hat, **{name: fn(z_hat) for name, fn in extra.items()}}

    save_function(serve, input_spec(encoder), path, metadata_file, "tfclica_encoder", encoder)


def _rename_value(graph, old: str, new: str) -> None:
    """Rename a tensor of an ONNX graph everywhere it is produced, consumed or exposed."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in list(graph.input) + list(graph.output):
        if value.name == old:
            value.name = new


def function_to_onnx(
    function: Callable,
    spec: tf.TensorSpec,
    output_names: Sequence[str],
    path: Path,
    metadata_json: str,
    opset: int = MIN_OPSET,
    metadata_key: str = ONNX_METADATA_KEY,
) -> None:
    """Convert ``function`` (one tensor in, a tuple of tensors out) to ONNX at ``path``.

    tf2onnx names the graph's tensors after the TF graph (``Identity:0``, ...); they are renamed
    to ``spec.name`` and ``output_names`` (in the order the function returns them) and the batch
    axis is labelled ``batch``.

    Args:
        function: traced with ``spec`` as its input signature.
        spec: the input signature.
        output_names: one name per returned tensor.
        path: the ``.onnx`` file to write.
        metadata_json: stored in the model's ``metadata_props`` under ``metadata_key``.
        opset: ONNX opset, at least 17.
        metadata_key: the ``metadata_props`` key.
    """
    import onnx
    import tf2onnx

    if opset < MIN_OPSET:
        raise ValueError(f"opset={opset} is below the minimum {MIN_OPSET}")
    model_proto, _ = tf2onnx.convert.from_function(
        tf.function(function), input_signature=[spec], opset=opset
    )
    graph = model_proto.graph
    if len(graph.input) != 1 or len(graph.output) != len(output_names):
        raise RuntimeError(
            f"tf2onnx produced {len(graph.input)} inputs and {len(graph.output)} outputs; "
            f"expected 1 and {len(output_names)}"
        )
    _rename_value(graph, graph.input[0].name, spec.name)
    for value, name in zip(list(graph.output), output_names):
        _rename_value(graph, value.name, name)
    for value in [graph.input[0], *graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = ONNX_BATCH_AXIS
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = metadata_key, metadata_json
    model_proto.producer_name = "tfclica (tf2onnx)"
    onnx.checker.check_model(model_proto)
    onnx.save(model_proto, str(path))


def write_onnx(
    encoder: keras.Model, path: Path, metadata_json: str, opset: int = MIN_OPSET, extra=None
) -> None:
    """Convert ``encoder`` to ONNX with tf2onnx and write it to ``path``.

    ``tf2onnx.convert.from_keras`` does not support Keras 3, so the encoder is traced through a
    ``tf.function`` with an input signature (:func:`function_to_onnx`).

    Args:
        encoder: the trained Keras encoder.
        path: the ``.onnx`` file to write.
        metadata_json: stored in the model's ``metadata_props`` under ``tfclica.metadata``.
        opset: ONNX opset, at least 17.
        extra: ``{name: fn}`` of further outputs of ``z_hat``, after ``z_hat`` (as in
            :func:`write_savedmodel`).
    """
    extra = dict(extra or {})

    def outputs(x):
        z_hat = encoder(x, training=False)
        return (z_hat, *(fn(z_hat) for fn in extra.values()))

    names = [OUTPUT_NAME, *extra]
    function_to_onnx(outputs, input_spec(encoder), names, path, metadata_json, opset)

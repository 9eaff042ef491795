"""Load an encoder from any format as a NumPy-in, NumPy-out callable.

:func:`load_encoder` accepts a SavedModel directory, an ``.onnx`` file, a ``.keras`` file, an
export directory (``tfclica export`` output) or a run directory. Every loaded encoder checks its
input the same way and raises :class:`EncoderInputError` naming the expected shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tfclica.errors import ConfigError, EncoderInputError
from tfclica.export.layout import (
    INPUT_NAME,
    METADATA_FILE,
    ONNX_FILE,
    ONNX_METADATA_KEY,
    OUTPUT_NAME,
    SAVEDMODEL_ASSETS_DIR,
    SAVEDMODEL_DIR,
    SIGNATURE_KEY,
)

_CHUNK = 8192  # rows per call: bounds memory for large inputs


class LoadedEncoder:
    """An encoder ``x -> z_hat`` on NumPy arrays, whatever format it was loaded from.

    Attributes:
        path: where it was loaded from.
        format: ``"savedmodel"``, ``"onnx"`` or ``"keras"``.
        input_dim: width ``d_x`` of the observations.
        output_dim: number of latents ``n``.
        metadata: the export's metadata (``None`` for a plain ``.keras`` file).
    """

    format = ""

    def __init__(self, path: Path, input_dim: int, output_dim: int, metadata: dict | None):
        self.path, self.input_dim, self.output_dim = Path(path), input_dim, output_dim
        self.metadata = metadata

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.path} x[batch, {self.input_dim}] -> "
            f"z_hat[batch, {self.output_dim}]>"
        )

    def check_input(self, x) -> np.ndarray:
        """``x`` as a float32 ``[batch, d_x]`` array, or :class:`EncoderInputError`."""
        expected = f"a float32 array of shape [batch, {self.input_dim}] with batch >= 1"
        if not isinstance(x, np.ndarray):
            if not hasattr(x, "__array__") and not isinstance(x, (list, tuple)):
                raise EncoderInputError(f"encoder input must be {expected}; got {type(x)}")
            x = np.asarray(x)
        if x.dtype != np.float32:
            hint = " (convert with x.astype(np.float32))" if x.dtype.kind in "fiu" else ""
            raise EncoderInputError(f"encoder input must be {expected}; got dtype {x.dtype}{hint}")
        if x.ndim != 2:
            hint = " (for one sample use x[None, :])" if x.ndim == 1 else ""
            raise EncoderInputError(
                f"encoder input must be {expected}; got a {x.ndim}-D array of shape "
                f"{tuple(x.shape)}{hint}"
            )
        if x.shape[1] != self.input_dim:
            raise EncoderInputError(
                f"encoder input must be {expected}; got shape {tuple(x.shape)} "
                f"(width {x.shape[1]}, expected {self.input_dim})"
            )
        if x.shape[0] == 0:
            raise EncoderInputError(
                f"encoder input must be {expected}; got an empty batch of shape {tuple(x.shape)}"
            )
        return np.ascontiguousarray(x)

    def __call__(self, x) -> np.ndarray:
        """Encode ``x`` (float32 ``[batch, d_x]``) to float32 ``[batch, n]``."""
        x = self.check_input(x)
        chunks = [self._run(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def _run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SavedModelEncoder(LoadedEncoder):
    """The ``serving_default`` signature of a SavedModel."""

    format = "savedmodel"

    def __init__(self, path: Path):
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(path))
        except (OSError, ValueError, tf.errors.OpError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err)
            raise ConfigError(f"{path}: not a readable SavedModel ({first_line})") from None
        if SIGNATURE_KEY not in loaded.signatures:
            raise ConfigError(f"{path}: SavedModel has no {SIGNATURE_KEY!r} signature")
        self._fn = loaded.signatures[SIGNATURE_KEY]
        self._loaded = loaded  # keeps the variables alive
        _, inputs = self._fn.structured_input_signature
        outputs = self._fn.structured_outputs
        if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
            raise ConfigError(
                f"{path}: signature {SIGNATURE_KEY!r} must map {INPUT_NAME!r} to {OUTPUT_NAME!r}, "
                f"got {sorted(inputs)} -> {sorted(outputs)}"
            )
        metadata = _read_json(Path(path) / SAVEDMODEL_ASSETS_DIR / METADATA_FILE)
        super().__init__(
            path, int(inputs[INPUT_NAME].shape[-1]), int(outputs[OUTPUT_NAME].shape[-1]), metadata
        )

    def _run(self, x):
        import tensorflow as tf

        return self._fn(**{INPUT_NAME: tf.constant(x)})[OUTPUT_NAME].numpy()


class OnnxEncoder(LoadedEncoder):
    """An ONNX graph run by onnxruntime on the CPU."""

    format = "onnx"

    def __init__(self, path: Path):
        import onnxruntime as ort

        try:
            self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises several unrelated types
            raise ConfigError(f"{path}: not a loadable ONNX model ({err})") from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in outputs] != [OUTPUT_NAME]:
            raise ConfigError(
                f"{path}: expected one input {INPUT_NAME!r} and one output {OUTPUT_NAME!r}, got "
                f"{[i.name for i in inputs]} -> {[o.name for o in outputs]}"
            )
        custom = self._session.get_modelmeta().custom_metadata_map
        metadata = json.loads(custom[ONNX_METADATA_KEY]) if ONNX_METADATA_KEY in custom else None
        super().__init__(path, int(inputs[0].shape[-1]), int(outputs[0].shape[-1]), metadata)

    def _run(self, x):
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


class KerasEncoder(LoadedEncoder):
    """A ``.keras`` file (a run's ``encoder.keras``); ``model`` is the Keras model."""

    format = "keras"

    def __init__(self, path: Path):
        import keras
        import tensorflow as tf

        import tfclica.encoders  # noqa: F401 - registers the custom head layers

        try:
            model = keras.saving.load_model(str(path), compile=False)
        except (ValueError, OSError) as err:
            raise ConfigError(f"{path}: not a loadable Keras model ({err})") from None
        self.model = model
        spec = tf.TensorSpec([None, int(model.input_shape[-1])], tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        super().__init__(path, int(model.input_shape[-1]), int(model.output_shape[-1]), None)

    def _run(self, x):
        return self._fn(x).numpy()


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def resolve_model_path(path: Path) -> tuple[str, Path]:
    """``(format, file or directory)`` of the encoder that ``path`` designates.

    An export directory designates its SavedModel (or its ONNX file if it has no SavedModel);
    a run directory designates its ``encoder.keras``.
    """
    from tfclica.rundir import ENCODER_FILE

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no encoder at {path}: no such file or directory")
    if path.is_file():
        if path.suffix == ".onnx":
            return "onnx", path
        if path.suffix == ".keras":
            return "keras", path
        raise ConfigError(f"{path}: unknown encoder file type (expected .onnx or .keras)")
    if (path / "saved_model.pb").is_file():
        return "savedmodel", path
    if (path / SAVEDMODEL_DIR / "saved_model.pb").is_file():
        return "savedmodel", path / SAVEDMODEL_DIR
    if (path / ONNX_FILE).is_file():
        return "onnx", path / ONNX_FILE
    if (path / ENCODER_FILE).is_file():
        return "keras", path / ENCODER_FILE
    raise ConfigError(
        f"no encoder in {path}: expected a SavedModel directory, an export directory "
        f"(savedmodel/ or {ONNX_FILE}) or a run directory with {ENCODER_FILE}"
    )


def load_encoder(path) -> LoadedEncoder:
    """Load an encoder as a callable ``float32 [batch, d_x] -> float32 [batch, n]`` on NumPy.

    Args:
        path: a SavedModel directory, an ``.onnx`` or ``.keras`` file, an export directory or a
            run directory.

    Returns:
        A :class:`LoadedEncoder`; calling it with a wrong rank, width, dtype or an empty batch
        raises :class:`EncoderInputError` naming the expected shape.

    Raises:
        ConfigError: ``path`` holds no loadable encoder.
    """
    fmt, target = resolve_model_path(Path(path))
    loader = {"savedmodel": SavedModelEncoder, "onnx": OnnxEncoder, "keras": KerasEncoder}[fmt]
    return loader(target)


def read_metadata(path) -> dict:
    """The metadata of an export directory, SavedModel or ONNX file."""
    path = Path(path)
    if path.is_dir() and (path / METADATA_FILE).is_file():
        return json.loads((path / METADATA_FILE).read_text())
    encoder = load_encoder(path)
    if encoder.metadata is None:
        raise ConfigError(f"{path} carries no tfclica metadata")
    return encoder.metadata

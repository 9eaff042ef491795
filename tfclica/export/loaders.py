"""Load an encoder from any format as a NumPy-in, NumPy-out callable.

:func:`load_encoder` accepts a SavedModel directory, an ``.onnx`` file, a ``.keras`` file, an
export directory (``tfclica export`` output) or a run directory. Every loaded encoder checks its
input the same way and raises :class:`EncoderInputError` naming the expected shape. Metadata is
checked for its ``format_version`` (:func:`check_format_version`). :func:`load_keras_encoder`
gives a run's ``encoder.keras`` as a plain Keras model.

Only the SavedModel and Keras loaders import TensorFlow (when used).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tfclica.errors import ConfigError, EncoderInputError
from tfclica.export.layout import (
    FORMAT,
    FORMAT_VERSION,
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
_CHUNK_VALUES = 1 << 22  # input values per call (images: 16 MiB of float32)


def check_format_version(metadata: dict, source) -> dict:
    """``metadata`` if this version of tfclica can read it; :class:`ConfigError` otherwise.

    The policy (``saved_models/README.md``): keys are added, never renamed or removed, so every
    ``format_version`` up to :data:`~tfclica.export.layout.FORMAT_VERSION` loads; a newer one
    is refused with both versions named.
    """
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else type(metadata).__name__
        raise ConfigError(f"{source}: not tfclica export metadata (format {found!r})")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{source}: format_version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        from tfclica import __version__

        raise ConfigError(
            f"{source}: export format_version {version} is newer than tfclica {__version__} "
            f"reads (format_version {FORMAT_VERSION} and older); upgrade tfclica to load it"
        )
    return metadata


class LoadedEncoder:
    """An encoder ``x -> z_hat`` on NumPy arrays, whatever format it was loaded from.

    Attributes:
        path: where it was loaded from.
        format: ``"savedmodel"``, ``"onnx"`` or ``"keras"``.
        input_shape: the shape of one observation: ``(d_x,)`` for vectors, ``(H, W, 3)`` for
            images (channels last).
        input_dim: width ``d_x`` of vector observations (``None`` for images).
        output_dim: number of latents ``n``.
        metadata: the export's metadata (``None`` for a plain ``.keras`` file).
        outputs: the names it can compute, ``z_hat`` first (an export of format_version 2 or
            later also has ``z_aligned`` and ``z_permuted``).
    """

    format = ""

    def __init__(
        self,
        path: Path,
        input_shape,
        output_dim: int,
        metadata: dict | None,
        outputs=(OUTPUT_NAME,),
    ):
        """``input_shape``: one observation's shape (an int: the width of vectors)."""
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        try:
            self.input_shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):  # a dynamic axis (None, "width"): not one of ours
            raise ConfigError(
                f"{path}: input {INPUT_NAME!r} has shape [batch, {', '.join(map(str, shape))}]; "
                "every axis but the batch must be fixed"
            ) from None
        self.input_dim = self.input_shape[0] if len(self.input_shape) == 1 else None
        self.path, self.output_dim = Path(path), output_dim
        self.metadata = None if metadata is None else check_format_version(metadata, path)
        self.outputs = tuple(outputs)
        # Rows per runtime call: images are large, so fewer of them (about 16 MiB of input).
        self.max_rows = max(1, min(_CHUNK, _CHUNK_VALUES // int(np.prod(self.input_shape))))

    @property
    def input_text(self) -> str:
        """The input's shape as the messages write it: ``x[batch, 16, 16, 3]``."""
        return f"x[batch, {', '.join(str(d) for d in self.input_shape)}]"

    def __repr__(self) -> str:
        name, latents = type(self).__name__, self.output_dim
        return f"<{name} {self.path} {self.input_text} -> z_hat[batch, {latents}]>"

    def check_input(self, x) -> np.ndarray:
        """``x`` as a float32 ``[batch, *input_shape]`` array, or :class:`EncoderInputError`."""
        shape = ", ".join(str(d) for d in self.input_shape)
        expected = f"a float32 array of shape [batch, {shape}] with batch >= 1"
        if not isinstance(x, np.ndarray):
            if not hasattr(x, "__array__") and not isinstance(x, (list, tuple)):
                raise EncoderInputError(f"encoder input must be {expected}; got {type(x)}")
            x = np.asarray(x)
        if x.dtype != np.float32:
            hint = " (convert with x.astype(np.float32))" if x.dtype.kind in "fiu" else ""
            if x.dtype.kind in "iu" and len(self.input_shape) == 3:
                hint = " (scale images as metadata.json input.scaling says)"
            raise EncoderInputError(f"encoder input must be {expected}; got dtype {x.dtype}{hint}")
        rank = 1 + len(self.input_shape)
        if x.ndim != rank:
            hint = " (for one sample use x[None, ...])" if x.ndim == rank - 1 else ""
            if rank == 2 and x.ndim == 1:
                hint = " (for one sample use x[None, :])"
            raise EncoderInputError(
                f"encoder input must be {expected}; got a {x.ndim}-D array of shape "
                f"{tuple(x.shape)}{hint}"
            )
        if tuple(x.shape[1:]) != self.input_shape:
            detail = (
                f"width {x.shape[1]}, expected {self.input_shape[0]}"
                if rank == 2
                else f"one observation {tuple(x.shape[1:])}, expected {self.input_shape}"
            )
            raise EncoderInputError(
                f"encoder input must be {expected}; got shape {tuple(x.shape)} ({detail})"
            )
        if x.shape[0] == 0:
            raise EncoderInputError(
                f"encoder input must be {expected}; got an empty batch of shape {tuple(x.shape)}"
            )
        return np.ascontiguousarray(x)

    def check_output(self, output: str) -> str:
        """``output`` if this encoder computes it, else :class:`ConfigError` naming the choices."""
        if output not in self.outputs:
            raise ConfigError(
                f"{self.path} has no output {output!r} (it has: {', '.join(self.outputs)}); "
                "aligned outputs come with exports of format_version 2 or later"
            )
        return output

    def __call__(self, x, output: str = OUTPUT_NAME, batch_size: int = _CHUNK) -> np.ndarray:
        """Encode ``x`` (float32 ``[batch, *input_shape]``) to float32 ``[batch, n]``.

        Args:
            x: the observations.
            output: which output (one of :attr:`outputs`; default ``z_hat``).
            batch_size: rows per call of the runtime (bounds its memory; at most
                :attr:`max_rows`).
        """
        output = self.check_output(output)
        x = self.check_input(x)
        step = max(min(int(batch_size), self.max_rows), 1)
        chunks = [self._run(x[i : i + step], output) for i in range(0, len(x), step)]
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def encode_all(self, x, batch_size: int = _CHUNK) -> dict[str, np.ndarray]:
        """Every output of :attr:`outputs` on ``x`` from one pass of the runtime, ``{name:
        float32 [batch, n]}`` (one conv-net pass instead of one per output)."""
        x = self.check_input(x)
        step = max(min(int(batch_size), self.max_rows), 1)
        parts = [self._run_all(x[i : i + step]) for i in range(0, len(x), step)]
        return {
            name: np.concatenate([p[name] for p in parts]).astype(np.float32, copy=False)
            for name in self.outputs
        }

    def _run(self, x: np.ndarray, output: str) -> np.ndarray:
        raise NotImplementedError

    def _run_all(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {name: self._run(x, name) for name in self.outputs}


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
        names = [OUTPUT_NAME, *sorted(set(outputs) - {OUTPUT_NAME})]
        shape = inputs[INPUT_NAME].shape[1:]
        super().__init__(path, shape, int(outputs[OUTPUT_NAME].shape[-1]), metadata, names)

    def _run(self, x, output):
        return self._run_all(x)[output]

    def _run_all(self, x):
        import tensorflow as tf

        return {k: v.numpy() for k, v in self._fn(**{INPUT_NAME: tf.constant(x)}).items()}


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
        names = [o.name for o in outputs]
        if [i.name for i in inputs] != [INPUT_NAME] or names[:1] != [OUTPUT_NAME]:
            raise ConfigError(
                f"{path}: expected one input {INPUT_NAME!r} and first output {OUTPUT_NAME!r}, "
                f"got {[i.name for i in inputs]} -> {names}"
            )
        custom = self._session.get_modelmeta().custom_metadata_map
        metadata = json.loads(custom[ONNX_METADATA_KEY]) if ONNX_METADATA_KEY in custom else None
        shape, latents = inputs[0].shape[1:], int(outputs[0].shape[-1])
        super().__init__(path, shape, latents, metadata, names)

    def _run(self, x, output):
        return self._session.run([output], {INPUT_NAME: x})[0]

    def _run_all(self, x):
        return dict(zip(self.outputs, self._session.run(list(self.outputs), {INPUT_NAME: x})))


class KerasEncoder(LoadedEncoder):
    """A ``.keras`` file (a run's ``encoder.keras``); ``model`` is the Keras model."""

    format = "keras"

    def __init__(self, path: Path):
        import tensorflow as tf

        model = load_keras_encoder(path)
        self.model = model
        shape = tuple(int(d) for d in model.input_shape[1:])
        spec = tf.TensorSpec([None, *shape], tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        super().__init__(path, shape, int(model.output_shape[-1]), None)

    def _run(self, x, output):
        return self._fn(x).numpy()


def load_keras_encoder(path):
    """A run's ``encoder.keras`` as a plain Keras model, in any process.

    The same as ``keras.saving.load_model`` after ``import tfclica`` (which registers tfclica's
    layers with Keras, :mod:`tfclica.keras_objects`), but also given a run directory. The model
    is not compiled: call it, or build your own model around it.

    Args:
        path: an ``encoder.keras`` file or a run directory holding one.

    Returns:
        The ``keras.Model`` ``x [batch, d_x] -> z_hat [batch, n]`` (``x [batch, H, W, 3]`` for
        an image encoder).

    Raises:
        ConfigError: no such file, or not a loadable Keras model.
    """
    import keras

    from tfclica.rundir import ENCODER_FILE

    path = Path(path)
    if path.is_dir():
        path = path / ENCODER_FILE
    if not path.is_file():
        raise ConfigError(f"no Keras encoder at {path}: no such file")
    try:
        return keras.saving.load_model(str(path), compile=False)
    except (ValueError, OSError, TypeError) as err:
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"{path}: not a loadable Keras model ({first_line})") from None


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
        raise ConfigError(f"{path}: unreadable metadata ({err})") from None


def resolve_model_path(path: Path, prefer: str = "savedmodel") -> tuple[str, Path]:
    """``(format, file or directory)`` of the encoder that ``path`` designates.

    An export directory designates its SavedModel, or its ONNX file if it has no SavedModel or
    ``prefer`` is ``"onnx"``; a run directory designates its ``encoder.keras``.
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
    if prefer == "onnx" and (path / ONNX_FILE).is_file():
        return "onnx", path / ONNX_FILE
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


def load_encoder(path, prefer: str = "savedmodel") -> LoadedEncoder:
    """Load an encoder as a callable ``float32 [batch, *input_shape] -> float32 [batch, n]``
    on NumPy (``input_shape``: ``(d_x,)``, or ``(H, W, 3)`` for an image encoder).

    Args:
        path: a SavedModel directory, an ``.onnx`` or ``.keras`` file, an export directory or a
            run directory.
        prefer: the format an export directory with both gives: ``"savedmodel"`` or ``"onnx"``
            (no TensorFlow import: what ``tfclica encode`` uses).

    Returns:
        A :class:`LoadedEncoder`; calling it with a wrong rank, width, dtype or an empty batch
        raises :class:`EncoderInputError` naming the expected shape.

    Raises:
        ConfigError: ``path`` holds no loadable encoder, or its metadata has a
            ``format_version`` newer than this tfclica reads.
    """
    if prefer not in ("savedmodel", "onnx"):
        raise ConfigError(f"prefer={prefer!r} is not 'savedmodel' or 'onnx'")
    fmt, target = resolve_model_path(Path(path), prefer)
    loader = {"savedmodel": SavedModelEncoder, "onnx": OnnxEncoder, "keras": KerasEncoder}[fmt]
    return loader(target)


def read_metadata(path) -> dict:
    """The metadata of an export directory, SavedModel or ONNX file (version-checked)."""
    path = Path(path)
    if path.is_dir() and (path / METADATA_FILE).is_file():
        return check_format_version(_read_json(path / METADATA_FILE), path / METADATA_FILE)
    encoder = load_encoder(path)
    if encoder.metadata is None:
        raise ConfigError(f"{path} carries no tfclica metadata")
    return encoder.metadata

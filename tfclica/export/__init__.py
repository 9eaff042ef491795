"""Exported encoders: SavedModel and ONNX writers, loaders for any format, the export layout.

``from tfclica.export import export_run, load_encoder, evaluate_model`` is the public face; the
names are resolved lazily so that loading an ONNX export (``tfclica encode``) never imports
TensorFlow. Modules: :mod:`~tfclica.export.layout` (every file name of an export),
:mod:`~tfclica.export.formats` (the TF/ONNX writers), :mod:`~tfclica.export.writer`
(``export_run`` and the metadata), :mod:`~tfclica.export.loaders` (any format in),
:mod:`~tfclica.export.evaluate` (scoring an export through :mod:`tfclica.evaluation.scoring`),
:mod:`~tfclica.export.run_data` (a run's observations: the mixing, the renderer or a folder).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tfclica.errors import EncoderInputError, ParityError

# Public name -> the submodule that defines it.
_HOMES = {
    "FORMATS": "writer",
    "build_metadata": "writer",
    "export_run": "writer",
    "LoadedEncoder": "loaders",
    "load_encoder": "loaders",
    "load_keras_encoder": "loaders",
    "read_metadata": "loaders",
    "evaluate_model": "evaluate",
}

__all__ = [
    "FORMATS",
    "EncoderInputError",
    "LoadedEncoder",
    "ParityError",
    "build_metadata",
    "evaluate_model",
    "export_run",
    "load_encoder",
    "load_keras_encoder",
    "read_metadata",
]

if TYPE_CHECKING:
    from tfclica.export.evaluate import evaluate_model
    from tfclica.export.loaders import (
        LoadedEncoder,
        load_encoder,
        load_keras_encoder,
        read_metadata,
    )
    from tfclica.export.writer import FORMATS, build_metadata, export_run


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'tfclica.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tfclica.export.{_HOMES[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))

"""tfclica's Keras objects, registered with Keras as soon as Keras is imported.

``keras.saving.load_model`` finds a custom class (``tfclica>SphereHead``, a loss, a
learning-rate schedule) only if the module defining it has been imported, and ``import
tfclica`` imports nothing heavy (no Keras, no TensorFlow: ``tfclica --help`` starts in a
fraction of a second). :func:`install` reconciles the two: if Keras is already imported the
modules are imported at once; otherwise a one-shot import hook imports them right after Keras
itself has been imported, by whatever imports it. So after ``import tfclica``, a plain
``keras.saving.load_model(path)`` (safe mode on) loads every ``.keras`` file the package writes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# The modules whose Keras-serializable objects a saved model can hold (the encoders' heads, the
# losses). Each imports Keras and leaf modules only: registering runs while Keras is being
# imported by whatever imported it, so it must not import a module that may be half-imported.
MODULES = (
    "tfclica.models.encoders",
    "tfclica.losses.classes",
)


def register() -> None:
    """Import every module of :data:`MODULES` (their classes register on import)."""
    for name in MODULES:
        importlib.import_module(name)


class _RegisteringLoader(importlib.abc.Loader):
    """Keras's own loader, which registers tfclica's objects once Keras has loaded."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # everything else is the original loader's
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self._loader  # leave no trace
        _uninstall()
        register()


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: hands out Keras's spec with its loader wrapped. It stays until Keras
    is executed, since a spec can be asked for without an import (TensorFlow probes for Keras)."""

    _looking = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras" or self._looking:
            return None
        self._looking = True  # the lookup below must not find this finder again
        try:
            spec = importlib.util.find_spec("keras")
        finally:
            self._looking = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def _uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterKerasImport)]


def install() -> None:
    """Register tfclica's Keras objects now if Keras is imported, else right after it is."""
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())

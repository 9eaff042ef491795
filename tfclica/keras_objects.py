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

# The modules whose Keras-serializable objects a saved model can hold: the encoders' heads, the
# losses, the learning-rate schedule and clipped Adam, the ContrastiveModel. Each imports
# TensorFlow, Keras and small modules only: registering runs when Keras has just been imported
# by whatever imported it (often `import tensorflow`), so it must import nothing that might be
# half-imported then, and nothing slow.
MODULES = (
    "tfclica.models.encoders",
    "tfclica.losses.classes",
    "tfclica.training.optim",
    "tfclica.training.keras_model",
)


_pending: set[str] = set()  # modules that were half-imported when Keras arrived: retried later


def register() -> None:
    """Import every module of :data:`MODULES` (their classes register on import). Never raises:
    one that cannot be imported yet (a module it needs is still being imported, as when
    ``import tensorflow`` inside a tfclica module brings Keras) is retried at a later import."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            _pending.add(name)
        else:
            _pending.discard(name)


def _importing_tfclica() -> bool:
    """Whether a tfclica module is being imported right now (it is on the import stack)."""
    return any(
        getattr(getattr(module, "__spec__", None), "_initializing", False)
        for name, module in list(sys.modules.items())
        if name.startswith("tfclica")
    )


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
        register()
        if not _pending:
            _uninstall()


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself. Before Keras is imported it hands out Keras's spec with its loader
    wrapped (and stays: a spec can be asked for without an import, as TensorFlow does); after,
    while some modules are pending, it retries them at each import once no tfclica module is
    half-imported."""

    _busy = False

    def find_spec(self, fullname, path, target=None):
        if self._busy:
            return None
        self._busy = True  # the lookups below must not come back here
        try:
            if "keras" in sys.modules:
                if _pending and not _importing_tfclica():
                    register()
                    if not _pending:
                        _uninstall()
                return None
            if fullname != "keras":
                return None
            spec = importlib.util.find_spec("keras")
        finally:
            self._busy = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def _uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterKerasImport)]


def install() -> None:
    """Register tfclica's Keras objects now if Keras is imported, else right after it is."""
    if "keras" in sys.modules:
        register()
        if not _pending:
            return
    if not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())

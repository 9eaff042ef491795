"""The observation-source interface and the registry that restores a saved source by its kind."""

from __future__ import annotations

import abc
import importlib
from typing import Any, ClassVar

import numpy as np

from tfclica.errors import ConfigError

# kind -> "module:Class"; imported only when a saved source of that kind is loaded, so that
# registering a source costs nothing (and needs no TensorFlow).
_KINDS: dict[str, str] = {
    "invertible-leaky-relu-mlp": "tfclica.observations.mixing:Mixing",
    "render-3dident": "tfclica.observations.rendered:RenderedImages",
}


class ObservationSource(abc.ABC):
    """Turns latents into observations on the device: ``x = g(z)``.

    Subclasses set :attr:`kind` (the ``kind`` of their saved spec) and implement the abstract
    members. ``__call__`` must be traceable inside a ``tf.function`` (and XLA-compilable), take
    float32 ``[batch, latent_dim]`` and return float32 ``[batch, *observation_shape]``.
    """

    kind: ClassVar[str]

    @property
    @abc.abstractmethod
    def latent_dim(self) -> int:
        """Dimension n of the latents the source takes."""

    @property
    @abc.abstractmethod
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of one observation (``(n,)`` for the MLP mixing, ``(H, W, 3)`` for images)."""

    @abc.abstractmethod
    def __call__(self, z):
        """Observations of a ``[batch, latent_dim]`` tensor of latents."""

    @abc.abstractmethod
    def spec(self) -> dict[str, Any]:
        """JSON-serialisable description (without the arrays); stored as ``spec.json``."""

    @abc.abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays :meth:`from_saved` needs besides the spec (may be empty)."""

    @abc.abstractmethod
    def checksum(self) -> str:
        """A digest of everything that defines the source: identifies the exact g of a run."""

    @classmethod
    @abc.abstractmethod
    def from_saved(cls, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> ObservationSource:
        """The source that wrote ``spec`` and ``arrays``."""


def register_source(kind: str, target: str) -> None:
    """Make saved sources of ``kind`` loadable; ``target`` is ``"module:Class"``."""
    _KINDS[kind] = target


def source_class(kind: str) -> type[ObservationSource]:
    """The class registered for ``kind``; :class:`ConfigError` naming the known kinds."""
    try:
        module, name = _KINDS[kind].split(":")
    except KeyError:
        raise ConfigError(
            f"unknown observation source kind {kind!r}; known: {', '.join(sorted(_KINDS))}"
        ) from None
    return getattr(importlib.import_module(module), name)


def source_from_saved(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> ObservationSource:
    """Restore a source from its saved spec (which names its ``kind``) and arrays."""
    return source_class(spec.get("kind", "invertible-leaky-relu-mlp")).from_saved(spec, arrays)

"""The renderer as an observation source: images of both views rendered inside the train step."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfclica.errors import ConfigError
from tfclica.observations.base import ObservationSource
from tfclica.observations.renderer import (
    DEFAULT_MARCH_STEPS,
    FACTOR_NAMES,
    NUM_FACTORS,
    SCENE_VERSION,
)

EAGER_CHUNK = 256  # images per compiled call when called eagerly (one program for every batch)


@functools.cache
def _compiled_renderer(image_size: int, march_steps: int):
    """The renderer as one XLA program per image size and step count (cached per process)."""
    import tensorflow as tf

    from tfclica.observations.renderer import render

    return tf.function(
        lambda z: render(z, image_size, march_steps),
        input_signature=[tf.TensorSpec([None, NUM_FACTORS], tf.float32)],
        jit_compile=True,
    )


@dataclass(frozen=True)
class RenderedImages(ObservationSource):
    """3DIdent-like images ``x = render(z)`` of 10 factors in [-1, 1] (see :mod:`.renderer`).

    Rendering is always one XLA program: inside a compiled step it is part of the step; called
    eagerly (evaluation) it runs in chunks of :data:`EAGER_CHUNK` images.

    Attributes:
        image_size: height and width of the images.
        march_steps: sphere-tracing steps per ray.
    """

    kind = "render-3dident"

    image_size: int = 64
    march_steps: int = DEFAULT_MARCH_STEPS

    @property
    def latent_dim(self) -> int:
        return NUM_FACTORS

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (self.image_size, self.image_size, 3)

    @property
    def factor_names(self) -> tuple[str, ...]:
        """Names of the latent factors, in order."""
        return FACTOR_NAMES

    def __call__(self, z):
        """float32 ``[batch, S, S, 3]`` images in [0, 1] of float32 ``[batch, 10]`` factors."""
        import tensorflow as tf

        render = _compiled_renderer(self.image_size, self.march_steps)
        z = tf.convert_to_tensor(z, tf.float32)
        if not tf.executing_eagerly():
            return render(z)
        num = int(z.shape[0])
        parts = []
        for start in range(0, num, EAGER_CHUNK):
            part = z[start : start + EAGER_CHUNK]
            pad = EAGER_CHUNK - int(part.shape[0])
            padded = tf.pad(part, [[0, pad], [0, 0]]) if pad else part
            parts.append(render(padded)[: EAGER_CHUNK - pad])
        if not parts:
            return tf.zeros([0, *self.observation_shape], tf.float32)
        return tf.concat(parts, axis=0)

    def spec(self) -> dict[str, Any]:
        """See :meth:`ObservationSource.spec`."""
        return {
            "kind": self.kind,
            "image_size": self.image_size,
            "march_steps": self.march_steps,
            "scene_version": SCENE_VERSION,
            "factors": list(FACTOR_NAMES),
            "factor_range": [-1.0, 1.0],
            "output": "float32 [batch, image_size, image_size, 3] in [0, 1], channels last",
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """None: the spec defines the renderer."""
        return {}

    def checksum(self) -> str:
        """SHA-256 of what defines the images: the size, the steps and the scene version."""
        key = {"kind": self.kind, "image_size": self.image_size}
        key.update(march_steps=self.march_steps, scene_version=SCENE_VERSION)
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_saved(cls, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> RenderedImages:
        """See :meth:`ObservationSource.from_saved`.

        Raises:
            ConfigError: the spec was written by another version of the scene.
        """
        if spec.get("scene_version") != SCENE_VERSION:
            raise ConfigError(
                f"the saved renderer draws scene version {spec.get('scene_version')!r}; this "
                f"tfclica draws version {SCENE_VERSION}, so its images would differ"
            )
        return cls(int(spec["image_size"]), int(spec["march_steps"]))

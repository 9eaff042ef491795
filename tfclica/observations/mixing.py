"""The generator g: an invertible leaky-ReLU MLP built as the reference builds it, then frozen.

Each of ``n_layers`` square weight matrices (PyTorch ``(out, in)`` layout, no bias) is drawn
U(-1, 1) with columns L2-normalised and redrawn until its condition number is at most the
``cond_quantile`` quantile (0: the minimum) of ``pilot_draws`` pilot draws. Leaky ReLU with slope
0.2 sits between layers, none after the last.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from tfclica.observations.base import ObservationSource

_DRAW_CHUNK = 25_000  # matrices drawn per vectorised batch while screening


def _draw_normalised(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    weights = rng.uniform(-1.0, 1.0, size=(count, n, n))
    return weights / np.linalg.norm(weights, axis=1, keepdims=True)  # unit columns


@dataclass(frozen=True)
class Mixing(ObservationSource):
    """A frozen invertible MLP ``x = g(z)``: the observation source of the MLP experiments.

    Attributes:
        weights: list of ``(n, n)`` float32 arrays in ``(out, in)`` layout.
        negative_slope: leaky-ReLU slope between layers.
    """

    kind = "invertible-leaky-relu-mlp"

    weights: tuple[np.ndarray, ...]
    negative_slope: float = 0.2

    @property
    def dim(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def latent_dim(self) -> int:
        return self.dim

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def __call__(self, z):
        """Apply g to a ``[batch, n]`` TensorFlow tensor (traceable, XLA-safe)."""
        import tensorflow as tf

        h = z
        for i, w in enumerate(self.weights):
            h = tf.matmul(h, tf.constant(w, dtype=h.dtype), transpose_b=True)
            if i < len(self.weights) - 1:
                h = tf.nn.leaky_relu(h, alpha=self.negative_slope)
        return h

    def numpy_forward(self, z: np.ndarray) -> np.ndarray:
        """g in NumPy (float64), for tests and tools."""
        h = np.asarray(z, dtype=np.float64)
        for i, w in enumerate(self.weights):
            h = h @ w.astype(np.float64).T
            if i < len(self.weights) - 1:
                h = np.where(h > 0, h, self.negative_slope * h)
        return h

    def numpy_inverse(self, x: np.ndarray) -> np.ndarray:
        """g^-1 in NumPy (float64)."""
        h = np.asarray(x, dtype=np.float64)
        for i, w in reversed(list(enumerate(self.weights))):
            if i < len(self.weights) - 1:
                h = np.where(h > 0, h, h / self.negative_slope)
            h = np.linalg.solve(w.astype(np.float64), h.T).T
        return h

    def checksum(self) -> str:
        """SHA-256 of the weights and slope: identifies the exact g a model was trained on."""
        digest = hashlib.sha256()
        digest.update(np.float64(self.negative_slope).tobytes())
        for w in self.weights:
            digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
        return digest.hexdigest()

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`from_arrays` restores exactly (for ``np.savez``)."""
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        arrays["negative_slope"] = np.asarray(self.negative_slope)
        return arrays

    def spec(self) -> dict:
        """See :meth:`ObservationSource.spec`."""
        return {
            "kind": self.kind,
            "dim": self.dim,
            "n_layers": len(self.weights),
            "negative_slope": self.negative_slope,
            "layout": "(out, in); x = z @ W.T per layer",
        }

    @classmethod
    def from_saved(cls, spec: dict, arrays: dict) -> Mixing:
        """See :meth:`ObservationSource.from_saved`."""
        return cls.from_arrays(arrays)

    @classmethod
    def from_arrays(cls, arrays) -> Mixing:
        count = sum(1 for key in arrays if key.startswith("w"))
        weights = tuple(np.asarray(arrays[f"w{i}"], dtype=np.float32) for i in range(count))
        return cls(weights, float(np.asarray(arrays["negative_slope"])))


def build_mixing(
    dim: int,
    n_layers: int = 3,
    seed: int = 0,
    pilot_draws: int = 25_000,
    cond_quantile: float = 0.0,
    negative_slope: float = 0.2,
) -> Mixing:
    """Draw a condition-number-screened invertible MLP as the reference does.

    Args:
        dim: latent (and observation) dimension n.
        n_layers: number of linear layers.
        seed: NumPy seed; the same seed gives the same g.
        pilot_draws: pilot matrices that set the condition-number threshold.
        cond_quantile: threshold quantile of the pilot condition numbers (0 = minimum).
        negative_slope: leaky-ReLU slope between layers.

    Returns:
        The frozen :class:`Mixing`.
    """
    rng = np.random.default_rng(seed)
    pilot_cond = np.sort(np.linalg.cond(_draw_normalised(rng, pilot_draws, dim)))
    threshold = pilot_cond[int(pilot_draws * cond_quantile)]
    weights = []
    for _ in range(n_layers):
        while True:  # sequential redraws, vectorised in chunks: the first success is kept
            batch = _draw_normalised(rng, _DRAW_CHUNK, dim)
            good = np.flatnonzero(np.linalg.cond(batch) <= threshold)
            if good.size:
                weights.append(batch[good[0]].astype(np.float32))
                break
    return Mixing(tuple(weights), negative_slope)

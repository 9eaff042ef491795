"""The aligned outputs of an export: ``z_hat`` mapped into the true latents' coordinates.

An encoder recovers z only up to the map its metric fits: affine (orthogonal on the sphere)
for the linear R^2, permutation and sign for the MCC. The export refits both maps exactly as the
run's final evaluation fitted them (same fit set: ``Stream.FINAL_EVAL``, ``eval_samples``
samples, the fit half of the run's ``TrainingData.evaluation_sets``;
:func:`~tfclica.evaluation.scoring.fit_alignments`) and offers them as two more outputs:

    z_aligned  = z_hat @ A + b                                   (behind r2_linear[_heldout])
    z_permuted = z_hat[:, perm] * (sign * scale) + offset        (behind mcc_pearson)

Both are float32 graphs after the encoder, in the SavedModel's ``serving_default`` and in
``encoder.onnx``; the maps themselves are recorded in ``metadata.json["alignment"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfclica.export.layout import ALIGNED_NAME, PERMUTED_NAME
from tfclica.streams import Stream, seed_of


@dataclass(frozen=True)
class Alignment:
    """The two maps from ``z_hat`` to the true latents' coordinates.

    Attributes:
        a, b: ``z ~ z_hat @ a + b`` (``a`` ``[d, n]``, ``b`` ``[n]``).
        perm, slope, offset: ``z[:, i] ~ z_hat[:, perm[i]] * slope[i] + offset[i]``
            (``slope = sign * scale`` of :func:`tfclica.evaluation.metrics.permutation_alignment`).
        samples, seed: the fit set they were fitted on.
        fit_note: what the fit set is, for the metadata.
    """

    a: np.ndarray
    b: np.ndarray
    perm: np.ndarray
    slope: np.ndarray
    offset: np.ndarray
    samples: int
    seed: tuple[int, int]
    fit_note: str = "the fit set of the run's final evaluation (metrics.json)"

    def outputs(self) -> dict:
        """``{name: fn(z_hat)}`` of TF functions for the export graphs (float32 constants,
        made inside the trace so that tf2onnx embeds them)."""
        import tensorflow as tf

        a, b = self.a.astype(np.float32), self.b.astype(np.float32)
        perm = self.perm.astype(np.int64)
        slope, offset = self.slope.astype(np.float32), self.offset.astype(np.float32)
        return {
            ALIGNED_NAME: lambda z_hat: tf.matmul(z_hat, tf.constant(a)) + tf.constant(b),
            PERMUTED_NAME: lambda z_hat: (
                tf.gather(z_hat, tf.constant(perm), axis=1) * tf.constant(slope)
                + tf.constant(offset)
            ),
        }

    def apply(self, z_hat: np.ndarray) -> dict:
        """The reference: both maps in float64 NumPy, ``{name: [batch, n] float64}``."""
        z_hat = np.asarray(z_hat, np.float64)
        return {
            ALIGNED_NAME: z_hat @ self.a + self.b,
            PERMUTED_NAME: z_hat[:, self.perm] * self.slope + self.offset,
        }

    def tolerances(self, tolerance: float) -> dict:
        """Parity tolerance of each output, given ``tolerance`` on ``z_hat``.

        A change of at most ``t`` in every coordinate of ``z_hat`` moves output ``j`` by at most
        ``t * sum_i |a_ij|`` (``t * |slope_j|``): the z_hat tolerance through the map, never
        below ``tolerance`` itself.
        """
        linear = float(np.max(np.abs(self.a).sum(0)))
        permuted = float(np.max(np.abs(self.slope)))
        return {
            ALIGNED_NAME: tolerance * max(1.0, linear),
            PERMUTED_NAME: tolerance * max(1.0, permuted),
        }

    def to_metadata(self) -> dict:
        """The ``alignment`` section of metadata.json (plain lists)."""
        return {
            "fit": {
                "stream": "FINAL_EVAL",
                "seed": list(self.seed),
                "samples": self.samples,
                "note": self.fit_note,
            },
            ALIGNED_NAME: {"map": "z_hat @ A + b", "A": self.a.tolist(), "b": self.b.tolist()},
            PERMUTED_NAME: {
                "map": "z_hat[:, perm] * slope + offset",
                "perm": self.perm.tolist(),
                "slope": self.slope.tolist(),
                "offset": self.offset.tolist(),
                "method": "pearson",
            },
        }


def _from_maps(maps: dict, samples: int, seed, note: str | None = None) -> Alignment:
    """An :class:`Alignment` of :func:`tfclica.evaluation.scoring.fit_alignments`' maps."""
    a, b = maps["linear"]
    permutation = maps["permutation"]
    return Alignment(
        a=np.asarray(a, np.float64),
        b=np.asarray(b, np.float64),
        perm=np.asarray(permutation["perm"], np.int64),
        slope=np.asarray(permutation["sign"] * permutation["scale"], np.float64),
        offset=np.asarray(permutation["offset"], np.float64),
        samples=int(samples),
        seed=tuple(int(s) for s in seed),
        **({"fit_note": note} if note else {}),
    )


def fit_alignment(cfg, model, data, samples: int, note: str | None = None) -> Alignment:
    """Refit the maps of the run's final evaluation for the Keras encoder ``model``, on the fit
    set that evaluation drew.

    Args:
        cfg: the run's config (its seed names the fit set).
        model: the run's Keras encoder.
        data: the run's :class:`~tfclica.data.training_data.TrainingData`.
        samples: the run's ``eval_samples``.
        note: how the fit set was drawn, where metadata should say (``fit_note``).
    """
    from tfclica.evaluation.scoring import chunked_encoder, fit_alignments

    seed = seed_of(cfg.seed, Stream.FINAL_EVAL)
    encode = chunked_encoder(model, tuple(data.observation_shape))
    maps = fit_alignments(encode, *data.fit_set(samples, seed))
    return _from_maps(maps, samples, seed, note)

"""Scoring an encoder on fresh samples of a run's data distribution: the one home of evaluation.

Three users, one set of functions, each on the evaluation sets of a run's
:class:`~tfclica.data.training_data.TrainingData`: the evaluations during training
(:func:`training_scores`), a run's final scores (:func:`evaluate_on_data`), and ``tfclica
evaluate`` on an export (the same function with the export's loaded encoder).
:func:`evaluate_encoder` is the same scoring for a pair sampler and an observation source.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfclica.data.training_data import check_training_data
from tfclica.errors import ConfigError
from tfclica.evaluation.factor_scores import per_factor_scores
from tfclica.evaluation.metrics import (
    collapse_diagnostics,
    identifiability_scores,
    linear_alignment,
    linear_r2,
    mcc,
    min_eval_samples,
    permutation_alignment,
    ridge_r2,
)
from tfclica.latents import PairSampler, seeds
from tfclica.observations import ObservationSource

ENCODE_CHUNK = 8192  # rows per encoder call: bounds memory on large evaluations


def fit_and_heldout(sampler: PairSampler, source: ObservationSource, num: int, seed):
    """``(z_fit, x_fit, z_test, x_test)``: the fit set drawn from ``seed`` and the held-out set
    from ``fold(seed, 1)``, ``num`` samples each (every evaluation draws its sets this way)."""
    z_fit, x_fit = sample_observations(sampler, source, num, seed)
    z_test, x_test = sample_observations(sampler, source, num, seeds.fold(seed, 1))
    return z_fit, x_fit, z_test, x_test


def check_evaluable(cfg) -> None:
    """:class:`ConfigError` if ``cfg.eval_samples`` is too small to fit the scores on, or the
    run's data cannot supply them (before a run trains for minutes and then cannot be scored;
    see :func:`tfclica.data.training_data.check_training_data`)."""
    fewest = min_eval_samples(cfg.dim)
    if cfg.eval_samples < fewest:
        raise ConfigError(
            f"eval_samples={cfg.eval_samples} is too small to fit the scores for dim={cfg.dim}; "
            f"use at least {fewest}"
        )
    check_training_data(cfg)


def sample_observations(sampler: PairSampler, source: ObservationSource, num: int, seed):
    """``num`` latents from the marginal and their observations, as NumPy arrays ``(z, x)``."""
    z = sampler.sample_marginal(num, seeds.as_seed(seed))
    return z.numpy(), source(z).numpy()


def chunked_encoder(
    encoder, input_shape: tuple[int, ...], pad_to_chunk: bool = False, chunk: int = ENCODE_CHUNK
) -> Callable[[np.ndarray], np.ndarray]:
    """``encode(x)``: a Keras encoder on a NumPy batch, compiled once, in chunks.

    Args:
        encoder: a Keras model ``[batch, *input_shape] -> [batch, m]``.
        input_shape: shape of one observation.
        pad_to_chunk: pad the last chunk to ``chunk`` rows (TPUs: one static shape).
        chunk: rows per call.
    """
    import tensorflow as tf

    compiled = tf.function(
        lambda x: encoder(x, training=False),
        input_signature=[tf.TensorSpec([None, *input_shape], tf.float32)],
        jit_compile=True,
    )
    width = int(encoder.output_shape[-1])

    def encode(x: np.ndarray) -> np.ndarray:
        parts = []
        for i in range(0, len(x), chunk):
            part = x[i : i + chunk]
            if pad_to_chunk and len(part) < chunk:
                pad = np.zeros((chunk - len(part), *part.shape[1:]), part.dtype)
                parts.append(compiled(np.concatenate([part, pad])).numpy()[: len(part)])
            else:
                parts.append(compiled(part).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, width), np.float32)

    return encode


def training_scores(encode, z_fit, x_fit, z_test, x_test) -> dict:
    """The cheap scores logged during training, on fresh fit and held-out sets (a run's
    ``TrainingData.evaluation_sets``): ``r2_linear`` (fit and scored on the fit set, as the
    reference logs it), ``r2_linear_heldout`` and ``mcc_pearson`` (on the held-out set), and
    ``collapsed`` (the held-out encodings have near-zero variance; see
    ``metrics.collapse_diagnostics``)."""
    h_fit, h_test = encode(x_fit), encode(x_test)
    return {
        "r2_linear": linear_r2(z_fit, h_fit),
        "r2_linear_heldout": linear_r2(z_fit, h_fit, z_test, h_test),
        "mcc_pearson": mcc(z_test, h_test),
        "collapsed": bool(collapse_diagnostics(h_test)["collapsed"]),
    }


def evaluate_encoder(
    encode: Callable[[np.ndarray], np.ndarray],
    sampler: PairSampler,
    source: ObservationSource,
    num_samples: int = 4096,
    seed=(0, 0),
    nonlinear: bool = True,
) -> dict:
    """Scores of ``encode`` (NumPy in, NumPy out) and of g itself on fresh samples.

    Draws a fit set and a held-out set of ``num_samples`` each. Returns the metrics.json fields
    ``r2_linear``, ``r2_linear_heldout``, ``r2_nonlinear``, ``mcc_pearson``, ``mcc_spearman``,
    ``identity`` (:func:`identity_baseline`), ``eval_samples``, and ``below_identity_r2`` /
    ``below_identity_mcc`` / ``below_identity`` (:func:`baseline_flags`: like with like, by
    every measure the encoder learned less than doing nothing when both are true).
    """
    z_fit, x_fit, z_test, x_test = fit_and_heldout(sampler, source, num_samples, seed)
    scores = identifiability_scores(
        z_fit, encode(x_fit), z_test, encode(x_test), nonlinear=nonlinear
    )
    scores["identity"] = identity_baseline(z_fit, x_fit, z_test, x_test)
    scores.update(baseline_flags(scores, scores["identity"]))
    scores["eval_samples"] = int(num_samples)
    return scores


# metrics.json identity["method"]: how the baseline's R^2 was computed.
IDENTITY_OLS = (
    "affine least squares of z on g's output, fitted on the fit set; r2_linear in-sample, "
    "r2_linear_heldout on the held-out set; mcc_pearson on the fit set, as the encoder's"
)
IDENTITY_RIDGE = (
    "g's output has at least as many values as there are fit samples, so least squares would "
    "interpolate the fit set: ridge regression on the standardised values, one penalty per "
    "latent chosen by leave-one-out cross-validation on the fit set; r2_linear in-sample, "
    "r2_linear_heldout on the held-out set; mcc_pearson on the fit set, as the encoder's"
)


def identity_baseline(z_fit, x_fit, z_test, x_test) -> dict:
    """Scores of g's own output ``x`` (flattened: images score their pixels) as an encoder.

    The R^2 the encoder's held-out R^2 is compared with is the baseline's held-out R^2: an
    affine least-squares fit (the encoder's own score) while ``x`` has fewer values than there
    are fit samples, otherwise a cross-validated ridge regression
    (:func:`~tfclica.evaluation.metrics.ridge_r2`), since least squares would fit its fit set
    exactly and score the held-out set with an unpenalised interpolant. MCC (no fit of a map,
    only the matching) is computed on the fit set, as the encoder's.

    Returns:
        metrics.json's ``identity`` block: ``r2_linear`` (in-sample), ``r2_linear_heldout``,
        ``mcc_pearson`` and ``method`` (how they were computed; ``ridge_alphas`` with ridge).
    """
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    x_fit, x_test = flat(x_fit), flat(x_test)
    identity = {"mcc_pearson": mcc(z_fit, x_fit)}
    if x_fit.shape[1] >= len(x_fit):
        ridge = ridge_r2(z_fit, x_fit, z_test, x_test)
        identity.update(
            r2_linear=ridge["r2_linear"],
            r2_linear_heldout=ridge["r2_linear_heldout"],
            method=IDENTITY_RIDGE,
            ridge_alphas=ridge["alphas"],
        )
    else:
        identity.update(
            r2_linear=linear_r2(z_fit, x_fit),
            r2_linear_heldout=linear_r2(z_fit, x_fit, z_test, x_test),
            method=IDENTITY_OLS,
        )
    return identity


def baseline_flags(scores: dict, identity: dict) -> dict:
    """``below_identity_r2`` (held-out R^2 against the baseline's held-out R^2),
    ``below_identity_mcc`` (MCC against MCC on the same samples) and ``below_identity`` (both)."""
    below_r2 = scores["r2_linear_heldout"] < identity["r2_linear_heldout"]
    below_mcc = scores["mcc_pearson"] < identity["mcc_pearson"]
    return {
        "below_identity_r2": bool(below_r2),
        "below_identity_mcc": bool(below_mcc),
        "below_identity": bool(below_r2 and below_mcc),
    }


def evaluate_on_data(encode: Callable[[np.ndarray], np.ndarray], data, sets: tuple) -> dict:
    """The metrics.json score fields of ``encode`` on ``sets`` (``(z_fit, x_fit, z_test,
    x_test)`` from ``data.evaluation_sets``) of a run's
    :class:`~tfclica.data.training_data.TrainingData`: :func:`identifiability_scores`, the
    identity baseline where the data has a g (else ``identity`` null, ``identity_note`` and
    null flags), ``eval_samples``, and ``per_factor`` where the factors are named."""
    z_fit, x_fit, z_test, x_test = sets
    h_fit, h_test = encode(x_fit), encode(x_test)
    scores = identifiability_scores(z_fit, h_fit, z_test, h_test, nonlinear=True)
    if data.identity_note is None:
        scores["identity"] = identity_baseline(z_fit, x_fit, z_test, x_test)
        scores.update(baseline_flags(scores, scores["identity"]))
    else:
        scores.update(identity=None, identity_note=data.identity_note)
        scores.update(below_identity_r2=None, below_identity_mcc=None, below_identity=None)
    scores["eval_samples"] = len(z_fit)
    if data.factor_names:
        scores["per_factor"] = per_factor_scores(z_fit, h_fit, z_test, h_test, data.factor_names)
    return scores


def fit_alignments(encode: Callable[[np.ndarray], np.ndarray], z_fit, x_fit) -> dict:
    """The maps behind the scores on a fit set (``z_fit``, ``x_fit``; the evaluation's fit set
    gives the maps behind its scores): ``{"linear": (A, b)}`` (``z ~ z_hat @ A + b``, behind
    ``r2_linear`` and ``r2_linear_heldout``) and ``"permutation"`` (the matching, sign, scale
    and offset behind ``mcc_pearson``); see :func:`~tfclica.evaluation.metrics.linear_alignment`,
    ``permutation_alignment``.
    """
    h_fit = encode(x_fit)
    return {
        "linear": linear_alignment(z_fit, h_fit),
        "permutation": permutation_alignment(z_fit, h_fit, "pearson"),
    }

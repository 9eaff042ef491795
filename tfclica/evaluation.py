"""Score an encoder on fresh samples of a run's data distribution."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfclica.latents import PairSampler, seeds
from tfclica.metrics import identifiability_scores
from tfclica.mixing import Mixing


def sample_observations(sampler: PairSampler, mixing: Mixing, num: int, seed):
    """``num`` latents from the marginal and their observations, as NumPy arrays ``(z, x)``."""
    z = sampler.sample_marginal(num, seeds.as_seed(seed))
    return z.numpy(), mixing(z).numpy()


def evaluate_encoder(
    encode: Callable[[np.ndarray], np.ndarray],
    sampler: PairSampler,
    mixing: Mixing,
    num_samples: int = 4096,
    seed=(0, 0),
    nonlinear: bool = True,
) -> dict:
    """Scores of ``encode`` (NumPy in, NumPy out) and of g itself on fresh samples.

    Draws a fit set and a held-out set of ``num_samples`` each. Returns the metrics.json fields
    ``r2_linear``, ``r2_linear_heldout``, ``r2_nonlinear``, ``mcc_pearson``, ``mcc_spearman``,
    ``identity`` and ``eval_samples``.
    """
    z_fit, x_fit = sample_observations(sampler, mixing, num_samples, seed)
    z_test, x_test = sample_observations(sampler, mixing, num_samples, seeds.fold(seed, 1))
    scores = identifiability_scores(
        z_fit, encode(x_fit), z_test, encode(x_test), nonlinear=nonlinear
    )
    identity = identifiability_scores(z_fit, x_fit, z_test, x_test)
    scores["identity"] = {
        "r2_linear": identity["r2_linear"],
        "mcc_pearson": identity["mcc_pearson"],
    }
    scores["eval_samples"] = int(num_samples)
    return scores

"""Identifiability scores: linear R^2 and mean correlation coefficient (MCC).

All functions take NumPy arrays ``z`` (true latents) and ``z_hat`` (encodings), shape
``[samples, n]``, and return Python floats.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a [samples, dims] array, got shape {a.shape}")
    return a


def linear_r2(z, z_hat, z_test=None, z_hat_test=None) -> float:
    """R^2 of the best affine map ``z_hat -> z`` (sklearn ``LinearRegression`` + ``r2_score``).

    Fit on ``(z_hat, z)``; scored on the same samples (the reference's in-sample score) or, when
    given, on the held-out ``(z_hat_test, z_test)``. Averaged uniformly over latent dimensions.
    """
    z, z_hat = _as_2d(z), _as_2d(z_hat)
    model = LinearRegression().fit(z_hat, z)
    if z_test is None:
        return float(r2_score(z, model.predict(z_hat)))
    return float(r2_score(_as_2d(z_test), model.predict(_as_2d(z_hat_test))))


def kernel_r2(z, z_hat, z_test, z_hat_test, max_train: int = 2000) -> float:
    """Held-out R^2 of an RBF kernel ridge regression ``z_hat -> z`` (nonlinear identifiability).

    Inputs are standardised with the training statistics; the kernel width is the median
    heuristic. At most ``max_train`` training samples are used to bound the cost.
    """
    from sklearn.kernel_ridge import KernelRidge

    z, z_hat = _as_2d(z)[:max_train], _as_2d(z_hat)[:max_train]
    mean, std = z_hat.mean(0), z_hat.std(0) + 1e-12
    x_train, x_test = (z_hat - mean) / std, (_as_2d(z_hat_test) - mean) / std
    sq_dists = np.sum((x_train[:200, None] - x_train[None, :200]) ** 2, -1)
    gamma = 1.0 / max(np.median(sq_dists[sq_dists > 0]), 1e-12)
    model = KernelRidge(kernel="rbf", gamma=gamma, alpha=1e-3).fit(x_train, z)
    return float(r2_score(_as_2d(z_test), model.predict(x_test)))


def correlation_matrix(z, z_hat, method: str = "pearson") -> np.ndarray:
    """``[n, n]`` correlations between each true and each estimated dimension.

    Args:
        method: ``"pearson"`` or ``"spearman"`` (Pearson correlation of ranks).
    """
    z, z_hat = _as_2d(z), _as_2d(z_hat)
    if method == "spearman":
        z, z_hat = rankdata(z, axis=0), rankdata(z_hat, axis=0)
    elif method != "pearson":
        raise ValueError(f"method={method!r} is not 'pearson' or 'spearman'")
    # Per-dimension rescaling, as the reference does, before correlating.
    z = (z - z.mean(0)) / (z.std(0) + 1e-12)
    z_hat = (z_hat - z_hat.mean(0)) / (z_hat.std(0) + 1e-12)
    return z.T @ z_hat / z.shape[0]


def mcc(z, z_hat, method: str = "pearson") -> float:
    """Mean |correlation| after matching dimensions with the Hungarian algorithm.

    Invariant to permutation, sign and per-dimension scaling of ``z_hat``; 1 means each true
    dimension is recovered by exactly one estimated dimension.
    """
    corr = np.abs(correlation_matrix(z, z_hat, method))
    rows, cols = linear_sum_assignment(-corr)
    return float(corr[rows, cols].mean())


def identifiability_scores(z, z_hat, z_test, z_hat_test, nonlinear: bool = False) -> dict:
    """All scores that go into metrics.json for one encoder.

    Args:
        z, z_hat: fit samples (the reference's in-sample scores use these).
        z_test, z_hat_test: held-out samples from the same distribution.
        nonlinear: also compute the kernel R^2 (slower); otherwise ``r2_nonlinear`` is ``None``.
    """
    return {
        "r2_linear": linear_r2(z, z_hat),
        "r2_linear_heldout": linear_r2(z, z_hat, z_test, z_hat_test),
        "r2_nonlinear": kernel_r2(z, z_hat, z_test, z_hat_test) if nonlinear else None,
        "mcc_pearson": mcc(z, z_hat, "pearson"),
        "mcc_spearman": mcc(z, z_hat, "spearman"),
    }

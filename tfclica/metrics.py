"""Identifiability scores: linear R^2 and mean correlation coefficient (MCC), and their alignments.

All functions take NumPy arrays ``z`` (true latents) and ``z_hat`` (encodings), shape
``[samples, n]``, and return Python floats (or NumPy arrays for the alignments).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from tfclica.errors import ConfigError


def _as_2d(a, name: str = "array") -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ConfigError(f"{name}: expected a [samples, dims] array, got shape {a.shape}")
    return a


def _pair(z, z_hat) -> tuple[np.ndarray, np.ndarray]:
    z, z_hat = _as_2d(z, "z"), _as_2d(z_hat, "z_hat")
    if z.shape[0] != z_hat.shape[0]:
        raise ConfigError(
            f"z has {z.shape[0]} samples but z_hat has {z_hat.shape[0]}; they must pair up"
        )
    return z, z_hat


def _linear_fit(z, z_hat) -> LinearRegression:
    return LinearRegression().fit(z_hat, z)


def linear_r2(z, z_hat, z_test=None, z_hat_test=None) -> float:
    """R^2 of the best affine map ``z_hat -> z`` (sklearn ``LinearRegression`` + ``r2_score``).

    Fit on ``(z_hat, z)``; scored on the same samples (the reference's in-sample score) or, when
    given, on the held-out ``(z_hat_test, z_test)``. Averaged uniformly over latent dimensions.
    """
    z, z_hat = _pair(z, z_hat)
    model = _linear_fit(z, z_hat)
    if z_test is None:
        return float(r2_score(z, model.predict(z_hat)))
    z_test, z_hat_test = _pair(z_test, z_hat_test)
    return float(r2_score(z_test, model.predict(z_hat_test)))


def linear_alignment(z, z_hat) -> tuple[np.ndarray, np.ndarray]:
    """The affine map behind :func:`linear_r2`: ``z ~ z_hat @ A + b``, fitted as the R^2 fits it.

    Args:
        z: true latents, ``[samples, n]``.
        z_hat: encodings, ``[samples, d]``.

    Returns:
        ``(A, b)`` with ``A`` of shape ``[d, n]`` and ``b`` of shape ``[n]`` (least squares).
    """
    z, z_hat = _pair(z, z_hat)
    model = _linear_fit(z, z_hat)
    return np.asarray(model.coef_, dtype=np.float64).T.copy(), np.asarray(
        model.intercept_, dtype=np.float64
    ).reshape(z.shape[1])


def correlation_matrix(z, z_hat, method: str = "pearson") -> np.ndarray:
    """``[n, d]`` correlations between each true and each estimated dimension.

    Args:
        method: ``"pearson"`` or ``"spearman"`` (Pearson correlation of ranks).
    """
    z, z_hat = _pair(z, z_hat)
    if method == "spearman":
        z, z_hat = rankdata(z, axis=0), rankdata(z_hat, axis=0)
    elif method != "pearson":
        raise ConfigError(f"method={method!r} is not 'pearson' or 'spearman'")
    # Per-dimension rescaling, as the reference does, before correlating.
    z = (z - z.mean(0)) / (z.std(0) + 1e-12)
    z_hat = (z_hat - z_hat.mean(0)) / (z_hat.std(0) + 1e-12)
    return z.T @ z_hat / z.shape[0]


def _matching(corr: np.ndarray) -> np.ndarray:
    """For each true dimension, its matched estimated one (Hungarian on ``-|corr|``); -1 if none."""
    rows, cols = linear_sum_assignment(-np.abs(corr))
    perm = np.full(corr.shape[0], -1, dtype=np.int64)
    perm[rows] = cols
    return perm


def mcc(z, z_hat, method: str = "pearson") -> float:
    """Mean |correlation| after matching dimensions with the Hungarian algorithm.

    Invariant to permutation, sign and per-dimension scaling of ``z_hat``; 1 means each true
    dimension is recovered by exactly one estimated dimension. A true dimension left unmatched
    (``z_hat`` has fewer dimensions than ``z``) counts as 0.
    """
    corr = np.abs(correlation_matrix(z, z_hat, method))
    perm = _matching(corr)
    matched = perm >= 0
    return float(corr[np.flatnonzero(matched), perm[matched]].sum() / corr.shape[0])


def permutation_alignment(z, z_hat, method: str = "pearson") -> dict:
    """The matching behind :func:`mcc`, with a per-dimension affine fit on each matched pair.

    ``z[:, i] ~ sign[i] * scale[i] * z_hat[:, perm[i]] + offset[i]``, where ``perm`` is the
    Hungarian matching of the ``method`` correlations (as :func:`mcc` finds it) and
    ``sign * scale`` and ``offset`` are the least-squares slope and intercept of ``z[:, i]`` on
    ``z_hat[:, perm[i]]``. A matched constant encoding gets slope 0 (``sign`` +1, ``scale`` 0,
    ``offset`` the mean of ``z[:, i]``).

    Args:
        z: true latents, ``[samples, n]``.
        z_hat: encodings, ``[samples, d]`` with ``d >= n``.
        method: ``"pearson"`` or ``"spearman"``.

    Returns:
        ``{"perm": int [n], "sign": float [n] of +-1, "scale": float [n] >= 0,
        "offset": float [n]}``.

    Raises:
        ConfigError: ``z_hat`` has fewer dimensions than ``z`` (some latent has no match).
    """
    z, z_hat = _pair(z, z_hat)
    if z_hat.shape[1] < z.shape[1]:
        raise ConfigError(
            f"z_hat has {z_hat.shape[1]} dimensions, fewer than the {z.shape[1]} of z: "
            "a permutation cannot match every latent"
        )
    perm = _matching(correlation_matrix(z, z_hat, method))
    matched = z_hat[:, perm]
    zc, mc = z - z.mean(0), matched - matched.mean(0)
    var = np.sum(mc * mc, axis=0)
    slope = np.divide(np.sum(zc * mc, axis=0), var, out=np.zeros_like(var), where=var > 0)
    return {
        "perm": perm,
        "sign": np.where(slope < 0, -1.0, 1.0),
        "scale": np.abs(slope),
        "offset": z.mean(0) - slope * matched.mean(0),
    }


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

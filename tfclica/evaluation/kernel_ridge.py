"""RBF kernel ridge regression with its regularisation and width chosen by cross-validation.

The nonlinear R^2 of the follow-up identifiability literature: fit ``x -> y`` by kernel ridge
regression (RBF kernel) whose ridge ``alpha`` and width ``gamma`` are chosen by k-fold
cross-validation on the fit set (validation R^2), refit on the fit set, and score held-out.
Written on NumPy/SciPy (a Cholesky solve per candidate on one shared distance matrix) rather than
``GridSearchCV(KernelRidge)``, which recomputes the kernel for every candidate and fold; the model
is the same: ``dual = (K + alpha I)^-1 y``, ``predict(x') = K(x', x) dual``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.spatial.distance import cdist
from sklearn.metrics import r2_score

# Widths as multiples of the median heuristic 1 / median(|x - x'|^2), so one grid fits any
# dimension and scale of the (standardised) inputs.
GAMMA_FACTORS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0)
# Ridge per sample, lambda = alpha / m (KernelRidge's alpha multiplies ||f||^2 against a *sum* of
# m squared residuals): a lambda chosen on CV folds of m' samples carries over to the refit on m.
LAMBDAS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
CV_FOLDS = 3
# The search runs on the first CV_SAMPLES fit samples (126 Cholesky solves of 683 rows), the refit
# on the first FIT_SAMPLES. Measured for kernel_r2 at n = 10, 4096 fit + 4096 held-out, on this
# 2-core CPU while other jobs held the load average near 7.5: 2.5-2.8 s with one BLAS thread
# (OPENBLAS_NUM_THREADS=1), and ~50 s with OpenBLAS's default two threads, which spin against
# each other when the cores are oversubscribed. With an earlier 5 x 5 grid, refitting on 4096
# instead of 2048 rows took 3.2 s instead of 1.7 s (one thread) for +0.0009 R^2 on a tanh mixing.
CV_SAMPLES = 1024
FIT_SAMPLES = 2048


@dataclass(frozen=True)
class KernelRidgeFit:
    """A fitted RBF kernel ridge regression and the cross-validation that chose it.

    Attributes:
        x: the training inputs, ``[m, d]``.
        dual: the dual coefficients ``(K + alpha I)^-1 y``, ``[m, k]``.
        offset: the training mean of ``y`` (regressed out before the fit), ``[k]``.
        gamma: the chosen RBF width, ``K = exp(-gamma |x - x'|^2)``.
        alpha: the chosen ridge for the ``m`` training samples.
        cv_r2: the mean validation R^2 of the chosen candidate (NaN when there were fewer
            than 4 rows to cross-validate on and the grid's middle was taken).
    """

    x: np.ndarray
    dual: np.ndarray
    offset: np.ndarray
    gamma: float
    alpha: float
    cv_r2: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions ``K(x, self.x) @ dual + offset`` for inputs ``[samples, d]``."""
        return np.exp(-self.gamma * cdist(x, self.x, "sqeuclidean")) @ self.dual + self.offset


def median_heuristic(x: np.ndarray, max_points: int = 512) -> float:
    """``1 / median`` of the nonzero squared distances among the first ``max_points`` inputs.

    Returns 0 when all inputs coincide (every distance is zero): the kernel is then constant.
    """
    sq = cdist(x[:max_points], x[:max_points], "sqeuclidean")
    positive = sq[sq > 0]
    return float(1.0 / np.median(positive)) if positive.size else 0.0


def _solve(kernel: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray | None:
    """``(kernel + alpha I)^-1 y``, or ``None`` if the system is numerically singular."""
    system = kernel.copy()
    system[np.diag_indices_from(system)] += alpha
    try:
        return cho_solve(cho_factor(system, lower=True, check_finite=False), y)
    except LinAlgError:
        return None


def _cv_scores(sq_dists: np.ndarray, y: np.ndarray, gammas, lambdas, folds: int) -> np.ndarray:
    """Mean validation R^2 per ``(gamma, lambda)`` over ``folds`` contiguous folds (iid samples)."""
    m = sq_dists.shape[0]
    splits = [(np.setdiff1d(np.arange(m), val), val) for val in np.array_split(np.arange(m), folds)]
    scores = np.zeros((len(gammas), len(lambdas)))
    for g, gamma in enumerate(gammas):
        kernel = np.exp(-gamma * sq_dists)
        for train, val in splits:
            k_train, k_val = kernel[np.ix_(train, train)], kernel[np.ix_(val, train)]
            offset = y[train].mean(0)
            for j, lam in enumerate(lambdas):
                dual = _solve(k_train, y[train] - offset, lam * train.size)
                score = -np.inf if dual is None else r2_score(y[val], k_val @ dual + offset)
                scores[g, j] += score / folds
    return scores


def fit_kernel_ridge_cv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    gamma_factors=GAMMA_FACTORS,
    lambdas=LAMBDAS,
    folds: int = CV_FOLDS,
    cv_samples: int = CV_SAMPLES,
    fit_samples: int = FIT_SAMPLES,
) -> KernelRidgeFit:
    """Choose ``(gamma, alpha)`` by k-fold CV on the first ``cv_samples`` rows, refit on more.

    Args:
        x: inputs ``[m, d]``, finite, already standardised (the grid is relative to the median
            heuristic, so any scale works, but standardising weighs dimensions equally).
        y: targets ``[m, k]``, finite.
        gamma_factors: candidate widths as multiples of :func:`median_heuristic` of ``x``.
        lambdas: candidate ridges per sample (``alpha = lambda * training samples``).
        folds: number of contiguous CV folds (rows are assumed iid, so no shuffle is needed).
        cv_samples: rows used by the search (bounds its cost: one Cholesky per candidate and fold).
        fit_samples: rows used by the refit with the chosen candidate.

    Returns:
        The refitted :class:`KernelRidgeFit`.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    base = median_heuristic(x)
    gammas = [base * f for f in gamma_factors]
    x_cv, y_cv = x[:cv_samples], y[:cv_samples]
    folds = min(folds, x_cv.shape[0] // 2)  # a validation R^2 needs at least 2 rows
    if folds >= 2:
        scores = _cv_scores(cdist(x_cv, x_cv, "sqeuclidean"), y_cv, gammas, lambdas, folds)
        scores = np.nan_to_num(scores, nan=-np.inf)
        g, j = np.unravel_index(np.argmax(scores), scores.shape)
        cv_r2 = float(scores[g, j])
    else:  # too few rows to cross-validate: the middle of the grid, unvalidated
        g, j, cv_r2 = len(gammas) // 2, len(lambdas) // 2, float("nan")
    x_fit, y_fit = x[:fit_samples], y[:fit_samples]
    offset = y_fit.mean(0)
    alpha = lambdas[j] * x_fit.shape[0]
    kernel = np.exp(-gammas[g] * cdist(x_fit, x_fit, "sqeuclidean"))
    dual = _solve(kernel, y_fit - offset, alpha)
    if dual is None:  # K is PSD and alpha > 0, so only by round-off: predict the mean
        dual = np.zeros_like(y_fit)
    return KernelRidgeFit(x_fit, dual, offset, gammas[g], alpha, cv_r2)


__all__ = ["KernelRidgeFit", "fit_kernel_ridge_cv", "median_heuristic"]

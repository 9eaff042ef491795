"""Identifiability scores: linear R^2, kernel R^2 and mean correlation coefficient (MCC).

All functions take NumPy arrays ``z`` (true latents) and ``z_hat`` (encodings), shape
``[samples, n]`` and ``[samples, d]``, and return Python floats (NumPy arrays for alignments).

Every score is defined for degenerate encodings, so a failed run still gets its numbers: a
non-finite entry of ``z_hat`` carries no information (it is replaced by its column's mean over
the fit set's finite entries), and a column that is constant on the fit set is uninformative
(its correlations are 0, and regressions predict the mean from it: R^2 of a constant predictor).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.metrics import r2_score

from tfclica.errors import ConfigError

# A column whose standard deviation is at most this fraction of its |mean| is constant: float64
# rounding alone leaves about 1e-16 of it after centring, so 1e-12 is a wide safety margin that
# still keeps any real signal (scores are scale-invariant: 1e-10 * z scores like z).
CONSTANT_RTOL = 1e-12

# Encodings whose total variance (sum over dimensions) is below this have collapsed. The package's
# heads put encodings at scale ~1 (unit sphere, [0, bound] box); at a total variance of 1e-6,
# n = 10 encodings differ pairwise by |a - b|^2 ~ 2e-6 and sum |a_i - b_i| <= sqrt(2n * 1e-6)
# ~ 4.5e-3, so every InfoNCE logit at tau = 1 (cosine, L1, L2, L3) is within ~5e-3 of the others
# and the loss sits at log(batch + 1): no learning signal is left. The bound is on the absolute
# spread, not relative to the norm: these logits depend on differences a - b (or on <a, b> at a
# fixed norm), so a point cloud far from the origin with a wide spread still trains.
COLLAPSE_VARIANCE = 1e-6

# The kernel R^2's cross-validation uses 3 folds; each must hold at least 10 validation samples
# for its R^2 to average over more than a handful of points (32 // 3 = 10). See min_eval_samples.
MIN_EVAL_SAMPLES = 32


def min_eval_samples(dim: int) -> int:
    """Fewest fit (and held-out) samples all scores can be fitted on for ``dim`` latents.

    The affine fit of the linear R^2 has ``dim + 1`` parameters per latent and needs more samples
    than that; the kernel R^2's 3-fold cross-validation needs :data:`MIN_EVAL_SAMPLES`.
    """
    return max(MIN_EVAL_SAMPLES, int(dim) + 2)


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ConfigError(f"{name}: expected a [samples, dims] array, got shape {a.shape}")
    return a


def _pair(z, z_hat, suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    z, z_hat = _as_2d(z, "z" + suffix), _as_2d(z_hat, "z_hat" + suffix)
    if z.shape[0] != z_hat.shape[0]:
        raise ConfigError(
            f"z{suffix} has {z.shape[0]} samples but z_hat{suffix} has {z_hat.shape[0]}; "
            "they must pair up"
        )
    if z.shape[0] < 2:
        raise ConfigError(f"z{suffix} has {z.shape[0]} samples; scores need at least 2")
    if not np.all(np.isfinite(z)):
        raise ConfigError(f"z{suffix} (the true latents) has non-finite values")
    return z, z_hat


def _clean(z_hat: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """``z_hat`` and ``others`` (same columns) with non-finite and constant columns made inert.

    Non-finite entries become their column's mean over ``z_hat``'s finite entries; a column that
    is then constant on ``z_hat`` (or whose sum of squares overflows float64) becomes 0 in every
    array, so no rounding noise in it can be fitted.
    """
    finite = np.isfinite(z_hat)
    counts = finite.sum(0)
    sums = np.where(finite, z_hat, 0.0).sum(0)
    with np.errstate(over="ignore", invalid="ignore"):
        fill = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        fill = np.where(np.isfinite(fill), fill, 0.0)
        out = [np.where(np.isfinite(a), a, fill) for a in (z_hat, *others)]
        mean = out[0].mean(0)
        std = out[0].std(0)
    inert = ~np.isfinite(std) | ~np.isfinite(mean) | (std <= CONSTANT_RTOL * np.abs(mean))
    for a in out:
        a[:, inert] = 0.0
    return out


def collapse_diagnostics(z_hat) -> dict:
    """Whether encodings have collapsed (near-zero spread), and the numbers that say so.

    Returns:
        ``{"total_variance": float, "relative_variance": float, "constant_dims": int,
        "nonfinite_fraction": float, "collapsed": bool}``: the sum of per-dimension variances of
        the finite encodings (non-finite entries replaced as the scores do), that sum divided by
        the mean squared norm (0 when every encoding is 0), the number of constant dimensions,
        the fraction of non-finite entries, and ``collapsed``, true when the total variance is
        below :data:`COLLAPSE_VARIANCE`.
    """
    raw = _as_2d(z_hat, "z_hat")
    (clean,) = _clean(raw)
    variance = clean.var(0)
    total = float(variance.sum())
    power = float(np.mean(np.sum(clean * clean, axis=1)))
    relative = total / power if power > 0 else 0.0
    return {
        "total_variance": total,
        "relative_variance": relative,
        "constant_dims": int(np.sum(variance == 0)),
        "nonfinite_fraction": float(np.mean(~np.isfinite(raw))) if raw.size else 0.0,
        "collapsed": bool(total < COLLAPSE_VARIANCE),
    }


def _linear_fit(z, z_hat) -> LinearRegression:
    return LinearRegression().fit(z_hat, z)


def linear_r2(z, z_hat, z_test=None, z_hat_test=None) -> float:
    """R^2 of the best affine map ``z_hat -> z`` (sklearn ``LinearRegression`` + ``r2_score``).

    Fit on ``(z_hat, z)``; scored on the same samples (the reference's in-sample score) or, when
    given, on the held-out ``(z_hat_test, z_test)``. Averaged uniformly over latent dimensions.
    """
    z, z_hat = _pair(z, z_hat)
    if z_test is None:
        (z_hat,) = _clean(z_hat)
        return float(r2_score(z, _linear_fit(z, z_hat).predict(z_hat)))
    z_test, z_hat_test = _pair(z_test, z_hat_test, "_test")
    z_hat, z_hat_test = _clean(z_hat, z_hat_test)
    return float(r2_score(z_test, _linear_fit(z, z_hat).predict(z_hat_test)))


# Penalties the ridge baseline chooses among, in units of the number of (standardised) input
# columns: the mean eigenvalue of their samples x samples Gram matrix, so 1.0 weighs the penalty
# like an average direction of the data; ten decades leave the choice to the cross-validation.
RIDGE_ALPHAS = tuple(10.0**k for k in range(-3, 7))


def ridge_r2(z, x, z_test, x_test) -> dict:
    """R^2 of a ridge regression ``x -> z`` whose penalty is chosen on the fit set alone.

    For inputs with at least as many columns as fit samples (pixels), where an unpenalised
    affine fit interpolates its fit set (in-sample R^2 1 whatever the inputs mean). The columns
    are standardised with the fit set's statistics (inert ones dropped); one penalty per latent
    is chosen from :data:`RIDGE_ALPHAS` (times the number of columns) by efficient
    leave-one-out cross-validation on the fit set (sklearn ``RidgeCV``), then the model is
    scored on the fit set and on the held-out set.

    Returns:
        ``{"r2_linear": float, "r2_linear_heldout": float, "alphas": [float, ...]}``: in-sample
        and held-out R^2 (averaged over latents) and the chosen penalty of each latent.
    """
    z, x = _pair(z, x)
    z_test, x_test = _pair(z_test, x_test, "_test")
    x, x_test = _clean(x, x_test)
    keep = np.any(x != 0.0, axis=0)
    if not keep.any():
        mean = np.broadcast_to(z.mean(0), z_test.shape)
        return {"r2_linear": 0.0, "r2_linear_heldout": float(r2_score(z_test, mean)), "alphas": []}
    x, x_test = x[:, keep], x_test[:, keep]
    centre, spread = x.mean(0), x.std(0)
    x, x_test = (x - centre) / spread, (x_test - centre) / spread
    alphas = np.asarray(RIDGE_ALPHAS) * x.shape[1]
    model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(x, z)
    return {
        "r2_linear": float(r2_score(z, model.predict(x))),
        "r2_linear_heldout": float(r2_score(z_test, model.predict(x_test))),
        "alphas": [float(a) for a in np.atleast_1d(model.alpha_)],
    }


def linear_alignment(z, z_hat) -> tuple[np.ndarray, np.ndarray]:
    """The affine map behind :func:`linear_r2`: ``z ~ z_hat @ A + b``, fitted as the R^2 fits it.

    Args:
        z: true latents, ``[samples, n]``.
        z_hat: encodings, ``[samples, d]``; inert columns (non-finite, constant) get zero rows.

    Returns:
        ``(A, b)`` with ``A`` of shape ``[d, n]`` and ``b`` of shape ``[n]`` (least squares).
    """
    z, z_hat = _pair(z, z_hat)
    (z_hat,) = _clean(z_hat)
    model = _linear_fit(z, z_hat)
    a = np.asarray(model.coef_, dtype=np.float64).T.copy()
    return a, np.asarray(model.intercept_, dtype=np.float64).reshape(z.shape[1])


def correlation_matrix(z, z_hat, method: str = "pearson") -> np.ndarray:
    """``[n, d]`` correlations between each true and each estimated dimension.

    A constant (or non-finite) column of ``z_hat`` correlates 0 with everything.

    Args:
        method: ``"pearson"`` or ``"spearman"`` (Pearson correlation of ranks).
    """
    z, z_hat = _pair(z, z_hat)
    (z_hat,) = _clean(z_hat)
    if method == "spearman":
        z, z_hat = rankdata(z, axis=0), rankdata(z_hat, axis=0)
    elif method != "pearson":
        raise ConfigError(f"method={method!r} is not 'pearson' or 'spearman'")
    z, z_hat = z - z.mean(0), z_hat - z_hat.mean(0)
    norms = np.outer(np.linalg.norm(z, axis=0), np.linalg.norm(z_hat, axis=0))
    return np.divide(z.T @ z_hat, norms, out=np.zeros(norms.shape), where=norms > 0)


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
    ``z_hat[:, perm[i]]``. A matched inert encoding (constant, non-finite) gets slope 0
    (``sign`` +1, ``scale`` 0, ``offset`` the mean of ``z[:, i]``).

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
    (matched,) = _clean(z_hat)
    matched = matched[:, perm]
    zc, mc = z - z.mean(0), matched - matched.mean(0)
    var = np.sum(mc * mc, axis=0)
    slope = np.divide(np.sum(zc * mc, axis=0), var, out=np.zeros_like(var), where=var > 0)
    return {
        "perm": perm,
        "sign": np.where(slope < 0, -1.0, 1.0),
        "scale": np.abs(slope),
        "offset": z.mean(0) - slope * matched.mean(0),
    }


def kernel_r2(z, z_hat, z_test, z_hat_test) -> float:
    """Held-out R^2 of an RBF kernel ridge regression ``z_hat -> z`` (nonlinear identifiability).

    Inputs are standardised with the fit set's statistics (inert columns dropped); the ridge and
    the kernel width are chosen by 3-fold cross-validation on the fit set and the chosen model is
    refitted on it (:func:`tfclica.evaluation.kernel_ridge.fit_kernel_ridge_cv`), then scored on the
    held-out set. With no informative column the prediction is the fit set's mean.

    The search uses the first 1024 fit samples and the refit the first 2048, which bounds the
    cost at 4096 + 4096 samples (measured in ``tfclica/evaluation/kernel_ridge.py``).
    """
    from tfclica.evaluation.kernel_ridge import fit_kernel_ridge_cv

    z, z_hat = _pair(z, z_hat)
    z_test, z_hat_test = _pair(z_test, z_hat_test, "_test")
    z_hat, z_hat_test = _clean(z_hat, z_hat_test)
    keep = np.any(z_hat != 0.0, axis=0)
    if not keep.any():
        return float(r2_score(z_test, np.broadcast_to(z.mean(0), z_test.shape)))
    x, x_test = z_hat[:, keep], z_hat_test[:, keep]
    mean, std = x.mean(0), x.std(0)
    model = fit_kernel_ridge_cv((x - mean) / std, z)
    return float(r2_score(z_test, model.predict((x_test - mean) / std)))


def identifiability_scores(z, z_hat, z_test, z_hat_test, nonlinear: bool = False) -> dict:
    """All scores that go into metrics.json for one encoder.

    Args:
        z, z_hat: fit samples (the reference's in-sample scores use these).
        z_test, z_hat_test: held-out samples from the same distribution.
        nonlinear: also compute the kernel R^2 (slower); otherwise ``r2_nonlinear`` is ``None``.

    Returns:
        ``r2_linear``, ``r2_linear_heldout``, ``r2_nonlinear``, ``mcc_pearson``, ``mcc_spearman``
        (floats, defined for any encodings) and ``collapsed`` (bool, from
        :func:`collapse_diagnostics` of the fit encodings).
    """
    return {
        "r2_linear": linear_r2(z, z_hat),
        "r2_linear_heldout": linear_r2(z, z_hat, z_test, z_hat_test),
        "r2_nonlinear": kernel_r2(z, z_hat, z_test, z_hat_test) if nonlinear else None,
        "mcc_pearson": mcc(z, z_hat, "pearson"),
        "mcc_spearman": mcc(z, z_hat, "spearman"),
        "collapsed": collapse_diagnostics(z_hat)["collapsed"],
    }

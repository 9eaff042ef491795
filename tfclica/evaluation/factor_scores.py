"""Per-factor identifiability: how well each named latent factor is recovered.

For image experiments the mean scores hide which factors are learned (positions early, hues
late, ...). :func:`per_factor_scores` splits them: each factor's held-out R^2 under the affine
map fitted to all encodings (the per-output terms of ``linear_r2``'s mean), and its |Pearson
correlation| with the encoding dimension the Hungarian matching of MCC assigns to it (the terms
of ``mcc``'s mean, on the held-out set).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from tfclica.errors import ConfigError
from tfclica.evaluation.metrics import correlation_matrix


def per_factor_scores(z_fit, h_fit, z_test, h_test, names: Sequence[str] | None = None) -> dict:
    """Held-out R^2 and matched |correlation| of each factor.

    Args:
        z_fit, h_fit: true latents ``[samples, n]`` and encodings ``[samples, m]`` the affine map
            ``h -> z`` is fitted on.
        z_test, h_test: held-out latents and encodings the scores are computed on.
        names: one name per factor (default ``z0``, ``z1``, ...).

    Returns:
        ``{name: {"r2_linear_heldout": float, "mcc_pearson": float, "matched_dim": int}}`` in
        factor order; the means over factors equal ``linear_r2(z_fit, h_fit, z_test, h_test)``
        and ``mcc(z_test, h_test)``.

    Raises:
        ConfigError: shapes that do not match, or a wrong number of names.
    """
    z_fit, h_fit, z_test, h_test = (
        np.asarray(a, np.float64) for a in (z_fit, h_fit, z_test, h_test)
    )
    if z_fit.ndim != 2 or h_fit.ndim != 2 or len(z_fit) != len(h_fit):
        raise ConfigError(
            f"fit arrays must be [samples, dims] of equal length, got "
            f"{z_fit.shape} and {h_fit.shape}"
        )
    if (
        z_test.shape[1:] != z_fit.shape[1:]
        or h_test.shape[1:] != h_fit.shape[1:]
        or len(z_test) != len(h_test)
    ):
        raise ConfigError(
            f"held-out arrays {z_test.shape}, {h_test.shape} do not match the fit "
            f"arrays {z_fit.shape}, {h_fit.shape}"
        )
    n = z_fit.shape[1]
    names = [f"z{i}" for i in range(n)] if names is None else list(names)
    if len(names) != n:
        raise ConfigError(f"{len(names)} factor names for {n} factors: {names}")
    model = LinearRegression().fit(h_fit, z_fit)
    r2 = np.atleast_1d(r2_score(z_test, model.predict(h_test), multioutput="raw_values"))
    corr = np.abs(correlation_matrix(z_test, h_test))
    rows, cols = linear_sum_assignment(-corr)
    matched = dict(zip(rows.tolist(), cols.tolist()))
    return {
        name: {
            "r2_linear_heldout": float(r2[i]),
            "mcc_pearson": float(corr[i, matched[i]]) if i in matched else 0.0,
            "matched_dim": int(matched.get(i, -1)),
        }
        for i, name in enumerate(names)
    }

"""The cross-validated RBF kernel ridge regression behind the kernel R^2, against scikit-learn."""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import r2_score

from tfclica.evaluation.kernel_ridge import _cv_scores, fit_kernel_ridge_cv, median_heuristic


def _data(num=600, n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num, n))
    y = np.stack([np.sin(2 * x[:, 0]), x[:, 1] * x[:, 2]], axis=1) + 0.1 * rng.normal(size=(num, 2))
    return x, y


def test_refit_is_scikit_learns_kernel_ridge():
    x, y = _data()
    fit = fit_kernel_ridge_cv(x, y, cv_samples=300, fit_samples=400)
    assert fit.x.shape == (400, 3)
    # KernelRidge has no intercept: the same model on the centred targets (the refit centres).
    offset = y[:400].mean(0)
    ref = KernelRidge(kernel="rbf", gamma=fit.gamma, alpha=fit.alpha).fit(x[:400], y[:400] - offset)
    np.testing.assert_allclose(fit.predict(x[400:]), ref.predict(x[400:]) + offset, atol=1e-8)


def test_cv_scores_are_mean_validation_r2_of_scikit_learns_fits():
    x, y = _data(num=90)
    gammas, lambdas = [0.1, 1.0], [1e-1, 1e-3]
    sq = ((x[:, None] - x[None]) ** 2).sum(-1)
    scores = _cv_scores(sq, y, gammas, lambdas, folds=3)
    for g, gamma in enumerate(gammas):
        for j, lam in enumerate(lambdas):
            expected = 0.0
            for val in np.array_split(np.arange(90), 3):
                train = np.setdiff1d(np.arange(90), val)
                off = y[train].mean(0)
                model = KernelRidge(kernel="rbf", gamma=gamma, alpha=lam * train.size)
                model.fit(x[train], y[train] - off)
                expected += r2_score(y[val], model.predict(x[val]) + off) / 3
            assert scores[g, j] == pytest.approx(expected, abs=1e-10)


def test_search_prefers_the_candidate_that_generalises():
    x, y = _data(num=900)
    fit = fit_kernel_ridge_cv(x, y, cv_samples=600, fit_samples=600)
    # Noise of variance 0.01 on signals of variance ~0.5 (sin 2x) and 1 (x1 x2): the best
    # achievable R^2 is about (0.98 + 0.99) / 2; a poorly chosen width or ridge falls well short.
    assert fit.cv_r2 > 0.9
    assert r2_score(y[600:], fit.predict(x[600:])) > 0.9


def test_median_heuristic():
    x = np.array([[0.0], [1.0], [3.0]])  # squared distances 1, 9, 4 (each twice): median 4
    assert median_heuristic(x) == pytest.approx(0.25)
    assert median_heuristic(np.zeros((5, 2))) == 0.0


@pytest.mark.parametrize("num", [2, 3, 5, 7])
def test_tiny_fit_sets_still_give_a_model(num):
    x, y = _data(num=num + 20)
    fit = fit_kernel_ridge_cv(x[:num], y[:num])
    assert np.isnan(fit.cv_r2) == (num < 4)  # 2 folds of 2 validation rows need 4 rows
    assert np.all(np.isfinite(fit.predict(x[num:])))

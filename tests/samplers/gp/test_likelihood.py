"""The marginal likelihood, its analytic gradient, and the hyperparameter fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

from hyperscout.samplers.gp._likelihood import MarginalLikelihood, fit_hyper, neg_log_posterior
from hyperscout.samplers.gp._model import FeatureMap

FMAP = FeatureMap((0, 3, 0))  # float, categorical with 3 choices, float


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    x[:, 1] = rng.integers(3, size=n)
    y = np.sin(6 * x[:, 0]) + 0.5 * x[:, 1] + 0.01 * rng.standard_normal(n)
    return x, (y - y.mean()) / y.std()


@pytest.mark.parametrize("log_noise", [-2.0, -12.0])
@pytest.mark.parametrize("pair_limit", [10**9, 0], ids=["pairs", "dense"])
def test_gradient_matches_finite_differences(log_noise: float, pair_limit: int) -> None:
    x, y = data(30)
    objective = MarginalLikelihood(x, y, FMAP, pair_limit=pair_limit)
    for theta in (np.r_[-1.0, 0.0, 0.5, log_noise], np.r_[0.3, -0.7, 1.5, log_noise]):
        value, grad = objective(theta)
        err = check_grad(lambda t: objective(t)[0], lambda t: objective(t)[1], theta)
        assert np.isfinite(value)
        assert err < 1e-4 * max(1.0, float(np.linalg.norm(grad)))


def test_pair_and_dense_paths_agree() -> None:
    x, y = data(25, seed=3)
    theta = np.r_[-0.5, 0.2, 0.8, -5.0]
    v1, g1 = MarginalLikelihood(x, y, FMAP)(theta)
    v2, g2 = MarginalLikelihood(x, y, FMAP, pair_limit=0)(theta)
    assert v1 == pytest.approx(v2, rel=1e-10)
    np.testing.assert_allclose(g1, g2, rtol=1e-7, atol=1e-8)
    assert neg_log_posterior(theta, x, y, FMAP)[0] == pytest.approx(v1)


def test_fit_is_deterministic_and_finds_the_irrelevant_parameter() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((40, 2))
    y = np.sin(6 * x[:, 0])  # the second column does not matter
    y = (y - y.mean()) / y.std()
    fmap = FeatureMap((0, 0))
    h1, h2 = fit_hyper(x, y, fmap), fit_hyper(x, y, fmap)
    np.testing.assert_array_equal(h1.log_ls, h2.log_ls)
    assert h1.log_ls[1] > h1.log_ls[0] + 1.0
    assert h1.log_noise < -6.0  # noiseless data: a small nugget


def test_fit_on_many_points_uses_the_subset_then_refines() -> None:
    rng = np.random.default_rng(5)
    x = rng.random((160, 2))
    y = np.cos(5 * x[:, 0]) + x[:, 1]
    y = (y - y.mean()) / y.std()
    fmap = FeatureMap((0, 0))
    hyper = fit_hyper(x, y, fmap)
    full = MarginalLikelihood(x, y, fmap)
    fitted = full(np.r_[hyper.log_ls, hyper.log_noise])[0]
    prior_median = full(np.r_[np.full(2, 0.35), -12.0])[0]
    assert np.all(np.isfinite(hyper.log_ls))
    assert fitted < prior_median - 100.0


def test_fixed_noise_pins_the_nugget_at_its_floor() -> None:
    x, y = data(20, seed=6)
    hyper = fit_hyper(x, y, FMAP, fixed_noise=True)
    assert hyper.log_noise == pytest.approx(np.log(1e-6))


def test_duplicated_points_do_not_break_the_fit() -> None:
    x, y = data(10, seed=7)
    x = np.concatenate([x, x, x])
    y = np.concatenate([y, y, y])
    hyper = fit_hyper(x, y, FMAP, fixed_noise=True)
    assert np.all(np.isfinite(hyper.log_ls))

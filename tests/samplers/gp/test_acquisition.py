"""Log expected improvement: agrees with the naive formula where that is accurate, stays finite."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hyperscout.samplers.gp._acquisition import log_ei, log_ei_with_grad, log_h, log_h_grad


def naive_log_h(z: np.ndarray) -> np.ndarray:
    return np.log(norm.pdf(z) + z * norm.cdf(z))


def test_log_h_matches_the_naive_formula_where_it_is_accurate() -> None:
    z = np.linspace(-5.0, 5.0, 201)
    np.testing.assert_allclose(log_h(z), naive_log_h(z), rtol=1e-9, atol=1e-12)


def test_log_h_is_finite_increasing_and_asymptotic_far_in_the_tail() -> None:
    z = -np.logspace(-3, 9, 600)[::-1]  # -1e9 ... -1e-3
    z = np.concatenate([z, [0.0, 1.0, 10.0, 1e3]])
    out = log_h(z)
    assert np.all(np.isfinite(out))
    assert np.all(np.diff(out) > 0)
    big = np.array([-1e3, -1e5, -1e10])
    asymptote = -0.5 * big**2 - 0.5 * math.log(2 * math.pi) - 2 * np.log(-big)
    np.testing.assert_allclose(log_h(big), asymptote, rtol=1e-6)
    # where the naive formula underflows to -inf, log_h does not
    with np.errstate(divide="ignore"):
        assert np.isneginf(naive_log_h(np.array([-40.0])))[0]
    assert np.isfinite(log_h(np.array([-40.0])))[0]


@pytest.mark.parametrize("edge", [-1.0, -1e4, -1.0 / math.sqrt(np.finfo(float).eps)])
def test_log_h_is_continuous_across_its_branches(edge: float) -> None:
    below, above = log_h(np.array([np.nextafter(edge, -np.inf), np.nextafter(edge, np.inf)]))
    assert np.isfinite(below) and np.isfinite(above)
    assert below == pytest.approx(above, rel=1e-9)
    assert below < above


def test_log_h_gradient_matches_finite_differences() -> None:
    z = np.array([-200.0, -30.0, -5.0, -1.5, -0.999, -0.3, 0.0, 0.7, 3.0])
    h = 1e-6 * np.maximum(1.0, np.abs(z))
    numeric = (log_h(z + h) - log_h(z - h)) / (2 * h)
    np.testing.assert_allclose(log_h_grad(z, log_h(z)), numeric, rtol=1e-5)


def test_log_ei_matches_naive_expected_improvement() -> None:
    rng = np.random.default_rng(0)
    mean, var, best = rng.normal(size=50), rng.uniform(0.01, 2.0, 50), 0.3
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    naive = sigma * (norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(np.exp(log_ei(mean, var, best)), naive, rtol=1e-9)


def test_log_ei_is_finite_for_hopeless_points() -> None:
    mean = np.array([1e3, 1e6, 5.0])
    var = np.array([1.0, 1e-6, 1e-12])
    out = log_ei(mean, var, 0.0)  # z down to -1e9
    assert np.all(np.isfinite(out))
    assert out[0] > out[1]


def test_log_ei_gradient_follows_the_chain_rule() -> None:
    # mean(x) and var(x) of two inputs, with their gradients
    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mean = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
        var = 0.05 + x[:, 0] ** 2 * np.exp(-x[:, 1])
        dmean = np.stack([3 * np.cos(3 * x[:, 0]), 2 * x[:, 1]], axis=1)
        dvar = np.stack([2 * x[:, 0] * np.exp(-x[:, 1]), -(x[:, 0] ** 2) * np.exp(-x[:, 1])], 1)
        return mean, var, dmean, dvar

    x = np.random.default_rng(1).uniform(-1, 1, (20, 2))
    value, grad = log_ei_with_grad(*model(x), -0.5)
    np.testing.assert_allclose(value, log_ei(*model(x)[:2], -0.5))
    for c in range(2):
        step = np.zeros(2)
        step[c] = 1e-6
        plus, minus = log_ei(*model(x + step)[:2], -0.5), log_ei(*model(x - step)[:2], -0.5)
        np.testing.assert_allclose(grad[:, c], (plus - minus) / 2e-6, rtol=1e-4, atol=1e-6)

"""The Matern-5/2 kernel, squared distances and the jittered Cholesky."""

from __future__ import annotations

import numpy as np
import pytest

from hyperscout.samplers.gp._kernel import matern52, robust_cholesky, scaled_sq_dists


def test_scaled_sq_dists_match_the_definition() -> None:
    rng = np.random.default_rng(0)
    a, b, w = rng.random((7, 3)), rng.random((5, 3)), rng.random(3) * 10
    expected = np.array([[np.sum(w * (p - q) ** 2) for q in b] for p in a])
    np.testing.assert_allclose(scaled_sq_dists(a, b, w), expected, rtol=1e-10, atol=1e-12)
    assert np.all(scaled_sq_dists(a, a, w) >= 0.0)


def test_matern52_values_and_derivative_factor() -> None:
    r = np.linspace(0.0, 4.0, 41)
    m, q = matern52(r**2)
    s5 = np.sqrt(5.0)
    np.testing.assert_allclose(m, (1 + s5 * r + 5 * r**2 / 3) * np.exp(-s5 * r), rtol=1e-12)
    # q = -dm/d(r^2): compare with a central difference in r^2
    h = 1e-6
    numeric = -(matern52(r**2 + h)[0] - matern52(np.maximum(r**2 - h, 0.0))[0]) / (2 * h)
    np.testing.assert_allclose(q[1:], numeric[1:], rtol=1e-5)
    assert m[0] == 1.0 and q[0] == pytest.approx(5.0 / 6.0)


def test_cholesky_of_a_positive_definite_matrix_needs_no_jitter() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    k = a @ a.T + 6 * np.eye(6)
    chol, jitter = robust_cholesky(k)
    assert jitter == 0.0
    np.testing.assert_allclose(chol @ chol.T, k, rtol=1e-12, atol=1e-12)


def test_cholesky_escalates_jitter_on_duplicated_points() -> None:
    x = np.array([[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.7, 0.3]])  # three copies of one point
    k = matern52(scaled_sq_dists(x, x, np.ones(2)))[0]
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(k)
    chol, jitter = robust_cholesky(k)
    assert jitter > 0.0
    assert np.all(np.isfinite(chol))
    np.testing.assert_allclose(chol @ chol.T, k + jitter * np.eye(4), atol=1e-12)


@pytest.mark.parametrize(
    "k",
    [
        np.array([[1.0, 2.0], [2.0, 1.0]]),  # indefinite
        np.zeros((3, 3)),
        np.array([[1.0, np.nan], [np.nan, 1.0]]),
        -np.eye(2),
    ],
)
def test_cholesky_never_raises(k: np.ndarray) -> None:
    chol, jitter = robust_cholesky(k)
    assert np.all(np.isfinite(chol))
    assert np.all(np.diag(chol) > 0.0)
    assert jitter > 0.0

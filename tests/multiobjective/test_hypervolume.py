"""Hypervolume: exact values against unit-cell counting, Monte-Carlo error, contributions.

With integer coordinates and an integer reference the dominated region is a union of unit cells,
so the exact hypervolume is the number of cells ``[c, c + 1)`` with some point ``p <= c``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.multiobjective import (
    hypervolume,
    hypervolume_contributions,
    hypervolume_mc,
    reference_point,
)

FAST = settings(max_examples=80, deadline=None)


@st.composite
def fronts(draw: st.DrawFn, min_m: int = 1, max_m: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Small integer point sets and an integer reference (some points outside it)."""
    m = draw(st.integers(min_m, max_m))
    n = draw(st.integers(0, 8 if m == 5 else 12))
    values = draw(arrays(np.float64, (n, m), elements=st.integers(0, 4).map(float)))
    reference = draw(arrays(np.float64, (m,), elements=st.integers(1, 5).map(float)))
    return values, reference


def count_cells(values: np.ndarray, reference: np.ndarray) -> int:
    """Unit cells of [0, reference) dominated by some point."""
    axes = [np.arange(int(r)) for r in reference]
    cells = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, reference.size)
    if values.shape[0] == 0 or cells.shape[0] == 0:
        return 0
    covered = np.all(values[None, :, :] <= cells[:, None, :], axis=2).any(axis=1)
    return int(covered.sum())


def sphere_front(n: int, m: int, seed: int) -> np.ndarray:
    """``n`` mutually non-dominated points on the positive unit sphere."""
    x = np.abs(np.random.default_rng(seed).normal(size=(n, m)))
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


# --- exact hypervolume ------------------------------------------------------------------------


@FAST
@given(fronts())
def test_hypervolume_equals_the_count_of_dominated_unit_cells(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    values, reference = case
    assert hypervolume(values, reference) == count_cells(values, reference)


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 4), st.integers(0, 2**32 - 1))
def test_hypervolume_on_larger_integer_sets(m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, size=(40, m)).astype(float)
    values[:, 0] = 8 - values[:, 1:].sum(axis=1) // (m - 1)  # trade-offs: a larger front
    values = np.clip(values, 0, 7)
    reference = np.full(m, 8.0)
    assert hypervolume(values, reference) == count_cells(values, reference)


def test_known_hypervolumes() -> None:
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == 6.0
    # three unit-offset boxes in [0, 2]^3: everything except the cube [0, 1)^3
    assert hypervolume([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2]) == 7.0
    assert hypervolume([[0.5], [2.0]], [3.0]) == 2.5
    assert hypervolume([[0, 0, 0, 0]], [1, 2, 3, 4]) == 24.0
    assert hypervolume(np.zeros((0, 3)), [1, 1, 1]) == 0.0
    assert hypervolume([[5, 5]], [4, 4]) == 0.0
    assert hypervolume([[4, 0]], [4, 4]) == 0.0  # on the reference's boundary: no volume


@FAST
@given(fronts(min_m=2), st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_hypervolume_scales_with_the_objectives(
    case: tuple[np.ndarray, np.ndarray], scale: float, shift: float
) -> None:
    values, reference = case
    expected = hypervolume(values, reference) * scale ** values.shape[1]
    got = hypervolume(values * scale + shift, reference * scale + shift)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@FAST
@given(fronts(min_m=2), st.data())
def test_hypervolume_ignores_order_dominated_and_outside_points(
    case: tuple[np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    values, reference = case
    base = hypervolume(values, reference)
    perm = np.array(data.draw(st.permutations(range(values.shape[0]))), dtype=int)
    assert hypervolume(values[perm], reference) == base
    if values.shape[0]:
        worse = values + data.draw(st.integers(0, 3))  # each dominated by (or equal to) its source
        outside = np.vstack([reference + 1.0, np.where(np.arange(values.shape[1]) == 0, -9, 9)])
        padded = np.vstack([values, worse, outside, values[:1]])
        assert hypervolume(padded, reference) == base


def test_hypervolume_handles_a_hundred_five_objective_points() -> None:
    values = sphere_front(100, 5, seed=1)
    reference = np.full(5, 1.1)
    exact = hypervolume(values, reference)
    estimate = hypervolume_mc(values, reference, n_samples=50_000, rng=np.random.default_rng(2))
    assert exact == pytest.approx(estimate, rel=0.02)


def test_plus_infinity_points_add_nothing() -> None:
    assert hypervolume([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [np.inf, 0.0]], [4, 4]) == 6.0


# --- Monte Carlo ------------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "seed"), [(2, 0), (3, 1), (4, 2), (5, 3)])
def test_monte_carlo_estimate_is_within_three_standard_errors(m: int, seed: int) -> None:
    values = sphere_front(20, m, seed) + np.random.default_rng(seed).random((20, m))
    reference = values.max(axis=0) + 0.5
    n_samples = 20_000
    exact = hypervolume(values, reference)
    estimate = hypervolume_mc(values, reference, n_samples=n_samples, rng=np.random.default_rng(7))
    box = math.prod(reference - values.min(axis=0))
    q = exact / box
    standard_error = box * math.sqrt(q * (1 - q) / n_samples)
    assert abs(estimate - exact) <= 3 * standard_error


def test_monte_carlo_is_reproducible_and_exact_for_one_box() -> None:
    values = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
    first = hypervolume_mc(values, [2, 2], n_samples=1000, rng=np.random.default_rng(3))
    second = hypervolume_mc(values, [2, 2], n_samples=1000, rng=np.random.default_rng(3))
    assert first == second
    box = hypervolume_mc([[1.0, 1.0, 1.0]], [2, 3, 4], n_samples=10, rng=np.random.default_rng(0))
    assert box == 6.0
    none = hypervolume_mc([[5.0, 5.0]], [2, 2], rng=np.random.default_rng(0))
    assert none == 0.0


def test_monte_carlo_needs_a_generator_and_samples() -> None:
    with pytest.raises(InvalidTypeError, match=r"`rng` must be a numpy\.random\.Generator"):
        hypervolume_mc([[0, 0]], [1, 1], rng=np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="`n_samples` must be >= 1"):
        hypervolume_mc([[0, 0]], [1, 1], n_samples=0, rng=np.random.default_rng(0))


# --- contributions ----------------------------------------------------------------------------


@FAST
@given(fronts(max_m=4))
def test_contributions_equal_recomputation_without_each_point(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    values, reference = case
    total = count_cells(values, reference)
    expected = [
        total - count_cells(np.delete(values, i, axis=0), reference) for i in range(values.shape[0])
    ]
    np.testing.assert_array_equal(hypervolume_contributions(values, reference), expected)


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_two_objective_contributions_with_dominated_points_in_the_gaps(seed: int, n: int) -> None:
    values = np.random.default_rng(seed).random((n, 2))
    reference = np.array([1.0, 1.0])
    total = hypervolume(values, reference)
    expected = [total - hypervolume(np.delete(values, i, axis=0), reference) for i in range(n)]
    np.testing.assert_allclose(
        hypervolume_contributions(values, reference), expected, rtol=1e-9, atol=1e-12
    )


def test_known_contributions() -> None:
    got = hypervolume_contributions([[1, 3], [2, 2], [3, 1], [2, 2], [3, 3]], [4, 4])
    assert got.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]  # duplicates and dominated points: 0
    # (1, 1) alone covers [1, 3)^2 = 4; the dominated (2, 2) takes back its box [2, 3)^2
    assert hypervolume_contributions([[1, 1], [2, 2]], [3, 3]).tolist() == [3.0, 0.0]
    got3 = hypervolume_contributions([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2])
    assert got3.tolist() == [1.0, 1.0, 1.0]


# --- reference point and validation -----------------------------------------------------------


def test_reference_point_adds_a_margin_of_the_range() -> None:
    np.testing.assert_allclose(reference_point([[1, 3], [2, 2], [3, 1]]), [3.2, 3.2])
    np.testing.assert_allclose(reference_point([[0, -4], [2, -4]], margin=0.5), [3.0, -2.0])
    np.testing.assert_allclose(reference_point([[0.0, 0.5]]), [0.1, 0.6])
    values = np.random.default_rng(0).normal(size=(30, 3))
    assert np.all(values < reference_point(values))
    np.testing.assert_array_equal(reference_point(values, margin=0.0), values.max(axis=0))


def test_reference_point_rejects_bad_input() -> None:
    with pytest.raises(InvalidArgumentError, match="`margin` must be a finite number >= 0"):
        reference_point([[0, 1]], margin=-0.1)
    with pytest.raises(InvalidArgumentError, match="`values` must hold at least one point"):
        reference_point(np.zeros((0, 2)))
    with pytest.raises(InvalidArgumentError, match="all finite"):
        reference_point([[0, np.inf]])


@pytest.mark.parametrize(
    "func",
    [
        hypervolume,
        hypervolume_contributions,
        lambda v, r: hypervolume_mc(v, r, rng=np.random.default_rng(0)),
    ],
)
def test_hypervolume_functions_validate_values_and_reference(func: object) -> None:
    assert callable(func)
    with pytest.raises(InvalidArgumentError, match=r"`reference` must have shape .*\(2,\)"):
        func([[0, 0]], [1, 1, 1])
    with pytest.raises(InvalidArgumentError, match="`reference` must be finite"):
        func([[0, 0]], [1, np.nan])
    with pytest.raises(InvalidArgumentError, match="`values` must not contain NaN"):
        func([[0, np.nan]], [1, 1])
    with pytest.raises(InvalidArgumentError, match="-inf"):
        func([[0, -np.inf]], [1, 1])
    with pytest.raises(InvalidArgumentError, match="`values` must be a 2-d array"):
        func([0, 0], [1, 1])

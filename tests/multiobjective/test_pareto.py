"""Pareto dominance, non-dominated sorting, crowding distance and constrained ranks.

Every property is checked against a brute-force O(n^2 m) implementation on small integer grids,
where ties and duplicated points are frequent.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperscout.errors import HyperscoutError, InvalidArgumentError, InvalidTypeError
from hyperscout.multiobjective import (
    constrained_ranks,
    crowding_distance,
    dominates,
    is_pareto_efficient,
    non_dominated_sort,
)

FAST = settings(max_examples=80, deadline=None)


@st.composite
def grids(
    draw: st.DrawFn, min_m: int = 1, max_m: int = 4, max_n: int = 30, infinite: bool = False
) -> np.ndarray:
    """Integer-valued ``(n, m)`` float arrays with few distinct values per objective."""
    m = draw(st.integers(min_m, max_m))
    n = draw(st.integers(0, max_n))
    top = draw(st.integers(1, 5))
    elements = st.integers(0, top).map(float)
    if infinite:
        elements = elements | st.sampled_from([np.inf, -np.inf])
    return draw(arrays(np.float64, (n, m), elements=elements))


def brute_efficient(values: np.ndarray) -> np.ndarray:
    """No row j with values[j] <= values[i] everywhere and < somewhere: all n^2 pairs."""
    le = np.all(values[:, None, :] <= values[None, :, :], axis=2)  # [j, i]
    lt = np.any(values[:, None, :] < values[None, :, :], axis=2)
    return np.asarray(~(le & lt).any(axis=0))


def brute_ranks(values: np.ndarray) -> np.ndarray:
    ranks = np.full(values.shape[0], -1)
    rank = 0
    while (ranks < 0).any():
        left = np.flatnonzero(ranks < 0)
        ranks[left[brute_efficient(values[left])]] = rank
        rank += 1
    return ranks


def loop_crowding(values: np.ndarray) -> np.ndarray:
    n, m = values.shape
    if n <= 2:
        return np.full(n, np.inf)
    distance = [0.0] * n
    for j in range(m):
        order = sorted(range(n), key=lambda i: values[i, j])  # stable, like Deb's sort
        span = values[order[-1], j] - values[order[0], j]
        if span == 0:
            continue
        distance[order[0]] = distance[order[-1]] = float("inf")
        for pos in range(1, n - 1):
            i = order[pos]
            distance[i] += (values[order[pos + 1], j] - values[order[pos - 1], j]) / span
    return np.array(distance)


# --- dominates ------------------------------------------------------------------------------


def test_dominates_needs_weakly_better_everywhere_and_strictly_somewhere() -> None:
    assert dominates([1, 2], [1, 3])
    assert dominates([0, 0, 0], [1, 1, 1])
    assert not dominates([1, 2], [1, 2])
    assert not dominates([1, 3], [2, 2])
    assert not dominates([1, 3], [1, 2])


def test_dominates_rejects_mismatched_or_nan_points() -> None:
    with pytest.raises(InvalidArgumentError, match="`a` and `b`"):
        dominates([1, 2], [1, 2, 3])
    with pytest.raises(InvalidArgumentError, match="`b` must not contain NaN"):
        dominates([1, 2], [1, float("nan")])


# --- is_pareto_efficient ----------------------------------------------------------------------


@FAST
@given(grids())
def test_is_pareto_efficient_matches_brute_force(values: np.ndarray) -> None:
    np.testing.assert_array_equal(is_pareto_efficient(values), brute_efficient(values))


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 5), st.integers(300, 700), st.integers(0, 2**32 - 1))
def test_is_pareto_efficient_spans_several_blocks(m: int, n: int, seed: int) -> None:
    # Over 256 distinct rows: the m > 2 filter checks blocks against the front of earlier blocks.
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 40, size=(n, m)).astype(float)
    values[:, 0] = rng.integers(0, 40, size=n) - values[:, 1] // 2  # a larger front
    np.testing.assert_array_equal(is_pareto_efficient(values), brute_efficient(values))


@FAST
@given(grids(infinite=True))
def test_infinite_values_are_ordered_like_numbers(values: np.ndarray) -> None:
    np.testing.assert_array_equal(is_pareto_efficient(values), brute_efficient(values))
    np.testing.assert_array_equal(non_dominated_sort(values), brute_ranks(values))


def test_every_copy_of_a_front_point_is_efficient() -> None:
    values = [[1, 3], [2, 2], [1, 3], [2, 3], [2, 2]]
    assert is_pareto_efficient(values).tolist() == [True, True, True, False, True]
    values3 = [[0, 1, 2], [0, 1, 2], [1, 1, 2]]
    assert is_pareto_efficient(values3).tolist() == [True, True, False]


def test_is_pareto_efficient_handles_empty_and_infinite_values() -> None:
    assert is_pareto_efficient(np.zeros((0, 3))).shape == (0,)
    inf = float("inf")
    assert is_pareto_efficient([[inf, 0.0], [0.0, inf], [1.0, 1.0], [inf, inf]]).tolist() == [
        True,
        True,
        True,
        False,
    ]


# --- non_dominated_sort -----------------------------------------------------------------------


@FAST
@given(grids())
def test_non_dominated_sort_matches_brute_force(values: np.ndarray) -> None:
    np.testing.assert_array_equal(non_dominated_sort(values), brute_ranks(values))


@FAST
@given(grids(min_m=2), st.integers(1, 40))
def test_n_below_keeps_the_first_fronts_and_lumps_the_rest(
    values: np.ndarray, n_below: int
) -> None:
    full = brute_ranks(values)
    ranks = non_dominated_sort(values, n_below=n_below)
    if values.shape[0] == 0:
        assert ranks.shape == (0,)
        return
    sizes = np.cumsum(np.bincount(full))
    kept = int(np.searchsorted(sizes, n_below)) + 1  # fewest fronts holding n_below points
    np.testing.assert_array_equal(ranks, np.minimum(full, kept))
    assert (ranks < kept).sum() >= min(n_below, values.shape[0])


@FAST
@given(grids(), st.data())
def test_sorting_is_invariant_to_row_order(values: np.ndarray, data: st.DataObject) -> None:
    perm = np.array(data.draw(st.permutations(range(values.shape[0]))), dtype=int)
    np.testing.assert_array_equal(
        non_dominated_sort(values[perm]), non_dominated_sort(values)[perm]
    )
    np.testing.assert_array_equal(
        is_pareto_efficient(values[perm]), is_pareto_efficient(values)[perm]
    )


def test_non_dominated_sort_known_fronts() -> None:
    values = [[1, 4], [2, 3], [3, 2], [2, 4], [3, 3], [4, 4], [1, 4]]
    assert non_dominated_sort(values).tolist() == [0, 0, 0, 1, 1, 2, 0]
    assert non_dominated_sort([[3.0], [1.0], [2.0], [1.0]]).tolist() == [2, 0, 1, 0]
    values3 = [[0, 0, 1], [1, 1, 1], [0, 1, 0], [2, 2, 2]]
    assert non_dominated_sort(values3).tolist() == [0, 1, 0, 2]
    assert non_dominated_sort(values3, n_below=2).tolist() == [0, 1, 0, 1]


def test_large_inputs_run_and_agree() -> None:
    # A sanity check that the fast paths work at realistic sizes; timings live in benchmarks/.
    rng = np.random.default_rng(0)
    values2 = rng.random((5000, 2))
    ranks2 = non_dominated_sort(values2)
    np.testing.assert_array_equal(ranks2 == 0, is_pareto_efficient(values2))
    assert ranks2.max() > 10
    values3 = rng.random((5000, 3))
    efficient3 = is_pareto_efficient(values3)
    np.testing.assert_array_equal(efficient3, non_dominated_sort(values3, n_below=1) == 0)
    assert 0 < efficient3.sum() < 5000
    front = values3[efficient3]
    assert not any(dominates(p, q) for p in front for q in front)


# --- crowding_distance ------------------------------------------------------------------------


@FAST
@given(grids(max_n=15))
def test_crowding_distance_matches_a_direct_loop(values: np.ndarray) -> None:
    np.testing.assert_allclose(crowding_distance(values), loop_crowding(values))


def test_crowding_distance_known_values() -> None:
    values = [[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]]
    # interior points: (3 - 0) / 4 + (4 - 1) / 4 = 1.5 each
    assert crowding_distance(values).tolist() == [np.inf, 1.5, 1.5, np.inf]
    assert crowding_distance([[1.0, 2.0]]).tolist() == [np.inf]
    assert crowding_distance(np.zeros((0, 2))).shape == (0,)
    # the second objective is constant: it adds nothing, not even inf boundaries
    assert crowding_distance([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0]]).tolist() == [
        np.inf,
        1.0,
        np.inf,
    ]
    assert crowding_distance(np.ones((3, 2))).tolist() == [0.0, 0.0, 0.0]


def test_crowding_distance_rejects_infinite_values() -> None:
    with pytest.raises(InvalidArgumentError, match="finite"):
        crowding_distance([[0.0, np.inf], [1.0, 0.0], [2.0, 1.0]])


# --- constrained_ranks ------------------------------------------------------------------------


def test_constrained_ranks_put_feasible_fronts_first_then_violation_order() -> None:
    values = [[1, 2], [2, 1], [2, 2], [0, 0], [0, 0], [5, 5]]
    violations = [0, 0, 0, 0.5, 2.0, 0.5]
    assert constrained_ranks(values, violations).tolist() == [0, 0, 1, 2, 3, 2]


def test_constrained_ranks_without_feasible_or_infeasible_points() -> None:
    assert constrained_ranks([[0, 0], [1, 1]], [3.0, 1.0]).tolist() == [1, 0]
    assert constrained_ranks([[0, 0], [1, 1]], [0, 0]).tolist() == [0, 1]


@FAST
@given(grids(min_m=2, max_n=20), st.data())
def test_constrained_ranks_order_points_by_constrained_domination(
    values: np.ndarray, data: st.DataObject
) -> None:
    n = values.shape[0]
    levels = st.sampled_from([0.0, 0.0, 1.0, 2.5])
    violations = np.array(data.draw(st.lists(levels, min_size=n, max_size=n)))
    ranks = constrained_ranks(values, violations)
    feasible = violations == 0
    np.testing.assert_array_equal(ranks[feasible], brute_ranks(values[feasible]))
    for i in range(n):
        for j in range(n):
            if feasible[i] and not feasible[j]:
                assert ranks[i] < ranks[j]
            if not feasible[i] and not feasible[j]:
                assert (ranks[i] < ranks[j]) == (violations[i] < violations[j])


def test_constrained_ranks_reject_bad_violations() -> None:
    with pytest.raises(InvalidArgumentError, match="`violations` must have shape"):
        constrained_ranks([[0, 0], [1, 1]], [0.0])
    with pytest.raises(InvalidArgumentError, match=r"`violations` must be finite and >= 0"):
        constrained_ranks([[0, 0], [1, 1]], [0.0, -1.0])
    with pytest.raises(InvalidArgumentError, match=r"`violations` must be finite and >= 0"):
        constrained_ranks([[0, 0], [1, 1]], [0.0, float("nan")])


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func", [is_pareto_efficient, non_dominated_sort, crowding_distance], ids=lambda f: f.__name__
)
def test_values_must_be_a_2d_array_without_nan(func: object) -> None:
    assert callable(func)
    with pytest.raises(InvalidArgumentError, match=r"`values` must be a 2-d array.*shape \(3,\)"):
        func([1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgumentError, match=r"`values` must be a 2-d array"):
        func(np.zeros((3, 0)))
    with pytest.raises(InvalidArgumentError, match=r"`values` must not contain NaN.*row 1"):
        func([[1.0, 2.0], [np.nan, 0.0]])
    with pytest.raises(InvalidTypeError, match="`values` must be an array of numbers"):
        func([["a", "b"]])


def test_n_below_must_be_a_positive_int() -> None:
    with pytest.raises(InvalidArgumentError, match="`n_below` must be >= 1"):
        non_dominated_sort([[0, 1]], n_below=0)
    with pytest.raises(InvalidTypeError, match="`n_below` must be an int"):
        non_dominated_sort([[0, 1]], n_below=1.5)  # type: ignore[arg-type]


def test_errors_are_hyperscout_errors_and_value_errors() -> None:
    with pytest.raises(HyperscoutError):
        is_pareto_efficient([[np.nan]])
    with pytest.raises(ValueError):
        is_pareto_efficient([[np.nan]])

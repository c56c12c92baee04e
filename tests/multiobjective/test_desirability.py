"""Desirability functions (Derringer & Suich 1980): formulas, shape, range and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.multiobjective import (
    Desirability,
    Maximize,
    Minimize,
    Target,
    overall_desirability,
)

FAST = settings(max_examples=80, deadline=None)
reals = st.floats(-1e6, 1e6, allow_nan=False)
weights = st.floats(0.05, 20.0)


# --- single desirabilities ---------------------------------------------------------------------


def test_maximize_at_hand_computed_points() -> None:
    d = Maximize(2.0, 6.0)
    assert [d(y) for y in (0.0, 2.0, 3.0, 5.0, 6.0, 9.0)] == [0.0, 0.0, 0.25, 0.75, 1.0, 1.0]
    assert Maximize(2.0, 6.0, weight=2.0)(4.0) == 0.25
    assert Maximize(2.0, 6.0, weight=0.5)(3.0) == 0.5
    assert Maximize(0.0, 1.0)(math.inf) == 1.0


def test_minimize_at_hand_computed_points() -> None:
    d = Minimize(2.0, 6.0)
    assert [d(y) for y in (0.0, 2.0, 3.0, 5.0, 6.0, 9.0)] == [1.0, 1.0, 0.75, 0.25, 0.0, 0.0]
    assert Minimize(2.0, 6.0, weight=2.0)(4.0) == 0.25
    assert Minimize(0.0, 1.0)(-math.inf) == 1.0


def test_target_at_hand_computed_points() -> None:
    d = Target(0.0, 4.0, 6.0, weight_low=2.0, weight_high=0.5)
    assert d(4.0) == 1.0
    assert d(2.0) == 0.25  # (2 / 4) ** 2
    assert d(5.5) == 0.5  # (0.5 / 2) ** 0.5
    assert [d(y) for y in (-1.0, 0.0, 6.0, 7.0)] == [0.0, 0.0, 0.0, 0.0]


def test_arrays_in_arrays_out_and_nan_is_undesirable() -> None:
    y = np.array([[0.0, 3.0], [np.nan, 10.0]])
    got = Maximize(2.0, 6.0)(y)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [[0.0, 0.25], [0.0, 1.0]])
    assert isinstance(Minimize(0.0, 1.0)(0.5), float)
    assert Minimize(0.0, 1.0)(math.nan) == 0.0
    assert Target(0.0, 1.0, 2.0)(math.nan) == 0.0


@FAST
@given(reals, st.floats(1e-3, 1e3), weights, reals, reals)
def test_one_sided_desirabilities_are_monotone_and_in_range(
    low: float, width: float, weight: float, y1: float, y2: float
) -> None:
    up, down = Maximize(low, low + width, weight), Minimize(low, low + width, weight)
    small, large = min(y1, y2), max(y1, y2)
    for d in (up, down):
        assert 0.0 <= d(small) <= 1.0
        assert 0.0 <= d(large) <= 1.0
    assert up(small) <= up(large)
    assert down(small) >= down(large)
    linear_sum = Maximize(low, low + width)(y1) + Minimize(low, low + width)(y1)
    assert linear_sum == pytest.approx(1.0)


@FAST
@given(reals, st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), weights, weights, reals, reals)
def test_target_rises_to_the_target_then_falls(
    low: float, left: float, right: float, wl: float, wh: float, y1: float, y2: float
) -> None:
    target = low + left
    d = Target(low, target, target + right, wl, wh)
    assert d(target) == 1.0
    small, large = min(y1, y2), max(y1, y2)
    assert 0.0 <= d(small) <= 1.0
    if large <= target:
        assert d(small) <= d(large)
    if small >= target:
        assert d(small) >= d(large)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Maximize(1.0, 1.0), r"`low` must be < `high`, got low=1\.0, high=1\.0"),
        (lambda: Minimize(2.0, 1.0), r"`low` must be < `high`"),
        (lambda: Maximize(0.0, math.inf), r"`high` must be finite"),
        (lambda: Minimize(math.nan, 1.0), r"`low` must be finite"),
        (lambda: Maximize(0.0, 1.0, weight=0.0), r"`weight` must be > 0"),
        (lambda: Target(0.0, 0.0, 1.0), r"low < target < high"),
        (lambda: Target(0.0, 2.0, 1.0), r"low < target < high"),
        (lambda: Target(0.0, 0.5, 1.0, weight_high=-1.0), r"`weight_high` must be > 0"),
    ],
)
def test_bad_parameters_are_rejected(factory: object, match: str) -> None:
    assert callable(factory)
    with pytest.raises(InvalidArgumentError, match=match):
        factory()


def test_non_numeric_parameters_are_type_errors() -> None:
    with pytest.raises(InvalidTypeError, match="`low` must be a real number"):
        Maximize("0", 1.0)  # type: ignore[arg-type]


# --- overall desirability ----------------------------------------------------------------------


def test_overall_desirability_is_the_weighted_geometric_mean() -> None:
    assert overall_desirability([0.25, 1.0]) == pytest.approx(0.5)
    assert overall_desirability([0.5, 0.0]) == 0.0
    # (0.5 ** 3 * 0.8 ** 1) ** (1 / 4)
    assert overall_desirability([0.5, 0.8], [3.0, 1.0]) == pytest.approx(0.1**0.25)
    batch = overall_desirability(np.array([[0.25, 1.0, 0.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(batch, [0.5, 1.0, 0.0])


@FAST
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6))
def test_overall_desirability_lies_between_min_and_max(ds: list[float]) -> None:
    got = overall_desirability(ds)
    assert min(ds) - 1e-12 <= got <= max(ds) + 1e-12
    assert (got == 0.0) == (min(ds) == 0.0)


def test_overall_desirability_validates() -> None:
    with pytest.raises(InvalidArgumentError, match=r"`ds` must lie in \[0, 1\]"):
        overall_desirability([0.5, 1.5])
    with pytest.raises(InvalidArgumentError, match=r"`ds` must lie in \[0, 1\]"):
        overall_desirability([0.5, math.nan])
    with pytest.raises(InvalidArgumentError, match="`ds` must hold one desirability"):
        overall_desirability([])
    with pytest.raises(InvalidArgumentError, match="`weights` must be 2 finite numbers > 0"):
        overall_desirability([0.5, 0.5], [1.0])
    with pytest.raises(InvalidArgumentError, match="`weights` must be 2 finite numbers > 0"):
        overall_desirability([0.5, 0.5], [1.0, 0.0])


# --- named objectives --------------------------------------------------------------------------


def make() -> Desirability:
    return Desirability(
        {"acc": Maximize(0.5, 1.0), "ms": Minimize(10.0, 100.0), "size": Target(0, 5, 10)},
        weights={"acc": 2.0},
    )


def test_desirability_components_and_weighted_score() -> None:
    ds = make()
    values = {"acc": 0.75, "ms": 55.0, "size": 2.5}
    assert ds.components(values) == {"acc": 0.5, "ms": 0.5, "size": 0.5}
    assert ds.score(values) == pytest.approx(0.5)
    values = {"acc": 1.0, "ms": 55.0, "size": 5.0}
    assert ds.score(values) == pytest.approx(0.5**0.25)  # weights 2, 1, 1 (missing weighs 1)


def test_nan_values_give_zero_desirability() -> None:
    ds = make()
    values = {"acc": math.nan, "ms": 10.0, "size": 5.0}
    assert ds.components(values) == {"acc": 0.0, "ms": 1.0, "size": 1.0}
    assert ds.score(values) == 0.0


def test_missing_or_extra_keys_are_named() -> None:
    ds = make()
    with pytest.raises(InvalidArgumentError, match="missing the objective 'size'"):
        ds.score({"acc": 0.9, "ms": 20.0})
    with pytest.raises(InvalidArgumentError, match="unknown objective 'loss'"):
        ds.components({"acc": 0.9, "ms": 20.0, "size": 1.0, "loss": 0.1})
    with pytest.raises(InvalidTypeError, match=r"`values\['ms'\]` must be a real number"):
        ds.score({"acc": 0.9, "ms": "fast", "size": 1.0})  # type: ignore[dict-item]


def test_desirability_validates_its_definition() -> None:
    with pytest.raises(InvalidArgumentError, match="`objectives` must be a non-empty mapping"):
        Desirability({})
    with pytest.raises(InvalidTypeError, match=r"`objectives\['acc'\]` must be Maximize"):
        Desirability({"acc": lambda y: y})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgumentError, match="`weights` names 'loss'"):
        Desirability({"acc": Maximize(0, 1)}, weights={"loss": 1.0})
    with pytest.raises(InvalidArgumentError, match=r"`weights\['acc'\]` must be > 0"):
        Desirability({"acc": Maximize(0, 1)}, weights={"acc": 0.0})


def test_desirability_is_frozen_and_keeps_a_copy() -> None:
    objectives: dict[str, Maximize | Minimize] = {"acc": Maximize(0.0, 1.0)}
    ds = Desirability(objectives)
    objectives["ms"] = Minimize(0.0, 1.0)
    assert list(ds.objectives) == ["acc"]
    with pytest.raises(AttributeError):
        ds.weights = {}  # type: ignore[misc]

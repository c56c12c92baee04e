"""Search spaces: validation errors, containment, and unit-cube encode/decode round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import hyperscout as hs
from hyperscout.space import distribution_from_dict, validate_space

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
ints = st.integers(min_value=-10_000, max_value=10_000)


@st.composite
def float_dists(draw: st.DrawFn) -> hs.Float:
    low = draw(finite)
    width = draw(st.floats(min_value=1e-3, max_value=1e6))
    kind = draw(st.sampled_from(["plain", "log", "step"]))
    if kind == "log":
        low = abs(low) + 1e-6
        return hs.Float(low, low + width, log=True)
    if kind == "step":
        step = draw(st.floats(min_value=1e-3, max_value=1e3))
        n = draw(st.integers(min_value=0, max_value=1000))
        return hs.Float(low, low + n * step, step=step)
    return hs.Float(low, low + width)


@st.composite
def int_dists(draw: st.DrawFn) -> hs.Int:
    log = draw(st.booleans())
    if log:
        low = draw(st.integers(min_value=1, max_value=1000))
        return hs.Int(low, low + draw(st.integers(min_value=0, max_value=10**6)), log=True)
    low = draw(ints)
    step = draw(st.integers(min_value=1, max_value=50))
    return hs.Int(low, low + step * draw(st.integers(min_value=0, max_value=500)), step=step)


choice_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4), st.floats(-5, 5)
)


@st.composite
def categorical_dists(draw: st.DrawFn) -> hs.Categorical:
    raw = draw(st.lists(choice_values, min_size=1, max_size=8))
    unique: list[object] = []
    for v in raw:
        if not any(type(v) is type(u) and v == u for u in unique):
            unique.append(v)
    return hs.Categorical(unique)


any_dist = st.one_of(float_dists(), int_dists(), categorical_dists())


@settings(max_examples=300, deadline=None)
@given(dist=any_dist, u=st.floats(min_value=0.0, max_value=1.0))
def test_from_unit_always_lands_inside_the_distribution(dist: hs.Distribution, u: float) -> None:
    value = dist.to_external(float(dist.from_unit(u)))
    assert dist.contains(value), (dist, u, value)


@settings(max_examples=300, deadline=None)
@given(dist=any_dist, u=st.floats(min_value=0.0, max_value=1.0))
def test_encode_decode_round_trip_is_exact_for_allowed_values(
    dist: hs.Distribution, u: float
) -> None:
    internal = float(dist.from_unit(u))
    unit = float(dist.to_unit(internal))
    assert 0.0 <= unit <= 1.0
    back = float(dist.from_unit(unit))
    if isinstance(dist, hs.Float) and dist.step is None:
        assert math.isclose(back, internal, rel_tol=1e-9, abs_tol=1e-9 * max(1, abs(internal)))
    else:
        assert back == internal


@settings(max_examples=200, deadline=None)
@given(dist=any_dist)
def test_distributions_round_trip_through_their_dict_form(dist: hs.Distribution) -> None:
    assert distribution_from_dict(dist.to_dict()) == dist


@settings(max_examples=200, deadline=None)
@given(low=finite, high=finite)
def test_float_bounds_are_validated(low: float, high: float) -> None:
    assume(low != high)
    if low > high:
        with pytest.raises(hs.InvalidArgumentError, match="`low` must be <= `high`"):
            hs.Float(low, high)
    else:
        assert hs.Float(low, high).contains((low + high) / 2)


def test_discrete_cells_are_equally_likely() -> None:
    dist = hs.Int(1, 4)
    u = np.linspace(0, 1, 4001)
    counts = np.bincount(dist.from_unit(u).astype(int), minlength=5)[1:]
    assert counts.min() >= 990 and counts.max() <= 1010


def test_log_int_decoding_is_log_scaled() -> None:
    dist = hs.Int(1, 1000, log=True)
    values = dist.from_unit(np.random.default_rng(0).random(20_000))
    # log-uniform: about as many draws in [1, 31] as in [32, 1000]
    small = np.mean(values <= 31)
    assert 0.4 < small < 0.6


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: hs.Float(3, 1), "`low` must be <= `high`"),
        (lambda: hs.Float(0, 1, log=True), "`low` must be > 0 when log=True"),
        (lambda: hs.Float(0.1, 1, log=True, step=0.1), "cannot be combined"),
        (lambda: hs.Float(0, 1, step=0.3), "multiple of `step`"),
        (lambda: hs.Float(0, 1, step=-1), "`step` must be > 0"),
        (lambda: hs.Float(0, math.inf), "must be finite"),
        (lambda: hs.Int(5, 1), "`low` must be <= `high`"),
        (lambda: hs.Int(0, 10, log=True), "`low` must be >= 1 when log=True"),
        (lambda: hs.Int(1, 10, log=True, step=2), "`step` must be 1 when log=True"),
        (lambda: hs.Int(1, 10, step=2), "multiple of `step`"),
        (lambda: hs.Int(1, 10, step=0), "`step` must be >= 1"),
        (lambda: hs.Categorical([]), "must not be empty"),
        (lambda: hs.Categorical(["a", "a"]), "must be unique"),
    ],
)
def test_bad_bounds_raise_errors_that_name_the_argument(make: object, match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: hs.Float("0", 1), "`low` must be a real number"),
        (lambda: hs.Float(True, 2), "`low` must be a real number"),
        (lambda: hs.Int(0.5, 3), "`low` must be an integer"),
        (lambda: hs.Categorical("abc"), "`choices` must be a list"),
        (lambda: hs.Categorical([[1], [2]]), "hashable"),
    ],
)
def test_wrong_types_raise_type_errors(make: object, match: str) -> None:
    with pytest.raises(hs.InvalidTypeError, match=match):
        make()  # type: ignore[operator]
    with pytest.raises(TypeError):  # also a builtin TypeError
        make()  # type: ignore[operator]


def test_categorical_keeps_bool_and_int_choices_apart() -> None:
    dist = hs.Categorical([1, True, None, 0.5])
    assert dist.index(True) == 1
    assert dist.index(1) == 0
    assert dist.index(None) == 2
    assert dist.to_external(dist.to_internal(True)) is True
    assert hs.Categorical([1, 2]) != hs.Categorical([True, 2])
    assert not dist.contains(False)


def test_single_valued_distributions_are_allowed() -> None:
    assert hs.Int(3, 3).single()
    assert hs.Float(1.5, 1.5).to_external(float(hs.Float(1.5, 1.5).from_unit(0.2))) == 1.5
    assert hs.Categorical(["only"]).single()


def test_validate_space_rejects_non_distributions() -> None:
    with pytest.raises(hs.InvalidTypeError, match=r"space\['x'\]"):
        validate_space({"x": (0, 1)})
    with pytest.raises(hs.InvalidTypeError, match="must be a dict"):
        validate_space([hs.Float(0, 1)])


def test_a_small_step_far_from_zero_is_on_its_grid() -> None:
    """Found by the property test above: 131072.001 - 131072.0 is 1.0000000038 steps of 0.001 in
    floating point; the half ulp of each bound must count as rounding, not as off the grid."""
    dist = hs.Float(131072.0, 131072.001, step=0.001)
    assert dist.contains(131072.001) and dist.contains(131072.0)
    assert not dist.contains(131072.0005)
    with pytest.raises(hs.InvalidArgumentError, match="multiple of `step`"):
        hs.Float(131072.0, 131072.0015, step=0.001)

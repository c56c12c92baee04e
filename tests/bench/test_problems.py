"""Benchmark problems: valid spaces, the carps budget, conditions, BBOB regret, sklearn tasks."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench.problems import (
    SKLEARN_TASKS,
    Problem,
    bbob_problem,
    carps_budget,
    list_problems,
    make_problem,
)
from hyperscout.space import validate_space


def test_carps_budget_follows_the_protocol() -> None:
    assert [carps_budget(d) for d in (1, 2, 5, 10)] == [60, 77, 110, 147]
    with pytest.raises(hs.InvalidArgumentError):
        carps_budget(0)


def test_list_problems_names_every_bbob_function_and_task() -> None:
    names = list_problems(bbob_dims=(2, 5, 10))
    assert len([n for n in names if n.startswith("bbob-")]) == 72
    assert names[0] == "bbob-f01-d2" and "bbob-f24-d10" in names
    assert set(SKLEARN_TASKS) <= set(names)
    assert list_problems(bbob_dims=(), sklearn=["sklearn-rf-wine"]) == ["sklearn-rf-wine"]
    with pytest.raises(hs.InvalidArgumentError):
        list_problems(functions=[25])
    with pytest.raises(hs.InvalidArgumentError):
        list_problems(sklearn=["sklearn-nope"])


def test_make_problem_rejects_unknown_names() -> None:
    for bad in ("bbob-f25-d2", "sphere", "sklearn-nope"):
        with pytest.raises(hs.InvalidArgumentError):
            make_problem(bad)


def _toy() -> Problem:
    return Problem(
        name="toy",
        space={
            "kind": hs.Categorical(("a", "b")),
            "depth": hs.Int(1, 4),
            "width": hs.Float(0.0, 1.0),
        },
        objective=lambda p: float(p["depth"]) + p.get("width", 0.0),
        conditions={"width": ("kind", ("b",))},
    )


def test_conditions_drop_inactive_parameters() -> None:
    p = _toy()
    assert p.dimension == 3
    assert p.active({"kind": "a", "depth": 2, "width": 0.5}) == {"kind": "a", "depth": 2}
    assert p.evaluate({"kind": "a", "depth": 2, "width": 0.5}) == 2.0
    assert p.evaluate({"kind": "b", "depth": 2, "width": 0.5}) == 2.5
    # numbers of another type are accepted and converted as the distribution says
    assert p.evaluate({"kind": "a", "depth": np.int64(3)}) == 3.0


def test_evaluate_rejects_missing_or_out_of_range_values() -> None:
    p = _toy()
    with pytest.raises(hs.InvalidArgumentError, match="width"):
        p.evaluate({"kind": "b", "depth": 2})
    with pytest.raises(hs.InvalidArgumentError, match="depth"):
        p.evaluate({"kind": "a", "depth": 9})


def test_bbob_without_ioh_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from hyperscout.bench import problems

    problems._ioh_function.cache_clear()
    monkeypatch.setitem(sys.modules, "ioh", None)
    with pytest.raises(hs.MissingDependencyError, match=r"hyperscout\[bench\]"):
        bbob_problem(1, 2)
    problems._ioh_function.cache_clear()


@pytest.mark.parametrize("dim", [2, 5])
def test_bbob_problems_have_valid_spaces_and_a_reachable_optimum(dim: int) -> None:
    ioh = pytest.importorskip("ioh")
    for fid in (1, 8, 15, 24):
        p = make_problem(f"bbob-f{fid:02d}-d{dim}")
        assert p.dimension == dim and p.family == "bbob" and p.optimum is not None
        validate_space(p.space)
        f = ioh.get_problem(fid, instance=1, dimension=dim, problem_class=ioh.ProblemClass.BBOB)
        x_opt = {f"x{i}": float(v) for i, v in enumerate(f.optimum.x)}
        assert p.evaluate(x_opt) == pytest.approx(p.optimum, abs=1e-8)
        assert p.evaluate(dict.fromkeys(x_opt, 4.9)) > p.optimum


@pytest.mark.parametrize("name", sorted(SKLEARN_TASKS))
def test_sklearn_tasks_evaluate_to_an_error_rate(name: str) -> None:
    pytest.importorskip("sklearn")
    p = make_problem(name)
    validate_space(p.space)
    assert p.family == "sklearn" and p.optimum is None
    for child, (parent, values) in p.conditions.items():
        assert list(p.space).index(parent) < list(p.space).index(child)
        assert all(p.space[parent].contains(v) for v in values)
    rng = np.random.default_rng(0)
    config = {k: d.to_external(d.decode(rng.random())) for k, d in p.space.items()}
    value = p.evaluate(config)
    assert 0.0 <= value <= 1.0
    assert p.evaluate(config) == value  # fixed data and model seeds: deterministic

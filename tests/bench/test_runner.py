"""The runner: traces, timing fields, JSON round trips, failures kept, every sampler runs."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench.problems import Problem
from hyperscout.bench.runner import (
    RunResult,
    available_optimizers,
    best_so_far,
    make_optimizer,
    run,
)
from hyperscout.samplers import SAMPLERS


def tiny() -> Problem:
    """A mixed, conditional problem that costs nothing to evaluate."""

    def objective(p: dict[str, object]) -> float:
        x = float(p["x"])  # type: ignore[arg-type]
        extra = float(p["scale"]) if "scale" in p else 0.0  # type: ignore[arg-type]
        return (x - 1.0) ** 2 + (0.5 if p["kind"] == "b" else 0.0) + extra + int(p["n"]) / 10

    return Problem(
        name="tiny",
        space={
            "x": hs.Float(-3.0, 3.0),
            "n": hs.Int(0, 4),
            "kind": hs.Categorical(("a", "b")),
            "scale": hs.Float(1e-3, 1.0, log=True),
        },
        objective=objective,
        optimum=0.0,
        conditions={"scale": ("kind", ("b",))},
        family="toy",
    )


def test_random_sampler_run_gives_a_full_trace() -> None:
    r = run(tiny(), "hyperscout:random", seed=3, budget=12)
    assert r.error is None
    assert r.key == ("tiny", "hyperscout:random", 3)
    assert len(r.values) == r.budget == 12
    assert all(math.isfinite(v) and v >= 0.0 for v in r.values)
    assert r.optimizer_seconds >= 0.0 and r.objective_seconds >= 0.0
    assert r.version.startswith("hyperscout ") and r.optimum == 0.0
    # same seed, same trace
    assert run(tiny(), "hyperscout:random", seed=3, budget=12).values == r.values


def test_default_budget_is_the_carps_rule() -> None:
    assert run(tiny(), "hyperscout:random", seed=0).budget == 100  # ceil(20 + 40 * 2)


def test_inactive_parameters_are_never_suggested() -> None:
    seen: list[dict[str, object]] = []
    p = tiny()
    wrapped = Problem(
        p.name,
        p.space,
        lambda params: seen.append(dict(params)) or p.objective(params),
        p.optimum,
        p.conditions,
    )
    run(wrapped, "hyperscout:random", seed=0, budget=20)
    assert any(c["kind"] == "a" for c in seen) and any(c["kind"] == "b" for c in seen)
    assert all(("scale" in c) == (c["kind"] == "b") for c in seen)


def test_json_round_trip_keeps_the_result() -> None:
    r = run(tiny(), "hyperscout:random", seed=1, budget=5)
    back = RunResult.from_json(json.loads(json.dumps(r.to_json())))
    assert back == r


def test_an_error_keeps_the_values_seen_so_far() -> None:
    calls = {"n": 0}

    def flaky(params: dict[str, object]) -> float:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("boom")
        return 1.0

    p = Problem("flaky", {"x": hs.Float(0.0, 1.0)}, flaky)
    r = run(p, "hyperscout:random", seed=0, budget=10)
    assert r.values == (1.0, 1.0, 1.0)
    assert r.error is not None and r.error.startswith("RuntimeError: boom")


def test_unknown_optimizer_names_are_rejected() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="hyperscout:tpe"):
        make_optimizer("hyperscout:nope", tiny(), 0, 5)
    with pytest.raises(hs.InvalidArgumentError, match="optuna:tpe"):
        make_optimizer("nope", tiny(), 0, 5)
    r = run(tiny(), "nope", seed=0, budget=5)
    assert r.values == () and r.error is not None


def test_every_registered_sampler_is_offered() -> None:
    names = available_optimizers()
    assert all(f"hyperscout:{s}" in names for s in SAMPLERS)
    assert {"optuna:tpe", "smac:hpo", "hebo", "nevergrad:ngopt"} <= set(names)


@pytest.mark.parametrize("sampler", sorted(set(SAMPLERS) - {"grid"}))
def test_each_hyperscout_sampler_runs_on_a_mixed_conditional_space(sampler: str) -> None:
    r = run(tiny(), f"hyperscout:{sampler}", seed=0, budget=8)
    assert r.error is None, r.error
    assert len(r.values) == 8


@pytest.mark.parametrize("peer", ["optuna:tpe", "nevergrad:ngopt", "smac:hpo"])
def test_peers_run_or_name_the_missing_extra(peer: str) -> None:
    module = {"optuna:tpe": "optuna", "nevergrad:ngopt": "nevergrad", "smac:hpo": "smac"}[peer]
    r = run(tiny(), peer, seed=0, budget=6)
    if importlib.util.find_spec(module) is None:
        assert r.error is not None and "hyperscout[bench]" in r.error
    else:
        assert r.error is None, r.error
        assert len(r.values) == 6


def test_best_so_far_pads_short_traces() -> None:
    assert best_so_far((), 3).tolist() == [math.inf] * 3
    assert best_so_far((2.0, math.nan, 1.0), 4).tolist() == [2.0, 2.0, 1.0, 1.0]
    assert np.array_equal(best_so_far((5.0, 4.0, 6.0), 2), [5.0, 4.0])

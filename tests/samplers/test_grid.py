"""GridSampler: exhaustive search, given or inferred grids, concurrency, restarts, errors."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import make_sampler
from hyperscout.samplers._grid import GridSampler

COMPLETE = hs.TrialState.COMPLETE


def xk_objective(trial: hs.Trial) -> float:
    x = trial.suggest_int("x", 0, 5)
    k = trial.suggest_categorical("k", ["a", "b", "c", "d"])
    return x + ord(k)


def points(study: hs.Study, names: tuple[str, ...] = ("x", "k")) -> list[tuple[Any, ...]]:
    return [tuple(t.params[n] for n in names) for t in study.get_trials(states=[COMPLETE])]


def test_a_3x4_grid_runs_exactly_its_12_points_then_optimize_stops() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [1, 2, 3], "k": ["a", "b", "c", "d"]}))
    study.optimize(xk_objective, n_trials=100)
    done = points(study)
    assert len(done) == 12
    assert done == list(itertools.product([1, 2, 3], ["a", "b", "c", "d"]))  # in order
    assert all(t.state == COMPLETE for t in study.trials if t.params)
    study.optimize(xk_objective, n_trials=5)  # nothing left: returns at once
    assert len(points(study)) == 12


def test_an_exhausted_grid_leaves_no_stray_trial() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [1, 2, 3], "k": ["a", "b", "c", "d"]}))
    study.optimize(xk_objective, n_trials=100)
    assert len(study.trials) == 12


def test_ask_raises_search_space_exhausted_when_every_point_is_taken() -> None:
    study = hs.create_study(sampler=GridSampler({"x": hs.Int(0, 1)}))
    space = {"x": hs.Int(0, 1)}
    for _ in range(2):
        study.tell(study.ask(space), 0.0)
    with pytest.raises(hs.SearchSpaceExhausted, match="all 2 grid points"):
        study.ask(space)


def test_distributions_in_the_grid_are_enumerated() -> None:
    grid = {
        "n": hs.Int(1, 8, log=True),
        "q": hs.Float(0.0, 1.0, step=0.25),
        "c": hs.Categorical([None, True, False]),
    }
    study = hs.create_study(sampler=GridSampler(grid))

    def objective(trial: hs.Trial) -> float:
        n = trial.suggest_int("n", 1, 8, log=True)
        q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
        trial.suggest_categorical("c", [None, True, False])
        return n * q

    study.optimize(objective, n_trials=1000)
    got = points(study, ("n", "q", "c"))
    expected = list(
        itertools.product(range(1, 9), [0.0, 0.25, 0.5, 0.75, 1.0], [None, True, False])
    )
    assert got == expected
    assert all(type(c) is type(e) for (_, _, c), (_, _, e) in zip(got, expected, strict=True))


def test_any_hashable_values_including_none_and_bools_are_kept_apart() -> None:
    values = [None, True, False, 1, 0, "a", (1, 2)]
    study = hs.create_study(sampler=GridSampler({"v": values}))
    study.optimize(lambda t: float(t.number + 0 * len(str(t.suggest_categorical("v", values)))), 20)
    got = [t.params["v"] for t in study.get_trials(states=[COMPLETE])]
    assert [(type(v), v) for v in got] == [(type(v), v) for v in values]


def test_a_grid_value_outside_the_objectives_distribution_fails_naming_the_parameter() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [0.5, 1.5, 7.0]}))
    study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=4)
    assert [t.state for t in study.trials] == [COMPLETE] * 2 + [hs.TrialState.FAILED] * 2
    reason = study.trials[2].system_attrs["fail_reason"]
    assert "parameter 'x'" in reason and "7.0" in reason
    with pytest.raises(hs.InvalidArgumentError, match=r"grid value 7\.0 of parameter 'x'"):
        study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=1, catch=())
    with pytest.raises(hs.InvalidArgumentError, match="parameter 'x'"):
        study.ask({"x": hs.Float(0, 2)})


def test_integers_given_as_floats_match_an_int_distribution() -> None:
    study = hs.create_study(sampler=GridSampler({"x": np.array([1.0, 2.0, 3.0])}))
    study.optimize(lambda t: t.suggest_int("x", 0, 5), n_trials=10)
    got = [t.params["x"] for t in study.get_trials(states=[COMPLETE])]
    assert got == [1, 2, 3] and all(type(v) is int for v in got)


def test_continuous_floats_are_rejected_with_the_fix() -> None:
    msg = (
        r"grid search needs discrete values: give `step=` to suggest_float\('x', \.\.\.\) or pass "
        r"the values in GridSampler\(\{'x': \[\.\.\.\]\}\)"
    )
    with pytest.raises(hs.InvalidArgumentError, match=msg):
        GridSampler({"x": hs.Float(0, 1)})
    study = hs.create_study(sampler="grid", seed=0)
    with pytest.raises(hs.InvalidArgumentError, match=msg):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, catch=())
    with pytest.raises(hs.InvalidArgumentError, match=msg):
        study.ask({"x": hs.Float(0, 1)})
    GridSampler({"x": hs.Float(0.5, 0.5)})  # a single value is discrete


def test_a_parameter_missing_from_a_given_grid_is_an_error() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [1, 2]}))
    with pytest.raises(hs.InvalidArgumentError, match="parameter 'y' is not in the grid"):
        study.ask({"x": hs.Int(0, 3), "y": hs.Int(0, 3)})


@pytest.mark.parametrize(
    ("grid", "error", "match"),
    [
        ([1, 2], hs.InvalidTypeError, "`grid` must be a dict"),
        ({}, hs.InvalidArgumentError, "at least one parameter"),
        ({"x": []}, hs.InvalidArgumentError, r"`grid\['x'\]` must hold at least one value"),
        ({"x": "abc"}, hs.InvalidTypeError, r"`grid\['x'\]` must be a list"),
        ({"x": {1, 2}}, hs.InvalidTypeError, r"`grid\['x'\]` must be a list"),
        ({"x": [[1], [2]]}, hs.InvalidTypeError, "hashable"),
        ({"x": [1, 2, 1]}, hs.InvalidArgumentError, "unique"),
        ({"x": [1, 1.0]}, hs.InvalidArgumentError, "unique values, got 1 and 1.0"),
        ({"x": [True, 1, 1.0]}, hs.InvalidArgumentError, "unique values, got 1 and 1.0"),
        ({1: [1]}, hs.InvalidTypeError, "keys must be non-empty strings"),
        ({"x": hs.Int(0, 10**7)}, hs.InvalidArgumentError, "pass fewer values"),
    ],
)
def test_bad_grids_are_rejected_with_the_fix(grid: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        GridSampler(grid)


def test_bad_shuffle_is_rejected() -> None:
    with pytest.raises(hs.InvalidTypeError, match="`shuffle` must be True or False"):
        GridSampler({"x": [1]}, shuffle=1)  # type: ignore[arg-type]


def test_without_a_grid_the_first_trial_is_random_and_the_rest_enumerate_its_space() -> None:
    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_int("x", 0, 2)
        k = trial.suggest_categorical("k", [None, "a"])
        return x + (k is None)

    firsts = set()
    for seed in range(8):
        study = hs.create_study(sampler="grid", seed=seed)
        study.optimize(objective, n_trials=50)
        got = points(study)
        assert sorted(got, key=repr) == sorted(itertools.product([0, 1, 2], [None, "a"]), key=repr)
        firsts.add(got[0])
        rest = [p for p in itertools.product([0, 1, 2], [None, "a"]) if p != got[0]]
        assert got[1:] == sorted(rest, key=lambda p: (p[1] != None, p[0]))  # noqa: E711
    assert len(firsts) > 1  # the first trial's values come from the seeded rng


def test_without_a_grid_conditional_parameters_join_the_grid() -> None:
    def objective(trial: hs.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if kind == "a":
            return float(trial.suggest_int("x", 0, 3))
        return float(trial.suggest_categorical("y", [None, True, False]) is None)

    study = hs.create_study(sampler="grid", seed=3)
    study.optimize(objective, n_trials=100)
    done = study.get_trials(states=[COMPLETE])
    a = sorted(t.params["x"] for t in done if t.params["kind"] == "a")
    b = sorted(repr(t.params["y"]) for t in done if t.params["kind"] == "b")
    assert a == [0, 1, 2, 3]
    assert b == ["False", "None", "True"]
    assert len(done) == 7


def test_a_given_grid_with_a_conditional_parameter_skips_the_irrelevant_points() -> None:
    grid = {"kind": ["a", "b"], "x": [0, 1, 2]}
    study = hs.create_study(sampler=GridSampler(grid))

    def objective(trial: hs.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return float(trial.suggest_int("x", 0, 2)) if kind == "a" else -1.0

    study.optimize(objective, n_trials=100)
    done = study.get_trials(states=[COMPLETE])
    assert [(t.params["kind"], t.params.get("x")) for t in done] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", None),
    ]


def test_shuffle_permutes_the_order_by_the_study_seed() -> None:
    grid = {"x": list(range(6)), "y": list(range(5))}
    space = {"x": hs.Int(0, 5), "y": hs.Int(0, 4)}

    def run(seed: int, shuffle: bool) -> list[tuple[Any, ...]]:
        study = hs.create_study(sampler=GridSampler(grid, shuffle=shuffle), seed=seed)
        study.optimize(lambda t: sum(t.suggest(n, d) for n, d in space.items()), n_trials=100)
        return points(study, ("x", "y"))

    ordered = run(0, False)
    assert ordered == list(itertools.product(range(6), range(5)))
    shuffled = run(0, True)
    assert shuffled != ordered and sorted(shuffled) == ordered
    assert run(0, True) == shuffled
    assert run(1, True) != shuffled


def test_pending_trials_hold_their_points() -> None:
    study = hs.create_study(sampler=GridSampler({"x": hs.Int(0, 3)}))
    t0, t1 = study.ask(), study.ask()  # nothing suggested yet
    t2 = study.ask({"x": hs.Int(0, 3)})
    xs = [t0.suggest_int("x", 0, 3), t1.suggest_int("x", 0, 3), t2.params["x"]]
    assert xs == [0, 1, 2]
    t3 = study.ask()
    assert t3.suggest_int("x", 0, 3) == 3
    with pytest.raises(hs.SearchSpaceExhausted):
        study.ask()


def test_a_failed_trial_holds_its_point() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [1, 2, 3]}))

    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_int("x", 0, 5)
        if x == 2:
            raise RuntimeError("boom")
        return float(x)

    study.optimize(objective, n_trials=10)
    assert [(t.params["x"], t.state) for t in study.trials if t.params] == [
        (1, COMPLETE),
        (2, hs.TrialState.FAILED),
        (3, COMPLETE),
    ]


def test_enqueued_trials_run_first_and_steer_the_free_values() -> None:
    study = hs.create_study(sampler=GridSampler({"x": [1, 2, 3], "k": ["a", "b", "c", "d"]}))
    study.enqueue_trial({"x": 3, "k": "b"})
    study.enqueue_trial({"x": 2})  # the first free point with x == 2
    study.optimize(xk_objective, n_trials=3)
    assert points(study) == [(3, "b"), (2, "a"), (1, "a")]
    study.optimize(xk_objective, n_trials=100)
    assert sorted(points(study)) == list(itertools.product([1, 2, 3], ["a", "b", "c", "d"]))
    study.enqueue_trial({"x": 1, "k": "a"})  # an enqueued repeat still runs after exhaustion
    study.optimize(xk_objective, n_trials=1)
    assert points(study)[-1] == (1, "a")


def test_a_restarted_study_continues_where_it_stopped() -> None:
    storage = hs.InMemoryStorage()
    grid = {"x": [1, 2, 3], "k": ["a", "b", "c", "d"]}
    study = hs.create_study(study_name="g", storage=storage, sampler=GridSampler(grid), seed=1)
    study.optimize(xk_objective, n_trials=5)
    again = hs.load_study("g", storage, sampler=GridSampler(grid))
    again.optimize(xk_objective, n_trials=100)
    assert points(again) == list(itertools.product([1, 2, 3], ["a", "b", "c", "d"]))


def test_threads_cover_every_point() -> None:
    grid = {"x": list(range(5)), "y": list(range(4))}
    study = hs.create_study(sampler=GridSampler(grid), seed=0)
    study.optimize(lambda t: t.suggest_int("x", 0, 4) + t.suggest_int("y", 0, 3), 100, n_jobs=4)
    done = points(study, ("x", "y"))
    assert sorted(set(done)) == list(itertools.product(range(5), range(4)))
    assert len(done) == 20  # pending trials hold their points: no point runs twice


def test_a_huge_grid_hands_out_points_lazily() -> None:
    big = {f"p{i}": list(range(100)) for i in range(6)}  # 1e12 points
    study = hs.create_study(sampler=GridSampler(big))
    space = {name: hs.Int(0, 99) for name in big}
    for _ in range(3):
        study.tell(study.ask(space), 0.0)
    assert [t.params["p5"] for t in study.trials] == [0, 1, 2]
    with pytest.raises(hs.InvalidArgumentError, match="shuffle=True"):
        GridSampler(big, shuffle=True)


def test_registry_pickle_and_repr() -> None:
    sampler = make_sampler("grid")
    assert isinstance(sampler, GridSampler) and isinstance(sampler, hs.Sampler)
    given = GridSampler({"x": [1, 2, 3], "k": ["a", "b", "c", "d"]}, shuffle=True)
    assert repr(given) == "GridSampler(params=['x', 'k'], n_points=12, shuffle=True)"
    copy = pickle.loads(pickle.dumps(given))
    runs = []
    for s in (given, copy):
        study = hs.create_study(sampler=s, seed=4)
        study.optimize(xk_objective, n_trials=100)
        runs.append(points(study))
    assert runs[0] == runs[1] and len(runs[0]) == 12


def test_the_public_name_resolves_every_time() -> None:
    assert hs.GridSampler is GridSampler
    assert hs.GridSampler is GridSampler

"""Contract suite: every sampler in the registry behaves the same way where users can tell.

A sampler registered in ``hyperscout.samplers.SAMPLERS`` is covered here without further work.
The grid sampler runs the discrete variant of each space (grid search needs discrete values).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.samplers import SAMPLERS, make_sampler
from param_checks import assert_allowed

DISCRETE_ONLY = {"grid"}  # samplers that need discrete spaces
SINGLE_OBJECTIVE = {"cmaes", "de"}  # samplers that refuse multi-objective studies
EXHAUSTIVE = {"grid"}  # samplers whose sequence does not depend on the seed


@pytest.fixture(params=sorted(SAMPLERS))
def name(request: pytest.FixtureRequest) -> str:
    """A registry name; its class is imported here, so one broken sampler fails only its tests."""
    sampler_name = str(request.param)
    SAMPLERS[sampler_name]()
    return sampler_name


def space_for(name: str) -> dict[str, hs.Distribution]:
    """Every kind of parameter; the continuous ones are stepped for discrete-only samplers."""
    discrete = name in DISCRETE_ONLY
    return {
        "x": hs.Float(-5.0, 5.0, step=0.5 if discrete else None),
        "lr": hs.Int(1, 512, log=True) if discrete else hs.Float(1e-5, 1e-1, log=True),
        "q": hs.Float(0.0, 1.0, step=0.25),
        "n": hs.Int(1, 64, log=True),
        "k": hs.Int(0, 10, step=2),
        "c": hs.Categorical(["a", None, True, False, 1, 2.5]),
    }


def space3_for(name: str) -> dict[str, hs.Distribution]:
    step = 0.5 if name in DISCRETE_ONLY else None
    return {f"p{i}": hs.Float(-1.0, 1.0, step=step) for i in range(3)}


def objective_for(name: str) -> Callable[[hs.Trial], float]:
    space = space_for(name)

    def objective(trial: hs.Trial) -> float:
        p = {key: trial.suggest(key, dist) for key, dist in space.items()}
        c = p["c"]
        return float(p["x"] ** 2 + p["q"] + p["k"] + math.log(p["n"]) + (c is None) + (c is True))

    return objective


def fingerprint(study: hs.Study) -> list[str]:
    """Parameters as text: equal fingerprints mean bit-identical values of identical types."""
    return [
        repr(sorted((k, type(v).__name__, v) for k, v in t.params.items())) for t in study.trials
    ]


def new_study(name: str, seed: int = 0, **kwargs: Any) -> hs.Study:
    return hs.create_study(sampler=make_sampler(name), seed=seed, **kwargs)


def test_registered_samplers_follow_the_protocol_and_pickle(name: str) -> None:
    sampler = make_sampler(name)
    assert isinstance(sampler, hs.Sampler)
    copy = pickle.loads(pickle.dumps(sampler))  # executor="process" ships samplers to workers
    runs = []
    for s in (sampler, copy):
        study = hs.create_study(sampler=s, seed=3)
        study.optimize(objective_for(name), n_trials=12)
        runs.append(fingerprint(study))
    assert runs[0] == runs[1]


def test_same_seed_same_params_define_by_run(name: str) -> None:
    runs = []
    for _ in range(2):
        study = new_study(name, seed=7)
        study.optimize(objective_for(name), n_trials=30)
        assert len(study.trials) == 30
        runs.append(fingerprint(study))
    assert runs[0] == runs[1]


def test_same_seed_same_params_with_a_declared_space(name: str) -> None:
    space = space_for(name)
    runs = []
    for _ in range(2):
        study = new_study(name, seed=11)
        for i in range(30):
            trial = study.ask(space)
            study.tell(trial, float(i % 7) + trial.params["q"])
        runs.append(fingerprint(study))
    assert runs[0] == runs[1]


def test_different_seeds_give_different_params(name: str) -> None:
    if name in EXHAUSTIVE:
        pytest.skip(f"{name!r} enumerates a fixed grid whatever the seed")
    runs = []
    for seed in (1, 2):
        study = new_study(name, seed=seed)
        study.optimize(objective_for(name), n_trials=15)
        runs.append(fingerprint(study))
    assert runs[0] != runs[1]
    assert runs[0][5:] != runs[1][5:]  # not only the first trials


def test_values_respect_bounds_log_step_int_and_choices(name: str) -> None:
    space = space_for(name)
    study = new_study(name, seed=2)
    study.optimize(objective_for(name), n_trials=40)
    assert [t.state for t in study.trials] == [hs.TrialState.COMPLETE] * 40
    for t in study.trials:
        assert set(t.params) == set(space)
        assert_allowed(t.params, space)


def test_conditional_define_by_run_spaces(name: str) -> None:
    discrete = name in DISCRETE_ONLY
    space = {
        "kind": hs.Categorical(["linear", "tree", None]),
        "alpha": hs.Float(1e-3, 1.0, log=not discrete, step=None if not discrete else 0.001),
        "depth": hs.Int(1, 8),
        "leaf": hs.Categorical([True, False]),
    }

    def objective(trial: hs.Trial) -> float:
        kind = trial.suggest("kind", space["kind"])
        if kind == "linear":
            return trial.suggest("alpha", space["alpha"])
        if kind == "tree":
            depth = trial.suggest("depth", space["depth"])
            return depth + (0.5 if trial.suggest("leaf", space["leaf"]) else 0.0)
        return 3.0

    study = new_study(name, seed=5)
    study.optimize(objective, n_trials=40)
    done = study.get_trials(states=[hs.TrialState.COMPLETE])
    assert len(done) == len(study.trials) == 40
    expected = {"linear": {"kind", "alpha"}, "tree": {"kind", "depth", "leaf"}, None: {"kind"}}
    for t in done:
        assert_allowed(t.params, space)
        assert set(t.params) == expected[t.params["kind"]]
    assert {t.params["kind"] for t in done} == {"linear", "tree", None}


def test_enqueued_params_come_first(name: str) -> None:
    fixed = {"q": 0.75, "c": None, "n": 32}
    study = new_study(name, seed=1)
    study.enqueue_trial(fixed)
    study.optimize(objective_for(name), n_trials=4)
    first = study.trials[0]
    assert first.state == hs.TrialState.COMPLETE
    assert {k: first.params[k] for k in fixed} == fixed
    assert_allowed(first.params, space_for(name))
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)


def test_ask_with_a_declared_space(name: str) -> None:
    space = space_for(name)
    study = new_study(name, seed=4)
    for i in range(12):
        trial = study.ask(space)
        assert set(trial.params) == set(space)
        assert_allowed(trial.params, space)
        study.tell(trial, float(i))
    assert len(study.get_trials(states=[hs.TrialState.COMPLETE])) == 12


def test_multi_objective_studies(name: str) -> None:
    study = new_study(name, seed=6, directions=["minimize", "maximize"])

    def objective(trial: hs.Trial) -> tuple[float, float]:
        value = objective_for(name)(trial)
        return value, -abs(value - 3.0)

    if name in SINGLE_OBJECTIVE:  # a clear refusal, and no trial left RUNNING
        with pytest.raises(hs.InvalidArgumentError, match="objective"):
            study.optimize(objective, n_trials=20)
        assert all(t.state != hs.TrialState.RUNNING for t in study.trials)
        return
    study.optimize(objective, n_trials=20)
    assert [t.state for t in study.trials] == [hs.TrialState.COMPLETE] * 20
    assert all(t.values is not None and len(t.values) == 2 for t in study.trials)
    for t in study.trials:
        assert_allowed(t.params, space_for(name))
    assert study.best_trials


def test_pending_trials_get_distinct_params(name: str) -> None:
    space = space3_for(name)
    study = new_study(name, seed=8)
    for _ in range(3):  # some history, so model-based samplers are past their first trial
        study.tell(study.ask(space), 0.5)
    declared = [study.ask(space) for _ in range(8)]
    pending = [study.ask() for _ in range(8)]  # asked together, suggested afterwards
    points = [tuple(t.params[k] for k in space) for t in declared]
    points += [tuple(t.suggest(k, d) for k, d in space.items()) for t in pending]
    for p in points:
        assert_allowed(dict(zip(space, p, strict=True)), space)
    assert len(set(points[:8])) == 8, "trials asked with a declared space repeat each other"
    assert len(set(points[8:])) == 8, "define-by-run trials asked together repeat each other"


def test_optimize_with_threads(name: str) -> None:
    study = new_study(name, seed=9)
    study.optimize(objective_for(name), n_trials=24, n_jobs=2)
    assert len(study.trials) == 24
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert_allowed(t.params, space_for(name))


def test_a_resumed_study_continues_as_if_never_stopped(name: str) -> None:
    # Samplers keep no state beyond caches: a fresh sampler on the stored trials goes on the same.
    storage = hs.InMemoryStorage()
    study = hs.create_study(study_name="r", storage=storage, sampler=make_sampler(name), seed=12)
    study.optimize(objective_for(name), n_trials=10)
    resumed = hs.load_study("r", storage, sampler=make_sampler(name))
    resumed.optimize(objective_for(name), n_trials=10)
    straight = new_study(name, seed=12)
    straight.optimize(objective_for(name), n_trials=20)
    assert fingerprint(resumed) == fingerprint(straight)

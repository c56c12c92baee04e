"""GPSampler through the Study API: determinism, allowed values, conditional spaces, batches."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers.gp import GPSampler
from param_checks import assert_allowed

MIXED: dict[str, hs.Distribution] = {
    "x": hs.Float(-5.0, 5.0),
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "q": hs.Float(0.0, 1.0, step=0.25),
    "n": hs.Int(1, 64, log=True),
    "k": hs.Int(0, 10, step=2),
    "c": hs.Categorical(["a", None, True, False, 1, 2.5]),
}


def mixed_objective(trial: hs.Trial) -> float:
    p = {name: trial.suggest(name, dist) for name, dist in MIXED.items()}
    c = p["c"]
    return float(
        (p["x"] - 1) ** 2
        + p["q"]
        + abs(p["k"] - 4)
        + abs(math.log10(p["lr"]) + 3)
        + abs(math.log(p["n"]) - 2)
        + (c is None)
        + 2 * (c is True)
    )


def fingerprint(study: hs.Study) -> list[str]:
    return [
        repr(sorted((k, type(v).__name__, v) for k, v in t.params.items())) for t in study.trials
    ]


def run(seed: int, n_trials: int = 14, **kwargs: Any) -> hs.Study:
    study = hs.create_study(sampler=GPSampler(n_startup_trials=5, **kwargs), seed=seed)
    study.optimize(mixed_objective, n_trials=n_trials)
    return study


def test_same_seed_gives_bit_identical_params_and_another_seed_does_not() -> None:
    a, b, c = run(3), run(3), run(4)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a)[5:] != fingerprint(c)[5:]


def test_values_respect_log_int_step_and_choices() -> None:
    study = run(1, n_trials=16)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert set(t.params) == set(MIXED)
        assert_allowed(t.params, MIXED)
    assert study.best_value < 6.0


def test_conditional_define_by_run_space() -> None:
    space = {
        "kind": hs.Categorical(["linear", "tree", None]),
        "alpha": hs.Float(1e-3, 1.0, log=True),
        "depth": hs.Int(1, 8),
        "leaf": hs.Categorical([True, False]),
    }

    def objective(trial: hs.Trial) -> float:
        kind = trial.suggest("kind", space["kind"])
        if kind == "linear":
            return trial.suggest("alpha", space["alpha"])
        if kind == "tree":
            return trial.suggest("depth", space["depth"]) + 0.5 * trial.suggest(
                "leaf", space["leaf"]
            )
        return 3.0

    study = hs.create_study(sampler=GPSampler(n_startup_trials=4), seed=5)
    study.optimize(objective, n_trials=16)
    expected = {"linear": {"kind", "alpha"}, "tree": {"kind", "depth", "leaf"}, None: {"kind"}}
    for t in study.trials:
        assert t.state == hs.TrialState.COMPLETE
        assert_allowed(t.params, space)
        assert set(t.params) == expected[t.params["kind"]]


@pytest.mark.parametrize(
    "space",
    [
        {f"p{i}": hs.Float(-1.0, 1.0) for i in range(3)},
        {"a": hs.Int(0, 3), "b": hs.Categorical(["u", "v", "w"])},  # 12 points in all
    ],
    ids=["continuous", "small-discrete"],
)
def test_asked_but_not_told_trials_are_pairwise_distinct(space: dict[str, hs.Distribution]) -> None:
    study = hs.create_study(sampler=GPSampler(n_startup_trials=5), seed=8)
    for i in range(6):
        trial = study.ask(space)
        study.tell(trial, float(i % 3))
    pending = [study.ask() for _ in range(4)]  # the joint space is sampled at ask()
    points = [tuple(t.suggest(k, d) for k, d in space.items()) for t in pending]
    for t in pending:
        assert_allowed(t.params, space)
    assert len(set(points)) == 4


def test_startup_is_a_scrambled_sobol_sequence() -> None:
    space = {"a": hs.Float(0.0, 1.0), "b": hs.Float(0.0, 1.0)}
    study = hs.create_study(sampler=GPSampler(n_startup_trials=8), seed=2)
    study.tell(study.ask(space), 0.0)
    points = np.array(
        [[t.params["a"], t.params["b"]] for t in (study.ask(space) for _ in range(7))]
    )
    from scipy.stats import qmc

    assert qmc.discrepancy(points) < qmc.discrepancy(np.random.default_rng(0).random((7, 2)))
    random_startup = hs.create_study(sampler=GPSampler(startup="random"), seed=2)
    random_startup.tell(random_startup.ask(space), 0.0)
    assert random_startup.ask(space).params != study.trials[1].params


def test_failed_and_pruned_trials_are_ignored() -> None:
    space = {"x": hs.Float(-2.0, 2.0)}
    study = hs.create_study(sampler=GPSampler(n_startup_trials=3), seed=0)
    for i in range(10):
        trial = study.ask(space)
        if i % 3 == 1:
            study.tell(trial, state=hs.TrialState.PRUNED)
        elif i % 3 == 2:
            study.tell(trial, state=hs.TrialState.FAILED)
        else:
            study.tell(trial, trial.params["x"] ** 2)
    assert_allowed(study.ask(space).params, space)


def test_multi_objective_studies_use_random_scalarizations() -> None:
    study = hs.create_study(
        sampler=GPSampler(n_startup_trials=4), seed=6, directions=["minimize", "maximize"]
    )

    def objective(trial: hs.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        return x**2 + y, -((x - 1) ** 2) - y

    study.optimize(objective, n_trials=12)
    assert len(study.best_trials) >= 2


def test_infinite_values_and_a_constant_objective() -> None:
    space = {"x": hs.Float(0.0, 1.0), "y": hs.Int(0, 5)}
    for values in ([1.0, math.inf, -math.inf, 2.0, 0.5], [3.0] * 5):
        study = hs.create_study(sampler=GPSampler(n_startup_trials=5), seed=1)
        for v in values:
            study.tell(study.ask(space), v)
        for _ in range(2):
            trial = study.ask(space)
            assert_allowed(trial.params, space)
            study.tell(trial, 1.0)


def test_finds_the_minimum_of_a_smooth_function_quickly() -> None:
    study = hs.create_study(
        sampler=GPSampler(n_startup_trials=5, deterministic_objective=True), seed=0
    )
    study.optimize(lambda t: (t.suggest_float("x", -3.0, 3.0) - 1.234) ** 2, n_trials=14)
    assert study.best_value < 1e-3


def test_pickled_sampler_continues_identically() -> None:
    sampler = GPSampler(n_startup_trials=5)
    copy = pickle.loads(pickle.dumps(run(0, n_trials=7).sampler))
    a = hs.create_study(sampler=sampler, seed=9)
    b = hs.create_study(sampler=copy, seed=9)
    for study in (a, b):
        study.optimize(mixed_objective, n_trials=9)
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_startup_trials": 0}, hs.InvalidArgumentError),
        ({"n_startup_trials": 2.5}, hs.InvalidTypeError),
        ({"n_startup_trials": True}, hs.InvalidTypeError),
        ({"startup": "lhs"}, hs.InvalidArgumentError),
        ({"output_transform": "log"}, hs.InvalidArgumentError),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs: dict[str, Any], error: type[Exception]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(error, match=f"`{name}`"):
        GPSampler(**kwargs)

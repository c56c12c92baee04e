"""Outcome constraints: stored with the result, never best when broken, any storage."""

from __future__ import annotations

from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout import InvalidArgumentError, InvalidTypeError


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    return None if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"


def _objective(trial: hs.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    return (x - 0.9) ** 2  # unconstrained optimum at 0.9


def test_constraints_func_keeps_broken_trials_from_being_best(storage: str | None) -> None:
    study = hs.create_study(storage=storage, sampler="random", seed=0)
    study.optimize(_objective, n_trials=40, constraints_func=lambda t: [t.params["x"] - 0.5])
    trials = study.trials
    assert all(t.system_attrs["constraints"] == [t.params["x"] - 0.5] for t in trials)
    feasible = [t for t in trials if t.params["x"] <= 0.5]
    assert feasible and len(feasible) < len(trials)  # both kinds were sampled
    assert study.best_trial.number == min(feasible, key=lambda t: t.value).number
    assert study.best_params["x"] <= 0.5


def test_set_constraints_inside_the_objective_and_with_ask_tell(storage: str | None) -> None:
    study = hs.create_study(storage=storage, directions=["minimize", "minimize"], seed=1)

    def two(trial: hs.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.set_constraints([0.2 - x, x - 0.8])  # feasible when 0.2 <= x <= 0.8
        return x, 1.0 - x

    study.optimize(two, n_trials=30)
    front = study.best_trials
    assert front and all(0.2 <= t.params["x"] <= 0.8 for t in front)
    assert any(not 0.2 <= t.params["x"] <= 0.8 for t in study.trials)
    asked = study.ask()
    asked.suggest_float("x", 0.0, 1.0)
    asked.set_constraints([1.0])  # broken
    study.tell(asked, (-1.0, -1.0))  # dominates everything, but infeasible
    assert asked.number not in {t.number for t in study.best_trials}
    assert study.trials[asked.number].system_attrs["constraints"] == [1.0]


def test_no_feasible_trial_means_no_best_trial(tmp_path: Path) -> None:
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'n.db'}")
    study.optimize(_objective, n_trials=3, constraints_func=lambda t: [1.0])
    with pytest.raises(hs.TrialStateError, match="no COMPLETE trial that satisfies"):
        _ = study.best_trial


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ([], InvalidTypeError),
        ("x", InvalidTypeError),
        ([float("nan")], InvalidTypeError),
        ([True], InvalidTypeError),
    ],
)
def test_bad_constraint_values_are_refused(values: object, error: type[Exception]) -> None:
    study = hs.create_study()
    trial = study.ask()
    with pytest.raises(error, match=r"`values` must be|constraint values must be"):
        trial.set_constraints(values)  # type: ignore[arg-type]


def test_a_non_callable_constraints_func_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="`constraints_func` must be a function"):
        hs.create_study().optimize(_objective, n_trials=1, constraints_func=3)  # type: ignore[arg-type]

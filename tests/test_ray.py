"""``executor="ray"``: trials as Ray actors on a real local Ray runtime (2 CPUs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout import InvalidArgumentError, TrialState

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_runtime() -> Iterator[None]:
    here = str(Path(__file__).parent)  # the actors unpickle objectives defined in this module
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([here, *sys.path])}},
    )
    yield
    ray.shutdown()


def _objective(trial: hs.Trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    k = trial.suggest_categorical("k", ["a", "b"])
    trial.set_user_attr("pid", os.getpid())
    return (x - 0.5) ** 2 + (0.0 if k == "a" else 0.1)


def test_trials_run_in_ray_actors_and_land_in_the_storage(tmp_path: Path) -> None:
    seen: list[int] = []
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", sampler="tpe", seed=1)
    study.optimize(
        _objective,
        n_trials=30,
        n_jobs=2,
        executor="ray",
        callbacks=[lambda s, t: seen.append(t.number)],
    )
    trials = study.trials
    assert [t.number for t in trials] == list(range(30))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(seen) == list(range(30))  # callbacks ran on the driver for every trial
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # two long-lived actors
    assert study.best_value < 0.05  # TPE on the driver still optimizes


def test_ray_with_postgresql_and_the_study_budget(postgres_url: str) -> None:
    study = hs.create_study(storage=postgres_url, sampler="random", seed=2)
    study.set_budget(n_trials=12)
    study.work(_objective, n_jobs=2, executor="ray")
    assert [t.number for t in study.trials] == list(range(12))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def _dies_on_trial_3(trial: hs.Trial) -> float:
    if trial.number == 3:
        os._exit(1)  # the actor's process dies mid-trial
    return _objective(trial)


def test_a_lost_actor_fails_its_trial_and_the_study_goes_on(tmp_path: Path) -> None:
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'd.db'}", sampler="random")
    study.optimize(_dies_on_trial_3, n_trials=8, n_jobs=2, executor="ray")
    states = [t.state for t in study.trials]
    assert states[3] == TrialState.FAILED
    assert "Ray actor lost" in study.trials[3].system_attrs["fail_reason"]
    assert states.count(TrialState.COMPLETE) == 7


class _Boom(RuntimeError):
    pass


def _raises(trial: hs.Trial) -> float:
    trial.suggest_float("x", 0, 1)
    raise _Boom("objective bug")


def test_an_uncaught_exception_fails_the_trial_and_propagates(tmp_path: Path) -> None:
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'e.db'}")
    with pytest.raises(_Boom, match="objective bug"):
        study.optimize(_raises, n_trials=4, n_jobs=1, executor="ray", catch=())
    assert study.trials[0].state == TrialState.FAILED
    assert not any(t.state == TrialState.RUNNING for t in study.trials)
    caught = hs.create_study(storage=f"sqlite:///{tmp_path / 'c.db'}")
    caught.optimize(_raises, n_trials=3, n_jobs=1, executor="ray")  # caught: recorded, go on
    assert [t.state for t in caught.trials] == [TrialState.FAILED] * 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"storage": None}, "needs a storage the Ray workers can open"),
        ({"resources": {"cpus": 1}}, "`resources` must be a dict with keys among"),
        ({"executor": "thread", "resources": {"num_cpus": 1}}, "applies to executor='ray'"),
    ],
)
def test_bad_ray_arguments_are_refused(kwargs: dict[str, Any], match: str, tmp_path: Path) -> None:
    storage = kwargs.pop("storage", f"sqlite:///{tmp_path / 'b.db'}")
    study = hs.create_study(storage=storage)
    options: dict[str, Any] = {"executor": "ray", **kwargs}
    with pytest.raises(InvalidArgumentError, match=match):
        study.optimize(_objective, n_trials=1, **options)
    assert study.trials == []  # nothing was started


def test_an_objective_the_workers_cannot_import_is_a_clear_error(tmp_path: Path) -> None:
    import types

    module = types.ModuleType("only_on_the_driver")
    exec("def objective(trial):\n    return trial.suggest_float('x', 0, 1)\n", module.__dict__)
    module.objective.__module__ = "only_on_the_driver"
    sys.modules["only_on_the_driver"] = module
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'i.db'}")
    try:
        with pytest.raises(hs.HyperscoutError, match="a Ray actor could not start"):
            study.optimize(module.objective, n_trials=2, executor="ray")
    finally:
        del sys.modules["only_on_the_driver"]
    assert study.trials == []

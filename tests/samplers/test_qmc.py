"""QMCSampler: the sequence it follows, restarts, concurrency, parameters off the joint space."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import qmc

import hyperscout as hs
from hyperscout.samplers import make_sampler
from hyperscout.samplers._qmc import QMCSampler

SPACE = {"x": hs.Float(-2.0, 2.0), "lr": hs.Float(1e-4, 1.0, log=True), "k": hs.Int(0, 7)}


def run(sampler: QMCSampler, n: int, seed: int = 0) -> list[dict[str, object]]:
    study = hs.create_study(sampler=sampler, seed=seed)
    for _ in range(n):
        t = study.ask(SPACE)
        study.tell(t, 0.0)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("qmc_type", ["sobol", "halton"])
def test_unscrambled_trials_follow_the_scipy_sequence(qmc_type: str) -> None:
    n = 16
    params = run(QMCSampler(qmc_type=qmc_type, scramble=False), n + 1)
    names = sorted(SPACE)  # the sequence's dimensions are the parameters in name order
    engine = qmc.Sobol(3, scramble=False) if qmc_type == "sobol" else qmc.Halton(3, scramble=False)
    u = engine.random(n)
    for i, p in enumerate(params[1:]):  # trial 0 is random: it defines the joint space
        expected = {
            name: SPACE[name].to_external(float(SPACE[name].from_unit(u[i, j])))
            for j, name in enumerate(names)
        }
        assert p == expected


@pytest.mark.parametrize("qmc_type", ["sobol", "halton"])
def test_scrambled_points_are_stratified(qmc_type: str) -> None:
    # A scrambled Sobol' sequence keeps its net property: 8 points in 1-d fill 8 cells once each.
    study = hs.create_study(sampler=QMCSampler(qmc_type=qmc_type), seed=3)
    study.optimize(lambda t: t.suggest_int("k", 0, 7), n_trials=9)
    ks = [t.params["k"] for t in study.trials[1:]]
    if qmc_type == "sobol":
        assert sorted(ks) == list(range(8))
    else:
        assert len(set(ks)) >= 6


def test_the_scramble_follows_the_study_seed() -> None:
    assert run(QMCSampler(), 10, seed=1) == run(QMCSampler(), 10, seed=1)
    assert run(QMCSampler(), 10, seed=1)[1:] != run(QMCSampler(), 10, seed=2)[1:]
    # unscrambled, the seed only changes the first (random) trial
    assert run(QMCSampler(scramble=False), 5, 1)[1:] == run(QMCSampler(scramble=False), 5, 2)[1:]


def test_one_sampler_serves_studies_at_any_position_of_the_sequence() -> None:
    fresh = run(QMCSampler(), 12, seed=5)
    shared = QMCSampler()
    run(shared, 20, seed=5)  # the cached engine is now far ahead
    assert run(shared, 12, seed=5) == fresh


def test_a_restarted_study_continues_the_same_sequence() -> None:
    storage = hs.InMemoryStorage()
    study = hs.create_study(study_name="q", storage=storage, sampler=QMCSampler(), seed=9)
    for _ in range(6):
        study.tell(study.ask(SPACE), 1.0)
    again = hs.load_study("q", storage, sampler=QMCSampler())
    for _ in range(6):
        again.tell(again.ask(SPACE), 1.0)
    assert [t.params for t in again.trials] == run(QMCSampler(), 12, seed=9)


def test_failed_trials_without_parameters_do_not_use_up_points() -> None:
    def objective(trial: hs.Trial) -> float:
        if trial.number in (2, 3):
            raise RuntimeError("failed before suggesting")
        return trial.suggest_float("x", 0, 1)

    study = hs.create_study(sampler=QMCSampler(scramble=False), seed=0)
    study.optimize(objective, n_trials=8)
    xs = [t.params["x"] for t in study.trials if t.state == hs.TrialState.COMPLETE]
    assert xs[1:] == [0.0, 0.5, 0.75, 0.25, 0.375]  # the Sobol' sequence without gaps


def test_pending_trials_take_different_points() -> None:
    study = hs.create_study(sampler=QMCSampler(), seed=0)
    study.tell(study.ask(SPACE), 0.0)
    define_by_run = [study.ask() for _ in range(4)]  # asked together, suggested later
    declared = [study.ask(SPACE) for _ in range(4)]
    params = [tuple(t.suggest(n, d) for n, d in SPACE.items()) for t in define_by_run]
    params += [tuple(t.params[n] for n in SPACE) for t in declared]
    assert len(set(params)) == 8


def test_parameters_outside_the_joint_space_are_random_and_reproducible() -> None:
    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number >= 1:
            x += trial.suggest_float("extra", 10, 20)  # not in the first trial's space
        y = trial.suggest_float("y", 0, 1) if trial.number % 2 else 0.0
        return x + y

    def once() -> list[dict[str, object]]:
        study = hs.create_study(sampler=QMCSampler(), seed=1)
        study.optimize(objective, n_trials=12)
        assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
        return [t.params for t in study.trials]

    first = once()
    assert first == once()
    extras = [p["extra"] for p in first[1:]]
    assert all(10 <= e <= 20 for e in extras) and len(set(extras)) == len(extras)


def test_threads_get_distinct_points() -> None:
    study = hs.create_study(sampler=QMCSampler(), seed=0)
    study.optimize(lambda t: sum(t.suggest(n, d) for n, d in SPACE.items()), 40, n_jobs=4)
    done = [tuple(t.params.values()) for t in study.trials]
    assert len(done) == 40 and len(set(done)) == 40


def test_bad_arguments_are_rejected_with_the_fix() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="`qmc_type` must be 'sobol' or 'halton'"):
        QMCSampler(qmc_type="lhs")
    with pytest.raises(hs.InvalidTypeError, match="`scramble` must be True or False"):
        QMCSampler(scramble="yes")  # type: ignore[arg-type]
    assert repr(QMCSampler(qmc_type="Halton")) == "QMCSampler(qmc_type='halton', scramble=True)"


def test_registry_and_pickle() -> None:
    sampler = make_sampler("qmc")
    assert isinstance(sampler, QMCSampler) and isinstance(sampler, hs.Sampler)
    run(sampler, 5)  # warm its cache: the copy must not carry engines or locks
    copy = pickle.loads(pickle.dumps(sampler))
    assert run(copy, 8, seed=2) == run(QMCSampler(), 8, seed=2)


def test_points_decode_through_each_distribution() -> None:
    space = {
        "c": hs.Categorical([None, True, "a"]),
        "n": hs.Int(1, 1000, log=True),
        "q": hs.Float(0, 1, step=0.1),
    }
    study = hs.create_study(sampler=QMCSampler(), seed=0)
    for _ in range(40):
        study.tell(study.ask(space), 0.0)
    for t in study.trials:
        assert all(space[name].contains(value) for name, value in t.params.items())
    assert {repr(t.params["c"]) for t in study.trials} == {"None", "True", "'a'"}
    assert np.ptp([np.log(t.params["n"]) for t in study.trials]) > 0.8 * np.log(1000)

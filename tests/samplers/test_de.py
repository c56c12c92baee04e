"""DESampler: convergence, adaptation, replay after restarts and with workers, encodings, args."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import StudyView
from hyperscout.samplers._de import DESampler, DEState, default_population_size

SHIFT = np.array([1.3, -0.7, 2.1, -1.9, 0.4])


def sphere(z: np.ndarray) -> float:
    return float(np.sum(z * z))


def rosenbrock(z: np.ndarray) -> float:
    return float(np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))


def rastrigin(z: np.ndarray) -> float:
    return float(10 * len(z) + np.sum(z * z - 10 * np.cos(2 * np.pi * z)))


def box(d: int, bound: float = 5.0) -> dict[str, hs.Distribution]:
    return {f"x{i}": hs.Float(-bound, bound) for i in range(d)}


def minimize(
    f: Callable[[np.ndarray], float], space: dict[str, hs.Distribution], n: int, **kwargs: Any
) -> tuple[hs.Study, DESampler]:
    sampler = DESampler(**{k: v for k, v in kwargs.items() if k != "seed"})
    study = hs.create_study(sampler=sampler, seed=kwargs.get("seed", 0))
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, f(np.array([trial.params[k] for k in space])))
    return study, sampler


def state_of(study: hs.Study, sampler: DESampler) -> DEState:
    state = sampler.state(StudyView(study.trials, study.directions, study.seed))
    assert state is not None
    return state


def fingerprint(study: hs.Study) -> list[str]:
    return [
        repr(sorted((k, type(v).__name__, v) for k, v in t.params.items())) for t in study.trials
    ]


# -- it optimizes -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("f", "shift", "budget", "target"),
    [(sphere, SHIFT, 1000, 1e-6), (rosenbrock, 0.0, 1500, 1e-3), (rastrigin, SHIFT, 1500, 1e-3)],
    ids=["sphere", "rosenbrock", "rastrigin"],
)
def test_minimizes_classic_functions_in_5d(
    f: Callable[[np.ndarray], float], shift: Any, budget: int, target: float
) -> None:
    study, _ = minimize(lambda x: f(x - shift), box(5), budget, seed=1)
    assert study.best_value < target
    # random search with the same budget stays far away
    rng = np.random.default_rng(1)
    assert min(f(x - shift) for x in rng.uniform(-5, 5, (budget, 5))) > 100 * target


def test_maximization_is_minimization_of_the_negative() -> None:
    space = box(3)
    lo, _ = minimize(sphere, space, 300, seed=3)
    hi = hs.create_study(sampler=DESampler(), seed=3, direction="maximize")
    for _ in range(300):
        trial = hi.ask(space)
        hi.tell(trial, -sphere(np.array([trial.params[k] for k in space])))
    assert fingerprint(hi) == fingerprint(lo)


# -- it adapts ----------------------------------------------------------------------------------
def test_memories_adapt_crossover_rate_to_separability() -> None:
    # SHADE's M_CR falls on separable functions (change few coordinates at once) and rises on
    # rotated, non-separable ones (Tanabe & Fukunaga 2013, Sec. V).
    d = 10
    rotation, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(d, d)))
    mean_cr = {}
    for rotated in (False, True):
        crs = []
        for seed in (0, 1):
            study, sampler = minimize(
                lambda x, r=rotated: rastrigin(rotation @ (x - 1) if r else x - 1),
                box(d),
                800,
                seed=seed,
            )
            memory = state_of(study, sampler).memory_cr
            crs.append(np.where(memory < 0, 0.0, memory).mean())  # -1: terminal, CR = 0
        mean_cr[rotated] = float(np.mean(crs))
    assert mean_cr[False] < 0.5 < mean_cr[True]
    assert mean_cr[True] - mean_cr[False] > 0.25


def test_scale_factor_memory_moves_away_from_its_start() -> None:
    study, sampler = minimize(sphere, box(5), 600, seed=2)
    state = state_of(study, sampler)
    assert not np.allclose(state.memory_f, 0.5)
    assert np.all((state.memory_f > 0) & (state.memory_f <= 1))


def test_population_shrinks_linearly_with_a_budget_hint() -> None:
    sizes = []
    sampler = DESampler(population_size=20, n_trials_hint=200)
    study = hs.create_study(sampler=sampler, seed=0)
    space = box(4)
    for i in range(200):
        trial = study.ask(space)
        study.tell(trial, sphere(np.array(list(trial.params.values()))))
        if i % 50 == 49:
            sizes.append(state_of(study, sampler).population_size)
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] < 20 and sizes[-1] == 4
    assert state_of(study, sampler).archive_size <= 4  # archive_rate 1.0 follows NP down


# -- replay: restarts, workers, failures --------------------------------------------------------
def objective(trial: hs.Trial) -> float:
    x = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(3)]
    k = trial.suggest_int("k", 1, 64, log=True)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    if trial.number % 7 == 3:
        raise RuntimeError("a failed trial")
    return sum(v * v for v in x) + abs(k - 8) + (c != "b")


RESUME = """
import sys
import hyperscout as hs
import hyperscout.samplers as registry
from hyperscout.samplers._de import DESampler
sys.path.insert(0, sys.argv[3])
from test_de import objective

registry.SAMPLERS.setdefault("de", lambda: DESampler)  # in case the registry lacks it
study = hs.load_study("halves", sys.argv[1], sampler="de")
study.optimize(objective, n_trials=int(sys.argv[2]))
"""


def test_a_study_resumed_in_a_new_process_continues_bit_identically(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "de.db")
    study = hs.create_study(storage=url, study_name="halves", sampler=DESampler(), seed=123)
    study.optimize(objective, n_trials=45)
    here = str(Path(__file__).parent)
    subprocess.run([sys.executable, "-c", RESUME, url, "45", here], check=True, timeout=120)
    straight = hs.create_study(sampler=DESampler(), seed=123)
    straight.optimize(objective, n_trials=90)
    halves = hs.load_study("halves", url, sampler="random")
    assert len(halves.trials) == 90
    assert fingerprint(halves) == fingerprint(straight)
    assert [t.state for t in halves.trials] == [t.state for t in straight.trials]
    assert sum(t.state == hs.TrialState.FAILED for t in halves.trials) == 13


class ColdTwin:
    """A warm DESampler that checks every suggestion against a fresh one on the same view."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.warm = DESampler(**kwargs)
        self.calls = 0

    def joint_space(self, view: StudyView) -> dict[str, hs.Distribution]:
        return self.warm.joint_space(view)

    def suggest(
        self, view: StudyView, space: Mapping[str, hs.Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        state = rng.bit_generator.state
        warm = self.warm.suggest(view, space, rng)
        rng.bit_generator.state = state
        cold = DESampler(**self.kwargs).suggest(view, space, rng)
        assert repr(warm) == repr(cold), f"trial {view.current}: cache {warm} != cold {cold}"
        self.calls += 1
        return warm


def test_the_cache_matches_a_cold_replay_under_out_of_order_results() -> None:
    # Workers finish in any order, fail, get pruned or hang: the cached state must always be
    # what replaying the trials from scratch gives.
    space = {**box(3), "k": hs.Int(0, 9), "c": hs.Categorical(["a", "b", "c"])}
    twin = ColdTwin(population_size=5, n_trials_hint=100)
    study = hs.create_study(sampler=twin, seed=4)
    rng = np.random.default_rng(0)
    stuck = study.ask(space)  # never finishes
    pending: list[hs.Trial] = []
    for _ in range(100):
        pending.append(study.ask(space))
        while len(pending) > int(rng.integers(0, 5)):
            trial = pending.pop(int(rng.integers(len(pending))))
            roll = rng.random()
            if roll < 0.1:
                study.tell(trial, state=hs.TrialState.FAILED)
            elif roll < 0.15:
                study.tell(trial, state=hs.TrialState.PRUNED)
            else:
                p = trial.params
                study.tell(trial, sphere(np.array([p["x0"], p["x1"], p["x2"]])) + p["k"])
    assert twin.calls == 101
    assert stuck.number == 0
    assert len(study.get_trials(states=[hs.TrialState.COMPLETE])) > 60


def test_failed_pruned_and_running_trials_never_join_the_population() -> None:
    space = box(2)
    sampler = DESampler(population_size=4)
    study = hs.create_study(sampler=sampler, seed=0)
    finished: dict[int, float] = {}
    for i in range(40):
        trial = study.ask(space)
        if i % 5 == 1:
            study.tell(trial, state=hs.TrialState.FAILED)
        elif i % 5 == 2:
            study.tell(trial, state=hs.TrialState.PRUNED)
        elif i % 5 == 3:
            continue  # left running
        else:
            finished[trial.number] = sphere(np.array(list(trial.params.values())))
            study.tell(trial, finished[trial.number])
    state = state_of(study, sampler)
    assert set(state.numbers) <= set(finished)
    assert [finished[n] for n in state.numbers] == list(state.values)
    # a slot keeps the best of the trials that targeted it (trial n targets slot n mod NP)
    for slot in range(4):
        best = min((v for n, v in finished.items() if n % 4 == slot), default=None)
        if best is not None:
            assert best in list(state.values)


def test_worker_threads_share_one_population_and_propose_different_points() -> None:
    d = 4

    def shifted_sphere(trial: hs.Trial) -> float:
        return sphere(np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(d)]) - 1)

    study = hs.create_study(sampler=DESampler(), seed=5)
    study.optimize(shifted_sphere, n_trials=300, n_jobs=2)
    assert len(study.trials) == 300
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    points = {tuple(t.params.values()) for t in study.trials}
    assert len(points) >= 297  # a trial vector may, rarely, land on a long-gone earlier point
    assert study.best_value < 0.1
    # trials asked together (nothing finishes in between) all differ
    asked = [study.ask(box(d)) for _ in range(8)]
    assert len({tuple(t.params.values()) for t in asked}) == 8


# -- encodings ----------------------------------------------------------------------------------
MIXED = {
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "x": hs.Float(-2.0, 3.0),
    "q": hs.Float(0.0, 1.0, step=0.125),
    "n": hs.Int(1, 256, log=True),
    "k": hs.Int(2, 20, step=3),
    "act": hs.Categorical(["relu", None, True, 1.5]),
    "fixed": hs.Float(4.0, 4.0),
}


def mixed_objective(trial: hs.Trial) -> float:
    p = {name: trial.suggest(name, dist) for name, dist in MIXED.items()}
    return (
        (math.log10(p["lr"]) + 3) ** 2
        + (p["x"] - 0.3) ** 2
        + (p["q"] - 0.625) ** 2
        + (math.log2(p["n"]) - 5) ** 2
        + (p["k"] - 11) ** 2 / 10
        + (p["act"] is not None)
    )


def test_values_respect_bounds_steps_logs_ints_and_choices() -> None:
    study = hs.create_study(sampler=DESampler(population_size=8), seed=6)
    study.optimize(mixed_objective, n_trials=250)
    for t in study.trials:
        assert set(t.params) == set(MIXED)
        for name, value in t.params.items():
            dist = MIXED[name]
            assert dist.contains(value), f"{name}={value!r} is outside {dist!r}"
            if isinstance(dist, hs.Int):
                assert type(value) is int
            elif isinstance(dist, hs.Float):
                assert type(value) is float
    assert {t.params["act"] for t in study.trials} == {"relu", None, True, 1.5}
    best = study.best_params
    assert best["act"] is None and best["k"] == 11 and best["q"] == 0.625
    assert abs(math.log2(best["n"]) - 5) <= 1 and abs(math.log10(best["lr"]) + 3) < 0.5


def test_the_joint_space_is_the_first_complete_trials_multi_valued_parameters() -> None:
    sampler = DESampler()
    study = hs.create_study(sampler=sampler, seed=0)
    view = StudyView(study.trials, study.directions, study.seed)
    assert sampler.joint_space(view) == {}
    assert sampler.state(view) is None
    study.optimize(mixed_objective, n_trials=3)
    view = StudyView(study.trials, study.directions, study.seed)
    assert list(sampler.joint_space(view)) == sorted(set(MIXED) - {"fixed"})
    assert sampler.state(view) is not None


def test_parameters_off_the_joint_space_are_drawn_uniformly() -> None:
    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        y = trial.suggest_float("y", -1, 1)
        if trial.number >= 1:  # a parameter the joint space (from trial 0) lacks
            return x * x + y * y + trial.suggest_float("extra", 0, 1)
        return x * x + y * y

    study = hs.create_study(sampler=DESampler(), seed=2)
    study.optimize(objective, n_trials=120)
    extra = np.array([t.params["extra"] for t in study.trials[1:]])
    assert 0.3 < extra.mean() < 0.7 and extra.std() > 0.2  # not optimized, not constant
    assert study.best_value < 0.3


def test_enqueued_trials_join_the_population() -> None:
    study = hs.create_study(sampler=DESampler(population_size=4), seed=0)
    study.enqueue_trial({"x": 0.0, "y": 0.0})
    study.optimize(
        lambda t: t.suggest_float("x", -5, 5) ** 2 + t.suggest_float("y", -5, 5) ** 2, 30
    )
    assert study.trials[0].params == {"x": 0.0, "y": 0.0}
    assert study.best_value == 0.0


def test_small_spaces_and_integer_only_spaces() -> None:
    study = hs.create_study(sampler=DESampler(), seed=1)
    study.optimize(lambda t: (t.suggest_int("a", 0, 3) - 2) ** 2 + t.suggest_int("b", 0, 1), 60)
    assert study.best_value == 0
    one = hs.create_study(sampler=DESampler(), seed=1)
    one.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.5) ** 2, 100)
    assert one.best_value < 1e-3


# -- arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"population_size": 3}, "population_size"),
        ({"population_size": 10.5}, "population_size"),
        ({"population_size": True}, "population_size"),
        ({"memory_size": 0}, "memory_size"),
        ({"memory_size": "5"}, "memory_size"),
        ({"p_best": 0.0}, "p_best"),
        ({"p_best": 1.5}, "p_best"),
        ({"p_best": float("nan")}, "p_best"),
        ({"archive_rate": -1.0}, "archive_rate"),
        ({"archive_rate": float("inf")}, "archive_rate"),
        ({"n_trials_hint": 0}, "n_trials_hint"),
        ({"n_trials_hint": 100.0}, "n_trials_hint"),
    ],
)
def test_bad_arguments_are_rejected_with_the_argument_named(
    kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=f"`{argument}`"):
        DESampler(**kwargs)


def test_multi_objective_studies_are_rejected_clearly() -> None:
    study = hs.create_study(sampler=DESampler(), directions=["minimize", "maximize"])
    with pytest.raises(hs.InvalidArgumentError, match="single-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)


def test_repr_pickle_and_defaults() -> None:
    sampler = DESampler(population_size=12, n_trials_hint=500)
    assert repr(sampler) == (
        "DESampler(population_size=12, memory_size=5, p_best=0.11, archive_rate=1.0, "
        "n_trials_hint=500)"
    )
    study, _ = minimize(sphere, box(3), 40, population_size=6)
    copy = pickle.loads(pickle.dumps(DESampler(population_size=6)))
    again = hs.create_study(sampler=copy, seed=0)
    for _ in range(40):
        trial = again.ask(box(3))
        again.tell(trial, sphere(np.array(list(trial.params.values()))))
    assert fingerprint(again) == fingerprint(study)
    assert default_population_size(2) == 10 and default_population_size(20) == 20

"""NSGAIISampler / NSGAIIISampler: operators, survival, generations, constraints, quality."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.multiobjective import hypervolume
from hyperscout.samplers import StudyView, make_sampler
from hyperscout.samplers._nsga import (
    NSGAIIISampler,
    NSGAIISampler,
    crowding_survival,
    das_dennis,
    default_partitions,
    polynomial_mutation,
    reference_survival,
    sbx,
)
from param_checks import assert_allowed

Objective = Callable[[hs.Trial], tuple[float, ...]]
MIXED: dict[str, hs.Distribution] = {
    "x": hs.Float(-5.0, 5.0),
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "q": hs.Float(0.0, 1.0, step=0.25),
    "n": hs.Int(1, 64, log=True),
    "k": hs.Int(0, 10, step=2),
    "c": hs.Categorical(["a", None, True, 2.5]),
}


def mixed(trial: hs.Trial) -> tuple[float, float]:
    p = {name: trial.suggest(name, dist) for name, dist in MIXED.items()}
    base = p["x"] ** 2 + p["q"] + p["k"] + np.log(p["n"]) + (p["c"] is None)
    return float(base), float((p["x"] - 2) ** 2 + abs(np.log10(p["lr"]) + 3) + (p["c"] == "a"))


def zdt1(trial: hs.Trial, d: int = 10) -> tuple[float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(d)])
    g = 1.0 + 9.0 * x[1:].sum() / (d - 1)
    return float(x[0]), float(g * (1.0 - np.sqrt(x[0] / g)))


def dtlz2(trial: hs.Trial, d: int = 7) -> tuple[float, float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(d)])
    r = 1.0 + float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * np.pi / 2, x[1] * np.pi / 2
    return r * np.cos(a) * np.cos(b), r * np.cos(a) * np.sin(b), r * np.sin(a)


def run(sampler: Any, objective: Objective, n: int, seed: int, m: int = 2) -> hs.Study:
    study = hs.create_study(directions=["minimize"] * m, sampler=sampler, seed=seed)
    study.optimize(objective, n_trials=n)
    return study


def fingerprint(study: hs.Study) -> list[str]:
    return [
        repr(sorted((k, type(v).__name__, v) for k, v in t.params.items())) for t in study.trials
    ]


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return type(a) is type(b) and a == b


def view_of(study: hs.Study) -> StudyView:
    return StudyView(study.trials, study.directions, study.seed)


def front_hv(study: hs.Study, reference: list[float]) -> float:
    values = np.array([t.values for t in study.trials if t.values is not None])
    return hypervolume(values, reference)


# -- arguments, registry, pickling ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"population_size": 1}, "`population_size` must be an int >= 2"),
        ({"population_size": 10.0}, "population_size"),
        ({"population_size": True}, "population_size"),
        ({"crossover_prob": 1.5}, r"`crossover_prob` must be a number in \[0, 1\]"),
        ({"mutation_prob": -0.1}, "mutation_prob"),
        ({"mutation_prob": "0.1"}, "mutation_prob"),
        ({"swap_prob": float("nan")}, "swap_prob"),
        ({"crossover_eta": 0}, r"`crossover_eta` must be a number in \(0"),
        ({"mutation_eta": float("inf")}, "mutation_eta"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    for cls in (NSGAIISampler, NSGAIIISampler):
        with pytest.raises(hs.InvalidArgumentError, match=match):
            cls(**kwargs)


@pytest.mark.parametrize("points", [[1.0, 0.0], [[0.0, 0.0], [1.0, 0.0]], [[np.nan, 1.0]], "ab"])
def test_bad_reference_points_are_refused(points: Any) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="reference_points"):
        NSGAIIISampler(reference_points=points)


def test_reference_points_must_match_the_objectives() -> None:
    sampler = NSGAIIISampler(population_size=4, reference_points=das_dennis(2, 3))
    study = hs.create_study(directions=["minimize"] * 3, sampler=sampler, seed=0)
    with pytest.raises(hs.InvalidArgumentError, match="one column per objective"):
        study.ask({"x": hs.Float(0.0, 1.0)})


def test_registry_repr_and_pickle() -> None:
    assert type(make_sampler("nsga2")) is NSGAIISampler
    assert type(make_sampler("nsga3")) is NSGAIIISampler
    assert hs.samplers.NSGAIISampler is NSGAIISampler
    assert repr(NSGAIISampler(population_size=8)).startswith("NSGAIISampler(population_size=8,")
    assert "reference_points=[[0.0, 1.0]" in repr(NSGAIIISampler(reference_points=das_dennis(2, 1)))
    sampler = NSGAIIISampler(population_size=6)
    runs = [run(s, mixed, 30, seed=1) for s in (sampler, pickle.loads(pickle.dumps(sampler)))]
    assert fingerprint(runs[0]) == fingerprint(runs[1])


# -- determinism, encodings, generations ----------------------------------------------------------
@pytest.mark.parametrize("cls", [NSGAIISampler, NSGAIIISampler])
def test_same_seed_same_params_and_every_value_allowed(cls: type) -> None:
    runs = [run(cls(population_size=8), mixed, 80, seed=3) for _ in range(2)]
    assert fingerprint(runs[0]) == fingerprint(runs[1])
    assert fingerprint(runs[0]) != fingerprint(run(cls(population_size=8), mixed, 80, seed=4))
    for t in runs[0].trials:
        assert t.state == hs.TrialState.COMPLETE
        assert set(t.params) == set(MIXED)
        assert_allowed(t.params, MIXED)
    late = runs[0].trials[40:]
    for name in ("n", "k", "c"):  # the genetic operators still reach several values
        assert len({t.params[name] for t in late}) > 1


def test_without_crossover_and_mutation_children_copy_the_parents() -> None:
    sampler = NSGAIISampler(population_size=6, crossover_prob=0.0, mutation_prob=0.0)
    study = run(sampler, mixed, 36, seed=2)
    view = view_of(study)
    for g in range(1, 6):
        parents = [t.params for t in sampler.population(view, g)]
        assert len(parents) == 6
        assert all(t.number < 6 * g for t in sampler.population(view, g))
        for t in study.trials[6 * g : 6 * g + 6]:  # equal up to the unit-cube round trip
            assert any(all(close(t.params[k], p[k]) for k in MIXED) for p in parents)


def test_survivors_are_elitist_across_generations() -> None:
    sampler = NSGAIISampler(population_size=10)
    study = run(sampler, zdt1, 100, seed=0)
    view = view_of(study)
    checked = 0
    for g in range(1, 10):
        survivors = {t.number for t in sampler.population(view, g)}
        done = [t for t in study.trials if t.number < 10 * g]
        values = view.signed_values(done)
        best = np.flatnonzero(hs.multiobjective.is_pareto_efficient(values))
        if len(best) <= 10:  # the whole Pareto front of what was evaluated survives if it fits
            assert {done[i].number for i in best} <= survivors
            checked += 1
    assert checked >= 3


def test_a_resumed_study_continues_as_if_never_stopped() -> None:
    storage = hs.InMemoryStorage()
    first = hs.create_study(
        study_name="r",
        storage=storage,
        directions=["minimize"] * 2,
        sampler=NSGAIISampler(population_size=5),
        seed=12,
    )
    first.optimize(mixed, n_trials=23)
    resumed = hs.load_study("r", storage, sampler=NSGAIISampler(population_size=5))
    resumed.optimize(mixed, n_trials=20)
    straight = run(NSGAIISampler(population_size=5), mixed, 43, seed=12)
    assert fingerprint(resumed) == fingerprint(straight)


def test_failed_trials_never_become_parents() -> None:
    sampler = NSGAIISampler(population_size=6)

    def flaky(trial: hs.Trial) -> tuple[float, float]:
        values = zdt1(trial, d=4)
        if trial.number % 3 == 0:
            raise RuntimeError("boom")
        return values

    study = run(sampler, flaky, 60, seed=5)
    failed = {t.number for t in study.trials if t.state == hs.TrialState.FAILED}
    assert len(failed) == 20
    view = view_of(study)
    for g in range(1, 10):
        parents = sampler.population(view, g)
        assert parents and not {t.number for t in parents} & failed


def test_running_trials_are_missing_and_parallel_asks_differ() -> None:
    sampler = NSGAIISampler(population_size=6)
    study = hs.create_study(directions=["minimize"] * 2, sampler=sampler, seed=1)
    space = {f"x{i}": hs.Float(0.0, 1.0) for i in range(3)}
    for _ in range(5):  # generation 0 with one trial left running
        trial = study.ask(space)
        study.tell(trial, (trial.params["x0"], 1.0 - trial.params["x1"]))
    running = study.ask(space)
    asked = [study.ask(space) for _ in range(6)]  # generation 1, bred from the 5 finished
    assert len(sampler.population(view_of(study), 1)) == 5
    assert len({tuple(t.params.values()) for t in asked}) == 6
    study.tell(running, (0.5, 0.5))
    assert len(sampler.population(view_of(study), 1)) == 6


def test_conditional_parameters_outside_the_joint_space_are_drawn_uniformly() -> None:
    def objective(trial: hs.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.suggest_categorical("kind", ["a", "b"]) == "a":
            return x, trial.suggest_float("alpha", 1e-3, 1.0, log=True)
        return x + 1.0, float(trial.suggest_int("depth", 1, 8))

    sampler = NSGAIISampler(population_size=6)
    study = run(sampler, objective, 60, seed=0)
    assert sampler.joint_space(view_of(study)).keys() == {"x", "kind"}
    assert [t.state for t in study.trials] == [hs.TrialState.COMPLETE] * 60
    assert {t.params["kind"] for t in study.trials} == {"a", "b"}


def test_single_objective_studies_improve_over_generations() -> None:
    def sphere(trial: hs.Trial) -> float:
        return sum((trial.suggest_float(f"x{i}", -3.0, 3.0) - 1.0) ** 2 for i in range(4))

    study = hs.create_study(sampler=NSGAIISampler(population_size=10), seed=0)
    study.optimize(sphere, n_trials=150)
    values = np.array([t.value for t in study.trials])
    assert values[-10:].mean() < values[:10].mean() / 5
    assert study.best_value < 0.3


# -- operators ------------------------------------------------------------------------------------
def test_sbx_keeps_children_in_bounds_and_near_the_parents_for_large_eta() -> None:
    g = np.random.default_rng(0)
    x1, x2 = g.random((2, 2000))
    spread = []
    for eta in (2.0, 15.0, 100.0):
        c1, c2 = sbx(x1, x2, eta, g.random(2000))
        assert np.all((c1 >= 0) & (c1 <= 1) & (c2 >= 0) & (c2 <= 1))
        assert np.all(np.abs(c1 - x1) <= np.abs(c1 - x2) + 1e-12)  # c1 on x1's side
        spread.append(float(np.mean(np.abs(c1 - x1) + np.abs(c2 - x2))))
    assert spread[0] > spread[1] > spread[2]
    same, _ = sbx(np.array([0.3, 0.0, 1.0]), np.array([0.3, 0.0, 1.0]), 15.0, np.full(3, 0.9))
    assert same.tolist() == [0.3, 0.0, 1.0]


def test_polynomial_mutation_stays_in_bounds_and_moves_both_ways() -> None:
    g = np.random.default_rng(1)
    y = g.random(4000)
    u = g.random(4000)
    moved = polynomial_mutation(y, 20.0, u)
    assert np.all((moved >= 0) & (moved <= 1))
    assert np.all(moved[u < 0.5] <= y[u < 0.5]) and np.all(moved[u > 0.5] >= y[u > 0.5])
    wide = polynomial_mutation(y, 2.0, u)
    assert np.mean(np.abs(wide - y)) > np.mean(np.abs(moved - y)) > 0


# -- survival -------------------------------------------------------------------------------------
def test_crowding_survival_keeps_the_extremes_and_spreads_the_rest() -> None:
    front = [[0.0, 1.0], [0.1, 0.9], [0.12, 0.88], [0.5, 0.5], [1.0, 0.0]]
    rows, ranks, crowd = crowding_survival([*front, [2.0, 2.0]], None, 4)
    assert rows.tolist() == [0, 2, 3, 4]  # of the two close points, the more crowded one goes
    assert ranks.tolist() == [0, 0, 0, 0]
    assert np.isinf(crowd[0]) and np.isinf(crowd[3])


def test_crowding_survival_prefers_feasible_points() -> None:
    values = [[0.0, 0.0], [0.1, 0.1], [5.0, 5.0], [6.0, 4.0], [7.0, 7.0]]
    violations = [1.0, 0.5, 0.0, 0.0, 0.0]
    rows, ranks, _ = crowding_survival(values, violations, 3)
    assert rows.tolist() == [2, 3, 4]  # feasible, even dominated, beats infeasible
    rows, ranks, _ = crowding_survival(values, violations, 4)
    assert rows.tolist() == [1, 2, 3, 4] and ranks.tolist() == [2, 0, 0, 1]


def test_reference_survival_keeps_one_point_per_direction() -> None:
    refs = das_dennis(2, 2)  # directions (0, 1), (1/2, 1/2), (1, 0)
    front = np.array([[0.0, 1.0], [0.05, 0.8], [0.45, 0.45], [0.5, 0.4], [0.8, 0.05], [1.0, 0.0]])
    dominated = np.array([[2.0, 2.0]])
    rows, ranks, _ = reference_survival(
        np.vstack([front, dominated]), None, 3, refs, np.random.default_rng(0)
    )
    assert ranks.tolist() == [0, 0, 0]
    kept = front[rows]
    angle = np.arctan2(kept[:, 1], kept[:, 0])
    assert sorted(np.digitize(angle, [0.4, 1.2]).tolist()) == [0, 1, 2]
    for seed in range(5):  # whatever the ties draw
        rows, _, _ = reference_survival(front, None, 3, refs, np.random.default_rng(seed))
        assert sorted(np.digitize(np.arctan2(*front[rows].T[::-1]), [0.4, 1.2])) == [0, 1, 2]


def test_reference_survival_fills_whole_fronts_first_and_survives_degenerate_fronts() -> None:
    values = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    rows, ranks, _ = reference_survival(values, None, 2, das_dennis(3, 2), np.random.default_rng(0))
    assert rows[0] == 0 and rows[1] in (1, 2) and ranks.tolist() == [0, 1]
    flat = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    rows, ranks, _ = reference_survival(flat, None, 2, das_dennis(3, 2), np.random.default_rng(0))
    assert len(rows) == 2 and ranks.tolist() == [0, 0]  # one objective constant: no hyperplane


def test_das_dennis_points_and_default_partitions() -> None:
    points = das_dennis(3, 4)
    assert points.shape == (15, 3)
    assert np.allclose(points.sum(axis=1), 1.0) and np.all(points >= 0)
    assert len({tuple(p) for p in points.tolist()}) == 15
    assert default_partitions(3, 20) == 4 and default_partitions(2, 50) == 49
    assert default_partitions(1, 50) == 1 and default_partitions(5, 3) == 1
    assert len(NSGAIIISampler(population_size=92).reference_points(3)) == 91  # Deb & Jain's 12


# -- constraints ----------------------------------------------------------------------------------
def constrained(trial: hs.Trial) -> tuple[float, float]:
    """ZDT1 in 5 dims whose unconstrained front (x1 = 0) is infeasible: x1 >= 0.5 is required."""
    values = zdt1(trial, d=5)
    c = 0.5 - trial.params["x1"]
    trial.study.storage.update_trial(trial.trial_id, system_attrs={"constraints": [c]})
    return values


def feasible_share(study: hs.Study, last: int) -> float:
    trials = study.trials[-last:]
    return float(np.mean([t.system_attrs["constraints"][0] <= 0 for t in trials]))


def test_constraints_steer_the_population_to_the_feasible_half() -> None:
    shares = {}
    for name, sampler in [("nsga2", NSGAIISampler(population_size=20)), ("random", None)]:
        study = run(sampler or hs.RandomSampler(), constrained, 200, seed=0)
        shares[name] = feasible_share(study, 20)
        if name == "nsga2":
            view = view_of(study)
            parents = NSGAIISampler(population_size=20).population(view, 10)
            assert all(t.system_attrs["constraints"][0] <= 0 for t in parents)
    # measured over seeds 0 / 1 / 2: NSGA-II 1.0 / 0.9 / 0.85, random 0.4 / 0.5 / 0.5
    assert shares["nsga2"] >= 0.8 and shares["random"] < 0.7


def test_bad_constraint_values_are_reported() -> None:
    def objective(trial: hs.Trial) -> tuple[float, float]:
        trial.study.storage.update_trial(trial.trial_id, system_attrs={"constraints": "x"})
        return zdt1(trial, d=3)

    study = hs.create_study(
        directions=["minimize"] * 2, sampler=NSGAIISampler(population_size=2), seed=0
    )
    study.optimize(objective, n_trials=2)
    with pytest.raises(hs.InvalidArgumentError, match="constraints"):
        study.optimize(objective, n_trials=1, catch=())


# -- parallel workers -----------------------------------------------------------------------------
def test_parallel_workers_on_sqlite(tmp_path: Any) -> None:
    sampler = NSGAIISampler(population_size=10)
    study = hs.create_study(
        storage=f"sqlite:///{tmp_path / 'nsga.db'}",
        directions=["minimize", "minimize"],
        sampler=sampler,
        seed=0,
    )
    study.optimize(mixed, n_trials=60, n_jobs=3)
    assert len(study.trials) == 60
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert_allowed(t.params, MIXED)
    assert len(sampler.population(view_of(study), 5)) == 10


# -- quality against random search ----------------------------------------------------------------
def test_nsga2_beats_random_search_on_zdt1() -> None:
    reference = [1.1, 11.0]
    nsga = [
        front_hv(run(NSGAIISampler(population_size=20), zdt1, 300, s), reference) for s in range(3)
    ]
    rand = [front_hv(run(hs.RandomSampler(), zdt1, 300, s), reference) for s in range(3)]
    # measured: NSGA-II 10.98 / 10.95 / 10.43, random 9.27 / 9.50 / 9.71 (maximum ~11.43)
    assert np.median(nsga) > np.median(rand) + 0.8
    assert min(nsga) > max(rand)


def test_nsga3_beats_random_search_on_dtlz2() -> None:
    reference = [1.1, 1.1, 1.1]
    sampler: Callable[[], Any] = lambda: NSGAIIISampler(population_size=20)  # noqa: E731
    nsga = [front_hv(run(sampler(), dtlz2, 300, s, m=3), reference) for s in range(3)]
    rand = [front_hv(run(hs.RandomSampler(), dtlz2, 300, s, m=3), reference) for s in range(3)]
    # measured: NSGA-III 0.539 / 0.432 / 0.535, random 0.357 / 0.350 / 0.382 (maximum ~0.808)
    assert np.median(nsga) > np.median(rand) + 0.1
    assert min(nsga) > max(rand)

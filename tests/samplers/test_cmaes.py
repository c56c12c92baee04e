"""CMA-ES: the numpy core on test functions, and the sampler's replay, margin, warm start, args."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import StudyView, make_sampler
from hyperscout.samplers._cmaes import CMAESSampler
from hyperscout.samplers._cmaes_core import (
    CMA,
    CMAConfig,
    default_popsize,
    preimage,
    reflect,
    strategy,
    warm_start,
)
from hyperscout.samplers._cmaes_replay import CMASpace, Run, RunSettings

Fn = Callable[[np.ndarray], np.ndarray]


# -- the core ----------------------------------------------------------------------------------
def sphere(u: np.ndarray) -> np.ndarray:
    return np.asarray(100.0 * ((u - 0.3) ** 2).sum(axis=1))


def ellipsoid(u: np.ndarray) -> np.ndarray:
    n = u.shape[1]
    return np.asarray((1e6 ** (np.arange(n) / (n - 1)) * (u - 0.3) ** 2).sum(axis=1))


def rosenbrock(u: np.ndarray) -> np.ndarray:
    x = 4.0 * u - 2.0  # optimum at x = 1, i.e. u = 0.75
    return np.asarray((100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(axis=1))


def rastrigin(u: np.ndarray) -> np.ndarray:
    x = 10.24 * u - 6.12  # optimum at x = 0, off the centre of the cube
    return np.asarray(10 * x.shape[1] + (x**2 - 10 * np.cos(2 * np.pi * x)).sum(axis=1))


def minimize(cma: CMA, f: Fn, budget: int, target: float = 1e-6) -> tuple[int, float]:
    """Run until ``target`` or ``budget`` evaluations: (evaluations used, best value)."""
    evals, best = 0, math.inf
    while evals < budget and best > target:
        raw, unit = cma.ask()
        values = f(unit)
        evals += len(values)
        best = min(best, float(values.min()))
        cma.tell(raw, values)
    return evals, best


def config(dim: int, **kwargs: object) -> CMAConfig:
    lattice = kwargs.pop("lattice", (None,) * dim)
    return CMAConfig(0.3, default_popsize(dim), lattice, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("f", "budget"),
    [(sphere, 1_000), (ellipsoid, 2_500), (rosenbrock, 6_000)],
    ids=["sphere", "ellipsoid", "rosenbrock"],
)
def test_core_minimizes_5d_test_functions_to_1e6(f: Fn, budget: int) -> None:
    # The tutorial's budgets in 5-d: ~600 (sphere), ~1200 (ellipsoid, cond. 1e6), ~1500-2000
    # (Rosenbrock, with an occasional restart out of its local optimum).
    for seed in range(3):
        evals, best = minimize(CMA(config(5), seed=seed), f, budget)
        assert best <= 1e-6, f"seed {seed}: {best} after {evals} evaluations"


def test_ipop_restarts_escape_rastrigin_with_a_growing_population() -> None:
    ipop = CMA(config(5), seed=0)
    _, best = minimize(ipop, rastrigin, 30_000, target=1e-8)
    assert best <= 1e-8
    assert ipop.state.restarts >= 2
    assert ipop.state.popsize >= 4 * default_popsize(5)
    plain = CMA(config(5, restart=False), seed=0)
    _, stuck = minimize(plain, rastrigin, 3_000, target=1e-8)
    assert stuck > 0.9  # a local optimum: Rastrigin's are >= ~1 apart
    assert plain.state.popsize == default_popsize(5)


def sphere_onemax(u: np.ndarray) -> np.ndarray:
    """3 continuous dimensions (sphere) and 6 binary ones (one-max)."""
    bits = np.minimum(np.floor(u[:, 3:] * 2), 1)
    return np.asarray(100 * ((u[:, :3] - 0.3) ** 2).sum(axis=1) + (1 - bits).sum(axis=1))


def test_margin_keeps_binary_dimensions_from_freezing() -> None:
    lattice = (None,) * 3 + (np.array([0.0, 0.5, 1.0]),) * 6
    solved = {}
    for margin in (True, False):
        cfg = config(9, lattice=lattice, margin=margin, restart=False)
        runs = [minimize(CMA(cfg, seed), sphere_onemax, 1000) for seed in range(10)]
        solved[margin] = sum(best < 0.5 for _, best in runs)  # every bit set
    assert solved[True] == 10
    assert solved[False] <= 8  # plain CMA-ES fixes some bits at 0 for good


def test_default_strategy_parameters_follow_the_tutorial() -> None:
    st = strategy(10, default_popsize(10))
    assert st.popsize == 10 and st.mu == 5
    assert st.weights[: st.mu].sum() == pytest.approx(1.0)
    assert np.all(np.diff(st.weights) < 0) and st.weights[-1] < 0
    assert 0 < st.cs < 1 and 0 < st.cc < 1 and st.c1 + st.cmu <= 1
    assert st.chi_n == pytest.approx(math.sqrt(10) * (1 - 1 / 40 + 1 / 2100))


def test_reflection_maps_into_the_cube_and_preimages_invert_it() -> None:
    x = np.linspace(-5.3, 5.3, 1001)
    p = reflect(x)
    assert np.all((p >= 0) & (p <= 1))
    assert np.array_equal(reflect(np.array([0.0, 0.25, 1.0])), [0.0, 0.25, 1.0])
    near = np.random.default_rng(0).uniform(-3, 3, len(x))
    back = preimage(p, near)
    assert np.allclose(reflect(back), p)
    assert np.all(np.abs(back - near) <= 1.0 + 1e-12)  # the nearest of the preimages


def test_warm_start_centres_on_the_best_points() -> None:
    rng = np.random.default_rng(1)
    points = rng.random((50, 3))
    values = ((points - 0.8) ** 2).sum(axis=1)
    mean, sigma, cov = warm_start(points, values)
    top = points[np.argsort(values)[:5]]
    assert np.allclose(mean, top.mean(axis=0))
    assert 0.1 <= sigma < 0.5
    assert np.linalg.det(cov) == pytest.approx(1.0)


# -- the sampler -------------------------------------------------------------------------------
SPACE: dict[str, hs.Distribution] = {
    "x": hs.Float(-5.0, 5.0),
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "q": hs.Float(0.0, 1.0, step=0.25),
    "n": hs.Int(1, 64, log=True),
    "k": hs.Int(0, 10, step=2),
    "b": hs.Int(0, 1),
}


def mixed(trial: hs.Trial) -> float:
    p = {name: trial.suggest(name, dist) for name, dist in SPACE.items()}
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    return float(
        (p["x"] - 1) ** 2
        + (math.log10(p["lr"]) + 3) ** 2
        + p["q"]
        + abs(math.log2(p["n"]) - 3)
        + abs(p["k"] - 6)
        + (1 - p["b"])
        + (kind != "b")
    )


def fingerprint(study: hs.Study) -> list[str]:
    return [repr(sorted(t.params.items())) for t in study.trials]


def test_values_respect_bounds_steps_logs_and_ints() -> None:
    # A wide, restarting search on a small population: many reflections and restarts.
    sampler = CMAESSampler(sigma0=1.0, popsize=4)
    study = hs.create_study(sampler=sampler, seed=3)
    study.optimize(mixed, n_trials=150)
    assert [t.state for t in study.trials] == [hs.TrialState.COMPLETE] * 150
    for t in study.trials:
        for name, dist in SPACE.items():
            assert dist.contains(t.params[name]), (name, t.params[name])
            assert type(t.params[name]) is (int if isinstance(dist, hs.Int) else float)


def test_optimizes_a_mixed_space_and_samples_categoricals_on_their_own() -> None:
    study = hs.create_study(sampler="cmaes", seed=0)
    study.optimize(mixed, n_trials=250)
    assert study.best_value < 1.5
    view = StudyView(study.trials, study.directions, study.seed)
    assert set(study.sampler.joint_space(view)) == set(SPACE)  # "kind" is not in it
    kinds = [t.params["kind"] for t in study.trials]
    assert min(kinds.count(k) for k in "abc") >= 65  # uniform: ~83 each


def test_resumed_from_sqlite_in_a_fresh_process_gives_identical_params(tmp_path: Path) -> None:
    straight = hs.create_study(sampler="cmaes", seed=21)
    straight.optimize(mixed, n_trials=50)
    url = "sqlite:///" + str(tmp_path / "cma.db")
    first = hs.create_study(study_name="cma", storage=url, sampler="cmaes", seed=21)
    first.optimize(mixed, n_trials=25)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import hyperscout as hs
        from test_cmaes import mixed
        study = hs.load_study("cma", storage={url!r}, sampler="cmaes")
        study.optimize(mixed, n_trials=25)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    resumed = hs.load_study("cma", storage=url, sampler="cmaes")
    assert len(resumed.trials) == 50
    assert fingerprint(resumed) == fingerprint(straight)


def test_a_cached_replay_equals_a_cold_one_under_asynchronous_results() -> None:
    # Trials finish out of order, fail, get pruned, and the first (startup) trial finishes late,
    # which moves the start of the run. At every ask, a fresh sampler replaying the trials must
    # suggest exactly what the study's long-lived (cached) sampler did; so must one sampler that
    # is then shown the same views out of order (older views after newer ones).
    space: dict[str, hs.Distribution] = {
        "x": hs.Float(-2.0, 2.0),
        "k": hs.Int(0, 6),
        "lr": hs.Float(1e-3, 1.0, log=True),
    }
    study = hs.create_study(sampler=CMAESSampler(popsize=4, n_startup_trials=2), seed=5)
    order = np.random.default_rng(0)
    pending: list[hs.Trial] = []
    seen: list[tuple[StudyView, dict[str, object]]] = []
    for step in range(130):
        ready = [t for t in pending if t.number != 0 or step > 40]
        if ready and (len(pending) >= 5 or order.random() < 0.45):
            t = ready[int(order.integers(len(ready)))]
            pending.remove(t)
            value = (t.params["x"] - 0.5) ** 2 + abs(t.params["k"] - 2) + math.log(t.params["lr"])
            r = order.random()
            if r < 0.08:
                study.tell(t, state=hs.TrialState.FAILED)
            elif r < 0.16:
                t.report(1, value + 1.0)
                study.tell(t, state=hs.TrialState.PRUNED)
            else:
                study.tell(t, value)
            continue
        t = study.ask(space)
        pending.append(t)
        view = StudyView(study.trials, study.directions, study.seed, t.number)
        seen.append((view, t.params))
        rng = np.random.default_rng([study.seed, t.number])
        assert CMAESSampler(popsize=4, n_startup_trials=2).suggest(view, space, rng) == t.params
    assert study.best_value < 0.5
    one = CMAESSampler(popsize=4, n_startup_trials=2)
    for i in np.random.default_rng(1).permutation(len(seen)):
        view, params = seen[i]
        rng = np.random.default_rng([study.seed, view.current])
        assert one.suggest(view, space, rng) == params


def test_a_converged_search_restarts_with_a_doubled_population_during_the_replay() -> None:
    # On a small integer grid the best value stops changing (EqualFunValues): IPOP restarts.
    space: dict[str, hs.Distribution] = {"a": hs.Int(0, 6), "b": hs.Int(0, 6)}
    study = hs.create_study(sampler="cmaes", seed=0)
    for _ in range(300):
        t = study.ask(space)
        study.tell(t, (t.params["a"] - 3) ** 2 + (t.params["b"] - 1) ** 2)
    settings = RunSettings(None, None, 1, restart=True, margin=True, warm_start=None)
    _, state = Run(CMASpace(tuple(sorted(space.items()))), study.seed, 1.0, settings).latest(
        study.trials
    )
    assert state is not None and state.restarts >= 1
    assert state.popsize == 2 * default_popsize(2)
    last = study.trials[-60:]  # the restarted run explores the grid again
    assert len({(t.params["a"], t.params["b"]) for t in last}) >= 10
    view = StudyView(study.trials, study.directions, study.seed, len(study.trials))
    rng = np.random.default_rng(0)
    fresh = CMAESSampler().suggest(view, space, rng)
    assert study.sampler.suggest(view, space, np.random.default_rng(0)) == fresh


def test_parallel_threads_work_and_concurrent_candidates_differ() -> None:
    study = hs.create_study(sampler="cmaes", seed=4)
    study.optimize(mixed, n_trials=60, n_jobs=2)
    assert len(study.get_trials(states=[hs.TrialState.COMPLETE])) == 60
    space = {"x": hs.Float(-1.0, 1.0), "y": hs.Float(-1.0, 1.0)}
    study = hs.create_study(sampler="cmaes", seed=4)
    for _ in range(20):
        t = study.ask(space)
        study.tell(t, t.params["x"] ** 2 + t.params["y"] ** 2)
    together = [study.ask(space) for _ in range(12)]  # one generation never completes here
    points = {(t.params["x"], t.params["y"]) for t in together}
    assert len(points) == 12


def test_warm_start_from_enqueued_trials_starts_near_them() -> None:
    optimum = np.array([3.0, -2.0, 1.0, 4.0])
    space = {f"x{i}": hs.Float(-5.0, 5.0) for i in range(4)}

    def f(p: dict[str, float]) -> float:
        return float(((np.array([p[k] for k in space]) - optimum) ** 2).sum())

    def first_generation_offset(warm: bool | None) -> float:
        study = hs.create_study(sampler=CMAESSampler(n_startup_trials=10, warm_start=warm), seed=2)
        rng = np.random.default_rng(0)
        for _ in range(10):  # promising configurations known from earlier work
            study.enqueue_trial(dict(zip(space, optimum + rng.normal(0, 0.4, 4), strict=True)))
        for _ in range(18):
            t = study.ask(space)
            study.tell(t, f(t.params))
        best = min(study.trials[:10], key=lambda t: f(t.params))
        cma = study.trials[10:18]  # the first generation (lambda = 8)
        spread = np.array([[t.params[k] for k in space] for t in cma])
        return float(np.linalg.norm(spread.mean(axis=0) - [best.params[k] for k in space]))

    # A prior of 10 COMPLETE trials warm-starts (WS-CMA-ES: around the best 10%, sigma ~ 0.1 of
    # the range); without it the run starts at the centre, 5.5 away.
    assert first_generation_offset(None) < 1.2
    assert first_generation_offset(False) > 4.0


def rand_value(trial: hs.FrozenTrial) -> float:
    return math.inf if trial.value is None else trial.value


def test_warm_start_after_trials_of_another_sampler() -> None:
    storage = hs.InMemoryStorage()
    space = {"x": hs.Float(-5.0, 5.0), "y": hs.Float(-5.0, 5.0)}
    rand = hs.create_study(study_name="w", storage=storage, sampler="random", seed=1)
    for _ in range(30):
        t = rand.ask(space)
        rand.tell(t, (t.params["x"] - 4) ** 2 + (t.params["y"] + 4) ** 2)
    top = sorted(rand.trials, key=rand_value)[:3]  # the best 10%
    centre = np.mean([[t.params["x"], t.params["y"]] for t in top], axis=0)
    cma = hs.load_study("w", storage, sampler=CMAESSampler(n_startup_trials=30))
    for _ in range(12):
        cma.tell(cma.ask(space), 0.0)
    mean = np.mean([[t.params["x"], t.params["y"]] for t in cma.trials[30:]], axis=0)
    assert np.linalg.norm(mean - centre) < 1.5 < np.linalg.norm(centre)


def test_failed_and_pruned_trials_rank_last_and_do_not_stop_the_search() -> None:
    def objective(trial: hs.Trial) -> float:
        x, y = trial.suggest_float("x", -3, 3), trial.suggest_float("y", -3, 3)
        if x > 2.0:
            raise RuntimeError("diverged")
        value = (x - 1) ** 2 + (y + 1) ** 2
        trial.report(0, value)
        if y > 2.0:
            raise hs.TrialPruned()
        return value

    study = hs.create_study(sampler="cmaes", seed=8)
    study.optimize(objective, n_trials=120, catch=(RuntimeError,))
    states = {t.state for t in study.trials}
    assert {hs.TrialState.FAILED, hs.TrialState.PRUNED} <= states
    assert study.best_value < 0.05


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"sigma0": 0.0}, "sigma0"),
        ({"sigma0": 1.5}, "sigma0"),
        ({"sigma0": "0.3"}, "sigma0"),
        ({"popsize": 3}, "popsize"),
        ({"popsize": 8.0}, "popsize"),
        ({"n_startup_trials": -1}, "n_startup_trials"),
        ({"restart": "bipop"}, "restart"),
        ({"with_margin": "yes"}, "with_margin"),
        ({"warm_start": 1}, "warm_start"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], argument: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=f"`{argument}`"):
        CMAESSampler(**kwargs)  # type: ignore[arg-type]


def test_multi_objective_studies_are_refused_clearly() -> None:
    study = hs.create_study(sampler="cmaes", directions=["minimize", "maximize"])
    with pytest.raises(hs.InvalidArgumentError, match="single objective"):
        study.ask({"x": hs.Float(0.0, 1.0)})


def test_registry_repr_and_pickle() -> None:
    import pickle

    sampler = make_sampler("cmaes")
    assert isinstance(sampler, hs.CMAESSampler)
    copy = pickle.loads(pickle.dumps(CMAESSampler(popsize=6, restart=None)))
    assert repr(copy) == (
        "CMAESSampler(sigma0=None, popsize=6, n_startup_trials=1, restart=None, "
        "with_margin=True, warm_start=None)"
    )

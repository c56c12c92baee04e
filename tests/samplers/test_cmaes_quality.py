"""CMA-ES search quality against random search and TPE on smooth functions (slow).

Five seeds each; the comparison uses the median best value, which a user would see as the typical
outcome of a study.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import hyperscout as hs

Problem = tuple[Callable[[np.ndarray], float], int, float]  # function, dimension, half-range
SEEDS = range(5)


def sphere(x: np.ndarray) -> float:
    return float(np.sum((x - 1.0) ** 2))


def ellipsoid(x: np.ndarray) -> float:
    """Axis scales 1 ... 1000 (condition 1e3), optimum off the centre."""
    return float(np.sum(1000.0 ** (np.arange(len(x)) / (len(x) - 1)) * (x - 1.0) ** 2))


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


PROBLEMS: dict[str, Problem] = {
    "sphere-5d": (sphere, 5, 5.0),
    "ellipsoid-5d": (ellipsoid, 5, 5.0),
    "rosenbrock-10d": (rosenbrock, 10, 3.0),
}


def median_best(sampler: str, problem: Problem, budget: int) -> float:
    f, dim, half = problem
    space: dict[str, hs.Distribution] = {f"x{i}": hs.Float(-half, half) for i in range(dim)}
    best = []
    for seed in SEEDS:
        study = hs.create_study(sampler=sampler, seed=seed)
        for _ in range(budget):
            trial = study.ask(space)
            study.tell(trial, f(np.array([trial.params[k] for k in space])))
        best.append(study.best_value)
    return float(np.median(best))


@pytest.mark.slow
def test_cmaes_beats_random_search_clearly_at_200_evaluations() -> None:
    for name, problem in PROBLEMS.items():
        cma, rand = median_best("cmaes", problem, 200), median_best("random", problem, 200)
        print(f"{name}: cmaes {cma:.3g}, random {rand:.3g}")
        assert cma < rand / 5, name


@pytest.mark.slow
def test_cmaes_matches_or_beats_tpe_at_the_larger_budget() -> None:
    wins = []
    for name in ("sphere-5d", "ellipsoid-5d"):
        cma = median_best("cmaes", PROBLEMS[name], 400)
        tpe = median_best("tpe", PROBLEMS[name], 400)
        print(f"{name} @400: cmaes {cma:.3g}, tpe {tpe:.3g}")
        wins.append(cma <= tpe)
    assert any(wins)

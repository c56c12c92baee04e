"""DESampler against random search on shifted benchmark functions with HPO-sized budgets (slow)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers._de import DESampler

SEEDS = range(5)


def sphere(z: np.ndarray) -> float:
    return float(np.sum(z * z))


def rosenbrock(z: np.ndarray) -> float:
    return float(np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))


def rastrigin(z: np.ndarray) -> float:
    return float(10 * len(z) + np.sum(z * z - 10 * np.cos(2 * np.pi * z)))


def ackley(z: np.ndarray) -> float:
    d = len(z)
    return float(
        -20 * np.exp(-0.2 * np.sqrt(np.sum(z * z) / d))
        - np.exp(np.sum(np.cos(2 * np.pi * z)) / d)
        + 20
        + math.e
    )


# name -> (function, half-width of the box, whether the optimum is shifted away from the centre)
PROBLEMS: dict[str, tuple[Callable[[np.ndarray], float], float, bool]] = {
    "sphere": (sphere, 5.12, True),
    "rosenbrock": (rosenbrock, 5.0, False),  # optimum at (1, ..., 1) already off-centre
    "rastrigin": (rastrigin, 5.12, True),
    "ackley": (ackley, 32.768, True),
}


def best_value(problem: str, dim: int, budget: int, seed: int, sampler: Any) -> float:
    f, bound, shifted = PROBLEMS[problem]
    rng = np.random.default_rng(1000 + seed)
    shift = rng.uniform(-0.5 * bound, 0.5 * bound, dim) if shifted else np.zeros(dim)

    def objective(trial: hs.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", -bound, bound) for i in range(dim)])
        return f(x - shift)

    study = hs.create_study(sampler=sampler, seed=seed)
    study.optimize(objective, n_trials=budget)
    return study.best_value


@cache
def random_search(problem: str, dim: int, budget: int) -> tuple[float, ...]:
    return tuple(best_value(problem, dim, budget, s, "random") for s in SEEDS)


@pytest.mark.slow
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize(("dim", "budget"), [(5, 300), (10, 500)])
@pytest.mark.parametrize("hint", [False, True], ids=["shade", "lshade"])
def test_de_beats_random_search_clearly(problem: str, dim: int, budget: int, hint: bool) -> None:
    kwargs = {"n_trials_hint": budget} if hint else {}
    de = [best_value(problem, dim, budget, s, DESampler(**kwargs)) for s in SEEDS]
    rnd = random_search(problem, dim, budget)
    summary = f"DE {np.round(de, 3)} vs random {np.round(rnd, 3)}"
    assert max(de) < min(rnd), summary  # every DE run beats every random run
    assert np.median(de) < 0.6 * np.median(rnd), summary

"""Statistical quality: GPSampler beats random search on Branin (2-d) and Rosenbrock (5-d)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers.gp import GPSampler

SEEDS = range(5)


def branin(p: dict[str, Any]) -> float:
    """Branin-Hoo, shifted so that its global minimum (three of them) is 0."""
    x1, x2 = p["x1"], p["x2"]
    a, b, c = 5.1 / (4 * math.pi**2), 5 / math.pi, 10 * (1 - 1 / (8 * math.pi))
    return (x2 - a * x1**2 + b * x1 - 6) ** 2 + c * math.cos(x1) + 10 - 0.39788735772973816


def rosenbrock(p: dict[str, Any]) -> float:
    """Rosenbrock in 5-d on [-2, 2]^5: a curved valley, minimum 0 at (1, ..., 1), heavy tail."""
    x = np.array([p[f"x{i}"] for i in range(5)])
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


PROBLEMS: dict[str, tuple[Callable[[dict[str, Any]], float], dict[str, hs.Distribution], int]] = {
    "branin": (branin, {"x1": hs.Float(-5.0, 10.0), "x2": hs.Float(0.0, 15.0)}, 30),
    "rosenbrock5": (rosenbrock, {f"x{i}": hs.Float(-2.0, 2.0) for i in range(5)}, 40),
}


def best_value(sampler: Any, problem: str, seed: int) -> float:
    func, space, n_trials = PROBLEMS[problem]
    study = hs.create_study(sampler=sampler, seed=seed)
    for _ in range(n_trials):
        trial = study.ask(space)
        study.tell(trial, func(trial.params))
    return study.best_value


@pytest.mark.slow
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_gp_beats_random_search(problem: str) -> None:
    gp = [best_value(GPSampler(), problem, seed) for seed in SEEDS]
    rand = [best_value("random", problem, seed) for seed in SEEDS]
    wins = sum(g < r for g, r in zip(gp, rand, strict=True))
    print(f"{problem}: GP {np.round(gp, 4).tolist()} random {np.round(rand, 4).tolist()}")
    assert wins >= 4, (gp, rand)
    assert np.median(gp) < 0.25 * np.median(rand), (gp, rand)

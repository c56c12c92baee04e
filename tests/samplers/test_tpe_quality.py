"""TPE finds better configurations than random search, over seeds (a statistical check).

Each case runs TPE and random search for 100 trials on 10 seeds and compares the best values:
TPE's median must beat random search's by a clear factor, and TPE must win on at least 7 seeds.
Not a timing test (timings live in benchmarks/overhead.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers._tpe import TPESampler

SEEDS = range(10)
N_TRIALS = 100


def shifted_sphere(trial: hs.Trial) -> float:
    """A 5-d sphere over two floats, a log float, a log int and an int; optimum 0 off-centre."""
    x0 = trial.suggest_float("x0", -5.0, 5.0)
    x1 = trial.suggest_float("x1", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    n = trial.suggest_int("n", 1, 1024, log=True)
    k = trial.suggest_int("k", 0, 100)
    value = (x0 - 1.3) ** 2 + (x1 + 0.7) ** 2 + (math.log10(lr) + 2.5) ** 2
    return value + ((math.log2(n) - 5) / 2) ** 2 + ((k - 37) / 10) ** 2


def model_selection(trial: hs.Trial) -> float:
    """Three model families with their own (conditional) parameters; optimum 0 in "mlp"."""
    kind = trial.suggest_categorical("kind", ["linear", "tree", "mlp"])
    if kind == "linear":
        c = trial.suggest_float("C", 1e-4, 1e4, log=True)
        return 1.0 + ((math.log10(c) - 1) / 2) ** 2
    if kind == "tree":
        depth = trial.suggest_int("depth", 1, 32)
        leaf = trial.suggest_int("leaf", 1, 128, log=True)
        return 0.5 + ((depth - 8) / 8) ** 2 + ((math.log2(leaf) - 3) / 3) ** 2
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    width = trial.suggest_int("width", 16, 1024, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.05)
    act = trial.suggest_categorical("act", ["relu", "tanh", None])
    value = ((math.log10(lr) + 3) / 1.5) ** 2 + ((math.log2(width) - 8) / 3) ** 2
    return value + 4 * (dropout - 0.1) ** 2 + 0.5 * (act is None)


def best_values(
    sampler: Callable[[], hs.Sampler], objective: Callable[[hs.Trial], float]
) -> np.ndarray:
    out = []
    for seed in SEEDS:
        study = hs.create_study(sampler=sampler(), seed=seed)
        study.optimize(objective, n_trials=N_TRIALS)
        out.append(study.best_value)
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("objective", "multivariate", "factor"),
    [
        (shifted_sphere, True, 10.0),  # measured: medians 0.13 vs 4.3, 10 wins of 10
        (shifted_sphere, False, 2.5),  # measured: medians 1.0 vs 4.3, 10 wins of 10
        (model_selection, True, 2.5),  # measured: medians 0.015 vs 0.085, 10 wins of 10
    ],
)
def test_tpe_beats_random_search(
    objective: Callable[[hs.Trial], float], multivariate: bool, factor: float
) -> None:
    tpe = best_values(lambda: TPESampler(multivariate=multivariate), objective)
    rnd = best_values(hs.RandomSampler, objective)
    assert np.median(tpe) * factor < np.median(rnd), (tpe, rnd)
    assert int(np.sum(tpe < rnd)) >= 7, (tpe, rnd)

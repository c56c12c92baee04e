"""Multi-objective TPE (MOTPE split and weights) and constraints in TPE.

Constraint values are written the way ``create_study(constraints_func=...)`` stores them: a
list of floats in the trial's ``system_attrs["constraints"]``, ``<= 0`` meaning satisfied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from numpy.typing import ArrayLike

import hyperscout as hs
from hyperscout.multiobjective import (
    hypervolume,
    hypervolume_contributions,
    non_dominated_sort,
    reference_point,
)
from hyperscout.samplers._tpe import TPESampler

ZDT1_REF = (1.1, 11.0)


def split(
    y: ArrayLike, k: int, violation: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The good group (sorted rows) and the weights of its rows for signed values ``y``."""
    sampler = TPESampler(gamma=lambda n: k)
    viol = None if violation is None else np.array(violation, dtype=float)
    good, weight = sampler._split(np.array(y, dtype=float), viol)
    return np.flatnonzero(good), weight[good]


def greedy_hssp(front: np.ndarray, size: int, ref: np.ndarray) -> list[int]:
    """Greedy hypervolume subset selection by brute force (ties to the earlier row)."""
    chosen: list[int] = []
    for _ in range(size):
        base = hypervolume(front[chosen], ref) if chosen else 0.0
        gains = [
            -1.0 if i in chosen else hypervolume(front[[*chosen, i]], ref) - base
            for i in range(len(front))
        ]
        chosen.append(int(np.argmax(gains)))
    return chosen


# -- the split ---------------------------------------------------------------------------------
def test_two_objectives_take_the_first_front_then_the_best_hypervolume_contributors() -> None:
    y = [
        (1, 5), (2, 3), (4, 1),  # front 0: rows 0-2
        (2, 6), (3, 4), (5, 2), (6, 1.2),  # front 1: rows 3-6
        (7, 7),  # front 2
    ]  # fmt: skip
    # Reference: worst + 10% of the range = (7.6, 7.6). Alone, (3, 4) adds 4.6 * 3.6 = 16.56,
    # the most; next to it (5, 2) adds 2.6 * 2 = 5.2, more than (6, 1.2) (4.48) or (2, 6) (1.6).
    good, weight = split(y, 5)
    assert good.tolist() == [0, 1, 2, 4, 5]
    # Within the good group (3, 4) and (5, 2) are dominated: they add nothing. Without (1, 5)
    # the group loses (2 - 1) * (7.6 - 5) = 2.6; without (2, 3), (4 - 2) * (5 - 3) less the
    # 1 * 1 that (3, 4) covers = 3; without (4, 1), (7.6 - 4) * (3 - 1) less (5, 2)'s 2.6 = 4.6.
    np.testing.assert_allclose(weight[:3], [2.6 / 4.6, 3 / 4.6, 1.0])
    assert np.all(weight[3:] > 0) and np.all(weight[3:] < 1e-6)


def test_a_group_that_ends_with_a_whole_front_needs_no_selection() -> None:
    y = [(1, 5), (2, 3), (4, 1), (2, 6), (3, 4), (7, 7)]
    assert split(y, 3)[0].tolist() == [0, 1, 2]
    assert split(y, 5)[0].tolist() == [0, 1, 2, 3, 4]
    assert split(y, 6)[0].tolist() == [0, 1, 2, 3, 4, 5]


def test_three_objectives_fill_the_partial_front_greedily_and_weight_by_contribution() -> None:
    rng = np.random.default_rng(7)
    direction = rng.random((40, 3)) + 0.05
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    y = np.vstack([direction[:6], 1.5 * direction[6:], [[3.0, 3.0, 3.0]]])
    ranks = non_dominated_sort(y)
    front0, front1 = np.flatnonzero(ranks == 0), np.flatnonzero(ranks == 1)
    assert (len(front0), len(front1)) == (21, 19)
    ref = reference_point(y, margin=0.1)  # (3.3, 3.3, 3.3)
    good, weight = split(y, 30)
    expected = front1[greedy_hssp(y[front1], 9, ref)]
    assert good.tolist() == sorted([*front0.tolist(), *expected.tolist()])
    contributions = hypervolume_contributions(y[good], ref)
    assert np.all(contributions[np.isin(good, front1)] == 0)  # the first front dominates them
    on_front = np.isin(good, front0)
    np.testing.assert_allclose(weight[on_front], contributions[on_front] / contributions.max())
    assert np.all(weight > 0)


def test_infinite_objective_values_still_split() -> None:
    y = [(math.inf, 1.0), (1.0, math.inf), (2.0, 2.0), (3.0, 3.0), (-math.inf, 5.0)]
    good, weight = split(y, 2)
    assert good.tolist() == [2, 4]  # (-inf, 5) and (2, 2) form the first front
    assert np.all(np.isfinite(weight)) and np.all(weight > 0)


def test_constraints_rank_feasible_trials_first_then_by_violation() -> None:
    y = [[0.1], [0.5], [0.3], [0.2], [0.0], [0.9]]
    violation = [2.0, 0.0, 0.0, 0.5, 0.1, 0.0]
    good, weight = split(y, 2, violation)
    assert good.tolist() == [1, 2]  # the best feasible, never the better infeasible values
    np.testing.assert_allclose(weight, [0.9 - 0.5, 0.9 - 0.3])  # EI against the next feasible
    good, weight = split(y, 5, violation)
    assert good.tolist() == [1, 2, 3, 4, 5]  # then the smallest violations
    assert weight.tolist() == [1.0] * 5  # infeasible values do not compare: uniform
    good, _ = split(y, 4, [0.0] * 6)  # all feasible: as without constraints
    assert good.tolist() == split(y, 4)[0].tolist() == [0, 2, 3, 4]


def test_constraints_with_two_objectives_use_constrained_domination() -> None:
    y = [(0.0, 0.0), (1, 3), (2, 2), (3, 1), (2, 4), (4, 4)]
    violation = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    good, weight = split(y, 3, violation)
    assert good.tolist() == [1, 2, 3]  # the infeasible (0, 0) would dominate them all
    assert np.all(weight > 0.1)
    good, weight = split(y, 6, [1.0, 0.0, 0.0, 0.0, 0.5, 2.0])
    assert good.tolist() == [0, 1, 2, 3, 4, 5] and weight.tolist() == [1.0] * 6


# -- studies -----------------------------------------------------------------------------------
def zdt1(trial: hs.Trial) -> tuple[float, float]:
    """ZDT1 on 5 variables (Zitzler, Deb & Thiele 2000); the front is f2 = 1 - sqrt(f1)."""
    x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(5)]
    g = 1 + 9 * sum(x[1:]) / 4
    return x[0], g * (1 - math.sqrt(x[0] / g))


def final_hypervolume(study: hs.Study, ref: Sequence[float]) -> float:
    return hypervolume([t.values for t in study.trials if t.values is not None], ref)


def test_tpe_beats_random_search_on_zdt1() -> None:
    for seed in range(3):
        volumes = []
        for sampler in (TPESampler(), "random"):
            study = hs.create_study(directions=["minimize"] * 2, sampler=sampler, seed=seed)
            study.optimize(zdt1, n_trials=200)
            volumes.append(final_hypervolume(study, ZDT1_REF))
        # measured: TPE 11.633, 11.640, 11.626 vs random 9.839, 10.203, 10.192 (best: 11.767)
        assert volumes[0] > volumes[1] + 1.0, volumes


def run_constrained(
    sampler: hs.Sampler | str,
    seed: int,
    n_trials: int,
    objective: Callable[[hs.Trial], tuple[Sequence[float], Sequence[float]]],
    n_objectives: int = 1,
) -> hs.Study:
    """ask/tell with the constraint values written where the study keeps them."""
    study = hs.create_study(directions=["minimize"] * n_objectives, sampler=sampler, seed=seed)
    for _ in range(n_trials):
        trial = study.ask()
        values, constraints = objective(trial)
        study._storage.update_trial(trial.trial_id, system_attrs={"constraints": constraints})
        study.tell(trial, values)
    return study


def boundary_optimum(trial: hs.Trial) -> tuple[Sequence[float], Sequence[float]]:
    """min (x - 0.9)^2 s.t. x <= 0.5: the optimum, 0.16, lies on the boundary."""
    x = trial.suggest_float("x", 0.0, 1.0)
    return [(x - 0.9) ** 2], [x - 0.5]


def feasible(trial: hs.FrozenTrial) -> bool:
    return all(c <= 0 for c in trial.system_attrs["constraints"])


def test_constraints_steer_tpe_to_the_feasible_optimum() -> None:
    fractions: dict[str, list[float]] = {"tpe": [], "random": []}
    for seed in range(3):
        for name, sampler in (("tpe", TPESampler()), ("random", "random")):
            trials = run_constrained(sampler, seed, 60, boundary_optimum).trials
            fractions[name].append(float(np.mean([feasible(t) for t in trials[-30:]])))
            if name == "tpe":  # measured: 0.1647, 0.1603, 0.1609
                assert min(t.values[0] for t in trials if feasible(t)) < 0.18  # type: ignore[index]
    # measured: TPE 0.60, 0.60, 0.63 vs random 0.43, 0.53, 0.37 (unconstrained TPE: < 0.2)
    assert np.mean(fractions["tpe"]) > np.mean(fractions["random"]) + 0.1, fractions


def constrained_zdt1(trial: hs.Trial) -> tuple[Sequence[float], Sequence[float]]:
    """ZDT1 subject to f1 >= 0.3."""
    f1, f2 = zdt1(trial)
    return [f1, f2], [0.3 - f1]


def feasible_hypervolume(study: hs.Study) -> float:
    values = [t.values for t in study.trials if t.values is not None and feasible(t)]
    return hypervolume(values, ZDT1_REF)


def test_constraints_with_two_objectives_improve_the_feasible_front() -> None:
    for seed in range(3):
        tpe = run_constrained(TPESampler(), seed, 150, constrained_zdt1, 2)
        rnd = run_constrained("random", seed, 150, constrained_zdt1, 2)
        # measured: TPE 8.504, 8.363, 8.512 vs random 7.253, 7.619, 7.605
        assert feasible_hypervolume(tpe) > feasible_hypervolume(rnd) + 0.4


@pytest.mark.parametrize("n_objectives", [1, 2])
def test_same_seed_and_constraints_give_bit_identical_params(n_objectives: int) -> None:
    def objective(trial: hs.Trial) -> tuple[Sequence[float], Sequence[float]]:
        x, y = trial.suggest_float("x", -2, 2), trial.suggest_float("y", -2, 2)
        values = [x**2 + y**2, (x - 1) ** 2 + y**2][:n_objectives]
        return values, [x + y - 0.5, -x]

    runs = [
        [t.params for t in run_constrained(TPESampler(), 3, 40, objective, n_objectives).trials]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]

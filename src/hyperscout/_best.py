"""Best trials: the single-objective optimum and the Pareto front."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hyperscout._records import FrozenTrial, StudyDirection, TrialState, is_feasible

__all__ = ["best_trial", "best_values", "pareto_front"]


def _signs(directions: Sequence[StudyDirection]) -> np.ndarray:
    return np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions])


def best_trial(
    trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]
) -> FrozenTrial | None:
    """The feasible COMPLETE trial with the best value of a single objective (earliest on
    ties); trials that break a constraint never count."""
    sign = _signs(directions)[0]
    best: FrozenTrial | None = None
    best_v = np.inf
    for t in trials:
        if t.state == TrialState.COMPLETE and t.values is not None and is_feasible(t):
            v = sign * t.values[0]
            if v < best_v:
                best, best_v = t, v
    return best


def pareto_front(
    trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]
) -> list[FrozenTrial]:
    """Feasible COMPLETE trials that no other feasible COMPLETE trial dominates, by number."""
    from hyperscout.multiobjective import is_pareto_efficient

    done = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.values is not None and is_feasible(t)
    ]
    if not done:
        return []
    y = np.array([t.values for t in done], dtype=float) * _signs(directions)
    return [t for t, keep in zip(done, is_pareto_efficient(y), strict=True) if keep]


def best_values(
    trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]
) -> tuple[float, ...] | None:
    """Best value of a single-objective study, or None (multi-objective or no result)."""
    if len(directions) != 1:
        return None
    t = best_trial(trials, directions)
    return None if t is None or t.values is None else t.values

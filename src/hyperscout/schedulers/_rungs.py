"""What successive-halving schedulers share: rung budgets and the values trials reached them with.

Everything here is a pure function of the trials, so a scheduler that uses it keeps no state:
a restarted study, or another worker, computes the same rungs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.samplers._base import StudyView
from hyperscout.schedulers._base import BUDGET_KEY, signed

__all__ = ["BRACKET_KEY", "budget_of", "ranked", "rung_budgets", "rung_value"]

BRACKET_KEY = "bracket"


def rung_budgets(min_budget: int, max_budget: int, eta: float) -> list[int]:
    """``min_budget * eta**k`` (rounded) for k = 0, 1, ... below ``max_budget``, then
    ``max_budget``: the budgets at which trials are compared.

    Example:
        >>> rung_budgets(1, 27, 3)
        [1, 3, 9, 27]
        >>> rung_budgets(1, 52, 3)
        [1, 3, 9, 27, 52]
    """
    out: list[int] = []
    k = 0
    while True:
        r = round(min_budget * eta**k)
        if r >= max_budget:
            break
        if not out or r > out[-1]:
            out.append(r)
        k += 1
    out.append(max_budget)
    return out


def budget_of(trial: FrozenTrial) -> int | None:
    """The budget of the trial's current (or last) run."""
    value = trial.system_attrs.get(BUDGET_KEY)
    return None if value is None else int(value)


def rung_value(trial: FrozenTrial, rung: int) -> float | None:
    """The value the trial reached ``rung`` with: its report at the first step >= ``rung``;
    for a trial that ran out its budget >= ``rung`` (PAUSED there, or COMPLETE) but reported
    no such step (it reports every few steps), its last report. None when it has not reached
    the rung (a trial stopped before it never did)."""
    values = trial.intermediate_values
    if not values:
        return None
    after = [s for s in values if s >= rung]
    if after:
        return values[min(after)]
    budget = budget_of(trial)
    ran_out = trial.state in (TrialState.PAUSED, TrialState.COMPLETE)  # not stopped early
    if ran_out and budget is not None and budget >= rung:
        return values[max(values)]
    return None


def ranked(view: StudyView, trials: Iterable[FrozenTrial], rung: int) -> list[FrozenTrial]:
    """Trials that reached ``rung``, best first (NaN and failed ones last; ties by number)."""
    scored: list[tuple[float, int, FrozenTrial]] = []
    for t in trials:
        v = rung_value(t, rung)
        if v is None:
            continue
        key = signed(view, v)
        if math.isnan(key) or t.state == TrialState.FAILED:
            key = math.inf
        scored.append((key, t.number, t))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [t for _, _, t in scored]

"""One budget for all, then the top k: train every candidate for ``min_budget`` (one epoch),
continue only the best ``k`` to ``max_budget``.

Egele et al., "Is One Epoch All You Need For Multi-Fidelity Hyperparameter Optimization?"
(ESANN 2023) found this baseline competitive with successive halving and Hyperband on many
learning-curve benchmarks at a fraction of the cost. The candidates are the ``n_trials`` new
trials of ``optimize`` (or every trial asked while new ones are allowed); once no new trial may
start, the best ``k`` are resumed, best first.
"""

from __future__ import annotations

import math
import numbers

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView
from hyperscout.schedulers._base import WAIT, Decision, Job, Wait, check_budgets
from hyperscout.schedulers._rungs import budget_of, ranked
from hyperscout.schedulers._sha import pause_at_budget

__all__ = ["TopKScheduler"]

_KEY = "topk"


class TopKScheduler:
    """Every trial for ``min_budget``, then the best ``k`` resumed to ``max_budget``.

    Args:
        max_budget: the full budget.
        k: how many to continue: an int >= 1, or a fraction in (0, 1) of the candidates.
        min_budget: the budget every candidate gets (1 epoch in the paper).

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(scheduler=hs.TopKScheduler(max_budget=10, k=2), seed=0)
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", 0, 1)
        ...     for step in trial.steps():
        ...         trial.report(step, x + 1 / step)
        ...     return x + 1 / step
        >>> study.optimize(objective, n_trials=6)
        >>> len(study.get_trials([hs.TrialState.COMPLETE]))
        2
    """

    def __init__(self, max_budget: int, *, k: int | float = 3, min_budget: int = 1) -> None:
        self._min, self._max, _ = check_budgets(min_budget, max_budget)
        if (
            isinstance(k, bool)
            or not isinstance(k, numbers.Real)
            or not ((isinstance(k, numbers.Integral) and k >= 1) or 0 < k < 1)
        ):
            raise InvalidArgumentError(
                f"`k` must be an int >= 1 or a fraction in (0, 1), got k={k!r}"
            )
        self._k: float = k

    def __repr__(self) -> str:
        return f"TopKScheduler(max_budget={self._max}, k={self._k!r}, min_budget={self._min})"

    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """New candidates while allowed; then, once all have run ``min_budget``, the top k."""
        if new_allowed:
            return Job(budget=self._min, attrs={_KEY: True}, final=self._min >= self._max)
        mine = [t for t in view.trials if _KEY in t.system_attrs]
        if any(t.state == TrialState.RUNNING and budget_of(t) == self._min for t in mine):
            return WAIT  # every candidate must be measured before the top k are known
        # round first: 0.28 * 25 is 7.000000000000001 in floating point, and 7 are meant
        k = int(self._k) if self._k >= 1 else math.ceil(round(self._k * len(mine), 9))
        for t in ranked(view, mine, self._min)[:k]:
            if t.state == TrialState.PAUSED and budget_of(t) == self._min:
                return Job(budget=self._max, resume=t.number)

        return WAIT if any(t.state == TrialState.RUNNING for t in mine) else None

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """PAUSE a candidate at ``min_budget``."""
        return pause_at_budget(trial, step, self._max)

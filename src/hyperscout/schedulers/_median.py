"""Median stopping: stop a trial whose best value so far is worse than the median (or another
percentile) of what finished trials had reported at the same step.

The rule of Google Vizier (Golovin et al., "Google Vizier: A Service for Black-Box
Optimization", KDD 2017, Sec. 3.2.2) in the per-step form Optuna's MedianPruner and
PercentilePruner use: at step ``s`` compare the trial's best value over steps ``<= s`` with the
``percentile`` of the values COMPLETE trials reported at step ``s``.
"""

from __future__ import annotations

import numbers

import numpy as np

from hyperscout._records import FrozenTrial
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.schedulers._base import Decision, Job, signed

__all__ = ["MedianStoppingScheduler"]


class MedianStoppingScheduler:
    """Stops a trial whose best value so far is worse than a percentile of finished trials'
    values at the same step.

    Args:
        max_budget: the budget every trial gets (``trial.budget``); None: no limit.
        percentile: 50 is the median rule; smaller stops more (25: stop unless in the best
            quarter).
        n_startup_trials: COMPLETE trials needed before anything is stopped.
        n_warmup_steps: steps before which a trial is never stopped.
        interval_steps: judge every this many steps after the warm-up.
    """

    def __init__(
        self,
        max_budget: int | None = None,
        *,
        percentile: float = 50.0,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        if (
            isinstance(percentile, bool)
            or not isinstance(percentile, numbers.Real)
            or not 0 <= percentile <= 100
        ):
            raise InvalidArgumentError(
                f"`percentile` must be a number in [0, 100] (50 = median), got {percentile!r}"
            )
        self._percentile: float = float(percentile)
        self._max: int | None = (
            None if max_budget is None else check_int("max_budget", max_budget, 1)
        )
        self._n_startup: int = check_int("n_startup_trials", n_startup_trials, 0)
        self._warmup: int = check_int("n_warmup_steps", n_warmup_steps, 0)
        self._interval: int = check_int("interval_steps", interval_steps, 1)

    def __repr__(self) -> str:
        return (
            f"MedianStoppingScheduler(max_budget={self._max}, percentile={self._percentile:g}, "
            f"n_startup_trials={self._n_startup}, n_warmup_steps={self._warmup}, "
            f"interval_steps={self._interval})"
        )

    def next_job(self, view: StudyView, new_allowed: bool) -> Job | None:
        """A new trial with the full budget while new trials are allowed."""
        return Job(budget=self._max) if new_allowed else None

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """STOP when the trial's best so far is worse than the percentile at this step."""
        if step < self._warmup or (step - self._warmup) % self._interval:
            return Decision.CONTINUE
        done = [t for t in view.completed if t.number != trial.number]
        if len(done) < self._n_startup:
            return Decision.CONTINUE
        others = [
            signed(view, t.intermediate_values[step]) for t in done if step in t.intermediate_values
        ]
        others = [v for v in others if v == v]  # NaN reports do not vote
        if not others:
            return Decision.CONTINUE
        mine = [signed(view, v) for s, v in trial.intermediate_values.items() if s <= step]
        best = min(v for v in mine if v == v) if any(v == v for v in mine) else float("inf")
        threshold = float(np.percentile(np.asarray(others), self._percentile))
        return Decision.STOP if best > threshold else Decision.CONTINUE

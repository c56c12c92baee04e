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
        # Thresholds per step for one tuple of completed trials (a cache the view rebuilds:
        # the study hands out the same tuple until a trial completes).
        self._cache: tuple[object, dict[int, float | None]] = (None, {})

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
        threshold = self._threshold(view, trial.number, step)
        if threshold is None:
            return Decision.CONTINUE
        mine = [signed(view, v) for s, v in trial.intermediate_values.items() if s <= step]
        best = min(v for v in mine if v == v) if any(v == v for v in mine) else float("inf")
        return Decision.STOP if best > threshold else Decision.CONTINUE

    def _threshold(self, view: StudyView, number: int, step: int) -> float | None:
        """The percentile of finished trials' values at ``step`` (None: too few to judge)."""
        completed = view.completed  # a reporting trial runs: it is never among them
        key, thresholds = self._cache
        if key is not completed:
            thresholds = {}
            self._cache = (completed, thresholds)
        if step in thresholds:
            return thresholds[step]
        done = [t for t in completed if t.number != number]
        others = [
            signed(view, t.intermediate_values[step]) for t in done if step in t.intermediate_values
        ]
        others = [v for v in others if v == v]  # NaN reports do not vote
        found = None
        if len(done) >= self._n_startup and others:
            found = float(np.percentile(np.asarray(others), self._percentile))
        thresholds[step] = found
        return found

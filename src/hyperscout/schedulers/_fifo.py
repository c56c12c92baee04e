"""FIFO: every trial runs to the end (no early stopping). The default scheduler."""

from __future__ import annotations

from hyperscout._records import FrozenTrial
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.schedulers._base import Decision, Job

__all__ = ["FIFOScheduler"]


class FIFOScheduler:
    """Never stops or pauses a trial.

    Args:
        max_budget: the budget every trial gets (``trial.budget``, where ``trial.steps()``
            ends); None: no limit.
    """

    def __init__(self, max_budget: int | None = None) -> None:
        self._max = None if max_budget is None else check_int("max_budget", max_budget, 1)

    def __repr__(self) -> str:
        return "FIFOScheduler()" if self._max is None else f"FIFOScheduler(max_budget={self._max})"

    def next_job(self, view: StudyView, new_allowed: bool) -> Job | None:
        """A new trial with the full budget while new trials are allowed."""
        return Job(budget=self._max) if new_allowed else None

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """Always CONTINUE."""
        return Decision.CONTINUE

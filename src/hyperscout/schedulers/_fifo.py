"""FIFO: every trial runs to the end (no early stopping). The default scheduler."""

from __future__ import annotations

from hyperscout._records import FrozenTrial
from hyperscout.samplers._base import StudyView
from hyperscout.schedulers._base import Decision

__all__ = ["FIFOScheduler"]


class FIFOScheduler:
    """Never stops or pauses a trial."""

    def __repr__(self) -> str:
        return "FIFOScheduler()"

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """Always CONTINUE."""
        return Decision.CONTINUE

"""The Scheduler protocol: how much budget a trial gets, answered at every report.

Issue-level note: this is the seam's first cut. FIFO (run every trial to the end) is the only
scheduler so far; pausing and promotion (``next_job``) arrive with the multi-fidelity schedulers.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from hyperscout._records import FrozenTrial
from hyperscout.samplers._base import StudyView

__all__ = ["Decision", "Scheduler"]


class Decision(enum.Enum):
    """A scheduler's answer to a report."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


@runtime_checkable
class Scheduler(Protocol):
    """Decides, at each ``trial.report(step, value)``, whether the trial goes on."""

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """Answer a report; ``trial`` already holds the reported value."""
        ...

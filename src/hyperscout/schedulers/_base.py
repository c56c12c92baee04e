"""The Scheduler protocol: which job runs next, with what budget, and the answer to every report.

A scheduler decides fidelity (the *budget*: epochs, steps, a data fraction expressed as steps).
The study calls it at two places:

1. ``next_job(view, new_allowed)`` when a worker is free: a :class:`Job` (a new trial, or the
   resumption of a PAUSED trial, each with the step it may run up to), :data:`WAIT` (nothing to
   run until a running trial reports, e.g. a synchronous rung that is not full yet) or None
   (the scheduler has nothing more to run, ever: a finished bracket schedule). ``new_allowed``
   is False once the caller's trial budget (``n_trials``) is spent: only resumptions may follow.
   Schedulers without ``next_job`` (FIFO, median stopping) get a new trial with no budget.
2. ``on_report(view, trial, step, value)`` at every ``trial.report``: CONTINUE, PAUSE (the trial
   stops now and may be resumed later from its checkpoint) or STOP (it ends as PRUNED).

State lives in the storage, never in the scheduler object: what a scheduler needs to remember
(a trial's bracket, rung, parent) goes into :attr:`Job.attrs`, which the study stores in the
trial's system attributes, and everything else is derived from the trials' intermediate values.
So a study loaded in another process, or after a crash, continues the same brackets and rungs,
and several workers sharing a storage agree.

Values in ``on_report`` and in the view are as reported; :func:`signed` turns them into
"smaller is better" for the study's direction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable

from hyperscout._records import FrozenTrial, StudyDirection
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int

__all__ = [
    "BUDGET_KEY",
    "DECISION_KEY",
    "FINAL_KEY",
    "START_STEP_KEY",
    "WAIT",
    "Decision",
    "Job",
    "Scheduler",
    "Wait",
    "check_budgets",
    "signed",
]

#: System attributes the study keeps on a trial for its scheduler.
BUDGET_KEY: Final = "budget"  # the last step the current run may reach (absent: no limit)
START_STEP_KEY: Final = "start_step"  # steps done before the current run (0 for a new trial)
DECISION_KEY: Final = "decision"  # the last non-CONTINUE decision ("PAUSE" or "STOP")
FINAL_KEY: Final = "final"  # False: the run ends PAUSED at its budget, not COMPLETE


class Decision(enum.Enum):
    """A scheduler's answer to a report."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


class Wait:
    """The type of :data:`WAIT`: nothing to run until a running trial reports."""

    _instance: Wait | None = None

    def __new__(cls) -> Wait:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "WAIT"

    def __reduce__(self) -> str:
        return "WAIT"


#: ``next_job`` result: no job now; ask again after a running trial reports or finishes.
WAIT: Final = Wait()


@dataclass(frozen=True)
class Job:
    """What a scheduler wants run next.

    Attributes:
        budget: the last step the run may reach (``trial.budget``); None: no limit.
        resume: number of a PAUSED trial to resume (from its last reported step); None: a new
            trial whose parameters the sampler draws.
        attrs: JSON-serializable values stored in the trial's system attributes (a bracket, a
            rung, a parent): the scheduler's memory, kept in the storage.
        params: for a new trial, parameter values fixed instead of sampled (PBT's explore step).
        checkpoint_from: for a new trial, the number of a trial whose checkpoint is copied to it
            before it starts (PBT's exploit step). Such a branch of an existing trial does not
            count against ``n_trials`` (a new configuration does).
        replaces: for a new trial, the number of a PAUSED trial it replaces (PBT's loser):
            that trial is ended PRUNED with a compare-and-set against the snapshot the scheduler
            saw, its checkpoints deleted; when another worker resumed or replaced it first, the
            job is dropped and the scheduler asked again.
        final: False when the budget is a rung below the full budget: the run then ends PAUSED
            (to be resumed or not) even when the objective returns without a report at the
            budget; True: the run ends COMPLETE.
    """

    budget: int | None = None
    resume: int | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    checkpoint_from: int | None = None
    replaces: int | None = None
    final: bool = True


@runtime_checkable
class Scheduler(Protocol):
    """Decides, at each ``trial.report(step, value)``, whether the trial goes on.

    Multi-fidelity schedulers also define ``next_job(view, new_allowed) -> Job | WAIT | None``
    (see the module docstring).
    """

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """Answer a report; ``trial`` already holds the reported value."""
        ...


def signed(view: StudyView, value: float) -> float:
    """``value`` as "smaller is better" for the study's (first) direction."""
    return value if view.directions[0] == StudyDirection.MINIMIZE else -value


def check_budgets(min_budget: Any, max_budget: Any, eta: Any = None) -> tuple[int, int, float]:
    """Validate the usual (min_budget, max_budget, eta) triple; ``eta`` None means 3."""
    lo = check_int("min_budget", min_budget, 1)
    hi = check_int("max_budget", max_budget, 1)
    if hi < lo:
        raise InvalidArgumentError(
            f"`max_budget` must be >= `min_budget`, got min_budget={lo}, max_budget={hi}"
        )
    if eta is None:
        return lo, hi, 3.0
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 1:
        raise InvalidArgumentError(f"`eta` must be a number > 1 (3 is usual), got eta={eta!r}")
    return lo, hi, float(eta)

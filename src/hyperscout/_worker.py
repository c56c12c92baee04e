"""Study-level budgets, shared by every worker attached to a study.

``study.set_budget(n_trials=..., timeout=..., target=...)`` stores the budget in the study; any
number of workers (``study.work(objective)`` or ``hyperscout worker`` on any machine) then run
trials until it is spent, all together:

* ``n_trials``: the study holds at most this many trials. The storage checks it in the
  transaction that numbers a new trial, so eight racing workers never overshoot it.
* ``timeout``: no trial starts after ``set_budget`` time + ``timeout`` (by the clock of the
  machine that set it; keep the machines' clocks in sync).
* ``target``: no trial starts once a completed trial reached the value (<= for a minimized
  objective, >= for a maximized one).

Trials already running finish; a trial recovered from a dead worker (see ``_heartbeat.py``)
still runs, since it was counted when it was created.
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from hyperscout._heartbeat import check_seconds
from hyperscout._records import StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError

if TYPE_CHECKING:
    from hyperscout.study import Study

__all__ = ["StudyBudget", "budget_spec"]

BUDGET_KEY: Final = "study_budget"  # study system attribute: n_trials, deadline, target


def budget_spec(n_trials: Any, timeout: Any, target: Any, n_objectives: int) -> dict[str, Any]:
    """Check ``set_budget``'s arguments; the dict stored in the study."""
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1
    ):
        raise InvalidArgumentError(f"`n_trials` must be an int >= 1 or None, got {n_trials!r}")
    check_seconds("timeout", timeout, or_none=True)
    if target is not None:
        if n_objectives != 1:
            raise InvalidArgumentError(
                "`target` needs a single-objective study: a multi-objective study has no one "
                "value to compare"
            )
        if isinstance(target, bool) or not isinstance(target, numbers.Real) or math.isnan(target):
            raise InvalidArgumentError(f"`target` must be a number or None, got {target!r}")
    return {
        "n_trials": None if n_trials is None else int(n_trials),
        "deadline": None if timeout is None else time.time() + float(timeout),
        "target": None if target is None else float(target),
    }


class StudyBudget:
    """The new-trial budget of a worker: the study's stored budget, shared by all workers."""

    def __init__(self, study: Study, spec: dict[str, Any], stop: threading.Event) -> None:
        self._study = study
        self.limit: int | None = spec.get("n_trials")
        self._deadline: float | None = spec.get("deadline")
        self._target: float | None = spec.get("target")
        self._maximize = study.directions[0] == StudyDirection.MAXIMIZE
        self.stop = stop

    def _reached(self) -> bool:
        if self._target is None:
            return False
        for t in self._study._refresh_view().trials:
            if t.state == TrialState.COMPLETE and t.values:
                v = t.values[0]
                if (v >= self._target) if self._maximize else (v <= self._target):
                    return True
        return False

    def expired(self) -> bool:
        """True once the study's deadline passed, its target was reached, or stop() was called."""
        if self.stop.is_set():
            return True
        if self._deadline is not None and time.time() >= self._deadline:
            return True
        return self._reached()

    def has_room(self) -> bool:
        """True while the study may take one more trial."""
        if self.expired():
            return False
        return self.limit is None or len(self._study._refresh_view().trials) < self.limit

    def claim(self) -> bool:
        """A new trial may start (the storage enforces ``n_trials`` exactly when it numbers it)."""
        return self.has_room()

"""Schedulers: how much budget each trial gets, and which paused trial resumes next.

See :mod:`hyperscout.schedulers._base` for the protocol. Names usable as
``create_study(scheduler=...)``: "fifo" and "median"; the multi-fidelity schedulers need
``max_budget`` and are passed as objects (``hs.ASHAScheduler(max_budget=52)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.schedulers._asha import ASHAScheduler, AsyncHyperbandScheduler
from hyperscout.schedulers._base import WAIT, Decision, Job, Scheduler
from hyperscout.schedulers._dehb import DEHBScheduler
from hyperscout.schedulers._fifo import FIFOScheduler
from hyperscout.schedulers._idhb import IterativeDeepeningHyperbandScheduler
from hyperscout.schedulers._median import MedianStoppingScheduler
from hyperscout.schedulers._pbt import PBTScheduler
from hyperscout.schedulers._sha import HyperbandScheduler, SuccessiveHalvingScheduler
from hyperscout.schedulers._topk import TopKScheduler

__all__ = [
    "SCHEDULERS",
    "WAIT",
    "ASHAScheduler",
    "AsyncHyperbandScheduler",
    "DEHBScheduler",
    "Decision",
    "FIFOScheduler",
    "HyperbandScheduler",
    "IterativeDeepeningHyperbandScheduler",
    "Job",
    "MedianStoppingScheduler",
    "PBTScheduler",
    "Scheduler",
    "SuccessiveHalvingScheduler",
    "TopKScheduler",
    "make_scheduler",
]

#: Registry name -> scheduler class (the ones that need no argument).
SCHEDULERS: dict[str, Callable[[], Any]] = {
    "fifo": FIFOScheduler,
    "median": MedianStoppingScheduler,
}
#: Names of schedulers that need ``max_budget``, for the error message.
_NEED_BUDGET = {
    "asha": "ASHAScheduler",
    "hyperband": "HyperbandScheduler",
    "async_hyperband": "AsyncHyperbandScheduler",
    "sha": "SuccessiveHalvingScheduler",
    "topk": "TopKScheduler",
    "idhb": "IterativeDeepeningHyperbandScheduler",
    "dehb": "DEHBScheduler",
    "pbt": "PBTScheduler",
}


def make_scheduler(scheduler: Any) -> Scheduler:
    """Turn the ``scheduler`` argument of create_study into a Scheduler (None means FIFO)."""
    if scheduler is None:
        return FIFOScheduler()
    if isinstance(scheduler, str):
        name = scheduler.lower()
        if name in _NEED_BUDGET:
            raise InvalidArgumentError(
                f"`scheduler={scheduler!r}` needs the full budget: pass "
                f"hs.{_NEED_BUDGET[name]}(max_budget=...) instead of the name"
            )
        if name not in SCHEDULERS:
            raise InvalidArgumentError(
                f"`scheduler` must be one of {sorted(SCHEDULERS)} or a Scheduler object, "
                f"got {scheduler!r}"
            )
        out: Scheduler = SCHEDULERS[name]()
        return out
    if isinstance(scheduler, Scheduler):
        return scheduler
    raise InvalidTypeError(f"`scheduler` must be a name or a Scheduler, got {scheduler!r}")

"""Schedulers: how much budget each trial gets (FIFO for now)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.schedulers._base import Decision, Scheduler
from hyperscout.schedulers._fifo import FIFOScheduler

__all__ = ["SCHEDULERS", "Decision", "FIFOScheduler", "Scheduler", "make_scheduler"]

#: Registry name -> scheduler class.
SCHEDULERS: dict[str, Callable[[], Any]] = {"fifo": FIFOScheduler}


def make_scheduler(scheduler: Any) -> Scheduler:
    """Turn the ``scheduler`` argument of create_study into a Scheduler (None means FIFO)."""
    if scheduler is None:
        return FIFOScheduler()
    if isinstance(scheduler, str):
        if scheduler.lower() not in SCHEDULERS:
            raise InvalidArgumentError(
                f"`scheduler` must be one of {sorted(SCHEDULERS)}, got {scheduler!r}"
            )
        out: Scheduler = SCHEDULERS[scheduler.lower()]()
        return out
    if isinstance(scheduler, Scheduler):
        return scheduler
    raise InvalidTypeError(f"`scheduler` must be a name or a Scheduler, got {scheduler!r}")

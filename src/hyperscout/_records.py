"""Plain records shared by every layer: trial states, study directions, frozen trials."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any

from hyperscout.errors import InvalidArgumentError, TrialStateError
from hyperscout.space import Distribution

__all__ = [
    "CONSTRAINTS_KEY",
    "LIVE_STATES",
    "FrozenTrial",
    "StudyDirection",
    "StudySummary",
    "TrialState",
    "is_feasible",
]


class TrialState(enum.Enum):
    """Lifecycle of a trial: ``WAITING -> RUNNING -> (PAUSED <-> RUNNING)* -> finished``."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    def is_finished(self) -> bool:
        """COMPLETE, PRUNED and FAILED are final."""
        return self in _FINISHED


_FINISHED = frozenset({TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED})
#: States of a trial whose result is still to come (the states a tell() may end).
#: System attribute of a trial's constraint values: a list of floats, each <= 0 when satisfied
#: (``trial.set_constraints`` or ``optimize(constraints_func=...)``); absent: unconstrained.
CONSTRAINTS_KEY = "constraints"


def is_feasible(trial: FrozenTrial) -> bool:
    """Whether every constraint of ``trial`` is satisfied (<= 0); True without constraints."""
    values = trial.system_attrs.get(CONSTRAINTS_KEY)
    return values is None or all(float(c) <= 0.0 for c in values)


LIVE_STATES = frozenset({TrialState.RUNNING, TrialState.WAITING, TrialState.PAUSED})


class StudyDirection(enum.Enum):
    """Whether an objective is minimized or maximized."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: Any, argument: str = "direction") -> StudyDirection:
        """Accept a StudyDirection or the strings 'minimize' / 'maximize'."""
        if isinstance(value, StudyDirection):
            return value
        if isinstance(value, str) and value.lower() in ("minimize", "maximize"):
            return cls(value.lower())
        raise InvalidArgumentError(f"`{argument}` must be 'minimize' or 'maximize', got {value!r}")


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class FrozenTrial:
    """An immutable snapshot of one trial as the storage holds it.

    ``params`` holds user-facing values; ``distributions`` the distribution each was drawn from.
    ``values`` is None until the trial completes (a tuple, one value per objective).
    """

    trial_id: int
    number: int
    state: TrialState
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    intermediate_values: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None

    @property
    def value(self) -> float | None:
        """The objective value of a single-objective trial (None until it completes)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise TrialStateError(
                f"trial {self.number} has {len(self.values)} objective values: use `values`"
            )
        return self.values[0]

    @property
    def duration(self) -> _dt.timedelta | None:
        """Wall time from start to completion, when both are known."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def last_step(self) -> int | None:
        """The largest step reported with ``trial.report``, or None."""
        return max(self.intermediate_values) if self.intermediate_values else None


@dataclass(frozen=True, slots=True)
class StudySummary:
    """What ``list_studies`` returns for each study."""

    study_id: int
    name: str
    directions: tuple[StudyDirection, ...]
    n_trials: int
    best_values: tuple[float, ...] | None
    datetime_start: _dt.datetime | None

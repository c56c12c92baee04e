"""In-memory storage: fast, thread-safe, gone when the process ends."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperscout._records import FrozenTrial, StudyDirection, StudySummary, TrialState, _utcnow
from hyperscout.errors import (
    DuplicatedStudyError,
    InvalidArgumentError,
    ParamConflictError,
    StudyBudgetSpent,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from hyperscout.storage._base import ParamWrite

__all__ = ["InMemoryStorage"]


@dataclass(slots=True)
class _StudyRecord:
    name: str
    directions: tuple[StudyDirection, ...]
    trial_ids: list[int] = field(default_factory=list)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    # version log: changes[v - 1] is the trial id written at version v
    changes: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)


def _with(old: FrozenTrial, changes: dict[str, Any]) -> FrozenTrial:
    """``dataclasses.replace`` without its per-call introspection (a hot path: positional
    arguments in field order are about twice as fast as keywords)."""
    get = changes.get
    return FrozenTrial(
        old.trial_id,
        old.number,
        get("state", old.state),
        get("params", old.params),
        get("distributions", old.distributions),
        get("values", old.values),
        get("intermediate_values", old.intermediate_values),
        get("user_attrs", old.user_attrs),
        get("system_attrs", old.system_attrs),
        get("datetime_start", old.datetime_start),
        get("datetime_complete", old.datetime_complete),
    )


def check_expected(
    old: FrozenTrial,
    expected_states: Collection[TrialState] | None,
    expected_attrs: Mapping[str, Any] | None,
) -> None:
    """The checks of ``update_trial``: not finished, in ``expected_states``, and holding the
    ``expected_attrs`` system attribute values (absent reads as None)."""
    if old.state.is_finished():
        raise TrialStateError(
            f"trial {old.number} is already {old.state.value}; a finished trial cannot change"
        )
    if expected_states is not None and old.state not in expected_states:
        raise TrialStateError(
            f"trial {old.number} is {old.state.value}, expected one of "
            f"{sorted(s.value for s in expected_states)}"
        )
    for key, value in (expected_attrs or {}).items():
        if old.system_attrs.get(key) != value:
            raise TrialStateError(
                f"trial {old.number} has system attribute {key!r} = "
                f"{old.system_attrs.get(key)!r}, expected {value!r} (another worker changed it)"
            )


def check_values(values: Sequence[float] | None, n_objectives: int) -> tuple[float, ...] | None:
    """Validate stored objective values against the study's number of objectives."""
    if values is None:
        return None
    out = tuple(float(v) for v in values)
    if len(out) != n_objectives:
        raise InvalidArgumentError(
            f"the study has {n_objectives} objective(s), got {len(out)} value(s): {out!r}"
        )
    return out


def merge_params(
    trial: FrozenTrial, params: Mapping[str, ParamWrite]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """New (params, distributions) dicts with ``params`` merged in; raises on a conflict."""
    new_params = dict(trial.params)
    new_dists = dict(trial.distributions)
    for name, (dist, internal) in params.items():
        old = new_dists.get(name)
        if old is not None and old is not dist and old != dist:
            raise ParamConflictError(
                f"parameter {name!r} of trial {trial.number} was suggested as {old!r}, "
                f"now as {dist!r}: use one distribution per name within a trial"
            )
        new_dists[name] = dist
        new_params[name] = dist.to_external(internal)
    return new_params, new_dists


class InMemoryStorage:
    """Storage kept in Python objects, guarded by one lock. The default when no URL is given.

    Example:
        >>> storage = InMemoryStorage()
        >>> sid = storage.create_study("s", [StudyDirection.MINIMIZE])
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _StudyRecord] = {}
        self._names: dict[str, int] = {}
        self._trials: dict[int, FrozenTrial] = {}
        self._trial_study: dict[int, int] = {}
        self._next_study = 0
        self._next_trial = 0
        self._beats: dict[int, float] = {}  # watched RUNNING trial id -> monotonic time

    def __repr__(self) -> str:
        return "InMemoryStorage()"

    # -- studies ---------------------------------------------------------------------------
    def _study(self, study_id: int) -> _StudyRecord:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id}") from None

    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> int:
        with self._lock:
            if name in self._names:
                raise DuplicatedStudyError(
                    f"a study named {name!r} exists already: pass load_if_exists=True to reuse it"
                )
            study_id = self._next_study
            self._next_study += 1
            self._studies[study_id] = _StudyRecord(name, tuple(directions))
            self._names[name] = study_id
            return study_id

    def get_study_id(self, name: str) -> int:
        with self._lock:
            try:
                return self._names[name]
            except KeyError:
                raise StudyNotFoundError(f"no study named {name!r} in this storage") from None

    def get_study_name(self, study_id: int) -> str:
        with self._lock:
            return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> tuple[StudyDirection, ...]:
        with self._lock:
            return self._study(study_id).directions

    def list_studies(self) -> list[StudySummary]:
        from hyperscout._best import best_values

        with self._lock:
            out = []
            for sid, rec in sorted(self._studies.items()):
                trials = [self._trials[t] for t in rec.trial_ids]
                starts = [t.datetime_start for t in trials if t.datetime_start is not None]
                out.append(
                    StudySummary(
                        study_id=sid,
                        name=rec.name,
                        directions=rec.directions,
                        n_trials=len(trials),
                        best_values=best_values(trials, rec.directions),
                        datetime_start=min(starts) if starts else None,
                    )
                )
            return out

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            rec = self._study(study_id)
            for tid in rec.trial_ids:
                del self._trials[tid]
                del self._trial_study[tid]
            del self._names[rec.name]
            del self._studies[study_id]

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        with self._lock:
            rec = self._study(study_id)
            (rec.system_attrs if system else rec.user_attrs)[key] = copy.deepcopy(value)

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        with self._lock:
            rec = self._study(study_id)
            return copy.deepcopy(rec.system_attrs if system else rec.user_attrs)

    # -- trials ----------------------------------------------------------------------------
    def _stamp(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        self._trials[trial.trial_id] = trial
        self._studies[study_id].changes.append(trial.trial_id)
        return trial

    def create_trial(
        self,
        study_id: int,
        *,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, ParamWrite] | None = None,
        values: Sequence[float] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        heartbeat: bool = False,
        max_trials: int | None = None,
    ) -> FrozenTrial:
        with self._lock:
            rec = self._study(study_id)
            if max_trials is not None and len(rec.trial_ids) >= max_trials:
                raise StudyBudgetSpent(f"the study holds its budget of {max_trials} trials")
            trial_id = self._next_trial
            if heartbeat and state == TrialState.RUNNING:
                self._beats[trial_id] = time.monotonic()
            now = _utcnow()
            trial = FrozenTrial(
                trial_id=trial_id,
                number=len(rec.trial_ids),
                state=state,
                values=check_values(values, len(rec.directions)),
                user_attrs=copy.deepcopy(dict(user_attrs)) if user_attrs else {},
                system_attrs=copy.deepcopy(dict(system_attrs)) if system_attrs else {},
                datetime_start=None if state == TrialState.WAITING else now,
                datetime_complete=now if state.is_finished() else None,
            )
            if params:
                p, d = merge_params(trial, params)
                trial = dataclasses.replace(trial, params=p, distributions=d)
            self._next_trial += 1
            rec.trial_ids.append(trial_id)
            self._trial_study[trial_id] = study_id
            if state == TrialState.WAITING:
                rec.waiting.append(trial_id)
            return self._stamp(study_id, trial)

    def claim_waiting_trial(self, study_id: int, *, heartbeat: bool = False) -> FrozenTrial | None:
        with self._lock:
            rec = self._study(study_id)
            while rec.waiting:
                tid = rec.waiting.pop(0)
                if self._trials[tid].state == TrialState.WAITING:
                    return self.update_trial(tid, state=TrialState.RUNNING, heartbeat=heartbeat)
            return None

    def update_trial(
        self,
        trial_id: int,
        *,
        state: TrialState | None = None,
        values: Sequence[float] | None = None,
        params: Mapping[str, ParamWrite] | None = None,
        intermediate_values: Mapping[int, float] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        expected_states: Collection[TrialState] | None = None,
        expected_attrs: Mapping[str, Any] | None = None,
        heartbeat: bool = False,
    ) -> FrozenTrial:
        with self._lock:
            old = self.get_trial(trial_id)
            check_expected(old, expected_states, expected_attrs)
            study_id = self._trial_study[trial_id]
            changes: dict[str, Any] = {}
            if heartbeat and state == TrialState.RUNNING:
                self._beats[trial_id] = time.monotonic()
            elif state is not None and state != TrialState.RUNNING:
                self._beats.pop(trial_id, None)
            if state is not None and state != old.state:
                changes["state"] = state
                if state == TrialState.RUNNING and old.datetime_start is None:
                    changes["datetime_start"] = _utcnow()
                if state.is_finished():
                    changes["datetime_complete"] = _utcnow()
            if values is not None:
                n = len(self._studies[study_id].directions)
                changes["values"] = check_values(values, n)
            if params:
                changes["params"], changes["distributions"] = merge_params(old, params)
            if intermediate_values:
                merged = dict(old.intermediate_values)
                merged.update({int(k): float(v) for k, v in intermediate_values.items()})
                changes["intermediate_values"] = merged
            if user_attrs:
                changes["user_attrs"] = {**old.user_attrs, **copy.deepcopy(dict(user_attrs))}
            if system_attrs:
                changes["system_attrs"] = {**old.system_attrs, **copy.deepcopy(dict(system_attrs))}
            new = _with(old, changes)
            return self._stamp(study_id, new)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            try:
                return self._trials[trial_id]
            except KeyError:
                raise TrialNotFoundError(f"no trial with id {trial_id}") from None

    def get_trial_id(self, study_id: int, number: int) -> int:
        with self._lock:
            ids = self._study(study_id).trial_ids
            if not 0 <= number < len(ids):
                raise TrialNotFoundError(f"study {study_id} has no trial number {number}")
            return ids[number]

    def get_trials(self, study_id: int, *, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        with self._lock:
            rec = self._study(study_id)
            version = len(rec.changes)
            if since_version <= 0:
                ids: Collection[int] = rec.trial_ids
            else:
                ids = set(rec.changes[since_version:])
            trials = sorted((self._trials[t] for t in ids), key=lambda t: t.number)
            return trials, version

    def beat(self, trial_ids: Collection[int]) -> None:
        """Record a heartbeat of the watched RUNNING trials among ``trial_ids``."""
        with self._lock:
            now = time.monotonic()
            for tid in trial_ids:
                if tid in self._beats and self._trials[tid].state == TrialState.RUNNING:
                    self._beats[tid] = now

    def stale_trials(self, study_id: int, grace_seconds: float) -> list[FrozenTrial]:
        """Watched RUNNING trials whose last heartbeat is older than ``grace_seconds``."""
        with self._lock:
            limit = time.monotonic() - grace_seconds
            rec = self._study(study_id)
            return [
                self._trials[t]
                for t in rec.trial_ids
                if self._trials[t].state == TrialState.RUNNING and self._beats.get(t, limit) < limit
            ]

    def close(self) -> None:
        """Nothing to release."""

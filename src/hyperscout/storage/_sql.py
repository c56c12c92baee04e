"""SQL storage through SQLAlchemy Core: SQLite by default on disk, PostgreSQL for many machines.

Each study row holds a version counter; every trial write bumps it in the same transaction and
stamps the trial with the new value, which makes ``get_trials(since_version=v)`` an index range
read of what changed. Trial numbers come from a per-study counter updated under the same row
lock (PostgreSQL) or the database write lock (SQLite), so they are gap-free. The tables live in
``_sql_schema.py``, locking and retries in ``_sql_engine.py``, row I/O in ``_sql_io.py``.

Example:
    >>> storage = SQLStorage("sqlite:///runs.db")  # doctest: +SKIP
    >>> study_id = storage.create_study("demo", [StudyDirection.MINIMIZE])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from hyperscout._records import FrozenTrial, StudyDirection, StudySummary, TrialState, _utcnow
from hyperscout.errors import (
    DuplicatedStudyError,
    InvalidTypeError,
    StorageError,
    StudyBudgetSpent,
    StudyNotFoundError,
    TrialNotFoundError,
)
from hyperscout.storage._base import ParamWrite
from hyperscout.storage._memory import check_expected, check_values, merge_params
from hyperscout.storage._sql_codec import (
    TrialWrite,
    decode_directions,
    dump_attr,
    dump_values,
    encode_write,
    to_db_time,
)
from hyperscout.storage._sql_engine import Database
from hyperscout.storage._sql_io import (
    BEAT,
    INSERT_TRIAL,
    INSERT_TRIAL_BEATING,
    STALE_TRIALS,
    TRIAL_BY_ID,
    TRIAL_BY_ID_LOCKED,
    TRIALS_OF_STUDY,
    TRIALS_SINCE,
    UPDATE_TRIAL,
    UPDATE_TRIAL_BEATING,
    bump,
    list_studies,
    load_trials,
    new_id,
    upsert,
    write_children,
)
from hyperscout.storage._sql_schema import (
    ensure_schema,
    studies,
    study_attrs,
    trial_attrs,
    trial_intermediate,
    trial_params,
    trials,
)

__all__ = ["SQLStorage"]

_sid: sa.BindParameter[int] = sa.bindparam("b_study_id")
_STUDY_EXISTS = sa.select(studies.c.study_id).where(studies.c.study_id == _sid)
_STUDY_BY_NAME = sa.select(studies.c.study_id).where(studies.c.name == sa.bindparam("b_name"))
_STUDY_NAME = sa.select(studies.c.name).where(studies.c.study_id == _sid)
_STUDY_DIRECTIONS = sa.select(studies.c.directions).where(studies.c.study_id == _sid)
_STUDY_VERSION = sa.select(studies.c.version).where(studies.c.study_id == _sid)
_WAITING = (trials.c.study_id == _sid) & (trials.c.state == TrialState.WAITING.value)
_PEEK_WAITING = sa.select(trials.c.trial_id).where(_WAITING).limit(1)
_OLDEST_WAITING = sa.select(trials.c.trial_id).where(_WAITING).order_by(trials.c.number).limit(1)
_OLDEST_WAITING_SKIP_LOCKED = _OLDEST_WAITING.with_for_update(skip_locked=True)
_TRIAL_BY_NUMBER = sa.select(trials.c.trial_id).where(
    trials.c.study_id == _sid, trials.c.number == sa.bindparam("b_number")
)
_STUDY_ATTRS = (
    sa.select(study_attrs.c.key, study_attrs.c.value)
    .where(study_attrs.c.study_id == _sid, study_attrs.c.system == sa.bindparam("b_system"))
    .order_by(study_attrs.c.attr_id)
)


class SQLStorage:
    """Storage in a SQL database (SQLite or PostgreSQL), safe for threads and processes.

    Args:
        url: a SQLAlchemy URL: ``"sqlite:///path/to/file.db"`` (created if missing, with its
            directory) or ``"postgresql://user:password@host/dbname"`` (needs
            ``pip install 'hyperscout[postgres]'``).

    Attributes:
        url: the URL as given; worker processes reconnect with it.

    Raises:
        InvalidArgumentError: ``url`` is malformed.
        MissingDependencyError: the database driver is not installed.
        StorageError: the database cannot be opened or reached, or was written by a newer
            hyperscout.

    Example:
        >>> storage = SQLStorage("sqlite:///runs.db")  # doctest: +SKIP
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)
        self._directions: dict[int, tuple[StudyDirection, ...]] = {}
        # Close pooled connections when the storage is collected or at exit, even unclosed.
        weakref.finalize(self, self._db.dispose)
        try:
            self._db.write(lambda conn: ensure_schema(conn, self._db.display), logged=False)
        except BaseException:
            self._db.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStorage({self._db.display!r})"

    def __reduce__(self) -> tuple[type[SQLStorage], tuple[str]]:
        return (SQLStorage, (self.url,))

    # -- studies ---------------------------------------------------------------------------
    def _study_directions(self, conn: sa.Connection, study_id: int) -> tuple[StudyDirection, ...]:
        cached = self._directions.get(study_id)  # directions never change; ids are not reused
        if cached is None:
            text = conn.execute(_STUDY_DIRECTIONS, {"b_study_id": study_id}).scalar()
            if text is None:
                raise StudyNotFoundError(f"no study with id {study_id}")
            cached = self._directions[study_id] = decode_directions(text)
        return cached

    @staticmethod
    def _check_study(conn: sa.Connection, study_id: int) -> None:
        if conn.execute(_STUDY_EXISTS, {"b_study_id": study_id}).first() is None:
            raise StudyNotFoundError(f"no study with id {study_id}")

    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> int:
        if not isinstance(name, str):
            raise InvalidTypeError(f"`name` must be a string, got {name!r}")
        dirs = json.dumps([StudyDirection.parse(d, "directions").value for d in directions])
        duplicated = DuplicatedStudyError(
            f"a study named {name!r} exists already: pass load_if_exists=True to reuse it"
        )

        def fn(conn: sa.Connection) -> int:
            if conn.execute(_STUDY_BY_NAME, {"b_name": name}).first() is not None:
                raise duplicated
            row = {"name": name, "directions": dirs, "version": 0, "n_trials": 0}
            return new_id(conn.execute(studies.insert(), {**row, "created": _now()}))

        try:
            return self._db.write(fn)
        except StorageError as err:
            if isinstance(err.__cause__, exc.IntegrityError):  # a concurrent create won
                raise duplicated from None
            raise

    def get_study_id(self, name: str) -> int:
        found = self._db.read(lambda c: c.execute(_STUDY_BY_NAME, {"b_name": name}).scalar())
        if found is None:
            raise StudyNotFoundError(f"no study named {name!r} in this storage")
        return int(found)

    def get_study_name(self, study_id: int) -> str:
        found = self._db.read(lambda c: c.execute(_STUDY_NAME, {"b_study_id": study_id}).scalar())
        if found is None:
            raise StudyNotFoundError(f"no study with id {study_id}")
        return str(found)

    def get_study_directions(self, study_id: int) -> tuple[StudyDirection, ...]:
        cached = self._directions.get(study_id)
        if cached is not None:
            return cached
        return self._db.read(lambda conn: self._study_directions(conn, study_id))

    def list_studies(self) -> list[StudySummary]:
        return self._db.read(list_studies)

    def delete_study(self, study_id: int) -> None:
        def fn(conn: sa.Connection) -> None:
            self._check_study(conn, study_id)
            ids = sa.select(trials.c.trial_id).where(trials.c.study_id == study_id)
            for table in (trial_params, trial_intermediate, trial_attrs):
                conn.execute(table.delete().where(table.c.trial_id.in_(ids)))
            conn.execute(trials.delete().where(trials.c.study_id == study_id))
            conn.execute(study_attrs.delete().where(study_attrs.c.study_id == study_id))
            conn.execute(studies.delete().where(studies.c.study_id == study_id))

        self._db.write(fn)
        self._directions.pop(study_id, None)

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        row = {"study_id": study_id, "system": bool(system), "key": key}
        row["value"] = dump_attr(key, value, "study attribute")

        def fn(conn: sa.Connection) -> None:
            self._check_study(conn, study_id)
            upsert(conn, study_attrs, ("study_id", "system", "key"), [row])

        self._db.write(fn)

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        def fn(conn: sa.Connection) -> dict[str, Any]:
            self._check_study(conn, study_id)
            params = {"b_study_id": study_id, "b_system": bool(system)}
            return {r.key: json.loads(r.value) for r in conn.execute(_STUDY_ATTRS, params)}

        return self._db.read(fn)

    # -- trials ----------------------------------------------------------------------------
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
        w = encode_write(TrialState(state), values, params, None, user_attrs, system_attrs)
        w.beat = heartbeat and w.state == TrialState.RUNNING
        return self._db.write(lambda conn: self._create(conn, study_id, w, max_trials))

    def _create(
        self, conn: sa.Connection, study_id: int, w: TrialWrite, max_trials: int | None = None
    ) -> FrozenTrial:
        state = w.state or TrialState.RUNNING
        version, n_trials = bump(conn, study_id, new_trial=True)
        if max_trials is not None and n_trials > max_trials:
            # raising rolls the counter back: trial numbers stay gap-free
            raise StudyBudgetSpent(f"the study holds its budget of {max_trials} trials")
        checked = check_values(w.values, len(self._study_directions(conn, study_id)))
        now = _utcnow()
        start = None if state == TrialState.WAITING else now
        complete = now if state.is_finished() else None
        row = {
            "study_id": study_id,
            "number": n_trials - 1,
            "state": state.value,
            "values_json": dump_values(checked),
            "datetime_start": to_db_time(start),
            "datetime_complete": to_db_time(complete),
            "version": version,
        }
        trial = FrozenTrial(
            trial_id=new_id(conn.execute(INSERT_TRIAL_BEATING if w.beat else INSERT_TRIAL, row)),
            number=n_trials - 1,
            state=state,
            values=checked,
            user_attrs=w.user_attrs,
            system_attrs=w.system_attrs,
            datetime_start=start,
            datetime_complete=complete,
        )
        if w.params:
            p, d = merge_params(trial, w.params)
            trial = dataclasses.replace(trial, params=p, distributions=d)
        write_children(conn, trial.trial_id, w)
        return trial

    def claim_waiting_trial(self, study_id: int, *, heartbeat: bool = False) -> FrozenTrial | None:
        params = {"b_study_id": study_id}

        def peek(conn: sa.Connection) -> int | None:
            found = conn.execute(_PEEK_WAITING, params).scalar()
            if found is None:
                self._study_directions(conn, study_id)  # raises StudyNotFoundError
            return found

        if self._db.read(peek) is None:  # the common case takes no write lock
            return None

        def claim(conn: sa.Connection) -> FrozenTrial | None:
            # SQLite: BEGIN IMMEDIATE makes this transaction the only writer. PostgreSQL: the
            # row lock makes concurrent claimers skip to the next WAITING trial.
            pg = conn.dialect.name == "postgresql"
            stmt = _OLDEST_WAITING_SKIP_LOCKED if pg else _OLDEST_WAITING
            trial_id = conn.execute(stmt, params).scalar()
            if trial_id is None:
                return None
            w = TrialWrite(state=TrialState.RUNNING, expected=(TrialState.WAITING,), beat=heartbeat)
            return self._apply(conn, int(trial_id), w)

        return self._db.write(claim)

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
        w = encode_write(
            state,
            values,
            params,
            intermediate_values,
            user_attrs,
            system_attrs,
            expected_states,
            expected_attrs,
        )
        w.beat = heartbeat and state == TrialState.RUNNING
        return self._db.write(lambda conn: self._apply(conn, trial_id, w))

    def _apply(self, conn: sa.Connection, trial_id: int, w: TrialWrite) -> FrozenTrial:
        """Check and apply one trial write inside a write transaction; the new snapshot."""
        found = load_trials(conn, TRIAL_BY_ID_LOCKED, {"b_trial_id": trial_id})
        if not found:
            raise TrialNotFoundError(f"no trial with id {trial_id}")
        study_id, old = found[0]
        check_expected(old, w.expected, w.expected_attrs)
        changes: dict[str, Any] = {}
        row: dict[str, Any] = {"b_trial_id": trial_id}
        if w.state is not None and w.state != old.state:
            changes["state"], row["state"] = w.state, w.state.value
            if w.state == TrialState.RUNNING and old.datetime_start is None:
                changes["datetime_start"] = _utcnow()
                row["datetime_start"] = to_db_time(changes["datetime_start"])
            if w.state.is_finished():
                changes["datetime_complete"] = _utcnow()
                row["datetime_complete"] = to_db_time(changes["datetime_complete"])
            if w.state != TrialState.RUNNING:
                row["heartbeat"] = None  # nobody runs it any more: nothing to watch
        if w.values is not None:
            changes["values"] = check_values(w.values, len(self._study_directions(conn, study_id)))
            row["values_json"] = dump_values(changes["values"])
        if w.params:
            changes["params"], changes["distributions"] = merge_params(old, w.params)
        if w.steps:
            changes["intermediate_values"] = {**old.intermediate_values, **w.steps}
        if w.user_attrs:
            changes["user_attrs"] = {**old.user_attrs, **w.user_attrs}
        if w.system_attrs:
            changes["system_attrs"] = {**old.system_attrs, **w.system_attrs}
        write_children(conn, trial_id, w)
        # The study row's lock (taken by the bump, held until COMMIT) orders all writers of the
        # study: take it last, so that it is held for two statements, not for every child row.
        row["version"], _ = bump(conn, study_id, new_trial=False)
        beating = w.beat and (w.state or old.state) == TrialState.RUNNING
        conn.execute(UPDATE_TRIAL_BEATING if beating else UPDATE_TRIAL, row)
        return dataclasses.replace(old, **changes)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        found = self._db.read(lambda c: load_trials(c, TRIAL_BY_ID, {"b_trial_id": trial_id}))
        if not found:
            raise TrialNotFoundError(f"no trial with id {trial_id}")
        return found[0][1]

    def get_trial_id(self, study_id: int, number: int) -> int:
        def fn(conn: sa.Connection) -> int:
            params = {"b_study_id": study_id, "b_number": number}
            found = conn.execute(_TRIAL_BY_NUMBER, params).scalar()
            if found is None:
                self._check_study(conn, study_id)
                raise TrialNotFoundError(f"study {study_id} has no trial number {number}")
            return int(found)

        return self._db.read(fn)

    def get_trials(self, study_id: int, *, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        def fn(conn: sa.Connection) -> tuple[list[FrozenTrial], int]:
            # The version first, then the trials, in one snapshot: whatever the returned
            # version covers is in this read, so the next incremental read misses nothing.
            version = conn.execute(_STUDY_VERSION, {"b_study_id": study_id}).scalar()
            if version is None:
                raise StudyNotFoundError(f"no study with id {study_id}")
            if since_version >= version:
                return [], int(version)
            params = {"b_study_id": study_id, "b_since": since_version}
            stmt = TRIALS_SINCE if since_version > 0 else TRIALS_OF_STUDY
            return [t for _, t in load_trials(conn, stmt, params)], int(version)

        return self._db.read(fn)

    # -- heartbeats -------------------------------------------------------------------------
    def beat(self, trial_ids: Collection[int]) -> None:
        """Record a heartbeat of the watched RUNNING trials among ``trial_ids`` (on the
        database's clock; the study version is not bumped: readers need not see it)."""
        ids = [int(t) for t in trial_ids]
        if ids:
            self._db.write(lambda conn: conn.execute(BEAT, {"b_ids": ids}))

    def stale_trials(self, study_id: int, grace_seconds: float) -> list[FrozenTrial]:
        """Watched RUNNING trials whose last heartbeat is older than ``grace_seconds``."""
        params = {"b_study_id": study_id, "b_grace": float(grace_seconds)}
        return [t for _, t in self._db.read(lambda c: load_trials(c, STALE_TRIALS, params))]

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self._db.dispose()


def _now() -> Any:
    return to_db_time(_utcnow())

"""Reading and writing trial rows: prebuilt statements, batch loads, upserts, study summaries.

Hot statements are built once at import with bound parameters, so SQLAlchemy compiles each one
once per dialect. A batch of trials loads in two queries: the trial rows, then all their
children (params, intermediate values, attributes) in one ``UNION ALL`` over ``IN`` lists.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from hyperscout._records import FrozenTrial, StudySummary, TrialState
from hyperscout.errors import StorageError, StudyNotFoundError
from hyperscout.space import Distribution
from hyperscout.storage._sql_codec import (
    TrialWrite,
    decode_directions,
    from_db_time,
    load_distribution,
    load_values,
)
from hyperscout.storage._sql_schema import (
    studies,
    trial_attrs,
    trial_intermediate,
    trial_params,
    trials,
)

__all__ = [
    "BEAT",
    "INSERT_TRIAL",
    "INSERT_TRIAL_BEATING",
    "STALE_TRIALS",
    "TRIALS_OF_STUDY",
    "TRIALS_SINCE",
    "TRIAL_BY_ID",
    "TRIAL_BY_ID_LOCKED",
    "UPDATE_TRIAL",
    "UPDATE_TRIAL_BEATING",
    "bump",
    "list_studies",
    "load_trials",
    "new_id",
    "upsert",
    "write_children",
]

_BATCH = 500  # ids per IN list (SQLite before 3.32 allows 999 bound parameters)


def _p(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


class epoch_now(FunctionElement[float]):
    """The database server's clock in seconds since the epoch: heartbeats of workers on many
    machines are compared on one clock, never on the workers' own."""

    type = sa.Double()
    inherit_cache = True


@compiles(epoch_now, "postgresql")
def _epoch_now_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return "EXTRACT(EPOCH FROM clock_timestamp())::double precision"


@compiles(epoch_now)
def _epoch_now_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


TRIAL_BY_ID = sa.select(trials).where(trials.c.trial_id == _p("b_trial_id"))
TRIAL_BY_ID_LOCKED = TRIAL_BY_ID.with_for_update()
TRIALS_OF_STUDY = (
    sa.select(trials).where(trials.c.study_id == _p("b_study_id")).order_by(trials.c.number)
)
TRIALS_SINCE = TRIALS_OF_STUDY.where(trials.c.version > _p("b_since"))
#: SET columns come from the parameters of each execution (plus ``b_trial_id``).
UPDATE_TRIAL = sa.update(trials).where(trials.c.trial_id == _p("b_trial_id"))

_BUMP_WHERE = studies.c.study_id == _p("b_study_id")
_BUMP = sa.update(studies).where(_BUMP_WHERE).values(version=studies.c.version + 1)
_BUMP_NEW = _BUMP.values(n_trials=studies.c.n_trials + 1)
_BUMP_RETURNING = {
    new: stmt.returning(studies.c.version, studies.c.n_trials)
    for new, stmt in ((False, _BUMP), (True, _BUMP_NEW))
}
INSERT_TRIAL = trials.insert()
#: A RUNNING trial created with its first heartbeat, in the same statement.
INSERT_TRIAL_BEATING = trials.insert().values(heartbeat=epoch_now())
UPDATE_TRIAL_BEATING = UPDATE_TRIAL.values(heartbeat=epoch_now())
_beat_ids: sa.BindParameter[list[int]] = sa.bindparam("b_ids", expanding=True)
#: A heartbeat of watched RUNNING trials; no version bump (readers need not see it).
BEAT = (
    sa.update(trials)
    .where(
        trials.c.trial_id.in_(_beat_ids),
        trials.c.state == TrialState.RUNNING.value,
        trials.c.heartbeat.is_not(None),
    )
    .values(heartbeat=epoch_now())
)
#: Watched RUNNING trials of a study whose last heartbeat is older than ``b_grace`` seconds.
STALE_TRIALS = TRIALS_OF_STUDY.where(
    trials.c.state == TrialState.RUNNING.value,
    trials.c.heartbeat < epoch_now() - _p("b_grace"),
)
_COUNTERS = sa.select(studies.c.version, studies.c.n_trials).where(_BUMP_WHERE)


def _children_query() -> sa.CompoundSelect[Any]:
    ids: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
    text_null, num_null = sa.cast(sa.null(), sa.Text), sa.cast(sa.null(), sa.Double)
    p, i, a = trial_params.c, trial_intermediate.c, trial_attrs.c
    params = sa.select(
        p.trial_id,
        sa.literal_column("0", sa.Integer).label("kind"),
        p.param_id.label("ord"),
        p.name.label("key"),
        p.distribution.label("text"),
        p.value.label("num"),
        sa.false().label("sys"),
    ).where(p.trial_id.in_(ids))
    steps = sa.select(
        i.trial_id,
        sa.literal_column("1", sa.Integer),
        i.step,
        text_null,
        text_null,
        i.value,
        sa.false(),
    ).where(i.trial_id.in_(ids))
    attrs = sa.select(
        a.trial_id,
        sa.literal_column("2", sa.Integer),
        a.attr_id,
        a.key,
        a.value,
        num_null,
        a.system,
    ).where(a.trial_id.in_(ids))
    union = sa.union_all(params, steps, attrs)
    return union.order_by(union.selected_columns.kind, union.selected_columns.ord)


_CHILDREN = _children_query()


@dataclass(slots=True)
class _Parts:
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    intermediate: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)


def _add_child(p: _Parts, r: Any) -> None:
    if r.kind == 0:
        dist = load_distribution(r.text)
        p.distributions[r.key] = dist
        p.params[r.key] = dist.to_external(r.num)
    elif r.kind == 1:
        p.intermediate[int(r.ord)] = math.nan if r.num is None else float(r.num)
    else:
        (p.system_attrs if r.sys else p.user_attrs)[r.key] = json.loads(r.text)


def load_trials(
    conn: sa.Connection, stmt: sa.Select[Any], params: Mapping[str, Any]
) -> list[tuple[int, FrozenTrial]]:
    """``(study_id, trial)`` for each row ``stmt`` (a select of ``hs_trials``) returns."""
    rows = conn.execute(stmt, params).all()
    if not rows:
        return []
    parts = {r.trial_id: _Parts() for r in rows}
    ids = list(parts)
    for start in range(0, len(ids), _BATCH):
        for r in conn.execute(_CHILDREN, {"ids": ids[start : start + _BATCH]}):
            _add_child(parts[r.trial_id], r)
    out = []
    for r in rows:
        p = parts[r.trial_id]
        trial = FrozenTrial(
            trial_id=r.trial_id,
            number=r.number,
            state=TrialState(r.state),
            params=p.params,
            distributions=p.distributions,
            values=load_values(r.values_json),
            intermediate_values=p.intermediate,
            user_attrs=p.user_attrs,
            system_attrs=p.system_attrs,
            datetime_start=from_db_time(r.datetime_start),
            datetime_complete=from_db_time(r.datetime_complete),
        )
        out.append((r.study_id, trial))
    return out


def bump(conn: sa.Connection, study_id: int, *, new_trial: bool) -> tuple[int, int]:
    """Increment the study's version (and its trial counter); both values afterwards.

    The UPDATE takes the study row's lock until commit, so versions and trial numbers are
    handed out in commit order and without gaps.
    """
    params = {"b_study_id": study_id}
    if conn.dialect.update_returning:
        row = conn.execute(_BUMP_RETURNING[new_trial], params).first()
    else:  # pragma: no cover - SQLite < 3.35
        conn.execute(_BUMP_NEW if new_trial else _BUMP, params)
        row = conn.execute(_COUNTERS, params).first()
    if row is None:
        raise StudyNotFoundError(f"no study with id {study_id}")
    return int(row[0]), int(row[1])


@functools.cache
def _upsert(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> sa.Executable:
    """INSERT ... ON CONFLICT (keys) DO UPDATE of the other data columns."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table)
        update = {c.name: pg.excluded[c.name] for c in table.c if _is_data(c, keys)}
        return pg.on_conflict_do_update(index_elements=list(keys), set_=update)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(table)
    update = {c.name: lite.excluded[c.name] for c in table.c if _is_data(c, keys)}
    return lite.on_conflict_do_update(index_elements=list(keys), set_=update)


def _is_data(column: sa.Column[Any], keys: tuple[str, ...]) -> bool:
    return column.name not in keys and not column.primary_key


def upsert(
    conn: sa.Connection, table: sa.Table, keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows``, replacing the data columns of those whose ``keys`` exist already."""
    if rows:
        conn.execute(_upsert(conn.dialect.name, table, keys), rows)


def write_children(conn: sa.Connection, trial_id: int, w: TrialWrite) -> None:
    """Upsert the params, intermediate values and attributes of one trial write."""
    upsert(
        conn,
        trial_params,
        ("trial_id", "name"),
        [{"trial_id": trial_id, **r} for r in w.param_rows],
    )
    steps = [
        {"trial_id": trial_id, "step": k, "value": None if math.isnan(v) else v}
        for k, v in w.steps.items()
    ]
    upsert(conn, trial_intermediate, ("trial_id", "step"), steps)
    attrs = [{"trial_id": trial_id, **r} for r in w.attr_rows]
    upsert(conn, trial_attrs, ("trial_id", "system", "key"), attrs)


def new_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:  # pragma: no cover - every supported database returns it
        raise StorageError("the database did not return the id of the new row")
    return int(key[0])


def _completed(conn: sa.Connection) -> dict[int, list[FrozenTrial]]:
    stmt = (
        sa.select(trials.c.study_id, trials.c.trial_id, trials.c.number, trials.c.values_json)
        .where(trials.c.state == TrialState.COMPLETE.value)
        .order_by(trials.c.study_id, trials.c.number)
    )
    done: dict[int, list[FrozenTrial]] = {}
    for r in conn.execute(stmt):
        trial = FrozenTrial(
            r.trial_id, r.number, TrialState.COMPLETE, values=load_values(r.values_json)
        )
        done.setdefault(r.study_id, []).append(trial)
    return done


def list_studies(conn: sa.Connection) -> list[StudySummary]:
    """A summary of every study, ordered by id, read in one snapshot."""
    from hyperscout._best import best_values

    first = sa.func.min(trials.c.datetime_start)
    starts: dict[int, Any] = {
        r[0]: r[1]
        for r in conn.execute(sa.select(trials.c.study_id, first).group_by(trials.c.study_id))
    }
    done = _completed(conn)
    out = []
    for r in conn.execute(sa.select(studies).order_by(studies.c.study_id)):
        directions = decode_directions(r.directions)
        out.append(
            StudySummary(
                study_id=r.study_id,
                name=r.name,
                directions=directions,
                n_trials=r.n_trials,
                best_values=best_values(done.get(r.study_id, []), directions),
                datetime_start=from_db_time(starts.get(r.study_id)),
            )
        )
    return out

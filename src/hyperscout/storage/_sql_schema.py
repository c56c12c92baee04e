"""Tables of the SQL storage, its schema version and the migrations between versions.

Every table carries the ``hs_`` prefix so a database shared with other tools stays readable.
``hs_meta`` holds ``schema_version``; :func:`ensure_schema` creates the tables in an empty
database, upgrades an older one with :data:`MIGRATIONS` and refuses a newer one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa

from hyperscout.errors import StorageError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ensure_schema",
    "metadata",
    "studies",
    "study_attrs",
    "trial_attrs",
    "trial_intermediate",
    "trial_params",
    "trials",
    "writes",
]

#: An upgrade step: runs inside the schema transaction, must keep every row of user data.
Migration = Callable[[sa.Connection], None]


def _add_heartbeat(conn: sa.Connection) -> None:
    """Schema 1 -> 2: ``hs_trials.heartbeat``, the database clock's time (seconds since the
    epoch) of a RUNNING trial's last heartbeat; NULL for trials nobody watches."""
    kind = "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "FLOAT"
    conn.execute(sa.text(f"ALTER TABLE hs_trials ADD COLUMN heartbeat {kind}"))


def _add_write_log(conn: sa.Connection) -> None:
    """Schema 2 -> 3: ``hs_writes``, the tokens of recent write transactions."""
    writes.create(conn)


#: ``MIGRATIONS[i]`` upgrades a database from schema ``i + 1`` to ``i + 2``. Append, never edit.
MIGRATIONS: list[Migration] = [_add_heartbeat, _add_write_log]

#: The schema this code writes. Version 1 is the first released layout.
SCHEMA_VERSION = 1 + len(MIGRATIONS)

_VERSION_KEY = "schema_version"
# pg_advisory_xact_lock key serializing schema creation/upgrades between processes ("hysc").
_PG_SCHEMA_LOCK = 0x68797363

# Integer primary keys: 64-bit on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ref(column: str) -> sa.ForeignKey:
    return sa.ForeignKey(column, ondelete="CASCADE")


metadata = sa.MetaData()

meta = sa.Table(
    "hs_meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

studies = sa.Table(
    "hs_studies",
    metadata,
    sa.Column("study_id", _Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("directions", sa.Text, nullable=False),  # JSON list of "minimize" / "maximize"
    sa.Column("version", sa.BigInteger, nullable=False),  # bumped by every trial write
    sa.Column("n_trials", sa.Integer, nullable=False),  # next trial number
    sa.Column("created", sa.DateTime, nullable=False),  # naive UTC
    sqlite_autoincrement=True,  # ids of deleted studies are never reused
)

study_attrs = sa.Table(
    "hs_study_attrs",
    metadata,
    sa.Column("attr_id", _Id, primary_key=True, autoincrement=True),
    sa.Column("study_id", _Id, _ref("hs_studies.study_id"), nullable=False),
    sa.Column("system", sa.Boolean, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # JSON
    sa.UniqueConstraint("study_id", "system", "key"),
)

trials = sa.Table(
    "hs_trials",
    metadata,
    sa.Column("trial_id", _Id, primary_key=True, autoincrement=True),
    sa.Column("study_id", _Id, _ref("hs_studies.study_id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("values_json", sa.Text, nullable=True),  # JSON list of float reprs (inf kept)
    sa.Column("datetime_start", sa.DateTime, nullable=True),  # naive UTC
    sa.Column("datetime_complete", sa.DateTime, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),  # study version of the last write
    # database clock (epoch seconds) of a watched RUNNING trial's last heartbeat; schema 2
    sa.Column("heartbeat", sa.Double, nullable=True),
    sa.UniqueConstraint("study_id", "number"),
    sa.Index("ix_hs_trials_study_version", "study_id", "version"),
    sa.Index("ix_hs_trials_study_state", "study_id", "state"),
    sqlite_autoincrement=True,
)

trial_params = sa.Table(
    "hs_trial_params",
    metadata,
    sa.Column("param_id", _Id, primary_key=True, autoincrement=True),  # keeps suggestion order
    sa.Column("trial_id", _Id, _ref("hs_trials.trial_id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("distribution", sa.Text, nullable=False),  # JSON of Distribution.to_dict()
    sa.Column("value", sa.Double, nullable=False),  # internal float
    sa.UniqueConstraint("trial_id", "name"),
)

trial_intermediate = sa.Table(
    "hs_trial_intermediate",
    metadata,
    sa.Column("trial_id", _Id, _ref("hs_trials.trial_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Double, nullable=True),  # NULL stands for NaN
)

trial_attrs = sa.Table(
    "hs_trial_attrs",
    metadata,
    sa.Column("attr_id", _Id, primary_key=True, autoincrement=True),
    sa.Column("trial_id", _Id, _ref("hs_trials.trial_id"), nullable=False),
    sa.Column("system", sa.Boolean, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # JSON
    sa.UniqueConstraint("trial_id", "system", "key"),
)


#: One row per recent write transaction on a server database (schema 3): when the connection
#: drops during COMMIT, the writer looks for its token to learn whether the write landed, and
#: retries only if it did not, so no write is applied twice. Rows older than an hour are pruned.
writes = sa.Table(
    "hs_writes",
    metadata,
    sa.Column("token", sa.String(32), primary_key=True),
    sa.Column("at", sa.Double, nullable=False),  # database clock, epoch seconds
)


def _stored_version(conn: sa.Connection) -> int:
    raw = conn.execute(sa.select(meta.c.value).where(meta.c.key == _VERSION_KEY)).scalar()
    try:
        return int(raw) if raw is not None else -1
    except ValueError:
        return -1


def ensure_schema(
    conn: sa.Connection,
    display: str,
    *,
    version: int | None = None,
    migrations: Sequence[Migration] | None = None,
) -> int:
    """Create, upgrade or check the tables inside the caller's write transaction.

    Args:
        conn: a connection inside a write transaction (BEGIN IMMEDIATE on SQLite).
        display: the storage URL with its password masked, for error messages.
        version: the schema this code writes (default :data:`SCHEMA_VERSION`).
        migrations: the upgrade steps (default :data:`MIGRATIONS`).

    Returns:
        The schema version the database holds afterwards.

    Raises:
        StorageError: the database was written by a newer hyperscout, or holds an
            ``hs_meta`` table without a readable schema version.
    """
    version = SCHEMA_VERSION if version is None else version
    migrations = MIGRATIONS if migrations is None else migrations
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
    if not sa.inspect(conn).has_table(meta.name):
        metadata.create_all(conn)
        conn.execute(meta.insert().values(key=_VERSION_KEY, value=str(version)))
        return version
    stored = _stored_version(conn)
    if stored < 1:
        raise StorageError(
            f"storage {display!r} has an hs_meta table without a valid schema_version: it was "
            "not written by hyperscout, or was damaged; use another database file or URL"
        )
    if stored > version:
        raise StorageError(
            f"storage {display!r} was written by a newer hyperscout (schema {stored}, this "
            f"version knows {version}): upgrade hyperscout"
        )
    for step in range(stored, version):
        migrations[step - 1](conn)
    if stored < version:
        conn.execute(meta.update().where(meta.c.key == _VERSION_KEY).values(value=str(version)))
    return version

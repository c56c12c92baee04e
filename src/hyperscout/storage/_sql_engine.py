"""Connections of the SQL storage: URL checks, engine set-up, transactions with retries.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a committed trial survives a killed process)
and a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock. PostgreSQL reads run at REPEATABLE READ (one snapshot), writes at
READ COMMITTED with row locks. Lock timeouts, deadlocks and serialization failures are retried
with jittered exponential backoff.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc

from hyperscout.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    StorageError,
)

__all__ = ["Database", "mask_url"]

T = TypeVar("T")

#: Seconds SQLite waits for another writer inside one attempt.
BUSY_TIMEOUT_S = 10.0
#: Seconds a transaction is retried on lock timeouts, deadlocks and serialization failures.
RETRY_S = 120.0
_PG_TRANSIENT = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout
_PG_DRIVERS = {"psycopg": ("psycopg", "postgres")}
_WRITE_OPTION = "hyperscout_write"
_WRITE_LOG_S = 3600.0  # seconds a write token is kept (a writer checks its own within seconds)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``.

    Example:
        >>> mask_url("postgresql://user:secret@host/db")
        'postgresql://user:***@host/db'
    """
    masked = re.sub(r"^([^:/?#]+://[^:/@?#]*:)[^/?#]*@", r"\1***@", url, count=1)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", masked)


def _normalize(url: str) -> tuple[sa.URL, str]:
    """Parse ``url`` into the SQLAlchemy URL to connect with; checks dialect and driver."""
    if not isinstance(url, str):
        raise InvalidTypeError(f"`storage` must be a URL string, got {type(url).__name__}")
    display = mask_url(url)
    try:
        parsed = sa.make_url(url)
    except (exc.ArgumentError, ValueError):
        raise InvalidArgumentError(
            f"`storage` is not a valid database URL: {display!r}; use e.g. "
            "'sqlite:///hyperscout.db' or 'postgresql://user@host/dbname'"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=f"postgresql+{driver or 'psycopg'}")
        module, extra = _PG_DRIVERS.get(driver or "psycopg", (driver, "postgres"))
        try:
            __import__(module)
        except ImportError:
            raise MissingDependencyError(
                f"storage {display!r} needs the PostgreSQL driver {module!r}: "
                f"pip install 'hyperscout[{extra}]'"
            ) from None
    elif backend != "sqlite" or driver not in ("", "pysqlite"):
        raise StorageError(
            f"storage {display!r} uses the unsupported database {parsed.drivername!r}: "
            "hyperscout stores studies in 'sqlite:///path/to/file.db' or "
            "'postgresql://user:password@host/dbname'"
        )
    return parsed, display


def _sqlite_path(parsed: sa.URL, display: str) -> Path | None:
    """The database file of a SQLite URL (None when in memory); creates its directory."""
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("uri") or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    if path.is_dir():
        raise StorageError(
            f"storage {display!r} points at the directory {str(path)!r}: add a file name"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"cannot create the directory {str(path.parent)!r} for storage {display!r}: "
            f"{err.strerror or err}; check the path and its permissions"
        ) from None
    return path


def _log_write(conn: sa.Connection, token: str) -> None:
    """Record a write's token in its own transaction (and prune old tokens now and then)."""
    from hyperscout.storage._sql_io import epoch_now
    from hyperscout.storage._sql_schema import writes

    conn.execute(writes.insert().values(token=token, at=epoch_now()))
    if random.random() < 1 / 256:
        conn.execute(writes.delete().where(writes.c.at < epoch_now() - _WRITE_LOG_S))


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _is_transient(err: exc.DBAPIError, committing: bool) -> bool:
    orig = err.orig
    if err.connection_invalidated:
        # A dropped connection rolls back an open transaction, so retrying is safe, except
        # when COMMIT itself was cut off: that write may have landed, never apply it twice.
        return not committing
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_TRANSIENT:
        return True
    text = str(orig).lower()
    return isinstance(err, exc.OperationalError) and ("locked" in text or "busy" in text)


class Database:
    """One engine per storage plus the transaction helpers :meth:`read` and :meth:`write`."""

    def __init__(self, url: str) -> None:
        parsed, self.display = _normalize(url)
        self.dialect = parsed.get_backend_name()
        self._pid = os.getpid()
        self._lock: AbstractContextManager[Any] = nullcontext()
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed)
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = 10
            self.engine = sa.create_engine(
                parsed,
                pool_size=8,
                max_overflow=16,
                connect_args=connect_args,
            )

    def _sqlite_engine(self, parsed: sa.URL) -> sa.Engine:
        path = _sqlite_path(parsed, self.display)
        if path is None:
            # One shared connection for an in-memory database, used by one thread at a time.
            engine = sa.create_engine(
                parsed,
                poolclass=sa.StaticPool,
                connect_args={"check_same_thread": False},
            )
            self._lock = threading.RLock()
        else:
            engine = sa.create_engine(
                parsed,
                pool_size=16,
                max_overflow=-1,
                connect_args={"timeout": BUSY_TIMEOUT_S},
            )
        wal = path is not None

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                if wal:
                    cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.execute("PRAGMA foreign_keys = ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get(_WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn`` in a read transaction that sees one snapshot of the database."""
        return self._run(fn, write=False)

    def write(self, fn: Callable[[sa.Connection], T], *, logged: bool = True) -> T:
        """Run ``fn`` in a write transaction; retried whole on lock contention. ``logged=False``
        for the schema set-up, which runs before the write log exists (and is idempotent)."""
        return self._run(fn, write=True, logged=logged)

    def _run(self, fn: Callable[[sa.Connection], T], *, write: bool, logged: bool = True) -> T:
        if os.getpid() != self._pid:  # forked: never share the parent's connections
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        deadline = time.monotonic() + RETRY_S
        delay = 0.002
        # A server database logs each write's token in the transaction, so a COMMIT cut off
        # by a dropped connection can be checked instead of failing or applying twice.
        token = secrets.token_hex(16) if write and logged and self.dialect != "sqlite" else None
        while True:
            committing = False
            try:
                with self._lock, self.engine.connect() as conn:
                    if write:
                        conn.execution_options(**{_WRITE_OPTION: True})
                    elif self.dialect == "postgresql":
                        conn.execution_options(isolation_level="REPEATABLE READ")
                    with conn.begin():
                        if token is not None:  # first: no study lock is held yet
                            _log_write(conn, token)
                        result = fn(conn)
                        committing = write
                    return result
            except exc.DBAPIError as err:
                if committing and token is not None and err.connection_invalidated:
                    landed = self._landed(token, deadline)
                    if landed:
                        return result  # the COMMIT went through before the connection dropped
                    committing = False  # it did not: the whole transaction is retried
                if not _is_transient(err, committing):
                    raise self.error(err) from err
                if time.monotonic() + delay > deadline:
                    raise StorageError(
                        f"storage {self.display!r} stayed locked for {RETRY_S:.0f} s "
                        f"({_first_line(err)}): another process holds a long transaction"
                    ) from err
            except exc.SQLAlchemyError as err:
                raise self.error(err) from err
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.25)

    def _landed(self, token: str, deadline: float) -> bool:
        """Whether the write that logged ``token`` was committed (asked on a new connection,
        retried while the server is unreachable, until ``deadline``)."""
        from hyperscout.storage._sql_schema import writes

        query = sa.select(writes.c.token).where(writes.c.token == token)
        delay = 0.01
        while True:
            try:
                with self.engine.connect() as conn:
                    return conn.execute(query).first() is not None
            except exc.DBAPIError as err:
                if time.monotonic() + delay > deadline:
                    raise self.error(err) from err
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def error(self, err: BaseException) -> StorageError:
        """A StorageError naming the (masked) URL for a database failure."""
        if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
            return StorageError(
                f"lost the connection to storage {self.display!r} ({_first_line(err)}): "
                "check that the server is running; the last write may not have been applied"
            )
        if isinstance(err, exc.OperationalError):
            return StorageError(
                f"cannot use storage {self.display!r}: {_first_line(err)}; check that the "
                "server is running, the URL is right and the file is readable and writable"
            )
        return StorageError(f"storage {self.display!r} failed: {_first_line(err)}")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

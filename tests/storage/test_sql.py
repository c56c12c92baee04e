"""SQL storage beyond the contract: schema versions, URLs, SQLite durability, whole studies."""

from __future__ import annotations

import math
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import hyperscout as hs
from hyperscout import (
    Categorical,
    Float,
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    StorageError,
    TrialState,
)
from hyperscout._records import StudyDirection
from hyperscout.storage import SQLStorage, _sql_schema, get_storage
from hyperscout.storage._sql_engine import mask_url

HERE = Path(__file__).parent
MIN = [StudyDirection.MINIMIZE]


def _url(tmp_path: Path, name: str = "studies.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _meta_version(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM hs_meta WHERE key = 'schema_version'").fetchone()
    return str(row[0])


def _objective(trial: hs.Trial) -> float:
    x = trial.suggest_float("x", 1e-3, 10.0, log=True)
    n = trial.suggest_int("n", 1, 8)
    act = trial.suggest_categorical("act", [None, True, "relu"])
    trial.report(0, x)
    return (math.log(x) - 1.0) ** 2 + n + (0.5 if act is None else 0.0)


def _slow_objective(trial: hs.Trial) -> float:
    time.sleep(0.02)
    return _objective(trial)


# -- schema versions -----------------------------------------------------------------------
def test_new_database_records_schema_version(tmp_path: Path) -> None:
    SQLStorage(_url(tmp_path)).close()
    assert _meta_version(tmp_path / "studies.db") == str(_sql_schema.SCHEMA_VERSION)
    SQLStorage(_url(tmp_path)).close()  # reopening an up-to-date database changes nothing


def _older_database(tmp_path: Path) -> tuple[str, Any]:
    """A database written by this code, which a hypothetical next schema finds old."""
    storage = SQLStorage(_url(tmp_path))
    sid = storage.create_study("old", MIN)
    trial = storage.create_trial(sid, params={"x": (Float(0, 1), 0.5)})
    trial = storage.update_trial(trial.trial_id, state=TrialState.COMPLETE, values=[1.5])
    storage.close()
    return _url(tmp_path), trial


def test_older_schema_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, trial = _older_database(tmp_path)
    current = _sql_schema.SCHEMA_VERSION

    def add_note(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE hs_trials ADD COLUMN note TEXT DEFAULT 'migrated'"))

    monkeypatch.setattr(_sql_schema, "MIGRATIONS", [*_sql_schema.MIGRATIONS, add_note])
    monkeypatch.setattr(_sql_schema, "SCHEMA_VERSION", current + 1)
    upgraded = SQLStorage(url)
    assert upgraded.get_trial(trial.trial_id) == trial  # user data kept
    upgraded.close()
    assert _meta_version(tmp_path / "studies.db") == str(current + 1)
    with sqlite3.connect(tmp_path / "studies.db") as conn:
        assert conn.execute("SELECT note FROM hs_trials").fetchall() == [("migrated",)]


def test_failed_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, trial = _older_database(tmp_path)
    current = _sql_schema.SCHEMA_VERSION

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE hs_trials ADD COLUMN note TEXT"))
        raise RuntimeError("migration bug")

    monkeypatch.setattr(_sql_schema, "MIGRATIONS", [*_sql_schema.MIGRATIONS, broken])
    monkeypatch.setattr(_sql_schema, "SCHEMA_VERSION", current + 1)
    with pytest.raises(RuntimeError, match="migration bug"):
        SQLStorage(url)
    monkeypatch.undo()
    assert _meta_version(tmp_path / "studies.db") == str(current)
    with sqlite3.connect(tmp_path / "studies.db") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(hs_trials)")]
    assert "note" not in columns
    assert SQLStorage(url).get_trial(trial.trial_id) == trial


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url, _ = _older_database(tmp_path)
    with sqlite3.connect(tmp_path / "studies.db") as conn:
        conn.execute("UPDATE hs_meta SET value = '99' WHERE key = 'schema_version'")
    known = _sql_schema.SCHEMA_VERSION
    expected = rf"newer hyperscout \(schema 99, this version knows {known}\): upgrade hyperscout"
    with pytest.raises(StorageError, match=expected):
        SQLStorage(url)
    assert _meta_version(tmp_path / "studies.db") == "99"


def test_unreadable_schema_version_is_refused(tmp_path: Path) -> None:
    url, _ = _older_database(tmp_path)
    with sqlite3.connect(tmp_path / "studies.db") as conn:
        conn.execute("UPDATE hs_meta SET value = 'garbage'")
    with pytest.raises(StorageError, match="schema_version"):
        SQLStorage(url)


# -- URLs and errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("postgresql+psycopg://u:p%40ss@h:5432/db?x=1", "postgresql+psycopg://u:***@h:5432/db?x=1"),
        ("postgresql://h/db?user=u&password=secret", "postgresql://h/db?user=u&password=***"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:///runs/a.db", "sqlite:///runs/a.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_unreachable_server_masks_password() -> None:
    url = "postgresql://user:secret@127.0.0.1:1/db"
    with pytest.raises(StorageError, match=r"postgresql://user:\*\*\*@127\.0\.0\.1:1/db") as info:
        SQLStorage(url)
    assert "secret" not in str(info.value) and "secret" not in str(info.value.__cause__)


def test_repr_masks_password(postgres_url: str) -> None:
    url = sa.make_url(postgres_url).set(password="hunter2")  # trust auth ignores it
    storage = SQLStorage(url.render_as_string(hide_password=False))
    assert "hunter2" not in repr(storage) and ":***@" in repr(storage)
    assert "hunter2" in storage.url  # the real URL, for worker processes
    storage.close()


@pytest.mark.parametrize(
    ("url", "error", "match"),
    [
        ("mysql://user@host/db", StorageError, "unsupported database 'mysql'"),
        ("oracle+oracledb://u@h/db", StorageError, "unsupported database"),
        ("://nothing", InvalidArgumentError, "not a valid database URL"),
        ("postgresql://u@h:port/db", InvalidArgumentError, "not a valid database URL"),
        ("runs.db", InvalidArgumentError, "sqlite:///hyperscout.db"),
    ],
)
def test_bad_urls(url: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        get_storage(url)


def test_missing_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperscout\[postgres\]'"):
        SQLStorage("postgresql://user@127.0.0.1/db")


def test_bad_sqlite_paths(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="directory"):
        SQLStorage(f"sqlite:///{tmp_path}")
    (tmp_path / "afile").write_text("x")
    url = f"sqlite:///{tmp_path / 'afile' / 'sub' / 'studies.db'}"
    with pytest.raises(StorageError, match="cannot create the directory") as info:
        SQLStorage(url)
    assert url in str(info.value)
    (tmp_path / "junk.db").write_bytes(b"this is not a database " * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        SQLStorage(_url(tmp_path, "junk.db"))


def test_missing_directories_are_created(tmp_path: Path) -> None:
    storage = SQLStorage(_url(tmp_path, "a/b/studies.db"))
    storage.create_study("s", MIN)
    storage.close()
    assert (tmp_path / "a" / "b" / "studies.db").is_file()


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    storage = SQLStorage(_url(tmp_path))
    sid = storage.create_study("s", MIN)
    trial = storage.create_trial(sid)
    _, version = storage.get_trials(sid)
    with pytest.raises(InvalidTypeError, match=r"'a'.*JSON"):
        storage.update_trial(trial.trial_id, user_attrs={"ok": 1, "a": object()})
    numpy_choices = Categorical((np.int64(1), np.int64(2)))
    with pytest.raises(InvalidTypeError, match="tolist"):
        storage.create_trial(sid, params={"c": (numpy_choices, 0.0)})
    with pytest.raises(InvalidTypeError, match="JSON"):
        storage.set_study_attr(sid, "k", {1, 2})
    assert storage.get_trials(sid) == ([trial], version)
    assert storage.create_trial(sid).number == 1
    assert storage.get_study_attrs(sid) == {}


# -- SQLite specifics ----------------------------------------------------------------------
def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    storage = SQLStorage(_url(tmp_path))
    with sqlite3.connect(tmp_path / "studies.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    storage.close()


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    storage = SQLStorage("sqlite://")
    sid = storage.create_study("s", MIN)

    def work() -> None:
        for _ in range(10):
            storage.update_trial(storage.create_trial(sid).trial_id, state=TrialState.PRUNED)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [t.number for t in storage.get_trials(sid)[0]] == list(range(40))


def test_incremental_reads_use_a_fixed_number_of_queries(tmp_path: Path) -> None:
    storage = SQLStorage(_url(tmp_path))
    sid = storage.create_study("s", MIN)
    made = [
        storage.create_trial(sid, params={"x": (Float(0, 1), 0.5)}, user_attrs={"a": 1})
        for _ in range(50)
    ]
    _, version = storage.get_trials(sid)
    storage.update_trial(made[7].trial_id, intermediate_values={0: 1.0})
    statements: list[str] = []
    engine = storage._db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    everything, _ = storage.get_trials(sid)
    changed, _ = storage.get_trials(sid, since_version=version)
    sa.event.remove(engine, "before_cursor_execute", listener)
    assert len(everything) == 50 and [t.number for t in changed] == [7]
    assert len(statements) <= 2 * 4  # BEGIN, version, trials, children: not one per trial


def test_storage_pickles_as_its_url(tmp_path: Path) -> None:
    storage = SQLStorage(_url(tmp_path))
    sid = storage.create_study("s", MIN)
    clone = pickle.loads(pickle.dumps(storage))
    assert clone.url == storage.url and clone.get_study_name(sid) == "s"
    clone.close()
    storage.close()


# -- whole studies -------------------------------------------------------------------------
def _check_gap_free(study: hs.Study, n: int) -> None:
    trials = study.trials
    assert [t.number for t in trials] == list(range(n))
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_optimize_with_threads_and_processes(tmp_path: Path, caplog: Any) -> None:
    study = hs.create_study(storage=_url(tmp_path), sampler="random", seed=0)
    study.optimize(_objective, n_trials=40, n_jobs=4)
    study.optimize(_objective, n_trials=20, n_jobs=4, executor="process")
    _check_gap_free(study, 60)
    assert "locked" not in caplog.text
    assert study.best_value == min(t.value for t in study.trials if t.value is not None)


def test_optimize_on_postgres(postgres_url: str) -> None:
    study = hs.create_study(storage=postgres_url, sampler="random", seed=0)
    study.optimize(_objective, n_trials=30, n_jobs=4)
    _check_gap_free(study, 30)


def test_load_study_continues(tmp_path: Path) -> None:
    url = _url(tmp_path)
    first = hs.create_study(study_name="go-on", storage=url, sampler="random", seed=5)
    first.optimize(_objective, n_trials=5)
    first.storage.close()
    again = hs.load_study("go-on", storage=url, sampler="random")
    assert again.seed == 5 and len(again.trials) == 5
    again.optimize(_objective, n_trials=5)
    _check_gap_free(again, 10)
    (summary,) = hs.get_all_study_summaries(url)
    assert summary.n_trials == 10 and summary.best_values == (again.best_value,)


_CONTINUE = """
import sys
sys.path.insert(0, sys.argv[3])
import hyperscout as hs
from test_sql import {objective} as objective
study = hs.load_study(sys.argv[2], storage=sys.argv[1], sampler="random", seed=11)
study.optimize(objective, n_trials={n_trials}, n_jobs={n_jobs})
"""


def test_reproducible_across_process_restart(tmp_path: Path) -> None:
    url = _url(tmp_path)
    split = hs.create_study(study_name="split", storage=url, sampler="random", seed=11)
    split.optimize(_objective, n_trials=10)
    code = _CONTINUE.format(objective="_objective", n_trials=10, n_jobs=1)
    subprocess.run([sys.executable, "-c", code, url, "split", str(HERE)], check=True)
    whole = hs.create_study(study_name="whole", storage=url, sampler="random", seed=11)
    whole.optimize(_objective, n_trials=20)
    assert [t.params for t in split.trials] == [t.params for t in whole.trials]
    assert len(split.trials) == 20


def test_kill_9_keeps_completed_trials(tmp_path: Path) -> None:
    url, path = _url(tmp_path), tmp_path / "studies.db"
    hs.create_study(study_name="victim", storage=url, sampler="random", seed=2)
    code = _CONTINUE.format(objective="_slow_objective", n_trials=100_000, n_jobs=2)
    proc = subprocess.Popen([sys.executable, "-c", code, url, "victim", str(HERE)])
    watcher = SQLStorage(url)
    sid = watcher.get_study_id("victim")
    deadline = time.monotonic() + 60
    done: list[hs.FrozenTrial] = []
    while len(done) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        done = [t for t in watcher.get_trials(sid)[0] if t.state == TrialState.COMPLETE]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    watcher.close()
    assert len(done) >= 5, "the study never completed 5 trials"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = SQLStorage(url)
    for trial in done:
        assert reopened.get_trial(trial.trial_id) == trial
    reopened.close()
    study = hs.load_study("victim", storage=url, sampler="random")
    before = len(study.trials)
    study.optimize(_objective, n_trials=3)
    trials = study.trials
    assert [t.number for t in trials] == list(range(before + 3))
    assert all(t.state == TrialState.COMPLETE for t in trials[before:])


# -- schema 1 -> 2 (heartbeats) ----------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _url(tmp_path)
    return str(request.getfixturevalue("fresh_postgres_url"))


def _as_schema_1(url: str) -> None:
    """Turn a database into the layout hyperscout's schema 1 wrote (no heartbeat column, no
    write log)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE hs_trials DROP COLUMN heartbeat"))
        conn.execute(sa.text("DROP TABLE hs_writes"))
        conn.execute(sa.text("UPDATE hs_meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()


def test_a_schema_1_database_is_upgraded_to_3_with_its_data(fresh_url: str) -> None:
    old = SQLStorage(fresh_url)
    sid = old.create_study("kept", MIN)
    done = old.create_trial(sid, params={"x": (Float(0, 1), 0.25)})
    done = old.update_trial(done.trial_id, state=TrialState.COMPLETE, values=[0.5])
    running = old.create_trial(sid, system_attrs={"k": [1, 2]})
    old.close()
    _as_schema_1(fresh_url)
    engine = sa.create_engine(fresh_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert "heartbeat" not in {c["name"] for c in sa.inspect(conn).get_columns("hs_trials")}
    upgraded = SQLStorage(fresh_url)
    with engine.connect() as conn:
        assert "heartbeat" in {c["name"] for c in sa.inspect(conn).get_columns("hs_trials")}
        assert sa.inspect(conn).has_table("hs_writes")
        version = conn.execute(sa.text("SELECT value FROM hs_meta")).scalar()
    engine.dispose()
    assert version == str(_sql_schema.SCHEMA_VERSION) == "3"
    assert upgraded.get_trial(done.trial_id) == done
    assert upgraded.get_trial(running.trial_id) == running
    assert upgraded.stale_trials(sid, 0.0) == []  # old RUNNING trials were never watched
    watched = upgraded.create_trial(sid, heartbeat=True)
    time.sleep(0.05)
    assert [t.number for t in upgraded.stale_trials(sid, 0.01)] == [watched.number]
    upgraded.close()

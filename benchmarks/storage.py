"""Storage throughput under parallel worker processes: hyperscout's SQL storage (SQLite,
PostgreSQL) against Optuna 5.0's RDBStorage (SQLite, PostgreSQL) and JournalStorage (file,
Redis), measured in the same run.

Per backend: one study is created, then ``--workers`` spawned processes each attach to it
(``load_study``), report ready, wait for a common start signal, and run
``study.optimize(objective, n_trials=share)`` on a trivial objective with the random sampler; the
shares sum to ``--trials``. The clock runs from the start signal until the last worker has
exited (process start-up and attaching are not timed). Afterwards the storage is read back:

* ``completed``: trials in state COMPLETE; ``trials/s`` = completed / wall seconds.
* ``lost``: trials asked for that are not COMPLETE (``--trials`` minus completed, at least the
  objective returns the workers counted minus completed); ``running``: trials left RUNNING.
* ``duplicated``: trial numbers held by more than one trial, plus COMPLETE trials beyond
  ``--trials``; ``gaps``: numbers missing from ``0 .. max number``.

Each measurement is appended as a JSON line to ``benchmarks/results/storage.jsonl``. PostgreSQL
measurements run in a fresh schema of ``--pg-url`` (dropped afterwards), Redis ones under a fresh
key prefix (deleted afterwards), file ones in a fresh temporary folder.

    # needs .venv-storage (bash benchmarks/setup_storage.sh), PostgreSQL and Redis on 127.0.0.1
    .venv-storage/bin/python benchmarks/storage.py                       # 8 workers, 2,000 trials
    .venv-storage/bin/python benchmarks/storage.py --trials 200 --workers 4 --repeats 3
    .venv-storage/bin/python benchmarks/storage.py --backends hyperscout-sqlite optuna-rdb-sqlite
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads, here and in the workers

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "storage.jsonl"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379"
STARTUP_TIMEOUT_S = 300.0  # spawning and attaching 8 workers on a busy 2-core machine

Spec = dict[str, Any]  # what a backend's setup returns: picklable, handed to every worker

# -- the workload ----------------------------------------------------------------------------

_RETURNS = 0  # objective calls that returned, in this worker process


def objective(trial: Any) -> float:
    """Trivial: one float and one int parameter; the same code for both libraries."""
    global _RETURNS
    x = trial.suggest_float("x", -1.0, 1.0)
    n = trial.suggest_int("n", 0, 10)
    _RETURNS += 1
    return x * x + 0.01 * n


def split(total: int, parts: int) -> list[int]:
    """``total`` trials shared among ``parts`` workers as evenly as possible (sums to total).

    Example:
        >>> split(10, 4)
        [3, 3, 2, 2]
    """
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class _LogCounter(logging.Handler):
    """Counts WARNING and worse records and keeps the first few distinct messages."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.n = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.n += 1
        msg = f"{record.name}: {record.getMessage()}"[:300]
        if len(self.first) < 3 and msg not in self.first:
            self.first.append(msg)


def _quiet_logs() -> _LogCounter:
    """Route hyperscout's and Optuna's warnings into a counter instead of 8 streams of stderr."""
    warnings.simplefilter("ignore")
    counter = _LogCounter()
    for name in ("hyperscout", "optuna"):
        log = logging.getLogger(name)
        for h in list(log.handlers):
            if not isinstance(h, logging.NullHandler):
                log.removeHandler(h)
        log.addHandler(counter)
        log.setLevel(logging.WARNING)
        log.propagate = False
    return counter


def _worker(name: str, spec: Spec, n_trials: int, start: tuple[Any, Any], out: str) -> None:
    """One worker process: attach, report ready, wait for the go, optimize, write what it saw
    to ``out`` (JSON)."""
    import json

    ready, go = start
    counter = _quiet_logs()
    rec: dict[str, Any] = {"n_trials": n_trials, "error": None}
    study = None
    try:
        study = BACKENDS[name].attach(spec)
    except Exception:
        rec["error"] = "attach: " + traceback.format_exc(limit=4)[-1500:]
    ready.release()  # even after a failed attach, so that the others need not wait for us
    if not go.wait(STARTUP_TIMEOUT_S):
        rec["error"] = rec["error"] or "no start signal"
        study = None
    t0 = time.perf_counter()
    if study is not None:
        try:
            study.optimize(objective, n_trials=n_trials)
        except Exception:
            rec["error"] = traceback.format_exc(limit=4)[-1500:]
    rec.update(
        seconds=time.perf_counter() - t0,
        returns=_RETURNS,
        warnings=counter.n,
        first_warnings=counter.first,
    )
    Path(out).write_text(json.dumps(rec))
    if rec["error"]:
        sys.exit(1)


# -- backends: name -> (available, setup, attach, count, teardown) -----------------------------


@dataclass(frozen=True)
class Backend:
    """How to measure one storage. ``setup(options, tmpdir)`` creates the study and returns its
    spec; ``attach(spec)`` (in a worker) loads it with the random sampler; ``count(spec)`` gives
    ``(number, state name)`` of every trial; ``teardown(spec)`` deletes what setup made;
    ``available(options)`` is None, or why the backend cannot run here."""

    available: Callable[[argparse.Namespace], str | None]
    setup: Callable[[argparse.Namespace, Path], Spec]
    attach: Callable[[Spec], Any]
    count: Callable[[Spec], list[tuple[int, str]]]
    teardown: Callable[[Spec], None]


def _study_name() -> str:
    return f"bench-storage-{uuid.uuid4().hex[:12]}"


def _needs(*modules: str) -> str | None:
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            return f"needs {m} (bash benchmarks/setup_storage.sh)"
    return None


def _pg_reachable(options: argparse.Namespace) -> str | None:
    import sqlalchemy as sa

    missing = _needs("psycopg")
    if missing:
        return missing
    engine = sa.create_engine(
        options.pg_url, poolclass=sa.NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:
        return f"PostgreSQL at {options.pg_url} is unreachable: {str(err).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def _pg_schema(options: argparse.Namespace) -> Spec:
    """A fresh schema in ``--pg-url``; the URL returned reaches only it (search_path)."""
    import sqlalchemy as sa

    schema = f"bench_storage_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(options.pg_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = sa.make_url(options.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return {"url": url.render_as_string(hide_password=False), "schema": schema,
            "pg_url": options.pg_url}  # fmt: skip


def _pg_drop(spec: Spec) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(spec["pg_url"], poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{spec["schema"]}" CASCADE'))
    engine.dispose()


def _optuna_available(options: argparse.Namespace) -> str | None:
    return _needs("optuna")


# hyperscout


def _hs_setup(url: str, spec: Spec) -> Spec:
    import hyperscout as hs

    spec = {**spec, "url": url, "study_name": _study_name()}
    study = hs.create_study(study_name=spec["study_name"], storage=url, sampler="random")
    study.storage.close()
    return spec


def _hs_attach(spec: Spec) -> Any:
    import hyperscout as hs

    return hs.load_study(study_name=spec["study_name"], storage=spec["url"], sampler="random")


def _hs_count(spec: Spec) -> list[tuple[int, str]]:
    study = _hs_attach(spec)
    trials = [(t.number, t.state.name) for t in study.trials]
    study.storage.close()
    return trials


def _hs_sqlite_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    return _hs_setup(f"sqlite:///{tmp / 'hs.db'}", {})


def _hs_pg_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    spec = _pg_schema(options)
    return _hs_setup(spec["url"], spec)


def _hs_pg_teardown(spec: Spec) -> None:
    import hyperscout as hs

    try:
        hs.delete_study(spec["study_name"], storage=spec["url"])
    finally:
        _pg_drop(spec)


# Optuna


def _optuna_storage(spec: Spec) -> Any:
    """The storage object (or URL) the spec names, built in the calling process."""
    kind = spec["kind"]
    if kind == "rdb":
        return spec["url"]
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

    if kind == "journal-file":
        return JournalStorage(JournalFileBackend(spec["path"]))
    return JournalStorage(JournalRedisBackend(spec["url"], prefix=spec["prefix"]))


def _optuna_setup(spec: Spec) -> Spec:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = {**spec, "study_name": _study_name()}
    optuna.create_study(
        study_name=spec["study_name"],
        storage=_optuna_storage(spec),
        sampler=optuna.samplers.RandomSampler(),
        direction="minimize",
    )
    return spec


def _optuna_attach(spec: Spec) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
    optuna.logging.disable_default_handler()  # warnings go to _quiet_logs' counter
    return optuna.load_study(
        study_name=spec["study_name"],
        storage=_optuna_storage(spec),
        sampler=optuna.samplers.RandomSampler(),
    )


def _optuna_count(spec: Spec) -> list[tuple[int, str]]:
    import optuna

    storage = _optuna_storage(spec)
    if spec["kind"] == "rdb":  # an object of our own, to close its pool before the schema goes
        storage = optuna.storages.RDBStorage(storage)
    study = optuna.load_study(study_name=spec["study_name"], storage=storage)
    trials = [(t.number, t.state.name) for t in study.get_trials(deepcopy=False)]
    if spec["kind"] == "rdb":
        storage.engine.dispose()
    return trials


def _optuna_pg_available(options: argparse.Namespace) -> str | None:
    return _optuna_available(options) or _pg_reachable(options)


def _optuna_rdb_sqlite_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    return _optuna_setup({"kind": "rdb", "url": f"sqlite:///{tmp / 'optuna.db'}"})


def _optuna_rdb_pg_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    return _optuna_setup({"kind": "rdb", **_pg_schema(options)})


def _optuna_file_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    return _optuna_setup({"kind": "journal-file", "path": str(tmp / "optuna.log")})


def _redis_available(options: argparse.Namespace) -> str | None:
    missing = _needs("optuna", "redis")
    if missing:
        return missing
    import redis

    try:
        redis.Redis.from_url(options.redis_url, socket_connect_timeout=3).ping()
    except Exception as err:
        return f"Redis at {options.redis_url} is unreachable: {err}"
    return None


def _optuna_redis_setup(options: argparse.Namespace, tmp: Path) -> Spec:
    prefix = f"bench-storage-{uuid.uuid4().hex[:12]}"
    return _optuna_setup({"kind": "journal-redis", "url": options.redis_url, "prefix": prefix})


def _optuna_redis_teardown(spec: Spec) -> None:
    import redis

    client = redis.Redis.from_url(spec["url"])
    keys = list(client.scan_iter(match=f"{spec['prefix']}:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    client.close()


def _optuna_pg_teardown(spec: Spec) -> None:
    import optuna

    try:
        optuna.delete_study(study_name=spec["study_name"], storage=spec["url"])
    finally:
        _pg_drop(spec)


def _nothing(spec: Spec) -> None:  # files live in the measurement's temporary folder
    return None


_HS, _OPTUNA = (_hs_attach, _hs_count), (_optuna_attach, _optuna_count)

BACKENDS: dict[str, Backend] = {  # name -> (available, setup, attach, count, teardown)
    "hyperscout-sqlite": Backend(lambda o: None, _hs_sqlite_setup, *_HS, _nothing),
    "hyperscout-postgres": Backend(_pg_reachable, _hs_pg_setup, *_HS, _hs_pg_teardown),
    "optuna-rdb-sqlite": Backend(_optuna_available, _optuna_rdb_sqlite_setup, *_OPTUNA, _nothing),
    "optuna-rdb-postgres": Backend(
        _optuna_pg_available, _optuna_rdb_pg_setup, *_OPTUNA, _optuna_pg_teardown
    ),
    "optuna-journal-file": Backend(_optuna_available, _optuna_file_setup, *_OPTUNA, _nothing),
    "optuna-journal-redis": Backend(
        _redis_available, _optuna_redis_setup, *_OPTUNA, _optuna_redis_teardown
    ),
}

# -- one measurement -------------------------------------------------------------------------


def tally(trials: list[tuple[int, str]], expected: int, returns: int) -> dict[str, int]:
    """Counts of a finished run from ``(number, state)`` of every stored trial.

    Example:
        >>> tally([(0, "COMPLETE"), (1, "COMPLETE"), (1, "COMPLETE"), (3, "RUNNING")], 4, 4)
        {'completed': 3, 'lost': 1, 'duplicated': 1, 'gaps': 1, 'running': 1, 'failed': 0}
    """
    states = Counter(s for _, s in trials)
    numbers = Counter(n for n, _ in trials)
    completed = states["COMPLETE"]
    top = max(numbers, default=-1)
    return {
        "completed": completed,
        "lost": max(expected - completed, returns - completed, 0),
        "duplicated": sum(c - 1 for c in numbers.values()) + max(completed - expected, 0),
        "gaps": top + 1 - len([n for n in numbers if 0 <= n <= top]),
        "running": states["RUNNING"],
        "failed": states["FAILED"],
    }


def _release(procs: list[Any], ready: Any, go: Any) -> float | None:
    """Wait until every worker is ready, then start them all; the start time, or None when a
    worker died first or start-up took longer than STARTUP_TIMEOUT_S."""
    deadline = time.perf_counter() + STARTUP_TIMEOUT_S
    waiting = len(procs)
    while waiting:
        if ready.acquire(timeout=0.2):
            waiting -= 1
        elif any(p.exitcode is not None for p in procs) or time.perf_counter() > deadline:
            return None
    go.set()
    return time.perf_counter()


def _run_workers(
    name: str, spec: Spec, options: argparse.Namespace, tmp: Path, timeout: float
) -> tuple[float, list[dict[str, Any] | None], list[str]]:
    """Start the workers, time them, end stragglers; (wall seconds, reports, errors)."""
    import json

    ctx = get_context("spawn")
    start = (ctx.Semaphore(0), ctx.Event())
    outs = [tmp / f"worker-{i}.json" for i in range(options.workers)]
    procs = [
        ctx.Process(target=_worker, args=(name, spec, n, start, str(out)), daemon=True)
        for n, out in zip(split(options.trials, options.workers), outs, strict=True)
    ]
    for p in procs:
        p.start()
    errors = []
    t0 = _release(procs, *start)
    if t0 is None:
        errors.append("a worker died before the start, or start-up timed out")
        t0, timeout = time.perf_counter(), 0.0
    for p in procs:
        p.join(max(t0 + timeout - time.perf_counter(), 0.0))
    wall = time.perf_counter() - t0
    for i, p in enumerate(procs):
        if p.is_alive():
            errors.append(f"worker {i} still running after {timeout:.0f} s: terminated")
            p.terminate()
            p.join(10)
    reports = [json.loads(o.read_text()) if o.exists() else None for o in outs]
    for i, w in enumerate(reports):
        if w is None:
            errors.append(f"worker {i} died without a report (exit code {procs[i].exitcode})")
        elif w["error"]:
            errors.append(f"worker {i}: {w['error'].strip()}")
    return wall, reports, errors


def measure(
    name: str, options: argparse.Namespace, tmp_root: str | None = None, timeout: float = 600.0
) -> dict[str, Any]:
    """Run backend ``name`` once with ``options.workers`` processes and ``options.trials``
    trials; returns the record (timings, counts, worker errors)."""
    backend = BACKENDS[name]
    tmp = Path(tempfile.mkdtemp(prefix="hs-storage-bench-", dir=tmp_root))
    try:
        spec = backend.setup(options, tmp)
        try:
            wall, reports, errors = _run_workers(name, spec, options, tmp, timeout)
            returns = sum(w["returns"] for w in reports if w)
            counts = tally(backend.count(spec), options.trials, returns)
        finally:
            backend.teardown(spec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "backend": name,
        "workers": options.workers,
        "trials": options.trials,
        "wall_s": wall,
        "trials_per_s": counts["completed"] / wall if wall > 0 else float("nan"),
        **counts,
        "objective_returns": returns,
        "worker_errors": errors,
        "worker_seconds": [w["seconds"] if w else None for w in reports],
        "log_warnings": sum(w["warnings"] for w in reports if w),
        "first_warnings": sorted({m for w in reports if w for m in w["first_warnings"]})[:5],
    }


# -- report ----------------------------------------------------------------------------------


def versions(options: argparse.Namespace, names: list[str]) -> dict[str, str]:
    """Library versions, and the servers' where a backend measured uses one."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for n in ("hyperscout", "optuna", "sqlalchemy", "psycopg", "redis"):
        try:
            out[n] = md.version(n)
        except md.PackageNotFoundError:
            out[n] = "missing"
    if any(n.endswith("postgres") for n in names):
        import sqlalchemy as sa

        engine = sa.create_engine(options.pg_url, poolclass=sa.NullPool)
        with engine.connect() as conn:
            out["postgresql server"] = str(conn.execute(sa.text("SHOW server_version")).scalar())
        engine.dispose()
    if "optuna-journal-redis" in names:
        import redis

        client = redis.Redis.from_url(options.redis_url)
        out["redis server"] = str(client.info("server")["redis_version"])
        client.close()
    return out


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown: median trials/s and wall seconds over repeats; counts from the worst repeat."""
    cols = ["backend", "trials/s", "completed", "lost", "duplicated", "gaps", "running",
            "worker errors", "wall s"]  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for name, recs in results.items():
        cells = [
            name,
            f"{statistics.median(r['trials_per_s'] for r in recs):.1f}",
            str(min(r["completed"] for r in recs)),
            str(max(r["lost"] for r in recs)),
            str(max(r["duplicated"] for r in recs)),
            str(max(r["gaps"] for r in recs)),
            str(max(r["running"] for r in recs)),
            str(max(len(r["worker_errors"]) for r in recs)),
            f"{statistics.median(r['wall_s'] for r in recs):.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    """hyperscout / Optuna median trials/s, same database first, then against Optuna's journal
    backends (above 1: hyperscout faster)."""
    med = {n: statistics.median(r["trials_per_s"] for r in rs) for n, rs in results.items()}
    pairs = [(f"hyperscout-{db}", f"optuna-{peer}") for db in ("sqlite", "postgres")
             for peer in (f"rdb-{db}", "journal-file", "journal-redis")]  # fmt: skip
    return [
        f"{mine} / {peer}: {med[mine] / med[peer]:.2f}x"
        for mine, peer in pairs
        if mine in med and peer in med and med[peer] > 0
    ]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=8, help="worker processes (default 8)")
    ap.add_argument("--trials", type=int, default=2000, help="trials in total (default 2000)")
    ap.add_argument("--backends", nargs="+", choices=list(BACKENDS), help="default: all available")
    ap.add_argument("--repeats", type=int, default=1, help="runs per backend; medians reported")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    ap.add_argument("--pg-url", default=PG_URL, help=f"PostgreSQL database (default {PG_URL})")
    ap.add_argument("--redis-url", default=REDIS_URL, help=f"Redis (default {REDIS_URL})")
    ap.add_argument("--tmpdir", help="where SQLite and journal files go (default: system temp)")
    ap.add_argument("--results", default=str(RESULTS), help="JSON-lines file ('' for none)")
    args = ap.parse_args(argv)
    if args.workers < 1 or args.trials < args.workers or args.repeats < 1:
        ap.error(
            f"need --workers >= 1, --trials >= --workers and --repeats >= 1, got "
            f"workers={args.workers}, trials={args.trials}, repeats={args.repeats}"
        )
    return args


def _show(rec: dict[str, Any], rep: int, repeats: int) -> None:
    print(
        f"[{rep + 1}/{repeats}] {rec['backend']}: {rec['trials_per_s']:.1f} trials/s, "
        f"{rec['completed']} complete, lost {rec['lost']}, dup {rec['duplicated']}, "
        f"gaps {rec['gaps']}, {rec['wall_s']:.2f} s",
        flush=True,
    )
    for err in rec["worker_errors"][:3]:
        print("    " + err.replace("\n", "\n    "))
    if rec["log_warnings"]:
        print(f"    {rec['log_warnings']} log warnings, e.g. {rec['first_warnings'][:2]}")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _quiet_logs()
    names = args.backends or list(BACKENDS)
    skipped = {n: why for n in names if (why := BACKENDS[n].available(args))}
    if args.backends and skipped:
        sys.exit("storage.py: " + "; ".join(f"{n}: {w}" for n, w in skipped.items()))
    names = [n for n in names if n not in skipped]
    ver, mach = versions(args, names), machine()
    print(f"machine: {mach['cpu_count']} cores ({mach['usable_cores']} usable), "
          f"{mach['platform']}, load {mach['load_avg_1m']}")  # fmt: skip
    print("versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()))
    print(f"{args.workers} worker processes (spawn), {args.trials} trials "
          f"({'/'.join(map(str, split(args.trials, args.workers)))} per worker), "
          f"random sampler, {args.repeats} repeat(s)")  # fmt: skip
    for n, why in skipped.items():
        print(f"skipped {n}: {why}")
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    date = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    for rep in range(args.repeats):
        for n in names if rep % 2 == 0 else names[::-1]:  # alternate who goes first
            rec = measure(n, args, args.tmpdir, args.timeout)
            rec.update(repeat=rep, date=date, command=" ".join(sys.argv), versions=ver,
                       machine=mach)  # fmt: skip
            results[n].append(rec)
            _show(rec, rep, args.repeats)
            if args.results:
                from hyperscout.bench.jobs import append_jsonl

                append_jsonl(Path(args.results), rec)
    print("\n" + table(results))
    if lines := ratios(results):
        print("\ntrials/s ratios (median over repeats; above 1: hyperscout faster):")
        print("\n".join(f"* {line}" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

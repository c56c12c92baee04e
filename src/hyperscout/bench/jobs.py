"""Running benchmark runs in worker processes and appending their records to a JSON-lines file.

Shared by ``benchmarks/blackbox.py`` and ``benchmarks/multifidelity.py``: every finished run is
appended at once (under a file lock: several sessions may append to the same file), so an
interrupted benchmark resumes where it stopped; a run whose worker raised is reported and
skipped.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

__all__ = ["append_jsonl", "run_parallel"]

Record = dict[str, Any]


def append_jsonl(path: Path, record: Record) -> None:
    """Append ``record`` as one line of ``path`` (created with its folder if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # other sessions may append to the same file
        fh.write(line)
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_UN)


def run_parallel(
    work: Callable[..., Record],
    todo: Sequence[tuple[Any, ...]],
    extra: tuple[Any, ...],
    jobs: int,
    path: Path,
    describe: Callable[[tuple[Any, ...], Record], str],
) -> int:
    """``work(*key, *extra)`` for every key of ``todo`` in ``jobs`` spawned processes; each
    record appended to ``path`` as it finishes and reported as ``[n/N] describe(key, record)``.
    Returns 0, or 130 after Ctrl-C (finished runs are saved)."""
    t0 = time.perf_counter()
    # no max_tasks_per_child: with it, this pool hung (Python 3.11) once workers retired
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        pending: dict[Future[Record], tuple[Any, ...]] = {
            pool.submit(work, *key, *extra): key for key in todo
        }
        n = 0
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = pending.pop(fut)
                    n += 1
                    try:
                        rec = fut.result()
                    except Exception as exc:  # a worker died: report it, keep going
                        print(f"[{n}/{len(todo)}] {key} worker error: {exc!r}", flush=True)
                        continue
                    append_jsonl(path, rec)
                    elapsed = time.perf_counter() - t0
                    print(
                        f"[{n}/{len(todo)}] {describe(key, rec)} elapsed={elapsed:.0f}s",
                        flush=True,
                    )
        except KeyboardInterrupt:
            for fut in pending:
                fut.cancel()
            print("interrupted: finished runs are saved; run the same command to resume")
            return 130
    return 0

"""``optimize(executor="process")``: worker processes attached to the same SQL-stored study.

Each process opens the study from its storage URL and runs trials while the shared budget lasts;
the parent follows progress through the storage and runs callbacks and the progress bar.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Event as EventType
from multiprocessing.synchronize import Lock as LockType
from typing import TYPE_CHECKING, Any

from hyperscout._progress import ProgressBar
from hyperscout.errors import HyperscoutError, InvalidArgumentError, SearchSpaceExhausted

if TYPE_CHECKING:
    from hyperscout.study import Callback, Objective, Study


def _child(
    url: str,
    name: str,
    sampler: Any,
    scheduler: Any,
    seed: int,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    counter: Any,
    lock: LockType,
    stop: EventType,
    n_trials: int | None,
    deadline: float | None,
    errors: Any,
) -> None:
    from hyperscout._optimize import run_jobs
    from hyperscout.study import load_study

    study = None
    budget = _SharedBudget(counter, lock, n_trials, deadline, stop)
    try:
        study = load_study(name, url, sampler=sampler, scheduler=scheduler, seed=seed)
        try:
            run_jobs(study, objective, budget, catch, budget.expired, lambda frozen: None)
        except SearchSpaceExhausted:
            stop.set()
            return
    except KeyboardInterrupt:
        return
    except BaseException as exc:
        stop.set()
        try:
            errors.put(exc)
        except Exception:  # an unpicklable exception still reports its text
            errors.put(HyperscoutError(f"worker process failed: {exc!r}"))
    finally:
        if study is not None:
            study.storage.close()


class _SharedBudget:
    """The new-trial budget of one optimize call, shared by its processes."""

    def __init__(
        self,
        counter: Any,
        lock: LockType,
        n_trials: int | None,
        deadline: float | None,
        stop: EventType,
    ) -> None:
        self._counter, self._lock, self._n = counter, lock, n_trials
        self._deadline, self._stop = deadline, stop

    def expired(self) -> bool:
        return self._stop.is_set() or (self._deadline is not None and time.time() >= self._deadline)

    def has_room(self) -> bool:
        return not self.expired() and (self._n is None or self._counter.value < self._n)

    def claim(self) -> bool:
        with self._lock:
            if not self.has_room():
                return False
            self._counter.value += 1
            return True


def _in_memory_sqlite(url: str) -> bool:
    return url.startswith("sqlite") and (url.rstrip("/").endswith(":") or ":memory:" in url)


def run_processes(
    study: Study,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    bar: ProgressBar | None,
) -> None:
    """Run ``n_jobs`` processes until the shared budget is spent."""
    url = getattr(study.storage, "url", None)
    if url is None or _in_memory_sqlite(url):
        raise InvalidArgumentError(
            "`executor='process'` needs a storage every process can open: pass "
            "storage='sqlite:///hyperscout.db' (or a PostgreSQL URL) to create_study"
        )
    ctx = mp.get_context("spawn")
    counter = ctx.Value("i", 0)
    lock = ctx.Lock()
    stop = ctx.Event()
    errors = ctx.Queue()
    deadline = None if timeout is None else time.time() + timeout
    seen = {t.number for t in study.trials if t.state.is_finished()}
    args = (
        url,
        study.study_name,
        study.sampler,
        study.scheduler,
        study.seed,
        objective,
        catch,
        counter,
        lock,
        stop,
        n_trials,
        deadline,
        errors,
    )
    procs = [ctx.Process(target=_child, args=args, daemon=True) for _ in range(n_jobs)]
    for p in procs:
        p.start()
    try:
        while True:
            alive = any(p.is_alive() for p in procs)
            for t in study.trials:
                if t.state.is_finished() and t.number not in seen:
                    seen.add(t.number)
                    for cb in callbacks:
                        cb(study, t)
                    if bar is not None:
                        bar.update(study, t)
            if study._stop_flag.is_set():
                stop.set()
            if not alive:
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        # Children got the terminal's SIGINT too; send it to any that did not, so each marks its
        # trial FAILED ("interrupted") itself. Trials of other workers of the study are untouched.
        stop.set()
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGINT)
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        raise
    for p in procs:
        p.join()
    if not errors.empty():
        raise errors.get()

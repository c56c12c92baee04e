"""The optimize loop: run the objective on trials, sequentially, in threads or in processes.

Budgets (``n_trials``, ``timeout``) are shared by all workers of one ``optimize`` call. Ctrl-C
marks the trials in flight FAILED with ``fail_reason="interrupted"`` and re-raises.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hyperscout._progress import ProgressBar
from hyperscout._records import LIVE_STATES, FrozenTrial, TrialState
from hyperscout._worker import StudyBudget
from hyperscout.errors import (
    HyperscoutError,
    InvalidArgumentError,
    SearchSpaceExhausted,
    TrialPruned,
    TrialStateError,
)
from hyperscout.schedulers._base import Wait

if TYPE_CHECKING:
    from hyperscout.study import Callback, NewTrialBudget, Objective, Study
    from hyperscout.trial import Trial

_logger = logging.getLogger("hyperscout")
_POLL_MIN, _POLL_MAX = 0.005, 0.2  # seconds between asks while the scheduler says WAIT


class Budget:
    """Thread-safe counter of trials started and the deadline of one optimize call."""

    def __init__(self, n_trials: int | None, timeout: float | None, stop: threading.Event):
        self.n_trials = n_trials
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.started = 0
        self.stop = stop
        self._lock = threading.RLock()

    def expired(self) -> bool:
        """True once stop() was called or the deadline passed: no job of any kind starts."""
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    def has_room(self) -> bool:
        """True while a new trial may start (resumptions of paused trials are not counted)."""
        with self._lock:
            return not self.expired() and (self.n_trials is None or self.started < self.n_trials)

    def claim(self) -> bool:
        """Take one new trial from the budget; False when the budget is spent."""
        with self._lock:
            if not self.has_room():
                return False
            self.started += 1
            return True


class _Constrained:
    """An objective followed by ``constraints_func`` (a class, not a closure: process and Ray
    executors pickle it)."""

    def __init__(self, objective: Objective, constraints_func: Callable[[Trial], Any]) -> None:
        self.objective = objective
        self.constraints_func = constraints_func

    def __call__(self, trial: Trial) -> Any:
        result = self.objective(trial)
        trial.set_constraints(self.constraints_func(trial))
        return result


def with_constraints(
    objective: Objective, constraints_func: Callable[[Trial], Any] | None
) -> Objective:
    """``objective``, storing ``constraints_func(trial)`` after it returns (if given)."""
    if not callable(objective):
        raise InvalidArgumentError(f"`objective` must be callable, got {objective!r}")
    if constraints_func is None:
        return objective
    if not callable(constraints_func):
        raise InvalidArgumentError(
            f"`constraints_func` must be a function trial -> list of floats, got "
            f"{constraints_func!r}"
        )
    return _Constrained(objective, constraints_func)


def _check_args(n_trials: Any, timeout: Any, n_jobs: Any, executor: Any) -> int:
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0
    ):
        raise InvalidArgumentError(f"`n_trials` must be an int >= 0 or None, got {n_trials!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise InvalidArgumentError(f"`timeout` must be a number of seconds > 0, got {timeout!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise InvalidArgumentError(f"`n_jobs` must be >= 1 or -1 (one per CPU), got {n_jobs!r}")
    if executor not in ("thread", "process", "ray"):
        raise InvalidArgumentError(
            f"`executor` must be 'thread', 'process' or 'ray', got {executor!r}"
        )
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs


def _fail_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_one(
    study: Study,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    in_flight: set[Trial] | None = None,
    budget: NewTrialBudget | None = None,
) -> FrozenTrial | Wait | None:
    """Take the next job (a new trial, or a paused one the scheduler resumes), run the objective,
    tell. Returns the trial's new snapshot (PAUSED when the scheduler paused it), or what the
    scheduler said instead of a job: WAIT, or None when nothing is left to run."""
    got = study._next_trial(None, budget, watch=True)
    if got is None or isinstance(got, Wait):
        return got
    return run_trial(study, got, objective, catch, in_flight)


def run_trial(
    study: Study,
    trial: Trial,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    in_flight: set[Trial] | None = None,
) -> FrozenTrial:
    """Run the objective on a started trial (heartbeats while it runs, if it is watched) and
    tell the result; an exception outside ``catch`` fails the trial and propagates."""
    if in_flight is not None:
        in_flight.add(trial)
    beats = study._heartbeats if trial._guard is not None else None
    if beats is not None:
        beats.add(trial.trial_id, trial)
    # Suggestions are written with the trial's next write (a report, tell, or the next
    # heartbeat), not one transaction each: the storage sees 2 writes per plain trial, not 2 + d.
    trial._defer = True
    try:
        try:
            result = objective(trial)
        except TrialPruned:
            return study.tell(trial, state=TrialState.PRUNED)
        except SearchSpaceExhausted as exc:  # raised by a sampler from trial.suggest_*
            _finish_failed(study, trial, _fail_reason(exc))
            raise
        except KeyboardInterrupt:
            _finish_failed(study, trial, "interrupted")
            raise
        except catch as exc:
            _logger.warning(
                "trial %d failed with %s\n%s",
                trial.number,
                _fail_reason(exc),
                "".join(traceback.format_exception(exc)).rstrip(),
            )
            return _finish_failed(study, trial, _fail_reason(exc))
        except BaseException as exc:
            _finish_failed(study, trial, _fail_reason(exc))
            raise
        if result is None and trial.should_stop():
            # a trial that returns nothing after a pause or stop keeps its reported values
            return study.tell(trial, state=TrialState.PRUNED)
        try:
            return study.tell(trial, result)
        except HyperscoutError as exc:  # a bad return value fails the trial, not the study
            _logger.warning("trial %d failed: %s", trial.number, exc)
            return _finish_failed(study, trial, str(exc))
    finally:
        if beats is not None:
            beats.discard(trial.trial_id)
        if in_flight is not None:
            in_flight.discard(trial)


def run_jobs(
    study: Study,
    objective: Objective,
    budget: NewTrialBudget,
    catch: tuple[type[BaseException], ...],
    expired: Callable[[], bool],
    after: Callable[[FrozenTrial], None],
    in_flight: set[Trial] | None = None,
) -> None:
    """One worker's loop: jobs until the scheduler has none left, the new-trial budget is spent
    and nothing paused is resumed, or ``expired()``. While the scheduler says WAIT, poll."""
    delay = _POLL_MIN
    while not expired():
        got = run_one(study, objective, catch, in_flight, budget)
        if got is None:
            return
        if isinstance(got, Wait):
            if not any(t.state == TrialState.RUNNING for t in study._refresh_view().trials):
                return  # nothing running anywhere: no report can change the scheduler's mind
            time.sleep(delay)
            delay = min(2 * delay, _POLL_MAX)
            continue
        delay = _POLL_MIN
        after(got)


def _finish_failed(study: Study, trial: Trial, reason: str) -> FrozenTrial:
    try:
        frozen = study._storage.update_trial(
            trial.trial_id,
            state=TrialState.FAILED,
            params=trial._take_unsaved(),
            system_attrs={"fail_reason": reason, **trial._take_constraints()},
            expected_states=LIVE_STATES,
            expected_attrs=trial._guard,
        )
    except TrialStateError:  # finished by someone else (e.g. interrupted), or taken over
        return study._storage.get_trial(trial.trial_id)
    study._checkpoints.remove(frozen.number)
    return frozen


def _after(
    study: Study, frozen: FrozenTrial, callbacks: Sequence[Callback], bar: ProgressBar | None
) -> None:
    for cb in callbacks:
        cb(study, frozen)
    if bar is not None:
        bar.update(study, frozen)


def _worker(
    study: Study,
    objective: Objective,
    budget: Budget | StudyBudget,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    bar: ProgressBar | None,
    in_flight: set[Trial],
    errors: list[BaseException],
    lock: threading.Lock,
) -> None:
    def after(frozen: FrozenTrial) -> None:
        with lock:  # callbacks and the bar see one trial at a time
            _after(study, frozen, callbacks, bar)

    try:
        run_jobs(study, objective, budget, catch, budget.expired, after, in_flight)
    except SearchSpaceExhausted as exc:
        _logger.info("stopping: %s", exc)
        budget.stop.set()
    except BaseException as exc:
        errors.append(exc)
        budget.stop.set()


def run_optimize(
    study: Study,
    objective: Objective,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    show_progress: bool,
    executor: str,
    shared: bool = False,
    resources: dict[str, float] | None = None,
) -> None:
    """Implementation of :meth:`Study.optimize` (and, with ``shared``, of :meth:`Study.work`:
    the budget is the study's stored one, shared by all its workers)."""
    if not callable(objective):
        raise InvalidArgumentError(f"`objective` must be callable, got {objective!r}")
    n_jobs = _check_args(n_trials, timeout, n_jobs, executor)
    if resources is not None and executor != "ray":
        raise InvalidArgumentError(
            f"`resources` applies to executor='ray' only, got executor={executor!r}"
        )
    study._stop_flag.clear()
    budget: Budget | StudyBudget
    if shared:
        spec = study.budget
        budget = StudyBudget(study, spec, study._stop_flag)
        remaining = None if spec["deadline"] is None else max(spec["deadline"] - time.time(), 0)
        bar = ProgressBar(spec["n_trials"], remaining) if show_progress else None
    else:
        budget = Budget(n_trials, timeout, study._stop_flag)
        bar = ProgressBar(n_trials, timeout) if show_progress else None
    try:
        if executor == "process":
            from hyperscout._processes import run_processes

            run_processes(study, objective, n_trials, timeout, n_jobs, catch, callbacks, bar)
        elif executor == "ray":
            from hyperscout._ray import run_ray

            run_ray(study, objective, budget, n_jobs, catch, callbacks, bar, resources)
        elif n_jobs == 1:
            _run_sequential(study, objective, budget, catch, callbacks, bar)
        else:
            _run_threads(study, objective, budget, n_jobs, catch, callbacks, bar)
    finally:
        if bar is not None:
            bar.close()


def _run_sequential(
    study: Study,
    objective: Objective,
    budget: Budget | StudyBudget,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    bar: ProgressBar | None,
) -> None:
    try:
        run_jobs(
            study,
            objective,
            budget,
            catch,
            budget.expired,
            lambda frozen: _after(study, frozen, callbacks, bar),
        )
    except SearchSpaceExhausted as exc:
        _logger.info("stopping: %s", exc)


def _run_threads(
    study: Study,
    objective: Objective,
    budget: Budget | StudyBudget,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    bar: ProgressBar | None,
) -> None:
    in_flight: set[Trial] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()
    args = (study, objective, budget, catch, callbacks, bar, in_flight, errors, lock)
    threads = [
        threading.Thread(target=_worker, args=args, daemon=True, name=f"hyperscout-{i}")
        for i in range(n_jobs)
    ]
    for th in threads:
        th.start()
    try:
        while any(th.is_alive() for th in threads):
            for th in threads:
                th.join(timeout=0.1)
    except KeyboardInterrupt:
        budget.stop.set()
        for trial in list(in_flight):
            _finish_failed(study, trial, "interrupted")
        raise
    if errors:
        raise errors[0]


def wait_interval(timeout: float | None) -> Callable[[], float]:
    """A helper for pollers: seconds left until the deadline (inf when none)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    return lambda: math.inf if deadline is None else deadline - time.monotonic()

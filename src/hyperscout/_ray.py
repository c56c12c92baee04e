"""``optimize(executor="ray")``: trials run as Ray tasks, the sampler and scheduler stay here.

The driver (this process) asks for each trial: the scheduler picks the job, the sampler draws the
parameters it wants to draw jointly, the trial is created RUNNING in the storage and its
heartbeat is renewed here while its task runs. A Ray task (on any node of the cluster, with the
CPUs/GPUs asked for in ``resources``) then runs the objective on that trial: its suggestions,
reports and the final result go straight to the same SQL storage, and it hands the finished
trial back. Each Ray worker process keeps its study open between tasks, so a trial costs one
task round trip plus its storage writes, not a process start.

A task lost with its node fails its trial (the study goes on); an exception the objective raises
outside ``catch`` fails the trial and stops the study, as with the other executors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import (
    HyperscoutError,
    InvalidArgumentError,
    SearchSpaceExhausted,
    require,
)
from hyperscout.schedulers._base import Wait

if TYPE_CHECKING:
    from hyperscout._optimize import Budget
    from hyperscout._progress import ProgressBar
    from hyperscout._worker import StudyBudget
    from hyperscout.study import Callback, Objective, Study

__all__ = ["run_ray"]

_logger = logging.getLogger("hyperscout")
_RESOURCE_KEYS = {"num_cpus", "num_gpus", "memory", "resources"}


class _Runner:  # pragma: no cover - runs inside Ray actor processes
    """A Ray actor that keeps the study open and runs the trials the driver hands it."""

    def __init__(
        self,
        url: str,
        name: str,
        sampler: Any,
        scheduler: Any,
        seed: int,
        objective: Objective,
        catch: tuple[type[BaseException], ...],
    ) -> None:
        from hyperscout.study import load_study

        self._study = load_study(name, url, sampler=sampler, scheduler=scheduler, seed=seed)
        self._objective = objective
        self._catch = catch

    def run(self, trial_id: int, presampled: dict[str, Any]) -> FrozenTrial:
        from hyperscout._optimize import run_trial
        from hyperscout.trial import Trial

        study = self._study
        frozen = study.storage.get_trial(trial_id)
        view = study._refresh_view(current=frozen.number)
        trial = Trial(study, frozen, view, study._rng(frozen.number), presampled)
        return run_trial(study, trial, self._objective, self._catch)


def check_resources(resources: Mapping[str, Any] | None) -> dict[str, Any]:
    """Ray options of each trial's task: ``num_cpus``, ``num_gpus``, ``memory``, ``resources``."""
    if resources is None:
        return {"num_cpus": 1}
    if not isinstance(resources, Mapping) or set(resources) - _RESOURCE_KEYS:
        raise InvalidArgumentError(
            f"`resources` must be a dict with keys among {sorted(_RESOURCE_KEYS)} (e.g. "
            f"{{'num_cpus': 2, 'num_gpus': 0.5}}), got {resources!r}"
        )
    return dict(resources)


def run_ray(
    study: Study,
    objective: Objective,
    budget: Budget | StudyBudget,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    bar: ProgressBar | None,
    resources: Mapping[str, Any] | None,
) -> None:
    """Keep ``n_jobs`` trials running as Ray tasks until the budget is spent."""
    ray: Any = require("ray", "ray")
    options = check_resources(resources)
    url = getattr(study.storage, "url", None)
    if url is None or (url.startswith("sqlite") and ":memory:" in url):
        raise InvalidArgumentError(
            "`executor='ray'` needs a storage the Ray workers can open: pass "
            "storage='sqlite:///hyperscout.db' (one machine) or a PostgreSQL URL to create_study"
        )
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING)
    actor = ray.remote(_Runner).options(max_restarts=0, **options)
    fixed = (url, study.study_name, study.sampler, study.scheduler, study.seed, objective, catch)
    # Actors get trials only once placed: on a cluster too small for n_jobs of them, the
    # others wait for resources (or an autoscaler) and never hold a trial meanwhile.
    starting = {a.__ray_ready__.remote(): a for a in (actor.remote(*fixed) for _ in range(n_jobs))}
    idle: list[Any] = []
    beats = study._heartbeats
    running: dict[Any, tuple[int, Any]] = {}  # Ray object ref -> (trial id, actor)
    done = False
    try:
        while True:
            while not done and idle and not budget.expired():
                got = study._next_trial(None, budget, watch=True)
                if got is None or isinstance(got, Wait):
                    done = got is None
                    break
                presampled = study._pending.pop(got.number, {})
                runner = idle.pop()
                running[runner.run.remote(got.trial_id, presampled)] = (got.trial_id, runner)
                if beats is not None and got._guard is not None:
                    beats.add(got.trial_id)
            if not running:
                if done or budget.expired():
                    return
                if idle and not _others_running(study):
                    return  # WAIT, but no report anywhere can change the scheduler's mind
                if idle:
                    time.sleep(0.05)
                    continue
            ready, _ = ray.wait([*running, *starting], num_returns=1)
            for ref in ready:
                if ref in starting:
                    runner = starting.pop(ref)
                    _check_started(ray, ref)
                    idle.append(runner)
                    continue
                trial_id, runner = running.pop(ref)
                if beats is not None:
                    beats.discard(trial_id)
                frozen, alive = _result(ray, ref, study, trial_id)
                if alive:
                    idle.append(runner)
                else:
                    new = actor.remote(*fixed)
                    starting[new.__ray_ready__.remote()] = new
                for cb in callbacks:
                    cb(study, frozen)
                if bar is not None:
                    bar.update(study, frozen)
    except SearchSpaceExhausted as exc:
        _logger.info("stopping: %s", exc)
    finally:
        for trial_id, runner in running.values():  # interrupted: leave no trial RUNNING
            ray.kill(runner)
            _fail(study, trial_id, "interrupted")
        for runner in [*idle, *starting.values()]:
            ray.kill(runner)


def _result(ray: Any, ref: Any, study: Study, trial_id: int) -> tuple[FrozenTrial, bool]:
    """The finished trial an actor returned, and whether the actor lives on. An actor lost
    with its node fails its trial; an exception of the objective outside ``catch`` propagates
    (the actor failed the trial)."""
    try:
        frozen: FrozenTrial = ray.get(ref)
        return frozen, True
    except ray.exceptions.RayTaskError as exc:
        raise exc.as_instanceof_cause() from None
    except ray.exceptions.RayError as exc:  # the actor's process or node died
        _logger.warning("trial %d: its Ray actor was lost: %s", trial_id, exc)
        return _fail(study, trial_id, f"Ray actor lost: {type(exc).__name__}: {exc}"), False


def _check_started(ray: Any, ready_ref: Any) -> None:
    """Raise when an actor could not start: the objective, sampler or scheduler did not
    unpickle on the Ray worker, or the storage cannot be opened there."""
    try:
        ray.get(ready_ref)
    except ray.exceptions.RayError as exc:
        raise HyperscoutError(
            f"a Ray actor could not start ({_first_line(exc)}): the objective must be importable "
            "on the Ray workers (a module on their PYTHONPATH, or ray.init(runtime_env=...)) "
            "and the storage URL reachable from them"
        ) from exc


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def _fail(study: Study, trial_id: int, reason: str) -> FrozenTrial:
    from hyperscout._records import LIVE_STATES
    from hyperscout.errors import TrialStateError

    try:
        return study.storage.update_trial(
            trial_id,
            state=TrialState.FAILED,
            system_attrs={"fail_reason": reason},
            expected_states=LIVE_STATES,
        )
    except TrialStateError:
        return study.storage.get_trial(trial_id)


def _others_running(study: Study) -> bool:
    """Whether trials of other workers run (the scheduler may wait for their reports)."""
    return any(t.state == TrialState.RUNNING for t in study._refresh_view().trials)

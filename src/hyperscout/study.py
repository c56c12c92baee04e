"""Study: a thin coordinator of a search space, a sampler, a scheduler and a storage.

Example:
    >>> import hyperscout as hs
    >>> study = hs.create_study(direction="minimize", sampler="random", seed=0)
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
    >>> len(study.trials)
    5
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import numbers
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hyperscout._best import best_trial, pareto_front
from hyperscout._checkpoints import CheckpointStore, default_root
from hyperscout._heartbeat import (
    LOST_KEY,
    POLICY_KEY,
    RETRIES_KEY,
    RUN_KEY,
    Heartbeat,
    Heartbeats,
    new_run_token,
    restart_step,
)
from hyperscout._records import (
    LIVE_STATES,
    FrozenTrial,
    StudyDirection,
    StudySummary,
    TrialState,
)
from hyperscout.errors import (
    HyperscoutError,
    InvalidArgumentError,
    InvalidTypeError,
    ScheduleFinished,
    StudyBudgetSpent,
    TrialNotFoundError,
    TrialStateError,
)
from hyperscout.samplers import Sampler, StudyView, make_sampler
from hyperscout.schedulers import FIFOScheduler, Scheduler, make_scheduler
from hyperscout.schedulers._base import (
    BUDGET_KEY,
    DECISION_KEY,
    FINAL_KEY,
    START_STEP_KEY,
    WAIT,
    Decision,
    Job,
    Wait,
)
from hyperscout.space import Distribution, as_choice, validate_space
from hyperscout.storage import Storage, get_storage
from hyperscout.trial import FIXED_PARAMS_KEY, Trial

if TYPE_CHECKING:
    import pandas

__all__ = ["Study", "create_study", "delete_study", "get_all_study_summaries", "load_study"]

_logger = logging.getLogger("hyperscout")
_SEED_KEY = "seed"
_CHECKPOINT_KEY = "checkpoint_dir"
_MAX_CLAIMS = 64  # attempts to claim a job other workers keep taking first


class NewTrialBudget(Protocol):
    """How an optimize loop limits new trials (resumptions of paused ones are not counted)."""

    def has_room(self) -> bool:
        """True while a new trial may start."""
        ...

    def claim(self) -> bool:
        """Take one new trial from the budget; False when it is spent."""
        ...


Objective = Callable[[Trial], Any]
Callback = Callable[["Study", FrozenTrial], None]


class Study:
    """A hyperparameter search: ask for trials, tell their results, read the best.

    Create one with :func:`create_study` or :func:`load_study` rather than directly.
    """

    def __init__(
        self,
        study_name: str,
        storage: Storage,
        sampler: Sampler,
        scheduler: Scheduler,
        seed: int,
        checkpoint_root: Path | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self._storage = storage
        self._study_id = storage.get_study_id(study_name)
        self._checkpoints = CheckpointStore(checkpoint_root, self._study_id)
        # trials run by optimize() are watched (None: in-memory storage, or turned off)
        self._heartbeats = (
            None if heartbeat is None else Heartbeats(storage, self._study_id, heartbeat)
        )
        self._name = study_name
        self._directions = storage.get_study_directions(self._study_id)
        self._sampler = sampler
        self._scheduler = scheduler
        self._seed = seed
        self._lock = threading.RLock()
        self._trials: list[FrozenTrial] = []
        self._completed: tuple[FrozenTrial, ...] | None = None
        self._completed_list: list[FrozenTrial] = []
        self._completed_numbers: set[int] = set()
        self._version = 0
        self._n_waiting = 0  # WAITING trials among self._trials
        self._stop_flag = threading.Event()
        # Values drawn jointly at ask() but not yet suggested by the objective, by trial number.
        # Views show them on running trials so that samplers (constant liar, believer points)
        # see what concurrent trials of this process will evaluate.
        self._pending: dict[int, dict[str, tuple[Distribution, Any]]] = {}

    def __repr__(self) -> str:
        return f"Study(name={self._name!r}, directions={[d.value for d in self._directions]})"

    # -- identity ---------------------------------------------------------------------------
    @property
    def study_name(self) -> str:
        """The study's unique name within its storage."""
        return self._name

    @property
    def directions(self) -> tuple[StudyDirection, ...]:
        """One direction per objective."""
        return self._directions

    @property
    def direction(self) -> StudyDirection:
        """The direction of a single-objective study."""
        self._require_single("direction", "directions")
        return self._directions[0]

    @property
    def sampler(self) -> Sampler:
        """The sampler proposing parameters."""
        return self._sampler

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler answering reports."""
        return self._scheduler

    @property
    def storage(self) -> Storage:
        """The storage holding the study."""
        return self._storage

    @property
    def seed(self) -> int:
        """Seed of the study's random streams (trial ``n`` draws from ``(seed, n)``)."""
        return self._seed

    @property
    def user_attrs(self) -> dict[str, Any]:
        """Study-level user attributes."""
        return self._storage.get_study_attrs(self._study_id)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serializable value to the study."""
        if not isinstance(key, str):
            raise InvalidTypeError(f"`key` must be a string, got {key!r}")
        self._storage.set_study_attr(self._study_id, key, value)

    # -- reading trials ---------------------------------------------------------------------
    def _refresh_view(self, current: int | None = None) -> StudyView:
        with self._lock:
            changed, self._version = self._storage.get_trials(
                self._study_id, since_version=self._version
            )
            # Numbers are gap-free and every new trial is among the changed ones, so the list
            # never has holes: index == number.
            done = False
            for t in changed:
                if t.number == len(self._trials):
                    self._trials.append(t)
                else:
                    self._n_waiting -= self._trials[t.number].state == TrialState.WAITING
                    self._trials[t.number] = t
                self._n_waiting += t.state == TrialState.WAITING
                # finished trials never change again: keep them in number order as they come
                new = t.number not in self._completed_numbers
                if new and t.state == TrialState.COMPLETE and t.values is not None:
                    self._completed_numbers.add(t.number)
                    bisect.insort(self._completed_list, t, key=_number)
                    done = True
            if done or self._completed is None:
                self._completed = tuple(self._completed_list)  # shared by the views
            return self._make_view(current)

    def _make_view(self, current: int | None) -> StudyView:
        """A view of the trials as known now (lock held)."""
        trials = tuple(self._trials) if not self._pending else self._with_pending()
        completed = self._completed
        return StudyView(trials, self._directions, self._seed, current, completed=completed)

    def _view_with(self, frozen: FrozenTrial) -> StudyView:
        """The view right after this process started ``frozen``: without a storage read when
        nothing else was numbered since the last one (other changes show at the next read)."""
        with self._lock:
            if frozen.number < len(self._trials) and frozen.state != TrialState.WAITING:
                self._n_waiting -= self._trials[frozen.number].state == TrialState.WAITING
                self._trials[frozen.number] = frozen  # an enqueued trial this process claimed
                return self._make_view(frozen.number)
            if frozen.number == len(self._trials):
                self._trials.append(frozen)
                return self._make_view(frozen.number)
        return self._refresh_view(current=frozen.number)

    def _with_pending(self) -> tuple[FrozenTrial, ...]:
        """The trials, running ones completed with their pending joint draws (lock held)."""
        trials = list(self._trials)
        for number, draws in list(self._pending.items()):
            t = trials[number]
            if t.state.is_finished():
                del self._pending[number]
                continue
            extra = {k: v for k, v in draws.items() if k not in t.params}
            if extra:
                trials[number] = dataclasses.replace(
                    t,
                    params={**t.params, **{k: v for k, (_, v) in extra.items()}},
                    distributions={**t.distributions, **{k: d for k, (d, _) in extra.items()}},
                )
        return tuple(trials)

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, ordered by number."""
        return list(self._refresh_view().trials)

    def get_trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        """Trials, optionally only those in ``states``."""
        trials = self._refresh_view().trials
        if states is None:
            return list(trials)
        wanted = set(states)
        return [t for t in trials if t.state in wanted]

    def _require_single(self, what: str, instead: str) -> None:
        if len(self._directions) != 1:
            raise InvalidArgumentError(
                f"`{what}` is for single-objective studies; this study has "
                f"{len(self._directions)} objectives: use `{instead}`"
            )

    @property
    def best_trial(self) -> FrozenTrial:
        """The feasible COMPLETE trial with the best value (single objective)."""
        self._require_single("best_trial", "best_trials")
        trials = self._refresh_view().trials
        best = best_trial(trials, self._directions)
        if best is None:
            if any(t.state == TrialState.COMPLETE for t in trials):
                raise TrialStateError(
                    f"study {self._name!r} has no COMPLETE trial that satisfies its constraints "
                    "yet: run more trials, or loosen the constraints"
                )
            raise TrialStateError(
                f"study {self._name!r} has no COMPLETE trial yet: run optimize() or tell() first"
            )
        return best

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of :attr:`best_trial`."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """Objective value of :attr:`best_trial`."""
        value = self.best_trial.value
        if value is None:  # pragma: no cover - best_trial only returns trials with values
            raise TrialStateError("best trial has no value")
        return value

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front: COMPLETE trials no other COMPLETE trial dominates."""
        return pareto_front(self._refresh_view().trials, self._directions)

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per trial: number, state, value(s), params_*, user_attrs_*, times.

        Needs pandas: ``pip install 'hyperscout[dataframe]'``.
        """
        from hyperscout._dataframe import trials_dataframe

        return trials_dataframe(self.trials, self._directions)

    # -- ask / tell -------------------------------------------------------------------------
    def _rng(self, number: int) -> np.random.Generator:
        return np.random.default_rng([self._seed, number])

    def ask(self, space: Mapping[str, Distribution] | None = None) -> Trial:
        """Start a trial: a new one, or the resumption of a paused one when a multi-fidelity
        scheduler promotes it (``trial.start_step`` then says where to go on from). With
        ``space``, the parameters of a new trial are drawn now (jointly).

        Enqueued trials (:meth:`enqueue_trial`) are handed out first among new ones.

        Raises:
            TrialStateError: the scheduler has nothing to run until a running trial reports or
                finishes (a synchronous rung is not full yet).
            ScheduleFinished: the scheduler has nothing more to run.

        Example:
            >>> t = study.ask({"x": hs.Float(-5, 5)})  # doctest: +SKIP
            >>> study.tell(t, t.params["x"] ** 2)  # doctest: +SKIP
        """
        declared = validate_space(space) if space is not None else None
        got = self._next_trial(declared, None, watch=False)
        if isinstance(got, Wait):
            raise TrialStateError(
                f"the scheduler {self._scheduler!r} has nothing to run until a running trial "
                "reports or finishes: tell() the running trials first"
            )
        if got is None:
            raise ScheduleFinished(f"the scheduler {self._scheduler!r} has nothing more to run")
        return got

    def _next_trial(
        self,
        declared: dict[str, Distribution] | None,
        budget: NewTrialBudget | None,
        *,
        watch: bool,
    ) -> Trial | Wait | None:
        """The next job as a started Trial, WAIT, or None (nothing more to run; with a
        ``budget``, also when it is spent and nothing is left to resume). With ``watch`` the
        trial heartbeats (see ``_heartbeat.py``); a trial lost by a dead worker runs first."""
        watch = watch and self._heartbeats is not None
        if watch:
            lost = self._take_lost()
            if lost is not None:
                return lost
        next_job = getattr(self._scheduler, "next_job", None)
        view: StudyView | None = None
        for _ in range(_MAX_CLAIMS):
            room = budget is None or budget.has_room()
            if next_job is None:
                job: Job | Wait | None = Job() if room else None
            else:
                view = self._refresh_view()
                job = next_job(view, room)
            if job is None or isinstance(job, Wait):
                return job
            if not isinstance(job, Job):
                raise HyperscoutError(
                    f"{self._scheduler!r}.next_job returned {job!r}: a scheduler must return "
                    "a Job, WAIT or None"
                )
            if job.resume is None:
                # a branch of an existing trial (PBT's exploit) is not a new configuration
                counted = job.checkpoint_from is None
                if counted and budget is not None and not budget.claim():
                    continue  # another worker took the last new trial: only resumptions now
                try:
                    started = self._start_new(
                        job, declared, view, watch, getattr(budget, "limit", None)
                    )
                except StudyBudgetSpent:
                    continue  # the study is full: only resumptions now
                if started is not None:
                    return started
                continue  # the donor or the replaced trial changed under us: ask again
            trial = self._resume(job, view, watch)
            if trial is not None:
                return trial
        return WAIT  # every job offered was claimed by other workers first

    def _take_lost(self) -> Trial | None:
        """Recover trials whose worker died (at most once per heartbeat interval), then resume
        a lost one, if any, with its budget, from the step of its last checkpoint."""
        beats = self._heartbeats
        if beats is None:
            return None
        if beats.due():
            beats.recover(self)
            beats.lost = [
                t
                for t in self._refresh_view().trials
                if t.state == TrialState.PAUSED and t.system_attrs.get(LOST_KEY)
            ]
        while beats.lost:
            seen = beats.lost.pop(0)
            attrs = {
                LOST_KEY: None,
                START_STEP_KEY: restart_step(self, seen),
                DECISION_KEY: None,
                RUN_KEY: new_run_token(),
            }
            frozen = self._claim_paused(seen, TrialState.RUNNING, attrs, heartbeat=True)
            if frozen is not None:
                view = self._refresh_view(current=frozen.number)
                return Trial(self, frozen, view, self._rng(frozen.number))
        return None

    def _start_new(
        self,
        job: Job,
        declared: dict[str, Distribution] | None,
        view: StudyView | None,
        watch: bool = False,
        max_trials: int | None = None,
    ) -> Trial | None:
        """Create (or take an enqueued) trial for ``job``. For a branch of another trial
        (``checkpoint_from``, ``replaces``): stage the donor's checkpoint, then end the replaced
        trial with a compare-and-set; None when either changed under us."""
        attrs: dict[str, Any] = dict(job.attrs)
        if job.budget is not None:
            attrs[BUDGET_KEY] = int(job.budget)
        if not job.final:
            attrs[FINAL_KEY] = False
        if job.params is not None:
            attrs[FIXED_PARAMS_KEY] = dict(job.params)
        if watch:
            attrs[RUN_KEY] = new_run_token()
        staged = None
        if job.checkpoint_from is not None:
            staged = self._checkpoints.stage(job.checkpoint_from)
            if staged is None and self._finished(job.checkpoint_from):
                return None  # the donor finished (its checkpoint deleted) under us
        if job.replaces is not None and not self._retire(job.replaces, view):
            if staged is not None:
                self._checkpoints.discard(staged)
            return None
        branch = job.checkpoint_from is not None
        # a branch is not the enqueued configuration a user asked for: never take one; a
        # view just read that shows no WAITING trial spares the storage a look
        claim = not branch and (view is None or self._n_waiting > 0)
        frozen = (
            self._storage.claim_waiting_trial(self._study_id, heartbeat=watch) if claim else None
        )
        if frozen is None:
            # Optional sampler hook: raises SearchSpaceExhausted before a trial is created.
            check_exhausted = getattr(self._sampler, "check_exhausted", None)
            if check_exhausted is not None and not branch:
                check_exhausted(self._refresh_view())
            frozen = self._storage.create_trial(
                self._study_id,
                state=TrialState.RUNNING,
                system_attrs=attrs or None,
                heartbeat=watch,
                max_trials=max_trials,
            )
        elif attrs:
            queued = frozen.system_attrs.get(FIXED_PARAMS_KEY, {})
            fixed = {**queued, **attrs.pop(FIXED_PARAMS_KEY, {})}
            if fixed:
                attrs[FIXED_PARAMS_KEY] = fixed
            frozen = self._storage.update_trial(frozen.trial_id, system_attrs=attrs)
        try:
            if staged is not None:
                self._checkpoints.adopt(staged, frozen.number)
            return self._start(frozen, declared)
        except BaseException as exc:  # never leave a trial RUNNING that no one will finish
            self._storage.update_trial(
                frozen.trial_id,
                state=TrialState.FAILED,
                system_attrs={"fail_reason": f"{type(exc).__name__}: {exc}"},
            )
            raise

    def _finished(self, number: int) -> bool:
        """Whether trial ``number`` is finished (so a missing checkpoint was deleted, not never
        written)."""
        try:
            trial_id = self._storage.get_trial_id(self._study_id, number)
        except TrialNotFoundError:
            return False  # not created yet: nothing to copy
        return self._storage.get_trial(trial_id).state.is_finished()

    def _retire(self, number: int, view: StudyView | None) -> bool:
        """End the PAUSED trial ``number`` as PRUNED if it is still as ``view`` showed it."""
        if view is None or not 0 <= number < len(view.trials):
            raise HyperscoutError(f"{self._scheduler!r} replaced trial {number}, which is unknown")
        if self._claim_paused(view.trials[number], TrialState.PRUNED, {"replaced": True}) is None:
            return False
        self._checkpoints.remove(number)
        return True

    def _claim_paused(
        self,
        seen: FrozenTrial,
        state: TrialState,
        attrs: dict[str, Any],
        *,
        heartbeat: bool = False,
    ) -> FrozenTrial | None:
        """Move a trial the scheduler saw PAUSED (``seen``) to ``state``, if it is still as
        seen: a compare-and-set on its state and the budget and start of its last run, so a
        trial resumed and paused again meanwhile is not claimed twice. None when it changed."""
        try:
            return self._storage.update_trial(
                seen.trial_id,
                state=state,
                system_attrs=attrs,
                expected_states=(TrialState.PAUSED,),
                expected_attrs={
                    BUDGET_KEY: seen.system_attrs.get(BUDGET_KEY),
                    START_STEP_KEY: seen.system_attrs.get(START_STEP_KEY),
                    RETRIES_KEY: seen.system_attrs.get(RETRIES_KEY),
                },
                heartbeat=heartbeat,
            )
        except TrialStateError:
            return None

    def _resume(self, job: Job, view: StudyView | None, watch: bool = False) -> Trial | None:
        """Claim the PAUSED trial ``job.resume`` as the scheduler saw it in ``view`` (None when
        another worker claimed it first, even if it has been paused again since)."""
        number = int(job.resume or 0)
        if view is None or not 0 <= number < len(view.trials):
            raise HyperscoutError(f"{self._scheduler!r} resumed trial {number}, which is unknown")
        seen = view.trials[number]
        attrs: dict[str, Any] = {
            **job.attrs,
            BUDGET_KEY: None if job.budget is None else int(job.budget),
            START_STEP_KEY: seen.last_step or 0,
            DECISION_KEY: None,
            FINAL_KEY: None if job.final else False,
            LOST_KEY: None,
        }
        if watch:
            attrs[RUN_KEY] = new_run_token()
        frozen = self._claim_paused(seen, TrialState.RUNNING, attrs, heartbeat=watch)
        if frozen is None:
            return None
        view = self._refresh_view(current=frozen.number)
        return Trial(self, frozen, view, self._rng(frozen.number))

    def _start(self, frozen: FrozenTrial, declared: dict[str, Distribution] | None) -> Trial:
        view = self._view_with(frozen)
        rng = self._rng(frozen.number)
        fixed = frozen.system_attrs.get(FIXED_PARAMS_KEY, {})
        joint = declared if declared is not None else self._sampler.joint_space(view)
        joint = {k: d for k, d in joint.items() if k not in fixed and not d.single()}
        presampled = {}
        if joint:
            values = self._sampler.suggest(view, joint, rng)
            presampled = {k: (joint[k], values[k]) for k in joint}
        trial = Trial(self, frozen, view, rng, presampled)
        if presampled and declared is None:
            with self._lock:
                self._pending[frozen.number] = presampled
        if declared is not None:
            for name, dist in declared.items():
                trial.suggest(name, dist)
        return trial

    def tell(
        self,
        trial: Trial | int,
        values: float | Sequence[float] | None = None,
        *,
        state: TrialState | None = None,
    ) -> FrozenTrial:
        """Finish a trial with its objective value(s) or a state (PRUNED, FAILED), or pause
        it (PAUSED) so that the scheduler may resume it later.

        A NaN value marks the trial FAILED. When the scheduler paused the trial at its last
        report, the trial is recorded PAUSED whatever was told (its values are the reported
        ones); when it stopped it, PRUNED. A finished trial's checkpoints are deleted. Returns
        the new snapshot.
        """
        trial_id = self._resolve_trial_id(trial)
        if state is None:
            if values is None:
                raise InvalidArgumentError(
                    "give `values` (the objective value) or `state` (PRUNED or FAILED) to tell()"
                )
            state = TrialState.COMPLETE
        if not isinstance(state, TrialState) or not (
            state.is_finished() or state == TrialState.PAUSED
        ):
            raise InvalidArgumentError(
                f"`state` must be COMPLETE, PRUNED, FAILED or PAUSED, got {state!r}"
            )
        parsed: tuple[float, ...] | None = None
        attrs: dict[str, Any] = {}
        if values is not None:
            parsed = self._parse_values(values)
            if any(math.isnan(v) for v in parsed):
                state, parsed = TrialState.FAILED, None
                attrs["fail_reason"] = "the objective returned NaN"
        if state == TrialState.COMPLETE and parsed is None:
            raise InvalidArgumentError("`values` are required to tell a COMPLETE trial")
        if state in (TrialState.COMPLETE, TrialState.PRUNED):
            state = self._run_end(trial, trial_id, state)
        if isinstance(trial, Trial):
            attrs.update(trial._take_constraints())
        frozen = self._storage.update_trial(
            trial_id,
            state=state,
            values=parsed if state == TrialState.COMPLETE else None,
            params=trial._take_unsaved() if isinstance(trial, Trial) else None,
            system_attrs=attrs or None,
            expected_states=((TrialState.RUNNING,) if state == TrialState.PAUSED else LIVE_STATES),
            expected_attrs=trial._guard if isinstance(trial, Trial) else None,
        )
        if state.is_finished():
            self._checkpoints.remove(frozen.number)
        if state == TrialState.FAILED and "fail_reason" in attrs:
            _logger.warning("trial %d failed: %s", frozen.number, attrs["fail_reason"])
        return frozen

    def _run_end(self, trial: Trial | int, trial_id: int, state: TrialState) -> TrialState:
        """What COMPLETE or PRUNED told for the current run of a trial records: PAUSED when the
        scheduler paused it (or the run's budget is a rung, not the full budget, and the trial
        was not pruned), PRUNED when it stopped it. A trial that is not RUNNING (a PAUSED one
        ended for good by number) records what was told."""
        frozen = trial._frozen if isinstance(trial, Trial) else self._storage.get_trial(trial_id)
        if isinstance(trial, Trial):
            decision = trial._decision
        else:
            stored = frozen.system_attrs.get(DECISION_KEY)
            decision = Decision(stored) if stored else Decision.CONTINUE
        final = frozen.system_attrs.get(FINAL_KEY) is not False
        if decision == Decision.CONTINUE and (final or state == TrialState.PRUNED):
            return state
        current = self._storage.get_trial(trial_id) if isinstance(trial, Trial) else frozen
        if current.state != TrialState.RUNNING:
            return state
        if decision == Decision.STOP:
            return TrialState.PRUNED
        return TrialState.PAUSED

    def _resolve_trial_id(self, trial: Trial | int) -> int:
        if isinstance(trial, Trial):
            if trial.study is not self and trial.study.study_name != self._name:
                raise InvalidArgumentError("`trial` belongs to another study")
            return trial.trial_id
        if isinstance(trial, numbers.Integral) and not isinstance(trial, bool):
            return self._storage.get_trial_id(self._study_id, int(trial))
        raise InvalidTypeError(f"`trial` must be a Trial or a trial number, got {trial!r}")

    def _parse_values(self, values: Any) -> tuple[float, ...]:
        n = len(self._directions)
        if type(values) is float and n == 1:  # the common case, on the per-trial hot path
            return (values,)
        if isinstance(values, Mapping):
            raise InvalidTypeError(
                "the objective returned a dict: return a float, or a tuple with one value per "
                "objective"
            )
        if isinstance(values, (str, bytes)) or np.ndim(values) > 1:
            items: Any = [values]
        else:
            items = [values] if np.ndim(values) == 0 else list(values)
        for v in items:
            if isinstance(v, (bool, np.bool_)):
                raise InvalidTypeError(f"the objective returned a bool ({v!r}): return a number")
            if not isinstance(v, (numbers.Real, np.number)):
                raise InvalidTypeError(
                    f"the objective must return a number (or {n} numbers), got {values!r}: "
                    "return a float"
                )
        if len(items) != n:
            raise InvalidArgumentError(
                f"the study has {n} objective(s) but the objective returned {len(items)} "
                f"value(s): {values!r}"
            )
        return tuple(float(v) for v in items)

    def enqueue_trial(
        self,
        params: Mapping[str, Any],
        *,
        user_attrs: Mapping[str, Any] | None = None,
        skip_if_exists: bool = False,
    ) -> None:
        """Queue a trial with fixed parameter values; the next ``ask`` runs it first.

        Parameters the objective suggests that ``params`` does not fix are sampled as usual.
        With ``skip_if_exists``, nothing is queued when a trial with these values exists.
        """
        if not isinstance(params, Mapping):
            raise InvalidTypeError(f"`params` must be a dict of name -> value, got {params!r}")
        fixed = dict(params)
        if skip_if_exists:
            for t in self._refresh_view().trials:
                mine = t.system_attrs.get(FIXED_PARAMS_KEY) or t.params
                if all(k in mine and as_choice(mine[k]) == as_choice(v) for k, v in fixed.items()):
                    return
        self._storage.create_trial(
            self._study_id,
            state=TrialState.WAITING,
            user_attrs=user_attrs,
            system_attrs={FIXED_PARAMS_KEY: fixed},
        )

    # -- optimize ---------------------------------------------------------------------------
    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        *,
        catch: tuple[type[BaseException], ...] = (Exception,),
        callbacks: Sequence[Callback] = (),
        show_progress: bool = False,
        executor: str = "thread",
        resources: Mapping[str, Any] | None = None,
        constraints_func: Callable[[Trial], Sequence[float]] | None = None,
    ) -> None:
        """Run ``objective`` on new trials until ``n_trials`` are done or ``timeout`` seconds pass.

        Args:
            objective: takes a :class:`Trial`, returns a float (or one float per objective).
                Raising :class:`TrialPruned` records the trial as PRUNED.
            n_trials: trials to run in this call (None: until timeout, stop() or Ctrl-C).
            timeout: seconds after which no new trial starts.
            n_jobs: trials run at once; -1 means one per CPU.
            catch: exceptions from the objective that mark the trial FAILED and let the study go
                on (logged as warnings). Pass ``()`` to let every exception propagate.
            callbacks: called as ``callback(study, frozen_trial)`` after each trial.
            show_progress: draw a progress bar on stderr with the best value so far.
            executor: "thread" (default), "process" (needs a SQL storage and a picklable
                objective; each process attaches to the same study) or "ray" (``n_jobs`` trials
                at once as Ray tasks on the cluster ``ray.init`` connected to, a local one if
                none; needs a SQL storage the Ray workers reach and
                ``pip install 'hyperscout[ray]'``).
            resources: with ``executor="ray"``, what each trial's task asks Ray for, e.g.
                ``{"num_cpus": 2, "num_gpus": 1}`` (default: one CPU).
            constraints_func: called with the trial after the objective returns; its values
                (each ``<= 0`` when satisfied) are stored with the result, as
                :meth:`Trial.set_constraints` does from inside the objective.
        """
        from hyperscout._optimize import run_optimize, with_constraints

        run_optimize(
            self,
            with_constraints(objective, constraints_func),
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            catch=catch,
            callbacks=callbacks,
            show_progress=show_progress,
            executor=executor,
            resources=dict(resources) if resources is not None else None,
        )

    def stop(self) -> None:
        """Ask a running ``optimize`` to start no new trial (callable from a callback)."""
        self._stop_flag.set()

    # -- shared budget and workers ------------------------------------------------------------
    def set_budget(
        self,
        *,
        n_trials: int | None = None,
        timeout: float | None = None,
        target: float | None = None,
    ) -> None:
        """Store the budget that every worker of the study shares (:meth:`work`,
        ``hyperscout worker``): at most ``n_trials`` trials in the study, no new trial
        ``timeout`` seconds from now, none once a trial reached ``target``. None: no limit.

        Example:
            >>> study.set_budget(n_trials=200, timeout=3600)  # doctest: +SKIP
        """
        from hyperscout._worker import BUDGET_KEY, budget_spec

        spec = budget_spec(n_trials, timeout, target, len(self._directions))
        self._storage.set_study_attr(self._study_id, BUDGET_KEY, spec, system=True)

    @property
    def budget(self) -> dict[str, Any]:
        """The stored budget: ``n_trials``, ``deadline`` (epoch seconds) and ``target``."""
        from hyperscout._worker import BUDGET_KEY

        stored = self._storage.get_study_attrs(self._study_id, system=True).get(BUDGET_KEY)
        return dict(stored or {"n_trials": None, "deadline": None, "target": None})

    def work(
        self,
        objective: Objective,
        n_jobs: int = 1,
        *,
        catch: tuple[type[BaseException], ...] = (Exception,),
        callbacks: Sequence[Callback] = (),
        show_progress: bool = False,
        executor: str = "thread",
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        """Run trials as one of the study's workers until the budget stored with
        :meth:`set_budget` is spent (by all workers together), or :meth:`stop`.

        Start as many workers as you like, on any machine that reaches the storage:
        ``hs.load_study(name, url).work(objective)`` or ``hyperscout worker``. With
        ``executor="ray"`` this worker runs ``n_jobs`` trials at once on a Ray cluster (see
        :meth:`optimize`).
        """
        from hyperscout._optimize import run_optimize

        if executor not in ("thread", "ray"):
            raise InvalidArgumentError(
                f"`executor` of work() must be 'thread' or 'ray', got {executor!r}: worker "
                "processes are started one per machine or core, each with its own work()"
            )
        run_optimize(
            self,
            objective,
            n_trials=None,
            timeout=None,
            n_jobs=n_jobs,
            catch=catch,
            callbacks=callbacks,
            show_progress=show_progress,
            executor=executor,
            shared=True,
            resources=dict(resources) if resources is not None else None,
        )


def _directions(direction: Any, directions: Any) -> list[StudyDirection]:
    if direction is not None and directions is not None:
        raise InvalidArgumentError("give `direction` or `directions`, not both")
    if directions is None:
        return [StudyDirection.parse(direction or "minimize")]
    if isinstance(directions, str) or not isinstance(directions, Sequence) or not directions:
        raise InvalidArgumentError(
            f"`directions` must be a non-empty list such as ['minimize', 'maximize'], "
            f"got {directions!r}"
        )
    return [StudyDirection.parse(d, "directions") for d in directions]


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidArgumentError(f"`seed` must be an int >= 0 or None, got seed={seed!r}")
    return int(seed)


def _number(trial: FrozenTrial) -> int:
    return trial.number


def _open(name: str, storage: Storage, sampler: Any, scheduler: Any, seed: int | None) -> Study:
    study_id = storage.get_study_id(name)
    system = storage.get_study_attrs(study_id, system=True)
    stored = system.get(_SEED_KEY)
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        seed = int(stored) if stored is not None else int(entropy)  # type: ignore[arg-type]
        if stored is None:
            storage.set_study_attr(study_id, _SEED_KEY, str(seed), system=True)
    folder = system.get(_CHECKPOINT_KEY)
    root = Path(folder) if folder else default_root(getattr(storage, "url", None))
    scheduler_ = make_scheduler(scheduler)
    sampler_ = _sampler_for(sampler, scheduler_)
    return Study(name, storage, sampler_, scheduler_, seed, root, _policy(storage, system))


def _policy(storage: Storage, system: Mapping[str, Any]) -> Heartbeat | None:
    """The study's heartbeat policy: the stored one, else the default; None in memory (one
    process: no worker can die alone) or when the study turned heartbeats off."""
    from hyperscout.storage import InMemoryStorage

    if isinstance(storage, InMemoryStorage):
        return None
    stored = system.get(POLICY_KEY)
    if stored is False:
        return None
    return Heartbeat() if stored is None else Heartbeat.from_dict(stored)


def _check_heartbeat(heartbeat: Any) -> Heartbeat | bool | None:
    if heartbeat is None or heartbeat is False or isinstance(heartbeat, Heartbeat):
        return heartbeat
    raise InvalidTypeError(
        f"`heartbeat` must be an hs.Heartbeat(interval=..., grace=..., retry_failed=...), "
        f"False (no heartbeats) or None (the default policy), got {heartbeat!r}"
    )


def _sampler_for(sampler: Any, scheduler: Scheduler) -> Sampler:
    """The sampler argument as a Sampler. The default (None) is TPE; under a scheduler that
    pauses or stops trials it is TPE fitted on the largest well-observed budget
    (:class:`~hyperscout.MultiFidelitySampler`), since few trials finish there."""
    if sampler is None and not isinstance(scheduler, FIFOScheduler):
        from hyperscout.samplers._multifidelity import MultiFidelitySampler

        return MultiFidelitySampler("tpe")
    return make_sampler(sampler)


def create_study(
    *,
    study_name: str | None = None,
    storage: str | Storage | None = None,
    direction: str | StudyDirection | None = None,
    directions: Sequence[str | StudyDirection] | None = None,
    sampler: str | Sampler | None = None,
    scheduler: str | Scheduler | None = None,
    seed: int | None = None,
    load_if_exists: bool = False,
    checkpoint_dir: str | Path | None = None,
    heartbeat: Heartbeat | bool | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists``).

    Args:
        study_name: unique name in the storage (a random one if None).
        storage: None (in memory), a URL such as ``"sqlite:///runs.db"``, or a Storage.
        direction: "minimize" (default) or "maximize".
        directions: one direction per objective, for multi-objective studies.
        sampler: a registry name (see `hyperscout.samplers.SAMPLERS`: "tpe", "random", "grid",
            "qmc", "gp", "cmaes", ...) or a Sampler; TPE by default (under a scheduler other than
            FIFO, TPE fitted on the largest well-observed budget: ``MultiFidelitySampler``).
        scheduler: a registry name or a Scheduler; FIFO (no early stopping) by default.
        seed: makes the study's suggestions reproducible (bit-identical for sequential runs).
        load_if_exists: reuse a study of the same name instead of failing.
        checkpoint_dir: where trials' checkpoints go (``trial.save_checkpoint``); remembered by
            the study. Default: ``<file>.checkpoints`` beside a SQLite file, else a temporary
            directory. Workers on several machines need a directory they all see.
        heartbeat: how trials run by ``optimize`` (and ``hyperscout worker``) are watched on a
            SQL storage: an :class:`~hyperscout.Heartbeat` (beat interval, grace period,
            ``retry_failed``), False for none, None for the default (a beat every 10 s; a
            trial silent for 60 s is marked FAILED). Remembered by the study.
    """
    dirs = _directions(direction, directions)
    seed_ = _seed(seed)
    if study_name is None:
        study_name = f"study-{uuid.uuid4().hex[:12]}"
    elif not isinstance(study_name, str) or not study_name.strip():
        raise InvalidArgumentError(f"`study_name` must be a non-empty string, got {study_name!r}")
    if checkpoint_dir is not None and not isinstance(checkpoint_dir, (str, Path)):
        raise InvalidTypeError(
            f"`checkpoint_dir` must be a path (str or pathlib.Path), got {checkpoint_dir!r}"
        )
    policy = _check_heartbeat(heartbeat)
    store = get_storage(storage)
    scheduler_ = make_scheduler(scheduler)
    sampler_ = _sampler_for(sampler, scheduler_)
    try:
        study_id = store.create_study(study_name, dirs)
    except HyperscoutError as exc:
        from hyperscout.errors import DuplicatedStudyError

        if not (load_if_exists and isinstance(exc, DuplicatedStudyError)):
            raise
        existing = list(store.get_study_directions(store.get_study_id(study_name)))
        if existing != dirs:
            raise InvalidArgumentError(
                f"study {study_name!r} exists with directions "
                f"{[d.value for d in existing]}, not {[d.value for d in dirs]}"
            ) from None
        return _open(study_name, store, sampler_, scheduler_, seed_)
    if seed_ is not None:
        store.set_study_attr(study_id, _SEED_KEY, str(seed_), system=True)
    if checkpoint_dir is not None:
        folder = str(Path(checkpoint_dir).expanduser().resolve())
        store.set_study_attr(study_id, _CHECKPOINT_KEY, folder, system=True)
    if policy is not None:
        stored = False if policy is False else policy.to_dict()  # type: ignore[union-attr]
        store.set_study_attr(study_id, POLICY_KEY, stored, system=True)
    return _open(study_name, store, sampler_, scheduler_, seed_)


def load_study(
    study_name: str,
    storage: str | Storage,
    *,
    sampler: str | Sampler | None = None,
    scheduler: str | Scheduler | None = None,
    seed: int | None = None,
) -> Study:
    """Open an existing study to continue it. Its seed is restored unless ``seed`` is given.

    Example:
        >>> study = hs.load_study("demo", storage="sqlite:///runs.db")  # doctest: +SKIP
    """
    if storage is None:
        raise InvalidArgumentError(
            "`storage` is required to load a study: pass the URL it was created with, "
            "e.g. 'sqlite:///hyperscout.db'"
        )
    store = get_storage(storage)
    return _open(study_name, store, sampler, scheduler, _seed(seed))


def delete_study(study_name: str, storage: str | Storage) -> None:
    """Delete a study and all its trials."""
    store = get_storage(storage)
    store.delete_study(store.get_study_id(study_name))


def get_all_study_summaries(storage: str | Storage) -> list[StudySummary]:
    """One summary per study in ``storage``."""
    return get_storage(storage).list_studies()

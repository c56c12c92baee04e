"""The :class:`Trial` handle an objective receives, plus the trial records.

Example:
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", -5, 5)
    ...     kind = trial.suggest_categorical("kind", ["a", "b"])
    ...     return x**2 if kind == "a" else x**2 + 1
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._heartbeat import RUN_KEY
from hyperscout._records import CONSTRAINTS_KEY, FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError, InvalidTypeError, ParamConflictError
from hyperscout.samplers._base import StudyView
from hyperscout.schedulers._base import BUDGET_KEY, DECISION_KEY, START_STEP_KEY, Decision
from hyperscout.space import Categorical, Distribution, Float, Int, as_choice

if TYPE_CHECKING:
    from hyperscout.study import Study

__all__ = ["FrozenTrial", "StudyDirection", "Trial", "TrialState"]

FIXED_PARAMS_KEY = "fixed_params"


# Objectives build the same distributions trial after trial: validate each one once.
# typed=True keeps True apart from 1, so bad arguments still raise.
@functools.lru_cache(maxsize=1024, typed=True)
def _float(low: float, high: float, step: float | None, log: bool) -> Float:
    return Float(low, high, log=log, step=step)


@functools.lru_cache(maxsize=1024, typed=True)
def _int(low: int, high: int, step: int, log: bool) -> Int:
    return Int(low, high, log=log, step=step)


_CATEGORICALS: dict[tuple[Any, ...], Categorical] = {}


def _categorical(choices: Sequence[Any]) -> Categorical:
    # The key carries each choice's type: (1, True) and (True, 1) are equal tuples.
    try:
        key = tuple((type(c), c) for c in choices)
        cached = _CATEGORICALS.get(key)
    except TypeError:  # unhashable choices: let Categorical explain
        return Categorical(tuple(choices))
    if cached is None:
        cached = Categorical(tuple(choices))
        if len(_CATEGORICALS) >= 1024:
            _CATEGORICALS.clear()
        _CATEGORICALS[key] = cached
    return cached


class Trial:
    """One running evaluation: suggests parameters, reports progress, holds user attributes.

    Obtain it from ``study.ask()`` or as the argument of the objective given to
    ``study.optimize``. Suggesting the same name twice in one trial returns the same value.
    """

    def __init__(
        self,
        study: Study,
        frozen: FrozenTrial,
        view: StudyView,
        rng: np.random.Generator,
        presampled: Mapping[str, tuple[Distribution, Any]] | None = None,
    ) -> None:
        self._study = study
        self._frozen = frozen
        self._view = view
        self._rng = rng
        self._presampled = dict(presampled or {})
        self._fixed: dict[str, Any] = dict(frozen.system_attrs.get(FIXED_PARAMS_KEY, {}))
        self._decision = Decision.CONTINUE
        # A watched run's token: its writes fail once the trial was handed to another worker.
        run = frozen.system_attrs.get(RUN_KEY)
        self._guard: dict[str, Any] | None = None if run is None else {RUN_KEY: run}
        self._step = self.start_step  # the last step reported or begun in this run
        # With _defer (trials run by optimize), suggestions wait for the trial's next write.
        self._defer = False
        self._unsaved: dict[str, tuple[Distribution, float]] = {}
        self._constraints: list[float] | None = None  # set_constraints, not written yet
        self._write_lock = threading.Lock()  # the heartbeat thread may flush concurrently

    def _write(self, **changes: Any) -> FrozenTrial:
        """Write to this trial's record (checked against the run token of a watched run), with
        the suggestions not written yet."""
        with self._write_lock:
            if self._unsaved:
                changes["params"] = {**self._unsaved, **changes.get("params", {})}
            if self._constraints is not None:
                attrs = {CONSTRAINTS_KEY: self._constraints, **changes.get("system_attrs", {})}
                changes["system_attrs"] = attrs
            self._frozen = self._study._storage.update_trial(
                self.trial_id, expected_attrs=self._guard, **changes
            )
            self._unsaved, self._constraints = {}, None
            return self._frozen

    def _flush(self) -> None:
        """Write the suggestions not written yet (called by the heartbeat thread)."""
        if self._unsaved:
            self._write()

    def _take_constraints(self) -> dict[str, Any]:
        """The constraint values not written yet, as system attributes; cleared."""
        with self._write_lock:
            values, self._constraints = self._constraints, None
            return {} if values is None else {CONSTRAINTS_KEY: values}

    def set_constraints(self, values: Sequence[float]) -> None:
        """Record the trial's constraint values: each ``<= 0`` when satisfied (e.g. memory used
        minus the limit). A trial that breaks one is never the best trial nor on the Pareto
        front, and feasibility-aware samplers (TPE, NSGA-II) steer away from it.

        Example:
            >>> trial.set_constraints([peak_memory_gb - 16.0])  # doctest: +SKIP
        """
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise InvalidTypeError(
                f"`values` must be a non-empty list of floats (<= 0 when satisfied), got {values!r}"
            )
        checked: list[float] = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(float(v)):
                raise InvalidTypeError(
                    f"constraint values must be real numbers, not NaN, got {values!r}"
                )
            checked.append(float(v))
        if self._defer:
            with self._write_lock:
                self._constraints = checked
        else:
            self._write(system_attrs={CONSTRAINTS_KEY: checked})

    def _take_unsaved(self) -> dict[str, tuple[Distribution, float]] | None:
        """The suggestions not written yet, for a write the study makes (tell); cleared."""
        with self._write_lock:
            unsaved, self._unsaved = self._unsaved, {}
            return unsaved or None

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"

    # -- identity and snapshots ------------------------------------------------------------
    @property
    def number(self) -> int:
        """Position of the trial in its study (0, 1, 2, ...)."""
        return self._frozen.number

    @property
    def trial_id(self) -> int:
        """Storage-wide id of the trial."""
        return self._frozen.trial_id

    @property
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far, by name."""
        return dict(self._frozen.params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        """Distribution of each parameter suggested so far."""
        return dict(self._frozen.distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """User attributes set with :meth:`set_user_attr`."""
        return dict(self._frozen.user_attrs)

    @property
    def study(self) -> Study:
        """The study this trial belongs to."""
        return self._study

    def freeze(self) -> FrozenTrial:
        """The trial's current snapshot."""
        return self._frozen

    # -- suggestions ------------------------------------------------------------------------
    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]``; log-uniform when ``log``; on a grid when ``step``.

        Example:
            >>> lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)  # doctest: +SKIP
        """
        value: float = self.suggest(name, _float(low, high, step, log))
        return value

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An int in ``[low, high]`` (inclusive); log-scaled when ``log``."""
        value: int = self.suggest(name, _int(low, high, step, log))
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices`` (any hashable values: str, int, float, bool, None)."""
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            return self.suggest(name, Categorical(choices))  # type: ignore[arg-type]  # raises
        return self.suggest(name, _categorical(choices))

    def suggest(self, name: str, distribution: Distribution) -> Any:
        """A value for ``name`` drawn from ``distribution`` (hs.Float, hs.Int, hs.Categorical)."""
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"`name` must be a non-empty string, got {name!r}")
        if not isinstance(distribution, (Float, Int, Categorical)):
            raise InvalidTypeError(
                f"`distribution` must be hs.Float, hs.Int or hs.Categorical, got {distribution!r}"
            )
        known = self._frozen.distributions.get(name)
        if known is not None:
            if known != distribution:
                raise ParamConflictError(
                    f"parameter {name!r} was already suggested in this trial as {known!r}, "
                    f"now as {distribution!r}: use one distribution per name within a trial"
                )
            return self._frozen.params[name]
        value = self._draw(name, distribution)
        internal = distribution.to_internal(value)
        if not self._defer:
            self._write(params={name: (distribution, internal)})
            return self._frozen.params[name]
        with self._write_lock:  # kept here until the trial's next write
            self._unsaved[name] = (distribution, internal)
            self._frozen = dataclasses.replace(
                self._frozen,
                params={**self._frozen.params, name: distribution.to_external(internal)},
                distributions={**self._frozen.distributions, name: distribution},
            )
        return self._frozen.params[name]

    def _draw(self, name: str, dist: Distribution) -> Any:
        if name in self._fixed:
            value = self._fixed[name]
            if isinstance(dist, Int) and isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(dist, Categorical):
                value = as_choice(value)  # a tuple choice comes back from JSON as a list
            if not dist.contains(value):
                raise InvalidArgumentError(
                    f"enqueued value {value!r} for parameter {name!r} is outside {dist!r}: "
                    "enqueue a value the objective's suggestion allows"
                )
            return value
        pre = self._presampled.get(name)
        if pre is not None and pre[0] == dist:
            return pre[1]
        if dist.single():
            return dist.to_external(dist.decode(0.5))
        return self._study._sampler.suggest(self._view, {name: dist}, self._rng)[name]

    # -- budget, progress and checkpoints --------------------------------------------------
    @property
    def budget(self) -> int | None:
        """The last step this run may reach, set by the scheduler (None: no limit).

        Under a multi-fidelity scheduler a trial runs in pieces: up to a rung's budget, then
        (if promoted) resumed with a larger one. :meth:`steps` stops at it.
        """
        value = self._frozen.system_attrs.get(BUDGET_KEY)
        return None if value is None else int(value)

    @property
    def start_step(self) -> int:
        """Steps done before this run: 0 for a new trial, the last reported step when the
        scheduler resumes a paused one (restore the checkpoint and go on from here)."""
        return int(self._frozen.system_attrs.get(START_STEP_KEY, 0))

    def steps(self) -> Iterator[int]:
        """The steps to run now: ``start_step + 1, ..., budget``, ending early when the
        scheduler pauses or stops the trial at a report.

        Without a budget (FIFO with no ``max_budget``) the steps never end: break yourself.

        Example:
            >>> def objective(trial):  # doctest: +SKIP
            ...     model = trial.load_checkpoint() or make_model(trial)
            ...     for epoch in trial.steps():
            ...         loss = train_one_epoch(model)
            ...         trial.report(epoch, loss)
            ...         trial.save_checkpoint(model)
            ...     return loss
        """
        step = self.start_step
        budget = self.budget
        while budget is None or step < budget:
            if self._decision != Decision.CONTINUE:
                return
            step += 1
            self._step = max(self._step, step)  # the step in progress, for save_checkpoint
            yield step

    def report(self, step: int, value: float) -> None:
        """Record an intermediate value (e.g. validation loss after ``step`` epochs).

        The study's scheduler answers every report: :meth:`should_stop` tells its answer.
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidArgumentError(f"`step` must be an int >= 0, got step={step!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidTypeError(f"`value` must be a real number, got {value!r}")
        self._write(intermediate_values={int(step): float(value)})
        self._step = max(self._step, int(step))
        if math.isnan(float(value)):
            return
        decision = self._study._scheduler.on_report(
            self._study._refresh_view(current=self.number), self._frozen, int(step), float(value)
        )
        if decision != Decision.CONTINUE and decision != self._decision:
            # kept in the storage: a tell() by trial number, or another process, knows it too
            self._write(system_attrs={DECISION_KEY: decision.value})
        self._decision = decision

    def should_stop(self) -> bool:
        """True when the scheduler paused or stopped the trial at the last report: return from
        the objective (the study records it PAUSED or PRUNED)."""
        return self._decision != Decision.CONTINUE

    def should_prune(self) -> bool:
        """Same as :meth:`should_stop`, for objectives written for Optuna's pruners.

        Raising :class:`~hyperscout.TrialPruned` after a PAUSE decision records the trial PAUSED
        (it may be resumed), after a STOP decision PRUNED.

        Example:
            >>> if trial.should_prune():  # doctest: +SKIP
            ...     raise hs.TrialPruned()
        """
        return self.should_stop()

    @property
    def checkpoint_dir(self) -> Path:
        """A directory of this trial's own (created on first use) for checkpoints written by
        hand (``torch.save(state, trial.checkpoint_dir / "model.pt")``). It survives pauses
        and restarts and is removed when the trial finishes."""
        return self._study._checkpoints.trial_dir(self.number, create=True)

    def save_checkpoint(self, obj: Any) -> None:
        """Pickle ``obj`` as the trial's checkpoint (atomically: a crash leaves the previous
        one); :meth:`load_checkpoint` returns it when the trial resumes. It is taken to hold
        the state after the current step (the one :meth:`steps` yielded last, or the last one
        reported): a trial whose worker died goes on after it."""
        self._study._checkpoints.save(self.number, obj, self._step)

    def load_checkpoint(self) -> Any:
        """The object last saved with :meth:`save_checkpoint` (for a trial PBT cloned, its
        parent's), or None when there is none."""
        return self._study._checkpoints.load(self.number)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serializable value to the trial (kept in storage)."""
        if not isinstance(key, str):
            raise InvalidTypeError(f"`key` must be a string, got {key!r}")
        self._write(user_attrs={key: value})

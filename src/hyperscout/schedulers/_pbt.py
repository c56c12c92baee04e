"""Population-based training (PBT): a population trained in segments, the worst members
replaced by perturbed copies of the best.

Jaderberg et al., "Population Based Training of Neural Networks" (2017), Sec. 3 and 4.1:
``population_size`` members train side by side; every ``interval`` steps a member is *ready*.
A ready member in the bottom ``quantile`` of the population is replaced (*exploit*, truncation
selection) by a copy of a member drawn from the top ``quantile``: its checkpoint and its
parameters, which are then perturbed (*explore*: each one resampled with
``resample_probability``, else multiplied by a factor drawn from ``perturb_factors``). Any
other ready member trains on for another ``interval`` steps. So the population follows a
*schedule* of hyperparameters, not one fixed setting.

How it maps onto the study (trials, pauses, checkpoints):

* A member is a *slot* ``0 .. population_size - 1``; the slot's *current* trial trains it.
  Slots are filled with new trials from the study's sampler while new trials are allowed.
* A trial runs one segment (``interval`` steps) and is PAUSED there. Continuing it resumes
  the trial; replacing it starts a new trial in the same slot with the donor's parameters
  (perturbed), a copy of the donor's checkpoint and ``trial.start_step`` at the donor's last
  step. The replaced trial stays PAUSED, checkpoint included (the scheduler cannot end it),
  and is no longer current: it is never resumed again. A copy is not a new configuration
  and does not count against ``n_trials``.
* A slot ends when its current trial reaches ``max_budget`` (COMPLETE), so
  ``study.best_trial`` is the best member at the full budget.

What the scheduler remembers is kept in each trial's system attributes (``pbt_slot``;
``pbt_generation``: replacements before it in its slot; ``pbt_parent``: the donor's trial
number, None for a slot's first trial; ``pbt_origin``: the donor's step it started from);
everything else is read from the trials, and random draws use
``numpy.random.default_rng([seed, tag, number of trials])``. A study reopened in another
process, or shared by several workers, makes the same decisions.

Choices where the paper or the usual implementations leave room:

* Members are compared *at the same step*: a member ready at step ``s`` is ranked by the
  values every slot had at ``s`` (a slot that is further on counts with its value back then;
  a replaced member keeps its own value there). Ranking by the last reported values instead
  favours members that happen to be further on (Ray Tune added a synchronous mode for this);
  on the learning-rate toy of the tests it also lost on a quarter of the seeds.
* Ready members are handled fewest steps first, replacements before continuations at the
  same step, then by trial number: the population stays within about one segment, and a
  donor is copied before it is resumed (resumed first, it could overwrite its checkpoint
  before the copy is made). A member whose copy has not started reporting waits too.
* Donors are current members of the top quantile that are PAUSED: a running member's
  checkpoint may be ahead of its last report, a finished one's is deleted. A bottom member
  waits while a top member runs, and trains on when none is left to copy.
* Quantile size: ``ceil(quantile * n)``, at most ``n // 2`` (no member is both top and bottom;
  as Syne Tune and Ray Tune); with fewer than two ranked members nobody is replaced.
* Integer and stepped parameters move at least one step when perturbed (1 * 1.2 rounds back
  to 1 otherwise); a value of 0 is only changed by resampling. A categorical parameter, unless
  resampled, moves to a neighbouring choice (in the order given) with probability 0.5: the
  order of choices is taken to mean something, as for ``[32, 64, 128]``.
* A slot whose current trial FAILED or was PRUNED is dead: it is not ranked and not refilled
  (an objective that always fails would otherwise be copied forever, for free).
* Workers racing: two copies made for one member at once, the lower trial number wins and the
  other is stopped (PRUNED) at its first report; two slots' first trials started for one slot,
  the later one takes the next free slot.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.samplers._random import sample_uniform
from hyperscout.schedulers._base import (
    DECISION_KEY,
    START_STEP_KEY,
    WAIT,
    Decision,
    Job,
    Wait,
    check_budgets,
    signed,
)
from hyperscout.schedulers._rungs import rung_value
from hyperscout.schedulers._sha import pause_at_budget
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = [
    "GENERATION_KEY",
    "ORIGIN_KEY",
    "PARENT_KEY",
    "SLOT_KEY",
    "PBTScheduler",
    "current_members",
    "explore",
    "population",
]

SLOT_KEY: Final = "pbt_slot"
GENERATION_KEY: Final = "pbt_generation"
PARENT_KEY: Final = "pbt_parent"
ORIGIN_KEY: Final = "pbt_origin"
_TAG = 0x706274  # "pbt": keeps these draws apart from other uses of the seed
_DEAD = (TrialState.FAILED, TrialState.PRUNED)


def _generation(t: FrozenTrial) -> int:
    return int(t.system_attrs.get(GENERATION_KEY, 0))


def _origin(t: FrozenTrial) -> int:
    return int(t.system_attrs.get(ORIGIN_KEY, 0))


def population(trials: Sequence[FrozenTrial]) -> dict[int, list[FrozenTrial]]:
    """Slot -> its trials in the order they held it (generation, then trial number), for the
    trials of a :class:`PBTScheduler`.

    A copy is in the slot it was made for. A slot's first trial is in the slot it was started
    for, unless a trial with a lower number took that slot first (two workers started one each
    at once): it then takes the lowest slot no first trial holds, so that every new trial
    counted against ``n_trials`` is a member.
    """
    out: dict[int, list[FrozenTrial]] = {}
    firsts: set[int] = set()
    for t in trials:
        attrs = t.system_attrs
        if SLOT_KEY not in attrs or _withdrawn(t):
            continue
        slot = int(attrs[SLOT_KEY])
        if attrs.get(PARENT_KEY) is None:
            if slot in firsts:
                slot = next(s for s in itertools.count() if s not in firsts)
            firsts.add(slot)
        out.setdefault(slot, []).append(t)
    for members in out.values():
        members.sort(key=lambda t: (_generation(t), t.number))
    return dict(sorted(out.items()))


def _withdrawn(t: FrozenTrial) -> bool:
    """A copy this scheduler stopped (a duplicate, or one whose donor moved on while it was
    made): as if it had never been made."""
    return (
        t.system_attrs.get(PARENT_KEY) is not None
        and t.state == TrialState.PRUNED
        and t.system_attrs.get(DECISION_KEY) == Decision.STOP.value
    )


def current_members(trials: Sequence[FrozenTrial]) -> dict[int, FrozenTrial]:
    """Slot -> the trial that trains it now (or finished it): the highest generation in the
    slot, the lowest trial number among equals (two workers replaced one member at once)."""
    return {slot: _current(members) for slot, members in population(trials).items()}


def _current(members: list[FrozenTrial]) -> FrozenTrial:
    last = _generation(members[-1])
    return next(t for t in members if _generation(t) == last)


def _slot_value(
    view: StudyView, members: list[FrozenTrial], current: FrozenTrial, step: int
) -> float | None:
    """The value a slot had at ``step``: reported by the first of its trials that trained
    through ``step`` (as for a rung: the first report at or after it); for a slot that jumped
    over ``step`` (its copy started further on), its donor's, up the lineage. None when the
    slot has not reached ``step``."""
    for t in members:
        if _origin(t) < step:
            value = rung_value(t, step)
            if value is not None:
                return value
    t = current
    while step <= _origin(t):
        parent = t.system_attrs.get(PARENT_KEY)
        if parent is None or not 0 <= int(parent) < t.number:
            return None
        t = view.trials[int(parent)]
    return rung_value(t, step)


def _being_copied(trials: Sequence[FrozenTrial]) -> set[int]:
    """Donors of copies that are RUNNING without a report yet (the study copies the donor's
    checkpoint after creating the copy, before the objective runs)."""
    return {
        int(t.system_attrs[PARENT_KEY])
        for t in trials
        if t.state == TrialState.RUNNING
        and not t.intermediate_values
        and t.system_attrs.get(PARENT_KEY) is not None
    }


@dataclass(frozen=True, slots=True)
class _Ranked:
    """A slot's current trial and the value it is ranked by at some step."""

    trial: FrozenTrial
    key: float  # signed (smaller is better); inf for NaN


class PBTScheduler:
    """Population-based training (Jaderberg et al. 2017): truncation selection every
    ``interval`` steps, with perturbed copies of the best members replacing the worst.

    Args:
        max_budget: the full budget (steps, e.g. epochs) every member trains for.
        population_size: members trained side by side (slots). ``n_trials`` of
            ``study.optimize`` below it makes the population smaller; above it, the
            extra new trials are not used (copies of members are free).
        interval: steps between two selections (a segment); the paper's "ready" criterion.
        quantile: fraction of the population replaced (bottom) and copied from (top), in
            (0, 0.5].
        resample_probability: probability that explore draws a parameter anew (uniformly
            from its distribution) instead of perturbing it.
        perturb_factors: the factors a numeric parameter is multiplied by, one drawn
            uniformly per parameter (0.8 and 1.2 in the paper).

    The objective must save a checkpoint at every step it reports (a copy starts from the
    donor's), and apply the parameters it suggests to a restored model: a copy's parameters
    differ from those its checkpoint was trained with. Slots and lineage:
    :func:`population`, :func:`current_members`.

    Example:
        >>> import hyperscout as hs
        >>> from hyperscout.schedulers._pbt import PBTScheduler, current_members
        >>> def objective(trial):
        ...     lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        ...     dist = trial.load_checkpoint() or 1.0
        ...     for step in trial.steps():
        ...         dist = dist * (1 - lr) + 0.01 * lr * lr  # best: a decaying lr
        ...         trial.report(step, dist)
        ...         trial.save_checkpoint(dist)
        ...     return dist
        >>> pbt = PBTScheduler(max_budget=12, population_size=4, interval=3)
        >>> study = hs.create_study(scheduler=pbt, sampler="random", seed=0)
        >>> study.optimize(objective, n_trials=4)
        >>> [t.state.name for t in current_members(study.trials).values()]
        ['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']
    """

    def __init__(
        self,
        max_budget: int,
        *,
        population_size: int = 8,
        interval: int = 1,
        quantile: float = 0.25,
        resample_probability: float = 0.25,
        perturb_factors: Sequence[float] = (0.8, 1.2),
    ) -> None:
        _, self._max, _ = check_budgets(1, max_budget)
        self._size = check_int("population_size", population_size, 2)
        self._interval = check_int("interval", interval, 1)
        if not _is_real(quantile) or not 0 < quantile <= 0.5:
            raise InvalidArgumentError(
                f"`quantile` must be a number in (0, 0.5], got quantile={quantile!r}"
            )
        self._quantile = float(quantile)
        if not _is_real(resample_probability) or not 0 <= resample_probability <= 1:
            raise InvalidArgumentError(
                "`resample_probability` must be a number in [0, 1], got "
                f"resample_probability={resample_probability!r}"
            )
        self._resample = float(resample_probability)
        self._factors = _check_factors(perturb_factors)

    def __repr__(self) -> str:
        return (
            f"PBTScheduler(max_budget={self._max}, population_size={self._size}, "
            f"interval={self._interval}, quantile={self._quantile:g}, "
            f"resample_probability={self._resample:g}, perturb_factors={self._factors})"
        )

    # -- jobs -------------------------------------------------------------------------------
    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """A new member while the population is not full; else the next segment of a ready
        member (fewest steps first): a perturbed copy of a top member in place of a bottom
        one, or the member trained on; else WAIT (a member runs) or None (all are done)."""
        slots = population(view.trials)
        current = {slot: _current(members) for slot, members in slots.items()}
        if new_allowed and len(current) < self._size:
            slot = next(s for s in range(self._size) if s not in current)
            budget = min(self._interval, self._max)
            attrs = {SLOT_KEY: slot, GENERATION_KEY: 0, PARENT_KEY: None}
            return Job(budget=budget, attrs=attrs, final=budget >= self._max)
        live = {slot: t for slot, t in current.items() if t.state not in _DEAD}
        copying = _being_copied(view.trials)
        ready: dict[int, list[tuple[int, FrozenTrial]]] = {}
        for slot, t in live.items():
            step = t.last_step or 0
            if t.state == TrialState.PAUSED and step < self._max and t.number not in copying:
                ready.setdefault(step, []).append((slot, t))
        for step in sorted(ready):
            job = self._segment(view, slots, live, step, sorted(ready[step], key=_number))
            if job is not None:
                return job
        if any(t.state == TrialState.RUNNING and SLOT_KEY in t.system_attrs for t in view.trials):
            return WAIT
        return None

    def _segment(
        self,
        view: StudyView,
        slots: Mapping[int, list[FrozenTrial]],
        live: Mapping[int, FrozenTrial],
        step: int,
        ready: list[tuple[int, FrozenTrial]],
    ) -> Job | None:
        """The next job among members ready at ``step``: a replacement first, else a
        continuation; None when they all wait for a running top member."""
        ranked = []
        for slot, t in live.items():
            value = _slot_value(view, slots[slot], t, step)
            if value is not None:  # None: behind (running), not comparable yet
                key = signed(view, value)
                ranked.append(_Ranked(t, math.inf if math.isnan(key) else key))
        ranked.sort(key=lambda r: (r.key, r.trial.number))
        # round first: 0.3 * 10 is 3.0000000000000004 in floating point, and 3 are meant
        k = min(len(ranked) // 2, math.ceil(round(self._quantile * len(ranked), 9)))
        bottom = {r.trial.number for r in ranked[len(ranked) - k :]} if k else set()
        top = [r.trial for r in ranked[:k]]
        donors = [t for t in top if t.state == TrialState.PAUSED and (t.last_step or 0) < self._max]
        losers = [(slot, t) for slot, t in ready if t.number in bottom]
        if losers and donors:
            return self._exploit(view, *losers[0], donors)
        waiting = any(t.state == TrialState.RUNNING for t in top)  # its checkpoint is coming
        for _, t in ready:
            if t.number not in bottom or not waiting:
                budget = min(step + self._interval, self._max)
                return Job(budget=budget, resume=t.number, final=budget >= self._max)
        return None

    def _exploit(
        self, view: StudyView, slot: int, loser: FrozenTrial, donors: list[FrozenTrial]
    ) -> Job:
        """A new trial in the loser's slot: a donor's checkpoint and perturbed parameters."""
        rng = np.random.default_rng([view.seed, _TAG, len(view.trials)])
        donor = donors[int(rng.integers(len(donors)))]
        params = explore(donor.params, donor.distributions, rng, self._resample, self._factors)
        step = donor.last_step or 0
        budget = min(step + self._interval, self._max)
        attrs = {
            SLOT_KEY: slot,
            GENERATION_KEY: _generation(loser) + 1,
            PARENT_KEY: donor.number,
            ORIGIN_KEY: step,
            START_STEP_KEY: step,
        }
        return Job(
            budget=budget,
            attrs=attrs,
            params=params,
            checkpoint_from=donor.number,
            final=budget >= self._max,
        )

    # -- reports ----------------------------------------------------------------------------
    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """PAUSE at the end of a segment. STOP a trial that is not its slot's current one
        (another worker replaced it meanwhile, or made a copy for it first), and a copy whose
        donor moved on before its first report: a worker that had not seen the copy resumed
        the donor, which may have overwritten (or, finishing, deleted) the checkpoint before
        it was copied. A stopped copy is withdrawn: its member is replaced again."""
        if SLOT_KEY not in trial.system_attrs:
            return Decision.CONTINUE  # not one of this scheduler's trials
        if all(t.number != trial.number for t in current_members(view.trials).values()):
            return Decision.STOP
        parent = trial.system_attrs.get(PARENT_KEY)
        if parent is not None and len(trial.intermediate_values) == 1:
            donor = view.trials[int(parent)]
            moved = donor.state != TrialState.PAUSED or donor.last_step != _origin(trial)
            if moved:
                return Decision.STOP
        return pause_at_budget(trial, step, self._max)


def _number(item: tuple[int, FrozenTrial]) -> int:
    return item[1].number


# -- explore ---------------------------------------------------------------------------------
def explore(
    params: Mapping[str, Any],
    distributions: Mapping[str, Distribution],
    rng: np.random.Generator,
    resample_probability: float,
    factors: Sequence[float],
) -> dict[str, Any]:
    """PBT's explore step (Jaderberg et al. 2017, Sec. 4.1, "perturb" and "resample"): each
    parameter drawn anew with ``resample_probability``, else a number multiplied by a factor
    drawn from ``factors`` (clipped to its bounds, snapped to its grid), a categorical moved to
    a neighbouring choice with probability 0.5. Parameters in name order, so the draws are
    reproducible.

    Example:
        >>> import numpy as np
        >>> from hyperscout.space import Float
        >>> out = explore({"lr": 0.1}, {"lr": Float(1e-3, 1.0)}, np.random.default_rng(0), 0.0,
        ...               (0.5,))
        >>> out
        {'lr': 0.05}
    """
    out: dict[str, Any] = {}
    for name in sorted(params):
        dist, value = distributions[name], params[name]
        if dist.single():
            out[name] = value
        elif rng.random() < resample_probability:
            out[name] = sample_uniform({name: dist}, rng)[name]
        elif isinstance(dist, Categorical):
            out[name] = _neighbour(dist, value, rng)
        else:
            factor = factors[int(rng.integers(len(factors)))]
            out[name] = _perturbed(dist, value, factor)
    return out


def _neighbour(dist: Categorical, value: Any, rng: np.random.Generator) -> Any:
    if rng.random() >= 0.5:
        return value
    i = dist.index(value)
    if i == 0:
        j = 1
    elif i == len(dist.choices) - 1:
        j = i - 1
    else:
        j = i + (1 if rng.random() < 0.5 else -1)
    return dist.choices[j]


def _perturbed(dist: Float | Int, value: float, factor: float) -> float | int:
    """``value * factor`` in ``dist``: clipped, on its grid, at least one grid step away when
    the product rounds back to ``value``."""
    target = min(max(value * factor, dist.low), dist.high)
    step = dist.step
    if step is None:  # a continuous float
        return float(target)
    k = round((target - dist.low) / step)
    if k == round((value - dist.low) / step) and target != value:
        k += 1 if target > value else -1
    n = round((dist.high - dist.low) / step)
    snapped = dist.low + min(max(k, 0), n) * step
    if isinstance(dist, Int):
        return int(snapped)
    return float(min(snapped, dist.high))


def _is_real(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)


def _check_factors(factors: Any) -> tuple[float, ...]:
    ok = isinstance(factors, Sequence) and not isinstance(factors, str) and len(factors) > 0
    if not ok or not all(_is_real(f) and f > 0 for f in factors):
        raise InvalidArgumentError(
            "`perturb_factors` must be a non-empty sequence of numbers > 0 (the paper's is "
            f"(0.8, 1.2)), got perturb_factors={factors!r}"
        )
    return tuple(float(f) for f in factors)

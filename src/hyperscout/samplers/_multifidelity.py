"""Model-based sampling under a multi-fidelity scheduler: fit the model on the largest budget
that has enough observations (the idea of BOHB).

Under ASHA or Hyperband few trials reach the full budget, so a sampler that learns only from
COMPLETE trials stays random for most of the run, and the PAUSED trials of the lower rungs look
like pending work to it. BOHB (Falkner et al., "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018, Sec. 3.1 and Algorithm 2) fits its TPE-like model on the
observations of the largest budget ``b`` that has at least ``N_min`` of them. This sampler does
that for any base sampler: it hands the base a view of the study in which

* every trial that reached budget ``b`` is COMPLETE with its value at ``b`` (the report at the
  first step >= ``b``, as the schedulers rank rungs);
* every other trial whose run ended (PAUSED, PRUNED, or COMPLETE below ``b``) is PRUNED: it
  lost at a lower budget, which TPE counts in its bad group and GP ignores;
* RUNNING and WAITING trials stay as they are (pending work, for the constant liar).

``b`` is taken among the budgets the scheduler gave the trials (``trial.budget``). Without
budgets (FIFO), the view is passed through unchanged, so this sampler behaves as its base.
The transformed snapshots are cached by the identity of the originals, so the base sampler's
own caches keep working.

With ``base="tpe"`` and :class:`~hyperscout.HyperbandScheduler` this is BOHB; with
:class:`~hyperscout.ASHAScheduler` it is the asynchronous variant Syne Tune and Ray Tune ship
as "BOHB" too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.samplers._base import Sampler, StudyView, check_int
from hyperscout.schedulers._rungs import budget_of, rung_value
from hyperscout.space import Distribution

__all__ = ["MultiFidelitySampler"]

_ENDED = (TrialState.PAUSED, TrialState.PRUNED, TrialState.COMPLETE)


class MultiFidelitySampler:
    """A base sampler fitted on the largest budget with at least ``min_points`` observations.

    Args:
        base: the sampler that proposes (a registry name or a Sampler); "tpe" gives BOHB.
        min_points: observations a budget needs to be modelled (BOHB's ``N_min``); below it
            for every budget, the lowest budget is used and the base sampler's own startup
            (random for TPE's first 10) applies.

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(
        ...     sampler=hs.MultiFidelitySampler("tpe"),
        ...     scheduler=hs.HyperbandScheduler(max_budget=27),  # BOHB
        ... )
    """

    def __init__(self, base: str | Sampler = "tpe", *, min_points: int = 10) -> None:
        from hyperscout.samplers import make_sampler

        self._base = make_sampler(base)
        self._min_points = check_int("min_points", min_points, 1)
        self._init_cache()

    def _init_cache(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[FrozenTrial, int, FrozenTrial]] = {}
        self._last: tuple[StudyView, StudyView] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_cache", "_last")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_cache()

    def __repr__(self) -> str:
        return f"MultiFidelitySampler(base={self._base!r}, min_points={self._min_points})"

    @property
    def base(self) -> Sampler:
        """The sampler that proposes."""
        return self._base

    def check_exhausted(self, view: StudyView) -> None:
        """Delegates to the base sampler's hook (grid search), if it has one."""
        hook = getattr(self._base, "check_exhausted", None)
        if hook is not None:
            hook(self.view_at_budget(view))

    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The base sampler's joint space on the budget view."""
        return self._base.joint_space(self.view_at_budget(view))

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """The base sampler's suggestion on the budget view."""
        return self._base.suggest(self.view_at_budget(view), space, rng)

    def modelled_budget(self, view: StudyView) -> int | None:
        """The budget the model is fitted on (None: no budgets, the view passes through)."""
        budgets: set[int] = set()
        reach: list[int] = []
        for t in view.trials:
            if t.state not in _ENDED:
                continue
            own = budget_of(t)
            if own is not None:
                budgets.add(own)
            steps = t.intermediate_values
            top = max(steps) if steps else 0
            if own is not None and steps and t.state != TrialState.PRUNED:
                top = max(top, own)  # ran out its budget without reporting there
            reach.append(top)
        if not budgets:
            return None
        reach.sort()
        ordered = sorted(budgets)
        for b in reversed(ordered):
            # trials that got to b: reach >= b (bisect on the sorted reaches)
            if len(reach) - int(np.searchsorted(reach, b, side="left")) >= self._min_points:
                return b
        return ordered[0]

    def view_at_budget(self, view: StudyView) -> StudyView:
        """The view the base sampler sees (see the module docstring)."""
        with self._lock:
            last = self._last
            if last is not None and last[0] is view:
                return last[1]
        budget = None if view.n_objectives != 1 else self.modelled_budget(view)
        if budget is None:
            return view  # no budgets (FIFO), or several objectives: as the base sees it
        trials = [self._at(t, budget) for t in view.trials]
        out = StudyView(trials, view.directions, view.seed, view.current)
        with self._lock:
            self._last = (view, out)
        return out

    def _at(self, trial: FrozenTrial, budget: int) -> FrozenTrial:
        if trial.state not in _ENDED:
            return trial  # RUNNING, WAITING (pending) and FAILED as they are
        with self._lock:
            hit = self._cache.get(trial.number)
            if hit is not None and hit[0] is trial and hit[1] == budget:
                return hit[2]
        value = rung_value(trial, budget)
        if value is None:
            out = dataclasses.replace(trial, state=TrialState.PRUNED, values=None)
        else:
            out = dataclasses.replace(trial, state=TrialState.COMPLETE, values=(value,))
        with self._lock:
            self._cache[trial.number] = (trial, budget, out)
        return out

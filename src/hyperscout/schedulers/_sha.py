"""Synchronous successive halving and Hyperband.

Successive halving (Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and
Hyperparameter Optimization", AISTATS 2016; Karnin et al. 2013): a bracket starts ``n`` trials
at the smallest budget; once *every* one of them has reached the rung, the best ``n / eta`` are
resumed up to the next rung's budget, and so on up to ``max_budget``. Hyperband (Li et al.,
"Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018,
Algorithm 1) cycles through brackets that trade the number of trials against their starting
budget: bracket ``s`` starts ``ceil((s_max + 1) / (s + 1) * eta**s)`` trials at
``max_budget * eta**-s``.

While a bracket waits for its rung to fill, free workers start the next bracket (as BOHB's
parallel scheme does) instead of idling; within a bracket the promotions stay synchronous.
Trials are paused at their rung budget and resumed when promoted. Brackets are numbered in the
trials' system attributes; everything else is read from the trials, so the schedule survives
restarts and is shared by workers.
"""

from __future__ import annotations

import math

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.schedulers._base import WAIT, Decision, Job, Wait, check_budgets
from hyperscout.schedulers._rungs import BRACKET_KEY, budget_of, ranked, rung_budgets

__all__ = ["HyperbandScheduler", "SuccessiveHalvingScheduler", "pause_at_budget"]

_BLOCKED, _DONE = "blocked", "done"


def pause_at_budget(trial: FrozenTrial, step: int, max_budget: int) -> Decision:
    """PAUSE a trial that reached its budget below ``max_budget``, else CONTINUE."""
    budget = budget_of(trial)
    if budget is not None and budget < max_budget and step >= budget:
        return Decision.PAUSE
    return Decision.CONTINUE


class _SyncBrackets:
    """Synchronous brackets of given (first rung, size) types, cycled in order."""

    def __init__(self, min_budget: int, max_budget: int, eta: float) -> None:
        self._min, self._max, self._eta = check_budgets(min_budget, max_budget, eta)
        self._rungs = rung_budgets(self._min, self._max, self._eta)
        self._types: list[tuple[int, int]] = []
        self._done: dict[int, int] = {}  # cache: finished bracket -> its size then

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_done"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._done = {}

    @property
    def rungs(self) -> list[int]:
        """The rung budgets."""
        return list(self._rungs)

    @property
    def brackets(self) -> list[tuple[int, int]]:
        """``(first budget, trials started)`` of each bracket type, in the order they run."""
        return [(self._rungs[b], n) for b, n in self._types]

    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """A promotion in the oldest bracket that has one, else a new trial for the first
        bracket that is not full, else WAIT (a rung is still running) or None."""
        groups: dict[int, list[FrozenTrial]] = {}
        for t in view.trials:
            c = t.system_attrs.get(BRACKET_KEY)
            if c is not None:
                groups.setdefault(int(c), []).append(t)
        blocked = False
        for c in sorted(groups):
            first, size = self._types[c % len(self._types)]
            members = groups[c]
            if self._done.get(c) == len(members):
                continue  # finished brackets stay finished while no trial joins them
            rungs = self._rungs[first:]
            if len(members) < size:
                if new_allowed:
                    return self._new(c)
                size = len(members)  # no new trials: the bracket goes on with what it has
            state = self._advance(view, members, rungs, size)
            if isinstance(state, Job):
                return state
            if state == _DONE:
                self._done[c] = len(members)
            blocked = blocked or state == _BLOCKED
        if new_allowed:
            return self._new(max(groups) + 1 if groups else 0)
        return WAIT if blocked else None

    def _new(self, bracket: int) -> Job:
        budget = self._rungs[self._types[bracket % len(self._types)][0]]
        return Job(budget=budget, attrs={BRACKET_KEY: bracket}, final=budget >= self._max)

    def _advance(
        self, view: StudyView, members: list[FrozenTrial], rungs: list[int], size: int
    ) -> Job | str:
        n = size
        for k in range(len(rungs) - 1):
            at_k = [t for t in members if (budget_of(t) or 0) >= rungs[k]]
            if any(t.state == TrialState.RUNNING and budget_of(t) == rungs[k] for t in at_k):
                return _BLOCKED
            n = max(1, int(n / self._eta))  # at least one trial reaches max_budget
            for t in ranked(view, at_k, rungs[k])[:n]:
                if t.state == TrialState.PAUSED and budget_of(t) == rungs[k]:
                    budget = rungs[k + 1]
                    return Job(budget=budget, resume=t.number, final=budget >= self._max)
        if any(t.state == TrialState.RUNNING for t in members):
            return _BLOCKED
        return _DONE

    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """PAUSE at the trial's rung budget (it waits there for the rung to fill)."""
        return pause_at_budget(trial, step, self._max)


class SuccessiveHalvingScheduler(_SyncBrackets):
    """Synchronous successive halving: brackets of ``bracket_size`` trials, the best
    ``1/eta`` of a full rung promoted (resumed) to the next rung.

    Args:
        max_budget: the full budget (e.g. epochs).
        min_budget: the first rung's budget.
        eta: reduction factor; rungs are ``min_budget * eta**k`` up to ``max_budget``.
        bracket_size: trials a bracket starts with; default ``eta ** (rungs - 1)``, so that
            one trial reaches ``max_budget``.
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
        bracket_size: int | None = None,
    ) -> None:
        super().__init__(min_budget, max_budget, eta)
        default = math.ceil(self._eta ** (len(self._rungs) - 1))
        size = default if bracket_size is None else check_int("bracket_size", bracket_size, 1)
        self._types = [(0, size)]

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingScheduler(max_budget={self._max}, min_budget={self._min}, "
            f"eta={self._eta:g}, bracket_size={self._types[0][1]})"
        )


class HyperbandScheduler(_SyncBrackets):
    """Hyperband: successive-halving brackets from the most aggressive (many trials at
    ``min_budget``) to plain random search (few trials at ``max_budget``), cycled.

    Args:
        max_budget: the full budget (e.g. epochs).
        min_budget: the smallest budget a trial starts with.
        eta: reduction factor (3 in the paper).

    The asynchronous variant is :class:`~hyperscout.AsyncHyperbandScheduler`.

    Example:
        >>> import hyperscout as hs
        >>> hs.HyperbandScheduler(max_budget=27).brackets
        [(1, 27), (3, 12), (9, 6), (27, 4)]
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
    ) -> None:
        super().__init__(min_budget, max_budget, eta)
        s_max = len(self._rungs) - 1
        self._types = [
            (s_max - s, math.ceil((s_max + 1) / (s + 1) * self._eta**s))
            for s in range(s_max, -1, -1)
        ]

    def __repr__(self) -> str:
        return (
            f"HyperbandScheduler(max_budget={self._max}, min_budget={self._min}, eta={self._eta:g})"
        )

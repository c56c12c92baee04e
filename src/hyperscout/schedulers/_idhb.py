"""Iterative deepening Hyperband: Hyperband whose maximum budget grows by ``eta`` per iteration.

Brandt, Wever, Iliadis, Bengs & Hüllermeier, "Iterative Deepening Hyperband" (2023,
arXiv 2302.00511). Hyperband with a maximum budget ``R`` that turns out too small has to be
re-run from scratch at ``eta * R``. ID-HB instead keeps what it ran: Hyperband at ``eta * R``
has the brackets of Hyperband at ``R``, each starting at the same budget with one more rung on
top (bracket ``s`` becomes ``s + 1``), plus one new bracket that starts at ``eta * R``
(``s = 0``). Iteration ``k + 1`` therefore

* tops every old bracket up to Hyperband's size for the new maximum,
  ``ceil((s_max + 1) / (s + 1) * eta**s)`` (Li et al. 2018, Algorithm 1), with new trials at
  the bracket's first budget,
* runs successive halving again in each bracket with the *efficient* rule (eID-HB;
  ``EfficientSuccessiveHalving`` in the authors' code, github.com/mwever/
  incremental-successive-halving, ``idhb.py``): a trial promoted to a rung in an earlier
  iteration keeps its place there, and only the places the larger bracket adds go to the best
  of the others; the old top rung's best ``1/eta`` are resumed up to the new maximum. (The
  preserving variant re-ranks each rung instead, so an earlier promotion that new trials beat
  was run for nothing and the bracket outgrows Hyperband's shape.)
* and starts the new bracket at the new maximum.

Nothing is run twice: promoted trials are PAUSED trials resumed from their checkpoints, and
every bracket has exactly the shape of Hyperband's at the new maximum. Iterations run one after
the other (the next starts once every bracket of the current one is done); within an iteration
promotions are synchronous per rung and free workers fill the next bracket, as in
:class:`~hyperscout.HyperbandScheduler`.

A trial's bracket and the iteration of its latest run are kept in its system attributes; the
rest is read from intermediate values. So the scheduler is stateless, and a study loaded with a
scheduler that allows more ``iterations`` deepens the brackets it already has. (Not one with a
larger ``max_budget``: trials that reached the old one are COMPLETE and cannot be resumed, so
give ``max_budget`` generously and limit the depth with ``iterations``.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.schedulers._base import WAIT, Decision, Job, Wait, check_budgets
from hyperscout.schedulers._rungs import BRACKET_KEY, budget_of, ranked, rung_budgets
from hyperscout.schedulers._sha import HyperbandScheduler, pause_at_budget

__all__ = ["ITERATION_KEY", "IterativeDeepeningHyperbandScheduler"]

#: System attribute: the iteration of the trial's latest run (0 for the first).
ITERATION_KEY: Final = "iteration"

_BLOCKED, _DONE = "blocked", "done"


class IterativeDeepeningHyperbandScheduler:
    """Iterative deepening Hyperband (ID-HB, efficient variant): Hyperband at ``start_budget``,
    then at ``eta`` times that, ... up to ``max_budget``, reusing every earlier bracket.

    Args:
        max_budget: the largest budget any iteration may reach (e.g. epochs); a trial ends
            COMPLETE only there, and PAUSED (resumable by a later iteration) below it.
        min_budget: the smallest budget a trial starts with; rungs are ``min_budget * eta**k``
            up to ``max_budget``.
        eta: reduction factor (3 in the paper).
        start_budget: the first iteration's maximum budget, one of the rungs; default
            ``min_budget * eta`` (or ``max_budget`` when that is smaller).
        iterations: how many iterations to run; default: until ``max_budget`` is reached.
            Iteration ``k`` has the maximum ``min(start_budget * eta**k, max_budget)``.

    Example:
        >>> idhb = IterativeDeepeningHyperbandScheduler(max_budget=9)
        >>> idhb.iteration_budgets
        [3, 9]
        >>> idhb.brackets(0), idhb.brackets(1)
        ([(1, 3), (3, 2)], [(1, 9), (3, 5), (9, 3)])
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
        start_budget: int | None = None,
        iterations: int | None = None,
    ) -> None:
        self._min, self._max, self._eta = check_budgets(min_budget, max_budget, eta)
        self._rungs = rung_budgets(self._min, self._max, self._eta)
        if start_budget is None:
            self._first = min(1, len(self._rungs) - 1)
        else:
            start = check_int("start_budget", start_budget, 1, or_none=True)
            if start not in self._rungs:
                raise InvalidArgumentError(
                    f"`start_budget` must be one of the rung budgets {self._rungs} "
                    f"(min_budget * eta**k up to max_budget), got start_budget={start}"
                )
            self._first = self._rungs.index(start)
        most = len(self._rungs) - self._first
        if iterations is None:
            self._iterations = most
        else:
            self._iterations = check_int("iterations", iterations, 1, or_none=True)
            if self._iterations > most:
                raise InvalidArgumentError(
                    f"`iterations` must be <= {most} (from start_budget="
                    f"{self._rungs[self._first]} the maximum reaches max_budget={self._max} "
                    f"in {most}), got iterations={self._iterations}"
                )
        # bracket sizes of iteration k: Hyperband's at that iteration's maximum, bracket j
        # starting at rung j
        self._sizes = [
            [n for _, n in HyperbandScheduler(budget, min_budget=self._min, eta=self._eta).brackets]
            for budget in self.iteration_budgets
        ]

    def __repr__(self) -> str:
        return (
            f"IterativeDeepeningHyperbandScheduler(max_budget={self._max}, "
            f"min_budget={self._min}, eta={self._eta:g}, "
            f"start_budget={self._rungs[self._first]}, iterations={self._iterations})"
        )

    @property
    def rungs(self) -> list[int]:
        """The rung budgets of the last iteration (earlier ones use a prefix)."""
        return self._rungs[: self._first + self._iterations]

    @property
    def iteration_budgets(self) -> list[int]:
        """The maximum budget of each iteration."""
        return self._rungs[self._first : self._first + self._iterations]

    def brackets(self, iteration: int) -> list[tuple[int, int]]:
        """``(first budget, trials)`` of each bracket of ``iteration``: Hyperband's brackets
        for that iteration's maximum budget, from the most exploratory one."""
        k = check_int("iteration", iteration, 0)
        if k >= self._iterations:
            raise InvalidArgumentError(
                f"`iteration` must be < {self._iterations}, got iteration={k}"
            )
        return [(self._rungs[j], n) for j, n in enumerate(self._sizes[k])]

    # -- jobs -------------------------------------------------------------------------------
    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """The next job of the current iteration: a promotion in the first bracket that has
        one, else a new trial for the first bracket that is not full; once every bracket of the
        iteration is done, the same for the next iteration; WAIT while a rung is running,
        None after the last iteration."""
        groups: dict[int, list[FrozenTrial]] = {}
        current = 0
        for t in view.trials:
            bracket = t.system_attrs.get(BRACKET_KEY)
            if bracket is not None:
                groups.setdefault(int(bracket), []).append(t)
                current = max(current, int(t.system_attrs.get(ITERATION_KEY, 0)))
        for k in range(current, self._iterations):
            got = self._iteration_job(view, groups, k, new_allowed)
            if isinstance(got, Job):
                return replace(got, attrs={**got.attrs, ITERATION_KEY: k})
            if got == _BLOCKED:
                return WAIT
        return None

    def _iteration_job(
        self, view: StudyView, groups: dict[int, list[FrozenTrial]], k: int, new_allowed: bool
    ) -> Job | str:
        top = self._first + k
        blocked = False
        for j, size in enumerate(self._sizes[k]):
            members = groups.get(j, [])
            if len(members) < size:
                if new_allowed:
                    budget = self._rungs[j]
                    return Job(budget=budget, attrs={BRACKET_KEY: j}, final=budget >= self._max)
                size = len(members)  # no new trials: the bracket goes on with what it has
            state = self._advance(view, members, self._rungs[j : top + 1], size)
            if isinstance(state, Job):
                return state
            blocked = blocked or state == _BLOCKED
        return _BLOCKED if blocked else _DONE

    def _advance(
        self, view: StudyView, members: list[FrozenTrial], rungs: list[int], size: int
    ) -> Job | str:
        """Successive halving over ``rungs`` for a bracket of ``size`` trials, the efficient
        way: trials already past a rung keep their places at the next one."""
        n = size
        for i in range(len(rungs) - 1):
            at_i = [t for t in members if (budget_of(t) or 0) >= rungs[i]]
            if any(t.state == TrialState.RUNNING and budget_of(t) == rungs[i] for t in at_i):
                return _BLOCKED
            n = max(1, int(n / self._eta))  # at least one trial reaches the top rung
            ahead = sum((budget_of(t) or 0) >= rungs[i + 1] for t in at_i)
            rest = [t for t in at_i if (budget_of(t) or 0) < rungs[i + 1]]
            for t in ranked(view, rest, rungs[i])[: max(0, n - ahead)]:
                if t.state == TrialState.PAUSED and budget_of(t) == rungs[i]:
                    budget = rungs[i + 1]
                    return Job(budget=budget, resume=t.number, final=budget >= self._max)
        if any(t.state == TrialState.RUNNING for t in members):
            return _BLOCKED
        return _DONE

    # -- reports ----------------------------------------------------------------------------
    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """PAUSE at the trial's rung budget below ``max_budget`` (it waits there for the rung
        to fill, or for the next iteration)."""
        return pause_at_budget(trial, step, self._max)

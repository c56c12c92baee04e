"""ASHA and asynchronous Hyperband: successive halving without waiting for a rung to fill.

Li et al., "A System for Massively Parallel Hyperparameter Tuning" (MLSys 2020), Algorithm 2:
whenever a worker is free, promote a trial that is in the top ``1/eta`` of its rung and has not
been promoted yet (looking from the highest rung down); if there is none, start a new trial at
the lowest rung. Two variants:

* ``mode="promotion"`` (the paper's): a trial runs up to its rung's budget and is PAUSED; a
  promotion resumes it, from its checkpoint, up to the next rung. No work is thrown away and no
  trial goes past a rung it has not earned.
* ``mode="stopping"`` (as in Syne Tune and Ray Tune): every trial gets the maximum budget and
  is stopped at a rung when its value is not in the top ``1/eta`` of the values recorded there
  so far (itself included).

Asynchronous Hyperband (same paper, Sec. 3.3) runs several ASHA brackets with different minimum
budgets; each new trial joins a bracket drawn with the weights Hyperband gives its brackets
(``brackets`` > 1).

The scheduler is stateless: a trial's bracket is kept in its system attributes and rungs are
read from intermediate values, so a resumed study, or several workers, make the same decisions.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.schedulers._base import WAIT, Decision, Job, Wait, check_budgets, signed
from hyperscout.schedulers._rungs import BRACKET_KEY, RungIndex, budget_of, rung_budgets

__all__ = ["ASHAScheduler", "AsyncHyperbandScheduler"]

_MODES = ("promotion", "stopping")
_BRACKET_TAG = 0x617368  # "ash": keeps the bracket draws apart from other uses of the seed


class ASHAScheduler:
    """Asynchronous successive halving (ASHA), with promotion (pause/resume) or stopping.

    Args:
        max_budget: the full budget (e.g. epochs) a trial may reach.
        min_budget: the first rung's budget.
        eta: reduction factor: the top ``1/eta`` of a rung go on; rungs are
            ``min_budget * eta**k`` up to ``max_budget``.
        mode: "promotion" (pause at each rung, resume when promoted; needs checkpoints to save
            work) or "stopping" (run to ``max_budget`` unless stopped at a rung).
        brackets: 1 for ASHA; more for asynchronous Hyperband (bracket ``b`` starts at rung
            ``b``), at most the number of rungs.

    Example:
        >>> import hyperscout as hs
        >>> def objective(trial):
        ...     lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        ...     loss = 1.0
        ...     for epoch in trial.steps():
        ...         loss = abs(lr - 0.1) + 1.0 / epoch
        ...         trial.report(epoch, loss)
        ...     return loss
        >>> study = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9), seed=0)
        >>> study.optimize(objective, n_trials=9)
        >>> len(study.get_trials([hs.TrialState.COMPLETE])) >= 1
        True
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
        mode: str = "promotion",
        brackets: int = 1,
    ) -> None:
        self._min, self._max, self._eta = check_budgets(min_budget, max_budget, eta)
        if mode not in _MODES:
            raise InvalidArgumentError(f"`mode` must be one of {_MODES}, got mode={mode!r}")
        self._mode = mode
        self._rungs = rung_budgets(self._min, self._max, self._eta)
        n = check_int("brackets", brackets, 1)
        if n > len(self._rungs):
            raise InvalidArgumentError(
                f"`brackets` must be <= the number of rungs ({len(self._rungs)}: "
                f"{self._rungs}), got brackets={n}"
            )
        self._brackets = n
        # Hyperband's trial counts per bracket (Li et al. 2018, Algorithm 1), as draw weights
        s_max = len(self._rungs) - 1
        weights = [
            math.ceil((s_max + 1) / (s_max - b + 1) * self._eta ** (s_max - b)) for b in range(n)
        ]
        self._weights = np.array(weights, dtype=float) / sum(weights)
        self._index = RungIndex(self._group_rungs)

    def _group_rungs(self, trial: FrozenTrial) -> tuple[int, list[int]] | None:
        bracket = trial.system_attrs.get(BRACKET_KEY)
        if bracket is None:
            return None
        return int(bracket), self._rungs[int(bracket) : -1]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_index"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index = RungIndex(self._group_rungs)

    def __repr__(self) -> str:
        return (
            f"ASHAScheduler(max_budget={self._max}, min_budget={self._min}, eta={self._eta:g}, "
            f"mode={self._mode!r}, brackets={self._brackets})"
        )

    @property
    def rungs(self) -> list[int]:
        """The rung budgets."""
        return list(self._rungs)

    # -- jobs -------------------------------------------------------------------------------
    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """A promotion if one is due (promotion mode), else a new trial, else WAIT or None."""
        with self._index.update(view):
            job = self._promotion() if self._mode == "promotion" else None
            owned = self._index.n_owned
        if job is not None:
            return job
        if new_allowed:
            bracket = self._draw_bracket(view.seed, owned)
            budget = self._max if self._mode == "stopping" else self._rungs[bracket]
            return Job(budget=budget, attrs={BRACKET_KEY: bracket}, final=budget >= self._max)
        if self._mode == "promotion" and any(
            t.state == TrialState.RUNNING and BRACKET_KEY in t.system_attrs for t in view.trials
        ):
            return WAIT  # a running trial may yet earn a promotion for someone
        return None

    def _draw_bracket(self, seed: int, index: int) -> int:
        if self._brackets == 1:
            return 0
        rng = np.random.default_rng([seed, _BRACKET_TAG, index])
        return int(rng.choice(self._brackets, p=self._weights))

    def _promotion(self) -> Job | None:
        """The best PAUSED trial in the top ``1/eta`` of its rung, highest rung first (index
        lock held)."""
        for bracket in range(self._brackets):
            rungs = self._rungs[bracket:]
            for k in range(len(rungs) - 2, -1, -1):
                cell = (bracket, rungs[k])
                waiting = self._index.paused.get(cell)
                if not waiting:
                    continue
                reached = self._index.reached[cell]
                if bisect.bisect_left(reached, waiting[0]) < int(len(reached) / self._eta):
                    budget = rungs[k + 1]
                    return Job(budget=budget, resume=waiting[0][1], final=budget >= self._max)
        return None

    # -- reports ----------------------------------------------------------------------------
    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """Promotion: PAUSE at the trial's rung budget. Stopping: STOP at a rung when the value
        is not in the top ``1/eta`` recorded there."""
        budget = budget_of(trial)
        if budget is None or BRACKET_KEY not in trial.system_attrs:
            return Decision.CONTINUE  # not one of this scheduler's trials
        if self._mode == "promotion":
            return Decision.PAUSE if budget < self._max and step >= budget else Decision.CONTINUE
        bracket = int(trial.system_attrs[BRACKET_KEY])
        earlier = [s for s in trial.intermediate_values if s < step]
        for rung in self._rungs[bracket:-1]:
            if step < rung or any(s >= rung for s in earlier):
                continue  # not at this rung yet, or judged there at an earlier report
            if not self._in_top(view, trial, bracket, rung, value):
                return Decision.STOP
        return Decision.CONTINUE

    def _in_top(
        self, view: StudyView, trial: FrozenTrial, bracket: int, rung: int, value: float
    ) -> bool:
        mine = (signed(view, value), trial.number)
        with self._index.update(view):
            reached = self._index.reached.get((bracket, rung), [])
            i = bisect.bisect_left(reached, mine)
            own = i < len(reached) and reached[i] == mine
            n = len(reached) + (0 if own else 1)
            better = bisect.bisect_left(reached, (mine[0], -1))
        return better < max(1, math.ceil(n / self._eta))


class AsyncHyperbandScheduler(ASHAScheduler):
    """Asynchronous Hyperband (Li et al. 2020, Sec. 3.3): one ASHA bracket per rung, bracket
    ``b`` starting at rung ``b``; each new trial joins a bracket drawn with Hyperband's weights.

    Args:
        max_budget, min_budget, eta, mode: as for :class:`ASHAScheduler`.
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
        mode: str = "promotion",
    ) -> None:
        lo, hi, e = check_budgets(min_budget, max_budget, eta)
        n = len(rung_budgets(lo, hi, e))
        super().__init__(max_budget, min_budget=min_budget, eta=eta, mode=mode, brackets=n)

    def __repr__(self) -> str:
        return (
            f"AsyncHyperbandScheduler(max_budget={self._max}, min_budget={self._min}, "
            f"eta={self._eta:g}, mode={self._mode!r})"
        )

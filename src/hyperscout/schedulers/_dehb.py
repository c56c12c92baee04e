"""DEHB: differential evolution on Hyperband's budgets, one subpopulation per budget.

Awad, Mallik & Hutter, "DEHB: Evolutionary Hyperband for Scalable, Robust and Efficient
Hyperparameter Optimization" (IJCAI 2021), Algorithm 1 and Sec. 4, with the details of the
authors' ``dehb`` package (its parallel scheme):

* **Brackets** are Hyperband's (Li et al., JMLR 2018, Algorithm 1), cycled from the most
  aggressive (``ceil((s_max + 1) / (s + 1) * eta**s)`` runs at ``min_budget``) to ``max_budget``
  alone. Within a bracket a rung's runs start once every run of the rung below has finished
  (synchronous successive halving); a worker that finds nothing to run in the open brackets opens
  the next one, so a new trial never waits for a rung to fill.
* **Subpopulations.** Budget ``b`` keeps ``pop(b)`` slots, the most runs any bracket makes at
  ``b``. Runs at ``b`` take the slots in turn (the package's parent counter); a slot's member is
  its best run so far: a trial vector replaces its target when at least as good (DE selection),
  as soon as it reports at ``b`` (the package's ``async_strategy="immediate"``).
* **The first Hyperband iteration** (brackets ``0 .. s_max``) is vanilla Hyperband: bracket 0
  evaluates uniform random points of the unit cube; a rung above a bracket's first promotes the
  best members of the budget below that have not gone up yet.
* **Every later run evaluates a trial vector** (Sec. 4.2): target = the slot's member (an empty
  slot's own uniform initial point); mutant = DE/rand/1 ``x_r1 + F (x_r2 - x_r3)`` from the
  parent pool, the top ``n_i`` members of the budget below (``n_i``: the bracket's runs at ``b``;
  a bracket's first rung draws from its own budget), with rand/1 mutants of the global population
  (every subpopulation) added while the pool holds fewer than three; binomial crossover with rate
  ``CR``; coordinates outside [0, 1] redrawn uniformly (the package's default boundary fix).

**Our seam.** Configurations live in the unit cube of the space (``Distribution.to_unit`` and
``decode``; a categorical by equal bins) and reach the objective as fixed parameters
(``Job.params``); the sampler is not asked. The space is ``space`` when given, else the
multi-valued parameters of the lowest-numbered trial of this scheduler that has reported; trials
started before any has (the very first, or a few with parallel workers) are drawn by the study's
sampler and join the population with their parameters encoded.

**Differences from the package.** A promotion of the first iteration resumes the PAUSED trial from
its checkpoint (the package retrains the configuration from scratch), so it costs only the
budget difference and does not count against ``n_trials``; a trial vector is a new configuration,
a new trial trained from scratch at its budget. A run below ``max_budget`` ends PAUSED, never
COMPLETE, so ``best_trial`` only compares ``max_budget`` results. Bracket sizes are Hyperband's
(the package uses ``floor((s_max + 1) / (s + 1)) * eta**s``). Once ``n_trials`` is spent, brackets
of the first iteration go on with what they have (promotions need no new trial); later brackets
stop.

**Stateless.** A trial's runs ``(bracket, rung, index, slot)`` and proposed point are kept in its
system attributes; values are read from intermediate values (the first report at or past a rung's
budget). Every draw comes from ``default_rng([seed, tag, bracket, rung, index])``, so a restarted
study, or another worker, makes the same decisions. Two workers asking at the same instant may
both start the same new run (the storage offers no compare-and-set for new trials); resumptions
are claimed atomically.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView
from hyperscout.schedulers._base import WAIT, Decision, Job, Wait, check_budgets, signed
from hyperscout.schedulers._rungs import (
    BRACKET_KEY,
    TrialIndex,
    budget_of,
    rung_budgets,
    rung_value,
)
from hyperscout.schedulers._sha import pause_at_budget
from hyperscout.space import Distribution, validate_space

__all__ = [
    "RUNS_KEY",
    "VECTOR_KEY",
    "DEHBScheduler",
    "binomial_crossover",
    "rand1",
    "repair",
]

#: System attributes of a DEHB trial: its runs ``[bracket, rung, index, slot]``, oldest first, and
#: the unit-cube point ``{parameter: coordinate}`` the scheduler proposed (absent: sampler-drawn).
RUNS_KEY: Final = "dehb_runs"
VECTOR_KEY: Final = "dehb_x"

_TAG = 0x64656862  # "dehb": the draws of run (bracket, rung, index)
_INIT_TAG = 0x64696E69  # "dini": the initial point of slot (rung, slot)
_MIN_POOL = 3  # rand/1 draws three distinct parents
_BLOCKED, _DONE, _CUT = "blocked", "done", "cut"
_LIVE = (TrialState.RUNNING, TrialState.WAITING)

_Run = tuple[int, int, int, int]  # bracket, rung, index in the bracket's rung, slot


def rand1(pool: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    """DE/rand/1 mutant ``x_r1 + F (x_r2 - x_r3)`` of three distinct rows of ``pool`` (n, d)
    (Storn & Price, J. Global Optim. 1997, Eq. 2)."""
    a, b, c = rng.choice(len(pool), size=3, replace=False)
    out: np.ndarray = pool[a] + f * (pool[b] - pool[c])
    return out


def binomial_crossover(
    target: np.ndarray, mutant: np.ndarray, cr: float, rng: np.random.Generator
) -> np.ndarray:
    """Trial vector: ``u_j = v_j`` if ``rand_j < CR`` or ``j = j_rand``, else ``x_j`` (Storn &
    Price 1997, Eq. 4): at least one coordinate comes from the mutant."""
    take = rng.random(len(target)) < cr
    take[rng.integers(len(target))] = True
    out: np.ndarray = np.where(take, mutant, target)
    return out


def repair(u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Coordinates outside [0, 1] drawn again uniformly (the ``dehb`` package's default)."""
    out = (u < 0.0) | (u > 1.0)
    fixed = np.array(u, dtype=float)
    fixed[out] = rng.random(int(out.sum()))
    return fixed


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What one trial contributes to the index."""

    runs: tuple[_Run, ...]
    live: bool  # its last run is running
    scores: dict[tuple[int, int], float]  # (rung, slot) -> signed value, evaluated runs only
    paused: int | None  # rung it waits at (PAUSED at that rung's budget), or None
    reported: bool


class _Index(TrialIndex):
    """Runs, slot members and paused trials of the scheduler's trials: a cache rebuilt from the
    view, updated only for trials whose snapshot object changed (as :class:`RungIndex`)."""

    def __init__(self, rungs: Sequence[int]) -> None:
        self._rungs = list(rungs)
        super().__init__()

    def _clear(self) -> None:
        self._parsed: dict[int, _Parsed] = {}
        self.issued: dict[tuple[int, int], set[int]] = {}  # (bracket, rung) -> trials run there
        self.running: dict[tuple[int, int], set[int]] = {}  # (bracket, rung) -> running there now
        self.scores: dict[tuple[int, int], dict[int, float]] = {}  # (rung, slot) -> trial -> value
        self.best: dict[tuple[int, int], int] = {}  # (rung, slot) -> member
        self.paused: dict[int, set[int]] = {}  # rung -> trials waiting there for a promotion
        self.brackets: dict[int, int] = {}  # bracket -> runs
        self.reported: set[int] = set()
        self.source: int | None = None  # lowest trial that reported: it defines the space
        self.n_running = 0
        self.done: set[int] = set()  # brackets whose runs all finished (a cache)
        self.vectors: dict[int, np.ndarray] = {}
        self.names: tuple[str, ...] = ()

    def _index(self, view: StudyView, t: FrozenTrial) -> None:
        parsed = self._parse(view, t)
        if parsed is not None:
            self._add(t.number, parsed)

    def _parse(self, view: StudyView, t: FrozenTrial) -> _Parsed | None:
        raw = t.system_attrs.get(RUNS_KEY)
        if not raw:
            return None
        runs = tuple((int(c), int(r), int(j), int(s)) for c, r, j, s in raw)
        scores: dict[tuple[int, int], float] = {}
        for i, (_, r, _, slot) in enumerate(runs):
            if i == len(runs) - 1 and t.state == TrialState.FAILED:
                continue
            v = rung_value(t, self._rungs[r])
            if v is not None and not math.isnan(v):
                scores[(r, slot)] = signed(view, v)
        last = runs[-1][1]
        waits = t.state == TrialState.PAUSED and budget_of(t) == self._rungs[last]
        reported = bool(t.intermediate_values) and bool(t.params)
        return _Parsed(runs, t.state in _LIVE, scores, last if waits else None, reported)

    def _add(self, number: int, p: _Parsed) -> None:
        self._parsed[number] = p
        for c, r, _, _ in p.runs:
            self.issued.setdefault((c, r), set()).add(number)
            self.brackets[c] = self.brackets.get(c, 0) + 1
        if p.live:
            c, r = p.runs[-1][:2]
            self.running.setdefault((c, r), set()).add(number)
            self.n_running += 1
            self.done.discard(c)
        for cell, score in p.scores.items():
            self.scores.setdefault(cell, {})[number] = score
            member = self.best.get(cell)
            if member is None or _replaces(score, number, self.scores[cell][member], member):
                self.best[cell] = number
        if p.paused is not None:
            self.paused.setdefault(p.paused, set()).add(number)
        if p.reported:
            self.reported.add(number)
            if self.source is None or number < self.source:
                self.source = number

    def _remove(self, number: int) -> None:
        p = self._parsed.pop(number, None)
        self.vectors.pop(number, None)
        if p is None:
            return
        for c, r, _, _ in p.runs:
            self.issued[(c, r)].discard(number)
            self.brackets[c] -= 1
        if p.live:
            self.running[p.runs[-1][:2]].discard(number)
            self.n_running -= 1
        for cell in p.scores:
            entries = self.scores[cell]
            del entries[number]
            if self.best.get(cell) == number:
                del self.best[cell]
                for n, s in entries.items():
                    member = self.best.get(cell)
                    if member is None or _replaces(s, n, entries[member], member):
                        self.best[cell] = n
        if p.paused is not None:
            self.paused[p.paused].discard(number)
        if p.reported:
            self.reported.discard(number)
            if self.source == number:
                self.source = min(self.reported, default=None)

    def members(self, rung: int) -> list[int]:
        """Members of ``rung``'s subpopulation, best first (ties: lower number first)."""
        cells = [(c, n) for c, n in self.best.items() if c[0] == rung]
        return [n for _, n in sorted(cells, key=lambda cn: (self.scores[cn[0]][cn[1]], cn[1]))]

    def runs(self, number: int) -> tuple[_Run, ...]:
        return self._parsed[number].runs


def _replaces(score: float, number: int, current: float, member: int) -> bool:
    """DE selection: a run replaces the member when at least as good (the later one on ties)."""
    return (score, -number) < (current, -member)


class DEHBScheduler:
    """DEHB: differential evolution proposing configurations inside Hyperband brackets.

    Args:
        max_budget: the full budget (e.g. epochs).
        min_budget: the smallest budget; rungs are ``min_budget * eta**k`` up to ``max_budget``.
        eta: reduction factor (3 in the paper).
        mutation_factor: DE's ``F`` in (0, 2] (0.5 in the paper).
        crossover_prob: DE's ``CR`` in [0, 1] (0.5 in the paper).
        space: the parameters to evolve, as the objective suggests them; None: taken from the
            first trial that reports (earlier ones are drawn by the study's sampler).

    Example:
        >>> import math
        >>> import hyperscout as hs
        >>> from hyperscout.schedulers._dehb import DEHBScheduler
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -2.0, 2.0)
        ...     loss = math.inf
        ...     for epoch in trial.steps():
        ...         loss = x**2 + 1.0 / epoch
        ...         trial.report(epoch, loss)
        ...     return loss
        >>> study = hs.create_study(scheduler=DEHBScheduler(max_budget=9), seed=0)
        >>> study.optimize(objective, n_trials=30)
        >>> study.best_trial.intermediate_values.keys() >= {9}
        True
    """

    def __init__(
        self,
        max_budget: int,
        *,
        min_budget: int = 1,
        eta: float = 3,
        mutation_factor: float = 0.5,
        crossover_prob: float = 0.5,
        space: Mapping[str, Distribution] | None = None,
    ) -> None:
        self._min, self._max, self._eta = check_budgets(min_budget, max_budget, eta)
        if self._max == self._min:
            raise InvalidArgumentError(
                f"`max_budget` must be > `min_budget` for DEHB, got min_budget={self._min}, "
                f"max_budget={self._max}: with a single budget use hs.DESampler"
            )
        self._f = _check_real("mutation_factor", mutation_factor, 0.0, 2.0, low_open=True)
        self._cr = _check_real("crossover_prob", crossover_prob, 0.0, 1.0, low_open=False)
        self._space = None if space is None else _multi_valued(validate_space(space, "space"))
        self._rungs = rung_budgets(self._min, self._max, self._eta)
        s_max = len(self._rungs) - 1
        # bracket type t (= bracket % (s_max + 1)) starts at rung t: Hyperband's s = s_max - t
        self._counts: list[list[int]] = []
        for s in range(s_max, -1, -1):
            n = math.ceil((s_max + 1) / (s + 1) * self._eta**s)
            counts = [n]
            for _ in range(s):
                n = max(1, int(n / self._eta))
                counts.append(n)
            self._counts.append(counts)
        per_type = [
            [c[r - t] if t <= r else 0 for t, c in enumerate(self._counts)]
            for r in range(s_max + 1)
        ]
        self._pop = [max(row) for row in per_type]
        self._offsets = [[sum(row[:t]) for t in range(len(row) + 1)] for row in per_type]
        self._lock = threading.Lock()
        self._index = _Index(self._rungs)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_index", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._index = _Index(self._rungs)

    def __repr__(self) -> str:
        return (
            f"DEHBScheduler(max_budget={self._max}, min_budget={self._min}, eta={self._eta:g}, "
            f"mutation_factor={self._f:g}, crossover_prob={self._cr:g})"
        )

    @property
    def rungs(self) -> list[int]:
        """The rung budgets."""
        return list(self._rungs)

    @property
    def brackets(self) -> list[tuple[int, list[int]]]:
        """``(first budget, runs per rung)`` of each bracket type, in the order they run."""
        return [(self._rungs[t], list(c)) for t, c in enumerate(self._counts)]

    @property
    def population_sizes(self) -> dict[int, int]:
        """Slots of each budget's subpopulation."""
        return dict(zip(self._rungs, self._pop, strict=True))

    # -- jobs -------------------------------------------------------------------------------
    def next_job(self, view: StudyView, new_allowed: bool) -> Job | Wait | None:
        """The next run of the oldest bracket that has one, else the first run of a new bracket
        (when new trials are allowed), else WAIT (a run may still unlock a promotion) or None."""
        with self._lock:
            index = self._index
            index.refresh(view)
            space = self._current_space()
            for c in sorted(index.brackets):
                if c in index.done or not index.brackets[c]:
                    continue
                got = self._advance(view, space, c, new_allowed)
                if isinstance(got, Job):
                    return got
                if got == _DONE:
                    index.done.add(c)
            if new_allowed:
                c = max((b for b, n in index.brackets.items() if n), default=-1) + 1
                return self._job(view, space, c, c % len(self._counts), 0, 0, True)
            return WAIT if index.n_running else None

    def _advance(
        self, view: StudyView, space: dict[str, Distribution], c: int, new_allowed: bool
    ) -> Job | str:
        """Bracket ``c``'s next run, or why there is none (a rung still runs; all done; cut)."""
        first = c % len(self._counts)
        cut = False
        for k, n in enumerate(self._counts[first]):
            r = first + k
            issued = len(self._index.issued.get((c, r), ()))
            running = bool(self._index.running.get((c, r)))
            if issued < n:
                job = self._job(view, space, c, r, k, issued, new_allowed)
                if job is not None:
                    return job
                if running:
                    return _BLOCKED
                cut = True  # no new trial may start: the bracket goes on with what it has
            elif running:
                return _BLOCKED
        return _CUT if cut else _DONE

    def _job(
        self,
        view: StudyView,
        space: dict[str, Distribution],
        c: int,
        r: int,
        k: int,
        j: int,
        new_allowed: bool,
    ) -> Job | None:
        """Run ``j`` of bracket ``c`` at rung ``r`` (the bracket's ``k``-th); None when it needs a
        new trial and none may start."""
        slot = self._slot(c, r, j)
        run = [c, r, j, slot]
        budget, final = self._rungs[r], r == len(self._rungs) - 1
        if c < len(self._counts) and k > 0:  # first iteration: Hyperband's promotion
            number = self._promotion(r - 1)
            if number is not None:
                runs = [list(x) for x in self._index.runs(number)] + [run]
                return Job(budget=budget, resume=number, attrs={RUNS_KEY: runs}, final=final)
        if not new_allowed:
            return None
        attrs: dict[str, Any] = {BRACKET_KEY: c, RUNS_KEY: [run]}
        initial = c == 0 and k == 0
        if not space or (initial and any(t.state == TrialState.WAITING for t in view.trials)):
            return Job(budget=budget, attrs=attrs, final=final)  # the sampler, or an enqueued trial
        if initial:
            x = self._initial_point(view.seed, len(space), r, slot)
        else:
            x = self._trial_vector(view, space, c, r, k, j, slot)
        attrs[VECTOR_KEY] = {name: float(u) for name, u in zip(space, x, strict=True)}
        params = {
            name: d.to_external(d.decode(float(u)))
            for (name, d), u in zip(space.items(), x, strict=True)
        }
        return Job(budget=budget, attrs=attrs, params=params, final=final)

    def _slot(self, c: int, r: int, j: int) -> int:
        """Run ``j`` of bracket ``c`` at rung ``r`` takes the slot after those of the runs at
        ``r`` of every earlier bracket, cyclically (the package's parent counter)."""
        cycles, t = divmod(c, len(self._counts))
        before = self._offsets[r][-1] * cycles + self._offsets[r][t]
        return (before + j) % self._pop[r]

    def _promotion(self, lower: int) -> int | None:
        """The best member of rung ``lower`` still waiting there (not promoted yet)."""
        waiting = self._index.paused.get(lower, set())
        return next((n for n in self._index.members(lower) if n in waiting), None)

    def _trial_vector(
        self,
        view: StudyView,
        space: dict[str, Distribution],
        c: int,
        r: int,
        k: int,
        j: int,
        slot: int,
    ) -> np.ndarray:
        """Mutation from the parent pool, binomial crossover with the slot's member, repair."""
        rng = np.random.default_rng([view.seed, _TAG, c, r, j])
        d = len(space)
        member = self._index.best.get((r, slot))
        if member is None:
            target = self._initial_point(view.seed, d, r, slot)
        else:
            target = self._vector(member, space)
        n = self._counts[c % len(self._counts)][k]
        lower = r - 1 if k > 0 else r
        pool = [self._vector(m, space) for m in self._index.members(lower)[:n]]
        if len(pool) < _MIN_POOL:  # small pool: add mutants of the global population
            glob = [
                self._vector(m, space)
                for q in range(len(self._rungs))
                for m in self._index.members(q)
            ]
            while len(glob) < _MIN_POOL:
                glob.append(rng.random(d))
            everyone = np.array(glob)
            pool += [rand1(everyone, self._f, rng) for _ in range(_MIN_POOL - len(pool) + 1)]
        mutant = rand1(np.array(pool), self._f, rng)
        return repair(binomial_crossover(target, mutant, self._cr, rng), rng)

    @staticmethod
    def _initial_point(seed: int, d: int, r: int, slot: int) -> np.ndarray:
        out: np.ndarray = np.random.default_rng([seed, _INIT_TAG, r, slot]).random(d)
        return out

    def _current_space(self) -> dict[str, Distribution]:
        if self._space is not None:
            space = self._space
        elif self._index.source is None:
            return {}
        else:
            source = self._index.seen[self._index.source]
            space = _multi_valued(dict(sorted(source.distributions.items())))
        names = tuple(space)
        if names != self._index.names:
            self._index.names = names
            self._index.vectors.clear()
        return space

    def _vector(self, number: int, space: dict[str, Distribution]) -> np.ndarray:
        """Trial ``number``'s point: as proposed, else its parameters encoded (0.5 if absent)."""
        cached = self._index.vectors.get(number)
        if cached is not None:
            return cached
        t = self._index.seen[number]
        proposed = t.system_attrs.get(VECTOR_KEY) or {}
        out = np.full(len(space), 0.5)
        for i, (name, d) in enumerate(space.items()):
            if name in proposed:
                out[i] = float(proposed[name])
            elif name in t.params and d.contains(t.params[name]):
                out[i] = float(d.to_unit(d.to_internal(t.params[name])))
        self._index.vectors[number] = out
        return out

    # -- reports ----------------------------------------------------------------------------
    def on_report(self, view: StudyView, trial: FrozenTrial, step: int, value: float) -> Decision:
        """PAUSE a run at its budget below ``max_budget``."""
        if RUNS_KEY not in trial.system_attrs:
            return Decision.CONTINUE  # not one of this scheduler's trials
        return pause_at_budget(trial, step, self._max)


def _multi_valued(space: Mapping[str, Distribution]) -> dict[str, Distribution]:
    return {name: d for name, d in space.items() if not d.single()}


def _check_real(name: str, value: Any, low: float, high: float, *, low_open: bool) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    v = float(value) if ok else math.nan
    if not (ok and (low < v if low_open else low <= v) and v <= high):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise InvalidArgumentError(f"`{name}` must be a number in {bounds}, got {name}={value!r}")
    return v

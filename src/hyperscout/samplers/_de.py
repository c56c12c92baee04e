"""Differential evolution with success-history parameter adaptation (SHADE / L-SHADE).

SHADE (Tanabe & Fukunaga, "Success-History Based Parameter Adaptation for Differential
Evolution", CEC 2013) runs in the unit cube of the joint space, with the weighted Lehmer means
and, when the budget is known, the linear population size reduction of L-SHADE (Tanabe &
Fukunaga, "Improving the Search Performance of SHADE Using Linear Population Size Reduction",
CEC 2014). Adapting F and CR rather than choosing among strategies follows the MetaDE line of work
(Chen, Feng & Cheng, "MetaDE: Evolving Differential Evolution by Differential Evolution", IEEE
TEVC 2025): the parameters matter more than the strategy. Equations, in L-SHADE's numbering:

* F ~ Cauchy(M_F[r], 0.1), drawn again while <= 0, cut to 1; CR ~ N(M_CR[r], 0.1) clipped to
  [0, 1] (0 once M_CR[r] is terminal); r uniform over the H memory slots (Eqs. 1-2).
* current-to-pbest/1 with an archive A of replaced parents (JADE, Zhang & Sanderson, IEEE TEVC
  2009, Sec. III-B): v = x_i + F (x_pbest - x_i) + F (x_r1 - x~_r2), x_pbest among the best
  max(2, round(p |P|)), x_r1 in P, x~_r2 in P + A, both distinct from x_i and each other (Eq. 3).
* bounds: v_j < 0 becomes x_ij / 2, v_j > 1 becomes (1 + x_ij) / 2 (Eq. 4).
* binomial crossover: u_j = v_j if rand < CR or j = j_rand, else x_ij (Eq. 5).
* selection: u replaces x_i if f(u) <= f(x_i) (Eq. 6); if strictly better, x_i joins A (a random
  entry leaves when A holds round(archive_rate NP)) and (F, CR, |f(u) - f(x_i)|) joins S.
* every NP challenges, memory slot k (cyclic) takes the weighted Lehmer means sum(w s^2) /
  sum(w s), w = Δf / sum(Δf), of S_F and S_CR; M_CR turns terminal if max(S_CR) = 0 (Eqs. 7-9).
* with ``n_trials_hint``: NP(n) = round(NP_init + (4 - NP_init) n / n_trials_hint), the worst
  members leaving first (Eq. 10), trial numbers counting as evaluations.

**Encoding.** The joint space is the multi-valued parameters of the first COMPLETE trial, in name
order, mapped into [0, 1]^d by ``to_unit``: log parameters log-scaled, discrete values and
categorical choices as equal cells (a categorical is treated as ordinal, in its choices' order).
A member sits at the cell centre of what was evaluated.

**Stateless and asynchronous** (asynchronous DE: Zhabitskaya & Zhabitsky, MMCP 2011, LNCS 7125).
The state is rebuilt by replaying COMPLETE trials in number order. Trial ``n`` targets slot
``n mod NP``: asked while that slot is empty (or fewer than four members exist) it takes row ``n``
of a Latin hypercube seeded by the study (uniform for ``n >= NP``), else a trial vector; once
complete it challenges whoever holds the slot then. FAILED and PRUNED trials never replace;
running ones are skipped. Trial ``n`` draws from ``default_rng([seed, n, 0x4445])``, so replay
regenerates its F and CR (exactly when sequential; with parallel workers, from the memories replay
holds then). A cache keyed by the replayed prefix makes an ask O(new trials).
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Distribution
from hyperscout.trial import FIXED_PARAMS_KEY

__all__ = ["DESampler", "DEState", "default_population_size"]

_TAG = 0x4445  # "DE": trial n draws from default_rng([seed, n, _TAG])
_LHS_TAG = 0x44454C48  # "DELH": the initial Latin hypercube
_SPREAD = 0.1  # scale of the Cauchy (F) and normal (CR) draws (L-SHADE Eqs. 1-2)
_TERMINAL = -1.0  # L-SHADE's terminal M_CR: CR = 0 from then on
_MIN_MEMBERS = 4  # members needed before trial vectors replace initial points
_NP_MIN = 4  # L-SHADE's final population size
_RETRIES = 8  # donor draws before a trial vector equal to a known point is kept


def default_population_size(dim: int) -> int:
    """NP for ``dim`` parameters: ``max(10, dim)``, far below L-SHADE's 18 dim (made for 10^4 dim
    evaluations), as small populations go much further in budgets of a few hundred trials.

    Example:
        >>> default_population_size(12)
        12
    """
    return max(10, dim)


@dataclass(frozen=True, slots=True)
class DEState:
    """What replay rebuilt from a study (see :meth:`DESampler.state`).

    ``population`` holds the ``(m, d)`` members in the unit cube (axes: ``names``; empty slots
    left out), ``values`` their objective values (study direction), ``numbers`` their trials.
    ``memory_cr`` uses -1 for L-SHADE's terminal value (CR = 0). ``population_size`` is NP after
    any linear reduction.
    """

    names: tuple[str, ...]
    population: np.ndarray
    values: np.ndarray
    numbers: np.ndarray
    archive_size: int
    memory_f: np.ndarray
    memory_cr: np.ndarray
    population_size: int


@dataclass(frozen=True, slots=True)
class _Config:
    population_size: int | None
    memory_size: int
    p_best: float
    archive_rate: float
    n_trials_hint: int | None


@dataclass(frozen=True)
class _Spec:
    """One DE run: the joint space, the study's seed and sign, and the initial NP."""

    names: tuple[str, ...]
    dists: tuple[Distribution, ...]
    seed: int
    sign: float
    size: int

    def size_at(self, number: int, hint: int | None) -> int:
        """NP when trial ``number`` is asked (L-SHADE Eq. 10 with trials as evaluations)."""
        if hint is None:
            return self.size
        low = min(_NP_MIN, self.size)
        return max(low, round(self.size + (low - self.size) * min(number, hint) / hint))

    def holds(self, t: FrozenTrial) -> bool:
        """Whether ``t`` has every joint parameter, with the same distribution."""
        return all(t.distributions.get(n) == d for n, d in zip(self.names, self.dists, strict=True))

    def encode(self, t: FrozenTrial) -> np.ndarray:
        """``t``'s unit-cube coordinates, by scalar calls: bits independent of batching."""
        pairs = zip(self.names, self.dists, strict=True)
        return np.array([float(d.to_unit(d.to_internal(t.params[n]))) for n, d in pairs])

    def decode(self, u: np.ndarray) -> list[Any]:
        """External values of the point ``u`` of the unit cube."""
        return [d.to_external(d.decode(float(u[j]))) for j, d in enumerate(self.dists)]

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Coordinates of what ``u`` decodes to: what storing it and reading it back gives."""
        pairs = zip(self.dists, self.decode(u), strict=True)
        return np.array([float(d.to_unit(d.to_internal(v))) for d, v in pairs])

    def initial(self, number: int, uniform: np.ndarray) -> np.ndarray:
        """Trial ``number``'s initial point: row ``number`` of a Latin hypercube, or ``uniform``."""
        table = _latin_hypercube(len(self.names), self.seed, self.size)
        return table[number].copy() if number < len(table) else uniform


@lru_cache(maxsize=16)
def _latin_hypercube(dim: int, seed: int, size: int) -> np.ndarray:
    """``size`` points, one per row and per column stratum of width 1/size (McKay et al. 1979)."""
    g = np.random.default_rng([seed, _LHS_TAG])
    strata = np.argsort(g.random((dim, size)), axis=1).T
    table: np.ndarray = (strata + g.random((size, dim))) / size
    table.setflags(write=False)
    return table


def _draw(
    g: np.random.Generator, dim: int, m_f: np.ndarray, m_cr: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """A trial's (uniform initial point, F, CR) from its own stream (L-SHADE Eqs. 1-2)."""
    uniform = g.random(dim)
    r = int(g.integers(len(m_f)))
    cr = 0.0 if m_cr[r] == _TERMINAL else min(max(float(g.normal(m_cr[r], _SPREAD)), 0.0), 1.0)
    f = float(m_f[r])
    for _ in range(64):  # F <= 0 is drawn again; M_F > 0, so each try succeeds with p > 1/2
        f = float(m_f[r]) + _SPREAD * float(g.standard_cauchy())
        if f > 0:
            break
    return uniform, min(f, 1.0), cr


class _Population:
    """Mutable replay state: slots, archive, memories and the successes since the last update."""

    __slots__ = ("archive", "f", "k", "m_cr", "m_f", "owner", "seen", "success", "x")

    def __init__(self, size: int, dim: int, memory_size: int) -> None:
        self.x = np.full((size, dim), np.nan)
        self.f = np.full(size, np.inf)
        self.owner = np.full(size, -1, dtype=np.int64)  # trial number of the member; -1: empty
        self.archive = np.empty((0, dim))
        self.m_f = np.full(memory_size, 0.5)
        self.m_cr = np.full(memory_size, 0.5)
        self.k = 0
        self.seen = 0  # challenges since the last memory update
        self.success: list[tuple[float, float, float]] = []  # (F, CR, Δf)

    def copy(self) -> _Population:
        out = _Population.__new__(_Population)
        for name in ("x", "f", "owner", "archive", "m_f", "m_cr"):
            setattr(out, name, getattr(self, name).copy())
        out.k, out.seen, out.success = self.k, self.seen, list(self.success)
        return out

    def resize(self, size: int, archive_rate: float) -> None:
        """Shrink to ``size`` slots: empty ones go first, then the worst (L-SHADE Eq. 10)."""
        n = len(self.f)
        if size >= n:
            return
        order = np.lexsort((np.arange(n), -self.f, self.owner >= 0))
        keep = np.sort(order[n - size :])
        self.x, self.f, self.owner = self.x[keep], self.f[keep], self.owner[keep]
        self.archive = self.archive[: round(archive_rate * size)]

    def to_archive(self, x: np.ndarray, cap: int, g: np.random.Generator) -> None:
        """Keep a replaced parent; a random member makes room when the archive is full."""
        if cap <= 0:
            return
        if len(self.archive) < cap:
            self.archive = np.vstack([self.archive, x[None, :]])
        else:
            self.archive[int(g.integers(len(self.archive)))] = x

    def update_memory(self) -> None:
        """Slot k takes the weighted Lehmer means of S_F and S_CR (L-SHADE Eqs. 7-9)."""
        self.seen = 0
        if not self.success:
            return
        s_f, s_cr, delta = (np.array(c) for c in zip(*self.success, strict=True))
        self.success = []
        w = delta if np.isfinite(delta).all() else np.isinf(delta).astype(float)
        w = w / w.sum()
        self.m_f[self.k] = np.sum(w * s_f * s_f) / np.sum(w * s_f)
        if self.m_cr[self.k] == _TERMINAL or s_cr.max() == 0.0:
            self.m_cr[self.k] = _TERMINAL
        else:
            self.m_cr[self.k] = np.sum(w * s_cr * s_cr) / np.sum(w * s_cr)
        self.k = (self.k + 1) % len(self.m_f)


def _absorb(pop: _Population, spec: _Spec, cfg: _Config, t: FrozenTrial, x: np.ndarray) -> None:
    """Replay one COMPLETE trial: fill its slot, or challenge the slot's member (Eq. 6)."""
    size = spec.size_at(t.number, cfg.n_trials_hint)
    pop.resize(size, cfg.archive_rate)
    i = t.number % size
    y = spec.sign * float(t.values[0])  # type: ignore[index]
    if pop.owner[i] < 0:
        pop.x[i], pop.f[i], pop.owner[i] = x, y, t.number
        return
    pop.seen += 1
    if y <= pop.f[i]:
        if y < pop.f[i]:
            g = np.random.default_rng([spec.seed, t.number, _TAG])
            uniform, f, cr = _draw(g, len(x), pop.m_f, pop.m_cr)
            pop.to_archive(pop.x[i], round(cfg.archive_rate * size), g)
            fixed = t.system_attrs.get(FIXED_PARAMS_KEY) or {}  # enqueued: no F, CR to credit
            initial = np.array_equal(x, spec.snap(spec.initial(t.number, uniform)))
            if not initial and not any(n in fixed for n in spec.names):
                pop.success.append((f, cr, abs(pop.f[i] - y)))
        pop.x[i], pop.f[i], pop.owner[i] = x, y, t.number
    if pop.seen >= size:
        pop.update_memory()


def _propose(
    pop: _Population, spec: _Spec, cfg: _Config, number: int, running: Sequence[FrozenTrial]
) -> np.ndarray:
    """Trial ``number``'s point: an initial point, or a new trial vector (Eqs. 3-5)."""
    size = spec.size_at(number, cfg.n_trials_hint)
    if size < len(pop.f):
        pop = pop.copy()
        pop.resize(size, cfg.archive_rate)
    i = number % size
    g = np.random.default_rng([spec.seed, number, _TAG])
    uniform, f, cr = _draw(g, len(spec.names), pop.m_f, pop.m_cr)
    members = np.flatnonzero(pop.owner >= 0)
    if pop.owner[i] < 0 or len(members) < _MIN_MEMBERS:
        return spec.initial(number, uniform)
    ranked = members[np.argsort(pop.f[members], kind="stable")]
    n_best = max(2, round(cfg.p_best * len(members)))
    pending = [spec.encode(t) for t in running if spec.holds(t)]  # asked, not yet finished
    known = np.vstack([pop.x[members], pop.archive, *pending])
    for _ in range(_RETRIES):  # a copy of a member would waste a trial: draw the donors again
        u = _trial_vector(pop, i, ranked[:n_best], members[members != i], (f, cr), g)
        if not (known == spec.snap(u)).all(axis=1).any():
            break
    return u


def _trial_vector(
    pop: _Population, i: int, best: np.ndarray, others: np.ndarray, fcr: tuple[float, float], g: Any
) -> np.ndarray:
    """current-to-pbest/1 with archive (Eq. 3), bound repair (Eq. 4), binomial crossover (Eq. 5)."""
    (f, cr), xi = fcr, pop.x[i]
    pbest = pop.x[best[int(g.integers(len(best)))]]
    r1 = int(others[int(g.integers(len(others)))])
    pool = np.vstack([pop.x[others[others != r1]], pop.archive])
    v = xi + f * (pbest - xi) + f * (pop.x[r1] - pool[int(g.integers(len(pool)))])
    v = np.where(v < 0.0, xi / 2.0, np.where(v > 1.0, (1.0 + xi) / 2.0, v))
    cross = g.random(len(xi)) < cr
    cross[int(g.integers(len(xi)))] = True
    out: np.ndarray = np.where(cross, v, xi)
    return out


# -- the replay cache ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Checkpoint:
    """The state after replaying ``trials``; valid for any view whose trials start the same."""

    trials: tuple[FrozenTrial, ...]
    spec: _Spec
    pop: _Population
    settled: bool  # every trial covered is finished, so later views only add to it


def _same(a: FrozenTrial, b: FrozenTrial) -> bool:
    if (a.number, a.state, a.values) != (b.number, b.state, b.values):
        return False
    return not a.state.is_finished() or a.params == b.params


def _covers(cp: _Checkpoint | None, spec: _Spec, trials: Sequence[FrozenTrial]) -> bool:
    """Whether ``trials`` starts with the trials ``cp`` replayed, unchanged (same spec too)."""
    if cp is None or cp.spec != spec or len(cp.trials) > len(trials):
        return False
    if all(map(operator.is_, cp.trials, trials)):  # the usual case: the same snapshots
        return True
    return all(a is b or _same(a, b) for a, b in zip(cp.trials, trials, strict=False))


def _finished_run(trials: Sequence[FrozenTrial], start: int) -> tuple[int, int]:
    """(end of the leading run of finished trials from ``start``, 1 + last finished index)."""
    end = start
    while end < len(trials) and trials[end].state.is_finished():
        end += 1
    last = len(trials)
    while last > end and not trials[last - 1].state.is_finished():
        last -= 1
    return end, last


def _joint(view: StudyView) -> dict[str, Distribution]:
    """Multi-valued parameters of the first COMPLETE trial with any, in name order."""
    if view.n_objectives != 1:
        raise InvalidArgumentError(
            f"DESampler is for single-objective studies; this study has {view.n_objectives} "
            "objectives: use sampler='tpe' (or another multi-objective sampler) instead"
        )
    for t in view.trials:
        if t.state == TrialState.COMPLETE and t.values is not None and t.number != view.current:
            names = sorted(n for n, d in t.distributions.items() if not d.single())
            if names:
                return {n: t.distributions[n] for n in names}
    return {}


def _check(name: str, value: Any, low: float, integer: bool, high: float = math.inf) -> Any:
    """``value`` as an int or float in ``[low, high]`` (``(low, high]`` for p_best), or an error."""
    kind = numbers.Integral if integer else numbers.Real
    v = float(value) if isinstance(value, kind) and not isinstance(value, bool) else math.nan
    above = low < v if name == "p_best" else low <= v
    if not (above and v <= high and math.isfinite(v)):
        bounds = f"in ({low:g}, {high:g}]" if name == "p_best" else f">= {low:g}"
        what = f"an int {bounds}" if integer else f"a finite number {bounds}"
        raise InvalidArgumentError(f"`{name}` must be {what}, got {name}={value!r}")
    return int(v) if integer else v


class DESampler:
    """Self-adapting differential evolution (SHADE, optionally L-SHADE) for the joint space.

    For one objective and hundreds of trials or more (the first NP only spread over the space).
    Any worker, thread or restarted process rebuilds the same population from the stored trials.

    Args:
        population_size: NP, the slots trial vectors compete for; ``max(10, d)`` when None
            (:func:`default_population_size`), ``d`` the number of joint parameters.
        memory_size: H, the entries of the success-history memories M_F and M_CR.
        p_best: share of the population that ``x_pbest`` is drawn from (at least two members).
        archive_rate: archive size as a multiple of NP; 0 turns the archive off.
        n_trials_hint: the study's total number of trials, if known: NP then shrinks linearly to 4
            over that many trials (L-SHADE), exploring early and converging late.

    Example:
        >>> import hyperscout as hs
        >>> def sphere(trial):
        ...     return sum(trial.suggest_float(k, -3, 3) ** 2 for k in "xyz")
        >>> study = hs.create_study(sampler=DESampler(), seed=0)
        >>> study.optimize(sphere, n_trials=400)
        >>> study.best_value < 0.05
        True
    """

    def __init__(
        self,
        *,
        population_size: int | None = None,
        memory_size: int = 5,
        p_best: float = 0.11,
        archive_rate: float = 1.0,
        n_trials_hint: int | None = None,
    ) -> None:
        size, hint = population_size, n_trials_hint
        self._cfg = _Config(
            population_size=None if size is None else _check("population_size", size, 4, True),
            memory_size=_check("memory_size", memory_size, 1, True),
            p_best=_check("p_best", p_best, 0.0, False, high=1.0),
            archive_rate=_check("archive_rate", archive_rate, 0.0, False),
            n_trials_hint=None if hint is None else _check("n_trials_hint", hint, 1, True),
        )
        self._init_cache()

    def _init_cache(self) -> None:
        self._lock = threading.Lock()
        self._settled: _Checkpoint | None = None  # every trial it covers is finished
        self._tip: _Checkpoint | None = None  # ends with the last finished trial of a view

    def __getstate__(self) -> dict[str, Any]:
        return {"cfg": self._cfg}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._cfg = state["cfg"]
        self._init_cache()

    def __repr__(self) -> str:
        return f"DESampler({', '.join(f'{k}={v!r}' for k, v in asdict(self._cfg).items())})"

    # -- the Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The multi-valued parameters of the first COMPLETE trial (empty before one)."""
        return _joint(view)

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """DE values for the joint parameters of ``space``; uniform values for the others."""
        out: dict[str, Any] = {}
        spec = self._spec(view, space)
        if spec is not None:
            pairs = list(zip(spec.names, spec.dists, strict=True))
            wanted = [j for j, (n, d) in enumerate(pairs) if space.get(n) == d]
            if wanted:
                number = len(view.trials) if view.current is None else view.current
                u = _propose(self._replay(view, spec), spec, self._cfg, number, view.running)
                values = spec.decode(u)
                out.update({pairs[j][0]: values[j] for j in wanted})
        rest = {n: d for n, d in space.items() if n not in out}
        if rest:
            out.update(sample_uniform(rest, rng))
        return {name: out[name] for name in space}

    def state(self, view: StudyView) -> DEState | None:
        """The population, archive and memories replayed from ``view`` (None before a trial).

        ``view`` may be ``hs.StudyView(study.trials, study.directions, study.seed)``.
        """
        spec = self._spec(view, {})
        if spec is None:
            return None
        pop = self._replay(view, spec)
        m = np.flatnonzero(pop.owner >= 0)
        x, owner, archive, m_f, m_cr = pop.x[m], pop.owner[m], len(pop.archive), pop.m_f, pop.m_cr
        f = spec.sign * pop.f[m]
        return DEState(spec.names, x, f, owner, archive, m_f.copy(), m_cr.copy(), len(pop.f))

    # -- internals ------------------------------------------------------------------------------
    def _spec(self, view: StudyView, space: Mapping[str, Distribution]) -> _Spec | None:
        """The DE run of ``view``; before a trial completes, ``space`` itself if it has 2+ axes."""
        joint = _joint(view)
        if not joint:
            joint = {n: space[n] for n in sorted(space) if not space[n].single()}
            if len(joint) < 2:
                return None
        sign = 1.0 if view.directions[0] == StudyDirection.MINIMIZE else -1.0
        size = self._cfg.population_size or default_population_size(len(joint))
        return _Spec(tuple(joint), tuple(joint.values()), view.seed, sign, size)

    def _replay(self, view: StudyView, spec: _Spec) -> _Population:
        """The state after the view's finished trials, from the longest valid checkpoint."""
        trials = view.trials
        with self._lock:
            base = next((c for c in (self._tip, self._settled) if _covers(c, spec, trials)), None)
            if base is None:
                pop, pos = _Population(spec.size, len(spec.names), self._cfg.memory_size), 0
            else:
                pop, pos = base.pop.copy(), len(base.trials)
            end, last = _finished_run(trials, pos)
            if base is None or base.settled:
                self._absorb_all(pop, spec, trials[pos:end])
                pos = end
                kept = pop if last <= end else pop.copy()
                self._settled = _Checkpoint(tuple(trials[:end]), spec, kept, True)
            self._absorb_all(pop, spec, trials[pos:last])
            self._tip = _Checkpoint(tuple(trials[: max(last, pos)]), spec, pop, last <= pos)
            return pop

    def _absorb_all(self, pop: _Population, spec: _Spec, trials: Sequence[FrozenTrial]) -> None:
        for t in trials:
            if t.state == TrialState.COMPLETE and t.values is not None and spec.holds(t):
                _absorb(pop, spec, self._cfg, t, spec.encode(t))

"""NSGA-II and NSGA-III: elitist genetic algorithms for multi-objective studies.

Both evolve a population of ``population_size`` individuals; they share the variation operators
and differ only in how the next population is chosen:

* **Variation** (one child per trial), in the unit cube of each parameter's own scale (log
  parameters log-scaled, integers and stepped values as equal cells, decoded back onto the grid):
  two binary tournaments pick the parents; with probability ``crossover_prob`` numeric parameters
  get simulated binary crossover (SBX, Deb & Agrawal, "Simulated Binary Crossover for Continuous
  Search Space", Complex Systems 9, 1995, bounded as in Deb's NSGA-II code) and categorical ones
  uniform crossover; each parameter takes the second parent's side with probability
  ``swap_prob``. Each parameter then mutates with probability ``mutation_prob`` (1/d by default):
  numeric ones by bounded polynomial mutation (Deb & Goyal, "A Combined Genetic Adaptive Search
  (GeneAS)", Computer Science and Informatics 26(4), 1996), categorical ones by a uniform redraw.
* **NSGA-II survival** (Deb, Pratap, Agarwal & Meyarivan, IEEE TEVC 6(2), 2002, Sec. III-C):
  parents and offspring together, ranked by constrained domination, then crowding distance; the
  tournaments compare (rank, crowding distance).
* **NSGA-III survival** (Deb & Jain, IEEE TEVC 18(4), 2014, Sec. IV): the fronts that fit, then
  the last front by niching on Das-Dennis reference points after normalizing by the ideal point
  and the intercepts of the extreme points (Algorithms 2-4); the tournaments compare ranks.

**Constraints.** A trial's ``system_attrs["constraints"]`` (a list of floats, ``c <= 0``
satisfied) gives its violation ``sum(max(0, c))``; none means feasible. Ranks follow Deb's
constrained domination (:func:`hyperscout.multiobjective.constrained_ranks`).

**Stateless.** Trial ``n`` belongs to generation ``n // population_size``. The parents of
generation ``g`` are rebuilt from the view: generation 0's COMPLETE trials survive into a
population, which with generation 1's COMPLETE trials survives into the next, and so on up to
``g - 1``. FAILED and PRUNED trials never join; running ones are missing until they complete (so
parallel workers breed from what has finished). An individual is the joint space (the parameters
every COMPLETE trial has); other parameters, generation 0 and any trial without parents are drawn
uniformly. Survival uses only the view (NSGA-III's ties draw from
``default_rng([seed, g, 0x4E534741])``); a cache keyed by each generation's results lets an ask
redo only the survivals whose inputs changed.
"""

from __future__ import annotations

import itertools
import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hyperscout._records import CONSTRAINTS_KEY, FrozenTrial
from hyperscout.errors import InvalidArgumentError
from hyperscout.multiobjective import constrained_ranks, crowding_distance
from hyperscout.samplers._base import StudyView, check_int, intersection_space
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Categorical, Distribution

__all__ = [
    "CONSTRAINTS_KEY",
    "NSGAIIISampler",
    "NSGAIISampler",
    "crowding_survival",
    "das_dennis",
    "default_partitions",
    "polynomial_mutation",
    "reference_survival",
    "sbx",
]

#: The system attribute holding a trial's constraint values (``c <= 0`` means satisfied).
_TAG = 0x4E534741  # "NSGA": survival of generation g draws from default_rng([seed, g, _TAG])
_BIG = 1e100  # caps infinite (and huge) values and violations: rankings need finite numbers
_EPS = 1e-14


# -- variation operators (pure functions on the unit cube) --------------------------------------
def sbx(x1: np.ndarray, x2: np.ndarray, eta: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounded simulated binary crossover in [0, 1] (Deb & Agrawal 1995; bounds as in Deb's code).

    Args:
        x1, x2: ``(d,)`` parents in [0, 1].
        eta: distribution index; larger keeps children closer to their parents.
        u: ``(d,)`` uniform draws in [0, 1).

    Returns:
        ``(c1, c2)``, the children on the side of ``x1`` and of ``x2``; equal parents give
        themselves.

    Example:
        >>> c1, c2 = sbx(np.array([0.2]), np.array([0.6]), 15.0, np.array([0.9]))
        >>> np.round(c1, 3).tolist(), np.round(c2, 3).tolist()
        ([0.179], [0.621])
    """
    lo, hi = np.minimum(x1, x2), np.maximum(x1, x2)
    diff = hi - lo
    ok = diff > _EPS
    safe = np.where(ok, diff, 1.0)
    e = eta + 1.0

    def spread(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** (-e)  # the bounded form: the tail past the bound is cut off
        inner = (u * alpha) ** (1.0 / e)
        outer = (1.0 / np.maximum(2.0 - u * alpha, _EPS)) ** (1.0 / e)
        out: np.ndarray = np.where(u <= 1.0 / alpha, inner, outer)
        return out

    c_lo = 0.5 * (lo + hi - spread(1.0 + 2.0 * lo / safe) * diff)
    c_hi = 0.5 * (lo + hi + spread(1.0 + 2.0 * (1.0 - hi) / safe) * diff)
    c_lo = np.where(ok, np.clip(c_lo, 0.0, 1.0), lo)
    c_hi = np.where(ok, np.clip(c_hi, 0.0, 1.0), hi)
    first = x1 <= x2
    return np.where(first, c_lo, c_hi), np.where(first, c_hi, c_lo)


def polynomial_mutation(y: np.ndarray, eta: float, u: np.ndarray) -> np.ndarray:
    """Bounded polynomial mutation in [0, 1] (Deb & Goyal 1996, in the form of Deb's NSGA-II code).

    Args:
        y: ``(d,)`` values in [0, 1].
        eta: distribution index; larger keeps the mutant closer to ``y``.
        u: ``(d,)`` uniform draws in [0, 1); ``u < 0.5`` moves down, else up.

    Example:
        >>> polynomial_mutation(np.array([0.5]), 20.0, np.array([0.5])).tolist()
        [0.5]
    """
    e = eta + 1.0
    down = u < 0.5
    xy = np.where(down, 1.0 - y, y)  # 1 - (distance to the bound the move heads for)
    val = np.where(
        down, 2.0 * u + (1.0 - 2.0 * u) * xy**e, 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy**e
    )
    delta = np.where(down, val ** (1.0 / e) - 1.0, 1.0 - val ** (1.0 / e))
    out: np.ndarray = np.clip(y + delta, 0.0, 1.0)
    return out


# -- survival -----------------------------------------------------------------------------------
Survivors = tuple[np.ndarray, np.ndarray, np.ndarray]  # (kept rows, their ranks, their crowding)


def _inputs(values: ArrayLike, violations: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    arr = np.clip(np.nan_to_num(np.array(values, dtype=float), nan=_BIG), -_BIG, _BIG)
    n = arr.shape[0] if arr.ndim == 2 else 0
    viol = np.zeros(n) if violations is None else np.asarray(violations, dtype=float)
    return arr, viol


def crowding_survival(values: ArrayLike, violations: ArrayLike | None, k: int) -> Survivors:
    """NSGA-II survival: the ``k`` best rows by constrained rank, then crowding distance.

    Deb et al. 2002, Sec. III-C: whole fronts while they fit, then the least crowded points of
    the next front; ties keep the earlier row.

    Args:
        values: ``(n, m)`` objective values to minimize.
        violations: ``(n,)`` total constraint violations (0: feasible), or None for none.
        k: how many rows to keep.

    Returns:
        ``(rows, ranks, crowding)``: the kept rows in increasing order, their constrained ranks
        and their crowding distances within their fronts.

    Example:
        >>> rows, _, _ = crowding_survival([[0, 4], [1, 3], [2, 2], [4, 0], [3, 3]], None, 3)
        >>> rows.tolist()
        [0, 2, 3]
    """
    arr, viol = _inputs(values, violations)
    ranks = constrained_ranks(arr, viol)
    crowd = np.zeros(len(ranks))
    for r in np.unique(ranks):
        front = np.flatnonzero(ranks == r)
        crowd[front] = crowding_distance(arr[front])
    order = np.lexsort((np.arange(len(ranks)), -crowd, ranks))
    rows = np.sort(order[:k])
    return rows, ranks[rows], crowd[rows]


def das_dennis(n_objectives: int, n_partitions: int) -> np.ndarray:
    """Das & Dennis (SIAM J. Optim. 8(3), 1998) points: the simplex grid with spacing 1/p.

    Returns:
        ``(C(m + p - 1, p), m)`` points with nonnegative coordinates summing to 1.

    Example:
        >>> das_dennis(2, 2).tolist()
        [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    """
    m = check_int("n_objectives", n_objectives, 1)
    p = check_int("n_partitions", n_partitions, 1)
    slots = p + m - 1
    rows = [  # stars and bars: m - 1 bars among p + m - 1 slots
        np.diff([-1, *bars, slots]) - 1 for bars in itertools.combinations(range(slots), m - 1)
    ]
    out: np.ndarray = np.array(rows, dtype=float).reshape(-1, m) / p
    return out


def default_partitions(n_objectives: int, population_size: int) -> int:
    """The most partitions whose Das-Dennis points are no more than ``population_size`` (>= 1),
    as Deb & Jain 2014 size the population just above the number of reference points.

    Example:
        >>> default_partitions(3, 20), len(das_dennis(3, 4))
        (4, 15)
    """
    if n_objectives <= 1:
        return 1
    p = 1
    while math.comb(n_objectives + p, p + 1) <= population_size:
        p += 1
    return p


def _normalize(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Objectives translated by the ideal point and scaled by the intercepts of the hyperplane
    through the extreme points (Deb & Jain 2014, Algorithm 2); where that is degenerate, by the
    maximum of the first front (``first``: its mask)."""
    f = values - values.min(axis=0)
    m = f.shape[1]
    weights = np.where(np.eye(m) > 0, 1.0, 1e-6)
    asf = np.max(f[:, None, :] / weights[None, :, :], axis=2)  # (n, m): ASF of each axis
    extremes = f[np.argmin(asf, axis=0)]
    fallback = f[first].max(axis=0)
    fallback = np.where(fallback > _EPS, fallback, 1.0)
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            intercepts = 1.0 / np.linalg.solve(extremes, np.ones(m))
    except np.linalg.LinAlgError:
        intercepts = fallback
    if not (np.all(np.isfinite(intercepts)) and np.all(intercepts > 1e-6)):
        intercepts = fallback
    out: np.ndarray = f / intercepts
    return out


def _associate(points: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest reference line of each point and the perpendicular distance to it (Algorithm 3)."""
    unit = refs / np.linalg.norm(refs, axis=1, keepdims=True)
    proj = points @ unit.T
    dist = np.sqrt(np.maximum(np.sum(points * points, axis=1)[:, None] - proj * proj, 0.0))
    niche = np.argmin(dist, axis=1)
    return niche, dist[np.arange(len(points)), niche]


def _niching(
    n_pick: int, counts: np.ndarray, niche: np.ndarray, dist: np.ndarray, g: np.random.Generator
) -> np.ndarray:
    """Rows of the last front to keep (Deb & Jain 2014, Algorithm 4): the least crowded reference
    first; an empty one takes its closest point, another a random one of its points."""
    counts = counts.copy()
    open_ = np.ones(len(counts), dtype=bool)
    taken = np.zeros(len(niche), dtype=bool)
    picked: list[int] = []
    while len(picked) < n_pick:
        candidates = np.flatnonzero(open_)
        least = candidates[counts[candidates] == counts[candidates].min()]
        j = int(least[int(g.integers(len(least)))])
        members = np.flatnonzero((niche == j) & ~taken)
        if members.size == 0:
            open_[j] = False
            continue
        if counts[j] == 0:
            i = int(members[np.argmin(dist[members])])
        else:
            i = int(members[int(g.integers(len(members)))])
        taken[i] = True
        picked.append(i)
        counts[j] += 1
    return np.array(picked, dtype=np.intp)


def reference_survival(
    values: ArrayLike,
    violations: ArrayLike | None,
    k: int,
    reference_points: np.ndarray,
    g: np.random.Generator,
) -> Survivors:
    """NSGA-III survival: whole fronts while they fit, the last one by reference-point niching.

    Args:
        values: ``(n, m)`` objective values to minimize.
        violations: ``(n,)`` total constraint violations (0: feasible), or None for none.
        k: how many rows to keep.
        reference_points: ``(h, m)`` reference directions (e.g. :func:`das_dennis`).
        g: draws the niching's ties.

    Returns:
        ``(rows, ranks, zeros)``: the kept rows in increasing order and their constrained ranks
        (NSGA-III has no crowding distance).
    """
    arr, viol = _inputs(values, violations)
    ranks = constrained_ranks(arr, viol)
    n = len(ranks)
    if n > k:
        sizes = np.cumsum(np.bincount(ranks))
        last = int(np.searchsorted(sizes, k))  # fronts 0 .. last hold >= k rows
        chosen = np.flatnonzero(ranks < last)
        if sizes[last] > k:
            pool = np.flatnonzero(ranks <= last)
            points = _normalize(arr[pool], ranks[pool] == ranks[pool].min())
            niche, dist = _associate(points, reference_points)
            inside = ranks[pool] < last
            counts = np.bincount(niche[inside], minlength=len(reference_points))
            picked = _niching(k - len(chosen), counts, niche[~inside], dist[~inside], g)
            rows = np.sort(np.concatenate([chosen, pool[~inside][picked]]))
        else:
            rows = np.flatnonzero(ranks <= last)
    else:
        rows = np.arange(n)
    return rows, ranks[rows], np.zeros(len(rows))


# -- the samplers -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Config:
    population_size: int
    crossover_prob: float
    mutation_prob: float | None
    swap_prob: float
    crossover_eta: float
    mutation_eta: float


@dataclass(frozen=True, slots=True)
class _Population:
    """The survivors of a generation and the keys (rank, crowding) their tournaments compare."""

    trials: tuple[FrozenTrial, ...]
    ranks: np.ndarray
    crowding: np.ndarray


_EMPTY = _Population((), np.zeros(0, dtype=np.intp), np.zeros(0))


def _check_real(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    """``value`` as a float in ``[low, high]`` (``(low, high]`` with ``open_low``), or an error."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    if not (math.isfinite(v) and (low < v if open_low else low <= v) and v <= high):
        bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        raise InvalidArgumentError(f"`{name}` must be a number in {bounds}, got {name}={value!r}")
    return v


def violation(t: FrozenTrial) -> float:
    """Total constraint violation ``sum(max(0, c))`` of a trial (0 without constraints)."""
    raw = t.system_attrs.get(CONSTRAINTS_KEY)
    if raw is None:
        return 0.0
    try:
        c = np.asarray(raw, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"trial {t.number}'s system attribute {CONSTRAINTS_KEY!r} must be a list of floats "
            f"(<= 0 means satisfied), got {raw!r}"
        ) from exc
    total = float(np.sum(np.maximum(np.where(np.isnan(c), np.inf, c), 0.0)))
    return min(total, _BIG)


def _encode(t: FrozenTrial, dists: Sequence[tuple[str, Distribution]]) -> np.ndarray:
    """Unit-cube coordinates of numeric parameters, choice indices of categorical ones."""
    return np.array(
        [
            d.to_internal(t.params[n])
            if isinstance(d, Categorical)
            else float(d.to_unit(d.to_internal(t.params[n])))
            for n, d in dists
        ]
    )


def _decode(x: np.ndarray, dists: Sequence[tuple[str, Distribution]]) -> dict[str, Any]:
    return {
        n: d.to_external(float(x[j]) if isinstance(d, Categorical) else d.decode(float(x[j])))
        for j, (n, d) in enumerate(dists)
    }


class _GeneticSampler:
    """What NSGA-II and NSGA-III share: validation, generations, replay cache and variation."""

    def __init__(
        self,
        *,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
        swap_prob: float = 0.5,
        crossover_eta: float = 15.0,
        mutation_eta: float = 20.0,
    ) -> None:
        mp = mutation_prob
        self._cfg = _Config(
            population_size=check_int("population_size", population_size, 2),
            crossover_prob=_check_real("crossover_prob", crossover_prob, 0.0, 1.0),
            mutation_prob=None if mp is None else _check_real("mutation_prob", mp, 0.0, 1.0),
            swap_prob=_check_real("swap_prob", swap_prob, 0.0, 1.0),
            crossover_eta=_check_real("crossover_eta", crossover_eta, 0.0, 1e6, open_low=True),
            mutation_eta=_check_real("mutation_eta", mutation_eta, 0.0, 1e6, open_low=True),
        )
        self._init_cache()

    def _init_cache(self) -> None:
        self._lock = threading.Lock()
        self._cache_id: tuple[Any, ...] | None = None
        self._cache: list[tuple[tuple[Any, ...], _Population]] = []  # one entry per generation

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_cache", "_cache_id")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_cache()

    def _args(self) -> list[str]:
        return [f"{f.name}={v!r}" for f, v in zip(fields(_Config), astuple(self._cfg), strict=True)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._args())})"

    # -- the Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The parameters every COMPLETE trial has (multi-valued ones), drawn as one individual."""
        return {n: d for n, d in intersection_space(view.completed).items() if not d.single()}

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """A child of two parents for the joint parameters of ``space``; uniform values for the
        others, and for everything in generation 0."""
        self._check_view(view)
        joint = self.joint_space(view)
        dists = [(n, d) for n, d in space.items() if joint.get(n) == d]
        out: dict[str, Any] = {}
        if dists:
            number = len(view.trials) if view.current is None else view.current
            pop = self._parents(view, number // self._cfg.population_size)
            if pop.trials:
                out = _decode(self._child(pop, dists, rng), dists)
        rest = {n: d for n, d in space.items() if n not in out}
        if rest:
            out.update(sample_uniform(rest, rng))
        return {name: out[name] for name in space}

    # -- generations ----------------------------------------------------------------------------
    def population(self, view: StudyView, generation: int) -> tuple[FrozenTrial, ...]:
        """The parents of ``generation`` (in number order): the survivors of generations
        ``0 .. generation - 1``; ``generation`` may be one past the view's last trial's.

        ``view`` may be ``hs.StudyView(study.trials, study.directions, study.seed)``.
        """
        return self._parents(view, generation).trials

    def _parents(self, view: StudyView, generation: int) -> _Population:
        size = self._cfg.population_size
        members: list[list[FrozenTrial]] = [[] for _ in range(max(generation, 0))]
        for t in view.completed:
            if t.number // size < generation:
                members[t.number // size].append(t)
        cache_id = (view.seed, view.directions)
        with self._lock:
            if self._cache_id != cache_id:
                self._cache_id, self._cache = cache_id, []
            pop = _EMPTY
            for g, group in enumerate(members):
                key = tuple(
                    (t.number, t.values, t.system_attrs.get(CONSTRAINTS_KEY)) for t in group
                )
                if g < len(self._cache) and self._cache[g][0] == key:
                    pop = self._cache[g][1]
                    continue
                del self._cache[g:]
                pop = self._next(view, pop, group, g)
                self._cache.append((key, pop))
            return pop

    def _next(
        self, view: StudyView, pop: _Population, group: list[FrozenTrial], g: int
    ) -> _Population:
        """(mu + lambda): the parents and generation ``g``'s offspring compete for the places."""
        if not group:
            return pop
        trials = pop.trials + tuple(group)
        values = view.signed_values(trials)
        viol = np.array([violation(t) for t in trials])
        rng = np.random.default_rng([view.seed, g, _TAG])
        rows, ranks, crowd = self._survive(values, viol, self._cfg.population_size, rng)
        return _Population(tuple(trials[i] for i in rows), ranks, crowd)

    def _survive(
        self, values: np.ndarray, viol: np.ndarray, k: int, rng: np.random.Generator
    ) -> Survivors:
        raise NotImplementedError

    def _check_view(self, view: StudyView) -> None:
        """Refuse a study the sampler's settings do not fit (nothing to check by default)."""

    # -- variation ------------------------------------------------------------------------------
    def _child(
        self, pop: _Population, dists: list[tuple[str, Distribution]], rng: np.random.Generator
    ) -> np.ndarray:
        """One child: tournaments, crossover, mutation (see the module docstring)."""
        cfg = self._cfg
        x1 = _encode(pop.trials[_tournament(pop, rng)], dists)
        x2 = _encode(pop.trials[_tournament(pop, rng)], dists)
        d = len(dists)
        categorical = np.array([isinstance(dist, Categorical) for _, dist in dists])
        n_choices = np.array([dist.n_values or 1 for _, dist in dists], dtype=float)
        cross = rng.random() < cfg.crossover_prob
        swap = rng.random(d) < cfg.swap_prob
        y1, y2 = np.where(categorical, 0.5, x1), np.where(categorical, 0.5, x2)
        c1, c2 = sbx(y1, y2, cfg.crossover_eta, rng.random(d))
        c1, c2 = np.where(categorical, x1, c1), np.where(categorical, x2, c2)
        child = np.where(swap, c2, c1) if cross else x1
        rate = 1.0 / d if cfg.mutation_prob is None else cfg.mutation_prob
        mutate = rng.random(d) < rate
        u = rng.random(d)
        numeric = polynomial_mutation(np.where(categorical, 0.5, child), cfg.mutation_eta, u)
        redraw = np.minimum(np.floor(u * n_choices), n_choices - 1)
        mutant = np.where(categorical, redraw, numeric)
        out: np.ndarray = np.where(mutate, mutant, child)
        return out


def _tournament(pop: _Population, rng: np.random.Generator) -> int:
    """Binary tournament: the lower rank wins, then the larger crowding distance, then the first."""
    i, j = (int(v) for v in rng.integers(len(pop.trials), size=2))
    if (pop.ranks[j], -pop.crowding[j]) < (pop.ranks[i], -pop.crowding[i]):
        return j
    return i


class NSGAIISampler(_GeneticSampler):
    """NSGA-II (Deb et al. 2002): an elitist genetic algorithm for two or three objectives.

    Survival keeps the best ``population_size`` of parents plus offspring by constrained
    non-dominated rank, then crowding distance. Works for one objective too (ranks by value).
    Give it at least several generations: ``n_trials`` of ten times ``population_size`` or more.
    Constraints come from each trial's ``system_attrs["constraints"]``.

    Args:
        population_size: individuals per generation (trials ``g P .. g P + P - 1`` form
            generation ``g``); the first generation is uniform random.
        crossover_prob: probability that a child is bred by crossover, not copied from a parent.
        mutation_prob: per-parameter mutation probability; ``1 / d`` when None.
        swap_prob: per-parameter probability of taking the second parent's side in crossover.
        crossover_eta: SBX distribution index (larger: children closer to their parents).
        mutation_eta: polynomial mutation distribution index.

    Example:
        >>> import hyperscout as hs
        >>> def objective(trial):
        ...     x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        ...     return x, (1 + y) * (1 - x**0.5)
        >>> sampler = NSGAIISampler(population_size=10)
        >>> study = hs.create_study(directions=["minimize", "minimize"], sampler=sampler, seed=0)
        >>> study.optimize(objective, n_trials=60)
        >>> len(study.best_trials) > 3
        True
    """

    def _survive(
        self, values: np.ndarray, viol: np.ndarray, k: int, rng: np.random.Generator
    ) -> Survivors:
        return crowding_survival(values, viol, k)


class NSGAIIISampler(_GeneticSampler):
    """NSGA-III (Deb & Jain 2014): reference-point survival for three or more objectives.

    Like :class:`NSGAIISampler` (same operators and arguments), but the last front that fits only
    in part is thinned by niching on reference directions, which keeps the front spread where
    crowding distance fails in many objectives.

    Args:
        reference_points: ``(h, m)`` reference directions for ``m`` objectives, or None for
            Das-Dennis points with the most partitions giving no more than ``population_size``
            points (:func:`default_partitions`).
        population_size, crossover_prob, mutation_prob, swap_prob, crossover_eta, mutation_eta:
            as for :class:`NSGAIISampler`.

    Example:
        >>> sampler = NSGAIIISampler(population_size=20, reference_points=das_dennis(3, 4))
        >>> len(sampler.reference_points(3))
        15
    """

    def __init__(
        self,
        *,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
        swap_prob: float = 0.5,
        crossover_eta: float = 15.0,
        mutation_eta: float = 20.0,
        reference_points: ArrayLike | None = None,
    ) -> None:
        super().__init__(
            population_size=population_size,
            crossover_prob=crossover_prob,
            mutation_prob=mutation_prob,
            swap_prob=swap_prob,
            crossover_eta=crossover_eta,
            mutation_eta=mutation_eta,
        )
        self._refs = None if reference_points is None else _check_refs(reference_points)

    def _args(self) -> list[str]:
        refs = None if self._refs is None else self._refs.tolist()
        return [*super()._args(), f"reference_points={refs!r}"]

    def reference_points(self, n_objectives: int) -> np.ndarray:
        """The reference directions used for a study with ``n_objectives`` objectives."""
        if self._refs is not None:
            return self._refs
        return _default_refs(n_objectives, self._cfg.population_size)

    def _check_view(self, view: StudyView) -> None:
        if self._refs is not None and self._refs.shape[1] != view.n_objectives:
            raise InvalidArgumentError(
                f"`reference_points` must have one column per objective ({view.n_objectives}), "
                f"got shape {self._refs.shape}"
            )

    def _survive(
        self, values: np.ndarray, viol: np.ndarray, k: int, rng: np.random.Generator
    ) -> Survivors:
        return reference_survival(values, viol, k, self.reference_points(values.shape[1]), rng)


@lru_cache(maxsize=16)
def _default_refs(n_objectives: int, population_size: int) -> np.ndarray:
    out = das_dennis(n_objectives, default_partitions(n_objectives, population_size))
    out.setflags(write=False)
    return out


def _check_refs(points: ArrayLike) -> np.ndarray:
    """Reference points as a read-only ``(h, m)`` float array of finite, nonzero rows."""
    try:
        arr = np.array(points, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"`reference_points` must be an (n_points, n_objectives) array, got {points!r}"
        ) from exc
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidArgumentError(
            f"`reference_points` must be an (n_points, n_objectives) array, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(np.linalg.norm(arr, axis=1) == 0):
        raise InvalidArgumentError(
            "`reference_points` must be finite and no row may be all zeros (a row is a direction)"
        )
    arr.setflags(write=False)
    return arr

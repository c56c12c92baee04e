"""TPE: the Tree-structured Parzen Estimator sampler (the study's default).

After ``n_startup_trials`` random trials, each suggestion ranks the COMPLETE trials and splits
them into a good group (the best ``gamma(n)``) and a bad group (the rest, plus PRUNED and FAILED
trials and, with the constant liar, trials still running). For the parameters at hand it fits a
Parzen estimator to the good and to the bad trials that have them (``l`` and ``g``, see
:mod:`hyperscout.samplers._parzen`), draws ``n_ei_candidates`` points from ``l`` and returns the
one maximizing ``log l(x) - log g(x)``: expected improvement is monotone in that ratio (Bergstra
et al., "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011, Sec. 4.1).

Defaults follow Watanabe, "Tree-Structured Parzen Estimator: Understanding Its Algorithm
Components and Their Roles for Better Empirical Performance" (arXiv:2304.11127, 2023), Sec. 3
and its recommended setting: multivariate kernels, the linear split ``gamma(n) = min(ceil(0.15 n),
25)``, expected-improvement weights for the good group, prior weight 1 and a minimum bandwidth
of 0.03 of the range. Two choices differ, both measured on our quality benchmarks: the bad group
uses Hyperopt's linear forgetting instead of uniform weights (it keeps categorical branches
explored), and the magic clip uses Hyperopt's exponent 1 instead of 2 (wider good-group kernels
while the group is small).

With several objectives the good group holds the best ``gamma(n)`` trials by non-dominated rank,
the last front that fits only partly being cut by greedy hypervolume subset selection, and its
weights are the hypervolume contributions (MOTPE: Ozaki et al., "Multiobjective Tree-Structured
Parzen Estimator", JAIR 73, 2022). Constraints (a finished trial's ``system_attrs["constraints"]``,
values ``<= 0`` satisfied) rank feasible trials before infeasible ones, as constrained domination
does (Deb et al., IEEE TEVC 6(2), 2002); infeasible trials follow by total violation, so they join
the good group only while fewer than ``gamma(n)`` trials are feasible (in the spirit of c-TPE,
Watanabe & Hutter, IJCAI 2023).
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hyperscout._records import CONSTRAINTS_KEY, FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.multiobjective import (
    constrained_ranks,
    hypervolume,
    non_dominated_sort,
    reference_point,
)
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.samplers._parzen import (
    KernelConfig,
    ParzenEstimator,
    codec,
    decay_weights,
    ei_weights,
    hv_weights,
    layout,
    points,
)
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Distribution

__all__ = ["TPESampler", "default_gamma"]

_NO_VALUE = (TrialState.PRUNED, TrialState.FAILED)
_DONE, _NO_RESULT, _LIVE, _SKIP = 0, 1, 2, 3  # what a snapshot makes of each trial
_REF_MARGIN = 0.1  # hypervolume reference: 10% of each objective's range past its worst value
_CELLS_3D = 32 * 26 * 26  # three objectives: 32 gains at once when 25 points are chosen


def default_gamma(n: int) -> int:
    """Size of the good group: ``min(ceil(0.15 n), 25)`` (Watanabe 2023, Sec. 3, linear split).

    Example:
        >>> default_gamma(100)
        15
    """
    return min(math.ceil(0.15 * n), 25)


# -- cache: finished trials encoded once ---------------------------------------------------------
Key = tuple[str, Distribution]


class _Table:
    """Finished trials, each encoded once into model-coordinate columns keyed by (name, dist),
    with their values and their total constraint violation.

    Rows are keyed by ``id(trial)``; the table keeps a reference to every trial it encoded, so an
    id cannot be reused while its row exists. Finished trials are immutable and a study hands the
    same object out in every view, so a row never goes stale; it only goes unused.
    """

    def __init__(self, n_objectives: int) -> None:
        self.n_objectives = n_objectives
        self.rows: dict[int, int] = {}
        self.trials: list[FrozenTrial] = []
        self.cap = 64
        self.values = np.full((self.cap, n_objectives), np.nan)
        self.numbers = np.full(self.cap, np.nan)
        self.violation = np.zeros(self.cap)  # 0: feasible or unconstrained
        self.constrained = np.zeros(self.cap, dtype=bool)  # the trial has constraint values
        self.cols: dict[Key, np.ndarray] = {}  # NaN where a trial lacks the parameter

    def row(self, t: FrozenTrial) -> int:
        """Row of a finished trial, added when seen for the first time."""
        r = self.rows.get(id(t))
        return self._add(t) if r is None else r

    def _add(self, t: FrozenTrial) -> int:
        r = len(self.trials)
        if r == self.cap:
            self.cap *= 2
            self.values = _grow(self.values, self.cap)
            self.numbers = _grow(self.numbers, self.cap)
            self.violation = _grow(self.violation, self.cap, 0.0)
            self.constrained = _grow(self.constrained, self.cap, False)
            self.cols = {k: _grow(v, self.cap) for k, v in self.cols.items()}
        self.trials.append(t)
        self.rows[id(t)] = r
        self.numbers[r] = t.number
        if t.values is not None and len(t.values) == self.n_objectives:
            self.values[r] = t.values
        violation = _violation(t.system_attrs.get(CONSTRAINTS_KEY))
        if violation is not None:
            self.constrained[r], self.violation[r] = True, violation
        for name, dist in t.distributions.items():
            col = self.cols.get((name, dist))
            if col is None:
                col = self.cols[(name, dist)] = np.full(self.cap, np.nan)
            col[r] = codec(dist).encode_one(dist.to_internal(t.params[name]))
        return r


def _grow(a: np.ndarray, cap: int, fill: float | bool = np.nan) -> np.ndarray:
    out = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _violation(constraints: Any) -> float | None:
    """``sum(max(0, c))`` of a trial's constraint values; None without constraints.

    Values that are not numbers, and NaN, count as an infinite violation.
    """
    if constraints is None:
        return None
    try:
        c = np.asarray(constraints, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return math.inf
    if np.isnan(c).any():
        return math.inf
    return float(np.maximum(c, 0.0).sum())


class _Snapshot:
    """A view's trials as table rows, computed once per view (joint_space + suggest).

    Consecutive views of a study hold mostly the same trial objects, so a snapshot starts from
    the previous one and looks again only at the positions whose trial object changed.
    """

    __slots__ = ("_complete_cols", "_split", "complete", "failed", "kind", "row", "table", "view")

    def __init__(self, view: StudyView, table: _Table, prev: _Snapshot | None) -> None:
        self.view = view
        self.table = table
        trials = view.trials
        n = len(trials)
        self.kind = np.full(n, _LIVE, dtype=np.int8)
        self.row = np.full(n, -1, dtype=np.int64)
        todo: Sequence[int] = range(n)
        if prev is not None and prev.table is table:
            old = prev.view.trials
            m = min(len(old), n)
            same = np.fromiter(map(operator.is_, old[:m], trials[:m]), dtype=bool, count=m)
            self.kind[:m], self.row[:m] = prev.kind[:m], prev.row[:m]
            todo = [*np.flatnonzero(~same).tolist(), *range(m, n)]
        for i in todo:
            t = trials[i]
            done = t.state is TrialState.COMPLETE
            if done and t.values is not None:
                self.kind[i], self.row[i] = _DONE, table.row(t)
            elif t.state in _NO_VALUE:  # finished without a value: always in the bad group
                self.kind[i], self.row[i] = _NO_RESULT, table.row(t)
            else:
                self.kind[i] = _SKIP if done else _LIVE
        self.complete = self.row[self.kind == _DONE]  # rows, by trial number
        self.failed = self.row[self.kind == _NO_RESULT]  # PRUNED and FAILED trials
        self._complete_cols: dict[tuple[Key, ...], np.ndarray] = {}
        self._split: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def running(self) -> list[FrozenTrial]:
        """RUNNING, WAITING and PAUSED trials other than the one being sampled."""
        live = (self.view.trials[i] for i in np.flatnonzero(self.kind == _LIVE))
        return [t for t in live if t.number != self.view.current]

    def split(
        self, rule: Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``rule(signed values, violations)`` (good mask, weights), computed once for
        this view; the violations are None when no COMPLETE trial has constraints."""
        if self._split is None:
            rows = self.complete
            sign = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in self.view.directions]
            violation = self.table.violation[rows] if self.table.constrained[rows].any() else None
            self._split = rule(self.table.values[rows] * np.array(sign), violation)
        return self._split[0].copy(), self._split[1]

    def columns(self, keys: Sequence[Key], rows: np.ndarray) -> np.ndarray:
        """``(len(rows), len(keys))`` model coordinates, NaN where a trial lacks the parameter."""
        cols = [self.table.cols.get(k) for k in keys]
        out = np.full((len(rows), len(keys)), np.nan)
        for j, c in enumerate(cols):
            if c is not None:
                out[:, j] = c[rows]
        return out

    def complete_columns(self, keys: Sequence[Key]) -> np.ndarray:
        """:meth:`columns` of the COMPLETE trials, remembered for this view."""
        key = tuple(keys)
        out = self._complete_cols.get(key)
        if out is None:
            out = self._complete_cols[key] = self.columns(keys, self.complete)
        return out

    def intersection(self) -> dict[str, Distribution]:
        """Multi-valued parameters every COMPLETE trial has with one distribution, by name."""
        if not len(self.complete):
            return {}
        first = self.table.trials[self.complete[0]].distributions
        keys = [(k, first[k]) for k in sorted(first) if not first[k].single()]
        if not keys:
            return {}
        present = ~np.isnan(self.complete_columns(keys)).any(axis=0)
        return {name: dist for (name, dist), ok in zip(keys, present, strict=True) if ok}


def _finite(y: np.ndarray) -> np.ndarray:
    """``y`` with each column's infinite values moved just past its finite ones (order kept)."""
    out: np.ndarray = y.copy()
    for j in range(y.shape[1]):
        v = y[:, j]
        fin = v[np.isfinite(v)]
        lo, hi = (float(fin.min()), float(fin.max())) if len(fin) else (0.0, 0.0)
        out[:, j] = np.where(
            v == np.inf, 2 * hi - lo + 1, np.where(v == -np.inf, 2 * lo - hi - 1, v)
        )
    return out


def _hssp(y: np.ndarray, size: int, ref: np.ndarray) -> np.ndarray:
    """Positions of ``size`` rows of the front ``y`` (``(f, m)``) chosen greedily for hypervolume.

    Greedy inclusion for the hypervolume subset selection problem, a ``1 - 1/e`` approximation
    (Guerreiro, Fonseca & Paquete, "Greedy Hypervolume Subset Selection in Low Dimensions",
    Evol. Comput. 24(3), 2016), with volumes up to ``ref`` (which every row strictly dominates);
    ties go to the earlier row. It is lazy: a point's gain only shrinks as the subset grows
    (submodularity), so a stale gain bounds the fresh one and only the leaders are recomputed
    (Minoux's accelerated greedy, as in Chen, Ishibuchi & Shang, "Lazy Greedy Hypervolume Subset
    Selection from Large Candidate Solution Sets", IEEE CEC 2020): every candidate at once for
    two objectives, a batch of the best bounds for three (both vectorized), one exact
    hypervolume for more.
    """
    m = y.shape[1]
    gains = _gains_2d if m == 2 else _gains_3d if m == 3 else None
    box = np.prod(ref - y, axis=1)
    bound = box.copy()  # what each point adds to the empty subset
    exact_at = np.zeros(len(y), dtype=np.int64)  # subset size each bound was computed for
    chosen: list[int] = []
    volume = 0.0
    while len(chosen) < size:
        i, t = int(np.argmax(bound)), len(chosen)
        if exact_at[i] == t:  # an exact gain that beats every bound: greedy's choice
            chosen.append(i)
            volume += bound[i]
            bound[i], exact_at[i] = -np.inf, size
            # a point adds no more than it adds next to the new one alone
            np.minimum(bound, box - np.prod(ref - np.maximum(y, y[i]), axis=1), out=bound)
            continue
        if gains is None:
            todo = np.array([i])
            bound[i] = hypervolume(y[[*chosen, i]], ref) - volume
        else:  # the leaders at once: all (2-d), a batch of (q, t + 1, t) arrays (3-d)
            batch = len(y) if m == 2 else max(1, _CELLS_3D // (t + 1) ** 2)
            stale = np.flatnonzero(exact_at < t)
            todo = stale[np.argsort(-bound[stale], kind="stable")[:batch]]  # i first
            bound[todo] = gains(y[todo], y[chosen], ref)
        exact_at[todo] = t
    return np.array(chosen, dtype=np.int64)


def _gains_2d(c: np.ndarray, s: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume each row of ``c`` adds to the rows of ``s``, all of one 2-d front.

    Between mutually non-dominated points a candidate adds the rectangle up to the next chosen
    point's ``f1`` and the previous one's ``f2`` (``ref`` where there is none).
    """
    s = s[np.argsort(s[:, 0], kind="stable")]
    pos = np.searchsorted(s[:, 0], c[:, 0], side="right")
    width = np.append(s[:, 0], ref[0])[pos] - c[:, 0]
    height = np.concatenate([[ref[1]], s[:, 1]])[pos] - c[:, 1]
    out: np.ndarray = width * height
    return out


def _gains_3d(c: np.ndarray, s: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume each row of ``c`` adds to the rows of ``s`` (3 objectives, inside ``ref``).

    The dimension sweep of Fonseca, Paquete & López-Ibáñez (IEEE CEC 2006), vectorized over
    candidates: between consecutive third objectives of ``s`` a candidate adds the part of its
    ``(f1, f2)`` rectangle that the points of ``s`` below leave uncovered, a 2-d staircase.
    """
    s = s[np.argsort(s[:, 2], kind="stable")]
    t = len(s)
    edges = np.concatenate([[-np.inf], s[:, 2], [ref[2]]])
    depth = np.diff(np.maximum(c[:, 2:3], edges), axis=1)  # (q, t + 1) slab thickness
    order = np.argsort(s[:, 0], kind="stable")  # the staircase runs by increasing f1
    x = np.maximum(c[:, 0:1], s[order, 0])
    width = np.diff(np.concatenate([x, np.full((len(c), 1), ref[0])], axis=1), axis=1)
    below = order[None, :] < np.arange(t + 1)[:, None]  # (t + 1, t): in slab k, z-rank < k
    y = np.where(below, np.maximum(c[:, None, 1:2], s[order, 1]), ref[1])  # (q, t + 1, t)
    covered = np.einsum("qj,qkj->qk", width, ref[1] - np.minimum.accumulate(y, axis=2))
    area = (ref[0] - c[:, 0]) * (ref[1] - c[:, 1])
    out: np.ndarray = np.einsum("qk,qk->q", area[:, None] - covered, depth)
    return out


def _good_multi(y: np.ndarray, violation: np.ndarray | None, k: int, ref: np.ndarray) -> np.ndarray:
    """Sorted rows of the ``k`` best of ``y`` (``(n, m)``, finite, smaller is better).

    Whole fronts of non-dominated sorting (under constrained domination with violations) while
    they fit, then the front that fits only partly is cut by :func:`_hssp`, as in MOTPE (Ozaki
    et al. 2022); a partly fitting group of infeasible trials with equal violation, oldest first.
    """
    if violation is None:
        ranks = non_dominated_sort(y, n_below=k)
    else:
        ranks = constrained_ranks(y, _finite(violation[:, None])[:, 0])
    full = int(np.searchsorted(np.cumsum(np.bincount(ranks)), k, side="right"))
    chosen = np.flatnonzero(ranks < full)
    need = k - len(chosen)
    if need > 0:
        tie = np.flatnonzero(ranks == full)
        if violation is None or violation[tie[0]] == 0:
            tie = tie[_hssp(y[tie], need, ref)]
        chosen = np.concatenate([chosen, tie[:need]])
    return np.sort(chosen)


def _running_rows(running: Sequence[FrozenTrial], keys: list[Key]) -> tuple[np.ndarray, np.ndarray]:
    """Model coordinates and numbers of the running trials holding every parameter of ``keys``."""
    live = [t for t in running if all(t.distributions.get(n) == d for n, d in keys)]
    rows = [[codec(d).encode_one(d.to_internal(t.params[n])) for n, d in keys] for t in live]
    x = np.array(rows, dtype=float).reshape(len(live), len(keys))
    return x, np.array([t.number for t in live], dtype=float)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"`{name}` must be True or False, got {name}={value!r}")
    return bool(value)


class TPESampler:
    """Tree-structured Parzen Estimator: model good and bad trials, sample where good dominates.

    Several objectives rank trials by Pareto fronts and weight the good ones by hypervolume
    contribution (MOTPE). Trials with constraint values (``system_attrs["constraints"]``, each
    ``<= 0`` when satisfied) rank feasible first, then by total violation.

    Args:
        n_startup_trials: COMPLETE trials sampled uniformly at random before the model takes
            over. A parameter that no COMPLETE trial has yet is drawn uniformly too.
        n_ei_candidates: candidates drawn from the good-trial density per suggestion; the one with
            the best density ratio wins. More is greedier and slower.
        multivariate: model the parameters every COMPLETE trial shares jointly (product kernels);
            False samples each parameter on its own (univariate TPE). Conditional parameters
            are always sampled on their own, from the good and bad trials that have them.
        constant_liar: count running, waiting and paused trials as bad results, so parallel
            workers spread out instead of proposing near-duplicates. (PRUNED and FAILED trials
            always count as bad results.)
        gamma: ``gamma(n) -> int``, the size of the good group among ``n`` COMPLETE trials;
            :func:`default_gamma` (``min(ceil(0.15 n), 25)``) when None.
        prior_weight: weight of the uniform prior component, relative to an average observation.
        consider_magic_clip: keep kernels at least 3% of the range wide (and wider while there
            are few observations), which keeps TPE exploring.

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(sampler=TPESampler(n_startup_trials=5), seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=30)
        >>> abs(study.best_params["x"] - 1) < 0.5
        True
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool = True,
        constant_liar: bool = True,
        gamma: Callable[[int], int] | None = None,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
    ) -> None:
        self._n_startup = check_int("n_startup_trials", n_startup_trials, 0)
        self._n_candidates = check_int("n_ei_candidates", n_ei_candidates, 1)
        self._multivariate = _check_bool("multivariate", multivariate)
        self._constant_liar = _check_bool("constant_liar", constant_liar)
        if gamma is not None and not callable(gamma):
            raise InvalidArgumentError(
                f"`gamma` must be None or a function n -> int (the good-group size), got {gamma!r}"
            )
        self._gamma = gamma
        if (
            isinstance(prior_weight, bool)
            or not isinstance(prior_weight, numbers.Real)
            or not math.isfinite(prior_weight)
            or prior_weight <= 0
        ):
            raise InvalidArgumentError(
                f"`prior_weight` must be a finite number > 0, got prior_weight={prior_weight!r}"
            )
        self._magic: bool = _check_bool("consider_magic_clip", consider_magic_clip)
        self._kernel: KernelConfig = KernelConfig(
            float(prior_weight), 0.03 if self._magic else None, 1.0
        )
        self._init_cache()

    def _init_cache(self) -> None:
        self._lock = threading.Lock()
        self._table: _Table | None = None
        self._snaps: list[_Snapshot] = []

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in ("_lock", "_table", "_snaps"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_cache()

    def __repr__(self) -> str:
        return (
            f"TPESampler(n_startup_trials={self._n_startup}, n_ei_candidates={self._n_candidates}, "
            f"multivariate={self._multivariate}, constant_liar={self._constant_liar}, "
            f"gamma={self._gamma!r}, prior_weight={self._kernel.prior_weight}, "
            f"consider_magic_clip={self._magic})"
        )

    # -- Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The parameters every COMPLETE trial shares (multivariate), else nothing."""
        if not self._multivariate:
            return {}
        snap = self._snapshot(view)
        with self._lock:
            return snap.intersection()

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """External values for every parameter of ``space``."""
        out: dict[str, Any] = {}
        free: dict[str, Distribution] = {}
        for name, dist in space.items():
            if dist.single():
                out[name] = dist.to_external(float(dist.from_unit(0.5)))
            else:
                free[name] = dist
        if free:
            snap = self._snapshot(view)
            joint = self._sample(snap, free, rng) if self._multivariate and len(free) > 1 else None
            if joint is not None:
                out.update(joint)
            else:
                for name, dist in free.items():
                    one = {name: dist}
                    out.update(self._sample(snap, one, rng) or sample_uniform(one, rng))
        return {name: out[name] for name in space}

    # -- internals --------------------------------------------------------------------------
    def _snapshot(self, view: StudyView) -> _Snapshot:
        with self._lock:
            for snap in self._snaps:
                if snap.view is view:
                    return snap
            table = self._table
            if (
                table is None
                or table.n_objectives != view.n_objectives
                or len(table.trials) > 2 * len(view.trials) + 256
            ):
                table = self._table = _Table(view.n_objectives)
            prev = self._snaps[0] if self._snaps else None
            snap = _Snapshot(view, table, prev)
            self._snaps = [snap, *self._snaps[:7]]
            return snap

    def _sample(
        self, snap: _Snapshot, space: dict[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """One TPE step over ``space``; None in startup or when no COMPLETE trial has it all."""
        names, dists = tuple(space), tuple(space.values())
        data = self._observations(snap, names, dists)
        if data is None:
            return None
        good, weights, bad, bad_weights = data
        lay, cont, disc, cat = layout(dists)
        below = ParzenEstimator(points(good, dists), weights, lay, self._kernel)
        above = ParzenEstimator(points(bad, dists), bad_weights, lay, self._kernel)
        cand = below.sample(rng, self._n_candidates)
        for j, i in enumerate(cont):
            dist = dists[i]
            if codec(dist).snap:  # score what will be stored: the allowed value nearest the draw
                cand.cont[:, j] = dist.to_unit(dist.from_unit(cand.cont[:, j]))
        # Bergstra et al. (2011, Sec. 4.1): EI is monotone in l(x) / g(x).
        score = below.log_pdf(cand) - above.log_pdf(cand)
        best = int(np.argmax(np.where(np.isnan(score), -np.inf, score)))
        out: dict[str, Any] = {}
        for idx, coords in ((cont, cand.cont), (disc, cand.disc), (cat, cand.cat)):
            for j, i in enumerate(idx):
                out[names[i]] = codec(dists[i]).decode(coords[best, j])
        return out

    def _observations(
        self, snap: _Snapshot, names: tuple[str, ...], dists: tuple[Distribution, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Good values and weights, bad values and weights (model coordinates); None in startup.

        The split ranks every COMPLETE trial; the groups keep the trials that have all of
        ``names`` (Bergstra et al. 2011, Sec. 4: one threshold for the whole tree, so a branch
        whose trials are all bad is explored from its prior instead of refined in isolation).
        """
        keys = list(zip(names, dists, strict=True))
        with self._lock:
            x = snap.complete_columns(keys)
            age = snap.table.numbers[snap.complete]
            failed = snap.columns(keys, snap.failed)
            failed_age = snap.table.numbers[snap.failed]
            has = ~np.isnan(x).any(axis=1)
            if len(x) < max(self._n_startup, 1) or not has.any():
                return None
            good, weight = snap.split(self._split)
        # PRUNED trials rank after every COMPLETE one. FAILED ones count as bad too: otherwise a
        # region where the objective crashes looks unexplored and attracts every new trial.
        kept = ~np.isnan(failed).any(axis=1)
        bad = ~good & has
        xs, ages = [x[bad], failed[kept]], [age[bad], failed_age[kept]]
        if self._constant_liar:  # running trials count as bad results (the liar's worst value)
            running, running_age = _running_rows(snap.running, keys)
            xs.append(running)
            ages.append(running_age)
        good &= has
        return x[good], weight[good], np.vstack(xs), decay_weights(np.concatenate(ages))

    def _split(self, y: np.ndarray, violation: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Good-group mask over COMPLETE values ``y`` (n, m; smaller is better) and weights.

        ``violation``: each trial's total constraint violation, None when unconstrained. A good
        group that needs infeasible trials gets uniform weights: their values do not compare.
        """
        n = len(y)
        k = self._gamma(n) if self._gamma is not None else default_gamma(n)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise InvalidArgumentError(f"`gamma` must return an int >= 0, got gamma({n})={k!r}")
        k = min(max(int(k), 1), n)
        good = np.zeros(n, dtype=bool)
        weight = np.zeros(n)
        feasible = np.ones(n, dtype=bool) if violation is None else violation == 0
        if y.shape[1] > 1:
            y = _finite(y)
            ref = reference_point(y[feasible] if feasible.any() else y, margin=_REF_MARGIN)
            idx = _good_multi(y, violation, k, ref)
            w = hv_weights(y[idx], ref) if feasible[idx].all() else np.ones(k)
        elif violation is None:
            order = np.argsort(y[:, 0], kind="stable")
            idx = order[:k]
            w = ei_weights(y[idx, 0], float(y[order[k], 0]) if k < n else None)
        else:  # feasible by value, then infeasible by violation
            order = np.lexsort((y[:, 0], violation))
            idx = order[:k]
            nxt = float(y[order[k], 0]) if k < n and feasible[order[k]] else None
            w = ei_weights(y[idx, 0], nxt) if feasible[idx].all() else np.ones(k)
        good[idx] = True
        weight[idx] = w
        return good, weight

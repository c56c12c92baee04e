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
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.samplers._parzen import (
    KernelConfig,
    ParzenEstimator,
    codec,
    decay_weights,
    ei_weights,
    layout,
    points,
)
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Distribution

__all__ = ["TPESampler", "default_gamma"]

_NO_VALUE = (TrialState.PRUNED, TrialState.FAILED)
_DONE, _NO_RESULT, _LIVE, _SKIP = 0, 1, 2, 3  # what a snapshot makes of each trial


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
    """Finished trials, each encoded once into model-coordinate columns keyed by (name, dist).

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
            self.cols = {k: _grow(v, self.cap) for k, v in self.cols.items()}
        self.trials.append(t)
        self.rows[id(t)] = r
        self.numbers[r] = t.number
        if t.values is not None and len(t.values) == self.n_objectives:
            self.values[r] = t.values
        for name, dist in t.distributions.items():
            col = self.cols.get((name, dist))
            if col is None:
                col = self.cols[(name, dist)] = np.full(self.cap, np.nan)
            col[r] = codec(dist).encode_one(dist.to_internal(t.params[name]))
        return r


def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    out = np.full((cap, *a.shape[1:]), np.nan)
    out[: a.shape[0]] = a
    return out


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
        self, rule: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``rule(signed values)`` (good mask, weights), computed once for this view."""
        if self._split is None:
            sign = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in self.view.directions]
            self._split = rule(self.table.values[self.complete] * np.array(sign))
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


def _crowding(y: np.ndarray) -> np.ndarray:
    """Crowding distance of each row (Deb et al., NSGA-II, IEEE TEC 2002, Sec. III-B).

    Infinite values are first moved just past the finite ones so distances stay finite.
    """
    n, m = y.shape
    out = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        v = y[:, j]
        fin = v[np.isfinite(v)]
        lo, hi = (float(fin.min()), float(fin.max())) if len(fin) else (0.0, 0.0)
        v = np.where(v == np.inf, 2 * hi - lo + 1, np.where(v == -np.inf, 2 * lo - hi - 1, v))
        order = np.argsort(v, kind="stable")
        sv = v[order]
        span = sv[-1] - sv[0]
        gaps = np.full(n, np.inf)
        gaps[1:-1] = (sv[2:] - sv[:-2]) / span if span > 0 else 0.0
        out[order] += gaps
    return out


def nondominated_best(y: np.ndarray, k: int) -> np.ndarray:
    """Sorted indices of ``k`` rows of ``y`` (``(n, m)``, smaller is better), front by front.

    Fronts of non-dominated sorting (Deb et al. 2002, Sec. III-A) fill the group in order; the
    front that does not fit is cut by descending crowding distance, ties by row order.
    """
    n = y.shape[0]
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    le = np.ones((n, n), dtype=bool)
    lt = np.zeros((n, n), dtype=bool)
    for j in range(y.shape[1]):
        le &= y[:, None, j] <= y[None, :, j]
        lt |= y[:, None, j] < y[None, :, j]
    dominates = le & lt  # dominates[i, j]: row i dominates row j
    count = dominates.sum(axis=0)
    left = np.ones(n, dtype=bool)
    chosen: list[np.ndarray] = []
    need = k
    while need > 0:
        front = np.flatnonzero(left & (count == 0))
        if len(front) > need:
            front = front[np.argsort(-_crowding(y[front]), kind="stable")[:need]]
        chosen.append(front)
        need -= len(front)
        left[front] = False
        count -= dominates[front].sum(axis=0)
    return np.sort(np.concatenate(chosen))


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

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Good-group mask over COMPLETE values ``y`` (n, m; smaller is better) and weights."""
        n = len(y)
        k = self._gamma(n) if self._gamma is not None else default_gamma(n)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise InvalidArgumentError(f"`gamma` must return an int >= 0, got gamma({n})={k!r}")
        k = min(max(int(k), 1), n)
        good = np.zeros(n, dtype=bool)
        weight = np.zeros(n)
        if y.shape[1] > 1:
            idx, w = nondominated_best(y, k), np.ones(k)
        else:
            order = np.argsort(y[:, 0], kind="stable")
            idx = order[:k]
            w = ei_weights(y[idx, 0], float(y[order[k], 0]) if k < n else None)
        good[idx] = True
        weight[idx] = w
        return good, weight

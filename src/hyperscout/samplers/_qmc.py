"""Quasi-Monte Carlo search: low-discrepancy points (Sobol' or Halton) from ``scipy.stats.qmc``.

Like Optuna's QMC sampler, the joint space is the space of the first finished (COMPLETE or PRUNED)
trial; that trial, and every trial before a first one finishes, is sampled uniformly at random.
Later trials take successive points of one sequence, jointly over the joint space; parameters
outside it are drawn uniformly at random.

The point a trial takes is the number of trials before it that use the sequence (running trials
count, so workers asking at once get different points), not counting the trial that defined the
space. The scramble is seeded from the study's seed. So the sequence is the same in every worker
and after a restart, and the sampler keeps no state beyond a cache of engines.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout._records import LIVE_STATES, FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError, InvalidTypeError, SearchSpaceExhausted
from hyperscout.samplers._base import StudyView
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Distribution
from hyperscout.trial import FIXED_PARAMS_KEY

__all__ = ["QMCSampler"]

_QMC_TYPES = ("sobol", "halton")
_DEFINING = frozenset({TrialState.COMPLETE, TrialState.PRUNED})
_SCRAMBLE_TAG = 0x716D63  # "qmc": keeps the scramble stream apart from other uses of the seed
_MAX_ENGINES = 8


@dataclass
class _Cursor:
    """A QMC engine and the index of the next point it returns."""

    engine: Any
    position: int = 0


@dataclass(frozen=True)
class _IndexCache:
    """What counting point indices found, reusable because trial snapshots are immutable.

    ``head``: (first trial, last trial, length, count of sequence users) of the leading run of
    finished trials. ``memo``: ``id(trial)`` -> (trial, whether it uses the sequence).
    """

    first: FrozenTrial
    head: tuple[FrozenTrial, FrozenTrial, int, int] | None
    memo: dict[int, tuple[FrozenTrial, bool]]


def _initial_space(view: StudyView) -> tuple[FrozenTrial | None, dict[str, Distribution]]:
    """The first finished trial with parameters, and its space (sorted, single values dropped)."""
    for t in view.trials:
        if t.state in _DEFINING and t.distributions and t.number != view.current:
            names = sorted(n for n, d in t.distributions.items() if not d.single())
            return t, {n: t.distributions[n] for n in names}
    return None, {}


def _uses_sequence(t: FrozenTrial, first: FrozenTrial, space: Mapping[str, Distribution]) -> bool:
    """Whether trial ``t`` takes (running) or took (finished) a point of the sequence."""
    if t.number == first.number:
        return False
    fixed = t.system_attrs.get(FIXED_PARAMS_KEY)
    fixed = fixed if isinstance(fixed, Mapping) else {}
    if t.state in LIVE_STATES:
        return any(name not in fixed for name in space)
    return t.number > first.number and any(
        name not in fixed and t.distributions.get(name) == dist for name, dist in space.items()
    )


def _rng_keyword() -> str:
    from scipy.stats import qmc

    # scipy >= 1.15 names the seed argument `rng`; older versions call it `seed`.
    return "rng" if "rng" in inspect.signature(qmc.Sobol.__init__).parameters else "seed"


class QMCSampler:
    """Quasi-random search with a scrambled Sobol' or Halton sequence.

    Covers the space more evenly than random search with the same number of trials; a good
    non-adaptive baseline and a good start for model-based samplers.

    Args:
        qmc_type: "sobol" (default) or "halton".
        scramble: randomize the sequence (seeded by the study's seed). Unscrambled sequences start
            at the corner of the space (all parameters at their lower bound).

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(sampler=hs.QMCSampler(qmc_type="halton"), seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=8)
    """

    def __init__(self, *, qmc_type: str = "sobol", scramble: bool = True) -> None:
        if not isinstance(qmc_type, str) or qmc_type.lower() not in _QMC_TYPES:
            raise InvalidArgumentError(f"`qmc_type` must be 'sobol' or 'halton', got {qmc_type!r}")
        if not isinstance(scramble, bool):
            raise InvalidTypeError(f"`scramble` must be True or False, got {scramble!r}")
        self._qmc_type = qmc_type.lower()
        self._scramble = scramble
        self._engines: OrderedDict[tuple[int, int], _Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._cache: _IndexCache | None = None

    def __repr__(self) -> str:
        return f"QMCSampler(qmc_type={self._qmc_type!r}, scramble={self._scramble})"

    def __getstate__(self) -> dict[str, Any]:
        return {"qmc_type": self._qmc_type, "scramble": self._scramble}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._qmc_type = state["qmc_type"]
        self._scramble = state["scramble"]
        self._engines = OrderedDict()
        self._lock = threading.Lock()
        self._cache = None

    # -- the Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The space of the first finished trial (empty until one finishes)."""
        return _initial_space(view)[1]

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """The trial's QMC point for parameters of the joint space; uniform values for the rest."""
        first, joint = _initial_space(view)
        on_sequence = [name for name, dist in space.items() if joint.get(name) == dist]
        out: dict[str, Any] = {}
        if first is not None and on_sequence:
            u = self._point(len(joint), view.seed, self._point_index(view, first, joint))
            column = {name: i for i, name in enumerate(joint)}
            for name in on_sequence:
                dist = space[name]
                out[name] = dist.to_external(float(dist.from_unit(u[column[name]])))
        rest = {name: dist for name, dist in space.items() if name not in out}
        if rest:
            out.update(sample_uniform(rest, rng))
        return {name: out[name] for name in space}

    # -- the sequence ---------------------------------------------------------------------------
    def _point_index(
        self, view: StudyView, first: FrozenTrial, space: Mapping[str, Distribution]
    ) -> int:
        """How many trials before the current one use the sequence (see the module docstring)."""
        # Trial snapshots are immutable: what was found for a snapshot (by identity) still holds,
        # and the count over the leading run of finished trials never changes.
        cache = self._cache if self._cache is not None and self._cache.first is first else None
        memo = cache.memo if cache is not None else {}
        trials = view.trials
        current = math.inf if view.current is None else view.current
        start = index = 0
        if cache is not None and cache.head is not None:
            head_first, head_last, n, count = cache.head
            same = len(trials) >= n and trials[0] is head_first and trials[n - 1] is head_last
            if same and head_last.number < current:
                start, index = n, count
        head: tuple[FrozenTrial, FrozenTrial, int, int] | None = None
        if start:
            head = cache.head if cache is not None else None
        fresh: dict[int, tuple[FrozenTrial, bool]] = {}
        open_head = True
        for k in range(start, len(trials)):
            t = trials[k]
            if t.number >= current:
                open_head = False
                continue
            entry = memo.get(id(t))
            if entry is None or entry[0] is not t:
                entry = (t, _uses_sequence(t, first, space))
            index += entry[1]
            if open_head and t.state.is_finished():
                head = (trials[0], t, k + 1, index)
            else:
                open_head = False
                fresh[id(t)] = entry
        self._cache = _IndexCache(first, head, fresh)
        return index

    def _new_engine(self, dim: int, seed: int) -> Any:
        from scipy.stats import qmc

        cls = qmc.Sobol if self._qmc_type == "sobol" else qmc.Halton
        scramble_rng = np.random.default_rng([seed, _SCRAMBLE_TAG])
        return cls(dim, scramble=self._scramble, **{_rng_keyword(): scramble_rng})

    def _point(self, dim: int, seed: int, index: int) -> np.ndarray:
        """Point ``index`` (0-based) of the ``dim``-dimensional sequence for ``seed``."""
        with self._lock:
            key = (dim, seed)
            cursor = self._engines.pop(key, None) or _Cursor(self._new_engine(dim, seed))
            self._engines[key] = cursor
            while len(self._engines) > _MAX_ENGINES:
                self._engines.popitem(last=False)
            engine = cursor.engine
            maxn = getattr(engine, "maxn", None)
            if maxn is not None and index >= maxn:
                raise SearchSpaceExhausted(
                    f"the Sobol' sequence has {maxn} points and all are used: "
                    "use QMCSampler(qmc_type='halton') for longer studies"
                )
            if index < cursor.position:
                engine.reset()
                cursor.position = 0
            if index > cursor.position:
                engine.fast_forward(index - cursor.position)
            point = np.array(engine.random(1)[0], dtype=float)
            cursor.position = index + 1
            return point

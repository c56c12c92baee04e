"""Replaying a study's trials into a CMA-ES state (the stateless half of the CMA-ES sampler).

The sampler keeps no state a worker could not rebuild: the run is a pure function of the trials,
replayed in number order.

* **Space.** The numeric parameters every COMPLETE trial shares (:class:`CMASpace`); a trial
  *holds* the space when it has all of them with the same distributions.
* **Startup.** The trials up to the ``n_startup_trials``-th COMPLETE trial holding the space are
  the *prior*: they seed the initial distribution (warm start, see :func:`initial_state_from`)
  and are not part of the run.
* **Generations.** After the prior, the trials holding the space form generations of lambda
  members in number order. A generation updates the state once all its members are finished;
  a RUNNING or WAITING trial stops the replay there (a later one may still get the space), so
  newer trials sample from the latest complete state. PAUSED trials count as finished.
* **Ranking.** COMPLETE by value; then PRUNED / PAUSED by their last report (later steps first,
  then value); then FAILED (and trials without reports) in number order, as the worst.
* **Genotypes.** Trial ``n``'s candidate is ``z ~ N(0, I)`` from ``default_rng([seed, n,
  0x434D41])``, mapped through the state it was sampled from. The replay regenerates it from the
  state before the trial's generation; if that reproduces the stored values, the exact genotype
  enters the update. Otherwise (the trial was sampled from an older state while others ran, was
  enqueued, or came from another sampler) the stored point is *injected*: mapped to the genotype
  nearest the mean and clipped ([H11], see :func:`~._cmaes_core.tell`).
* **Restarts** (IPOP) happen inside the update, so the replay repeats them; a restart's mean
  comes from ``default_rng([seed, last member number, 0x525354])``.

Checkpoints (the state after each generation) are cached with the trials they consumed; a new
ask checks the consumed prefix (object identity, else the fields the replay reads) and replays
only what is new, so an ask costs O(new trials) besides one identity scan of the list.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.samplers._cmaes_core import (
    CMAConfig,
    CMAState,
    advance,
    default_popsize,
    encode,
    initial_state,
    preimage,
    sample,
    warm_start,
)
from hyperscout.space import Distribution, Int

__all__ = ["CMASpace", "Run", "RunSettings", "candidate", "trial_normal"]

TAG = 0x434D41  # "CMA": the stream of trial candidates
TAG_RESTART = 0x525354  # "RST": the stream of restart means
MAX_CELLS = 4096  # discrete parameters with more values are searched as continuous ones
WARM_MIN = 10  # warm_start=None warm-starts from a prior of at least this many COMPLETE trials
_LIVE = frozenset({TrialState.RUNNING, TrialState.WAITING})
_KEEP_CHECKPOINTS = 32


def _edges(dist: Distribution) -> np.ndarray | None:
    """Cell edges of a discrete numeric distribution in [0, 1] (None: continuous)."""
    n = dist.n_values
    if n is None or n > MAX_CELLS:
        return None
    if isinstance(dist, Int) and dist.log:  # value v owns [v - 0.5, v + 0.5] on the log scale
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        edges = (np.log(dist.low - 0.5 + np.arange(n + 1)) - lo) / (hi - lo)
        edges[0], edges[-1] = 0.0, 1.0
        log_edges: np.ndarray = edges
        return log_edges
    out: np.ndarray = np.arange(n + 1) / n
    return out


class CMASpace:
    """The numeric, multi-valued parameters CMA-ES searches, in name order.

    Example:
        >>> from hyperscout import Float, Int
        >>> CMASpace((("x", Float(0, 1)), ("k", Int(1, 4)))).names
        ('x', 'k')
    """

    __slots__ = ("discrete", "dists", "items", "lattice", "names")

    def __init__(self, items: tuple[tuple[str, Distribution], ...]) -> None:
        self.items = items
        self.names = tuple(name for name, _ in items)
        self.dists = tuple(dist for _, dist in items)
        self.lattice = tuple(_edges(d) for d in self.dists)
        self.discrete = np.array(
            [j for j, e in enumerate(self.lattice) if e is not None], dtype=np.int64
        )

    def internals(self, trial: FrozenTrial) -> np.ndarray | None:
        """The trial's internal values of the space, or None if it does not hold the space."""
        have = trial.distributions
        for name, dist in self.items:
            d = have.get(name)
            if d is not dist and d != dist:
                return None
        return np.array([d.to_internal(trial.params[n]) for n, d in self.items], dtype=float)

    def to_unit(self, internal: np.ndarray) -> np.ndarray:
        """Internal values to the unit cube (discrete values to their cells)."""
        return np.array([float(d.to_unit(v)) for d, v in zip(self.dists, internal, strict=True)])

    def decode(self, unit: np.ndarray) -> np.ndarray:
        """Unit-cube point to internal values (the allowed value of each cell)."""
        return np.array([d.decode(u) for d, u in zip(self.dists, unit.tolist(), strict=True)])


def trial_normal(seed: int, number: int, dim: int) -> np.ndarray:
    """The standard normal vector behind trial ``number``'s candidate."""
    out: np.ndarray = np.random.default_rng([seed, number, TAG]).standard_normal(dim)
    return out


def candidate(state: CMAState, space: CMASpace, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(genotype, internal values) of the candidate for normal vector ``z``.

    Both the sampler and the replay go through this one function, so a trial's regenerated
    candidate is bit-identical to the one it was given.
    """
    raw = sample(state, z)
    return raw, space.decode(encode(state, raw, space.discrete))


def _genotype(
    state: CMAState, space: CMASpace, stored: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, bool]:
    """The genotype to tell for a member: its own candidate, else the injected stored point."""
    raw, internal = candidate(state, space, z)
    if np.all(np.abs(internal - stored) <= 1e-12 * np.maximum(1.0, np.abs(stored))):
        return raw, False
    e = preimage(space.to_unit(stored), state.mean)
    d = space.discrete
    if len(d):  # undo the margin's affine map: raw = m + (e - m) / A  ([HM22] Sec. 3.1)
        m = state.mean[d]
        e[d] = m + (e[d] - m) / state.affine[d]
    return e, True


def _rank_key(trial: FrozenTrial, sign: float) -> tuple[int, float, float, int]:
    """Sort key, smaller is better: COMPLETE, then reported PRUNED/PAUSED, then the rest."""
    if trial.state == TrialState.COMPLETE and trial.values is not None:
        return (0, sign * trial.values[0], 0.0, trial.number)
    if trial.state in (TrialState.PRUNED, TrialState.PAUSED) and trial.intermediate_values:
        step = max(trial.intermediate_values)
        value = trial.intermediate_values[step]
        if not math.isnan(value):
            return (1, -float(step), sign * value, trial.number)
    return (2, 0.0, 0.0, trial.number)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The sampler options a replay depends on."""

    sigma0: float | None
    popsize: int | None
    n_startup: int
    restart: bool
    margin: bool
    warm_start: bool | None


def initial_state_from(
    prior: Sequence[FrozenTrial], space: CMASpace, config: CMAConfig, ws: bool | None, sign: float
) -> CMAState:
    """The first state: WS-CMA-ES ([N21]) from the prior's COMPLETE trials, else the centre.

    ``ws=None`` warm-starts when the prior holds at least ``WARM_MIN`` COMPLETE trials (so that
    the top 10% are at least one trial), ``True`` from one trial on, ``False`` never.
    """
    points, values = [], []
    for t in prior:
        x = space.internals(t)
        if t.state == TrialState.COMPLETE and t.values is not None and x is not None:
            points.append(space.to_unit(x))
            values.append(sign * t.values[0])
    n = len(space.names)
    if ws is False or not points or (ws is None and len(points) < WARM_MIN):
        return initial_state(np.full(n, 0.5), config.sigma0, config.popsize)
    mean, sigma, cov = warm_start(np.array(points), np.array(values))
    return initial_state(mean, sigma, config.popsize, cov)


def _signature(trial: FrozenTrial, space: CMASpace) -> tuple[object, ...]:
    """What the replay reads from a trial (live trials: only that they are live)."""
    if trial.state in _LIVE:
        return ("live",)
    internal = space.internals(trial)
    last = None
    if trial.state in (TrialState.PRUNED, TrialState.PAUSED) and trial.intermediate_values:
        step = max(trial.intermediate_values)
        last = (step, trial.intermediate_values[step])
    held = None if internal is None else tuple(internal.tolist())
    return (trial.number, trial.state, trial.values, last, held)


class Run:
    """One CMA-ES run (space, study seed, direction), replayed from trials with checkpoints.

    Not thread-safe: the sampler holds its lock while it calls :meth:`latest`.
    """

    def __init__(self, space: CMASpace, seed: int, sign: float, settings: RunSettings) -> None:
        n = len(space.names)
        self.space, self.seed, self.sign, self.settings = space, seed, sign, settings
        self.config = CMAConfig(
            sigma0=settings.sigma0 if settings.sigma0 is not None else 0.3,
            popsize=settings.popsize if settings.popsize is not None else default_popsize(n),
            lattice=space.lattice,
            margin=settings.margin,
            restart=settings.restart,
        )
        self.refs: list[FrozenTrial] = []  # the trials consumed by the last checkpoint
        self.start: int | None = None  # index of the first trial after the prior
        self.checkpoints: list[tuple[int, CMAState]] = []  # (trials consumed, state after)

    def latest(self, trials: Sequence[FrozenTrial]) -> tuple[int | None, CMAState | None]:
        """(index where the run starts, state after the last complete generation).

        ``(None, None)`` during startup.
        """
        self._validate(trials)
        if not self.checkpoints:
            start = self._find_start(trials)
            if start is None:
                return None, None
            init = initial_state_from(
                trials[:start], self.space, self.config, self.settings.warm_start, self.sign
            )
            self.start = start
            self._checkpoint(trials, start, init)
        pos, state = self.checkpoints[-1]
        while (gen := self._next_generation(trials, pos, state.popsize)) is not None:
            members, pos = gen
            state = self._update(state, members)
            self._checkpoint(trials, pos, state)
        return self.start, state

    # -- cache ------------------------------------------------------------------------------
    def _validate(self, trials: Sequence[FrozenTrial]) -> None:
        """Drop the checkpoints that consumed a trial the replay would now read differently."""
        refs, k = self.refs, len(self.refs)
        if len(trials) >= k and all(map(operator.is_, trials[:k], refs)):
            return
        bad = min(k, len(trials))
        for i in range(min(k, len(trials))):
            if trials[i] is refs[i]:
                continue
            if _signature(trials[i], self.space) != _signature(refs[i], self.space):
                bad = i
                break
            refs[i] = trials[i]  # same content, newer object: identity holds next time
        if bad >= k:
            return
        self.checkpoints = [c for c in self.checkpoints if c[0] <= bad]
        if not self.checkpoints:
            self.start = None
        self.refs = refs[: self.checkpoints[-1][0]] if self.checkpoints else []

    def _checkpoint(self, trials: Sequence[FrozenTrial], pos: int, state: CMAState) -> None:
        self.refs.extend(trials[len(self.refs) : pos])
        self.checkpoints.append((pos, state))
        if len(self.checkpoints) > _KEEP_CHECKPOINTS + 1:  # keep the first and the newest
            del self.checkpoints[1]

    # -- replay -----------------------------------------------------------------------------
    def _find_start(self, trials: Sequence[FrozenTrial]) -> int | None:
        """Index after the ``n_startup``-th COMPLETE trial holding the space (0 without startup)."""
        need = self.settings.n_startup
        if need == 0:
            return 0
        count = 0
        for i, t in enumerate(trials):
            done = t.state == TrialState.COMPLETE and t.values is not None
            if done and self.space.internals(t) is not None:
                count += 1
                if count >= need:
                    return i + 1
        return None

    def _next_generation(
        self, trials: Sequence[FrozenTrial], pos: int, lam: int
    ) -> tuple[list[tuple[FrozenTrial, np.ndarray]], int] | None:
        """The next ``lam`` finished members after ``pos`` and the index after the last one."""
        members: list[tuple[FrozenTrial, np.ndarray]] = []
        for i in range(pos, len(trials)):
            t = trials[i]
            if t.state in _LIVE:
                return None
            x = self.space.internals(t)
            if x is None:
                continue
            members.append((t, x))
            if len(members) == lam:
                return members, i + 1
        return None

    def _update(self, state: CMAState, members: list[tuple[FrozenTrial, np.ndarray]]) -> CMAState:
        """Tell one generation (no update when no member has a value to rank by)."""
        ranked = sorted(members, key=lambda m: _rank_key(m[0], self.sign))
        if _rank_key(ranked[0][0], self.sign)[0] == 2:
            return state
        n = len(self.space.names)
        raws, injected = [], []
        for t, x in ranked:
            raw, inj = _genotype(state, self.space, x, trial_normal(self.seed, t.number, n))
            raws.append(raw)
            injected.append(inj)
        fitness = np.array(
            [
                self.sign * t.values[0]
                if t.state == TrialState.COMPLETE and t.values is not None
                else np.nan
                for t, _ in ranked
            ]
        )
        last = max(t.number for t, _ in ranked)
        seed = (self.seed, last, TAG_RESTART)
        return advance(state, np.array(raws), np.array(injected), fitness, self.config, seed)

"""CMA-ES sampler: IPOP-CMA-ES with margin and warm start, replayed statelessly from the trials.

The search runs in the unit cube of the numeric parameters every COMPLETE trial shares (log
parameters on the log scale, discrete values owning equal cells), with the update of Hansen's
tutorial (arXiv:1604.00772), bounds by reflection, the margin of Hamano et al. (GECCO 2022) for
discrete dimensions, IPOP restarts (Auger & Hansen, CEC 2005) and a WS-CMA-ES warm start (Nomura
et al., AAAI 2021); see :mod:`~hyperscout.samplers._cmaes_core` for the equations and
:mod:`~hyperscout.samplers._cmaes_replay` for how the state is rebuilt from the trials.

Categorical parameters are not part of the CMA-ES space: they are sampled independently and
uniformly, as are parameters outside the shared space (conditional ones) and every parameter
during startup.
"""

from __future__ import annotations

import numbers
import operator
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.samplers._base import StudyView, check_int
from hyperscout.samplers._cmaes_core import CMAState
from hyperscout.samplers._cmaes_replay import (
    CMASpace,
    Run,
    RunSettings,
    candidate,
    trial_normal,
)
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Categorical, Distribution

__all__ = ["CMAESSampler"]

_MAX_RUNS = 4  # replayed runs cached at once (one per space, seed and direction)
_MAX_VIEWS = 8  # views whose analysis is memoized (joint_space, then suggest on the same view)


class _Analysis:
    """What one view yields: the CMA-ES space, where the run starts, the latest state."""

    __slots__ = ("space", "start", "state")

    def __init__(self, space: CMASpace | None, start: int | None, state: CMAState | None):
        self.space, self.start, self.state = space, start, state

    def active(self, current: int | None) -> bool:
        """Whether trial ``current`` is sampled by CMA-ES (past startup)."""
        if self.state is None or self.start is None:
            return False
        return current is None or current >= self.start


def _check_bool(name: str, value: Any, allow_none: bool = False) -> bool | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        extra = ", or None" if allow_none else ""
        raise InvalidArgumentError(f"`{name}` must be True or False{extra}, got {name}={value!r}")
    return bool(value)


def _check_sigma0(value: Any) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) <= 1.0:
        raise InvalidArgumentError(
            "`sigma0` must be a number in (0, 1] (the initial step size as a fraction of each "
            f"parameter's range) or None for the default 0.3, got sigma0={value!r}"
        )
    return float(value)


def _check_restart(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str) and value.lower() == "ipop":
        return True
    raise InvalidArgumentError(
        f"`restart` must be 'ipop' (restart with a doubled population) or None (no restarts), "
        f"got restart={value!r}"
    )


class CMAESSampler:
    """CMA-ES: adapt a Gaussian search distribution to the ranking of finished trials.

    Stateless: every suggestion replays the study's trials (cached, so an ask costs only the
    new trials), so any worker can continue any study, also after a restart, with bit-identical
    suggestions. Trials asked while a generation is still running sample from the latest
    complete state; each trial draws its candidate from its own stream, so they differ.

    Args:
        sigma0: initial step size as a fraction of each parameter's range (the unit cube);
            None: 0.3, the tutorial's ``0.3 (b - a)``.
        popsize: population size lambda (>= 4); None: ``4 + floor(3 ln n)``. IPOP restarts
            double it.
        n_startup_trials: COMPLETE trials sampled uniformly at random before CMA-ES starts; they
            and any earlier trials holding the space (enqueued ones, trials of another sampler)
            form the prior that a warm start learns from. To continue a study in which another
            sampler completed ``k`` trials, pass ``n_startup_trials=k``: otherwise those trials
            enter the first generations as injected solutions.
        restart: "ipop": restart with a doubled population when the run has converged or
            stagnates (the tutorial's termination criteria); None: never restart.
        with_margin: keep integer and stepped parameters from freezing (CMA-ES with margin).
        warm_start: initialize the mean and covariance from the best prior trials (WS-CMA-ES):
            None warm-starts when the prior holds at least 10 COMPLETE trials, True from one,
            False never (the run starts at the centre with ``sigma0``).

    Trials that finish without a value rank after every COMPLETE one: PRUNED (and PAUSED) ones
    by their last report (later steps first), FAILED ones last. Categorical parameters, and
    parameters not every COMPLETE trial has, are sampled uniformly and independently.
    Multi-objective studies are refused with :class:`~hyperscout.InvalidArgumentError`.

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(sampler=CMAESSampler(), seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2
        ...                + t.suggest_float("y", -3, 3) ** 2, n_trials=120)
        >>> study.best_value < 1e-2
        True
    """

    def __init__(
        self,
        *,
        sigma0: float | None = None,
        popsize: int | None = None,
        n_startup_trials: int = 1,
        restart: str | None = "ipop",
        with_margin: bool = True,
        warm_start: bool | None = None,
    ) -> None:
        self._settings = RunSettings(
            sigma0=_check_sigma0(sigma0),
            popsize=None if popsize is None else check_int("popsize", popsize, 4, or_none=True),
            n_startup=check_int("n_startup_trials", n_startup_trials, 0),
            restart=_check_restart(restart),
            margin=bool(_check_bool("with_margin", with_margin)),
            warm_start=_check_bool("warm_start", warm_start, allow_none=True),
        )
        self._init_cache()

    def _init_cache(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[tuple[Any, ...], Run] = OrderedDict()
        self._views: list[tuple[StudyView, _Analysis]] = []
        self._prefix: list[FrozenTrial] = []  # leading finished trials, intersected below
        self._prefix_shared: dict[str, Distribution] | None = None
        self._spaces: dict[tuple[tuple[str, Distribution], ...], CMASpace] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_settings": self._settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_cache()

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"CMAESSampler(sigma0={s.sigma0}, popsize={s.popsize}, "
            f"n_startup_trials={s.n_startup}, restart={'ipop' if s.restart else None!r}, "
            f"with_margin={s.margin}, warm_start={s.warm_start})"
        )

    # -- Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The numeric parameters every COMPLETE trial shares (categoricals excluded)."""
        _check_objectives(view)
        space = self._space(view)
        return dict(space.items) if space is not None else {}

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """Values for ``space``: CMA-ES for the shared numeric parameters, uniform otherwise."""
        _check_objectives(view)
        out: dict[str, Any] = {}
        wanted: list[str] = []
        for name, dist in space.items():
            if dist.single():
                out[name] = dist.to_external(float(dist.from_unit(0.5)))
            elif not isinstance(dist, Categorical):
                wanted.append(name)
        if wanted:
            found = self._analysis(view)
            if found.space is not None and found.active(view.current):
                items = dict(found.space.items)
                mine = [n for n in wanted if items.get(n) == space[n]]
                if mine:
                    out.update(self._candidate(view, found, mine, rng))
        rest = {name: dist for name, dist in space.items() if name not in out}
        if rest:
            out.update(sample_uniform(rest, rng))
        return {name: out[name] for name in space}

    # -- internals --------------------------------------------------------------------------
    def _candidate(
        self, view: StudyView, found: _Analysis, names: list[str], rng: np.random.Generator
    ) -> dict[str, Any]:
        """The current trial's CMA-ES candidate, restricted to ``names``."""
        space, state = found.space, found.state
        if space is None or state is None:  # pragma: no cover - guarded by active()
            return {}
        dim = len(space.names)
        z = rng.standard_normal(dim) if view.current is None else (
            trial_normal(view.seed, view.current, dim)
        )  # fmt: skip
        _, internal = candidate(state, space, z)
        values = {
            name: dist.to_external(float(v))
            for name, dist, v in zip(space.names, space.dists, internal, strict=True)
        }
        return {name: values[name] for name in names}

    def _space(self, view: StudyView) -> CMASpace | None:
        """The CMA-ES space of ``view``: the shared numeric parameters of its COMPLETE trials.

        Incremental: the leading finished trials (which never change) are intersected once and
        cached with the objects they came from; only the trials from the first unfinished one on
        are looked at again. A view that disagrees with the cached prefix (another study, or an
        older snapshot) is computed in full.
        """
        trials = view.trials
        with self._lock:
            k = len(self._prefix)
            if k and (len(trials) < k or not all(map(operator.is_, trials[:k], self._prefix))):
                if len(trials) < k:  # an older view: answer it exactly, keep the cache
                    return self._cma_space(_shared(None, trials))
                self._prefix, self._prefix_shared, k = [], None, 0
            i = k
            while i < len(trials) and trials[i].state.is_finished():
                i += 1
            self._prefix_shared = _shared(self._prefix_shared, trials[k:i])
            self._prefix.extend(trials[k:i])
            return self._cma_space(_shared(self._prefix_shared, trials[i:]))

    def _cma_space(self, shared: dict[str, Distribution] | None) -> CMASpace | None:
        """The numeric multi-valued part of ``shared`` (cached per distinct space)."""
        if not shared:
            return None
        items = tuple(
            (k, d)
            for k, d in sorted(shared.items())
            if not isinstance(d, Categorical) and not d.single()
        )
        if not items:
            return None
        cached = self._spaces.get(items)
        if cached is None:
            if len(self._spaces) > 64:
                self._spaces.clear()
            cached = self._spaces[items] = CMASpace(items)
        return cached

    def _analysis(self, view: StudyView) -> _Analysis:
        """Space, start and latest state for ``view`` (memoized per view object)."""
        with self._lock:
            for v, found in self._views:
                if v is view:
                    return found
        space = self._space(view)
        if space is None:
            found = _Analysis(None, None, None)
        else:
            sign = 1.0 if view.directions[0] == StudyDirection.MINIMIZE else -1.0
            with self._lock:
                run = self._run(space, view.seed, sign)
                start, state = run.latest(view.trials)
            found = _Analysis(space, start, state)
        with self._lock:
            self._views = [(view, found), *self._views[: _MAX_VIEWS - 1]]
        return found

    def _run(self, space: CMASpace, seed: int, sign: float) -> Run:
        """The cached run of (space, seed, direction); the caller holds the lock."""
        key = (space.items, seed, sign)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = Run(space, seed, sign, self._settings)
            while len(self._runs) > _MAX_RUNS:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(key)
        return run


def _shared(
    shared: dict[str, Distribution] | None, trials: Sequence[FrozenTrial]
) -> dict[str, Distribution] | None:
    """``shared`` intersected with the distributions of the COMPLETE ``trials`` (None: none)."""
    for t in trials:
        if t.state != TrialState.COMPLETE or t.values is None:
            continue
        have = t.distributions
        if shared is None:
            shared = dict(have)
        else:
            shared = {k: d for k, d in shared.items() if have.get(k) == d}
    return shared


def _check_objectives(view: StudyView) -> None:
    if view.n_objectives != 1:
        raise InvalidArgumentError(
            f"CMAESSampler optimizes a single objective, but this study has {view.n_objectives} "
            "objectives: use sampler='tpe' (or 'random') for a multi-objective study"
        )

"""Exhaustive grid search: every combination of the given values, each tried once.

The grid is either given (``GridSampler({"lr": [0.1, 0.01], "layers": hs.Int(1, 3)})``) or, without
a ``grid`` argument, taken from the trials: the first trial draws its values at random and the
discrete parameters the trials have suggested so far span the grid.

A trial takes the first grid point, in a fixed order, that no other trial holds. A trial *holds* the
points its parameters agree with: a trial that suggested every grid parameter holds one point; a
trial that skipped some (a conditional branch, or one still running) holds every point that agrees
with the values it has. Running trials that have not suggested anything yet are assumed to hold the
first free points, so workers that ask at the same time get different points. Everything is derived
from the study view, so any worker can continue a study, also after a restart. When every point is
held, the sampler raises :class:`~hyperscout.errors.SearchSpaceExhausted` and ``optimize`` stops.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from hyperscout._records import LIVE_STATES, FrozenTrial
from hyperscout.errors import InvalidArgumentError, InvalidTypeError, SearchSpaceExhausted
from hyperscout.samplers._base import StudyView
from hyperscout.samplers._random import sample_uniform
from hyperscout.space import Categorical, Distribution, Float, Int
from hyperscout.trial import FIXED_PARAMS_KEY

__all__ = ["GridSampler"]

_SHUFFLE_TAG = 0x67726964  # "grid": keeps the shuffle stream apart from other uses of the seed
_MAX_VALUES = 10**6  # values of one parameter
_MAX_SHUFFLED = 10**8  # points of a shuffled grid (the permutation is materialized)

Point = tuple[int, ...]  # one value index per grid dimension
Pattern = tuple[tuple[int, int], ...]  # (dimension, value index) pairs a trial holds


def _continuous_error(name: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"grid search needs discrete values: give `step=` to suggest_float({name!r}, ...) "
        f"or pass the values in GridSampler({{{name!r}: [...]}})"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _typed_key(value: Any) -> Any:
    """Key under which equal values of the same type meet (True and 1 stay apart, NaN meets NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value), value)


def _enumerate(name: str, dist: Distribution) -> tuple[Any, ...]:
    """Every value a discrete distribution allows, in increasing order (choices in order)."""
    n = dist.n_values
    if n is None:  # a continuous float (Int and Categorical always count their values)
        raise _continuous_error(name)
    if n > _MAX_VALUES:
        raise InvalidArgumentError(
            f"grid search tries every value, and parameter {name!r} has {n} values (more than "
            f"{_MAX_VALUES}): pass fewer values in GridSampler({{{name!r}: [...]}})"
        )
    if isinstance(dist, Categorical):
        return dist.choices
    if isinstance(dist, Int):
        return tuple(range(dist.low, dist.high + 1, dist.step))
    if dist.single():
        return (dist.low,)
    # Decode each cell centre, so the values are exactly those the space module produces.
    cells = (np.arange(n) + 0.5) / n
    return tuple(float(v) for v in dist.from_unit(cells))


def _list_values(name: str, spec: Any) -> tuple[Any, ...]:
    """Validate a user's list of grid values for ``name`` (uniqueness is checked by _Dim)."""
    if isinstance(spec, np.ndarray) and spec.ndim == 1:
        spec = spec.tolist()
    if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, Sequence):
        raise InvalidTypeError(
            f"`grid[{name!r}]` must be a list of values or a discrete hs.Int / hs.Categorical / "
            f"hs.Float(step=...), got {spec!r}"
        )
    if not spec:
        raise InvalidArgumentError(f"`grid[{name!r}]` must hold at least one value, got {spec!r}")
    values = tuple(v.item() if isinstance(v, np.generic) else v for v in spec)
    for v in values:
        try:
            hash(v)
        except TypeError:
            raise InvalidTypeError(
                f"`grid[{name!r}]` must hold hashable values, got {v!r} "
                f"({type(v).__name__}): use a tuple or a string key instead"
            ) from None
    return values


@dataclasses.dataclass(frozen=True, eq=False)
class _Dim:
    """One grid dimension: a parameter name, its values and (if known) its distribution."""

    name: str
    values: tuple[Any, ...]
    dist: Distribution | None
    typed: Mapping[Any, int]
    numeric: Mapping[float, int]

    @classmethod
    def build(cls, name: str, values: tuple[Any, ...], dist: Distribution | None) -> _Dim:
        typed: dict[Any, int] = {}
        numeric: dict[float, int] = {}
        for i, v in enumerate(values):
            twin = typed.setdefault(_typed_key(v), i)
            if _is_number(v) and not math.isnan(v):
                twin = min(twin, numeric.setdefault(float(v), i))
            if twin != i:  # True and 1 are two values; 1 and 1.0 are one
                raise InvalidArgumentError(
                    f"`grid[{name!r}]` must hold unique values, got {values[twin]!r} and {v!r}: "
                    "keep one of them"
                )
        return cls(name, values, dist, typed, numeric)

    def index(self, value: Any, dist: Distribution | None) -> int | None:
        """Index of a trial's ``value`` (drawn from ``dist``, if known) among the grid values."""
        try:
            if isinstance(dist, (Float, Int)):
                return self.numeric.get(float(value)) if _is_number(value) else None
            found = self.typed.get(_typed_key(value))
            if found is None and dist is None and _is_number(value):
                found = self.numeric.get(float(value))
            return found
        except TypeError:  # an unhashable enqueued value is on no grid
            return None


@dataclasses.dataclass(frozen=True, eq=False)
class _Grid:
    """The product of its dimensions, ordered like ``itertools.product`` (last one fastest)."""

    dims: tuple[_Dim, ...]

    @functools.cached_property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dims)

    def decode(self, position: int) -> Point:
        out = []
        for dim in reversed(self.dims):
            position, i = divmod(position, len(dim.values))
            out.append(i)
        return tuple(reversed(out))

    def encode(self, point: Point) -> int:
        position = 0
        for dim, i in zip(self.dims, point, strict=True):
            position = position * len(dim.values) + i
        return position

    def values(self, point: Point) -> dict[str, Any]:
        return {dim.name: dim.values[i] for dim, i in zip(self.dims, point, strict=True)}


def _parse_grid(grid: Any) -> _Grid:
    if not isinstance(grid, Mapping):
        raise InvalidTypeError(
            "`grid` must be a dict of name -> list of values (or discrete distribution), "
            f"e.g. GridSampler({{'x': [1, 2, 3]}}), got {grid!r}"
        )
    if not grid:
        raise InvalidArgumentError(
            "`grid` must name at least one parameter, e.g. GridSampler({'x': [1, 2, 3]}); "
            "pass grid=None to take the grid from the objective's suggestions"
        )
    dims = []
    for name, spec in grid.items():
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"`grid` keys must be non-empty strings, got {name!r}")
        if isinstance(spec, (Float, Int, Categorical)):
            dims.append(_Dim.build(name, _enumerate(name, spec), spec))
        else:
            dims.append(_Dim.build(name, _list_values(name, spec), None))
    return _Grid(tuple(dims))


def _discrete(dist: Distribution) -> bool:
    return not (isinstance(dist, Float) and dist.n_values is None)


@functools.lru_cache(maxsize=32)
def _grid_of(space: tuple[tuple[str, Distribution], ...]) -> _Grid:
    return _Grid(tuple(_Dim.build(name, _enumerate(name, d), d) for name, d in space))


def _auto_grid(view: StudyView) -> _Grid | None:
    """The discrete parameters of the other trials, each with the distribution it first had."""
    names: set[str] = set()  # every name met, continuous ones included
    discrete: dict[str, Distribution] = {}
    for t in view.trials:
        if t.number == view.current or t.distributions.keys() <= names:
            continue
        for name, dist in t.distributions.items():
            if name not in names:
                names.add(name)
                if _discrete(dist):
                    discrete[name] = dist
    if not discrete:
        return None
    return _grid_of(tuple((name, discrete[name]) for name in sorted(discrete)))


def _permutation_size(size: int) -> int:
    if size > _MAX_SHUFFLED:
        raise InvalidArgumentError(
            f"`shuffle=True` supports grids of up to {_MAX_SHUFFLED} points, this one has "
            f"{size}: use shuffle=False or fewer values"
        )
    return size


@functools.lru_cache(maxsize=8)
def _permutation(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, _SHUFFLE_TAG]).permutation(size)


def _held(trial: FrozenTrial, grid: _Grid, live: bool) -> Pattern | None:
    """The grid values a trial has (enqueued ones too while it runs); None if one is off-grid."""
    values = dict(trial.params)
    fixed = trial.system_attrs.get(FIXED_PARAMS_KEY)
    if live and isinstance(fixed, Mapping):
        values = {**fixed, **values}
    out = []
    for d, dim in enumerate(grid.dims):
        if dim.name in values:
            i = dim.index(values[dim.name], trial.distributions.get(dim.name))
            if i is None:
                return None
            out.append((d, i))
    return tuple(out)


@dataclasses.dataclass(frozen=True, eq=False)
class _Cache:
    """Claims worked out before: trial snapshots are immutable, so they still hold.

    ``head_*``: the claims of the leading run of finished trials (first and last snapshot, length).
    ``memo``: ``id(trial)`` -> (trial, *_claim(trial)) for the other trials.
    """

    grid: _Grid
    head_trials: tuple[FrozenTrial, FrozenTrial] | None
    head_count: int
    head_full: frozenset[int]
    head_partial: tuple[Pattern, ...]
    memo: dict[int, tuple[FrozenTrial, Pattern | None, int | None]]


class _Claims:
    """Which grid points the trials other than the current one hold."""

    def __init__(self, view: StudyView, grid: _Grid, cache: _Cache | None) -> None:
        self.full: set[int] = set()  # positions of the points held in full
        self.partial: list[Pattern] = []
        self.unplaced = 0  # running trials (before the current one) with no grid value yet
        trials = view.trials
        current = math.inf if view.current is None else view.current
        start = 0
        memo = cache.memo if cache is not None and cache.grid is grid else {}
        if cache is not None and cache.grid is grid and cache.head_trials is not None:
            first, last = cache.head_trials
            n = cache.head_count
            if len(trials) >= n and trials[0] is first and trials[n - 1] is last:
                self.full.update(cache.head_full)
                self.partial.extend(cache.head_partial)
                start = n
        fresh: dict[int, tuple[FrozenTrial, Pattern | None, int | None]] = {}
        head = start  # the leading finished trials end before trials[head]
        head_claims: tuple[frozenset[int], tuple[Pattern, ...]] | None = None
        for k in range(start, len(trials)):
            t = trials[k]
            if head == k and t.state.is_finished():
                head = k + 1
            elif head_claims is None:
                head_claims = (frozenset(self.full), tuple(self.partial))
            if t.number == view.current:
                continue
            entry = memo.get(id(t))
            if entry is None or entry[0] is not t:
                entry = (t, *_claim(t, grid))
            if head <= k:
                fresh[id(t)] = entry
            _, held, position = entry
            if position is not None:
                self.full.add(position)
            elif held:
                self.partial.append(held)
            elif held is not None and t.state in LIVE_STATES and t.number < current:
                self.unplaced += 1
        if head_claims is None:
            head_claims = (frozenset(self.full), tuple(self.partial))
        if head > 0:
            ends = (trials[0], trials[head - 1])
            self.cache = _Cache(grid, ends, head, *head_claims, fresh)
        else:
            self.cache = _Cache(grid, None, 0, frozenset(), (), fresh)

    def free_of_partial(self, point: Point) -> bool:
        return not any(all(point[d] == i for d, i in pattern) for pattern in self.partial)


def _claim(t: FrozenTrial, grid: _Grid) -> tuple[Pattern | None, int | None]:
    """A trial's grid values (None when off-grid), and its position when it holds a full point."""
    held = _held(t, grid, t.state in LIVE_STATES)
    if held is None or len(held) != len(grid.dims):
        return held, None
    return held, grid.encode(tuple(i for _, i in held))


class GridSampler:
    """Exhaustive search over every combination of the grid's values.

    Args:
        grid: parameter name -> list of values (any hashable: numbers, strings, None, bools) or a
            discrete distribution (``hs.Int``, ``hs.Categorical``, ``hs.Float`` with ``step``),
            whose values are all tried. None: the grid is the space the objective suggests (it must
            be discrete); the first trial draws its values at random.
        shuffle: try the points in a random order fixed by the study's seed instead of in order.

    Raises:
        InvalidArgumentError: a continuous parameter, a value the objective's distribution does not
            allow, or a parameter missing from a given grid.

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(sampler=hs.GridSampler({"x": [1, 2, 3], "k": ["a", "b"]}))
        >>> study.optimize(lambda t: t.suggest_int("x", 0, 5) + len(t.suggest_categorical(
        ...     "k", ["a", "b"])), n_trials=100)
        >>> len(study.get_trials(states=[hs.TrialState.COMPLETE]))
        6
    """

    def __init__(self, grid: Mapping[str, Any] | None = None, *, shuffle: bool = False) -> None:
        if not isinstance(shuffle, bool):
            raise InvalidTypeError(f"`shuffle` must be True or False, got {shuffle!r}")
        self._grid = None if grid is None else _parse_grid(grid)
        if shuffle and self._grid is not None:
            _permutation_size(self._grid.size)
        self._shuffle = shuffle
        self._local = threading.local()
        self._cache: _Cache | None = None

    def __repr__(self) -> str:
        if self._grid is None:
            return f"GridSampler(grid=None, shuffle={self._shuffle})"
        names = [d.name for d in self._grid.dims]
        return f"GridSampler(params={names}, n_points={self._grid.size}, shuffle={self._shuffle})"

    def __getstate__(self) -> dict[str, Any]:  # caches and the thread-local stay behind
        return {"_grid": self._grid, "_shuffle": self._shuffle}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _local=threading.local(), _cache=None)

    # -- the Sampler protocol -------------------------------------------------------------------
    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """The grid parameters whose distribution is known, set to the trial's grid point.

        Raises:
            SearchSpaceExhausted: every grid point is held by another trial.
        """
        grid, point = self._state(view)
        if grid is None:
            return {}
        if point is None:
            raise self._exhausted(grid)
        out: dict[str, Distribution] = {}
        for dim in grid.dims:  # for a list of values: the distribution a trial used first
            known = (t.distributions.get(dim.name) for t in view.trials)
            dist = dim.dist or next((d for d in known if d is not None), None)
            if dist is not None and dist.contains(point[dim.name]):
                out[dim.name] = dist
        return out

    def check_exhausted(self, view: StudyView) -> None:
        """Raise SearchSpaceExhausted when every grid point is held. The study calls this before
        it creates a trial, so a finished grid search leaves no extra trial behind."""
        grid = self._grid or _auto_grid(view)
        if grid is not None and self._choose(view, grid) is None:
            raise self._exhausted(grid)

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """The trial's grid point, restricted to ``space``."""
        if self._grid is None:
            for name, dist in space.items():
                if not _discrete(dist):
                    raise _continuous_error(name)
        grid, point = self._state(view)
        if grid is None:
            return sample_uniform(space, rng)
        if point is None:
            raise self._exhausted(grid)
        out: dict[str, Any] = {}
        rest: dict[str, Distribution] = {}
        for name, dist in space.items():
            if name not in point:
                if self._grid is not None:
                    raise InvalidArgumentError(
                        f"parameter {name!r} is not in the grid: add its values, e.g. "
                        f"GridSampler({{..., {name!r}: [...]}})"
                    )
                rest[name] = dist  # a parameter no other trial has had yet
                continue
            value = point[name]
            if not dist.contains(value):
                raise InvalidArgumentError(
                    f"grid value {value!r} of parameter {name!r} is outside the objective's "
                    f"{dist!r}: make the grid's values for {name!r} fit what the objective suggests"
                )
            out[name] = dist.to_external(dist.to_internal(value))
        out.update(sample_uniform(rest, rng) if rest else {})
        return {name: out[name] for name in space}

    # -- choosing a point -----------------------------------------------------------------------
    def _exhausted(self, grid: _Grid) -> SearchSpaceExhausted:
        return SearchSpaceExhausted(
            f"all {grid.size} grid points have been tried or are being tried: the grid search is "
            "complete"
        )

    def _state(self, view: StudyView) -> tuple[_Grid | None, dict[str, Any] | None]:
        """The grid and the current trial's point (None when exhausted), computed once per view."""
        cached = getattr(self._local, "entry", None)
        if cached is not None and cached[0] is view:
            return cached[1], cached[2]
        grid = self._grid or _auto_grid(view)
        point = None
        if grid is not None:
            chosen = self._choose(view, grid)
            point = None if chosen is None else grid.values(chosen)
        self._local.entry = (view, grid, point)
        return grid, point

    def _order(self, grid: _Grid, seed: int) -> Iterator[int]:
        """Grid positions in the order points are handed out."""
        if not self._shuffle:
            yield from range(grid.size)
            return
        permutation = _permutation(_permutation_size(grid.size), seed)
        for chunk in range(0, grid.size, 4096):
            yield from permutation[chunk : chunk + 4096].tolist()

    def _first(
        self, grid: _Grid, seed: int, claims: _Claims, wanted: Pattern, *, free: bool = True
    ) -> int | None:
        """Position of the first point (in order) that fits ``wanted`` and, if ``free``, is free."""
        decode = bool(wanted) or (free and bool(claims.partial))
        for position in self._order(grid, seed):
            if free and position in claims.full:
                continue
            if decode:
                point = grid.decode(position)
                if not all(point[d] == i for d, i in wanted):
                    continue
                if free and not claims.free_of_partial(point):
                    continue
            return position
        return None

    def _choose(self, view: StudyView, grid: _Grid) -> Point | None:
        claims = _Claims(view, grid, self._cache)
        self._cache = claims.cache
        wanted: Pattern = ()
        current = next((t for t in reversed(view.trials) if t.number == view.current), None)
        if current is not None:  # an enqueued trial: keep the values the user fixed
            wanted = _held(current, grid, live=True) or ()
            if len(wanted) == len(grid.dims):
                return tuple(i for _, i in wanted)
        for _ in range(claims.unplaced):  # running trials about to take the first free points
            taken = self._first(grid, view.seed, claims, ())
            if taken is None:
                break
            claims.full.add(taken)
        found = self._first(grid, view.seed, claims, wanted)
        if found is None and wanted:  # an enqueued trial runs even when its points are taken
            found = self._first(grid, view.seed, claims, wanted, free=False)
        return None if found is None else grid.decode(found)

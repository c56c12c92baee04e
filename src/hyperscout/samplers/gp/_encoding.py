"""A search space as the GP sees it: one column per parameter, snapping, decoding.

Numeric parameters live at their unit-interval position from the distribution (so log parameters
are log-scaled, and each discrete value sits at the centre of its cell); categorical ones hold the
choice index. How the acquisition optimizer moves along a parameter depends on its kind:

* ``CONT``: a float without step, moved by L-BFGS-B.
* ``RELAXED``: a numeric discrete parameter with more than ``DISC_MAX`` values: moved by L-BFGS-B
  as if continuous, then rounded to the nearest allowed value (the acquisition is always
  evaluated at allowed values in the end) and improved among its neighbours.
* ``DISCRETE``: a numeric discrete parameter with at most ``DISC_MAX`` values: every value is
  tried in turn (coordinate search).
* ``CAT``: a categorical: every choice is tried in turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hyperscout._records import FrozenTrial
from hyperscout.samplers.gp._model import FeatureMap
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = ["CAT", "CONT", "DISCRETE", "RELAXED", "SpaceCodec", "codec_for"]

CONT, RELAXED, DISCRETE, CAT = 0, 1, 2, 3
DISC_MAX = 64
_NEIGHBOUR_STEPS = np.array([-2.0, -1.0, 1.0, 2.0])


def _internal_values(dist: Float | Int) -> np.ndarray:
    """Every allowed internal value of a numeric discrete distribution, ascending."""
    n = dist.n_values or 1
    step = float(dist.step or 1.0)
    out: np.ndarray = np.minimum(float(dist.low) + step * np.arange(n), float(dist.high))
    return out


@dataclass(frozen=True, slots=True, eq=False)
class SpaceCodec:
    """Encoding of a fixed, ordered set of parameters (see the module docstring).

    Attributes:
        names: parameter names, in column order.
        dists: their distributions.
        kinds: ``(d,)`` CONT / RELAXED / DISCRETE / CAT per column.
        grids: per column, the allowed positions (DISCRETE) or choice indices (CAT), else None.
        fmap: features for the kernel.
    """

    names: tuple[str, ...]
    dists: tuple[Distribution, ...]
    kinds: np.ndarray
    grids: tuple[np.ndarray | None, ...]
    fmap: FeatureMap

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def columns(self, *kinds: int) -> np.ndarray:
        """Indices of the columns of the given kinds."""
        return np.flatnonzero(np.isin(self.kinds, kinds))

    def encode(self, trials: Sequence[FrozenTrial]) -> np.ndarray:
        """``(n, d)`` points of trials that hold every parameter."""
        x = np.empty((len(trials), self.dim))
        for j, (name, dist) in enumerate(zip(self.names, self.dists, strict=True)):
            internal = np.array([dist.to_internal(t.params[name]) for t in trials], dtype=float)
            x[:, j] = internal if isinstance(dist, Categorical) else dist.to_unit(internal)
        return x

    def from_unit_cube(self, u: np.ndarray) -> np.ndarray:
        """``(m, d)`` points of the unit cube to allowed points (choices by equal cells)."""
        x = np.array(u, dtype=float)
        for j in self.columns(CAT):
            n = self.fmap.n_choices[j]
            x[:, j] = np.minimum(np.floor(np.clip(x[:, j], 0.0, 1.0) * n), n - 1)
        return self.snap(x)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """``(m, d)`` points with numeric discrete columns moved to their nearest allowed value."""
        x = np.array(x, dtype=float)
        for j in self.columns(RELAXED, DISCRETE):
            dist = self.dists[j]
            x[:, j] = dist.to_unit(dist.from_unit(x[:, j]))
        cont = self.columns(CONT)
        x[:, cont] = np.clip(x[:, cont], 0.0, 1.0)
        return x

    def neighbours(self, j: int, u: float) -> np.ndarray:
        """Positions of the values up to two steps away from position ``u`` in RELAXED column j."""
        dist = self.dists[j]
        if isinstance(dist, Categorical):  # pragma: no cover - categoricals are never RELAXED
            return np.arange(dist.n_values, dtype=float)
        v = float(dist.from_unit(u))
        step = float(dist.step or 1.0)
        values = np.clip(v + step * _NEIGHBOUR_STEPS, float(dist.low), float(dist.high))
        out: np.ndarray = dist.to_unit(values)
        return out

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """One ``(d,)`` point to external values."""
        out: dict[str, Any] = {}
        for j, (name, dist) in enumerate(zip(self.names, self.dists, strict=True)):
            if isinstance(dist, Categorical):
                internal = float(min(max(round(float(row[j])), 0), dist.n_values - 1))
            else:
                internal = float(dist.from_unit(float(row[j])))
            out[name] = dist.to_external(internal)
        return out


def _kind(dist: Distribution) -> int:
    if isinstance(dist, Categorical):
        return CAT
    n = dist.n_values
    if n is None:
        return CONT
    return DISCRETE if n <= DISC_MAX else RELAXED


@lru_cache(maxsize=64)
def _build(names: tuple[str, ...], dists: tuple[Distribution, ...]) -> SpaceCodec:
    kinds = np.array([_kind(d) for d in dists], dtype=np.int64)
    grids: list[np.ndarray | None] = []
    for dist, kind in zip(dists, kinds, strict=True):
        if kind == CAT:
            grids.append(np.arange(dist.n_values or 1, dtype=float))
        elif kind == DISCRETE and not isinstance(dist, Categorical):
            grids.append(dist.to_unit(_internal_values(dist)))
        else:
            grids.append(None)
    n_choices = tuple(d.n_values if isinstance(d, Categorical) else 0 for d in dists)
    return SpaceCodec(names, dists, kinds, tuple(grids), FeatureMap(n_choices))


def codec_for(space: Mapping[str, Distribution]) -> SpaceCodec:
    """The (cached) codec of a space, columns in the space's order."""
    return _build(tuple(space), tuple(space.values()))

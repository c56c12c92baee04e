"""Desirability functions: several objectives mapped to [0, 1] and combined into one score.

Each response ``y`` becomes a desirability ``d`` in [0, 1] (1 is ideal) by the one-sided and
two-sided transformations of Derringer & Suich, "Simultaneous Optimization of Several Response
Variables", Journal of Quality Technology 12(4), 1980; the overall desirability is their geometric
mean, here with the importance weights of Derringer, "A Balancing Act: Optimizing a Product's
Properties", Quality Progress 27(6), 1994: ``D = (prod d_i ** w_i) ** (1 / sum w_i)``. A single
zero desirability makes ``D`` zero, so an unacceptable objective cannot be traded away.

NaN responses (e.g. a failed metric) get desirability 0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias, overload

import numpy as np
from numpy.typing import ArrayLike

from hyperscout.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "Desirability",
    "DesirabilityFunction",
    "Maximize",
    "Minimize",
    "Target",
    "overall_desirability",
]


def _finite(name: str, value: object) -> float:
    """``value`` as a finite float, or an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"`{name}` must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidArgumentError(f"`{name}` must be finite, got {name}={value!r}")
    return out


def _positive(name: str, value: object) -> float:
    out = _finite(name, value)
    if out <= 0:
        raise InvalidArgumentError(f"`{name}` must be > 0, got {name}={value!r}")
    return out


def _apply(
    y: float | np.ndarray, transform: Callable[[np.ndarray], np.ndarray]
) -> float | np.ndarray:
    """``transform`` on ``y`` as floats, NaN mapped to 0; a float for a scalar input."""
    arr = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isnan(arr), 0.0, transform(arr))
    if isinstance(y, np.ndarray):
        return out
    return float(out)


@dataclass(frozen=True, slots=True)
class _OneSided:
    """Fields, checks and evaluation shared by :class:`Maximize` and :class:`Minimize`."""

    low: float
    high: float
    weight: float = 1.0

    def __post_init__(self) -> None:
        low, high = _finite("low", self.low), _finite("high", self.high)
        if not low < high:
            raise InvalidArgumentError(f"`low` must be < `high`, got low={low}, high={high}")
        _positive("weight", self.weight)

    @overload
    def __call__(self, y: float) -> float: ...
    @overload
    def __call__(self, y: np.ndarray) -> np.ndarray: ...
    def __call__(self, y: float | np.ndarray) -> float | np.ndarray:
        """The desirability of ``y`` (an array gives an array of the same shape)."""
        return _apply(y, self._transform)

    def _transform(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Maximize(_OneSided):
    """One-sided desirability of a response to maximize (Derringer & Suich 1980).

    ``d = 0`` for ``y <= low``, ``1`` for ``y >= high`` and ``((y - low) / (high - low)) **
    weight`` in between; ``weight > 1`` demands values close to ``high``, ``weight < 1`` is
    content with less.

    Attributes:
        low: the largest unacceptable value.
        high: the smallest value that is fully satisfying.
        weight: the exponent, ``> 0``.

    Example:
        >>> Maximize(0.0, 10.0)(2.5), Maximize(0.0, 10.0, weight=2.0)(5.0)
        (0.25, 0.25)
    """

    def _transform(self, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.clip((y - self.low) / (self.high - self.low), 0.0, 1.0) ** self.weight
        return out


@dataclass(frozen=True, slots=True)
class Minimize(_OneSided):
    """One-sided desirability of a response to minimize (Derringer & Suich 1980).

    ``d = 1`` for ``y <= low``, ``0`` for ``y >= high`` and ``((high - y) / (high - low)) **
    weight`` in between.

    Attributes:
        low: the largest value that is fully satisfying.
        high: the smallest unacceptable value.
        weight: the exponent, ``> 0``.

    Example:
        >>> Minimize(0.0, 10.0)(2.5)
        0.75
    """

    def _transform(self, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.clip((self.high - y) / (self.high - self.low), 0.0, 1.0) ** self.weight
        return out


@dataclass(frozen=True, slots=True)
class Target:
    """Two-sided desirability of a response with a best value (Derringer & Suich 1980).

    ``d = 1`` at ``target``, ``0`` outside ``(low, high)``, ``((y - low) / (target - low)) **
    weight_low`` below the target and ``((high - y) / (high - target)) ** weight_high`` above.

    Attributes:
        low: the lower end of the acceptable range.
        target: the best value, ``low < target < high``.
        high: the upper end of the acceptable range.
        weight_low: the exponent below the target, ``> 0``.
        weight_high: the exponent above the target, ``> 0``.

    Example:
        >>> t = Target(0.0, 4.0, 6.0)
        >>> t(2.0), t(4.0), t(5.0), t(7.0)
        (0.5, 1.0, 0.5, 0.0)
    """

    low: float
    target: float
    high: float
    weight_low: float = 1.0
    weight_high: float = 1.0

    def __post_init__(self) -> None:
        low, high = _finite("low", self.low), _finite("high", self.high)
        target = _finite("target", self.target)
        if not low < target < high:
            raise InvalidArgumentError(
                "`low`, `target`, `high` must satisfy low < target < high, got "
                f"low={low}, target={target}, high={high}"
            )
        _positive("weight_low", self.weight_low)
        _positive("weight_high", self.weight_high)

    @overload
    def __call__(self, y: float) -> float: ...
    @overload
    def __call__(self, y: np.ndarray) -> np.ndarray: ...
    def __call__(self, y: float | np.ndarray) -> float | np.ndarray:
        """The desirability of ``y`` (an array gives an array of the same shape)."""
        return _apply(y, self._transform)

    def _transform(self, y: np.ndarray) -> np.ndarray:
        below = np.clip((y - self.low) / (self.target - self.low), 0.0, 1.0) ** self.weight_low
        above = np.clip((self.high - y) / (self.high - self.target), 0.0, 1.0) ** self.weight_high
        out: np.ndarray = np.where(y <= self.target, below, above)
        return out


DesirabilityFunction: TypeAlias = Maximize | Minimize | Target
"""Any of the desirability transformations."""


def overall_desirability(ds: ArrayLike, weights: ArrayLike | None = None) -> float | np.ndarray:
    """Weighted geometric mean ``(prod d_i ** w_i) ** (1 / sum w_i)`` (Derringer 1994).

    Zero when any ``d_i`` is zero.

    Args:
        ds: desirabilities in [0, 1], one per objective along the first axis: shape ``(k,)``,
            or ``(k, ...)`` to score several points at once.
        weights: ``(k,)`` importance weights, each finite and ``> 0``; equal weights if None.

    Returns:
        A float for ``(k,)`` input, else an array of shape ``ds.shape[1:]``.

    Raises:
        InvalidArgumentError: ``ds`` is empty, NaN or outside [0, 1], or ``weights`` has the
            wrong shape or a non-positive or non-finite entry.

    Example:
        >>> overall_desirability([0.25, 1.0]), overall_desirability([0.5, 0.0])
        (0.5, 0.0)
    """
    try:
        d = np.array(ds, dtype=float)
        w = np.ones(d.shape[:1]) if weights is None else np.array(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(
            f"`ds` and `weights` must be numbers, got {ds!r}, {weights!r}"
        ) from exc
    if d.ndim == 0 or d.shape[0] == 0:
        raise InvalidArgumentError(
            f"`ds` must hold one desirability per objective along its first axis, got shape "
            f"{d.shape}"
        )
    if not np.all((d >= 0) & (d <= 1)):
        raise InvalidArgumentError(f"`ds` must lie in [0, 1] (no NaN), got {d.tolist()}")
    if w.shape != d.shape[:1] or not np.all(np.isfinite(w) & (w > 0)):
        raise InvalidArgumentError(
            f"`weights` must be {d.shape[0]} finite numbers > 0, got {np.asarray(weights).tolist()}"
        )
    exponents = (w / w.sum()).reshape(-1, *([1] * (d.ndim - 1)))
    out = np.prod(d**exponents, axis=0)
    return float(out) if d.ndim == 1 else np.asarray(out)


@dataclass(frozen=True, slots=True)
class Desirability:
    """Named objectives scored by one overall desirability (e.g. to rank trials by one number).

    Attributes:
        objectives: objective name -> its desirability function.
        weights: objective name -> importance weight (``> 0``); names left out weigh 1. None
            weighs every objective 1.

    Example:
        >>> ds = Desirability({"acc": Maximize(0.5, 1.0), "ms": Minimize(10.0, 100.0)})
        >>> ds.components({"acc": 0.75, "ms": 55.0})
        {'acc': 0.5, 'ms': 0.5}
        >>> round(ds.score({"acc": 0.75, "ms": 55.0}), 12)
        0.5
    """

    objectives: Mapping[str, DesirabilityFunction]
    weights: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.objectives, Mapping) or not self.objectives:
            raise InvalidArgumentError(
                f"`objectives` must be a non-empty mapping of name -> Maximize, Minimize or "
                f"Target, got {self.objectives!r}"
            )
        for name, fn in self.objectives.items():
            if not isinstance(name, str):
                raise InvalidTypeError(f"`objectives` keys must be str, got {name!r}")
            if not isinstance(fn, (Maximize, Minimize, Target)):
                raise InvalidTypeError(
                    f"`objectives[{name!r}]` must be Maximize, Minimize or Target, got {fn!r}"
                )
        object.__setattr__(self, "objectives", MappingProxyType(dict(self.objectives)))
        if self.weights is None:
            return
        if not isinstance(self.weights, Mapping):
            raise InvalidTypeError(f"`weights` must be a mapping or None, got {self.weights!r}")
        for name, weight in self.weights.items():
            if name not in self.objectives:
                raise InvalidArgumentError(
                    f"`weights` names {name!r}, which is not an objective "
                    f"(objectives: {sorted(self.objectives)})"
                )
            _positive(f"weights[{name!r}]", weight)
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))

    def components(self, values: Mapping[str, float]) -> dict[str, float]:
        """The desirability of each objective's value; NaN gives 0.

        Args:
            values: objective name -> value, exactly the names of :attr:`objectives`.

        Raises:
            InvalidArgumentError: a name is missing or unknown.
            InvalidTypeError: a value is not a real number.
        """
        if not isinstance(values, Mapping):
            raise InvalidTypeError(f"`values` must be a mapping of name -> value, got {values!r}")
        expected = sorted(self.objectives)
        for name in self.objectives:
            if name not in values:
                raise InvalidArgumentError(
                    f"`values` is missing the objective {name!r} (expected keys {expected})"
                )
        for name in values:
            if name not in self.objectives:
                raise InvalidArgumentError(
                    f"`values` has the unknown objective {name!r} (expected keys {expected})"
                )
        out: dict[str, float] = {}
        for name, fn in self.objectives.items():
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InvalidTypeError(f"`values[{name!r}]` must be a real number, got {value!r}")
            out[name] = fn(float(value))
        return out

    def score(self, values: Mapping[str, float]) -> float:
        """The overall desirability of ``values`` (see :meth:`components` for the rules)."""
        parts = self.components(values)
        weights = self.weights or {}
        result = overall_desirability(
            list(parts.values()), [weights.get(name, 1.0) for name in parts]
        )
        return float(result)

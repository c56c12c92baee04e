"""Typed search spaces: :class:`Float`, :class:`Int`, :class:`Categorical`.

Each distribution maps a user-facing (*external*) value to an *internal* float (the value itself
for numbers, the choice index for categoricals) that storage keeps, and to a position in the unit
interval that model-based samplers work in. Numeric discrete values own equal-width cells of the
unit interval, so ``from_unit(to_unit(x)) == x`` for every allowed ``x``.

Example:
    >>> space = {"lr": Float(1e-5, 1e-1, log=True), "layers": Int(1, 4),
    ...          "act": Categorical(["relu", "tanh"])}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from hyperscout.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "Categorical",
    "Distribution",
    "Float",
    "Int",
    "distribution_from_dict",
    "validate_space",
]

_STEP_TOL = 1e-8


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(
            f"`{name}` must be a real number, got {value!r} ({type(value).__name__})"
        )
    out = float(value)
    if not math.isfinite(out):
        raise InvalidArgumentError(f"`{name}` must be finite, got {name}={value!r}")
    return out


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(float(value))
        raise InvalidTypeError(
            f"`{name}` must be an integer, got {value!r} ({type(value).__name__})"
        )
    return int(value)


def _check_bounds(low: float, high: float) -> None:
    if low > high:
        raise InvalidArgumentError(
            f"`low` must be <= `high`, got low={low!r}, high={high!r}: swap them"
        )


def _on_grid(k: float, low: float, high: float, step: float) -> bool:
    """Whether ``k`` (a distance from ``low`` in steps) is a whole number, up to rounding: the
    relative ``_STEP_TOL``, plus the half ulp each bound carries, which far from 0 with a small
    step (low=131072.0, high=131072.001, step=0.001) is alone 3e-8 of a step."""
    rounding = 2.0 * (math.ulp(low) + math.ulp(high)) / step
    return abs(k - round(k)) <= _STEP_TOL * max(1.0, abs(k)) + rounding


def _n_steps(low: float, high: float, step: float) -> int:
    """Number of grid points low, low+step, ..., high; raises if high is off the grid."""
    span = (high - low) / step
    k = round(span)
    if not _on_grid(span, low, high, step):
        raise InvalidArgumentError(
            f"`high - low` must be a multiple of `step`, got low={low!r}, high={high!r}, "
            f"step={step!r}: use high={low + math.floor(span + _STEP_TOL) * step!r}"
        )
    return int(k) + 1


@dataclass(frozen=True, slots=True)
class Float:
    """A real parameter in ``[low, high]``, optionally log-scaled or on a grid of ``step``.

    Example:
        >>> Float(1e-5, 1e-1, log=True).contains(0.01)
        True
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        low, high = _real("low", self.low), _real("high", self.high)
        _check_bounds(low, high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))
        if self.log and low <= 0:
            raise InvalidArgumentError(
                f"`low` must be > 0 when log=True, got low={low!r}: use a positive lower bound"
            )
        if self.step is not None:
            step = _real("step", self.step)
            if step <= 0:
                raise InvalidArgumentError(f"`step` must be > 0, got step={step!r}")
            if self.log:
                raise InvalidArgumentError(
                    "`step` and `log=True` cannot be combined for a float: drop one of them"
                )
            object.__setattr__(self, "step", step)
            _n_steps(low, high, step)

    @property
    def n_values(self) -> int | None:
        """Number of allowed values, or None when continuous."""
        if self.step is None:
            return 1 if self.low == self.high else None
        return _n_steps(self.low, self.high, self.step)

    def single(self) -> bool:
        """True when exactly one value is allowed."""
        return self.low == self.high

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an allowed external value."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        v = float(value)
        if not (self.low <= v <= self.high):
            return False
        if self.step is None:
            return True
        return _on_grid((v - self.low) / self.step, self.low, self.high, self.step)

    def to_internal(self, value: Any) -> float:
        """External value to the float storage keeps (the value itself)."""
        return float(value)

    def to_external(self, internal: float) -> float:
        """Internal float back to the user-facing value."""
        return float(internal)

    def to_unit(self, internal: np.ndarray | float) -> np.ndarray:
        """Map internal values into [0, 1] (log-scaled when ``log``; cell centres when stepped)."""
        x = np.asarray(internal, dtype=float)
        if self.high == self.low:
            return np.full_like(x, 0.5)
        if self.step is not None:
            n = _n_steps(self.low, self.high, self.step)
            k = np.clip(np.round((x - self.low) / self.step), 0, n - 1)
            return (k + 0.5) / n
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            out: np.ndarray = (np.log(x) - lo) / (hi - lo)
            return out
        linear: np.ndarray = (x - self.low) / (self.high - self.low)
        return linear

    def decode(self, u: float) -> float:
        """Scalar :meth:`from_unit` (pure Python, for per-parameter sampling hot paths)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.high == self.low:
            return self.low
        if self.step is not None:
            n = _n_steps(self.low, self.high, self.step)
            return min(self.low + min(math.floor(u * n), n - 1) * self.step, self.high)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return min(max(math.exp(lo + u * (hi - lo)), self.low), self.high)
        return min(max(self.low + u * (self.high - self.low), self.low), self.high)

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse of :meth:`to_unit`; any ``u`` is clipped into the allowed set."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.high == self.low:
            return np.full_like(u, self.low)
        if self.step is not None:
            n = _n_steps(self.low, self.high, self.step)
            k = np.minimum(np.floor(u * n), n - 1)
            return np.minimum(self.low + k * self.step, self.high)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return np.clip(np.exp(lo + u * (hi - lo)), self.low, self.high)
        return np.clip(self.low + u * (self.high - self.low), self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (see :func:`distribution_from_dict`)."""
        return {
            "type": "float",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
        }


@dataclass(frozen=True, slots=True)
class Int:
    """An integer parameter in ``[low, high]``, optionally log-scaled or on a grid of ``step``.

    Example:
        >>> Int(1, 10, log=True).contains(3)
        True
    """

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        low, high = _integer("low", self.low), _integer("high", self.high)
        _check_bounds(low, high)
        step = _integer("step", self.step)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "log", bool(self.log))
        if step <= 0:
            raise InvalidArgumentError(f"`step` must be >= 1, got step={step!r}")
        if self.log and low < 1:
            raise InvalidArgumentError(
                f"`low` must be >= 1 when log=True, got low={low!r}: use a positive lower bound"
            )
        if self.log and step != 1:
            raise InvalidArgumentError(
                f"`step` must be 1 when log=True, got step={step!r}: drop one of them"
            )
        if (high - low) % step:
            raise InvalidArgumentError(
                f"`high - low` must be a multiple of `step`, got low={low}, high={high}, "
                f"step={step}: use high={low + (high - low) // step * step}"
            )

    @property
    def n_values(self) -> int:
        """Number of allowed values."""
        return (self.high - self.low) // self.step + 1

    def single(self) -> bool:
        """True when exactly one value is allowed."""
        return self.low == self.high

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an allowed external value."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not float(value).is_integer():
            return False
        v = int(float(value))
        return bool(self.low <= v <= self.high and (v - self.low) % self.step == 0)

    def to_internal(self, value: Any) -> float:
        """External value to the float storage keeps."""
        return float(int(value))

    def to_external(self, internal: float) -> int:
        """Internal float back to the user-facing int."""
        return round(internal)

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def to_unit(self, internal: np.ndarray | float) -> np.ndarray:
        """Map internal values into [0, 1]; each integer owns a cell (log-width when ``log``)."""
        x = np.asarray(internal, dtype=float)
        if self.log:
            lo, hi = self._log_edges()
            out: np.ndarray = (np.log(x) - lo) / (hi - lo)
            return out
        n = self.n_values
        k = np.clip(np.round((x - self.low) / self.step), 0, n - 1)
        return (k + 0.5) / n

    def decode(self, u: float) -> float:
        """Scalar :meth:`from_unit` (pure Python, for per-parameter sampling hot paths)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = self._log_edges()
            return float(min(max(round(math.exp(lo + u * (hi - lo))), self.low), self.high))
        n = self.n_values
        return float(self.low + min(math.floor(u * n), n - 1) * self.step)

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse of :meth:`to_unit`; any ``u`` is mapped to an allowed integer (as float)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.log:
            lo, hi = self._log_edges()
            return np.clip(np.round(np.exp(lo + u * (hi - lo))), self.low, self.high)
        n = self.n_values
        k = np.minimum(np.floor(u * n), n - 1)
        return self.low + k * self.step

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (see :func:`distribution_from_dict`)."""
        return {
            "type": "int",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
        }


def _same_choice(a: Any, b: Any) -> bool:
    # True == 1 in Python, but a user who lists both means two choices.
    return type(a) is type(b) and (a == b or (a != a and b != b))


@dataclass(frozen=True, slots=True, eq=False)
class Categorical:
    """A choice among hashable values (str, int, float, bool, None, ...).

    Example:
        >>> Categorical(["relu", "tanh", None]).index(None)
        2
    """

    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise InvalidTypeError(
                f"`choices` must be a list or tuple of values, got {self.choices!r}"
            )
        choices = tuple(self.choices)
        if not choices:
            raise InvalidArgumentError("`choices` must not be empty: give at least one value")
        for c in choices:
            if not isinstance(c, Hashable):
                raise InvalidTypeError(
                    f"`choices` must hold hashable values, got {c!r} ({type(c).__name__}): "
                    "use a tuple or a string key instead"
                )
        for i, c in enumerate(choices):
            if any(_same_choice(c, d) for d in choices[:i]):
                raise InvalidArgumentError(f"`choices` must be unique, got {c!r} twice")
        object.__setattr__(self, "choices", choices)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical) or len(other.choices) != len(self.choices):
            return False
        return all(_same_choice(a, b) for a, b in zip(self.choices, other.choices, strict=True))

    def __hash__(self) -> int:
        return hash(tuple((type(c).__name__, c) for c in self.choices))

    @property
    def n_values(self) -> int:
        """Number of choices."""
        return len(self.choices)

    def single(self) -> bool:
        """True when exactly one value is allowed."""
        return len(self.choices) == 1

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices; raises if it is not one of them."""
        for i, c in enumerate(self.choices):
            if _same_choice(c, value):
                return i
        raise InvalidArgumentError(f"{value!r} is not one of the choices {list(self.choices)!r}")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the choices."""
        return any(_same_choice(c, value) for c in self.choices)

    def to_internal(self, value: Any) -> float:
        """External value to its index (as float)."""
        return float(self.index(value))

    def to_external(self, internal: float) -> Any:
        """Index back to the choice."""
        return self.choices[round(internal)]

    def to_unit(self, internal: np.ndarray | float) -> np.ndarray:
        """Index to the centre of its cell in [0, 1]."""
        return (np.asarray(internal, dtype=float) + 0.5) / len(self.choices)

    def decode(self, u: float) -> float:
        """Scalar :meth:`from_unit`."""
        n = len(self.choices)
        return float(min(math.floor(min(max(float(u), 0.0), 1.0) * n), n - 1))

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Position in [0, 1] to an index (as float)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        return np.minimum(np.floor(u * len(self.choices)), len(self.choices) - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (see :func:`distribution_from_dict`)."""
        return {"type": "categorical", "choices": list(self.choices)}


Distribution: TypeAlias = Float | Int | Categorical


def as_choice(value: Any) -> Any:
    """Undo JSON's tuple-to-list conversion: a list is never a valid (hashable) choice."""
    return tuple(as_choice(v) for v in value) if isinstance(value, list) else value


def distribution_from_dict(data: Mapping[str, Any]) -> Distribution:
    """Rebuild a distribution from :meth:`to_dict` output (also after a JSON round trip)."""
    kind = data.get("type")
    if kind == "float":
        return Float(data["low"], data["high"], log=data["log"], step=data["step"])
    if kind == "int":
        return Int(data["low"], data["high"], log=data["log"], step=data["step"])
    if kind == "categorical":
        return Categorical(tuple(as_choice(c) for c in data["choices"]))
    raise InvalidArgumentError(f"unknown distribution type {kind!r} in {dict(data)!r}")


def validate_space(space: Any, argument: str = "space") -> dict[str, Distribution]:
    """Check a user's ``{name: distribution}`` mapping and return it as a dict."""
    if not isinstance(space, Mapping):
        raise InvalidTypeError(
            f"`{argument}` must be a dict of name -> hs.Float/hs.Int/hs.Categorical, got {space!r}"
        )
    out: dict[str, Distribution] = {}
    for name, dist in space.items():
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"`{argument}` keys must be non-empty strings, got {name!r}")
        if not isinstance(dist, (Float, Int, Categorical)):
            raise InvalidTypeError(
                f"`{argument}[{name!r}]` must be hs.Float, hs.Int or hs.Categorical, got {dist!r}"
            )
        out[name] = dist
    return out

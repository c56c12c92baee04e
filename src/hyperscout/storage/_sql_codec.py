"""Encoding of trial data for SQL rows: JSON text, naive UTC datetimes, distributions.

Values, attributes and distributions are stored as JSON text: Python's ``json`` writes floats
with ``repr`` (the shortest string that reads back to the same float64) and keeps ``Infinity``,
``-Infinity`` and ``NaN``, so every value round-trips bit-exactly. Parameters keep their internal
float in a DOUBLE column next to their distribution. Everything a write needs is encoded by
:func:`encode_write` before its transaction starts, so bad input never reaches the database.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperscout._records import StudyDirection, TrialState
from hyperscout.errors import InvalidTypeError
from hyperscout.space import Categorical, Distribution, distribution_from_dict
from hyperscout.storage._base import ParamWrite

__all__ = [
    "TrialWrite",
    "decode_directions",
    "dump_attr",
    "dump_values",
    "encode_write",
    "from_db_time",
    "load_distribution",
    "load_values",
    "to_db_time",
]

_CACHE_LIMIT = 4096
_dist_to_json: dict[Distribution, str] = {}
_json_to_dist: dict[str, Distribution] = {}
_PLAIN = (str, int, float, bool, type(None))


def to_db_time(value: _dt.datetime | None) -> _dt.datetime | None:
    """An aware datetime as the naive UTC datetime the tables hold."""
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value


def from_db_time(value: _dt.datetime | None) -> _dt.datetime | None:
    """A stored naive UTC datetime as an aware one, as the in-memory storage returns."""
    return None if value is None else value.replace(tzinfo=_dt.timezone.utc)


def dump_attr(key: Any, value: Any, what: str) -> str:
    """JSON text of an attribute; raises InvalidTypeError naming ``what`` and ``key``."""
    if not isinstance(key, str):
        raise InvalidTypeError(f"{what} keys must be strings, got {key!r}")
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise InvalidTypeError(
            f"{what} {key!r} must be JSON-serializable (str, int, float, bool, None, lists and "
            f"dicts of them) to be kept in SQL storage, got {value!r}: {err}"
        ) from None


def dump_values(values: tuple[float, ...] | None) -> str | None:
    """JSON text of objective values (None stays NULL)."""
    return None if values is None else json.dumps(list(values))


def load_values(text: str | None) -> tuple[float, ...] | None:
    """Objective values from their JSON text."""
    return None if text is None else tuple(float(v) for v in json.loads(text))


def decode_directions(text: str) -> tuple[StudyDirection, ...]:
    """Directions of a study from their JSON text."""
    return tuple(StudyDirection(d) for d in json.loads(text))


def _plain_choice(choice: Any) -> bool:
    if isinstance(choice, tuple):
        return all(_plain_choice(c) for c in choice)
    return type(choice) in _PLAIN


def dump_distribution(name: str, dist: Distribution) -> str:
    """JSON text of a distribution (cached: trials repeat the same few distributions)."""
    cached = _dist_to_json.get(dist)
    if cached is not None:
        return cached
    if isinstance(dist, Categorical):
        for choice in dist.choices:
            # Another type (a numpy scalar, an enum) would read back as a plain value and no
            # longer equal the distribution the objective suggests.
            if not _plain_choice(choice):
                raise InvalidTypeError(
                    f"parameter {name!r}: SQL storage keeps categorical choices of type str, "
                    f"int, float, bool, None or tuples of them, got {choice!r} "
                    f"({type(choice).__name__}): convert the choices (e.g. with .tolist())"
                )
    text = json.dumps(dist.to_dict(), separators=(",", ":"))
    if len(_dist_to_json) >= _CACHE_LIMIT:
        _dist_to_json.clear()
    _dist_to_json[dist] = text
    return text


def load_distribution(text: str) -> Distribution:
    """A distribution from its JSON text (cached)."""
    dist = _json_to_dist.get(text)
    if dist is None:
        dist = distribution_from_dict(json.loads(text))
        if len(_json_to_dist) >= _CACHE_LIMIT:
            _json_to_dist.clear()
        _json_to_dist[text] = dist
    return dist


def _attr_rows(
    attrs: Mapping[str, Any] | None, system: bool, what: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    readback: dict[str, Any] = {}
    for key, value in (attrs or {}).items():
        text = dump_attr(key, value, what)
        rows.append({"system": system, "key": key, "value": text})
        readback[key] = json.loads(text)  # what a later read returns (tuples become lists)
    return rows, readback


@dataclass(slots=True)
class TrialWrite:
    """One trial write with its rows encoded; attribute values as they will read back."""

    state: TrialState | None = None
    values: Sequence[float] | None = None
    params: dict[str, ParamWrite] = field(default_factory=dict)
    param_rows: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[int, float] = field(default_factory=dict)
    attr_rows: list[dict[str, Any]] = field(default_factory=list)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    expected: Collection[TrialState] | None = None
    expected_attrs: dict[str, Any] = field(default_factory=dict)
    beat: bool = False  # a write leaving the trial RUNNING starts watching it (heartbeats)


def encode_write(
    state: TrialState | None = None,
    values: Sequence[float] | None = None,
    params: Mapping[str, ParamWrite] | None = None,
    intermediate_values: Mapping[int, float] | None = None,
    user_attrs: Mapping[str, Any] | None = None,
    system_attrs: Mapping[str, Any] | None = None,
    expected_states: Collection[TrialState] | None = None,
    expected_attrs: Mapping[str, Any] | None = None,
) -> TrialWrite:
    """Check and encode the arguments of ``create_trial`` / ``update_trial``."""
    if state is not None and not isinstance(state, TrialState):
        raise InvalidTypeError(f"`state` must be a TrialState, got {state!r}")
    param_rows = [
        {"name": name, "distribution": dump_distribution(name, dist), "value": float(internal)}
        for name, (dist, internal) in (params or {}).items()
    ]
    user_rows, user_back = _attr_rows(user_attrs, False, "user attribute")
    system_rows, system_back = _attr_rows(system_attrs, True, "system attribute")
    return TrialWrite(
        state=state,
        values=values,
        params=dict(params or {}),
        param_rows=param_rows,
        steps={int(k): float(v) for k, v in (intermediate_values or {}).items()},
        attr_rows=user_rows + system_rows,
        user_attrs=user_back,
        system_attrs=system_back,
        expected=expected_states,
        expected_attrs=dict(expected_attrs or {}),
    )

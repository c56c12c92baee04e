"""Shared test helper: a suggested value is allowed by its distribution and has the right type."""

from __future__ import annotations

import math
from typing import Any

import hyperscout as hs


def assert_allowed(params: dict[str, Any], space: dict[str, hs.Distribution]) -> None:
    """Every value lies in its distribution; ints are int, floats finite float, choices exact."""
    assert set(params) <= set(space), f"unknown parameters {set(params) - set(space)}"
    for name, value in params.items():
        dist = space[name]
        assert dist.contains(value), f"{name}={value!r} is outside {dist!r}"
        if isinstance(dist, hs.Int):
            assert type(value) is int, f"{name}={value!r} is not an int"
        elif isinstance(dist, hs.Float):
            assert type(value) is float and math.isfinite(value), f"{name}={value!r}"
        else:
            assert any(type(value) is type(c) and value == c for c in dist.choices), value

"""Samplers: which configuration to try next.

``make_sampler("tpe")`` builds a sampler from its registry name; the CLI and config files use the
same registry (:data:`SAMPLERS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.samplers._base import Sampler, StudyView, intersection_space
from hyperscout.samplers._random import RandomSampler

__all__ = [
    "SAMPLERS",
    "AutoSampler",
    "CMAESSampler",
    "DESampler",
    "GPSampler",
    "GridSampler",
    "NSGAIIISampler",
    "NSGAIISampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "StudyView",
    "TPESampler",
    "intersection_space",
    "make_sampler",
]


# Registry name -> (module, class); modules are imported on first use so that
# `import hyperscout` stays fast and optional heavy code loads only when asked for.
_LAZY: dict[str, tuple[str, str]] = {
    "grid": ("hyperscout.samplers._grid", "GridSampler"),
    "qmc": ("hyperscout.samplers._qmc", "QMCSampler"),
    "tpe": ("hyperscout.samplers._tpe", "TPESampler"),
    "cmaes": ("hyperscout.samplers._cmaes", "CMAESSampler"),
    "gp": ("hyperscout.samplers.gp", "GPSampler"),
    "de": ("hyperscout.samplers._de", "DESampler"),
    "nsga2": ("hyperscout.samplers._nsga", "NSGAIISampler"),
    "nsga3": ("hyperscout.samplers._nsga", "NSGAIIISampler"),
    "auto": ("hyperscout.samplers._auto", "AutoSampler"),
    "multifidelity": ("hyperscout.samplers._multifidelity", "MultiFidelitySampler"),
}


def _loader(module: str, name: str) -> Callable[[], type]:
    def load() -> type:
        cls: type = getattr(importlib.import_module(module), name)
        return cls

    return load


#: Registry name -> a function returning the sampler class (imported lazily).
SAMPLERS: dict[str, Callable[[], type]] = {
    "random": lambda: RandomSampler,
    **{key: _loader(module, name) for key, (module, name) in _LAZY.items()},
}

DEFAULT_SAMPLER = "tpe"

_BY_CLASS = {name: _loader(module, name) for module, name in _LAZY.values()}


def __getattr__(name: str) -> Any:
    if name in _BY_CLASS:
        return _BY_CLASS[name]()
    raise AttributeError(name)


def make_sampler(sampler: Any) -> Sampler:
    """Turn the ``sampler`` argument of create_study into a Sampler.

    Accepts None (the default, TPE), a registry name, or any object with ``joint_space`` and
    ``suggest`` methods.
    """
    if sampler is None:
        sampler = DEFAULT_SAMPLER
    if isinstance(sampler, str):
        key = sampler.lower()
        if key not in SAMPLERS:
            raise InvalidArgumentError(
                f"`sampler` must be one of {sorted(SAMPLERS)}, got {sampler!r}"
            )
        cls = SAMPLERS[key]()
        out: Sampler = cls()
        return out
    if isinstance(sampler, Sampler):
        return sampler
    raise InvalidTypeError(
        f"`sampler` must be a name such as 'tpe' or a Sampler instance, got {sampler!r}"
    )

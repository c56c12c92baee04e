"""Samplers: which configuration to try next.

``make_sampler("tpe")`` builds a sampler from its registry name; the CLI and config files use the
same registry (:data:`SAMPLERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.samplers._base import Sampler, StudyView, intersection_space
from hyperscout.samplers._random import RandomSampler

__all__ = [
    "SAMPLERS",
    "CMAESSampler",
    "DESampler",
    "GPSampler",
    "GridSampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "StudyView",
    "TPESampler",
    "intersection_space",
    "make_sampler",
]


def _load_grid() -> type:
    from hyperscout.samplers._grid import GridSampler

    cls: type = GridSampler
    return cls


def _load_qmc() -> type:
    from hyperscout.samplers._qmc import QMCSampler

    cls: type = QMCSampler
    return cls


def _load_cmaes() -> type:
    from hyperscout.samplers._cmaes import CMAESSampler

    cls: type = CMAESSampler
    return cls


def _load_de() -> type:
    from hyperscout.samplers._de import DESampler

    cls: type = DESampler
    return cls


def _load_gp() -> type:
    from hyperscout.samplers.gp import GPSampler

    cls: type = GPSampler
    return cls


def _load_tpe() -> type:
    from hyperscout.samplers._tpe import TPESampler

    cls: type = TPESampler
    return cls


#: Registry name -> a function returning the sampler class (imported lazily).
SAMPLERS: dict[str, Callable[[], type]] = {
    "random": lambda: RandomSampler,
    "grid": _load_grid,
    "qmc": _load_qmc,
    "tpe": _load_tpe,
    "cmaes": _load_cmaes,
    "gp": _load_gp,
    "de": _load_de,
}

DEFAULT_SAMPLER = "tpe"


def __getattr__(name: str) -> Any:
    lazy = {
        "CMAESSampler": _load_cmaes,
        "DESampler": _load_de,
        "GPSampler": _load_gp,
        "GridSampler": _load_grid,
        "QMCSampler": _load_qmc,
        "TPESampler": _load_tpe,
    }
    if name in lazy:
        return lazy[name]()
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

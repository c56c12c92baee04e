"""The Sampler protocol and the read-only view of a study that samplers receive.

A sampler proposes parameters. It never sees the Study: it gets a :class:`StudyView` (immutable
snapshots of the trials) and an explicit ``numpy.random.Generator``. Given the same view and the
same generator state it must return the same values (bit-identical), and it keeps no state between
calls except caches it could rebuild from the view.

The study asks a sampler twice per trial:

1. at ``ask()``: ``joint_space(view)`` names the parameters the sampler wants to draw together
   (e.g. the parameters every completed trial shares); ``suggest(view, that_space, rng)`` draws
   them.
2. at each ``trial.suggest_*`` for a parameter that step 1 did not cover (conditional or new
   parameters): ``suggest(view, {name: distribution}, rng)``.

A sampler with a finite space (grid) may also define ``check_exhausted(view)``, which raises
``SearchSpaceExhausted`` before a trial is created; ``optimize`` then stops cleanly.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hyperscout._records import LIVE_STATES, FrozenTrial, StudyDirection, TrialState
from hyperscout.errors import InvalidArgumentError
from hyperscout.space import Distribution

__all__ = ["Sampler", "StudyView", "check_int", "intersection_space"]


class StudyView:
    """Read-only snapshot of a study for samplers and schedulers.

    Attributes:
        trials: every trial, ordered by number (the trial being sampled included).
        directions: one direction per objective.
        seed: the study's seed; constant for the study's lifetime, also across restarts (use it
            for study-wide choices such as a QMC scramble; per-trial randomness comes from the
            ``rng`` argument).
        current: number of the trial being sampled, or None outside a trial.

    ``completed`` may be given when the caller already knows :attr:`completed` (it must be
    exactly that: the COMPLETE trials with values, in number order).
    """

    __slots__ = ("__dict__", "current", "directions", "seed", "trials")

    def __init__(
        self,
        trials: Sequence[FrozenTrial],
        directions: Sequence[StudyDirection],
        seed: int = 0,
        current: int | None = None,
        *,
        completed: tuple[FrozenTrial, ...] | None = None,
    ):
        self.trials: tuple[FrozenTrial, ...] = tuple(trials)
        self.directions: tuple[StudyDirection, ...] = tuple(directions)
        self.seed = seed
        self.current = current
        if completed is not None:  # the study keeps it between views: no rescan per report
            self.__dict__["completed"] = completed

    @property
    def n_objectives(self) -> int:
        """Number of objectives."""
        return len(self.directions)

    def with_states(self, *states: TrialState) -> tuple[FrozenTrial, ...]:
        """Trials in any of ``states``, ordered by number."""
        return tuple(t for t in self.trials if t.state in states)

    @cached_property
    def completed(self) -> tuple[FrozenTrial, ...]:
        """COMPLETE trials with values."""
        return tuple(
            t for t in self.trials if t.state == TrialState.COMPLETE and t.values is not None
        )

    @cached_property
    def running(self) -> tuple[FrozenTrial, ...]:
        """RUNNING, WAITING and PAUSED trials other than the current one (results to come)."""
        return tuple(t for t in self.trials if t.state in LIVE_STATES and t.number != self.current)

    def signed_values(self, trials: Sequence[FrozenTrial]) -> np.ndarray:
        """Objective values as an (n, n_objectives) array where smaller is always better."""
        sign = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in self.directions])
        if not trials:
            return np.empty((0, self.n_objectives))
        out: np.ndarray = np.array([t.values for t in trials], dtype=float) * sign
        return out


def check_int(name: str, value: Any, minimum: int, *, or_none: bool = False) -> int:
    """A sampler argument that must be an int >= ``minimum``; anything else raises
    InvalidArgumentError naming the argument (``or_none``: the message says None is allowed,
    for arguments whose caller handles None itself)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = " or None (the default)" if or_none else ""
        raise InvalidArgumentError(
            f"`{name}` must be an int >= {minimum}{extra}, got {name}={value!r}"
        )
    return int(value)


def intersection_space(trials: Sequence[FrozenTrial]) -> dict[str, Distribution]:
    """Parameters that every given trial has, with the same distribution, in sorted name order."""
    space: dict[str, Distribution] | None = None
    for t in trials:
        if space is None:
            space = dict(t.distributions)
            continue
        dists = t.distributions
        for name in list(space):
            d = dists.get(name)
            # identity first: storage and trial.suggest_* share distribution objects, and
            # dataclass equality is slow on a per-ask path
            if d is not space[name] and d != space[name]:
                del space[name]
        if not space:
            break
    return {k: space[k] for k in sorted(space)} if space else {}


@runtime_checkable
class Sampler(Protocol):
    """Proposes parameter values. See the module docstring for the calling convention."""

    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """Parameters to draw together when a trial starts (may be empty)."""
        ...

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """External values for every parameter of ``space``."""
        ...

"""Uniform random search (in each parameter's own scale: log-uniform for log parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout.samplers._base import StudyView
from hyperscout.space import Distribution

__all__ = ["RandomSampler", "sample_uniform"]


def sample_uniform(space: Mapping[str, Distribution], rng: np.random.Generator) -> dict[str, Any]:
    """One uniform draw from the unit cube, decoded through each distribution."""
    u = rng.random(len(space)).tolist()
    return {
        name: dist.to_external(dist.decode(u[i])) for i, (name, dist) in enumerate(space.items())
    }


class RandomSampler:
    """Independent uniform sampling; the baseline every other sampler must beat.

    Example:
        >>> import hyperscout as hs
        >>> study = hs.create_study(sampler=hs.RandomSampler())
    """

    def __repr__(self) -> str:
        return "RandomSampler()"

    def joint_space(self, view: StudyView) -> dict[str, Distribution]:
        """Random search draws each parameter when the objective asks for it."""
        return {}

    def suggest(
        self, view: StudyView, space: Mapping[str, Distribution], rng: np.random.Generator
    ) -> dict[str, Any]:
        """Uniform values for ``space``."""
        return sample_uniform(space, rng)

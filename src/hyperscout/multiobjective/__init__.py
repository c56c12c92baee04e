"""Multi-objective tools: Pareto dominance and sorting, hypervolume, desirability functions.

Every function minimizes every objective: ``values`` has shape ``(n_points, n_objectives)``, and
maximized objectives are negated before the call. Desirability functions instead map each named
objective to [0, 1] and combine them into one score to maximize.

Example:
    >>> import numpy as np
    >>> from hyperscout.multiobjective import hypervolume, is_pareto_efficient
    >>> values = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    >>> is_pareto_efficient(values).tolist()
    [True, True, True, False]
    >>> hypervolume(values, [4.0, 4.0])
    6.0
"""

from __future__ import annotations

from hyperscout.multiobjective._desirability import (
    Desirability,
    DesirabilityFunction,
    Maximize,
    Minimize,
    Target,
    overall_desirability,
)
from hyperscout.multiobjective._hypervolume import (
    hypervolume,
    hypervolume_contributions,
    hypervolume_mc,
    reference_point,
)
from hyperscout.multiobjective._pareto import (
    constrained_ranks,
    crowding_distance,
    dominates,
    is_pareto_efficient,
    non_dominated_sort,
)

__all__ = [
    "Desirability",
    "DesirabilityFunction",
    "Maximize",
    "Minimize",
    "Target",
    "constrained_ranks",
    "crowding_distance",
    "dominates",
    "hypervolume",
    "hypervolume_contributions",
    "hypervolume_mc",
    "is_pareto_efficient",
    "non_dominated_sort",
    "overall_desirability",
    "reference_point",
]

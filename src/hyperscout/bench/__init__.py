"""Black-box benchmark suite: problems, a runner, peer adapters and a report.

* :mod:`~hyperscout.bench.problems`: the 24 BBOB functions (``ioh``) and real scikit-learn
  tuning tasks, each a :class:`Problem` with a hyperscout search space.
* :mod:`~hyperscout.bench.runner`: :func:`run` one optimizer on one problem for a budget and a
  seed, timing the optimizer apart from the objective.
* :mod:`~hyperscout.bench.adapters`: Optuna, SMAC3, HEBO and Nevergrad behind the same ask/tell
  loop (imported lazily).
* :mod:`~hyperscout.bench.report`: per-task normalization, final regret, anytime AUC, ranks,
  Friedman / Nemenyi, a Markdown table and a plot.

The optional packages come with ``pip install 'hyperscout[bench]'``. The command-line entry is
``benchmarks/blackbox.py`` in the repository.

Example:
    >>> from hyperscout.bench import make_problem, run  # doctest: +SKIP
    >>> result = run(make_problem("bbob-f01-d2"), "hyperscout:tpe", seed=0)  # doctest: +SKIP
    >>> result.budget  # doctest: +SKIP
    77
"""

from __future__ import annotations

from hyperscout.bench.problems import (
    BBOB_DIMS,
    BBOB_FUNCTIONS,
    SKLEARN_TASKS,
    Problem,
    carps_budget,
    list_problems,
    make_problem,
)
from hyperscout.bench.runner import (
    RunResult,
    available_optimizers,
    best_so_far,
    make_optimizer,
    run,
)

__all__ = [
    "BBOB_DIMS",
    "BBOB_FUNCTIONS",
    "SKLEARN_TASKS",
    "Problem",
    "RunResult",
    "available_optimizers",
    "best_so_far",
    "carps_budget",
    "list_problems",
    "make_optimizer",
    "make_problem",
    "run",
]

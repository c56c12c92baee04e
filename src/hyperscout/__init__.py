"""hyperscout: hyperparameter optimization from a notebook to a cluster.

Example:
    >>> import hyperscout as hs
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", -5, 5)
    ...     return (x - 2) ** 2
    >>> study = hs.create_study(direction="minimize", seed=0)
    >>> study.optimize(objective, n_trials=20)
    >>> round(study.best_params["x"], 0)
    2.0
"""

from __future__ import annotations

import logging as _logging
from typing import Any

from hyperscout._heartbeat import Heartbeat
from hyperscout._records import FrozenTrial, StudyDirection, StudySummary, TrialState
from hyperscout._version import __version__
from hyperscout.errors import (
    DuplicatedStudyError,
    HyperscoutError,
    HyperscoutWarning,
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    ParamConflictError,
    ScheduleFinished,
    SearchSpaceExhausted,
    StorageError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialPruned,
    TrialStateError,
)
from hyperscout.samplers import RandomSampler, Sampler, StudyView
from hyperscout.schedulers import (
    WAIT,
    ASHAScheduler,
    AsyncHyperbandScheduler,
    Decision,
    DEHBScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    IterativeDeepeningHyperbandScheduler,
    Job,
    MedianStoppingScheduler,
    PBTScheduler,
    Scheduler,
    SuccessiveHalvingScheduler,
    TopKScheduler,
)
from hyperscout.space import Categorical, Distribution, Float, Int
from hyperscout.storage import InMemoryStorage, Storage
from hyperscout.study import (
    Study,
    create_study,
    delete_study,
    get_all_study_summaries,
    load_study,
)
from hyperscout.trial import Trial

_logging.getLogger("hyperscout").addHandler(_logging.NullHandler())

__all__ = [
    "WAIT",
    "ASHAScheduler",
    "AsyncHyperbandScheduler",
    "AutoSampler",
    "CMAESSampler",
    "Categorical",
    "DEHBScheduler",
    "DESampler",
    "Decision",
    "Distribution",
    "DuplicatedStudyError",
    "FIFOScheduler",
    "Float",
    "FrozenTrial",
    "GPSampler",
    "GridSampler",
    "Heartbeat",
    "HyperbandScheduler",
    "HyperscoutError",
    "HyperscoutWarning",
    "InMemoryStorage",
    "Int",
    "InvalidArgumentError",
    "InvalidTypeError",
    "IterativeDeepeningHyperbandScheduler",
    "Job",
    "MedianStoppingScheduler",
    "MissingDependencyError",
    "MultiFidelitySampler",
    "PBTScheduler",
    "ParamConflictError",
    "QMCSampler",
    "RandomSampler",
    "SQLStorage",
    "Sampler",
    "ScheduleFinished",
    "Scheduler",
    "SearchSpaceExhausted",
    "Storage",
    "StorageError",
    "Study",
    "StudyDirection",
    "StudyNotFoundError",
    "StudySummary",
    "StudyView",
    "SuccessiveHalvingScheduler",
    "TPESampler",
    "TopKScheduler",
    "Trial",
    "TrialNotFoundError",
    "TrialPruned",
    "TrialState",
    "TrialStateError",
    "__version__",
    "create_study",
    "delete_study",
    "get_all_study_summaries",
    "load_study",
]


def __getattr__(name: str) -> Any:
    # Heavier pieces load on first use so `import hyperscout` stays fast.
    from hyperscout import samplers

    if name in samplers._BY_CLASS:  # sampler classes, loaded by their own registry
        return getattr(samplers, name)
    if name == "SQLStorage":
        from hyperscout.storage._sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module 'hyperscout' has no attribute {name!r}")

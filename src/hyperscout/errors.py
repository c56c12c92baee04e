"""Errors and warnings raised by hyperscout.

Every error a user can cause derives from :class:`HyperscoutError`; where a builtin category is
natural (``ValueError``, ``TypeError``, ``LookupError``, ``ImportError``) the error derives from
it too, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class HyperscoutError(Exception):
    """Base class of every error raised by hyperscout."""


class HyperscoutWarning(UserWarning):
    """Base class of every warning emitted by hyperscout."""


class InvalidArgumentError(HyperscoutError, ValueError):
    """An argument has a bad value: the message names the argument and the fix."""


class InvalidTypeError(HyperscoutError, TypeError):
    """An argument has the wrong type: the message names the argument and the expected type."""


class ParamConflictError(InvalidArgumentError):
    """One trial suggested the same parameter name with two different distributions."""


class StudyNotFoundError(HyperscoutError, LookupError):
    """No study of that name exists in the storage."""


class DuplicatedStudyError(HyperscoutError, ValueError):
    """A study of that name exists already (pass ``load_if_exists=True`` to reuse it)."""


class TrialNotFoundError(HyperscoutError, LookupError):
    """No trial with that id or number exists."""


class TrialStateError(HyperscoutError, RuntimeError):
    """A trial is not in the state an operation needs (e.g. telling a finished trial)."""


class StorageError(HyperscoutError, RuntimeError):
    """The storage failed or holds data this version cannot use."""


class SearchSpaceExhausted(HyperscoutError):
    """The sampler has no configuration left to propose (e.g. every grid point was tried)."""


class ScheduleFinished(SearchSpaceExhausted):
    """The scheduler has nothing more to run (e.g. every bracket of its schedule is done)."""


class StudyBudgetSpent(HyperscoutError):
    """The study holds as many trials as its budget allows (``study.set_budget(n_trials=...)``)."""


class MissingDependencyError(HyperscoutError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class TrialPruned(HyperscoutError):
    """Raise inside an objective to stop the trial early; it is recorded as PRUNED."""


def require(module: str, extra: str) -> object:
    """Import an optional dependency or raise :class:`MissingDependencyError` naming the extra.

    Example:
        >>> np = require("numpy", "core")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this feature needs the optional package {module!r}: pip install 'hyperscout[{extra}]'"
        ) from exc

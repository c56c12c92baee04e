"""The Storage protocol: the only shared state of a study.

Every backend (in-memory, SQL) implements these methods with the same behaviour, checked by
``tests/contracts/test_storage_contract.py``:

* Trial numbers are unique and gap-free per study (0, 1, 2, ...), assigned atomically.
* ``update_trial`` is atomic; a finished trial (COMPLETE / PRUNED / FAILED) can no longer be
  changed, and ``expected_states`` makes the update a compare-and-set on the state.
* Each study keeps a version counter: every trial write stamps the trial with a new version, so
  ``get_trials(study_id, since_version=v)`` returns only what changed after ``v``.
* ``claim_waiting_trial`` hands a WAITING trial to exactly one caller.
* Heartbeats: a write with ``heartbeat=True`` that leaves a trial RUNNING starts *watching* it,
  in the same transaction (so no trial is ever RUNNING and watched without a first beat);
  :meth:`Storage.beat` renews the beat, any write to another state stops watching, and
  :meth:`Storage.stale_trials` lists watched RUNNING trials whose beat is older than a grace
  period. Trials made by plain ``ask()`` are not watched (a later ``tell`` may come from
  another process, hours later).
* Parameters are stored as internal floats next to their distribution (``space.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from hyperscout._records import FrozenTrial, StudyDirection, StudySummary, TrialState
from hyperscout.space import Distribution

__all__ = ["ParamWrite", "Storage"]

#: A parameter as written to storage: its distribution and its internal float value.
ParamWrite = tuple[Distribution, float]


@runtime_checkable
class Storage(Protocol):
    """Persistence of studies and trials. All methods are safe to call from several threads."""

    # -- studies ---------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> int:
        """Create a study and return its id; raises DuplicatedStudyError if the name exists."""
        ...

    def get_study_id(self, name: str) -> int:
        """Id of the study called ``name``; raises StudyNotFoundError."""
        ...

    def get_study_name(self, study_id: int) -> str:
        """Name of a study; raises StudyNotFoundError."""
        ...

    def get_study_directions(self, study_id: int) -> tuple[StudyDirection, ...]:
        """Directions of a study's objectives; raises StudyNotFoundError."""
        ...

    def list_studies(self) -> list[StudySummary]:
        """Every study, ordered by id."""
        ...

    def delete_study(self, study_id: int) -> None:
        """Delete a study with its trials; raises StudyNotFoundError."""
        ...

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        """Set a JSON-serializable user (or system) attribute of a study."""
        ...

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        """All user (or system) attributes of a study."""
        ...

    # -- trials ----------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        *,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, ParamWrite] | None = None,
        values: Sequence[float] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        heartbeat: bool = False,
        max_trials: int | None = None,
    ) -> FrozenTrial:
        """Create a trial with the next number; ``datetime_start`` is set unless WAITING;
        ``heartbeat`` watches a RUNNING one from its creation. Raises StudyBudgetSpent when
        the study holds ``max_trials`` trials already (checked atomically with the numbering)."""
        ...

    def claim_waiting_trial(self, study_id: int, *, heartbeat: bool = False) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it (None if none)."""
        ...

    def update_trial(
        self,
        trial_id: int,
        *,
        state: TrialState | None = None,
        values: Sequence[float] | None = None,
        params: Mapping[str, ParamWrite] | None = None,
        intermediate_values: Mapping[int, float] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        expected_states: Collection[TrialState] | None = None,
        expected_attrs: Mapping[str, Any] | None = None,
        heartbeat: bool = False,
    ) -> FrozenTrial:
        """Apply all given changes atomically and return the new snapshot (``heartbeat`` with
        ``state=RUNNING`` watches the trial from this write on).

        Raises TrialStateError if the trial is finished, its state is not in
        ``expected_states``, or a system attribute differs from ``expected_attrs`` (absent
        reads as None: a compare-and-set that also catches a trial paused, resumed and paused
        again between a read and this write); ParamConflictError if a parameter exists with
        another distribution.
        Moving to a finished state sets ``datetime_complete``; to RUNNING sets ``datetime_start``
        if unset. Attribute and intermediate-value mappings are merged into the existing ones.
        """
        ...

    def get_trial(self, trial_id: int) -> FrozenTrial:
        """One trial by id; raises TrialNotFoundError."""
        ...

    def get_trial_id(self, study_id: int, number: int) -> int:
        """Id of the trial ``number`` of a study; raises TrialNotFoundError."""
        ...

    def get_trials(self, study_id: int, *, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        """Trials written after ``since_version`` (all for 0), ordered by number, and the
        study's current version to pass next time."""
        ...

    def beat(self, trial_ids: Collection[int]) -> None:
        """Renew the heartbeat of the watched RUNNING trials among ``trial_ids``."""
        ...

    def stale_trials(self, study_id: int, grace_seconds: float) -> list[FrozenTrial]:
        """Watched RUNNING trials whose last heartbeat is older than ``grace_seconds``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...

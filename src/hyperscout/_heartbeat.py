"""Heartbeats and the recovery of trials whose worker died.

Trials run by ``optimize`` (and by ``hyperscout worker``) are *watched*: each becomes RUNNING
with its first heartbeat in the same transaction, and a daemon thread of the process renews the
heartbeats of its running trials every ``interval`` seconds. Any worker of the study, at most
once per ``interval``, looks for watched trials whose last heartbeat is older than ``grace``
seconds (their process was killed, lost its machine or hangs) and recovers them:

* with retries left (``retry_failed``), the trial goes back to PAUSED, marked *lost*; the next
  worker that asks for a job resumes it first, with the same parameters and budget, from the
  step of its last ``save_checkpoint`` (from the start when it saved none);
* otherwise it is marked FAILED with the reason.

Each run of a watched trial carries a run token (system attribute ``run``). Every write of the
run (a suggestion, a report, tell) checks the token, so a zombie worker that wakes up after its
trial was recovered cannot overwrite what the new run writes: its writes raise TrialStateError.

Heartbeats use the database's clock, so workers on machines with skewed clocks agree.
"""

from __future__ import annotations

import logging
import math
import numbers
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from hyperscout._records import FrozenTrial, TrialState
from hyperscout.errors import InvalidArgumentError, TrialStateError
from hyperscout.schedulers._base import DECISION_KEY

if TYPE_CHECKING:
    from hyperscout.storage import Storage
    from hyperscout.study import Study

__all__ = ["Heartbeat", "Heartbeats"]

_logger = logging.getLogger("hyperscout")

RUN_KEY: Final = "run"  # token of the current run of a watched trial
LOST_KEY: Final = "lost"  # True on a PAUSED trial recovered from a dead worker, to run first
RETRIES_KEY: Final = "retries"  # how many times a lost trial was given to another worker
POLICY_KEY: Final = "heartbeat"  # study system attribute: the Heartbeat policy as a dict


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """How a study watches the trials its workers run, and what it does when one dies.

    Args:
        interval: seconds between two heartbeats of a running trial (and between two looks
            for dead ones).
        grace: seconds without a heartbeat after which a trial counts as lost; keep it several
            intervals long (a busy machine or a long garbage collection delays beats).
        retry_failed: how many times a lost trial is run again (resumed from its checkpoint
            when it has one) before it is marked FAILED.

    Example:
        >>> hs.create_study(storage="sqlite:///runs.db",  # doctest: +SKIP
        ...                 heartbeat=hs.Heartbeat(interval=5, grace=30, retry_failed=2))
    """

    interval: float = 10.0
    grace: float = 60.0
    retry_failed: int = 0

    def __post_init__(self) -> None:
        for name in ("interval", "grace"):
            check_seconds(name, getattr(self, name))
        if self.grace < 2 * self.interval:
            raise InvalidArgumentError(
                f"`grace` must be at least 2 x `interval` (a trial is lost after missing several "
                f"beats), got interval={self.interval!r}, grace={self.grace!r}"
            )
        retry = self.retry_failed
        if isinstance(retry, bool) or not isinstance(retry, numbers.Integral) or retry < 0:
            raise InvalidArgumentError(
                f"`retry_failed` must be an int >= 0, got retry_failed={retry!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The policy as stored in the study (every worker reads the same one)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Heartbeat:
        """The policy stored by :meth:`to_dict`."""
        return cls(float(data["interval"]), float(data["grace"]), int(data["retry_failed"]))


def check_seconds(name: str, value: Any, *, or_none: bool = False) -> float | None:
    """A duration argument: a positive finite number of seconds (or None with ``or_none``)."""
    if value is None and or_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        extra = " or None" if or_none else ""
        raise InvalidArgumentError(
            f"`{name}` must be a positive number of seconds{extra}, got {name}={value!r}"
        )
    return float(value)


def new_run_token() -> str:
    """A fresh token for one run of a watched trial."""
    return secrets.token_hex(8)


class Heartbeats:
    """The watched trials this process runs, with the daemon thread that renews their beats
    and the periodic recovery of trials lost by other (dead) workers."""

    def __init__(self, storage: Storage, study_id: int, policy: Heartbeat) -> None:
        self.policy = policy
        self._storage = storage
        self._study_id = study_id
        self._lock = threading.Lock()
        self._running: dict[int, Any] = {}  # trial id -> its Trial (None: beat only)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_check = 0.0
        self.lost: list[FrozenTrial] = []  # lost PAUSED trials seen, to resume first

    # -- beating -------------------------------------------------------------------------------
    def add(self, trial_id: int, trial: Any = None) -> None:
        """Watch ``trial_id`` (already beating since the write that started it); with its
        ``trial``, each beat also writes the parameters it suggested since its last write."""
        with self._lock:
            self._running[trial_id] = trial
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="hyperscout-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, trial_id: int) -> None:
        """Stop renewing ``trial_id``'s beat (its run ended)."""
        with self._lock:
            self._running.pop(trial_id, None)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.policy.interval)
            with self._lock:
                ids = list(self._running)
                trials = [t for t in self._running.values() if t is not None]
                if not ids:
                    self._thread = None
                    return  # a new add() starts another thread
            try:
                for trial in trials:  # a long trial's parameters become visible to others
                    trial._flush()
                self._storage.beat(ids)
            except Exception as exc:  # a storage hiccup must not kill the beats for good
                _logger.warning("heartbeat of trials %s failed: %s", ids, exc)

    # -- recovery ------------------------------------------------------------------------------
    def due(self) -> bool:
        """Whether it is time to look for lost trials (at most once per interval)."""
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + self.policy.interval
        return True

    def recover(self, study: Study) -> list[FrozenTrial]:
        """Recover the study's trials whose heartbeat stopped; the trials it changed."""
        changed = []
        for trial in self._storage.stale_trials(self._study_id, self.policy.grace):
            retries = int(trial.system_attrs.get(RETRIES_KEY, 0))
            again = retries < self.policy.retry_failed
            reason = (
                f"no heartbeat for {self.policy.grace:g} s: its worker was killed, lost its "
                "machine or hangs"
            )
            attrs: dict[str, Any] = (
                {LOST_KEY: True, RETRIES_KEY: retries + 1, DECISION_KEY: None}
                if again
                else {"fail_reason": reason}
            )
            try:
                frozen = self._storage.update_trial(
                    trial.trial_id,
                    state=TrialState.PAUSED if again else TrialState.FAILED,
                    system_attrs=attrs,
                    expected_states=(TrialState.RUNNING,),
                    expected_attrs={RUN_KEY: trial.system_attrs.get(RUN_KEY)},
                )
            except TrialStateError:
                continue  # it finished, or another worker recovered it first
            if again:
                _logger.warning(
                    "trial %d lost (%s): running it again (retry %d of %d)",
                    frozen.number,
                    reason,
                    retries + 1,
                    self.policy.retry_failed,
                )
            else:
                _logger.warning("trial %d failed: %s", frozen.number, reason)
                study._checkpoints.remove(frozen.number)
            changed.append(frozen)
        return changed


def restart_step(study: Study, trial: FrozenTrial) -> int:
    """The step a lost trial goes on from: that of its last ``save_checkpoint``; its last
    report when it wrote checkpoints by hand in ``trial.checkpoint_dir``; else 0."""
    saved = study._checkpoints.saved_step(trial.number)
    if saved is not None:
        return saved
    if study._checkpoints.has_files(trial.number):
        return trial.last_step or 0
    return 0

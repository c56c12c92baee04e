"""The Storage contract: every backend behaves the same (see ``storage/_base.py``)."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperscout import (
    Categorical,
    DuplicatedStudyError,
    Float,
    Int,
    InvalidArgumentError,
    ParamConflictError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from hyperscout._records import StudyDirection, TrialState
from hyperscout.storage import InMemoryStorage, SQLStorage, Storage

MIN, MAX = StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
MISSING_ID = 987_654_321


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    backend: Storage
    if request.param == "memory":
        backend = InMemoryStorage()
    elif request.param == "sqlite":
        backend = SQLStorage(f"sqlite:///{tmp_path / 'studies.db'}")
    else:
        backend = SQLStorage(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def _name() -> str:
    return f"study-{uuid.uuid4().hex}"


def _study(storage: Storage, *directions: StudyDirection) -> int:
    return storage.create_study(_name(), list(directions or (MIN,)))


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


# -- studies -------------------------------------------------------------------------------
def test_create_and_get_study(storage: Storage) -> None:
    name = _name()
    sid = storage.create_study(name, [MIN, MAX])
    assert storage.get_study_id(name) == sid
    assert storage.get_study_name(sid) == name
    assert storage.get_study_directions(sid) == (MIN, MAX)
    with pytest.raises(DuplicatedStudyError, match="load_if_exists"):
        storage.create_study(name, [MIN])
    assert storage.get_study_directions(sid) == (MIN, MAX)


def test_missing_study_raises(storage: Storage) -> None:
    with pytest.raises(StudyNotFoundError):
        storage.get_study_id(_name())
    for call in (
        storage.get_study_name,
        storage.get_study_directions,
        storage.delete_study,
        storage.get_study_attrs,
        storage.create_trial,
        storage.get_trials,
        storage.claim_waiting_trial,
    ):
        with pytest.raises(StudyNotFoundError):
            call(MISSING_ID)
    with pytest.raises(StudyNotFoundError):
        storage.set_study_attr(MISSING_ID, "k", 1)
    with pytest.raises(StudyNotFoundError):
        storage.get_trial_id(MISSING_ID, 0)


def test_list_studies(storage: Storage) -> None:
    low, high, multi = _study(storage), _study(storage, MAX), _study(storage, MIN, MAX)
    empty = _study(storage)
    for sid, vals in ((low, [3.0, 1.0, 2.0]), (high, [3.0, 5.0, 4.0]), (multi, [1.0])):
        for v in vals:
            n = len(storage.get_study_directions(sid))
            storage.create_trial(sid, state=TrialState.COMPLETE, values=[v] * n)
    storage.create_trial(low, state=TrialState.FAILED)
    summaries = {s.study_id: s for s in storage.list_studies()}
    ids = [s.study_id for s in storage.list_studies()]
    assert ids == sorted(ids)
    assert summaries[low].best_values == (1.0,) and summaries[low].n_trials == 4
    assert summaries[high].best_values == (5.0,) and summaries[high].directions == (MAX,)
    assert summaries[multi].best_values is None and summaries[multi].n_trials == 1
    assert summaries[empty].n_trials == 0 and summaries[empty].best_values is None
    assert summaries[empty].datetime_start is None
    assert summaries[low].name == storage.get_study_name(low)
    first = storage.get_trials(low)[0][0].datetime_start
    assert summaries[low].datetime_start == first


def test_delete_study_cascades(storage: Storage) -> None:
    name, keep = _name(), _study(storage)
    sid = storage.create_study(name, [MIN])
    storage.set_study_attr(sid, "k", 1)
    t = storage.create_trial(sid, params={"x": (Float(0, 1), 0.5)}, user_attrs={"a": 1})
    storage.update_trial(t.trial_id, intermediate_values={0: 1.0})
    kept = storage.create_trial(keep)
    storage.delete_study(sid)
    with pytest.raises(StudyNotFoundError):
        storage.get_study_id(name)
    with pytest.raises(TrialNotFoundError):
        storage.get_trial(t.trial_id)
    assert sid not in {s.study_id for s in storage.list_studies()}
    assert storage.get_trial(kept.trial_id) == kept
    again = storage.create_study(name, [MAX])  # the name is free again, and clean
    assert storage.get_trials(again)[0] == [] and storage.get_study_attrs(again) == {}


def test_study_attrs(storage: Storage) -> None:
    sid = _study(storage)
    value = {"nested": [1, 2.5, None, "x"], "flag": True}
    storage.set_study_attr(sid, "a", value)
    storage.set_study_attr(sid, "b", 1)
    storage.set_study_attr(sid, "b", 2)
    storage.set_study_attr(sid, "seed", "42", system=True)
    assert storage.get_study_attrs(sid) == {"a": value, "b": 2}
    assert storage.get_study_attrs(sid, system=True) == {"seed": "42"}


# -- trials: creation and round trips ------------------------------------------------------
def test_numbers_are_gap_free_per_study(storage: Storage) -> None:
    a, b = _study(storage), _study(storage)
    states = [TrialState.RUNNING, TrialState.WAITING, TrialState.COMPLETE, TrialState.PAUSED]
    made = [
        storage.create_trial(a, state=s, values=[1.0] if s.is_finished() else None) for s in states
    ]
    assert [t.number for t in made] == [0, 1, 2, 3]
    assert storage.create_trial(b).number == 0
    assert [storage.get_trial_id(a, n) for n in range(4)] == [t.trial_id for t in made]
    with pytest.raises(TrialNotFoundError):
        storage.get_trial_id(a, 4)
    with pytest.raises(TrialNotFoundError):
        storage.get_trial(MISSING_ID)


def test_create_trial_fields(storage: Storage) -> None:
    sid = _study(storage)
    waiting = storage.create_trial(sid, state=TrialState.WAITING, system_attrs={"fixed": {"x": 1}})
    assert waiting.datetime_start is None and waiting.datetime_complete is None
    running = storage.create_trial(sid)
    assert running.state == TrialState.RUNNING and running.datetime_start is not None
    done = storage.create_trial(
        sid,
        state=TrialState.COMPLETE,
        params={"x": (Float(0, 1), 0.25)},
        values=[0.5],
        user_attrs={"u": [1, 2]},
    )
    assert done.datetime_complete is not None and done.values == (0.5,)
    assert done.params == {"x": 0.25} and done.user_attrs == {"u": [1, 2]}
    for t in (waiting, running, done):
        assert storage.get_trial(t.trial_id) == t
    with pytest.raises(InvalidArgumentError):
        storage.create_trial(sid, state=TrialState.COMPLETE, values=[1.0, 2.0])


CHOICES = (None, True, False, 1, 1.0, 2.5, "a", "")
PARAMS: list[tuple[Any, Any]] = [
    (Float(0, 1), 0.1 + 0.2),
    (Float(-1e300, 1e300), 1 / 3),
    (Float(0, 1), 5e-324),
    (Float(1e-5, 1.0, log=True), 1.2345678901234567e-4),
    (Float(0, 1, step=0.25), 0.75),
    (Int(1, 10), 7),
    (Int(1, 1024, log=True), 512),
    (Int(0, 10, step=2), 4),
    *((Categorical(CHOICES), c) for c in CHOICES),
]


def test_params_round_trip(storage: Storage) -> None:
    sid = _study(storage)
    for i, (dist, value) in enumerate(PARAMS):
        t = storage.create_trial(sid)
        storage.update_trial(t.trial_id, params={"first": (Int(0, 100), float(i))})
        new = storage.update_trial(t.trial_id, params={"p": (dist, dist.to_internal(value))})
        for got in (new, storage.get_trial(t.trial_id), storage.get_trials(sid)[0][i]):
            assert list(got.params) == ["first", "p"]  # suggestion order
            assert type(got.params["p"]) is type(value) and got.distributions["p"] == dist
            if isinstance(value, float):
                assert _bits(got.params["p"]) == _bits(value)
            else:
                assert got.params["p"] == value


@pytest.mark.parametrize(
    ("directions", "values"),
    [
        ((MIN,), (0.1 + 0.2,)),
        ((MIN,), (math.inf,)),
        ((MAX,), (-math.inf,)),
        ((MIN,), (-0.0,)),
        ((MIN, MAX, MIN), (1 / 3, 1e-308, -1.7976931348623157e308)),
    ],
)
def test_values_round_trip(
    storage: Storage, directions: tuple[StudyDirection, ...], values: tuple[float, ...]
) -> None:
    sid = _study(storage, *directions)
    t = storage.create_trial(sid)
    new = storage.update_trial(t.trial_id, state=TrialState.COMPLETE, values=values)
    for got in (new, storage.get_trial(t.trial_id), storage.get_trials(sid)[0][0]):
        assert got.values is not None
        assert [_bits(v) for v in got.values] == [_bits(v) for v in values]


def test_wrong_number_of_values_changes_nothing(storage: Storage) -> None:
    sid = _study(storage, MIN, MIN)
    t = storage.create_trial(sid)
    with pytest.raises(InvalidArgumentError, match="2 objective"):
        storage.update_trial(t.trial_id, state=TrialState.COMPLETE, values=[1.0])
    assert storage.get_trial(t.trial_id) == t


def test_intermediate_values_and_attrs_merge(storage: Storage) -> None:
    sid = _study(storage)
    t = storage.create_trial(sid, user_attrs={"a": 1, "b": 2}, system_attrs={"s": "x"})
    storage.update_trial(t.trial_id, intermediate_values={0: 1.0, 1: math.inf})
    storage.update_trial(t.trial_id, user_attrs={"b": 3, "c": {"k": [1]}})
    new = storage.update_trial(
        t.trial_id,
        intermediate_values={1: 0.5, 2: math.nan, 3: -math.inf},
        system_attrs={"t": None},
    )
    for got in (new, storage.get_trial(t.trial_id)):
        steps = got.intermediate_values
        assert steps[0] == 1.0 and steps[1] == 0.5 and steps[3] == -math.inf
        assert math.isnan(steps[2]) and len(steps) == 4
        assert got.user_attrs == {"a": 1, "b": 3, "c": {"k": [1]}}
        assert got.system_attrs == {"s": "x", "t": None}
        assert got.last_step == 3


# -- trials: state machine -----------------------------------------------------------------
@pytest.mark.parametrize("final", FINISHED)
def test_finished_trials_are_immutable(storage: Storage, final: TrialState) -> None:
    sid = _study(storage)
    t = storage.create_trial(sid)
    values = [1.0] if final == TrialState.COMPLETE else None
    done = storage.update_trial(t.trial_id, state=final, values=values)
    assert done.datetime_complete is not None and done.datetime_start == t.datetime_start
    attempts: list[dict[str, Any]] = [
        {"state": TrialState.RUNNING},
        {"values": [2.0]},
        {"params": {"x": (Float(0, 1), 0.5)}},
        {"intermediate_values": {0: 1.0}},
        {"user_attrs": {"a": 1}},
        {"system_attrs": {"a": 1}},
    ]
    for kwargs in attempts:
        with pytest.raises(TrialStateError, match="finished"):
            storage.update_trial(t.trial_id, **kwargs)
    assert storage.get_trial(t.trial_id) == done


def test_expected_states_is_compare_and_set(storage: Storage) -> None:
    sid = _study(storage)
    t = storage.create_trial(sid)
    with pytest.raises(TrialStateError, match="expected"):
        storage.update_trial(
            t.trial_id,
            state=TrialState.COMPLETE,
            values=[1.0],
            expected_states=(TrialState.WAITING, TrialState.PAUSED),
        )
    assert storage.get_trial(t.trial_id) == t
    paused = storage.update_trial(
        t.trial_id, state=TrialState.PAUSED, expected_states=(TrialState.RUNNING,)
    )
    assert paused.state == TrialState.PAUSED
    resumed = storage.update_trial(t.trial_id, state=TrialState.RUNNING)
    assert resumed.datetime_start == t.datetime_start  # kept, not reset


def test_expected_attrs_catch_a_trial_paused_again(storage: Storage) -> None:
    """A claim made on a stale read fails even when the state is back to what it read."""
    sid = _study(storage)
    t = storage.create_trial(sid, system_attrs={"budget": 1})
    storage.update_trial(t.trial_id, state=TrialState.PAUSED)
    # worker A claims (budget 1 -> 3), runs and pauses again
    storage.update_trial(
        t.trial_id,
        state=TrialState.RUNNING,
        system_attrs={"budget": 3},
        expected_states=(TrialState.PAUSED,),
        expected_attrs={"budget": 1},
    )
    again = storage.update_trial(t.trial_id, state=TrialState.PAUSED)
    # worker B read the trial before A's claim: its claim must fail and change nothing
    with pytest.raises(TrialStateError, match="budget"):
        storage.update_trial(
            t.trial_id,
            state=TrialState.RUNNING,
            system_attrs={"budget": 3},
            expected_states=(TrialState.PAUSED,),
            expected_attrs={"budget": 1},
        )
    assert storage.get_trial(t.trial_id) == again
    # an absent attribute reads as None
    storage.update_trial(t.trial_id, system_attrs={"x": 1}, expected_attrs={"missing": None})


def test_running_sets_datetime_start(storage: Storage) -> None:
    sid = _study(storage)
    t = storage.create_trial(sid, state=TrialState.WAITING)
    running = storage.update_trial(t.trial_id, state=TrialState.RUNNING)
    assert running.datetime_start is not None and running.datetime_complete is None
    done = storage.update_trial(t.trial_id, state=TrialState.PRUNED)
    assert done.datetime_complete is not None and done.datetime_complete >= running.datetime_start
    assert storage.get_trial(t.trial_id) == done


def test_param_conflict(storage: Storage) -> None:
    sid = _study(storage)
    t = storage.create_trial(sid)
    before = storage.update_trial(t.trial_id, params={"x": (Float(0, 1), 0.5)})
    with pytest.raises(ParamConflictError, match="'x'"):
        storage.update_trial(
            t.trial_id, params={"y": (Int(0, 3), 1.0), "x": (Float(0, 2), 0.5)}, user_attrs={"a": 1}
        )
    assert storage.get_trial(t.trial_id) == before  # nothing of the failed write landed
    again = storage.update_trial(t.trial_id, params={"x": (Float(0, 1), 0.75)})
    assert again.params == {"x": 0.75} and storage.get_trial(t.trial_id) == again


# -- reading changes -----------------------------------------------------------------------
def test_get_trials_since_version(storage: Storage) -> None:
    sid = _study(storage)
    trials0, v0 = storage.get_trials(sid)
    assert trials0 == []
    made = [storage.create_trial(sid) for _ in range(4)]
    everything, v1 = storage.get_trials(sid)
    assert [t.number for t in everything] == [0, 1, 2, 3] and v1 > v0
    assert storage.get_trials(sid, since_version=v1) == ([], v1)
    storage.update_trial(made[2].trial_id, user_attrs={"k": 1})
    storage.update_trial(made[0].trial_id, intermediate_values={0: 1.0})
    changed, v2 = storage.get_trials(sid, since_version=v1)
    assert [t.number for t in changed] == [0, 2] and v2 > v1
    assert changed[1].user_attrs == {"k": 1}
    newer = storage.create_trial(sid)
    changed, v3 = storage.get_trials(sid, since_version=v2)
    assert changed == [newer] and v3 > v2
    assert storage.get_trials(sid)[0] == storage.get_trials(sid, since_version=0)[0]


def test_incremental_reads_under_concurrent_writes(storage: Storage) -> None:
    sid = _study(storage)
    seen: dict[int, Any] = {}
    writing = threading.Event()
    writing.set()

    def writer() -> None:
        for i in range(15):
            t = storage.create_trial(sid)
            storage.update_trial(t.trial_id, user_attrs={"i": i})
            storage.update_trial(t.trial_id, state=TrialState.COMPLETE, values=[float(i)])

    def reader() -> None:
        version = 0
        while True:
            last = not writing.is_set()
            changed, version = storage.get_trials(sid, since_version=version)
            seen.update({t.number: t for t in changed})
            if last:
                return

    threads = [threading.Thread(target=writer) for _ in range(4)]
    follower = threading.Thread(target=reader)
    follower.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    writing.clear()
    follower.join()
    assert [seen[n] for n in sorted(seen)] == storage.get_trials(sid)[0]
    assert len(seen) == 60


# -- claiming ------------------------------------------------------------------------------
def test_claim_waiting_trial(storage: Storage) -> None:
    sid = _study(storage)
    assert storage.claim_waiting_trial(sid) is None
    storage.create_trial(sid)
    first = storage.create_trial(sid, state=TrialState.WAITING, system_attrs={"fixed": {"x": 1}})
    second = storage.create_trial(sid, state=TrialState.WAITING)
    claimed = storage.claim_waiting_trial(sid)
    assert claimed is not None and claimed.trial_id == first.trial_id  # oldest first
    assert claimed.state == TrialState.RUNNING and claimed.datetime_start is not None
    assert claimed.system_attrs == {"fixed": {"x": 1}}
    assert storage.get_trial(first.trial_id) == claimed
    nxt = storage.claim_waiting_trial(sid)
    assert nxt is not None and nxt.trial_id == second.trial_id
    assert storage.claim_waiting_trial(sid) is None


def test_claim_is_exactly_once_under_threads(storage: Storage) -> None:
    sid = _study(storage)
    waiting = {storage.create_trial(sid, state=TrialState.WAITING).trial_id for _ in range(20)}
    claims: list[int] = []
    lock, start = threading.Lock(), threading.Barrier(8)

    def worker() -> None:
        start.wait()
        while (t := storage.claim_waiting_trial(sid)) is not None:
            with lock:
                claims.append(t.trial_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(claims) == sorted(waiting)
    assert all(t.state == TrialState.RUNNING for t in storage.get_trials(sid)[0])


def test_create_trial_under_threads(storage: Storage) -> None:
    sid = _study(storage)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(10):
            t = storage.create_trial(sid)
            storage.update_trial(t.trial_id, state=TrialState.COMPLETE, values=[float(t.number)])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    trials, _ = storage.get_trials(sid)
    assert [t.number for t in trials] == list(range(80))
    assert all(t.values == (float(t.number),) for t in trials)


# -- many processes ------------------------------------------------------------------------
_WORKER = """
import sys, time
from pathlib import Path
from hyperscout._records import TrialState
from hyperscout.storage import get_storage

url, study_id, n, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
storage = get_storage(url)
(folder / f"ready-{sys.argv[5]}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
for _ in range(n):
    t = storage.create_trial(study_id)
    storage.update_trial(t.trial_id, state=TrialState.COMPLETE, values=[float(t.number)])
storage.close()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_lose_nothing(request: pytest.FixtureRequest, tmp_path: Path, backend: str):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    storage = SQLStorage(url)
    sid = _study(storage)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(sid), "25", str(tmp_path), str(i)],
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 4 and time.monotonic() < deadline:
        if any(p.poll() not in (None, 0) for p in procs):
            break
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    trials, _ = storage.get_trials(sid)
    assert [t.number for t in trials] == list(range(100))
    assert all(t.state == TrialState.COMPLETE and t.values == (float(t.number),) for t in trials)
    storage.close()


def test_memory_snapshot_copy_keeps_every_field() -> None:
    """The memory backend's fast snapshot copy must list FrozenTrial's fields in order."""
    import dataclasses

    from hyperscout._records import FrozenTrial, TrialState
    from hyperscout.storage._memory import _with

    fields = [f.name for f in dataclasses.fields(FrozenTrial)]
    values = {name: object() for name in fields}
    original = FrozenTrial(**values)  # type: ignore[arg-type]
    assert all(getattr(_with(original, {}), n) is values[n] for n in fields)
    changed = _with(original, {"state": TrialState.FAILED})
    assert changed.state is TrialState.FAILED
    assert all(getattr(changed, n) is values[n] for n in fields if n != "state")


# -- heartbeats ----------------------------------------------------------------------------------
def _stale(storage: Storage, sid: int, grace: float) -> list[int]:
    return sorted(t.number for t in storage.stale_trials(sid, grace))


def test_heartbeats_watch_running_trials_from_their_first_write(storage: Storage) -> None:
    sid = _study(storage)
    plain = storage.create_trial(sid)  # ask()'s trials are not watched
    watched = storage.create_trial(sid, heartbeat=True)
    queued = storage.create_trial(sid, state=TrialState.WAITING)
    claimed = storage.claim_waiting_trial(sid, heartbeat=True)
    assert claimed is not None and claimed.number == queued.number
    paused = storage.create_trial(sid, heartbeat=True)
    storage.update_trial(paused.trial_id, state=TrialState.PAUSED)
    assert _stale(storage, sid, 60.0) == []
    time.sleep(0.3)
    assert _stale(storage, sid, 0.1) == [watched.number, claimed.number]
    storage.update_trial(paused.trial_id, state=TrialState.RUNNING, heartbeat=True)  # resumed
    _, version = storage.get_trials(sid)
    storage.beat([watched.trial_id, plain.trial_id])
    assert storage.get_trials(sid, since_version=version)[0] == []  # a beat is no trial write
    assert _stale(storage, sid, 0.1) == [claimed.number]
    time.sleep(0.3)
    storage.update_trial(claimed.trial_id, state=TrialState.COMPLETE, values=[1.0])
    assert _stale(storage, sid, 0.1) == [watched.number, paused.number]
    assert plain.number not in _stale(storage, sid, 0.0)


def test_a_stale_trial_of_another_study_is_not_listed(storage: Storage) -> None:
    one, other = _study(storage), _study(storage)
    storage.create_trial(one, heartbeat=True)
    time.sleep(0.15)
    assert _stale(storage, other, 0.05) == [] and _stale(storage, one, 0.05) == [0]

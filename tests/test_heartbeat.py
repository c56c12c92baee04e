"""Heartbeats and recovery: real worker processes killed with SIGKILL, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout import InvalidArgumentError, InvalidTypeError, TrialState, TrialStateError

FAST = hs.Heartbeat(interval=0.1, grace=0.5)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hb.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


# A worker process: attaches to the study and runs trials; each trial announces itself in
# <dir>/started-<number> (with its start step), reports and checkpoints every step, and hangs at
# the step named in <dir>/hang (the test then kills the process with SIGKILL).
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import hyperscout as hs

    url, name, folder, n_trials = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    hang_at = int((folder / "hang").read_text()) if (folder / "hang").exists() else -1

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        (folder / f"started-{trial.number}").write_text(str(trial.start_step))
        state = trial.load_checkpoint() or 0.0
        for step in trial.steps():
            state += x
            trial.save_checkpoint(state)
            trial.report(step, state)
            if step == hang_at:
                (folder / "hanging").write_text(str(trial.number))
                time.sleep(600)
        return state

    asha = len(sys.argv) > 5 and sys.argv[5] == "asha"
    scheduler = hs.ASHAScheduler(max_budget=9, min_budget=1) if asha else hs.FIFOScheduler(5)
    study = hs.load_study(name, url, sampler="random", scheduler=scheduler)
    if n_trials:
        study.optimize(objective, n_trials=n_trials)
    else:
        study.work(objective)  # until the study's stored budget is spent
    """
)


def _spawn(
    url: str, name: str, folder: Path, n_trials: int, scheduler: str = "fifo"
) -> subprocess.Popen[bytes]:
    script = folder / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, str(script), url, name, str(folder), str(n_trials), scheduler]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_when_hanging(proc: subprocess.Popen[bytes], folder: Path) -> int:
    deadline = time.monotonic() + 60
    while not (folder / "hanging").exists():
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited early:\n{proc.stdout.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the worker never reached its hanging step")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return int((folder / "hanging").read_text())


def _run(url: str, name: str, folder: Path, n_trials: int, scheduler: str = "fifo") -> None:
    proc = _spawn(url, name, folder, n_trials, scheduler)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode()


def test_a_killed_workers_trial_is_marked_failed_after_the_grace_period(
    url: str, tmp_path: Path
) -> None:
    hs.create_study(
        study_name="s", storage=url, scheduler=hs.FIFOScheduler(max_budget=5), heartbeat=FAST
    )
    (tmp_path / "hang").write_text("2")
    lost = _kill_when_hanging(_spawn(url, "s", tmp_path, 3), tmp_path)
    study = hs.load_study("s", url)
    assert study.trials[lost].state == TrialState.RUNNING  # nobody knows yet
    (tmp_path / "hang").unlink()
    time.sleep(FAST.grace + 0.2)
    _run(url, "s", tmp_path, 2)  # the next worker recovers it, then runs its own trials
    trials = hs.load_study("s", url).trials
    assert trials[lost].state == TrialState.FAILED
    assert "no heartbeat for 0.5 s" in trials[lost].system_attrs["fail_reason"]
    assert [t.state for t in trials[lost + 1 :]] == [TrialState.COMPLETE] * 2
    assert not any(t.state == TrialState.RUNNING for t in trials)


def test_with_retries_a_lost_trial_resumes_from_its_checkpoint(url: str, tmp_path: Path) -> None:
    policy = hs.Heartbeat(interval=0.1, grace=0.5, retry_failed=1)
    hs.create_study(
        study_name="s",
        storage=url,
        scheduler=hs.FIFOScheduler(max_budget=5),
        heartbeat=policy,
        checkpoint_dir=tmp_path / "checkpoints",  # PostgreSQL: a folder every worker sees
    )
    (tmp_path / "hang").write_text("3")
    lost = _kill_when_hanging(_spawn(url, "s", tmp_path, 1), tmp_path)
    (tmp_path / "hang").unlink()
    before = hs.load_study("s", url).trials[lost]
    time.sleep(policy.grace + 0.2)
    _run(url, "s", tmp_path, 1)
    trials = hs.load_study("s", url).trials
    again = trials[lost]
    assert again.state == TrialState.COMPLETE
    assert again.params == before.params  # the same configuration, not a new trial
    assert again.system_attrs["retries"] == 1
    # it went on after step 3, the step of its last checkpoint, with the state saved there
    assert (tmp_path / f"started-{lost}").read_text() == "3"
    x = before.params["x"]
    assert again.intermediate_values == pytest.approx({s: s * x for s in range(1, 6)})
    assert again.value == pytest.approx(5 * x)
    assert len(trials) == 2  # the retry is not counted as the new trial of the second worker
    assert trials[1].state == TrialState.COMPLETE


def test_beats_keep_a_slow_trial_alive(url: str) -> None:
    study = hs.create_study(storage=url, heartbeat=FAST, sampler="random")
    storage, sid = study._storage, study._study_id
    seen: list[list[int]] = []

    def objective(trial: hs.Trial) -> float:
        for _ in range(8):  # 1.6 s, three grace periods
            time.sleep(0.2)
            seen.append([t.number for t in storage.stale_trials(sid, FAST.grace)])
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=1)
    assert seen == [[]] * 8
    assert study.trials[0].state == TrialState.COMPLETE
    assert storage.stale_trials(sid, 0.0) == []  # finished: no longer watched


def test_a_zombie_cannot_overwrite_a_recovered_trial(url: str) -> None:
    policy = hs.Heartbeat(interval=0.1, grace=0.3, retry_failed=1)
    study = hs.create_study(storage=url, heartbeat=policy, sampler="random")
    zombie = study._next_trial(None, None, watch=True)
    assert isinstance(zombie, hs.Trial)
    zombie.suggest_float("x", 0, 1)
    time.sleep(0.5)  # it stops beating (nobody runs its heartbeat thread): lost
    other = hs.load_study(study.study_name, url)
    taken = other._next_trial(None, None, watch=True)
    assert isinstance(taken, hs.Trial) and taken.number == zombie.number
    with pytest.raises(TrialStateError):
        zombie.report(1, 0.5)
    with pytest.raises(TrialStateError):
        study.tell(zombie, 0.25)
    other.tell(taken, 1.0)
    assert hs.load_study(study.study_name, url).trials[0].value == 1.0


def test_ask_tell_trials_are_not_watched(url: str) -> None:
    study = hs.create_study(storage=url, heartbeat=FAST)
    trial = study.ask()
    time.sleep(FAST.grace + 0.1)
    assert study._storage.stale_trials(study._study_id, FAST.grace) == []
    study.tell(trial, 1.0)


def test_the_policy_is_remembered_and_can_be_turned_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    hs.create_study(study_name="p", storage=url, heartbeat=hs.Heartbeat(2, 30, 3))
    assert hs.load_study("p", url)._heartbeats.policy == hs.Heartbeat(2, 30, 3)  # type: ignore[union-attr]
    hs.create_study(study_name="d", storage=url)
    assert hs.load_study("d", url)._heartbeats.policy == hs.Heartbeat()  # type: ignore[union-attr]
    off = hs.create_study(study_name="off", storage=url, heartbeat=False)
    off.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert hs.load_study("off", url)._heartbeats is None
    assert hs.create_study()._heartbeats is None  # in memory: one process, nothing to watch


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": 0}, "`interval` must be a positive number"),
        ({"grace": float("nan")}, "`grace` must be a positive number"),
        ({"interval": 5, "grace": 6}, "`grace` must be at least 2 x `interval`"),
        ({"retry_failed": -1}, "`retry_failed` must be an int >= 0"),
        ({"retry_failed": 1.5}, "`retry_failed` must be an int >= 0"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        hs.Heartbeat(**kwargs)  # type: ignore[arg-type]


def test_a_bad_heartbeat_argument_is_refused() -> None:
    with pytest.raises(InvalidTypeError, match=r"`heartbeat` must be an hs\.Heartbeat"):
        hs.create_study(heartbeat=10)  # type: ignore[arg-type]


def test_suggestions_are_written_with_the_next_write_or_beat(url: str) -> None:
    study = hs.create_study(storage=url, heartbeat=FAST, sampler="random")
    storage = study._storage
    seen: dict[str, dict[str, object]] = {}

    def objective(trial: hs.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        seen["at once"] = storage.get_trial(trial.trial_id).params
        time.sleep(FAST.interval * 4)  # a long trial: its beats write what it suggested
        seen["after beats"] = storage.get_trial(trial.trial_id).params
        trial.suggest_int("n", 0, 3)
        raise ValueError("boom")

    study.optimize(objective, n_trials=1)
    assert seen["at once"] == {} and set(seen["after beats"]) == {"x"}
    failed = study.trials[0]
    assert failed.state == TrialState.FAILED and set(failed.params) == {"x", "n"}
    asked = study.ask()  # ask/tell trials write each suggestion at once
    asked.suggest_float("y", 0, 1)
    assert set(storage.get_trial(asked.trial_id).params) == {"y"}


def _outcome(url: str, name: str) -> list[tuple[object, ...]]:
    return [
        (t.number, t.state, t.params, t.values, t.intermediate_values, t.system_attrs["budget"])
        for t in hs.load_study(name, url).trials
    ]


def test_an_asha_study_killed_mid_trial_finishes_the_same_brackets(
    url: str, tmp_path: Path
) -> None:
    policy = hs.Heartbeat(interval=0.1, grace=0.5, retry_failed=1)
    for name in ("straight", "killed"):
        study = hs.create_study(
            study_name=name,
            storage=url,
            seed=7,
            heartbeat=policy,
            checkpoint_dir=tmp_path / "checkpoints",
        )
        study.set_budget(n_trials=12)
    _run(url, "straight", tmp_path, 0, "asha")
    (tmp_path / "hang").write_text("2")  # the first run promoted past rung 1 hangs at step 2
    lost = _kill_when_hanging(_spawn(url, "killed", tmp_path, 0, "asha"), tmp_path)
    (tmp_path / "hang").unlink()
    time.sleep(policy.grace + 0.2)
    _run(url, "killed", tmp_path, 0, "asha")  # a new process recovers it and goes on
    killed = hs.load_study("killed", url).trials
    assert killed[lost].system_attrs["retries"] == 1
    assert not any(t.state == TrialState.RUNNING for t in killed)
    # same trials, states, curves and budgets as the run nobody killed
    assert _outcome(url, "killed") == _outcome(url, "straight")

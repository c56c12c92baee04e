"""The study's side of multi-fidelity scheduling: ask / tell around PAUSE and STOP decisions,
checkpoints on disk, worker processes, and what ``n_trials`` counts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.errors import ScheduleFinished


class Scripted:
    """A scheduler that hands out the given jobs in order, then None; never pauses."""

    def __init__(self, *jobs: Any) -> None:
        self.jobs = list(jobs)

    def next_job(self, view: hs.StudyView, new_allowed: bool) -> Any:
        return self.jobs.pop(0) if self.jobs else None

    def on_report(
        self, view: hs.StudyView, trial: hs.FrozenTrial, step: int, value: float
    ) -> hs.Decision:
        return hs.Decision.CONTINUE


def sqlite(tmp_path: Path, name: str = "mf.db") -> str:
    return f"sqlite:///{tmp_path / name}"


# -- ask when the scheduler has no job -----------------------------------------------------------
def test_ask_when_the_scheduler_must_wait_or_is_finished() -> None:
    study = hs.create_study(scheduler=Scripted(hs.Job(), hs.WAIT), seed=0)
    study.ask()
    with pytest.raises(hs.TrialStateError, match="nothing to run until a running trial"):
        study.ask()
    with pytest.raises(ScheduleFinished, match="nothing more to run"):
        study.ask()
    assert len(study.trials) == 1  # neither created a trial


def test_schedule_finished_is_exported() -> None:
    assert hs.ScheduleFinished is ScheduleFinished


def test_optimize_ends_when_the_scheduler_has_nothing_more() -> None:
    study = hs.create_study(scheduler=Scripted(hs.Job(budget=2), hs.Job(budget=3)), seed=0)
    study.optimize(lambda t: float(sum(1 for _ in t.steps())), n_trials=10)
    assert [t.value for t in study.trials] == [2.0, 3.0]


def test_a_scheduler_returning_garbage_is_reported() -> None:
    study = hs.create_study(scheduler=Scripted("resume 0"), seed=0)
    with pytest.raises(hs.HyperscoutError, match="must return a Job, WAIT or None"):
        study.ask()


# -- tell after PAUSE and STOP ---------------------------------------------------------------
def test_tell_by_number_after_a_pause_records_paused(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    study = hs.create_study(
        study_name="s", storage=url, scheduler=hs.ASHAScheduler(max_budget=9), seed=0
    )
    trial = study.ask()
    trial.report(1, 0.5)
    assert trial.should_stop() and trial.should_prune()
    assert trial.freeze().system_attrs["decision"] == "PAUSE"
    # another process, which never saw the Trial object, tells the result by number
    other = hs.load_study("s", url, scheduler=hs.ASHAScheduler(max_budget=9))
    frozen = other.tell(trial.number, 0.5)
    assert frozen.state == hs.TrialState.PAUSED
    assert (frozen.values, frozen.intermediate_values) == (None, {1: 0.5})
    with pytest.raises(hs.TrialStateError):
        study.best_trial  # noqa: B018  (a paused trial is no result)


def test_tell_by_number_after_a_stop_records_pruned() -> None:
    sched = hs.ASHAScheduler(max_budget=9, mode="stopping")
    study = hs.create_study(scheduler=sched, seed=0)
    for value in (0.1, 0.2):
        trial = study.ask()
        trial.report(1, value)
        study.tell(trial.number, value)
    worst = study.ask()
    worst.report(1, 0.9)
    assert worst.freeze().system_attrs["decision"] == "STOP"
    frozen = study.tell(worst.number, 0.9)
    assert (frozen.state, frozen.values) == (hs.TrialState.PRUNED, None)


def test_a_resumed_trial_forgets_the_pause() -> None:
    study = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=3, eta=3), seed=0)
    for value in (0.3, 0.1, 0.2):
        trial = study.ask()
        trial.report(1, value)
        study.tell(trial.number, value)
    resumed = study.ask()
    assert (resumed.number, resumed.start_step, resumed.budget) == (1, 1, 3)
    assert resumed.freeze().system_attrs.get("decision") is None
    assert not resumed.should_stop()
    assert list(resumed.steps()) == [2, 3]
    resumed.report(3, 0.05)
    assert study.tell(resumed.number, 0.05).state == hs.TrialState.COMPLETE


def pruning_objective(trial: hs.Trial) -> float:
    value = 0.0
    for step in trial.steps():
        value = (0.5, 0.2, 0.9)[trial.number] + 1 / step
        trial.report(step, value)
        if trial.should_prune():
            raise hs.TrialPruned()
    return value


def test_trial_pruned_after_pause_is_paused_after_stop_is_pruned() -> None:
    promo = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9), seed=0)
    promo.optimize(pruning_objective, n_trials=1)
    assert promo.trials[0].state == hs.TrialState.PAUSED
    stopping = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9, mode="stopping"), seed=0)
    stopping.optimize(pruning_objective, n_trials=3)  # trial 2 is the worst at step 1
    assert [t.state for t in stopping.trials] == [
        hs.TrialState.COMPLETE,
        hs.TrialState.COMPLETE,
        hs.TrialState.PRUNED,
    ]
    assert list(stopping.trials[2].intermediate_values) == [1]


def test_tell_pruned_after_a_pause_records_paused() -> None:
    study = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9), seed=0)
    trial = study.ask()
    trial.report(1, 0.5)
    assert study.tell(trial, state=hs.TrialState.PRUNED).state == hs.TrialState.PAUSED


# -- checkpoints -----------------------------------------------------------------------------
def test_checkpoints_live_beside_a_sqlite_file_until_the_trial_finishes(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    study = hs.create_study(storage=url, scheduler=hs.ASHAScheduler(max_budget=9), seed=0)
    (summary,) = hs.get_all_study_summaries(url)
    root = tmp_path / "mf.db.checkpoints" / f"study-{summary.study_id}"
    trial = study.ask()
    assert trial.load_checkpoint() is None  # a new trial has none
    trial.save_checkpoint({"epoch": 1})
    assert (root / "trial-0" / "checkpoint.pkl").is_file()
    assert trial.checkpoint_dir == root / "trial-0"
    (trial.checkpoint_dir / "extra.bin").write_bytes(b"weights")  # written by hand
    trial.report(1, 0.5)
    study.tell(trial, 0.5)  # paused: the checkpoint must survive
    assert sorted(p.name for p in (root / "trial-0").iterdir()) == ["checkpoint.pkl", "extra.bin"]
    paused, failed = study.ask(), study.ask()
    for t in (paused, failed):
        t.save_checkpoint(t.number)
        t.report(1, 0.7)
    assert study.tell(paused, 0.7).state == hs.TrialState.PAUSED
    assert study.tell(failed, state=hs.TrialState.FAILED).state == hs.TrialState.FAILED
    assert (root / "trial-1").exists()  # PAUSED: kept
    assert not (root / "trial-2").exists()  # FAILED: removed
    resumed = study.ask()
    assert (resumed.number, resumed.load_checkpoint()) == (0, {"epoch": 1})
    for step in resumed.steps():
        resumed.save_checkpoint({"epoch": step})
        resumed.report(step, 0.1)
    assert study.tell(resumed, 0.1).state == hs.TrialState.PAUSED  # at rung 3
    assert (root / "trial-0").exists()
    # a worker that ends trial 0 for good removes its folder
    study.tell(0, state=hs.TrialState.FAILED)
    assert not (root / "trial-0").exists()
    assert sorted(p.name for p in root.iterdir()) == ["trial-1"]


def test_a_paused_trial_can_be_pruned_for_good_by_number() -> None:
    study = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9), seed=0)
    trial = study.ask()
    trial.report(1, 0.5)
    assert study.tell(trial, 0.5).state == hs.TrialState.PAUSED
    assert study.tell(0, state=hs.TrialState.PRUNED).state == hs.TrialState.PRUNED


def test_checkpoint_dir_is_remembered_by_load_study(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    folder = tmp_path / "ckpt"
    hs.create_study(study_name="s", storage=url, checkpoint_dir=folder, seed=0)
    study = hs.load_study("s", url, scheduler=hs.FIFOScheduler(max_budget=2))
    (summary,) = hs.get_all_study_summaries(url)
    trial = study.ask()
    trial.save_checkpoint([1, 2, 3])
    assert (folder / f"study-{summary.study_id}" / "trial-0" / "checkpoint.pkl").is_file()
    assert not (tmp_path / "mf.db.checkpoints").exists()
    assert hs.load_study("s", url).tell(0, 1.0).state == hs.TrialState.COMPLETE
    assert list(folder.rglob("trial-*")) == []


def test_checkpoint_dir_must_be_a_path() -> None:
    with pytest.raises(hs.InvalidTypeError, match="`checkpoint_dir` must be a path"):
        hs.create_study(checkpoint_dir=3)  # type: ignore[arg-type]


def test_job_checkpoint_from_copies_another_trials_checkpoint(tmp_path: Path) -> None:
    sched = Scripted(hs.Job(), hs.Job(checkpoint_from=0), hs.Job(checkpoint_from=2))
    study = hs.create_study(scheduler=sched, checkpoint_dir=tmp_path, seed=0)
    parent = study.ask()
    parent.save_checkpoint({"w": 1})
    child = study.ask()
    assert child.load_checkpoint() == {"w": 1}
    child.save_checkpoint({"w": 2})  # its own copy: the parent's is untouched
    assert parent.load_checkpoint() == {"w": 1}
    orphan = study.ask()  # trial 2 (itself) has no checkpoint yet: nothing to copy
    assert orphan.load_checkpoint() is None


# -- optimize: processes and n_trials --------------------------------------------------------
def checkpointed(trial: hs.Trial) -> float:
    """Module level so that worker processes can unpickle it."""
    x = trial.suggest_float("x", 0.0, 1.0)
    state = trial.load_checkpoint()
    if trial.start_step > 0:
        if state != {"step": trial.start_step, "x": x}:
            raise RuntimeError(f"checkpoint {state!r} at start_step {trial.start_step}")
        trial.set_user_attr(f"restored@{trial.start_step}", state["step"])
    elif state is not None:
        raise RuntimeError(f"a new trial found checkpoint {state!r}")
    value = math.nan
    for step in trial.steps():
        value = (x - 0.3) ** 2 + 1.0 / step
        trial.save_checkpoint({"step": step, "x": x})
        trial.report(step, value)
    return value


def test_process_workers_resume_from_checkpoints(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    study = hs.create_study(
        storage=url, scheduler=hs.ASHAScheduler(max_budget=9), sampler="random", seed=0
    )
    study.optimize(checkpointed, n_trials=12, n_jobs=2, executor="process", catch=())
    trials = study.trials
    assert len(trials) == 12
    states = {t.state for t in trials}
    assert states <= {hs.TrialState.COMPLETE, hs.TrialState.PAUSED}
    complete = [t for t in trials if t.state == hs.TrialState.COMPLETE]
    assert complete
    for t in complete:  # reached step 9 through rungs 1 and 3, each time from its checkpoint
        assert sorted(t.intermediate_values) == list(range(1, 10))
        assert t.user_attrs == {"restored@1": 1, "restored@3": 3}
    (summary,) = hs.get_all_study_summaries(url)
    root = tmp_path / "mf.db.checkpoints" / f"study-{summary.study_id}"
    paused = {f"trial-{t.number}" for t in trials if t.state == hs.TrialState.PAUSED}
    assert {p.name for p in root.iterdir()} == paused


def test_n_trials_counts_new_trials_then_only_resumptions_follow() -> None:
    study = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9), sampler="random", seed=0)
    jobs: list[tuple[int, int]] = []

    def objective(trial: hs.Trial) -> float:
        jobs.append((trial.number, trial.start_step))
        value = math.nan
        for step in trial.steps():
            value = 1.0 - trial.number / 100 + 1.0 / step  # later trials are better
            trial.report(step, value)
        return value

    study.optimize(objective, n_trials=10)
    assert len(study.trials) == 10
    last_new = max(i for i, (_, start) in enumerate(jobs) if start == 0)
    assert jobs[last_new] == (9, 0)
    after = jobs[last_new + 1 :]
    assert after == [(9, 1), (9, 3)]  # the best new trial goes all the way up after the budget
    assert not any(t.state == hs.TrialState.RUNNING for t in study.trials)
    view = hs.StudyView(study.trials, study.directions, study.seed)
    assert study.scheduler.next_job(view, False) is None  # type: ignore[attr-defined]
    study.optimize(objective, n_trials=2)
    assert len(study.trials) == 12


# -- scheduler names -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("asha", "ASHAScheduler"),
        ("ASHA", "ASHAScheduler"),
        ("hyperband", "HyperbandScheduler"),
        ("async_hyperband", "AsyncHyperbandScheduler"),
        ("sha", "SuccessiveHalvingScheduler"),
        ("topk", "TopKScheduler"),
    ],
)
def test_names_of_schedulers_that_need_a_budget_say_what_to_pass(name: str, cls: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=rf"pass hs\.{cls}\(max_budget=\.\.\.\)"):
        hs.create_study(scheduler=name)


def test_scheduler_names_and_objects() -> None:
    assert isinstance(hs.create_study(scheduler="fifo").scheduler, hs.FIFOScheduler)
    assert isinstance(hs.create_study(scheduler="median").scheduler, hs.MedianStoppingScheduler)
    assert isinstance(hs.create_study().scheduler, hs.FIFOScheduler)
    with pytest.raises(hs.InvalidArgumentError, match=r"`scheduler` must be one of \['fifo'"):
        hs.create_study(scheduler="bohb")
    with pytest.raises(hs.InvalidTypeError, match="`scheduler` must be a name or a Scheduler"):
        hs.create_study(scheduler=3)  # type: ignore[arg-type]


def test_job_replaces_retires_a_paused_trial_once(tmp_path: Path) -> None:
    """A branch that replaces a PAUSED trial ends it PRUNED (checkpoint deleted); a second
    job replacing the same trial is dropped and the scheduler asked again."""
    sched = Scripted(
        hs.Job(),
        hs.Job(checkpoint_from=0, replaces=0),
        hs.Job(checkpoint_from=0, replaces=0),  # stale: trial 0 is no longer PAUSED
        hs.Job(),
    )
    study = hs.create_study(scheduler=sched, checkpoint_dir=tmp_path, seed=0)
    loser = study.ask()
    loser.save_checkpoint({"w": 1})
    study.tell(loser, state=hs.TrialState.PAUSED)
    branch = study.ask()
    assert branch.load_checkpoint() == {"w": 1}  # staged before the loser's folder went
    retired = study.trials[0]
    assert retired.state == hs.TrialState.PRUNED and retired.system_attrs["replaced"] is True
    assert not study._checkpoints.trial_dir(0, create=False).exists()
    third = study.ask()  # the stale replacement was dropped: the next job is a plain trial
    assert third.number == 2 and third.load_checkpoint() is None
    assert len(study.trials) == 3

"""Contract suite: every scheduler keeps the promises of the Scheduler seam.

* budgets are respected: no run goes past its ``trial.budget``, no trial past ``max_budget``;
* a trial's runs have strictly growing budgets, each resuming where the last one stopped
  (no promotion twice, nothing re-run), and its checkpoint comes back at every resume;
* reports at arbitrary steps (every third step, say) do not break the schedule;
* a study reopened in a new process (a new scheduler object) makes the same decisions as one
  that never stopped;
* threads sharing a SQLite study never resume one trial twice at the same time.

A scheduler added to ``SCHEDULERS_UNDER_TEST`` is covered without further work.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs

MAX = 27

SCHEDULERS_UNDER_TEST: dict[str, Callable[[], Any]] = {
    "fifo": lambda: hs.FIFOScheduler(max_budget=MAX),
    "median": lambda: hs.MedianStoppingScheduler(max_budget=MAX, n_startup_trials=2),
    "asha": lambda: hs.ASHAScheduler(max_budget=MAX),
    "asha-stopping": lambda: hs.ASHAScheduler(max_budget=MAX, mode="stopping"),
    "async-hyperband": lambda: hs.AsyncHyperbandScheduler(max_budget=MAX),
    "sha": lambda: hs.SuccessiveHalvingScheduler(max_budget=MAX, bracket_size=9),
    "hyperband": lambda: hs.HyperbandScheduler(max_budget=MAX),
    "topk": lambda: hs.TopKScheduler(max_budget=MAX, k=2),
    "idhb": lambda: hs.IterativeDeepeningHyperbandScheduler(max_budget=MAX),
    "dehb": lambda: hs.DEHBScheduler(max_budget=MAX),
    "pbt": lambda: hs.PBTScheduler(max_budget=MAX, population_size=6, interval=3),
}
# PBT starts population_size new trials; its other trials are copies (not counted in n_trials)
FIXED_POPULATION = {"pbt"}


@pytest.fixture(params=sorted(SCHEDULERS_UNDER_TEST))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(name: str) -> Callable[[], Any]:
    return SCHEDULERS_UNDER_TEST[name]


class Recorder:
    """An objective that trains a fake model step by step and records every run."""

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.runs: list[tuple[int, int, int | None, int]] = []  # number, start, budget, last
        self.lock = threading.Lock()
        self.active: set[int] = set()
        self.overlaps = 0

    def __call__(self, trial: hs.Trial) -> float | None:
        x = trial.suggest_float("x", 0.0, 1.0)
        with self.lock:
            self.overlaps += trial.number in self.active
            self.active.add(trial.number)
        try:
            state = trial.load_checkpoint()
            assert (state or 0) == trial.start_step, "the checkpoint is the last step done"
            last, loss = trial.start_step, None
            for step in trial.steps():
                loss = (x - 0.3) ** 2 + 1.0 / step
                last = step
                trial.save_checkpoint(step)
                if step % self.every == 0 or step == trial.budget:
                    trial.report(step, loss)
            with self.lock:
                self.runs.append((trial.number, trial.start_step, trial.budget, last))
            return loss
        finally:
            with self.lock:
                self.active.discard(trial.number)


def check_runs(study: hs.Study, rec: Recorder) -> None:
    by_trial: dict[int, list[tuple[int, int | None, int]]] = collections.defaultdict(list)
    for number, start, budget, last in rec.runs:
        by_trial[number].append((start, budget, last))
        assert budget is not None and last <= budget <= MAX
    for number, runs in by_trial.items():
        budgets = [b for _, b, _ in runs]
        assert budgets == sorted(set(budgets)), f"trial {number} promoted twice: {runs}"
        for (_, _, last), (start, _, _) in itertools.pairwise(runs):
            assert start == last, f"trial {number} resumed at {start}, not {last}: {runs}"
    for t in study.trials:
        if t.intermediate_values:
            assert max(t.intermediate_values) <= MAX
        if t.state == hs.TrialState.COMPLETE:
            assert by_trial[t.number][-1][2] == MAX or t.intermediate_values == {}
    assert not any(t.state == hs.TrialState.RUNNING for t in study.trials)


def test_budgets_promotions_and_checkpoints(make: Callable[[], Any], name: str) -> None:
    rec = Recorder()
    study = hs.create_study(scheduler=make(), sampler="random", seed=1)
    study.optimize(rec, n_trials=30)
    check_runs(study, rec)
    branches = [t for t in study.trials if t.system_attrs.get("pbt_parent") is not None]
    if name in FIXED_POPULATION:
        assert len(study.trials) - len(branches) == 6
    else:
        assert len(study.trials) == 30
    assert study.best_value == min(
        t.value for t in study.trials if t.state == hs.TrialState.COMPLETE
    )


def test_reports_at_arbitrary_steps(make: Callable[[], Any]) -> None:
    rec = Recorder(every=4)
    study = hs.create_study(scheduler=make(), sampler="random", seed=2)
    study.optimize(rec, n_trials=20)
    check_runs(study, rec)


def snapshot(study: hs.Study) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.state, t.params, t.values, t.intermediate_values, t.system_attrs)
        for t in study.trials
    ]


def drive(study: hs.Study, jobs: int) -> None:
    """ask / run / tell ``jobs`` times, as one sequential worker."""
    for _ in range(jobs):
        trial = study.ask()
        x = trial.suggest_float("x", 0.0, 1.0)
        loss = math.nan
        for step in trial.steps():
            loss = (x - 0.3) ** 2 + 1.0 / step
            trial.report(step, loss)
        study.tell(trial, loss)


def test_a_restarted_study_makes_the_same_decisions(
    make: Callable[[], Any], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'mf.db'}"
    straight = hs.create_study(
        study_name="a", storage=url, scheduler=make(), sampler="random", seed=3
    )
    drive(straight, 24)
    first = hs.create_study(study_name="b", storage=url, scheduler=make(), sampler="random", seed=3)
    drive(first, 11)
    del first  # "the process dies"; a new one opens the study with a new scheduler object
    second = hs.load_study("b", url, scheduler=make(), sampler="random")
    drive(second, 13)
    assert snapshot(second) == snapshot(straight)


def test_threads_on_sqlite_never_run_a_trial_twice_at_once(
    make: Callable[[], Any], tmp_path: Path
) -> None:
    rec = Recorder()
    study = hs.create_study(
        storage=f"sqlite:///{tmp_path / 'mt.db'}", scheduler=make(), sampler="random", seed=4
    )
    study.optimize(rec, n_trials=24, n_jobs=3)
    assert rec.overlaps == 0
    check_runs(study, rec)

"""Iterative deepening Hyperband (Brandt et al. 2023), driven by hand on known values.

Iteration 0 is Hyperband at ``start_budget``; iteration ``k + 1`` tops each old bracket up to
Hyperband's size at ``eta`` times the maximum (new trials at the bracket's first budget),
keeps every earlier promotion (the efficient variant), resumes the best of each old top rung up
to the new maximum, and adds a bracket that starts there.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.schedulers._idhb import ITERATION_KEY, IterativeDeepeningHyperbandScheduler
from mf_helpers import view_of

Curve = Callable[[int, int], float]  # (trial number, step) -> value


class Driver:
    """One sequential worker: ask, run the steps from the checkpoint, tell; records each job."""

    def __init__(self, curve: Curve) -> None:
        self.curve = curve
        self.jobs: list[tuple[int, int, int | None, int, int]] = []  # number, start, budget, ...
        self.steps = 0  # steps run, over all jobs

    def start(self, study: hs.Study) -> hs.Trial:
        trial = study.ask()
        attrs = trial.freeze().system_attrs
        self.jobs.append(
            (trial.number, trial.start_step, trial.budget, attrs["bracket"], attrs[ITERATION_KEY])
        )
        return trial

    def objective(self, trial: hs.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        done = trial.load_checkpoint()
        assert (done or 0) == trial.start_step, "a resumed trial goes on from its checkpoint"
        value = math.nan
        for step in trial.steps():
            self.steps += 1
            value = self.curve(trial.number, step)
            trial.save_checkpoint(step)
            trial.report(step, value)
        return value

    def finish(self, study: hs.Study, trial: hs.Trial) -> hs.FrozenTrial:
        return study.tell(trial, self.objective(trial))

    def run(self, study: hs.Study, jobs: int | None = None) -> None:
        """``jobs`` jobs, or until the schedule is finished."""
        count = 0
        while jobs is None or count < jobs:
            try:
                trial = self.start(study)
            except hs.ScheduleFinished:
                return
            self.finish(study, trial)
            count += 1


# Trial n's value is BASE[n] + 1/step, except trial 1, which drops to -1 from step 3 on.
BASE = {0: 0.5, 1: 0.2, 2: 0.9, 3: 0.01, 4: 0.6, 5: 0.1, 6: 0.05, 7: 0.8, 8: 0.7, 9: 0.95}
BASE |= {10: 0.15, 11: 0.5, 12: 0.6, 13: 0.7}


def curve(number: int, step: int) -> float:
    if number == 1 and step >= 3:
        return -1.0
    return BASE.get(number, 0.3) + 1.0 / step


def idhb_study(**kwargs: Any) -> hs.Study:
    sched = IterativeDeepeningHyperbandScheduler(**{"max_budget": 9, **kwargs})
    return hs.create_study(scheduler=sched, sampler="random", seed=0)


# -- brackets ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "budgets", "brackets"),
    [
        # Hyperband at R = 3, then at R = 9 (Li et al. 2018, Algorithm 1, eta = 3)
        ({"max_budget": 9}, [3, 9], [[(1, 3), (3, 2)], [(1, 9), (3, 5), (9, 3)]]),
        (
            {"max_budget": 27, "start_budget": 9},
            [9, 27],
            [[(1, 9), (3, 5), (9, 3)], [(1, 27), (3, 12), (9, 6), (27, 4)]],
        ),
        # max_budget off the eta grid: the last iteration stops there, as Hyperband's top rung
        ({"max_budget": 20, "start_budget": 9}, [9, 20], [[(1, 9), (3, 5), (9, 3)], None]),
        ({"max_budget": 81, "iterations": 2}, [3, 9], [[(1, 3), (3, 2)], None]),
        ({"max_budget": 1}, [1], [[(1, 1)]]),
    ],
)
def test_iteration_k_has_hyperbands_brackets_for_its_maximum(
    kwargs: dict[str, Any], budgets: list[int], brackets: list[list[tuple[int, int]] | None]
) -> None:
    sched = IterativeDeepeningHyperbandScheduler(**kwargs)
    assert sched.iteration_budgets == budgets
    for k, expected in enumerate(brackets):
        hb = hs.HyperbandScheduler(max_budget=budgets[k], min_budget=kwargs.get("min_budget", 1))
        assert sched.brackets(k) == hb.brackets
        if expected is not None:
            assert sched.brackets(k) == expected


def test_iteration_0_runs_the_jobs_of_hyperband_at_start_budget() -> None:
    # Hyperband at 3 on the same values: its first cycle (5 trials), ID-HB's iteration 0.
    hb = hs.create_study(scheduler=hs.HyperbandScheduler(max_budget=3), sampler="random", seed=0)
    hb_jobs = []
    for _ in range(6):
        trial = hb.ask()
        hb_jobs.append((trial.number, trial.start_step, trial.budget))
        Driver(curve).finish(hb, trial)
    study = idhb_study()
    driver = Driver(curve)
    driver.run(study, jobs=6)
    assert [job[:3] for job in driver.jobs] == hb_jobs
    # trials 0-2 at budget 1, the best (1) resumed to 3; bracket 1: trials 3, 4 at budget 3
    assert driver.jobs == [
        (0, 0, 1, 0, 0), (1, 0, 1, 0, 0), (2, 0, 1, 0, 0), (1, 1, 3, 0, 0),
        (3, 0, 3, 1, 0), (4, 0, 3, 1, 0),
    ]  # fmt: skip
    # Hyperband completes its top rung; ID-HB pauses it there, for the next iteration
    assert {t.state for t in study.trials} == {hs.TrialState.PAUSED}
    assert hb.trials[1].state == hs.TrialState.COMPLETE


def test_iteration_1_resumes_old_brackets_and_keeps_earlier_promotions() -> None:
    study = idhb_study()
    driver = Driver(curve)
    driver.run(study, jobs=5)
    # the last job of iteration 0 is running: iteration 1 cannot start, new trials or not
    last = driver.start(study)
    assert last.number == 4
    sched = study.scheduler
    assert isinstance(sched, IterativeDeepeningHyperbandScheduler)
    assert sched.next_job(view_of(study), True) is hs.WAIT
    driver.finish(study, last)
    driver.run(study)
    iteration_1 = [job for job in driver.jobs if job[4] == 1]
    assert iteration_1 == [
        # bracket 0 grows from 3 to 9 trials at budget 1
        *[(n, 0, 1, 0, 1) for n in range(5, 11)],
        # rung 1 keeps 3 of 9: trial 1 (promoted in iteration 0) keeps its place although
        # trial 10 (0.15) is now better; the two free places go to 6 (0.05) and 5 (0.1)
        (6, 1, 3, 0, 1), (5, 1, 3, 0, 1),
        # rung 3's best (trial 1, -1 from step 3) goes on from its checkpoint to the new top
        (1, 3, 9, 0, 1),
        # bracket 1 grows from 2 to 5 trials at budget 3; its best, old trial 3, is resumed
        (11, 0, 3, 1, 1), (12, 0, 3, 1, 1), (13, 0, 3, 1, 1), (3, 3, 9, 1, 1),
        # the new bracket starts at the new maximum
        (14, 0, 9, 2, 1), (15, 0, 9, 2, 1), (16, 0, 9, 2, 1),
    ]  # fmt: skip
    new = collections.Counter(t.system_attrs[ITERATION_KEY] for t in study.trials if t.number > 4)
    assert new == {1: 12}  # (9 - 3) + (5 - 2) + 3 new trials, as the bracket sizes say
    states = {t.number: t.state for t in study.trials}
    complete = {n for n, s in states.items() if s == hs.TrialState.COMPLETE}
    assert complete == {1, 3, 14, 15, 16}
    assert study.trials[1].intermediate_values == {s: curve(1, s) for s in range(1, 10)}
    assert study.best_trial.number == 1
    assert sched.next_job(view_of(study), True) is None


def test_without_new_trials_the_next_iteration_deepens_what_there_is() -> None:
    study = idhb_study()
    Driver(curve).run(study, jobs=6)  # iteration 0 done
    sched = study.scheduler
    assert isinstance(sched, IterativeDeepeningHyperbandScheduler)
    job = sched.next_job(view_of(study), False)
    # bracket 0 keeps its 3 trials: int(3 / 3) = 1 place at rung 1 (trial 1 has it), and
    # trial 1 is the best at rung 3: resumed to the new maximum, with the new iteration
    assert job == hs.Job(budget=9, resume=1, attrs={ITERATION_KEY: 1}, final=True)


# -- cost --------------------------------------------------------------------------------------
def hyperband_steps(max_budget: int) -> tuple[int, int]:
    """Steps and trials of one cycle of Hyperband's brackets at ``max_budget``."""
    sched = hs.HyperbandScheduler(max_budget=max_budget)
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    driver = Driver(curve)
    # as many new trials as its brackets have; then they finish with resumptions only
    study.optimize(driver.objective, n_trials=sum(size for _, size in sched.brackets))
    return driver.steps, len(study.trials)


@pytest.mark.parametrize(
    ("kwargs", "budgets", "steps", "restart_steps"),
    [
        # Hyperband, one cycle: R = 3: 3*1 + 1*2 + 2*3 = 11 steps; R = 9: 21 + 21 + 27 = 69;
        # R = 27: 81 + 78 + 90 + 108 = 357 (trials resume from checkpoints)
        ({"max_budget": 9}, [3, 9], 69, 11 + 69),
        ({"max_budget": 27}, [3, 9, 27], 357, 11 + 69 + 357),
    ],
)
def test_deepening_costs_what_hyperband_at_the_final_maximum_costs_and_no_restart(
    kwargs: dict[str, Any], budgets: list[int], steps: int, restart_steps: int
) -> None:
    study = idhb_study(**kwargs)
    driver = Driver(curve)
    driver.run(study)
    scratch = {r: hyperband_steps(r) for r in budgets}
    # same trials and steps as Hyperband at the final maximum alone: nothing is run twice ...
    assert (driver.steps, len(study.trials)) == scratch[budgets[-1]]
    # ... and less than Hyperband at each maximum in turn (restarting when it proves too small)
    assert driver.steps == steps
    assert sum(s for s, _ in scratch.values()) == restart_steps > steps


# -- restarts ----------------------------------------------------------------------------------
def snapshot(study: hs.Study) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.state, t.params, t.values, t.intermediate_values, t.system_attrs)
        for t in study.trials
    ]


def test_a_study_reloaded_mid_iteration_or_deepened_later_runs_the_same_trials(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'idhb.db'}"

    def make(**kwargs: Any) -> IterativeDeepeningHyperbandScheduler:
        return IterativeDeepeningHyperbandScheduler(max_budget=9, **kwargs)

    straight = hs.create_study(
        study_name="straight", storage=url, scheduler=make(), sampler="random", seed=5
    )
    Driver(curve).run(straight)
    # the process dies in the middle of iteration 1; a new one loads the study
    first = hs.create_study(
        study_name="reloaded", storage=url, scheduler=make(), sampler="random", seed=5
    )
    Driver(curve).run(first, jobs=9)
    del first
    second = hs.load_study("reloaded", url, scheduler=make(), sampler="random")
    Driver(curve).run(second)
    assert snapshot(second) == snapshot(straight)
    # a study run with one iteration, deepened by loading it with two
    short = hs.create_study(
        study_name="short", storage=url, scheduler=make(iterations=1), sampler="random", seed=5
    )
    Driver(curve).run(short)
    assert len(short.trials) == 5
    assert {t.state for t in short.trials} == {hs.TrialState.PAUSED}
    deeper = hs.load_study("short", url, scheduler=make(iterations=2), sampler="random")
    Driver(curve).run(deeper)
    assert snapshot(deeper) == snapshot(straight)


# -- arguments ---------------------------------------------------------------------------------
def test_repr_names_every_argument() -> None:
    assert repr(IterativeDeepeningHyperbandScheduler(max_budget=27, iterations=2)) == (
        "IterativeDeepeningHyperbandScheduler(max_budget=27, min_budget=1, eta=3, "
        "start_budget=3, iterations=2)"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_budget": 9, "start_budget": 4}, r"`start_budget` must be one of .*\[1, 3, 9\]"),
        ({"max_budget": 9, "start_budget": 27}, "`start_budget` must be one of"),
        ({"max_budget": 9, "start_budget": 0}, "`start_budget` must be an int >= 1"),
        ({"max_budget": 9, "start_budget": 3.0}, "`start_budget` must be an int"),
        ({"max_budget": 9, "iterations": 0}, "`iterations` must be an int >= 1"),
        ({"max_budget": 9, "iterations": 3}, "`iterations` must be <= 2"),
        ({"max_budget": 9, "min_budget": 10}, "`max_budget` must be >="),
        ({"max_budget": 9, "eta": 1}, "`eta` must be a number > 1"),
        ({"max_budget": 0}, "`max_budget` must be an int >= 1"),
    ],
)
def test_argument_errors_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        IterativeDeepeningHyperbandScheduler(**kwargs)


def test_brackets_of_an_iteration_that_does_not_exist() -> None:
    sched = IterativeDeepeningHyperbandScheduler(max_budget=9)
    with pytest.raises(hs.InvalidArgumentError, match="`iteration` must be < 2"):
        sched.brackets(2)

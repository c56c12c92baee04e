"""Median stopping, one-epoch top-k and FIFO on known learning curves."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pytest

import hyperscout as hs
from mf_helpers import run_curve, view_of


def flat(value: float) -> Callable[[int], float]:
    return lambda step: value


# -- median stopping -----------------------------------------------------------------------------
def median_study(**kwargs: float) -> hs.Study:
    sched = hs.MedianStoppingScheduler(max_budget=4, **kwargs)  # type: ignore[arg-type]
    return hs.create_study(scheduler=sched, sampler="random", seed=0)


def test_median_stops_a_trial_whose_best_so_far_is_worse_than_the_median() -> None:
    study = median_study(n_startup_trials=3)
    # the first three are never judged: fewer than 3 COMPLETE trials before them
    for value in (1.0, 2.0, 3.0):
        frozen = run_curve(study, study.ask(), flat(value))
        assert frozen.state == hs.TrialState.COMPLETE
    # median of (1, 2, 3) at every step is 2
    stopped = run_curve(study, study.ask(), flat(2.5))
    assert (stopped.state, stopped.intermediate_values) == (hs.TrialState.PRUNED, {1: 2.5})
    tie = run_curve(study, study.ask(), flat(2.0))  # not worse than the median: goes on
    assert tie.state == hs.TrialState.COMPLETE
    # the best value so far (1.0 at step 1) is judged, not the last one
    dip = run_curve(study, study.ask(), lambda step: 1.0 if step == 1 else 5.0)
    assert dip.state == hs.TrialState.COMPLETE and len(dip.intermediate_values) == 4


def test_median_compares_only_with_complete_trials_at_the_same_step() -> None:
    study = median_study(n_startup_trials=1)
    run_curve(study, study.ask(), flat(1.0))  # COMPLETE, steps 1..4
    running = study.ask()
    running.report(1, 0.0)  # RUNNING: no vote
    judged = study.ask()
    judged.report(0, 5.0)  # no COMPLETE trial reported step 0: nothing to compare with
    assert not judged.should_stop()
    judged.report(1, 0.7)  # the median at step 1 is 1.0 (it would be 0.5 if trial 1 voted)
    assert not judged.should_stop()
    judged.report(2, 3.0)  # best so far: 0.7
    assert not judged.should_stop()
    late = study.ask()
    late.report(1, 1.5)
    assert late.should_stop()
    assert study.tell(late, 1.5).state == hs.TrialState.PRUNED


@pytest.mark.parametrize(("percentile", "state"), [(25, "PRUNED"), (75, "COMPLETE")])
def test_percentile(percentile: float, state: str) -> None:
    study = median_study(n_startup_trials=4, percentile=percentile)
    for value in (1.0, 2.0, 3.0, 4.0):
        run_curve(study, study.ask(), flat(value))
    # 25th percentile of (1, 2, 3, 4) is 1.75, 75th is 3.25
    assert run_curve(study, study.ask(), flat(2.5)).state == hs.TrialState[state]


@pytest.mark.parametrize(
    ("warmup", "interval", "stopped_at"),
    [
        (0, 1, 3),  # judged at every step
        (5, 1, 5),  # never judged before step 5
        (0, 2, 4),  # judged at steps 0, 2, 4, ...
        (1, 2, 3),  # judged at steps 1, 3, 5, ...
        (2, 3, 5),  # judged at steps 2, 5, 8
        (0, 4, 4),  # judged at steps 0, 4, 8
    ],
)
def test_warmup_and_interval(warmup: int, interval: int, stopped_at: int) -> None:
    sched = hs.MedianStoppingScheduler(
        max_budget=8, n_startup_trials=1, n_warmup_steps=warmup, interval_steps=interval
    )
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    run_curve(study, study.ask(), lambda step: 10.0 - step)  # the reference improves fast
    # 7.5 is within the reference at steps 1, 2 and worse from step 3 on
    frozen = run_curve(study, study.ask(), flat(7.5))
    assert frozen.state == hs.TrialState.PRUNED
    assert max(frozen.intermediate_values) == stopped_at


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"percentile": 101}, "`percentile` must be a number in \\[0, 100\\]"),
        ({"percentile": -1}, "`percentile`"),
        ({"percentile": True}, "`percentile`"),
        ({"percentile": "50"}, "`percentile`"),
        ({"n_startup_trials": -1}, "`n_startup_trials` must be an int >= 0"),
        ({"n_warmup_steps": -1}, "`n_warmup_steps` must be an int >= 0"),
        ({"interval_steps": 0}, "`interval_steps` must be an int >= 1"),
        ({"max_budget": 0}, "`max_budget` must be an int >= 1"),
    ],
)
def test_median_argument_errors_name_the_argument(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        hs.MedianStoppingScheduler(**kwargs)  # type: ignore[arg-type]


# -- top-k ---------------------------------------------------------------------------------------
BASE = {0: 0.6, 1: 0.1, 2: 0.5, 3: 0.3, 4: 0.2, 5: 0.4}  # ranking: 1, 4, 3, 5, 2, 0


class Recorder:
    """Objective with trial n's curve ``base[n] + 1/step``; logs (number, start, budget)."""

    def __init__(self, base: Mapping[int, float]) -> None:
        self.base = base
        self.jobs: list[tuple[int, int, int | None]] = []

    def __call__(self, trial: hs.Trial) -> float:
        self.jobs.append((trial.number, trial.start_step, trial.budget))
        value = math.nan
        for step in trial.steps():
            value = self.base[trial.number] + 1.0 / step
            trial.report(step, value)
        return value


@pytest.mark.parametrize(
    ("k", "continued"), [(2, [1, 4]), (0.5, [1, 4, 3]), (10, [1, 4, 3, 5, 2, 0])]
)
def test_topk_continues_the_k_best_candidates_best_first(k: float, continued: list[int]) -> None:
    study = hs.create_study(scheduler=hs.TopKScheduler(max_budget=5, k=k), sampler="random", seed=0)
    rec = Recorder(BASE)
    study.optimize(rec, n_trials=6)
    assert rec.jobs == [(n, 0, 1) for n in range(6)] + [(n, 1, 5) for n in continued]
    for t in study.trials:
        if t.number in continued:
            assert t.state == hs.TrialState.COMPLETE
            assert sorted(t.intermediate_values) == [1, 2, 3, 4, 5]
        else:
            assert t.state == hs.TrialState.PAUSED and list(t.intermediate_values) == [1]
    assert study.best_trial.number == 1


def test_topk_waits_for_every_candidate_before_choosing() -> None:
    sched = hs.TopKScheduler(max_budget=5, k=1)
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    trials = [study.ask() for _ in range(3)]
    for trial in trials[:2]:
        run_curve(study, trial, lambda step, n=trial.number: BASE[n] + 1 / step)
    assert sched.next_job(view_of(study), False) is hs.WAIT  # trial 2 may still be the best
    run_curve(study, trials[2], lambda step: 0.05 + 1 / step)
    assert sched.next_job(view_of(study), False) == hs.Job(budget=5, resume=2)
    # while new trials are allowed (ask() always allows them) candidates keep coming
    extra = study.ask()
    assert (extra.number, extra.start_step, extra.budget) == (3, 0, 1)
    run_curve(study, extra, flat(9.0))
    assert sched.next_job(view_of(study), False) == hs.Job(budget=5, resume=2)
    # resume it as an optimize loop whose n_trials are spent would: then nothing is left
    rec = Recorder({2: 0.05})
    study.optimize(rec, n_trials=0)
    assert rec.jobs == [(2, 1, 5)]
    assert study.trials[2].state == hs.TrialState.COMPLETE
    assert sorted(study.trials[2].intermediate_values) == [1, 2, 3, 4, 5]
    assert sched.next_job(view_of(study), False) is None


def test_topk_fraction_of_candidates_is_exact() -> None:
    study = hs.create_study(
        scheduler=hs.TopKScheduler(max_budget=2, k=0.28), sampler="random", seed=0
    )
    rec = Recorder({n: n / 100 for n in range(25)})
    study.optimize(rec, n_trials=25)
    assert [n for n, start, _ in rec.jobs if start > 0] == list(range(7))  # 28% of 25


@pytest.mark.parametrize("k", [0, -1, 1.0, 1.5, True, "3", None, math.nan])
def test_topk_k_errors_name_the_argument(k: object) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="`k` must be an int >= 1 or a fraction"):
        hs.TopKScheduler(max_budget=5, k=k)  # type: ignore[arg-type]


def test_topk_budget_errors_name_the_argument() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="`max_budget` must be >= `min_budget`"):
        hs.TopKScheduler(max_budget=2, min_budget=3)


# -- FIFO ----------------------------------------------------------------------------------------
def test_fifo_runs_every_trial_to_max_budget_and_never_resumes() -> None:
    sched = hs.FIFOScheduler(max_budget=5)
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    trial = study.ask()
    assert (trial.budget, trial.start_step) == (5, 0)
    frozen = run_curve(study, trial, flat(100.0))  # however bad: FIFO never stops a trial
    assert frozen.state == hs.TrialState.COMPLETE
    assert sorted(frozen.intermediate_values) == [1, 2, 3, 4, 5]
    assert sched.next_job(view_of(study), False) is None
    assert sched.next_job(view_of(study), True) == hs.Job(budget=5)


def test_fifo_without_max_budget_has_endless_steps() -> None:
    study = hs.create_study(sampler="random", seed=0)  # FIFO by default
    trial = study.ask()
    assert trial.budget is None
    steps = []
    for step in trial.steps():
        trial.report(step, 1.0)
        steps.append(step)
        if step == 50:
            break
    assert steps == list(range(1, 51))
    assert study.tell(trial, 1.0).state == hs.TrialState.COMPLETE


def test_fifo_budget_error_names_the_argument() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="`max_budget` must be an int >= 1"):
        hs.FIFOScheduler(max_budget=0)

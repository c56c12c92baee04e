"""Synchronous successive halving and Hyperband, driven by hand on known values.

Successive halving (Jamieson & Talwalkar 2016) promotes the top ``1/eta`` of a rung only once
every trial of the bracket has reached it; Hyperband (Li et al. 2018, Algorithm 1) cycles
through brackets of ``ceil((s_max + 1) / (s + 1) * eta**s)`` trials starting at
``max_budget * eta**-s``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import hyperscout as hs
from mf_helpers import run_curve, view_of

# rung 1 order: 3, 7, 5, 8, ...; at rung 3 trial 5 overtakes trials 3 and 7
BASE = {0: 0.9, 1: 0.4, 2: 0.8, 3: 0.1, 4: 0.7, 5: 0.3, 6: 0.6, 7: 0.2, 8: 0.5}


def curve_of(trial: hs.Trial) -> Callable[[int], float]:
    n = trial.number
    return lambda step: -1.0 if n == 5 and step >= 3 else BASE.get(n, 0.95) + 1.0 / step


def job(trial: hs.Trial) -> tuple[int, int, int | None, object]:
    return trial.number, trial.start_step, trial.budget, trial.freeze().system_attrs["bracket"]


def test_successive_halving_promotes_only_full_rungs_top_third_then_top_one() -> None:
    sched = hs.SuccessiveHalvingScheduler(max_budget=9, eta=3, bracket_size=9)
    assert sched.rungs == [1, 3, 9]
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    first = [study.ask() for _ in range(9)]
    assert [job(t) for t in first] == [(n, 0, 1, 0) for n in range(9)]
    for trial in first[:8]:
        assert run_curve(study, trial, curve_of(trial)).state == hs.TrialState.PAUSED
    # trial 8 still runs: bracket 0 cannot promote, a free worker starts bracket 1 instead
    extra = study.ask()
    assert job(extra) == (9, 0, 1, 1)
    assert sched.next_job(view_of(study), False) is hs.WAIT
    run_curve(study, first[8], curve_of(first[8]))
    run_curve(study, extra, curve_of(extra))
    # the full rung's top 3 go on to budget 3, best first
    resumed = [study.ask() for _ in range(3)]
    assert [job(t) for t in resumed] == [(3, 1, 3, 0), (7, 1, 3, 0), (5, 1, 3, 0)]
    # rung 3 is not full while they run: bracket 1 grows instead
    assert job(study.ask()) == (10, 0, 1, 1)
    for trial in resumed[:2]:
        run_curve(study, trial, curve_of(trial))
    assert sched.next_job(view_of(study), False) is hs.WAIT
    run_curve(study, resumed[2], curve_of(resumed[2]))
    # rung 3 is full: its best (trial 5, ranked on its step-3 value) goes to max_budget
    final = study.ask()
    assert job(final) == (5, 3, 9, 0)
    frozen = run_curve(study, final, curve_of(final))
    assert frozen.state == hs.TrialState.COMPLETE
    assert sorted(frozen.intermediate_values) == list(range(1, 10))
    states = {t.number: t.state for t in study.trials if t.number < 9}
    assert states == {n: hs.TrialState.COMPLETE if n == 5 else hs.TrialState.PAUSED for n in states}
    # bracket 0 is done; bracket 1 (trials 9, 10; one running) is the only one left
    assert job(study.ask())[2:] == (1, 1)


def test_without_new_trials_a_short_bracket_finishes_with_what_it_has() -> None:
    sched = hs.SuccessiveHalvingScheduler(max_budget=9, eta=3, bracket_size=9)
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    for _ in range(3):
        trial = study.ask()
        run_curve(study, trial, curve_of(trial))
    # bracket 0 has 3 of 9 trials and cannot grow: its best, trial 1 (0.4), goes on
    assert sched.next_job(view_of(study), False) == hs.Job(budget=3, resume=1, final=False)
    assert sched.next_job(view_of(study), True).resume is None  # room: fill the bracket first


def test_successive_halving_default_bracket_size_lets_one_trial_reach_max_budget() -> None:
    assert "bracket_size=9" in repr(hs.SuccessiveHalvingScheduler(max_budget=9))
    assert "bracket_size=27" in repr(hs.SuccessiveHalvingScheduler(max_budget=27))
    assert "bracket_size=16" in repr(hs.SuccessiveHalvingScheduler(max_budget=16, eta=2))


@pytest.mark.parametrize(
    ("max_budget", "brackets"),
    [
        (27, [(1, 27), (3, 12), (9, 6), (27, 4)]),
        # Li et al. 2018, Table 1 (R = 81, eta = 3): n = 81, 34, 15, 8, 5
        (81, [(1, 81), (3, 34), (9, 15), (27, 8), (81, 5)]),
    ],
)
def test_hyperband_brackets(max_budget: int, brackets: list[tuple[int, int]]) -> None:
    assert hs.HyperbandScheduler(max_budget=max_budget).brackets == brackets


def test_hyperband_cycles_bracket_types_while_earlier_brackets_are_blocked() -> None:
    study = hs.create_study(
        scheduler=hs.HyperbandScheduler(max_budget=27), sampler="random", seed=0
    )
    trials = [study.ask() for _ in range(27 + 12 + 6 + 4 + 2)]  # none reports: all stay blocked
    got = [(t.budget, t.freeze().system_attrs["bracket"]) for t in trials]
    expected = [(1, 0)] * 27 + [(3, 1)] * 12 + [(9, 2)] * 6 + [(27, 3)] * 4 + [(1, 4)] * 2
    assert got == expected  # bracket c has type c % 4


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: hs.SuccessiveHalvingScheduler(max_budget=9, bracket_size=0), "`bracket_size`"),
        (lambda: hs.SuccessiveHalvingScheduler(max_budget=9, bracket_size=2.5), "`bracket_size`"),
        (lambda: hs.SuccessiveHalvingScheduler(max_budget=3, min_budget=9), "`max_budget`"),
        (lambda: hs.SuccessiveHalvingScheduler(max_budget=9, eta=1), "`eta` must be a number > 1"),
        (lambda: hs.HyperbandScheduler(max_budget=0), "`max_budget` must be an int >= 1"),
        (lambda: hs.HyperbandScheduler(max_budget=9, min_budget=10), "`max_budget` must be >="),
        (lambda: hs.HyperbandScheduler(max_budget=9, eta=-3), "`eta`"),
    ],
)
def test_argument_errors_name_the_argument(make: Callable[[], object], match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()

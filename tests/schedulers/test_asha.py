"""ASHA (promotion and stopping) and asynchronous Hyperband, driven by hand on known values.

Every study here is driven by an ask / report / tell loop whose values depend only on the trial
number, so the expected promotions and stops can be worked out on paper (Li et al. 2020,
Algorithm 2: promote the best not-yet-promoted trial of the top ``1/eta`` of a rung, looking
from the highest rung down; else start a new trial at the lowest rung).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Mapping

import pytest

import hyperscout as hs
from mf_helpers import view_of

Curve = Callable[[int], float]


def run(
    study: hs.Study, trial: hs.Trial, curve: Curve, every: int = 1, at_budget: bool = True
) -> tuple[list[int], hs.FrozenTrial]:
    """Run ``trial``'s steps, reporting ``curve(step)`` every ``every`` steps (and at its budget
    with ``at_budget``); tell the last value. Returns the steps run and the told snapshot."""
    ran: list[int] = []
    value = math.nan
    for step in trial.steps():
        ran.append(step)
        if step % every == 0 or (at_budget and step == trial.budget):
            value = curve(step)
            trial.report(step, value)
    return ran, study.tell(trial, value)


def by_number(base: Mapping[int, float]) -> Callable[[hs.Trial], Curve]:
    """Trial n's curve: ``base[n] + 1/step`` (improves with steps, ordered by ``base``)."""
    return lambda trial: lambda step: base[trial.number] + 1.0 / step


def asha_study(direction: str = "minimize", **kwargs: object) -> hs.Study:
    sched = hs.ASHAScheduler(max_budget=9, **kwargs)  # type: ignore[arg-type]
    return hs.create_study(direction=direction, scheduler=sched, sampler="random", seed=0)


# -- rungs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "rungs"),
    [
        ({"max_budget": 27}, [1, 3, 9, 27]),
        ({"max_budget": 52}, [1, 3, 9, 27, 52]),  # LCBench's 52 epochs: max_budget is a rung
        ({"max_budget": 52, "min_budget": 2}, [2, 6, 18, 52]),
        ({"max_budget": 10, "eta": 2}, [1, 2, 4, 8, 10]),
        ({"max_budget": 5, "eta": 1.5}, [1, 2, 3, 5]),  # 1.5 and 2.25 both round to 2: one rung
        ({"max_budget": 4, "min_budget": 4}, [4]),
    ],
)
def test_rung_budgets(kwargs: dict[str, float], rungs: list[int]) -> None:
    assert hs.ASHAScheduler(**kwargs).rungs == rungs  # type: ignore[arg-type]


# -- promotion mode --------------------------------------------------------------------------
def test_the_best_of_a_rung_is_promoted_once_the_rung_has_eta_members() -> None:
    study = asha_study()
    curve = by_number({0: 0.5, 1: 0.2, 2: 0.9})
    for n in range(2):
        trial = study.ask()
        assert (trial.number, trial.start_step, trial.budget) == (n, 0, 1)
        ran, frozen = run(study, trial, curve(trial))
        assert ran == [1] and frozen.state == hs.TrialState.PAUSED
    # two members: top 1/3 of 2 is nobody, so a new trial starts
    third = study.ask()
    assert (third.number, third.budget) == (2, 1)
    run(study, third, curve(third))
    promoted = study.ask()
    assert (promoted.number, promoted.start_step, promoted.budget) == (1, 1, 3)
    ran, frozen = run(study, promoted, curve(promoted))
    assert ran == [2, 3]
    assert frozen.state == hs.TrialState.PAUSED
    assert sorted(frozen.intermediate_values) == [1, 2, 3]
    # trial 1 was promoted already; rung 3 has one member: a new trial
    assert study.ask().number == 3


def test_maximize_promotes_the_largest_value() -> None:
    study = asha_study(direction="maximize")
    curve = by_number({0: 0.5, 1: 0.2, 2: 0.9})
    for _ in range(3):
        trial = study.ask()
        run(study, trial, curve(trial))
    promoted = study.ask()
    assert (promoted.number, promoted.budget) == (2, 3)


def test_promotions_come_from_the_highest_rung_first() -> None:
    study = asha_study()
    base = {0: 0.9, 1: 0.1, 2: 0.8, 3: 0.3, 4: 0.7, 5: 0.2, 6: 0.6, 7: 0.5, 8: 0.4}
    base.update({9: 0.95, 10: 0.96, 11: 0.97})
    curve = by_number(base)
    first = [study.ask() for _ in range(9)]  # nothing reported yet: nine new trials
    assert [t.number for t in first] == list(range(9))
    for trial in first:
        run(study, trial, curve(trial))
    # rung 1 has 9 members: its top 3 (trials 1, 5, 3), best first
    resumed = [study.ask() for _ in range(3)]
    assert [(t.number, t.start_step, t.budget) for t in resumed] == [
        (1, 1, 3),
        (5, 1, 3),
        (3, 1, 3),
    ]
    # the top 3 are taken: new trials, all worse than trial 8 (4th best of rung 1)
    late = [study.ask() for _ in range(3)]
    assert [(t.number, t.budget) for t in late] == [(9, 1), (10, 1), (11, 1)]
    for trial in resumed + late:
        run(study, trial, curve(trial))
    # now rung 1 (12 members) has trial 8 to promote, rung 3 (3 members) has trial 1:
    # the higher rung goes first
    top = study.ask()
    assert (top.number, top.start_step, top.budget) == (1, 3, 9)
    nxt = study.ask()
    assert (nxt.number, nxt.start_step, nxt.budget) == (8, 1, 3)
    ran, frozen = run(study, top, curve(top))
    assert ran == list(range(4, 10))
    assert frozen.state == hs.TrialState.COMPLETE
    assert frozen.value == pytest.approx(0.1 + 1 / 9)
    assert sorted(frozen.intermediate_values) == list(range(1, 10))


def test_next_job_without_new_trials_waits_for_running_trials_else_finishes() -> None:
    study = asha_study()
    sched = study.scheduler
    curve = by_number({0: 0.5, 1: 0.2, 2: 0.9})
    first = study.ask()
    assert sched.next_job(view_of(study), False) is hs.WAIT  # type: ignore[attr-defined]
    run(study, first, curve(first))
    # nothing running, nothing promotable: the schedule is over without new trials
    assert sched.next_job(view_of(study), False) is None  # type: ignore[attr-defined]
    new = sched.next_job(view_of(study), True)  # type: ignore[attr-defined]
    assert (new.resume, new.budget) == (None, 1)
    for _ in range(2):
        trial = study.ask()
        run(study, trial, curve(trial))
    job = sched.next_job(view_of(study), False)  # type: ignore[attr-defined]
    assert job == hs.Job(budget=3, resume=1, final=False)
    promoted = study.ask()
    assert sched.next_job(view_of(study), False) is hs.WAIT  # type: ignore[attr-defined]
    run(study, promoted, curve(promoted))
    assert sched.next_job(view_of(study), False) is None  # type: ignore[attr-defined]


# -- stopping mode ---------------------------------------------------------------------------
def test_stopping_mode_stops_trials_outside_the_top_third_of_a_rung() -> None:
    study = asha_study(mode="stopping")
    flat = {s: 0.0 for s in range(1, 10)}
    curves: dict[int, dict[int, float]] = {
        0: {s: 0.5 for s in flat},
        1: {s: 0.2 for s in flat},
        2: {s: 0.9 for s in flat},  # rung 1: 3rd of 3 -> stopped
        # rung 1: best; rung 3: 2nd of (0.5, 0.2, 0.45) -> stopped. Trial 2, stopped at step 1,
        # recorded nothing at rung 3 and has no vote there.
        3: {1: 0.15, 2: 0.15, **{s: 0.45 for s in range(3, 10)}},
        # rung 1 passed at step 1; the bad value at step 2 is not judged again
        4: {1: 0.1, 2: 0.95, **{s: 0.1 for s in range(3, 10)}},
    }
    expected = [
        (hs.TrialState.COMPLETE, list(range(1, 10))),
        (hs.TrialState.COMPLETE, list(range(1, 10))),
        (hs.TrialState.PRUNED, [1]),
        (hs.TrialState.PRUNED, [1, 2, 3]),
        (hs.TrialState.COMPLETE, list(range(1, 10))),
    ]
    for n, (state, steps) in enumerate(expected):
        trial = study.ask()
        assert (trial.number, trial.budget) == (n, 9)  # every trial may run to max_budget
        _, frozen = run(study, trial, curves[n].__getitem__)
        assert (frozen.state, sorted(frozen.intermediate_values)) == (state, steps), n
    assert study.best_trial.number == 4
    assert study.scheduler.next_job(view_of(study), False) is None  # type: ignore[attr-defined]


def test_stopping_mode_judges_sparse_reports_at_the_first_report_past_a_rung() -> None:
    study = asha_study(mode="stopping")
    for base in (0.5, 0.2, 0.15, 0.1):  # dense reporters fill rungs 1 and 3
        trial = study.ask()
        run(study, trial, lambda step, b=base: b)
    sparse = {
        4: ({2: 0.6}, hs.TrialState.PRUNED),  # rung 1 judged at step 2: 5th of 5
        5: ({2: 0.05, 4: 0.5}, hs.TrialState.PRUNED),  # passes rung 1 at 2, fails rung 3 at 4
        6: ({2: 0.05, 4: 0.05, 6: 0.05, 8: 0.05, 9: 0.05}, hs.TrialState.COMPLETE),
    }
    for n, (reports, state) in sparse.items():
        trial = study.ask()
        assert trial.number == n
        ran, frozen = run(study, trial, reports.__getitem__, every=2)
        assert ran == list(range(1, max(reports) + 1))
        assert frozen.intermediate_values == reports
        assert frozen.state == state


# -- asynchronous Hyperband ------------------------------------------------------------------
def bracket_budgets(seed: int, n: int) -> list[int]:
    study = hs.create_study(
        scheduler=hs.AsyncHyperbandScheduler(max_budget=27), sampler="random", seed=seed
    )
    budgets = []
    for _ in range(n):
        trial = study.ask()  # nothing reports: every ask starts a new trial in a drawn bracket
        assert trial.budget is not None
        budgets.append(trial.budget)
    rungs = [1, 3, 9, 27]
    for t in study.trials:  # bracket b starts at rung b
        assert t.system_attrs["bracket"] == rungs.index(t.system_attrs["budget"])
    return budgets


def test_async_hyperband_draws_brackets_from_the_seed_with_hyperband_weights() -> None:
    budgets = bracket_budgets(seed=11, n=300)
    assert bracket_budgets(seed=11, n=300) == budgets
    assert bracket_budgets(seed=12, n=300) != budgets
    pooled = budgets + [b for seed in (12, 13, 14) for b in bracket_budgets(seed, n=300)]
    counts = collections.Counter(pooled)
    # Hyperband's bracket sizes for max_budget=27, eta=3 are 27, 12, 6, 4 trials (of 49)
    assert set(counts) == {1, 3, 9, 27}
    assert counts[1] > counts[3] > counts[9] > counts[27]
    for budget, weight in zip([1, 3, 9, 27], [27, 12, 6, 4], strict=True):
        assert counts[budget] / len(pooled) == pytest.approx(weight / 49, abs=0.035), budget


def test_async_hyperband_ranks_each_bracket_separately() -> None:
    sched = hs.ASHAScheduler(max_budget=9, brackets=2)
    study = hs.create_study(scheduler=sched, sampler="random", seed=3)
    trials = [study.ask() for _ in range(12)]
    by_bracket: dict[int, list[hs.Trial]] = {1: [], 3: []}
    for t in trials:
        assert t.budget is not None
        by_bracket[t.budget].append(t)
    assert len(by_bracket[3]) >= 3 and len(by_bracket[1]) >= 3  # seed 3 draws both
    for t in trials:  # bracket-1 trials (budget 3) are excellent, bracket-0 ones poor
        run(study, t, lambda step, t=t: (0.0 if t.budget == 3 else 1.0) + t.number / 100)
    # bracket-1 trials reported at step 1 too, but rung 1 of bracket 0 ranks only its own
    jobs = []
    while (trial := study.ask()).start_step > 0:
        jobs.append((trial.number, trial.start_step, trial.budget))
    n0, n1 = sorted(t.number for t in by_bracket[1]), sorted(t.number for t in by_bracket[3])
    expected = [(n, 1, 3) for n in n0[: len(n0) // 3]] + [(n, 3, 9) for n in n1[: len(n1) // 3]]
    assert jobs == expected


# -- argument errors -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_budget": 3, "min_budget": 5}, r"`max_budget` must be >= `min_budget`"),
        ({"max_budget": 0}, r"`max_budget` must be an int >= 1"),
        ({"max_budget": 2.5}, r"`max_budget` must be an int"),
        ({"max_budget": 9, "min_budget": 0}, r"`min_budget` must be an int >= 1"),
        ({"max_budget": 9, "eta": 1}, r"`eta` must be a number > 1"),
        ({"max_budget": 9, "eta": 0.5}, r"`eta` must be a number > 1"),
        ({"max_budget": 9, "eta": True}, r"`eta`"),
        ({"max_budget": 9, "mode": "halving"}, r"`mode` must be one of"),
        ({"max_budget": 27, "brackets": 5}, r"`brackets` must be <= the number of rungs \(4"),
        ({"max_budget": 27, "brackets": 0}, r"`brackets` must be an int >= 1"),
    ],
)
def test_asha_argument_errors_name_the_argument(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        hs.ASHAScheduler(**kwargs)  # type: ignore[arg-type]


def test_async_hyperband_argument_errors_name_the_argument() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="`eta`"):
        hs.AsyncHyperbandScheduler(max_budget=27, eta=1)
    with pytest.raises(hs.InvalidArgumentError, match="`mode`"):
        hs.AsyncHyperbandScheduler(max_budget=27, mode="x")


def test_a_trial_reporting_every_other_step_is_paused_at_its_rung() -> None:
    study = asha_study(min_budget=3)  # rungs 3, 9
    trial = study.ask()
    ran, frozen = run(study, trial, lambda step: 1.0 / step, every=2, at_budget=False)
    assert ran == [1, 2, 3] and list(frozen.intermediate_values) == [2]
    assert frozen.state == hs.TrialState.PAUSED

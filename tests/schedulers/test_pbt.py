"""Population-based training, driven by hand on known values and end to end.

Hand-driven studies report ``base[slot] + 1/step``, so the ranking at every ready point is
known in advance (Jaderberg et al. 2017, Sec. 3: a ready member in the bottom quantile copies a
member of the top quantile and perturbs its parameters; any other ready member trains on).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.schedulers._pbt import (
    GENERATION_KEY,
    ORIGIN_KEY,
    PARENT_KEY,
    SLOT_KEY,
    PBTScheduler,
    current_members,
    explore,
    population,
)
from hyperscout.trial import FIXED_PARAMS_KEY

SPACE: dict[str, hs.Distribution] = {
    "lr": hs.Float(1e-3, 1.0, log=True),
    "layers": hs.Int(1, 8),
    "dropout": hs.Float(0.0, 0.5, step=0.1),
    "act": hs.Categorical(["relu", "tanh", "gelu"]),
}


def pbt_study(direction: str = "minimize", storage: str | None = None, **kw: Any) -> hs.Study:
    kwargs: dict[str, Any] = {"population_size": 4, "interval": 2, **kw}
    sched = PBTScheduler(kwargs.pop("max_budget", 6), **kwargs)
    return hs.create_study(
        direction=direction, storage=storage, scheduler=sched, sampler="random", seed=0
    )


def slot_of(trial: hs.Trial) -> int:
    members = population(trial.study.trials)
    return next(slot for slot, ts in members.items() if any(t.number == trial.number for t in ts))


def run(
    study: hs.Study, trial: hs.Trial, base: Mapping[int, float], sign: float = 1.0
) -> hs.FrozenTrial:
    """Suggest SPACE, check the checkpoint is the state at ``start_step``, run the steps
    reporting ``sign * (base[slot] + 1/step)``, save ``{"trial", "step"}`` after each."""
    for name, dist in SPACE.items():
        trial.suggest(name, dist)
    state = trial.load_checkpoint()
    assert (state or {"step": 0})["step"] == trial.start_step
    value, slot = math.nan, slot_of(trial)
    for step in trial.steps():
        value = sign * (base[slot] + 1.0 / step)
        trial.report(step, value)
        trial.save_checkpoint({"trial": trial.number, "step": step})
    return study.tell(trial, value)


def by_slot(study: hs.Study) -> dict[int, list[hs.FrozenTrial]]:
    return population(study.trials)


# -- population ----------------------------------------------------------------------------------
def test_the_population_is_created_first_one_segment_each() -> None:
    study = pbt_study()
    base = {0: 0.5, 1: 0.2, 2: 0.9, 3: 0.4}
    for n in range(4):
        trial = study.ask()
        attrs = trial.freeze().system_attrs
        assert (trial.number, trial.start_step, trial.budget) == (n, 0, 2)
        assert (attrs[SLOT_KEY], attrs[GENERATION_KEY], attrs[PARENT_KEY]) == (n, 0, None)
        frozen = run(study, trial, base)
        assert frozen.state == hs.TrialState.PAUSED
        assert sorted(frozen.intermediate_values) == [1, 2]


@pytest.mark.parametrize(("direction", "sign"), [("minimize", 1.0), ("maximize", -1.0)])
def test_a_bottom_member_is_replaced_by_a_copy_of_a_top_member(direction: str, sign: float) -> None:
    study = pbt_study(direction, resample_probability=0.0)
    base = {0: 0.5, 1: 0.2, 2: 0.9, 3: 0.4}  # at every step: slot 1 best, slot 2 worst
    for _ in range(4):
        run(study, study.ask(), base, sign)
    # at step 2, trial 2 is the bottom quarter: a new trial in its slot, from trial 1's
    # checkpoint (saved at its last step) with trial 1's parameters perturbed
    clone = study.ask()
    attrs = clone.freeze().system_attrs
    assert (clone.number, clone.start_step, clone.budget) == (4, 2, 4)
    assert clone.load_checkpoint() == {"trial": 1, "step": 2}
    assert (attrs[SLOT_KEY], attrs[PARENT_KEY], attrs[GENERATION_KEY]) == (2, 1, 1)
    assert attrs[ORIGIN_KEY] == 2
    frozen = run(study, clone, base, sign)
    assert frozen.state == hs.TrialState.PAUSED
    assert sorted(frozen.intermediate_values) == [3, 4]
    donor = study.trials[1]
    for name, dist in SPACE.items():
        assert dist.contains(frozen.params[name]), (name, frozen.params[name])
    # perturbed, not resampled (resample_probability=0): x0.8 or x1.2, one step at least
    assert frozen.params["lr"] / donor.params["lr"] in (pytest.approx(0.8), pytest.approx(1.2))
    assert abs(frozen.params["layers"] - donor.params["layers"]) >= 1
    acts = SPACE["act"].choices  # type: ignore[union-attr]
    assert abs(acts.index(frozen.params["act"]) - acts.index(donor.params["act"])) <= 1
    # the others, the top member included, train on from their own checkpoints; trial 2 is
    # replaced: it is never resumed
    for n in (0, 1, 3):
        trial = study.ask()
        assert (trial.number, trial.start_step, trial.budget) == (n, 2, 4)
        run(study, trial, base, sign)
    # at step 4 slot 2 (the copy, still on slot 2's values) is the bottom again
    last = study.ask()
    attrs = last.freeze().system_attrs
    assert (last.number, last.start_step, last.budget) == (5, 4, 6)
    assert last.load_checkpoint() == {"trial": 1, "step": 4}
    assert (attrs[SLOT_KEY], attrs[PARENT_KEY], attrs[GENERATION_KEY]) == (2, 1, 2)
    assert run(study, last, base, sign).state == hs.TrialState.COMPLETE  # 6: the full budget
    assert study.trials[2].state == hs.TrialState.PAUSED
    assert study.trials[2].last_step == 2


def test_members_are_compared_at_the_same_step() -> None:
    study = pbt_study()
    base = {0: 0.5, 1: 0.2, 2: 0.6, 3: 0.4}
    trials = [study.ask() for _ in range(4)]
    for trial in trials[:3]:
        run(study, trial, base)
    # at step 2, slot 2 (1.1) is the bottom of the three; slot 3 has not reported yet
    clone = study.ask()
    assert (clone.number, clone.freeze().system_attrs[SLOT_KEY]) == (4, 2)
    run(study, clone, base)  # to step 4: 0.6 + 1/4 = 0.85, better than slots 0 and 3 at 2
    run(study, trials[3], base)
    # at step 2 slot 2 still counts with trial 2's 1.1 (not the copy's 0.85 at step 4, not
    # the donor's 0.7 at step 2): it is the bottom, and slot 0 (1.0) trains on
    nxt = study.ask()
    assert (nxt.number, nxt.start_step, nxt.budget) == (0, 2, 4)


def test_a_bottom_member_waits_for_a_running_top_member() -> None:
    study = pbt_study(population_size=2, interval=1, max_budget=3)
    base = {0: 0.1, 1: 0.9}
    first, second = study.ask(), study.ask()
    run(study, first, base)
    top = study.ask()  # alone at step 1: nothing to compare with, trial 0 trains on
    assert (top.number, top.start_step, top.budget) == (0, 1, 2)
    run(study, second, base)
    with pytest.raises(hs.TrialStateError):
        study.ask()  # WAIT: trial 1 is the bottom, trial 0's checkpoint is coming
    run(study, top, base)
    clone = study.ask()
    assert (clone.number, clone.start_step, clone.budget) == (2, 2, 3)
    assert clone.freeze().system_attrs[PARENT_KEY] == 0
    # trial 0 waits until its copy has its checkpoint (it reports once the copy is made)
    with pytest.raises(hs.TrialStateError):
        study.ask()
    run(study, clone, base)
    assert study.ask().number == 0


def test_a_bottom_member_trains_on_when_the_top_members_are_done() -> None:
    study = pbt_study(population_size=2, interval=1, max_budget=2)
    base = {0: 0.1, 1: 0.9}
    first, second = study.ask(), study.ask()
    run(study, first, base)
    top = study.ask()
    assert (top.number, top.budget) == (0, 2)
    assert run(study, top, base).state == hs.TrialState.COMPLETE
    run(study, second, base)
    last = study.ask()  # trial 0's checkpoint is gone: trial 1 goes on with its own
    assert (last.number, last.start_step, last.budget) == (1, 1, 2)
    run(study, last, base)
    with pytest.raises(hs.ScheduleFinished):
        study.ask()


def test_interval_at_least_max_budget_is_random_search() -> None:
    study = pbt_study(interval=6)
    for n in range(4):
        trial = study.ask()
        assert (trial.number, trial.budget) == (n, 6)
        assert run(study, trial, {0: 0.5, 1: 0.2, 2: 0.9, 3: 0.4}).state == hs.TrialState.COMPLETE
    with pytest.raises(hs.ScheduleFinished):
        study.ask()


# -- explore ---------------------------------------------------------------------------------
def test_explore_stays_in_bounds_on_the_grid_and_moves() -> None:
    rng = np.random.default_rng(0)
    params = {"lr": 0.9, "layers": 1, "dropout": 0.5, "act": "relu"}
    seen: dict[str, set[Any]] = {name: set() for name in params}
    for _ in range(200):
        out = explore(params, SPACE, rng, 0.0, (0.8, 1.2))
        for name, dist in SPACE.items():
            assert dist.contains(out[name]), (name, out[name])
            seen[name].add(out[name])
    assert sorted(seen["lr"]) == [pytest.approx(0.72), 1.0]  # 0.9 * 0.8; 0.9 * 1.2 clipped
    assert seen["layers"] == {1, 2}  # 1 * 0.8 clips to 1; 1 * 1.2 rounds to 1: one step up
    assert seen["dropout"] == {0.4, 0.5}
    assert seen["act"] == {"relu", "tanh"}  # kept, or its only neighbour


def test_explore_resamples_with_its_probability() -> None:
    rng = np.random.default_rng(1)
    dist = {"x": hs.Float(0.0, 10.0)}
    values = [explore({"x": 5.0}, dist, rng, 0.25, (0.5, 2.0))["x"] for _ in range(2000)]
    resampled = sum(v not in (2.5, 10.0) for v in values) / len(values)
    assert 0.2 < resampled < 0.3
    assert explore({"x": 5.0}, dist, np.random.default_rng(2), 0.25, (0.5, 2.0)) == explore(
        {"x": 5.0}, dist, np.random.default_rng(2), 0.25, (0.5, 2.0)
    )


def test_a_copy_only_fixes_the_parameters_its_donor_has() -> None:
    study = pbt_study(population_size=2, interval=1, max_budget=2)

    def objective(trial: hs.Trial) -> float:
        opt = trial.suggest_categorical("opt", ["sgd", "adam"])
        if opt == "sgd":
            trial.suggest_float("momentum", 0.0, 1.0)
        value = math.nan
        for step in trial.steps():
            value = float(trial.number == 0) + step  # trial 0 is the worst
            trial.report(step, value)
            trial.save_checkpoint(step)
        return value

    study.enqueue_trial({"opt": "sgd", "momentum": 0.5})
    study.enqueue_trial({"opt": "adam"})
    study.optimize(objective, n_trials=2)
    clones = [t for t in study.trials if t.system_attrs.get(PARENT_KEY) is not None]
    assert len(clones) == 1
    assert clones[0].system_attrs[PARENT_KEY] == 1  # the adam trial, without momentum
    # only opt is fixed: should it move to sgd, the sampler draws momentum
    assert set(clones[0].system_attrs[FIXED_PARAMS_KEY]) == {"opt"}


# -- reports ---------------------------------------------------------------------------------
def frozen(
    number: int,
    slot: int,
    generation: int,
    budget: int,
    parent: int | None = None,
    state: hs.TrialState = hs.TrialState.RUNNING,
    values: dict[int, float] | None = None,
) -> hs.FrozenTrial:
    attrs = {SLOT_KEY: slot, GENERATION_KEY: generation, PARENT_KEY: parent, "budget": budget}
    if parent is not None:
        attrs[ORIGIN_KEY] = budget - 3
    return hs.FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        system_attrs=attrs,
        intermediate_values=values or {},
    )


def test_a_trial_replaced_while_it_runs_is_stopped_at_its_next_report() -> None:
    sched = PBTScheduler(max_budget=9, population_size=2, interval=3)
    # trials 2 and 3 both replaced trial 0 in slot 0 (two workers at once): 2 wins
    trials = [frozen(0, 0, 0, 3), frozen(1, 1, 0, 3), frozen(2, 0, 1, 6, 1), frozen(3, 0, 1, 6, 1)]
    view = hs.StudyView(trials, [hs.StudyDirection.MINIMIZE])
    decide = sched.on_report
    assert decide(view, trials[0], 1, 0.5) == hs.Decision.STOP
    assert decide(view, trials[3], 4, 0.5) == hs.Decision.STOP
    assert decide(view, trials[2], 4, 0.5) == hs.Decision.CONTINUE
    assert decide(view, trials[2], 6, 0.5) == hs.Decision.PAUSE
    assert decide(view, trials[1], 3, 0.5) == hs.Decision.PAUSE
    other = hs.FrozenTrial(trial_id=4, number=4, state=hs.TrialState.RUNNING)
    assert decide(view, other, 3, 0.5) == hs.Decision.CONTINUE  # not a PBT trial


def test_two_first_trials_started_for_one_slot_take_two_slots() -> None:
    trials = [frozen(0, 0, 0, 3), frozen(1, 1, 0, 3), frozen(2, 1, 0, 3), frozen(3, 2, 0, 3)]
    trials.append(frozen(4, 1, 1, 6, 0))  # a copy made for trial 1's slot
    slots = population(trials)
    assert {slot: [t.number for t in ts] for slot, ts in slots.items()} == {
        0: [0],
        1: [1, 4],
        2: [2],
        3: [3],
    }
    assert [t.number for t in current_members(trials).values()] == [0, 4, 2, 3]


def test_a_copy_whose_donor_moved_on_before_it_reported_is_withdrawn() -> None:
    sched = PBTScheduler(max_budget=9, population_size=2, interval=3)
    donor = frozen(0, 0, 0, 3, state=hs.TrialState.PAUSED, values={3: 0.1})
    loser = frozen(1, 1, 0, 3, state=hs.TrialState.PAUSED, values={3: 0.9})
    copy = frozen(2, 1, 1, 6, parent=0, values={4: 0.2})  # made from donor's step 3
    minimize = [hs.StudyDirection.MINIMIZE]
    assert sched.on_report(hs.StudyView([donor, loser, copy], minimize), copy, 4, 0.2) == (
        hs.Decision.CONTINUE
    )
    # a worker that had not seen the copy resumed the donor: the checkpoint may be newer
    resumed = dataclasses.replace(donor, state=hs.TrialState.RUNNING)
    finished = dataclasses.replace(donor, state=hs.TrialState.COMPLETE, intermediate_values={9: 0})
    for moved in (resumed, finished):
        view = hs.StudyView([moved, loser, copy], minimize)
        assert sched.on_report(view, copy, 4, 0.2) == hs.Decision.STOP
    # stopped, the copy is withdrawn: the loser is its slot's member again, to be replaced
    stopped = dataclasses.replace(
        copy, state=hs.TrialState.PRUNED, system_attrs={**copy.system_attrs, "decision": "STOP"}
    )
    assert current_members([donor, loser, stopped])[1] is loser
    # a copy the objective pruned itself is not withdrawn: its slot ends there
    pruned = dataclasses.replace(copy, state=hs.TrialState.PRUNED)
    assert current_members([donor, loser, pruned])[1] is pruned


# -- end to end --------------------------------------------------------------------------------
class Trainer:
    """A fake model whose state is the number of steps trained; records runs whose checkpoint
    is not the state at ``start_step``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[int] = set()
        self.overlaps = 0
        self.mismatched: set[int] = set()

    def __call__(self, trial: hs.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        with self.lock:
            self.overlaps += trial.number in self.running
            self.running.add(trial.number)
        try:
            state = trial.load_checkpoint() or {"step": 0}
            if state["step"] != trial.start_step:
                with self.lock:
                    self.mismatched.add(trial.number)
            loss = math.nan
            for step in trial.steps():
                loss = (x - 0.3) ** 2 + 1.0 / step
                trial.report(step, loss)
                trial.save_checkpoint({"step": step})
            return loss
        finally:
            with self.lock:
                self.running.discard(trial.number)


def check_population(study: hs.Study, size: int, max_budget: int) -> None:
    trials = study.trials
    slots = population(trials)
    assert sorted(slots) == list(range(size))
    assert [ts[0].system_attrs[PARENT_KEY] for ts in slots.values()] == [None] * size
    assert len(trials) > size  # copies were made, beyond the n_trials new ones
    for slot, current in current_members(trials).items():
        assert current.state == hs.TrialState.COMPLETE, slot
        assert current.last_step == max_budget
    assert not any(t.state == hs.TrialState.RUNNING for t in trials)
    complete = [t.value for t in trials if t.state == hs.TrialState.COMPLETE]
    assert study.best_value == min(v for v in complete if v is not None)


def test_optimize_counts_the_population_not_the_copies() -> None:
    study = hs.create_study(
        scheduler=PBTScheduler(max_budget=9, population_size=4, interval=3),
        sampler="random",
        seed=1,
    )
    trainer = Trainer()
    study.optimize(trainer, n_trials=4)
    check_population(study, 4, 9)
    assert not trainer.mismatched


def drive(study: hs.Study, jobs: int = 1000) -> int:
    """ask / run / tell up to ``jobs`` times, as one sequential worker; returns the jobs run."""
    for done in range(jobs):
        try:
            trial = study.ask()
        except hs.ScheduleFinished:
            return done
        x = trial.suggest_float("x", 0.0, 1.0)
        loss = trial.load_checkpoint() or 1.0
        for step in trial.steps():
            loss = loss * (1 - x) + 0.1 * x * x
            trial.report(step, loss)
            trial.save_checkpoint(loss)
        study.tell(trial, loss)
    return jobs


def snapshot(study: hs.Study) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.state, t.params, t.values, t.intermediate_values, t.system_attrs)
        for t in study.trials
    ]


def test_a_restarted_study_makes_the_same_decisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"

    def make() -> PBTScheduler:
        return PBTScheduler(max_budget=8, population_size=4, interval=2)

    straight = hs.create_study(
        study_name="a", storage=url, scheduler=make(), sampler="random", seed=3
    )
    jobs = drive(straight)
    assert any(t.system_attrs[PARENT_KEY] is not None for t in straight.trials)
    first = hs.create_study(study_name="b", storage=url, scheduler=make(), sampler="random", seed=3)
    drive(first, jobs // 2)
    del first  # "the process dies"; a new one opens the study with a new scheduler object
    second = hs.load_study("b", url, scheduler=make(), sampler="random")
    assert drive(second) == jobs - jobs // 2
    assert snapshot(second) == snapshot(straight)


def test_threads_on_sqlite_finish_every_slot_with_nothing_running(tmp_path: Path) -> None:
    trainer = Trainer()
    study = hs.create_study(
        storage=f"sqlite:///{tmp_path / 'mt.db'}",
        scheduler=PBTScheduler(max_budget=8, population_size=4, interval=2),
        sampler="random",
        seed=4,
    )
    study.optimize(trainer, n_trials=4, n_jobs=2)
    assert trainer.overlaps == 0
    check_population(study, 4, 8)
    # two workers may make a copy for one member at once (the seam has no claim for a copy):
    # the later one may find its donor further on, and is stopped at its first report
    trials = study.trials
    assert all(trials[n].state == hs.TrialState.PRUNED for n in trainer.mismatched)


# -- quality ---------------------------------------------------------------------------------
NOISE = 0.01
STEPS = 30


def sgd(trial: hs.Trial) -> float:
    """Distance to the optimum of SGD on a noisy quadratic: a step shrinks it by ``1 - lr``
    and adds ``NOISE * lr**2``, so a large learning rate is best early, a small one late;
    a decaying schedule beats every constant one."""
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    dist = trial.load_checkpoint() or 1.0
    for step in trial.steps():
        dist = dist * (1 - lr) + NOISE * lr * lr
        trial.report(step, dist)
    trial.save_checkpoint(dist)  # once, at the pause: the disk is slow under load
    return dist


def best_constant_rate() -> float:
    """The best final distance any fixed learning rate reaches (fine grid)."""
    best = math.inf
    for lr in np.geomspace(1e-3, 1.0, 3001):
        dist = 1.0
        for _ in range(STEPS):
            dist = dist * (1 - lr) + NOISE * lr * lr
        best = min(best, dist)
    return best


def test_pbt_finds_a_schedule_that_beats_random_search_with_the_same_steps() -> None:
    ratios = []
    bound = best_constant_rate()  # 0.00267: random search cannot go below it
    for seed in range(3):
        pbt = hs.create_study(
            scheduler=PBTScheduler(max_budget=STEPS, population_size=8, interval=1),
            sampler="random",
            seed=seed,
        )
        pbt.optimize(sgd, n_trials=8)
        steps = sum(len(t.intermediate_values) for t in pbt.trials)
        fifo = hs.create_study(
            scheduler=hs.FIFOScheduler(max_budget=STEPS), sampler="random", seed=seed
        )
        fifo.optimize(sgd, n_trials=math.ceil(steps / STEPS))  # as many steps, or more
        assert pbt.best_value < 0.7 * bound, seed  # a schedule no fixed rate matches
        ratios.append(fifo.best_value / pbt.best_value)
    assert min(ratios) > 1.5, ratios
    assert statistics.median(ratios) > 2, ratios


# -- arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_budget": 0}, "`max_budget`"),
        ({"max_budget": 2.5}, "`max_budget`"),
        ({"population_size": 1}, "`population_size`"),
        ({"interval": 0}, "`interval`"),
        ({"interval": True}, "`interval`"),
        ({"quantile": 0}, "`quantile`"),
        ({"quantile": 0.6}, "`quantile`"),
        ({"quantile": "0.25"}, "`quantile`"),
        ({"resample_probability": 1.5}, "`resample_probability`"),
        ({"resample_probability": math.nan}, "`resample_probability`"),
        ({"perturb_factors": ()}, "`perturb_factors`"),
        ({"perturb_factors": (0.8, -1.2)}, "`perturb_factors`"),
        ({"perturb_factors": 1.2}, "`perturb_factors`"),
    ],
)
def test_argument_errors_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"max_budget": 10, **kwargs}
    make: Callable[..., Any] = PBTScheduler
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make(args.pop("max_budget"), **args)


def test_repr_shows_the_arguments() -> None:
    assert repr(PBTScheduler(10, interval=2)) == (
        "PBTScheduler(max_budget=10, population_size=8, interval=2, quantile=0.25, "
        "resample_probability=0.25, perturb_factors=(0.8, 1.2))"
    )

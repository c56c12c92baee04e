"""DEHB (Awad, Mallik & Hutter, IJCAI 2021) driven by hand and end to end.

With ``max_budget=27`` and ``eta=3`` the rungs are 1, 3, 9, 27 and Hyperband's brackets make
27/9/3/1, 12/4/1, 6/2 and 4 runs. The first Hyperband iteration (brackets 0-3) starts
27 + 12 + 6 + 4 = 49 new trials; afterwards every run is a DE trial vector.
"""

from __future__ import annotations

import itertools
import math
import pickle
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.schedulers._dehb import (
    RUNS_KEY,
    DEHBScheduler,
    binomial_crossover,
    rand1,
    repair,
)

MAX = 27
FIRST_ITERATION = 27 + 12 + 6 + 4  # new trials of brackets 0-3
Run = tuple[int, int, int, int]  # bracket, rung, index, slot


def runs_of(t: hs.FrozenTrial) -> list[Run]:
    return [(c, r, j, s) for c, r, j, s in t.system_attrs[RUNS_KEY]]


class Recorder:
    """Float parameters in [0, 1] (so a parameter is its unit-cube coordinate), a loss reported
    at every step, and the order in which runs started: (trial number, start step, budget)."""

    def __init__(self, names: Sequence[str] = ("x", "y"), sign: float = 1.0) -> None:
        self.names = tuple(names)
        self.sign = sign
        self.order: list[tuple[int, int, int | None]] = []

    def loss(self, xs: Sequence[float], step: int) -> float:
        return sum((x - 0.3) ** 2 for x in xs) + 0.5 / step

    def __call__(self, trial: hs.Trial) -> float:
        self.order.append((trial.number, trial.start_step, trial.budget))
        xs = [trial.suggest_float(n, 0.0, 1.0) for n in self.names]
        value = math.nan
        for step in trial.steps():
            value = self.sign * self.loss(xs, step)
            trial.report(step, value)
        return value


def point(t: hs.FrozenTrial, names: Sequence[str]) -> np.ndarray:
    return np.array([t.params[n] for n in names])


def test_hyperband_brackets_and_subpopulation_sizes() -> None:
    sched = DEHBScheduler(max_budget=MAX)
    assert sched.rungs == [1, 3, 9, 27]
    assert sched.brackets == [(1, [27, 9, 3, 1]), (3, [12, 4, 1]), (9, [6, 2]), (27, [4])]
    assert sched.population_sizes == {1: 27, 3: 12, 9: 6, 27: 4}


def test_first_bracket_is_uniform_random_in_the_cube_whatever_the_sampler() -> None:
    space = {
        "x": hs.Float(-5.0, 5.0),
        "lr": hs.Float(1e-5, 1.0, log=True),
        "act": hs.Categorical(["relu", "tanh", "gelu"]),
    }

    def first_bracket(sampler: str) -> list[hs.Trial]:
        sched = DEHBScheduler(max_budget=MAX, space=space)
        study = hs.create_study(scheduler=sched, sampler=sampler, seed=5)
        return [study.ask(space) for _ in range(27)]

    trials = first_bracket("random")
    assert [t.params for t in first_bracket("qmc")] == [t.params for t in trials]
    assert [(t.budget, t.start_step) for t in trials] == [(1, 0)] * 27
    xs = sorted(t.params["x"] for t in trials)
    assert len(set(xs)) == 27
    assert all(sum(lo <= x < lo + 10 / 3 for x in xs) >= 4 for lo in (-5, -5 + 10 / 3, 5 - 10 / 3))
    exponents = [math.log10(t.params["lr"]) for t in trials]
    assert min(exponents) < -3.5 and max(exponents) > -1.5  # log-uniform, not crowded near 1
    assert {t.params["act"] for t in trials} == {"relu", "tanh", "gelu"}


def test_without_a_space_only_trials_before_the_first_report_are_the_samplers() -> None:
    def params(scheduler: Any) -> list[dict[str, Any]]:
        study = hs.create_study(scheduler=scheduler, sampler="random", seed=5)
        study.optimize(Recorder(), n_trials=27)
        return [t.params for t in study.trials]

    dehb, sampled = params(DEHBScheduler(max_budget=MAX)), params(hs.FIFOScheduler(max_budget=1))
    assert dehb[0] == sampled[0]  # trial 0 ran before the space was known: the sampler drew it
    assert all(d != s for d, s in zip(dehb[1:], sampled[1:], strict=True))  # then DEHB did


def test_rand1_binomial_crossover_and_repair() -> None:
    pool = np.random.default_rng(0).random((5, 4))
    mutant = rand1(pool, 0.5, np.random.default_rng(1))
    triples = itertools.permutations(range(5), 3)
    assert any(np.array_equal(mutant, pool[a] + 0.5 * (pool[b] - pool[c])) for a, b, c in triples)

    target, other = np.zeros(6), np.ones(6)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        assert binomial_crossover(target, other, 0.0, rng).sum() == 1  # j_rand only
        assert binomial_crossover(target, other, 1.0, rng).sum() == 6
    share = binomial_crossover(np.zeros(2000), np.ones(2000), 0.3, np.random.default_rng(2))
    assert 0.27 < share.mean() < 0.33

    u = np.array([-0.2, 0.4, 1.3, 1.0, 0.0])
    fixed = repair(u, np.random.default_rng(3))
    assert np.all((fixed >= 0) & (fixed <= 1))
    assert fixed[[1, 3, 4]].tolist() == [0.4, 1.0, 0.0] and fixed[0] != -0.2 and fixed[2] != 1.3


def test_trial_vectors_stay_inside_the_space_and_are_new_points() -> None:
    space = {
        "a": hs.Float(-5.0, 5.0),
        "lr": hs.Float(1e-4, 1.0, log=True),
        "n": hs.Int(1, 64, log=True),
        "act": hs.Categorical(["relu", "tanh", "gelu"]),
    }

    def objective(trial: hs.Trial) -> float:
        p = {name: trial.suggest(name, d) for name, d in space.items()}
        value = math.nan
        for step in trial.steps():
            value = (p["a"] - 1) ** 2 + abs(math.log10(p["lr"]) + 2) + p["n"] / 64 + 1 / step
            trial.report(step, value)
        return value

    study = hs.create_study(scheduler=DEHBScheduler(max_budget=MAX), sampler="random", seed=0)
    study.optimize(objective, n_trials=FIRST_ITERATION + 30)
    assert all(space[k].contains(v) for t in study.trials for k, v in t.params.items())
    assert {t.params["act"] for t in study.trials} == {"relu", "tanh", "gelu"}

    # continuous coordinates: a trial vector differs from its target (and any earlier point) in
    # the coordinate it takes from the mutant at least
    names = ("x", "y", "z")
    study = hs.create_study(scheduler=DEHBScheduler(max_budget=MAX), sampler="random", seed=0)
    study.optimize(Recorder(names), n_trials=FIRST_ITERATION + 30)
    trials = study.trials
    evolved = [t for t in trials if runs_of(t)[0][:2] != (0, 0)]  # after bracket 0's first rung
    assert len(evolved) == FIRST_ITERATION + 30 - 27
    for t in evolved:
        assert all(0.0 <= v <= 1.0 for v in t.params.values())
        assert all(t.params != e.params for e in trials[: t.number]), t.number


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_selection_keeps_the_better_of_target_and_trial_vector(direction: str) -> None:
    # CR = 0: a trial vector takes one coordinate from the mutant and the others from its
    # target, which is therefore the earlier point sharing two of its three coordinates
    names = ("x", "y", "z")
    rec = Recorder(names, sign=1.0 if direction == "minimize" else -1.0)
    sched = DEHBScheduler(max_budget=MAX, crossover_prob=0.0)
    study = hs.create_study(direction=direction, scheduler=sched, sampler="random", seed=2)
    study.optimize(rec, n_trials=FIRST_ITERATION + 40)
    trials = study.trials
    sign = 1.0 if direction == "minimize" else -1.0
    at_slot: dict[tuple[int, int], list[tuple[float, int]]] = {}  # evaluated so far: (value, n)
    checked = kept = replaced = 0
    for number, start, budget in rec.order:  # runs in the order they started
        t = trials[number]
        c, r, _, slot = next(run for run in runs_of(t) if sched.rungs[run[1]] == budget)
        earlier = at_slot.setdefault((r, slot), [])
        if start == 0 and c >= 1 and earlier:  # a trial vector aimed at an occupied slot
            best = min(earlier, key=lambda vn: (sign * vn[0], -vn[1]))[1]
            shared = point(t, names) == point(trials[best], names)
            assert shared.sum() == 2, (number, best)
            checked += 1
        earlier.append((t.intermediate_values[budget], number))
        if len(earlier) > 1:
            newest_wins = min(earlier, key=lambda vn: (sign * vn[0], -vn[1]))[1] == number
            replaced, kept = replaced + newest_wins, kept + (not newest_wins)
    assert checked >= 40 and kept >= 5 and replaced >= 5


def test_the_parent_pool_is_the_top_of_the_budget_below() -> None:
    # CR = 1: the trial vector is the mutant x_r1 + F (x_r2 - x_r3). Bracket 4 is the first
    # bracket of the second iteration; its 9 runs at budget 3 draw from the best 9 members of
    # budget 1's subpopulation (27 slots), nothing else.
    names = ("x", "y")
    rec = Recorder(names)
    sched = DEHBScheduler(max_budget=MAX, crossover_prob=1.0, mutation_factor=0.5)
    study = hs.create_study(scheduler=sched, sampler="random", seed=4)
    study.optimize(rec, n_trials=FIRST_ITERATION + 27 + 9)
    trials = study.trials
    members: dict[int, tuple[float, int]] = {}  # budget 1's slot -> (value, trial): the best
    for t in trials:
        for _, r, _, slot in runs_of(t):
            if r == 0:
                candidate = (t.intermediate_values[1], t.number)
                members[slot] = min(members.get(slot, candidate), candidate)
    assert len(members) == 27
    top = [point(trials[n], names) for _, n in sorted(members.values())[:9]]
    rung1 = [t for t in trials if runs_of(t)[0][:2] == (4, 1)]
    assert len(rung1) == 9
    for t in rung1:
        u = point(t, names)
        assert any(
            np.array_equal(u, a + 0.5 * (b - c)) for a, b, c in itertools.permutations(top, 3)
        ), t.number


def test_a_free_worker_never_waits_while_new_trials_may_start() -> None:
    sched = DEHBScheduler(max_budget=9)  # brackets: 9/3/1 at 1/3/9, 5/1 at 3/9, 3 at 9
    study = hs.create_study(scheduler=sched, sampler="random", seed=0)
    trials = [study.ask() for _ in range(40)]  # nobody reports: every rung keeps running
    assert [t.number for t in trials] == list(range(40))
    cycle = [1] * 9 + [3] * 5 + [9] * 3
    assert [t.budget for t in trials] == (cycle * 3)[:40]
    view = hs.StudyView(study.trials, study.directions, study.seed)
    assert isinstance(sched.next_job(view, True), hs.Job)
    assert sched.next_job(view, False) is hs.WAIT  # only a running trial can unlock a promotion
    for t in trials:
        for step in t.steps():
            t.report(step, float(t.number) + 1 / step)
        study.tell(t, float(t.number))
    view = hs.StudyView(study.trials, study.directions, study.seed)
    job = sched.next_job(view, False)
    assert isinstance(job, hs.Job) and (job.resume, job.budget) == (0, 3)  # bracket 0's best


def test_n_trials_counts_new_configurations_promotions_resume_paused_trials() -> None:
    rec = Recorder()
    study = hs.create_study(scheduler=DEHBScheduler(max_budget=MAX), sampler="random", seed=1)
    study.optimize(rec, n_trials=27)
    trials = study.trials
    assert len(trials) == 27
    # Hyperband's first bracket, promotions resumed from the last step: 27, 9, 3, 1 runs
    assert [(s, b) for _, s, b in rec.order] == [(0, 1)] * 27 + [(1, 3)] * 9 + [(3, 9)] * 3 + [
        (9, 27)
    ]
    by_value = sorted(trials, key=lambda t: t.intermediate_values[1])
    assert {n for n, s, _ in rec.order if s == 1} == {t.number for t in by_value[:9]}
    complete = study.get_trials([hs.TrialState.COMPLETE])
    assert len(complete) == 1 and study.best_trial.number == complete[0].number
    assert max(complete[0].intermediate_values) == MAX
    assert all(t.state == hs.TrialState.PAUSED for t in trials if t not in complete)
    # the next call starts bracket 1: 12 trial vectors at budget 3, then its promotions
    study.optimize(rec, n_trials=12)
    assert len(study.trials) == 39
    later = rec.order[40:]
    assert [(s, b) for _, s, b in later] == [(0, 3)] * 12 + [(3, 9)] * 4 + [(9, 27)]


def drive(study: hs.Study, jobs: int) -> None:
    """ask / run / tell ``jobs`` times (new trials always allowed), as one sequential worker."""
    rec = Recorder()
    for _ in range(jobs):
        trial = study.ask()
        study.tell(trial, rec(trial))


def snapshot(study: hs.Study) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.state, t.params, t.intermediate_values, t.system_attrs) for t in study.trials
    ]


def test_same_seed_same_trials_and_a_reloaded_study_goes_on_identically(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dehb.db'}"

    def make() -> DEHBScheduler:
        return DEHBScheduler(max_budget=9)

    straight = hs.create_study(study_name="a", storage=url, scheduler=make(), seed=3)
    drive(straight, 45)
    first = hs.create_study(study_name="b", storage=url, scheduler=make(), seed=3)
    drive(first, 20)
    del first  # a new process opens the study with a new scheduler object
    second = hs.load_study("b", url, scheduler=pickle.loads(pickle.dumps(make())))
    drive(second, 25)
    assert snapshot(second) == snapshot(straight)
    assert any(len(runs_of(t)) > 1 for t in second.trials)  # promotions happened
    other = hs.create_study(scheduler=make(), seed=4)
    drive(other, 45)
    assert [t.params for t in other.trials] != [t.params for t in straight.trials]


def test_an_enqueued_configuration_joins_the_first_bracket() -> None:
    study = hs.create_study(scheduler=DEHBScheduler(max_budget=MAX), sampler="random", seed=0)
    study.enqueue_trial({"x": 0.123, "y": 0.456})
    study.optimize(Recorder(), n_trials=27)
    first = study.trials[0]
    assert first.params == {"x": 0.123, "y": 0.456}
    assert runs_of(first)[0][:2] == (0, 0)


A6 = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
P6 = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
ALPHA6 = np.array([1.0, 1.2, 3.0, 3.2])


class Hartmann6:
    """Hartmann-6 (minimum -3.32) seen through a learning curve: at step ``s`` the loss is
    ``f(x) + 1/s`` plus a configuration-dependent error ``0.5 sin(50 sum x) / sqrt(s)``, so low
    budgets rank configurations roughly, high budgets well. Counts the steps run."""

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self, trial: hs.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)])
        f = -float(ALPHA6 @ np.exp(-np.sum(A6 * (x - P6) ** 2, axis=1)))
        noise = 0.5 * math.sin(50 * x.sum())
        loss = math.nan
        for step in trial.steps():
            self.steps += 1
            loss = f + noise / math.sqrt(step) + 1.0 / step
            trial.report(step, loss)
        return loss


def best_at_max(study: hs.Study) -> float:
    return min(t.value for t in study.get_trials([hs.TrialState.COMPLETE]) if t.value is not None)


def test_beats_random_search_given_the_same_number_of_steps() -> None:
    dehb, rs = [], []
    for seed in range(5):
        objective = Hartmann6()
        study = hs.create_study(
            scheduler=DEHBScheduler(max_budget=MAX), sampler="random", seed=seed
        )
        study.optimize(objective, n_trials=400)
        dehb.append(best_at_max(study))
        same_cost = objective.steps // MAX  # full-budget random trials for the same steps
        baseline = hs.create_study(
            scheduler=hs.FIFOScheduler(max_budget=MAX), sampler="random", seed=seed
        )
        baseline.optimize(Hartmann6(), n_trials=same_cost)
        rs.append(best_at_max(baseline))
    # measured: DEHB median -2.62, random search -1.46 (~2,480 steps each)
    assert statistics.median(dehb) < statistics.median(rs) - 0.5
    assert sum(d < r for d, r in zip(dehb, rs, strict=True)) >= 4


def test_foreign_trials_are_left_alone() -> None:
    sched = DEHBScheduler(max_budget=MAX)
    study = hs.create_study(seed=0)
    trial = study.ask()
    frozen = trial.freeze()
    view = hs.StudyView([frozen], study.directions, study.seed)
    assert sched.on_report(view, frozen, 100, 1.0) == hs.Decision.CONTINUE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_budget": 9, "min_budget": 9}, "must be > `min_budget`"),
        ({"max_budget": 9, "eta": 1}, "`eta` must be a number > 1"),
        ({"max_budget": 9, "mutation_factor": 0.0}, r"`mutation_factor` must be a number in \(0"),
        ({"max_budget": 9, "mutation_factor": True}, "`mutation_factor`"),
        ({"max_budget": 9, "crossover_prob": 1.5}, r"`crossover_prob` must be a number in \[0"),
        ({"max_budget": 9, "crossover_prob": "0.5"}, "`crossover_prob`"),
        ({"max_budget": 9, "space": {"x": (0, 1)}}, r"`space\['x'\]` must be hs.Float"),
    ],
)
def test_argument_errors_say_what_to_do(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(
        hs.InvalidArgumentError if "space" not in kwargs else hs.InvalidTypeError, match=message
    ):
        DEHBScheduler(**kwargs)

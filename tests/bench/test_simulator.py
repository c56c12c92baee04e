"""The simulated-time backend: event order, timing, pause/resume, stops, determinism, curves."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench.mf_agents import RandomAgent
from hyperscout.bench.simulator import (
    Agent,
    Benchmark,
    Job,
    SyntheticBenchmark,
    simulate,
)
from hyperscout.errors import InvalidArgumentError

# Three configurations, 3 steps each: cumulative seconds per step, and values.
TIMES = {"a": [1.0, 2.0, 3.0], "b": [2.0, 4.0, 6.0], "c": [0.5, 1.0, 1.5]}
VALUES = {"a": [0.9, 0.5, 0.3], "b": [0.8, 0.6, 0.4], "c": [0.7, 0.2, 0.1]}


class Table:
    """A tabulated benchmark: the configuration names its row."""

    min_budget = 1
    max_budget = 3
    space: Mapping[str, hs.Distribution] = {"row": hs.Categorical(("a", "b", "c"))}

    def curve(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        row = config["row"]
        return np.array(VALUES[row]), np.array(TIMES[row])


class Scripted:
    """Hands out a fixed list of jobs; stops the (job_id, step) pairs in ``stop_at``."""

    def __init__(self, jobs: list[Job], stop_at: frozenset[tuple[Hashable, int]] = frozenset()):
        self.jobs = list(jobs)
        self.stop_at = stop_at
        self.reports: list[tuple[Hashable, int, float]] = []
        self.finished: list[tuple[Hashable, float]] = []

    def ask(self) -> Job | None:
        return self.jobs.pop(0) if self.jobs else None

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        self.reports.append((job_id, step, value))
        return (job_id, step) not in self.stop_at

    def finish(self, job_id: Hashable, value: float) -> None:
        self.finished.append((job_id, value))


def job(row: str, budget: int = 3, start_step: int = 0) -> Job:
    return Job(row, {"row": row}, budget=budget, start_step=start_step)


def test_protocols_are_met() -> None:
    assert isinstance(Table(), Benchmark)
    assert isinstance(SyntheticBenchmark(), Benchmark)
    assert isinstance(Scripted([]), Agent)


def test_two_workers_exact_event_times_and_tie_order() -> None:
    agent = Scripted([job("a"), job("b", budget=2), job("c")])
    res = simulate(Table(), agent, n_workers=2, max_jobs=10)
    # a and b start at 0; a ends at 3 and its worker takes c (3.5, 4.0, 4.5). At t=2 and t=4
    # two steps tie: the one scheduled first (b's step 1, b's step 2) is reported first.
    expected = [
        (1.0, "a", 1), (2.0, "b", 1), (2.0, "a", 2), (3.0, "a", 3),
        (3.5, "c", 1), (4.0, "b", 2), (4.0, "c", 2), (4.5, "c", 3),
    ]  # fmt: skip
    got = list(zip(res.times.tolist(), res.job_ids, res.steps.tolist(), strict=True))
    assert got == expected
    assert [v for _, _, v in agent.reports] == res.values.tolist()
    assert agent.finished == [("a", 0.3), ("b", 0.6), ("c", 0.1)]
    assert res.sim_time == 4.5
    assert res.stop_reason == "agent"
    assert [(t, j, w) for t, j, _, _, w in res.starts] == [
        (0.0, "a", 0),
        (0.0, "b", 1),
        (3.0, "c", 0),
    ]


def test_stopped_job_is_not_finished_and_frees_its_worker() -> None:
    agent = Scripted([job("a"), job("c")], stop_at=frozenset({("a", 1), ("c", 3)}))
    res = simulate(Table(), agent, n_workers=1, max_jobs=10)
    assert list(zip(res.times.tolist(), res.job_ids, strict=True)) == [
        (1.0, "a"), (1.5, "c"), (2.0, "c"), (2.5, "c"),
    ]  # fmt: skip
    assert agent.finished == []  # c said stop at its budget: no finish


def test_resume_continues_from_start_step_with_overhead() -> None:
    agent = Scripted([job("b"), job("a"), job("b", start_step=1)], stop_at=frozenset({("b", 1)}))
    res = simulate(Table(), agent, n_workers=1, max_jobs=10, resume_overhead=0.25)
    # b step 1 at 2; a runs 2..5; b resumes at 5, pays 0.25, then steps 2 and 3 cost 2 s each.
    events = zip(res.times.tolist(), res.job_ids, res.steps.tolist(), strict=True)
    b_events = [(t, s) for t, j, s in events if j == "b"]
    assert b_events == [(2.0, 1), (7.25, 2), (9.25, 3)]
    assert agent.finished[-1] == ("b", 0.4)
    assert res.n_jobs == 3 and res.n_trials == 2


def test_max_time_drops_later_reports() -> None:
    bench = SyntheticBenchmark()
    res = simulate(bench, RandomAgent(bench.space, bench.max_budget, seed=0), 3, max_time=100.0)
    assert res.stop_reason == "max_time"
    assert res.sim_time == 100.0
    assert res.times.max() <= 100.0
    assert np.all(np.diff(res.times) >= 0)


def test_max_steps_and_max_jobs() -> None:
    bench = SyntheticBenchmark()
    res = simulate(bench, RandomAgent(bench.space, bench.max_budget), 4, max_steps=50)
    assert (res.n_steps, res.stop_reason) == (50, "max_steps")
    res = simulate(bench, RandomAgent(bench.space, bench.max_budget), 4, max_jobs=5)
    assert (res.n_jobs, res.stop_reason) == (5, "max_jobs")
    assert res.n_steps == 5 * bench.max_budget  # the jobs asked for still run to the end


def test_same_seed_same_run_other_seed_other_run() -> None:
    bench = SyntheticBenchmark(d=3)

    def run(seed: int) -> tuple[list[float], list[Hashable], list[float]]:
        agent = RandomAgent(bench.space, bench.max_budget, seed=seed)
        res = simulate(bench, agent, n_workers=4, max_time=300.0)
        return res.times.tolist(), res.job_ids, res.values.tolist()

    assert run(7) == run(7)
    assert run(7)[2] != run(8)[2]


def test_anytime_curves_are_monotone_and_consistent() -> None:
    bench = SyntheticBenchmark(max_budget=9)
    agent = Scripted(
        [Job(i, {"x0": u, "x1": 1 - u}, budget=b) for i, (u, b) in enumerate(
            [(0.9, 9), (0.3, 3), (0.5, 9), (0.31, 1), (0.2, 9)]
        )]
    )  # fmt: skip
    res = simulate(bench, agent, n_workers=2, max_jobs=10)
    grid = np.linspace(0, res.sim_time, 50)
    for fidelity in ("any", "max"):
        t, v = res.anytime(fidelity)
        assert np.all(np.diff(v) < 0) and np.all(np.diff(t) >= 0)
        best = res.best_at(grid, fidelity)
        assert np.all(best[1:] <= best[:-1])
    assert res.best_at([-1.0])[0] == np.inf
    assert res.best_value == res.values.min()
    assert res.best_final_value == res.values[res.steps == 9].min()
    assert res.best_value <= res.best_final_value
    with pytest.raises(InvalidArgumentError, match="fidelity"):
        res.anytime("low")  # type: ignore[arg-type]


def test_costs_are_measured() -> None:
    bench = SyntheticBenchmark()
    res = simulate(bench, RandomAgent(bench.space, bench.max_budget), 16, max_steps=2000)
    assert res.wall_time >= res.agent_time + res.lookup_time
    assert 0 < res.overhead_per_step < 1e-3  # well under a millisecond per step
    assert res.agent_time_per_trial > 0


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (job("a", budget=4), "budget"),
        (job("a", budget=2, start_step=2), "start_step"),
        ({"row": "a"}, "Job or None"),
    ],
)
def test_invalid_jobs_are_rejected(bad: Any, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        simulate(Table(), Scripted([bad]), n_workers=1, max_jobs=3)


def test_running_job_id_cannot_be_asked_twice() -> None:
    with pytest.raises(InvalidArgumentError, match="running already"):
        simulate(Table(), Scripted([job("a"), job("a")]), n_workers=2, max_jobs=3)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"max_time": 0.0}, {"max_steps": 0}, {"max_jobs": 1, "n_workers": 0},
     {"max_jobs": 1, "resume_overhead": -1.0}],
)  # fmt: skip
def test_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        simulate(Table(), Scripted([]), **kwargs)


@pytest.mark.parametrize(
    ("resumable", "expected"),
    [
        # b pays 0.25 to load the checkpoint at step 1, then 2 s per step
        (True, [(2.0, 1), (6.25, 2), (8.25, 3)]),
        # b retrains from scratch: step k at resume time 4 + times[k - 1], no checkpoint to load
        (False, [(2.0, 1), (8.0, 2), (10.0, 3)]),
    ],
)
def test_a_non_resumable_benchmark_charges_the_retraining(
    resumable: bool, expected: list[tuple[float, int]]
) -> None:
    bench = SyntheticBenchmark(max_budget=3, resumable=resumable)
    slow, fast = {"x0": 0.5, "x1": 0.0}, {"x0": 0.0, "x1": 0.0}  # 2 s and 1 s per step
    np.testing.assert_array_equal(bench.curve(slow)[1], [2.0, 4.0, 6.0])
    jobs = [Job("b", slow, budget=3), Job("f", fast, budget=2), Job("b", slow, 3, start_step=1)]
    agent = Scripted(jobs, stop_at=frozenset({("b", 1)}))
    res = simulate(bench, agent, n_workers=1, max_jobs=10, resume_overhead=0.25)
    # b pauses after step 1 at t=2; f runs 2..4; b resumes at 4 and runs steps 2 and 3
    events = zip(res.times.tolist(), res.job_ids, res.steps.tolist(), strict=True)
    assert [(t, k) for t, j, k in events if j == "b"] == expected
    assert [s[0] for s in res.starts] == [0.0, 2.0, 4.0]
    assert agent.finished[-1] == ("b", float(bench.curve(slow)[0][2]))


def test_new_jobs_cost_the_same_resumable_or_not() -> None:
    def run(resumable: bool) -> tuple[list[float], list[Hashable], list[float]]:
        bench = SyntheticBenchmark(d=3, resumable=resumable)
        res = simulate(bench, RandomAgent(bench.space, bench.max_budget, seed=3), 4, max_time=200.0)
        return res.times.tolist(), res.job_ids, res.values.tolist()

    assert isinstance(SyntheticBenchmark(resumable=False), Benchmark)
    assert SyntheticBenchmark().resumable and not hasattr(Table(), "resumable")
    assert run(True) == run(False)

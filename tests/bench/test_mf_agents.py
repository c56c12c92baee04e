"""Multi-fidelity agents on the simulator: random search everywhere, peers where installed."""

from __future__ import annotations

import importlib.util
from collections import Counter

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench import mf_agents
from hyperscout.bench.mf_agents import (
    AGENTS,
    RandomAgent,
    available_agents,
    make_agent,
    register_agent,
    sample_config,
)
from hyperscout.bench.simulator import SimulationResult, SyntheticBenchmark, simulate
from hyperscout.errors import InvalidArgumentError, MissingDependencyError

# DEHB 0.1.2 calls ConfigSpace 1.x APIs that warn on every ask: the peer's noise, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:dehb")

PEER_PACKAGES = {
    "synetune:asha": "syne_tune",
    "synetune:hyperband": "syne_tune",
    "synetune:bohb": "syne_tune",
    "dehb": "dehb",
    "optuna:tpe-hyperband": "optuna",
}


def test_sample_config_stays_in_the_space() -> None:
    space = {
        "lr": hs.Float(1e-4, 1e-1, log=True),
        "units": hs.Int(64, 1024, log=True),
        "act": hs.Categorical(("relu", "tanh")),
    }
    rng = np.random.default_rng(0)
    for _ in range(200):
        config = sample_config(space, rng)
        assert all(space[k].contains(v) for k, v in config.items())
        assert isinstance(config["units"], int)


def test_random_agent_runs_every_trial_to_max_budget() -> None:
    bench = SyntheticBenchmark(max_budget=9)
    agent = RandomAgent(bench.space, bench.max_budget, seed=3)
    res = simulate(bench, agent, n_workers=4, max_jobs=20)
    per_trial = Counter(res.job_ids)
    assert len(per_trial) == 20 and set(per_trial.values()) == {9}
    assert sorted(agent.results) == sorted(per_trial)
    finals = {j: v for j, s, v in zip(res.job_ids, res.steps, res.values, strict=True) if s == 9}
    assert agent.results == finals
    assert res.best_final_value == min(agent.results.values())


def test_registry_and_errors() -> None:
    assert "random" in available_agents()
    assert set(PEER_PACKAGES) <= set(AGENTS)
    with pytest.raises(InvalidArgumentError, match="unknown agent"):
        make_agent("nope", SyntheticBenchmark())
    register_agent("test:random", AGENTS["random"])
    try:
        assert isinstance(make_agent("test:random", SyntheticBenchmark()), RandomAgent)
    finally:
        del AGENTS["test:random"]


@pytest.mark.parametrize("name", sorted(PEER_PACKAGES))
def test_missing_peer_names_the_setup_script(name: str) -> None:
    if importlib.util.find_spec(PEER_PACKAGES[name]) is not None:
        pytest.skip(f"{PEER_PACKAGES[name]} is installed")
    with pytest.raises(MissingDependencyError, match=r"setup_multifidelity\.sh"):
        make_agent(name, SyntheticBenchmark())


def _run(name: str, seed: int, max_time: float) -> SimulationResult:
    bench = SyntheticBenchmark(max_budget=27)
    return simulate(bench, make_agent(name, bench, seed, 4), n_workers=4, max_time=max_time)


@pytest.mark.parametrize("name", sorted(PEER_PACKAGES))
def test_peer_runs_reproducibly_on_the_simulator(name: str) -> None:
    pytest.importorskip(PEER_PACKAGES[name])
    max_time = 600.0 if name == "synetune:bohb" else 1500.0
    res = _run(name, seed=0, max_time=max_time)
    again = _run(name, seed=0, max_time=max_time)
    assert res.job_ids == again.job_ids and np.array_equal(res.values, again.values)
    assert res.n_trials > 4 and np.isfinite(res.best_value)
    assert res.steps.max() <= 27
    # a multi-fidelity method stops or shortens some trials
    per_trial = Counter(res.job_ids)
    finished_early = sum(1 for n in per_trial.values() if n < 27)
    assert finished_early > len(per_trial) // 3
    # and beats nothing-at-all: better than the mean of a random configuration's final value
    assert res.best_value < 0.5


def test_dehb_runs_its_fidelity_ladder() -> None:
    pytest.importorskip("dehb")
    res = _run("dehb", seed=1, max_time=1500.0)
    assert all(s0 == 0 for _, _, s0, _, _ in res.starts)  # every job from scratch
    assert {b for _, _, _, b, _ in res.starts} <= {1, 3, 9, 27}  # 27 / 3^k for eta = 3


def test_synetune_asha_stops_at_rungs() -> None:
    pytest.importorskip("syne_tune")
    bench = SyntheticBenchmark(max_budget=27)
    agent = make_agent("synetune:asha", bench, seed=2)
    res = simulate(bench, agent, n_workers=4, max_jobs=60)  # every job runs until it stops
    last = dict(zip(res.job_ids, res.steps.tolist(), strict=True))  # the last step of each trial
    assert len(last) == 60
    assert set(last.values()) <= {1, 3, 9, 27}  # rungs at 1 * 3^k, and max_t
    assert 1 in set(last.values())


def test_optuna_prunes_trials() -> None:
    optuna = pytest.importorskip("optuna")
    bench = SyntheticBenchmark(max_budget=27)
    agent = make_agent("optuna:tpe-hyperband", bench, seed=0)
    simulate(bench, agent, n_workers=4, max_time=1500.0)
    study = agent.study  # type: ignore[attr-defined]
    states = Counter(t.state for t in study.trials)
    assert states[optuna.trial.TrialState.PRUNED] > 0
    assert states[optuna.trial.TrialState.COMPLETE] > 0


def test_syne_tune_global_numpy_state_is_left_alone() -> None:
    pytest.importorskip("syne_tune")
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    _run("synetune:hyperband", seed=0, max_time=300.0)
    assert np.random.random() == expected
    assert mf_agents.SyneTuneAgent.KINDS == ("asha", "hyperband", "bohb")

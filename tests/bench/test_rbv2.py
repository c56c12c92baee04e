"""rbv2_xgboost from the YAHPO surrogate: tasks, space, conditions, encoding, curves, simulation."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench import lcbench
from hyperscout.bench.lcbench import YahpoDataNotFoundError
from hyperscout.bench.mf_agents import RandomAgent, make_agent
from hyperscout.bench.rbv2 import RBV2XGBoost, isotonic, list_tasks
from hyperscout.bench.simulator import Benchmark, Job, simulate
from hyperscout.errors import InvalidArgumentError


def _data() -> Path:
    try:
        root = lcbench.yahpo_data_dir()
    except YahpoDataNotFoundError as exc:
        pytest.skip(str(exc))
    if not (root / "rbv2_xgboost" / "model.onnx").is_file():
        pytest.skip(f"no rbv2_xgboost/model.onnx under {root}")
    return root


@pytest.fixture(scope="module")
def bench() -> RBV2XGBoost:
    pytest.importorskip("onnxruntime")
    _data()
    return RBV2XGBoost("1489")


LINEAR = {
    "booster": "gblinear",
    "nrounds": 500,
    "lambda": 0.1,
    "alpha": 0.01,
    "subsample": 0.8,
    "num.impute.selected.cpo": "impute.mean",
}
TREE = {
    **LINEAR,
    "booster": "gbtree",
    "nrounds": 300,
    "lambda": 1.0,
    "eta": 0.1,
    "gamma": 0.01,
    "max_depth": 6,
    "min_child_weight": 3.0,
    "colsample_bytree": 0.8,
    "colsample_bylevel": 0.9,
    "num.impute.selected.cpo": "impute.median",
}
DART = {**TREE, "booster": "dart", "rate_drop": 0.1, "skip_drop": 0.5}
DART["num.impute.selected.cpo"] = "impute.hist"


def test_list_tasks_are_the_119_of_the_config_space() -> None:
    tasks = list_tasks()
    assert len(tasks) == 119 and len(set(tasks)) == 119
    assert tasks == sorted(tasks, key=int)
    data = json.loads((_data() / "rbv2_xgboost" / "config_space.json").read_text())
    (task_hp,) = [hp for hp in data["hyperparameters"] if hp["name"] == "task_id"]
    assert sorted(task_hp["choices"]) == sorted(tasks)


def test_space_and_conditions_follow_the_config_space() -> None:
    _data()
    b = RBV2XGBoost("1489")  # no onnxruntime needed until a curve is asked for
    assert isinstance(b, Benchmark) and b.resumable is False
    assert next(iter(b.space)) == "booster" and len(b.space) == 14
    assert b.space["booster"] == hs.Categorical(("gblinear", "gbtree", "dart"))
    assert b.space["nrounds"] == hs.Int(7, 2981, log=True)
    assert b.space["max_depth"] == hs.Int(1, 15)
    assert "trainsize" not in b.space and "repl" not in b.space and "task_id" not in b.space
    assert b.conditions["rate_drop"] == ("booster", ("dart",))
    assert set(b.conditions["eta"][1]) == {"gbtree", "dart"}
    assert "nrounds" not in b.conditions
    assert sorted(b.active(DART)) == sorted(DART)
    assert sorted(b.active({**DART, "booster": "gblinear"})) == sorted(LINEAR)
    assert b.is_active("eta", TREE) and not b.is_active("rate_drop", TREE)


@pytest.mark.parametrize(
    ("kwargs", "first", "n"),
    [({}, 0.05, 20), ({"steps": 10}, 0.1, 10), ({"steps": 50}, 0.03, 50)],
)
def test_trainsize_grid_is_linear_up_to_one(kwargs: dict[str, Any], first: float, n: int) -> None:
    _data()
    sizes = RBV2XGBoost("1489", **kwargs).trainsizes
    assert len(sizes) == n and sizes[0] == pytest.approx(first) and sizes[-1] == 1.0
    np.testing.assert_allclose(np.diff(sizes), (1.0 - first) / (n - 1))
    custom = RBV2XGBoost("1489", steps=5, min_trainsize=0.2).trainsizes
    np.testing.assert_allclose(custom, [0.2, 0.4, 0.6, 0.8, 1.0])


@pytest.mark.parametrize(
    ("config", "acc", "timetrain"),
    [
        (LINEAR, (0.7496185302734375, 0.752718985080719), (1.770446538925171, 5.817476272583008)),
        (TREE, (0.840753972530365, 0.913038969039917), (1.4256479740142822, 3.6039962768554688)),
        (DART, (0.8238666653633118, 0.9116989970207214), (5.742671489715576, 34.11745834350586)),
    ],
)
def test_encoding_matches_yahpo_gym_reference(
    bench: RBV2XGBoost, config: dict[str, Any], acc: tuple[float, ...], timetrain: tuple[float, ...]
) -> None:
    # yahpo-gym 1.0.2 BenchmarkSet("rbv2_xgboost", instance="1489").objective_function(
    # config + trainsize 0.05 / 1 + repl 10), only the active parameters passed.
    raw = bench.raw(config)
    np.testing.assert_allclose(raw["acc"][[0, -1]], acc, rtol=1e-5)
    np.testing.assert_allclose(raw["timetrain"][[0, -1]], timetrain, rtol=1e-4)
    values, _ = bench.curve(config)
    np.testing.assert_allclose(values[[0, -1]], 1.0 - np.array(acc), rtol=1e-5)


def test_inactive_parameters_are_ignored(bench: RBV2XGBoost) -> None:
    flat = {**DART, **LINEAR, "eta": 99.0}  # tree parameters, eta out of range: inactive
    a = bench.curve(LINEAR)
    hits = bench.cache_hits
    b = bench.curve(flat)
    assert bench.cache_hits == hits + 1 and a[0] is b[0]
    np.testing.assert_array_equal(bench.raw(flat)["acc"], bench.raw(LINEAR)["acc"])
    assert not np.array_equal(bench.curve(TREE)[0], bench.curve({**DART, "booster": "gbtree"})[0])
    assert not np.array_equal(bench.curve(TREE)[0], bench.curve(DART)[0])


def test_curves_are_errors_and_increasing_times(bench: RBV2XGBoost) -> None:
    for config in bench.sample(30, np.random.default_rng(0)):
        values, times = bench.curve(config)
        assert values.shape == times.shape == (20,)
        assert np.all((values >= 0) & (values <= 1))
        assert np.all(np.diff(times) > 0.999e-3) and times[0] > 0
        assert not values.flags.writeable and not times.flags.writeable
        raw = bench.raw(config)
        np.testing.assert_allclose(values, np.clip(1 - raw["acc"], 0, 1), rtol=1e-6)
        # the isotonic fit keeps the total; the 1 ms floors add at most 1 ms * (1 + .. + 20)
        excess = times.sum() - float(raw["timetrain"].astype(float).sum())
        assert -1e-6 <= excess <= 0.21
    assert bench.final_errors(5, seed=1).shape == (5,)


def test_best_known_is_the_minimum_of_seeded_random_configs(bench: RBV2XGBoost) -> None:
    errors = bench.final_errors(10_000, seed=0)
    assert bench.best_known == float(errors.min())
    assert 0 < bench.best_known < float(np.median(errors))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task_id": "3945"}, "task_id"),
        ({"steps": 1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"min_trainsize": 0.01}, "min_trainsize"),
        ({"min_trainsize": 1.0}, "min_trainsize"),
        ({"repl": 11}, "repl"),
        ({"cache_size": -1}, "cache_size"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    _data()
    with pytest.raises(InvalidArgumentError, match=match):
        RBV2XGBoost(**{"task_id": "1489", **kwargs})


def test_missing_data_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(YahpoDataNotFoundError, match="rbv2_xgboost"):
        RBV2XGBoost("1489", data_dir=tmp_path)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({k: v for k, v in TREE.items() if k != "eta"}, r"active .*\['eta'\]"),
        ({**TREE, "booster": "xgb"}, "booster"),
        ({**LINEAR, "nrounds": 5000}, "nrounds"),
        ({**TREE, "max_depth": 2.5}, "max_depth"),
        ({**LINEAR, "num.impute.selected.cpo": "impute.zero"}, "num.impute"),
        ({**LINEAR, "alpha": "big"}, "non-numeric"),
    ],
)
def test_bad_configs_are_rejected(bench: RBV2XGBoost, config: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        bench.curve(config)


def test_isotonic_is_the_least_squares_monotone_fit() -> None:
    rng = np.random.default_rng(0)
    reference = getattr(__import__("scipy.optimize").optimize, "isotonic_regression", None)
    for _ in range(200):
        y = rng.normal(size=int(rng.integers(1, 25))).cumsum()
        fit = isotonic(y)
        assert np.all(np.diff(fit) >= 0) and fit.sum() == pytest.approx(y.sum())
        if reference is not None:  # scipy >= 1.12
            np.testing.assert_allclose(fit, reference(y).x, atol=1e-12)
    sorted_y = np.sort(rng.normal(size=10))
    np.testing.assert_array_equal(isotonic(sorted_y), sorted_y)


class Recording:
    """Wraps an agent and keeps the config of every job it hands out."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.configs: dict[Hashable, Mapping[str, Any]] = {}

    def ask(self) -> Job | None:
        job: Job | None = self.inner.ask()
        if job is not None:
            self.configs[job.job_id] = job.config
        return job

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        return bool(self.inner.report(job_id, step, value))

    def finish(self, job_id: Hashable, value: float) -> None:
        self.inner.finish(job_id, value)


def _report_times(res: Any, job_id: Hashable, steps: range) -> dict[int, float]:
    """When ``job_id`` reported each of ``steps`` (its last report of the step)."""
    events = zip(res.times.tolist(), res.job_ids, res.steps.tolist(), strict=True)
    return {k: t for t, j, k in events if j == job_id and k in steps}


def test_random_search_jobs_cost_one_training_per_step_reached(bench: RBV2XGBoost) -> None:
    agent = Recording(RandomAgent(bench.space, bench.max_budget, seed=0))
    res = simulate(bench, agent, n_workers=2, max_jobs=4)
    assert res.n_trials == 4 and res.n_steps == 4 * 20
    for t0, job_id, _, _, _ in res.starts:
        _, times = bench.curve(agent.configs[job_id])
        reported = _report_times(res, job_id, range(1, 21))
        assert reported == {k: t0 + float(times[k - 1]) for k in range(1, 21)}


def test_a_resumed_asha_trial_retrains_from_scratch(bench: RBV2XGBoost) -> None:
    agent = Recording(make_agent("hyperscout:asha", bench, seed=0, n_workers=2))
    res = simulate(bench, agent, n_workers=2, max_jobs=40)
    assert 0 < res.best_value < 1
    resumed = [s for s in res.starts if s[2] > 0]
    assert resumed, "ASHA promotes some trials within 40 jobs"
    for t0, job_id, s0, budget, _ in resumed:
        _, times = bench.curve(agent.configs[job_id])
        steps = range(s0 + 1, budget + 1)
        # steps s0 + 1 .. budget come at t0 + times[k - 1]: the s0 steps are paid again
        assert _report_times(res, job_id, steps) == {k: t0 + float(times[k - 1]) for k in steps}

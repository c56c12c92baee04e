"""LCBench from the YAHPO surrogate: task list, encoding, curve shapes, cache, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.bench import lcbench
from hyperscout.bench.lcbench import LCBench, YahpoDataNotFoundError, list_tasks
from hyperscout.errors import InvalidArgumentError


def _data() -> Path:
    try:
        return lcbench.yahpo_data_dir()
    except YahpoDataNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def bench() -> LCBench:
    pytest.importorskip("onnxruntime")
    _data()
    return LCBench("3945")


CONFIG = {
    "batch_size": 69,
    "learning_rate": 0.0003143115540729568,
    "max_dropout": 0.6888173016707049,
    "max_units": 825,
    "momentum": 0.817724654040607,
    "num_layers": 5,
    "weight_decay": 0.08974102506727104,
}


def test_list_tasks_are_the_34_of_the_config_space() -> None:
    tasks = list_tasks()
    assert len(tasks) == 34 and len(set(tasks)) == 34
    data = json.loads((_data() / "lcbench" / "config_space.json").read_text())
    (task_hp,) = [hp for hp in data["hyperparameters"] if hp["name"] == "OpenML_task_id"]
    assert sorted(task_hp["choices"]) == sorted(tasks)


def test_space_follows_the_config_space(bench: LCBench) -> None:
    space = bench.space
    assert sorted(space) == sorted(CONFIG)
    assert space["batch_size"] == hs.Int(16, 512, log=True)
    assert space["max_units"] == hs.Int(64, 1024, log=True)
    assert isinstance(space["learning_rate"], hs.Float) and space["learning_rate"].log
    assert space["num_layers"] == hs.Int(1, 5)


def test_encoding_matches_yahpo_gym_reference(bench: LCBench) -> None:
    # yahpo-gym 1.0.2 BenchmarkSet("lcbench", instance="3945").objective_function(CONFIG + epoch)
    # gave these (see the module docstring); we feed 52 rows at once, so float32 rounding differs.
    raw = bench.raw(CONFIG)
    assert raw["val_accuracy"][0] == pytest.approx(58.807437896728516, rel=1e-5)
    assert raw["time"][0] == pytest.approx(13.957398414611816, rel=1e-4)
    assert raw["val_accuracy"][51] == pytest.approx(98.0732192993164, rel=1e-5)
    assert raw["time"][51] == pytest.approx(554.2240600585938, rel=1e-4)
    values, _ = bench.curve(CONFIG)
    assert values[51] == pytest.approx(1 - 0.980732192993164, abs=1e-5)


def test_curves_are_errors_and_increasing_times(bench: LCBench) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        cols = bench.sample(1, rng)
        config = {k: (int(v[0]) if isinstance(bench.space[k], hs.Int) else float(v[0]))
                  for k, v in cols.items()}  # fmt: skip
        values, times = bench.curve(config)
        assert values.shape == times.shape == (52,)
        assert np.all((values >= 0) & (values <= 1))
        assert times[0] > 0 and np.all(np.diff(times) > 0)
        assert not values.flags.writeable


def test_repeated_curve_is_a_cache_hit(bench: LCBench) -> None:
    config = dict(CONFIG, batch_size=70)
    misses, hits = bench.cache_misses, bench.cache_hits
    first = bench.curve(config)
    second = bench.curve(dict(config))
    assert second[0] is first[0] and second[1] is first[1]
    assert (bench.cache_misses, bench.cache_hits) == (misses + 1, hits + 1)


def test_best_known_is_a_plausible_error(bench: LCBench) -> None:
    best = bench.best_known
    assert 0 <= best <= bench.curve(CONFIG)[0][-1]
    assert bench.best_known == best  # computed once


def test_bad_inputs_say_what_to_do(bench: LCBench) -> None:
    with pytest.raises(InvalidArgumentError, match="misses"):
        bench.curve({"batch_size": 32})
    with pytest.raises(InvalidArgumentError, match="max_units"):
        bench.curve(dict(CONFIG, max_units=34))
    with pytest.raises(InvalidArgumentError, match="list_tasks"):
        LCBench("12345")


def test_missing_data_names_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lcbench.DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(YahpoDataNotFoundError, match=lcbench.DATA_ENV_VAR):
        LCBench("3945")

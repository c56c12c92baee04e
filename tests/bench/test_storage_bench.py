"""benchmarks/storage.py: a small real run of a backend with spawned worker processes."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The script as a module. Its directory stays on sys.path so that the spawned workers,
    which inherit sys.path, can import it too and unpickle its worker function."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    module = importlib.import_module("storage")
    assert Path(module.__file__).resolve() == BENCHMARKS / "storage.py", module.__file__
    return module


def _options(bench: ModuleType, **kw: object) -> argparse.Namespace:
    defaults = {"workers": 2, "trials": 20, "pg_url": bench.PG_URL, "redis_url": bench.REDIS_URL}
    return argparse.Namespace(**{**defaults, **kw})


def _check(rec: dict[str, object], trials: int) -> None:
    assert rec["worker_errors"] == [], rec["worker_errors"]
    assert (rec["completed"], rec["lost"], rec["duplicated"], rec["gaps"]) == (trials, 0, 0, 0)
    assert rec["running"] == 0 and rec["objective_returns"] == trials
    assert rec["trials_per_s"] > 0  # type: ignore[operator]


def test_split_sums_to_the_total(bench: ModuleType) -> None:
    assert bench.split(2000, 8) == [250] * 8
    assert bench.split(10, 4) == [3, 3, 2, 2] and sum(bench.split(7, 3)) == 7


def test_tally_finds_lost_duplicated_and_gaps(bench: ModuleType) -> None:
    trials = [(0, "COMPLETE"), (1, "COMPLETE"), (1, "COMPLETE"), (3, "RUNNING")]
    counts = bench.tally(trials, expected=4, returns=4)
    assert (counts["completed"], counts["lost"], counts["duplicated"], counts["gaps"]) == (
        3,
        1,
        1,
        1,
    )
    assert counts["running"] == 1


def test_hyperscout_sqlite_two_workers(bench: ModuleType, tmp_path: Path) -> None:
    rec = bench.measure("hyperscout-sqlite", _options(bench), str(tmp_path), timeout=120)
    _check(rec, 20)
    assert list(tmp_path.iterdir()) == []  # the database went with the run


def test_optuna_rdb_sqlite_two_workers(bench: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("optuna")  # only in .venv-storage (benchmarks/setup_storage.sh)
    rec = bench.measure("optuna-rdb-sqlite", _options(bench), str(tmp_path), timeout=120)
    _check(rec, 20)

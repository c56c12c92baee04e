"""benchmarks/blackbox.py end to end: a tiny run, its resume, and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "blackbox.py"


def cli(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_dry_run_lists_the_runs_without_doing_them(tmp_path: Path) -> None:
    out = cli(
        "--bbob-dims", "2", "--functions", "1-3", "--sklearn", "none", "--seeds", "2",
        "--optimizers", "hyperscout:random", "optuna:tpe", "--dry-run",
        "--results", str(tmp_path / "r.jsonl"),
    )  # fmt: skip
    assert "3 problems x 2 optimizers x 2 seeds = 12 runs" in out
    assert "bbob-f03-d2 optuna:tpe 1" in out
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.slow  # worker processes import scikit-learn: tens of seconds on a busy machine
def test_run_resume_and_report(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    results = tmp_path / "r.jsonl"
    args = (
        "--no-bbob", "--sklearn", "svc-digits", "--optimizers", "hyperscout:random",
        "hyperscout:tpe", "--seeds", "2", "--budget", "3", "--jobs", "2",
        "--results", str(results),
    )  # fmt: skip
    cli(*args)
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 4 and all(len(r["values"]) == 3 for r in lines)
    assert "0 to do" in cli(*args)  # nothing runs twice
    report = tmp_path / "r.md"
    out = cli("--report", "--results", str(results), "--out", str(report), "--plot", "none")
    assert "| hyperscout:tpe |" in out and "| hyperscout:random |" in out
    assert report.read_text().startswith("| optimizer | mean rank |")

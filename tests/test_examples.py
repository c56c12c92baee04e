"""The README's quick-start example runs end to end and prints the best result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hyperscout as hs

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_tunes_a_model_on_sqlite_and_continues_the_study(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    url = f"sqlite:///{tmp_path / 'qs.db'}"
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "quickstart.py"),
        "--n-trials",
        "4",
        "--storage",
        url,
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4/4 trials" in first.stderr  # the progress bar
    assert "best accuracy" in first.stdout and "4 trials" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "8 trials" in second.stdout  # the same study, continued
    study = hs.load_study("quickstart", storage=url)
    assert len(study.trials) == 8
    assert 0.0 < study.best_value <= 1.0

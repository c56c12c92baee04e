"""examples/pbt_mlp.py runs end to end: PBT on a real network, with copies from checkpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hyperscout as hs

ROOT = Path(__file__).resolve().parents[1]


def test_pbt_example_trains_a_population_with_copies(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    cmd = [sys.executable, str(ROOT / "examples" / "pbt_mlp.py"), "--population", "4"]
    cmd += ["--interval", "5", "--storage", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 networks" in done.stdout and "best validation error" in done.stdout
    study = hs.load_study(hs.get_all_study_summaries(url)[0].name, url)
    copies = [t for t in study.trials if t.system_attrs.get("pbt_parent") is not None]
    assert copies, "no member was replaced by a copy"
    for t in copies:  # a copy starts where its donor's checkpoint was
        assert t.system_attrs["pbt_origin"] >= 5
    best = study.best_trial
    assert max(best.intermediate_values) == 30 and best.value < 0.2

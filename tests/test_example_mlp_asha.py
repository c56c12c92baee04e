"""examples/mlp_asha.py trains real networks under ASHA, resuming paused ones from checkpoints."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hyperscout as hs

ROOT = Path(__file__).resolve().parents[1]
MAX_EPOCHS = 27


def run_example(tmp_path: Path, url: str, n_trials: int) -> str:
    cmd = [sys.executable, str(ROOT / "examples" / "mlp_asha.py"), "--n-trials", str(n_trials)]
    proc = subprocess.run(
        [*cmd, "--storage", url], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


def test_mlp_asha_resumes_paused_networks_and_saves_epochs(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    db = tmp_path / "mlp.db"
    url = f"sqlite:///{db}"
    out = run_example(tmp_path, url, n_trials=9)  # 9 = eta**2: one trial reaches rung 27
    study = hs.load_study("mlp_asha", url)
    trials = study.trials
    assert len(trials) == 9
    assert "9 trials, rungs [3, 9, 27]" in out

    best = number(r"best validation error ([\d.]+) after 27 epochs", out)
    assert best == pytest.approx(study.best_value, abs=5e-5)
    assert best < 0.2  # a trained network, not chance (0.9)
    epochs = number(r"epochs trained (\d+);", out)
    assert epochs == sum(len(t.intermediate_values) for t in trials)
    assert number(r"FIFO would train (\d+)", out) == 9 * MAX_EPOCHS
    assert epochs < 9 * MAX_EPOCHS / 2
    assert number(r"trials resumed (\d+)", out) >= 1

    complete = study.get_trials([hs.TrialState.COMPLETE])
    assert complete
    for t in complete:
        # trained in three runs (3, then 9, then 27 epochs), one curve without holes
        assert sorted(t.intermediate_values) == list(range(1, MAX_EPOCHS + 1))
        assert t.system_attrs["start_step"] == 9
        assert t.value == t.intermediate_values[MAX_EPOCHS]

    (summary,) = hs.get_all_study_summaries(url)
    folder = Path(f"{db}.checkpoints") / f"study-{summary.study_id}"
    paused = {t.number: t for t in trials if t.state == hs.TrialState.PAUSED}
    assert {p.name for p in folder.iterdir()} == {f"trial-{n}" for n in paused}
    for n, t in paused.items():  # the network as it was after its last epoch
        with open(folder / f"trial-{n}" / "checkpoint.pkl", "rb") as fh:
            saved_at = pickle.load(fh)  # the step the study recorded with the checkpoint
            model, epoch = pickle.load(fh)
        assert epoch == saved_at == t.last_step
        assert hasattr(model, "coefs_")

    again = run_example(tmp_path, url, n_trials=3)  # the same study goes on
    assert "12 trials" in again
    assert len(hs.load_study("mlp_asha", url).trials) == 12

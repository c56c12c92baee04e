"""The `hyperscout` command line, run as a shell user would (exit codes, stdout, stderr)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.cli import main


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hyperscout.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    study = hs.create_study(study_name="demo", storage=url, sampler="random", seed=0)

    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_float("x", -2, 2)
        kind = trial.suggest_categorical("kind", ["a", None])
        trial.set_user_attr("note", f"n{trial.number}")
        if trial.number == 3:
            raise RuntimeError("boom")
        return x**2 + (kind is None)

    study.optimize(objective, n_trials=6)
    study.storage.close()
    return url


def call(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_create_study_and_list_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert call("create-study", "--study", "s1", "--storage", url) == (0, "s1\n")
    code, out = call(
        "create-study", "--study", "mo", "--directions", "minimize", "maximize", "--storage", url
    )
    assert code == 0
    code, out = call("studies", "--storage", url)
    assert code == 0
    assert "s1" in out and "minimize,maximize" in out
    code, out = call("studies", "--storage", url, "--format", "json")
    assert {s["name"] for s in json.loads(out)} == {"s1", "mo"}


def test_creating_an_existing_study_fails_unless_skip_if_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'dup.db'}"
    assert call("create-study", "--study", "s", "--storage", url)[0] == 0
    assert call("create-study", "--study", "s", "--storage", url)[0] == 1
    assert "exists already" in capsys.readouterr().err
    assert call("create-study", "--study", "s", "--storage", url, "--skip-if-exists")[0] == 0


def test_trials_table_and_state_filter(db: str) -> None:
    code, out = call("trials", "demo", "--storage", db)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["number", "state", "value"]
    assert len(lines) == 2 + 6
    assert "FAILED" in out
    code, out = call("trials", "demo", "--storage", db, "--state", "failed", "--format", "json")
    rows = json.loads(out)
    assert [r["number"] for r in rows] == [3]


def test_best_shows_the_best_trial(db: str) -> None:
    study = hs.load_study("demo", storage=db)
    code, out = call("best", "demo", "--storage", db, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["number"] == study.best_trial.number
    assert data["values"] == [study.best_value]
    code, out = call("best", "demo", "--storage", db)
    assert out.startswith(f"trial {study.best_trial.number}: value")


def test_export_csv_and_json(db: str, tmp_path: Path) -> None:
    code, out = call("export", "demo", "--storage", db)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6
    assert {"number", "state", "value", "params_x", "params_kind", "user_attrs_note"} <= set(
        rows[0]
    )
    target = tmp_path / "demo.json"
    code, out = call("export", "demo", "--storage", db, "--format", "json", "-o", str(target))
    assert code == 0 and "wrote 6 trials" in out
    data = json.loads(target.read_text())
    assert data[0]["params"]["x"] == hs.load_study("demo", storage=db).trials[0].params["x"]


def test_delete_needs_confirmation_without_a_terminal(db: str) -> None:
    cwd = Path(db.removeprefix("sqlite:///")).parent
    proc = run("delete-study", "demo", "--storage", db, cwd=cwd)
    assert proc.returncode == 1
    assert "pass --yes" in proc.stderr
    assert [s.name for s in hs.get_all_study_summaries(db)] == ["demo"]  # nothing lost
    proc = run("delete-study", "demo", "--storage", db, "--yes", cwd=cwd)
    assert proc.returncode == 0
    assert hs.get_all_study_summaries(db) == []


def test_errors_a_shell_user_understands(tmp_path: Path) -> None:
    proc = run("trials", "nope", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("hyperscout: error:")
    assert "does not exist" in proc.stderr
    assert not (tmp_path / "hyperscout.db").exists()  # reading never creates the database
    proc = run("studies", cwd=tmp_path)
    assert proc.returncode == 0 and "no studies" in proc.stdout
    proc = run("frobnicate", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0 and hs.__version__ in proc.stdout


def test_missing_study_in_an_existing_storage(db: str) -> None:
    cwd = Path(db.removeprefix("sqlite:///")).parent
    proc = run("best", "other", "--storage", db, cwd=cwd)
    assert proc.returncode == 1
    assert "no study named 'other'" in proc.stderr


def test_default_storage_is_the_embedded_sqlite_file(tmp_path: Path) -> None:
    proc = run("create-study", "--study", "here", cwd=tmp_path)
    assert proc.returncode == 0
    assert (tmp_path / "hyperscout.db").exists()
    proc = run("studies", cwd=tmp_path)
    assert "here" in proc.stdout


def test_help_everywhere(tmp_path: Path) -> None:
    for cmd in ["create-study", "studies", "trials", "best", "delete-study", "export"]:
        proc = run(cmd, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and "--storage" in proc.stdout

"""``hyperscout worker`` and study-level budgets: real processes racing on SQLite and PostgreSQL,
connections killed with pg_terminate_backend, workers killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import hyperscout as hs
from hyperscout import InvalidArgumentError, TrialState
from hyperscout.cli import main

OBJECTIVE = textwrap.dedent(
    """
    import os, time

    def objective(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        n = trial.suggest_int("n", 0, 3)
        trial.set_user_attr("pid", os.getpid())
        time.sleep(float(os.environ.get("HS_TEST_SLEEP", "0.01")))
        return x * x + n
    """
)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def _workers(
    url: str, folder: Path, k: int, *extra: str, sleep: float = 0.01
) -> list[subprocess.Popen[str]]:
    (folder / "obj.py").write_text(OBJECTIVE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "HS_TEST_SLEEP": str(sleep),
    }
    cmd = [sys.executable, "-m", "hyperscout.cli", "worker", "--storage", url, "--study", "w"]
    cmd += ["--objective", f"{folder / 'obj.py'}:objective", "--sampler", "random", *extra]
    return [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(k)
    ]


def _wait(procs: list[subprocess.Popen[str]]) -> list[str]:
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        outs.append(out)
    return outs


def _check_gap_free(study: hs.Study, n: int) -> None:
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(n))  # unique, gap-free, exactly the budget


def test_eight_workers_share_the_study_budget_exactly(url: str, tmp_path: Path) -> None:
    study = hs.create_study(study_name="w", storage=url)
    study.set_budget(n_trials=48)
    outs = _wait(_workers(url, tmp_path, 8))
    done = hs.load_study("w", url)
    _check_gap_free(done, 48)
    assert all(t.state == TrialState.COMPLETE for t in done.trials)
    assert len({t.user_attrs["pid"] for t in done.trials}) >= 2  # the work was shared
    # a worker stops when no trial is left to start; the others may still be finishing theirs
    assert all(out.startswith("study w: ") and "best value" in out for out in outs)


def test_workers_survive_killed_database_connections(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    url = fresh_postgres_url
    study = hs.create_study(study_name="w", storage=url)
    study.set_budget(n_trials=60)
    procs = _workers(url, tmp_path, 4, sleep=0.05)
    admin = sa.create_engine(url, poolclass=sa.NullPool)
    killed = 0
    stop = threading.Event()

    def terminate() -> None:
        nonlocal killed
        while not stop.wait(0.4):
            with admin.begin() as conn:
                killed += len(
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND backend_type = 'client backend'"
                        )
                    ).all()
                )

    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    try:
        _wait(procs)
    finally:
        stop.set()
        killer.join()
    admin.dispose()
    assert killed > 0  # connections really were cut while the workers ran
    done = hs.load_study("w", url)
    _check_gap_free(done, 60)
    assert all(t.state == TrialState.COMPLETE for t in done.trials)


def test_a_killed_worker_loses_nothing_and_its_trial_runs_again(url: str, tmp_path: Path) -> None:
    policy = hs.Heartbeat(interval=0.1, grace=0.5, retry_failed=1)
    study = hs.create_study(study_name="w", storage=url, heartbeat=policy)
    study.set_budget(n_trials=12)
    (victim,) = _workers(url, tmp_path, 1, sleep=30.0)  # hangs in its first trial
    deadline = time.monotonic() + 60
    while not any(t.state == TrialState.RUNNING for t in hs.load_study("w", url).trials):
        assert time.monotonic() < deadline and victim.poll() is None, victim.communicate()
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    time.sleep(policy.grace + 0.2)
    _wait(_workers(url, tmp_path, 2))
    done = hs.load_study("w", url)
    _check_gap_free(done, 12)
    assert all(t.state == TrialState.COMPLETE for t in done.trials)
    assert done.trials[0].system_attrs["retries"] == 1


def test_a_target_and_a_timeout_end_every_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    study = hs.create_study(study_name="w", storage=url)
    study.set_budget(target=0.5)
    _wait(_workers(url, tmp_path, 2))
    assert hs.load_study("w", url).best_value <= 0.5
    timed = hs.create_study(study_name="t", storage=url)
    timed.set_budget(timeout=1.0)
    t0 = time.monotonic()
    timed.work(lambda t: t.suggest_float("x", 0, 1) + time.sleep(0.05) or 0.0)  # type: ignore[func-returns-value]
    assert time.monotonic() - t0 < 3.0 and len(timed.trials) >= 5


def test_work_in_threads_and_the_budget_property(tmp_path: Path) -> None:
    study = hs.create_study(storage=f"sqlite:///{tmp_path / 'b.db'}", sampler="random")
    assert study.budget == {"n_trials": None, "deadline": None, "target": None}
    study.set_budget(n_trials=10)
    study.work(lambda t: t.suggest_float("x", 0, 1), n_jobs=3)
    _check_gap_free(study, 10)
    study.work(lambda t: t.suggest_float("x", 0, 1))  # spent: nothing more runs
    assert len(study.trials) == 10


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trials": 0}, "`n_trials` must be an int >= 1"),
        ({"timeout": -1}, "`timeout` must be a positive number"),
        ({"target": float("nan")}, "`target` must be a number"),
    ],
)
def test_bad_budgets_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        hs.create_study().set_budget(**kwargs)  # type: ignore[arg-type]


def test_a_target_needs_a_single_objective() -> None:
    study = hs.create_study(directions=["minimize", "maximize"])
    with pytest.raises(InvalidArgumentError, match="single-objective"):
        study.set_budget(target=1.0)


def test_the_worker_command_reports_bad_objectives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    base = ["worker", "--storage", url, "--study", "w", "--create"]
    assert main([*base, "--objective", "nocolon"]) == 1
    assert "must be module:function" in capsys.readouterr().err
    assert main([*base, "--objective", "no_such_module_xyz:f"]) == 1
    assert "cannot import 'no_such_module_xyz'" in capsys.readouterr().err
    (tmp_path / "o.py").write_text("x = 1\n")
    assert main([*base, "--objective", f"{tmp_path / 'o.py'}:f"]) == 1
    assert "has no function 'f'" in capsys.readouterr().err
    assert main(["worker", "--storage", url, "--study", "missing", "--objective", "a:b"]) == 1


def test_the_worker_command_creates_runs_and_prints_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    code = main(
        [
            *("worker", "--storage", url, "--study", "w", "--create", "--n-trials", "5"),
            *("--objective", f"{tmp_path / 'obj.py'}:objective", "--sampler", "random"),
        ]
    )
    assert code == 0
    assert "study w: 5 trials complete, best value" in capsys.readouterr().out
    assert hs.load_study("w", url).budget["n_trials"] == 5

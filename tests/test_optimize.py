"""study.optimize: failures, pruning, budgets, threads, callbacks, progress, Ctrl-C."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import hyperscout as hs
from hyperscout._progress import ProgressBar


def test_an_exception_fails_the_trial_is_logged_and_the_study_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise RuntimeError("diverged")
        return x

    study = hs.create_study(sampler="random", seed=0)
    with caplog.at_level(logging.WARNING, logger="hyperscout"):
        study.optimize(objective, n_trials=6)
    states = [t.state for t in study.trials]
    assert states.count(hs.TrialState.FAILED) == 3
    assert states.count(hs.TrialState.COMPLETE) == 3
    failed = study.trials[1]
    assert failed.system_attrs["fail_reason"] == "RuntimeError: diverged"
    assert "x" in failed.params  # what was suggested before the failure is kept
    assert "diverged" in caplog.text and "trial 1 failed" in caplog.text


def test_catch_empty_lets_the_exception_propagate_after_marking_the_trial() -> None:
    study = hs.create_study(sampler="random", seed=0)

    def objective(trial: hs.Trial) -> float:
        raise ValueError("bad config")

    with pytest.raises(ValueError, match="bad config"):
        study.optimize(objective, n_trials=3, catch=())
    assert [t.state for t in study.trials] == [hs.TrialState.FAILED]


def test_bad_return_values_fail_the_trial_not_the_study() -> None:
    returns = iter([None, "1.0", [1.0, 2.0], float("nan"), True, 2.0])
    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: next(returns), n_trials=6)
    states = [t.state for t in study.trials]
    assert states == [hs.TrialState.FAILED] * 5 + [hs.TrialState.COMPLETE]
    assert "NaN" in study.trials[3].system_attrs["fail_reason"]
    assert "bool" in study.trials[4].system_attrs["fail_reason"]


def test_numpy_scalars_are_accepted() -> None:
    import numpy as np

    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: np.float32(t.suggest_float("x", 0, 1)), n_trials=2)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)


def test_trial_pruned_records_a_pruned_trial() -> None:
    def objective(trial: hs.Trial) -> float:
        for step in range(3):
            trial.report(step, 1.0 / (step + 1))
            assert not trial.should_prune()  # FIFO never stops a trial
        raise hs.TrialPruned()

    study = hs.create_study(sampler="random", seed=0)
    study.optimize(objective, n_trials=2)
    pruned = study.trials[0]
    assert pruned.state == hs.TrialState.PRUNED
    assert pruned.intermediate_values == {0: 1.0, 1: 0.5, 2: 1 / 3}
    assert pruned.last_step == 2


def test_report_validates_step_and_value() -> None:
    study = hs.create_study()
    trial = study.ask()
    with pytest.raises(hs.InvalidArgumentError, match="`step` must be an int >= 0"):
        trial.report(-1, 0.5)
    with pytest.raises(hs.InvalidTypeError, match="`value` must be a real number"):
        trial.report(1, "0.5")  # type: ignore[arg-type]


def test_timeout_stops_starting_new_trials() -> None:
    study = hs.create_study(sampler="random", seed=0)
    start = time.monotonic()
    study.optimize(lambda t: time.sleep(0.05) or 0.0, timeout=0.3)
    elapsed = time.monotonic() - start
    assert 2 <= len(study.trials) <= 8
    assert elapsed < 1.5


def test_threads_share_the_trial_budget_and_numbers_stay_unique() -> None:
    seen_threads: set[str] = set()

    def objective(trial: hs.Trial) -> float:
        seen_threads.add(threading.current_thread().name)
        time.sleep(0.01)
        return trial.suggest_float("x", 0, 1)

    study = hs.create_study(sampler="random", seed=0)
    study.optimize(objective, n_trials=40, n_jobs=4)
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(40))
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert len(seen_threads) > 1


def test_callbacks_see_every_trial_and_can_stop_the_study() -> None:
    seen: list[int] = []

    def callback(study: hs.Study, trial: hs.FrozenTrial) -> None:
        seen.append(trial.number)
        if len(seen) == 5:
            study.stop()

    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=50, callbacks=[callback])
    assert seen == [0, 1, 2, 3, 4]
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # stop() is per call
    assert len(study.trials) == 7


def test_progress_bar_shows_count_and_best_value() -> None:
    stream = io.StringIO()
    study = hs.create_study(sampler="random", seed=0)
    bar = ProgressBar(3, None, stream=stream)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, callbacks=[bar.update])
    bar.close()
    last = stream.getvalue().strip().splitlines()[-1]
    assert "3/3 trials" in last
    assert f"best={study.best_value:.6g} (trial {study.best_trial.number})" in last


def test_show_progress_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4, show_progress=True)
    err = capsys.readouterr().err
    assert "4/4 trials" in err and "best=" in err


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trials": -1}, "`n_trials` must be"),
        ({"n_trials": 1.5}, "`n_trials` must be"),
        ({"timeout": 0}, "`timeout` must be"),
        ({"n_jobs": 0}, "`n_jobs` must be"),
        ({"executor": "gpu"}, "`executor` must be"),
    ],
)
def test_bad_optimize_arguments(kwargs: dict[str, object], match: str) -> None:
    study = hs.create_study()
    with pytest.raises(hs.InvalidArgumentError, match=match):
        study.optimize(lambda t: 0.0, **kwargs)  # type: ignore[arg-type]
    assert study.trials == []


def test_process_executor_needs_a_shared_storage() -> None:
    study = hs.create_study()
    with pytest.raises(hs.InvalidArgumentError, match="sqlite:///"):
        study.optimize(lambda t: 0.0, n_trials=2, n_jobs=2, executor="process")


def test_keyboard_interrupt_in_the_objective_marks_the_trial_and_propagates() -> None:
    def objective(trial: hs.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            raise KeyboardInterrupt
        return 1.0

    study = hs.create_study(sampler="random", seed=0)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=10)
    assert len(study.trials) == 3
    assert study.trials[2].state == hs.TrialState.FAILED
    assert study.trials[2].system_attrs["fail_reason"] == "interrupted"


_CTRL_C_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import hyperscout as hs

    study = hs.create_study(sampler="random", seed=0)

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            print("started", flush=True)
            time.sleep(30)
        return 0.0

    try:
        study.optimize(objective, n_trials=100, n_jobs=int(sys.argv[1]))
    except KeyboardInterrupt:
        print(json.dumps([[t.number, t.state.value, t.system_attrs.get("fail_reason")]
                          for t in study.trials]), flush=True)
    """
)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_stops_cleanly_and_marks_the_running_trial(n_jobs: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_SCRIPT, str(n_jobs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    trials = json.loads(out.strip().splitlines()[-1])
    by_number = {n: (state, reason) for n, state, reason in trials}
    assert by_number[3] == ("FAILED", "interrupted")
    assert all(state != "RUNNING" for state, _ in by_number.values())
    assert proc.returncode == 0


def test_process_executor_rejects_in_memory_sqlite() -> None:
    study = hs.create_study(storage="sqlite://")
    with pytest.raises(hs.InvalidArgumentError, match="every process can open"):
        study.optimize(lambda t: 0.0, n_trials=2, n_jobs=2, executor="process")

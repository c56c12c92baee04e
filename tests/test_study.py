"""Study: creation, ask/tell, best trials, enqueue, attributes, dataframe, errors."""

from __future__ import annotations

import math

import pytest

import hyperscout as hs


def quadratic(trial: hs.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    return (x - 1) ** 2


def test_issue_example_runs_as_written(tmp_path: object) -> None:
    def objective(trial: hs.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 4)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        slope = 0.0
        if act == "relu":
            slope = trial.suggest_float("slope", 0.0, 0.3)
        return abs(math.log10(lr) + 3) + layers * 0.1 + slope

    study = hs.create_study(direction="minimize", sampler="random", seed=0)
    study.optimize(objective, n_trials=30, n_jobs=2, timeout=None, show_progress=False)
    assert len(study.trials) == 30
    assert study.best_value == min(t.value for t in study.trials if t.value is not None)
    assert set(study.best_params) <= {"lr", "layers", "act", "slope"}
    relu = [t for t in study.trials if t.params["act"] == "relu"]
    assert relu and all("slope" in t.params for t in relu)
    assert all("slope" not in t.params for t in study.trials if t.params["act"] == "tanh")
    df = study.to_dataframe()
    assert len(df) == 30 and "params_lr" in df.columns and "value" in df.columns

    space = {"x": hs.Float(-5, 5), "n": hs.Int(1, 10, log=True), "k": hs.Categorical(["a", "b"])}
    t = study.ask(space)
    assert set(t.params) == {"x", "n", "k"}
    assert study.tell(t, 0.3).state == hs.TrialState.COMPLETE
    t2 = study.ask(space)
    assert study.tell(t2, state=hs.TrialState.FAILED).state == hs.TrialState.FAILED


def test_maximize_picks_the_largest_value() -> None:
    study = hs.create_study(direction="maximize", sampler="random", seed=1)
    study.optimize(quadratic, n_trials=20)
    assert study.best_value == max(t.value for t in study.trials if t.value is not None)
    assert study.direction == hs.StudyDirection.MAXIMIZE


def test_tell_by_number_and_nan_marks_failed() -> None:
    study = hs.create_study(sampler="random", seed=0)
    t = study.ask({"x": hs.Float(0, 1)})
    frozen = study.tell(t.number, float("nan"))
    assert frozen.state == hs.TrialState.FAILED
    assert frozen.values is None
    assert "NaN" in frozen.system_attrs["fail_reason"]


def test_a_finished_trial_cannot_be_told_again() -> None:
    study = hs.create_study(sampler="random", seed=0)
    t = study.ask({"x": hs.Float(0, 1)})
    study.tell(t, 1.0)
    with pytest.raises(hs.TrialStateError, match="already COMPLETE"):
        study.tell(t, 2.0)
    assert study.trials[0].value == 1.0  # the stored result is untouched


def test_tell_validates_its_arguments_without_touching_the_trial() -> None:
    study = hs.create_study(sampler="random", seed=0)
    t = study.ask({"x": hs.Float(0, 1)})
    with pytest.raises(hs.InvalidArgumentError, match="give `values`"):
        study.tell(t)
    with pytest.raises(hs.InvalidArgumentError, match="1 objective"):
        study.tell(t, [1.0, 2.0])
    with pytest.raises(hs.InvalidTypeError, match="must return a number"):
        study.tell(t, "good")
    with pytest.raises(hs.InvalidArgumentError, match="`state` must be"):
        study.tell(t, state=hs.TrialState.RUNNING)
    assert study.trials[0].state == hs.TrialState.RUNNING
    assert study.tell(t, 0.5).value == 0.5


def test_multi_objective_study_stores_all_values_and_the_pareto_front() -> None:
    study = hs.create_study(directions=["minimize", "maximize"], sampler="random", seed=0)
    for a, b in [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (0.5, 0.1)]:
        t = study.ask({"x": hs.Float(0, 1)})
        study.tell(t, (a, b))
    front = {t.values for t in study.best_trials}
    assert front == {(1.0, 1.0), (2.0, 3.0), (0.5, 0.1)}
    with pytest.raises(hs.InvalidArgumentError, match="use `best_trials`"):
        _ = study.best_trial
    with pytest.raises(hs.InvalidArgumentError, match="2 objective"):
        study.tell(study.ask(), 1.0)


def test_best_trial_before_any_result_says_what_to_do() -> None:
    study = hs.create_study()
    with pytest.raises(hs.TrialStateError, match="no COMPLETE trial yet"):
        _ = study.best_trial


def test_enqueued_trials_run_first_with_their_values() -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.enqueue_trial({"x": 0.25}, user_attrs={"source": "expert"})
    study.enqueue_trial({"x": 0.75})
    study.enqueue_trial({"x": 0.75}, skip_if_exists=True)  # a duplicate is skipped
    study.optimize(quadratic, n_trials=3)
    xs = [t.params["x"] for t in study.trials]
    assert xs[:2] == [0.25, 0.75]
    assert len(study.trials) == 3
    assert study.trials[0].user_attrs == {"source": "expert"}


def test_enqueued_value_outside_the_distribution_fails_the_trial_clearly() -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.enqueue_trial({"x": 99.0})
    study.optimize(quadratic, n_trials=1)
    failed = study.trials[0]
    assert failed.state == hs.TrialState.FAILED
    assert "outside" in failed.system_attrs["fail_reason"]


def test_suggesting_a_name_twice_returns_the_same_value_or_rejects_a_new_distribution() -> None:
    study = hs.create_study(sampler="random", seed=0)
    t = study.ask()
    a = t.suggest_float("x", 0, 1)
    assert t.suggest_float("x", 0, 1) == a
    with pytest.raises(hs.ParamConflictError, match="already suggested"):
        t.suggest_float("x", 0, 2)


def test_the_same_name_may_change_distribution_between_trials() -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: t.suggest_int("n", 1, 2 + t.number), n_trials=5)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert {t.distributions["n"].high for t in study.trials} == {2, 3, 4, 5, 6}


def test_user_attrs_on_trials_and_studies() -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.set_user_attr("dataset", "digits")

    def objective(trial: hs.Trial) -> float:
        trial.set_user_attr("fold_scores", [0.9, 0.8])
        return 1.0

    study.optimize(objective, n_trials=1)
    assert study.user_attrs == {"dataset": "digits"}
    assert study.trials[0].user_attrs == {"fold_scores": [0.9, 0.8]}


def test_load_if_exists_reuses_and_duplicate_names_fail() -> None:
    storage = hs.InMemoryStorage()
    first = hs.create_study(study_name="s", storage=storage, seed=3)
    first.optimize(quadratic, n_trials=2)
    with pytest.raises(hs.DuplicatedStudyError, match="load_if_exists=True"):
        hs.create_study(study_name="s", storage=storage)
    again = hs.create_study(study_name="s", storage=storage, load_if_exists=True)
    assert len(again.trials) == 2
    assert again.seed == 3  # the stored seed is restored
    loaded = hs.load_study("s", storage=storage)
    assert loaded.seed == 3 and len(loaded.trials) == 2
    with pytest.raises(hs.InvalidArgumentError, match="exists with directions"):
        hs.create_study(study_name="s", storage=storage, direction="maximize", load_if_exists=True)


def test_missing_study_and_bad_arguments_raise_clear_errors() -> None:
    storage = hs.InMemoryStorage()
    with pytest.raises(hs.StudyNotFoundError, match="no study named 'nope'"):
        hs.load_study("nope", storage=storage)
    with pytest.raises(hs.InvalidArgumentError, match="`sampler` must be one of"):
        hs.create_study(sampler="bayes-magic")
    with pytest.raises(hs.InvalidArgumentError, match="`direction` must be 'minimize'"):
        hs.create_study(direction="min")
    with pytest.raises(hs.InvalidArgumentError, match="not both"):
        hs.create_study(direction="minimize", directions=["minimize"])
    with pytest.raises(hs.InvalidArgumentError, match="`seed` must be an int"):
        hs.create_study(seed=-1)
    with pytest.raises(hs.InvalidArgumentError, match="`storage` must be a database URL"):
        hs.create_study(storage="runs.db")
    with pytest.raises(hs.InvalidTypeError, match="`storage` must be None"):
        hs.create_study(storage=42)  # type: ignore[arg-type]
    with pytest.raises(hs.InvalidArgumentError, match="`storage` is required"):
        hs.load_study("x", storage=None)  # type: ignore[arg-type]


def test_delete_study_and_summaries() -> None:
    storage = hs.InMemoryStorage()
    hs.create_study(study_name="a", storage=storage).optimize(quadratic, n_trials=3)
    hs.create_study(study_name="b", storage=storage, directions=["minimize", "minimize"])
    summaries = {s.name: s for s in hs.get_all_study_summaries(storage)}
    assert summaries["a"].n_trials == 3 and summaries["a"].best_values is not None
    assert summaries["b"].best_values is None
    hs.delete_study("a", storage)
    assert [s.name for s in hs.get_all_study_summaries(storage)] == ["b"]


def test_seeded_studies_are_bit_identical() -> None:
    def run(seed: int) -> list[dict[str, object]]:
        study = hs.create_study(sampler="random", seed=seed)

        def objective(trial: hs.Trial) -> float:
            k = trial.suggest_categorical("k", [None, True, "x"])
            n = trial.suggest_int("n", 1, 100, log=True)
            return trial.suggest_float("f", -1, 1, step=0.25) + n + (k is None)

        study.optimize(objective, n_trials=25)
        return [t.params for t in study.trials]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_enqueued_tuple_choices_survive_sql_storage(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/tuples.db"
    study = hs.create_study(storage=url, sampler="random", seed=0)
    study.enqueue_trial({"shape": (64, 32)})
    study.enqueue_trial({"shape": (64, 32)}, skip_if_exists=True)
    study.optimize(lambda t: len(t.suggest_categorical("shape", [(32,), (64, 32)])), n_trials=1)
    trial = hs.load_study(study.study_name, storage=url).trials[0]
    assert trial.state == hs.TrialState.COMPLETE
    assert trial.params["shape"] == (64, 32)
    assert len(study.trials) == 1


def test_a_sampler_error_in_ask_fails_the_new_trial_instead_of_leaving_it_running() -> None:
    class Broken:
        def joint_space(self, view: hs.StudyView) -> dict[str, hs.Distribution]:
            return {"x": hs.Float(0, 1)}

        def suggest(self, view: object, space: object, rng: object) -> dict[str, object]:
            raise RuntimeError("model blew up")

    study = hs.create_study(sampler=Broken())
    with pytest.raises(RuntimeError, match="model blew up"):
        study.ask()
    (trial,) = study.trials
    assert trial.state == hs.TrialState.FAILED
    assert trial.system_attrs["fail_reason"] == "RuntimeError: model blew up"


def test_samplers_see_the_joint_draws_of_trials_asked_but_not_yet_suggested() -> None:
    seen: list[list[dict[str, object]]] = []

    class Recorder:
        def joint_space(self, view: hs.StudyView) -> dict[str, hs.Distribution]:
            return {"x": hs.Float(0, 1)}

        def suggest(
            self, view: hs.StudyView, space: dict[str, hs.Distribution], rng: object
        ) -> dict[str, object]:
            seen.append([dict(t.params) for t in view.running])
            return {"x": 0.1 * (len(view.running) + 1)}

    study = hs.create_study(sampler=Recorder())
    first = study.ask()
    second = study.ask()  # the first trial has not called suggest_float yet
    assert seen[-1] == [{"x": 0.1}]
    assert first.params == {}  # nothing is stored before the objective asks for it
    assert second.suggest_float("x", 0, 1) == 0.2
    first.suggest_float("x", 0, 2)  # a new distribution: the draw is not forced on it
    study.tell(first, 1.0)
    study.tell(second, 1.0)
    study.ask()
    assert seen[-1] == []  # finished trials drop out of the pending draws

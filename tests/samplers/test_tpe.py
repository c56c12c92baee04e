"""TPE sampler: startup, bounds and types, seeding, conditional spaces, liar, objectives, args."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import make_sampler
from hyperscout.samplers._tpe import TPESampler, default_gamma
from param_checks import assert_allowed

SPACE: dict[str, hs.Distribution] = {
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "x": hs.Float(-3.0, 3.0),
    "q": hs.Float(0.0, 1.0, step=0.1),
    "n": hs.Int(1, 1024, log=True),
    "k": hs.Int(0, 200, step=5),  # 41 values
    "m": hs.Int(-1000, 1000),  # many values: continuous kernel, snapped
    "c": hs.Categorical(["a", None, True, False, 1, 2.5]),
    "flag": hs.Categorical([True, False]),
}


def mixed_objective(trial: hs.Trial) -> float:
    p = {name: trial.suggest(name, dist) for name, dist in SPACE.items()}
    value = (math.log10(p["lr"]) + 3) ** 2 + (p["x"] - 1) ** 2 + (p["q"] - 0.3) ** 2
    value += (math.log2(p["n"]) - 5) ** 2 / 4 + ((p["k"] - 60) / 50) ** 2 + (p["m"] / 500) ** 2
    return value + (p["c"] is not None) + 0.5 * p["flag"]


def fingerprint(study: hs.Study) -> list[str]:
    return [
        repr(sorted((k, type(v).__name__, v) for k, v in t.params.items())) for t in study.trials
    ]


def quadratic(trial: hs.Trial) -> float:
    return (trial.suggest_float("x0", 0, 1) - 0.8) ** 2 + (
        trial.suggest_float("x1", 0, 1) - 0.2
    ) ** 2


# -- startup, then model ----------------------------------------------------------------------
@pytest.mark.parametrize("multivariate", [True, False])
def test_startup_trials_are_uniform_random_then_the_model_takes_over(multivariate: bool) -> None:
    tpe = hs.create_study(sampler=TPESampler(n_startup_trials=8, multivariate=multivariate), seed=4)
    rnd = hs.create_study(sampler="random", seed=4)
    tpe.optimize(quadratic, n_trials=40)
    rnd.optimize(quadratic, n_trials=40)
    # Same study seed, same per-trial streams: the first 8 trials are exactly random search's.
    assert fingerprint(tpe)[:8] == fingerprint(rnd)[:8]
    assert fingerprint(tpe)[8:] != fingerprint(rnd)[8:]

    def distance(study: hs.Study) -> float:
        late = study.trials[-15:]
        return float(
            np.median([math.hypot(t.params["x0"] - 0.8, t.params["x1"] - 0.2) for t in late])
        )

    assert distance(tpe) < distance(rnd) / 2


def test_the_default_sampler_is_tpe() -> None:
    assert isinstance(hs.create_study().sampler, TPESampler)
    assert isinstance(make_sampler("tpe"), TPESampler)
    assert "n_startup_trials=10" in repr(TPESampler())


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("multivariate", [True, False])
def test_values_stay_inside_their_distributions(multivariate: bool) -> None:
    study = hs.create_study(sampler=TPESampler(multivariate=multivariate), seed=1)
    study.optimize(mixed_objective, n_trials=60)
    for t in study.trials:
        assert set(t.params) == set(SPACE)
        assert_allowed(t.params, SPACE)
    if multivariate:  # one model of all parameters sees that None is the best choice
        late = [t.params["c"] for t in study.trials[20:]]
        assert late.count(None) > len(late) / 2
    assert study.best_value < 2.5


def test_single_valued_distributions_and_a_declared_space() -> None:
    space = {"one": hs.Int(3, 3), "only": hs.Categorical(["x"]), "y": hs.Float(0.0, 1.0)}
    study = hs.create_study(sampler=TPESampler(n_startup_trials=2), seed=0)
    for _ in range(8):
        trial = study.ask(space)
        assert trial.params["one"] == 3 and trial.params["only"] == "x"
        assert_allowed(trial.params, space)
        study.tell(trial, trial.params["y"])


# -- seeding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("multivariate", [True, False])
def test_same_seed_gives_bit_identical_sequences(multivariate: bool) -> None:
    runs = []
    for _ in range(2):
        study = hs.create_study(sampler=TPESampler(multivariate=multivariate), seed=123)
        study.optimize(mixed_objective, n_trials=40)
        runs.append(fingerprint(study))
    assert runs[0] == runs[1]
    other = hs.create_study(sampler=TPESampler(multivariate=multivariate), seed=124)
    other.optimize(mixed_objective, n_trials=40)
    assert fingerprint(other)[20:] != runs[0][20:]


def test_a_sampler_shared_by_two_studies_gives_each_its_own_sequence() -> None:
    # Caches are keyed on the trials a view holds, so interleaving studies changes nothing.
    shared = TPESampler()
    a = hs.create_study(sampler=shared, seed=5)
    b = hs.create_study(sampler=shared, seed=6)
    for _ in range(30):
        for study in (a, b):
            trial = study.ask()
            study.tell(trial, quadratic(trial))
    for study, seed in ((a, 5), (b, 6)):
        alone = hs.create_study(sampler=TPESampler(), seed=seed)
        alone.optimize(quadratic, n_trials=30)
        assert fingerprint(alone) == fingerprint(study)


def test_the_sampler_pickles_without_its_caches() -> None:
    sampler = TPESampler(n_startup_trials=3)
    study = hs.create_study(sampler=sampler, seed=0)
    study.optimize(quadratic, n_trials=12)  # fills the caches
    copy = pickle.loads(pickle.dumps(sampler))
    runs = []
    for s in (sampler, copy):
        other = hs.create_study(sampler=s, seed=9)
        other.optimize(quadratic, n_trials=15)
        runs.append(fingerprint(other))
    assert runs[0] == runs[1]


# -- conditional spaces -------------------------------------------------------------------------
def conditional(trial: hs.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["a", "b", None])
    if kind == "a":
        return trial.suggest_float("x", 0.0, 10.0)
    if kind == "b":
        n = trial.suggest_int("n", 1, 100, log=True)
        return (
            0.5 + (n - 20) ** 2 / 100 + (0.3 if trial.suggest_categorical("f", [1, 2]) == 1 else 0)
        )
    return 5.0


@pytest.mark.parametrize("multivariate", [True, False])
def test_conditional_parameters_are_sampled_by_the_model(multivariate: bool) -> None:
    study = hs.create_study(sampler=TPESampler(multivariate=multivariate), seed=2)
    study.optimize(conditional, n_trials=60)
    expected = {"a": {"kind", "x"}, "b": {"kind", "n", "f"}, None: {"kind"}}
    for t in study.trials:
        assert set(t.params) == expected[t.params["kind"]]
    xs = [t.params["x"] for t in study.trials if t.params["kind"] == "a"]
    assert len(xs) > 30  # the best branch gets most trials
    assert np.median(xs[-10:]) < 1.0  # x is modelled: random x would have a median near 5
    assert study.best_value < 0.1


def test_a_parameter_never_seen_before_is_uniform() -> None:
    study = hs.create_study(sampler=TPESampler(n_startup_trials=2), seed=3)
    study.optimize(quadratic, n_trials=20)
    values = []
    for _ in range(40):
        trial = study.ask({"new": hs.Float(0.0, 1.0)})
        values.append(trial.params["new"])
        study.tell(trial, state=hs.TrialState.FAILED)  # never COMPLETE: stays unseen
    assert 0.3 < float(np.mean(values)) < 0.7
    assert min(values) < 0.15 and max(values) > 0.85


# -- parallel trials -----------------------------------------------------------------------------
def crowded_next(constant_liar: bool, seed: int) -> float:
    """Distance from the best point of the next suggestions while 10 trials run there."""
    study = hs.create_study(sampler=TPESampler(constant_liar=constant_liar), seed=seed)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, (trial.suggest_float("x", 0.0, 1.0) - 0.3) ** 2)
    best = study.best_params["x"]
    for _ in range(10):
        study.enqueue_trial({"x": best})
    for trial in [study.ask() for _ in range(10)]:
        trial.suggest_float("x", 0.0, 1.0)  # RUNNING at the best point, not told
    nxt = [study.ask().suggest_float("x", 0.0, 1.0) for _ in range(5)]
    return float(np.min(np.abs(np.array(nxt) - best)))


def test_constant_liar_steers_new_trials_away_from_running_ones() -> None:
    with_liar = [crowded_next(True, seed) for seed in range(8)]
    without = [crowded_next(False, seed) for seed in range(8)]
    assert min(with_liar) > 0.05  # every seed keeps away from the 10 running trials
    assert sum(d < 0.01 for d in without) >= 3  # without the liar, several land on them


def test_threads_share_one_sampler() -> None:
    study = hs.create_study(sampler=TPESampler(n_startup_trials=5), seed=0)
    study.optimize(mixed_objective, n_trials=40, n_jobs=4)
    assert len(study.trials) == 40
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert_allowed(t.params, SPACE)


# -- pruned, failed, infinite and multi-objective results --------------------------------------
def test_pruned_and_failed_trials_are_handled() -> None:
    def objective(trial: hs.Trial) -> float:
        x = trial.suggest_float("x", -2.0, 2.0)
        trial.report(0, abs(x))
        if x > 1.0:
            raise hs.TrialPruned()
        if x < -1.5:
            raise RuntimeError("diverged")
        if -1.5 <= x < -1.0:
            return math.inf
        return (x - 0.5) ** 2

    study = hs.create_study(sampler=TPESampler(n_startup_trials=5), seed=1)
    study.optimize(objective, n_trials=50)
    states = {t.state for t in study.trials}
    assert {hs.TrialState.COMPLETE, hs.TrialState.PRUNED, hs.TrialState.FAILED} <= states
    assert abs(study.best_params["x"] - 0.5) < 0.1
    late = [t.params["x"] for t in study.trials[-15:]]
    assert sum(x > 1.0 for x in late) <= 3  # the pruned region counts as bad
    assert sum(x < -1.5 for x in late) <= 3  # so does the region where the objective fails


def hypervolume_2d(study: hs.Study, ref: tuple[float, float]) -> float:
    """Area dominated by the Pareto front and bounded by ``ref`` (both objectives minimized)."""
    area, prev = 0.0, ref[1]
    for a, b in sorted(tuple(t.values or ()) for t in study.best_trials):
        if a < ref[0] and b < prev:
            area += (ref[0] - a) * (prev - b)
            prev = b
    return area


def test_multi_objective_studies_improve_the_front_over_random_search() -> None:
    def objective(trial: hs.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", -4.0, 4.0)
        y = trial.suggest_float("y", -4.0, 4.0)
        return x**2 + y**2, (x - 2) ** 2 + y**2

    for seed in range(3):
        volumes = []
        for sampler in (TPESampler(), "random"):
            study = hs.create_study(directions=["minimize"] * 2, sampler=sampler, seed=seed)
            study.optimize(objective, n_trials=60)
            volumes.append(hypervolume_2d(study, (8.0, 8.0)))
        assert volumes[0] > volumes[1] + 3.0  # ~61.3 is the best possible
    study = hs.create_study(directions=["maximize", "minimize"], sampler=TPESampler(), seed=0)
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_int("b", 0, 9)), n_trials=25)
    assert study.best_trials
    late = study.trials[-10:]  # "maximize" is honoured: late trials favour large a, small b
    assert np.mean([t.params["a"] for t in late]) > 0.5
    assert np.mean([t.params["b"] for t in late]) < 4.5


# -- arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_startup_trials": -1},
        {"n_startup_trials": 2.5},
        {"n_startup_trials": True},
        {"n_ei_candidates": 0},
        {"multivariate": "yes"},
        {"constant_liar": 1},
        {"gamma": 0.1},
        {"prior_weight": 0.0},
        {"prior_weight": math.nan},
        {"prior_weight": "1"},
        {"consider_magic_clip": None},
    ],
)
def test_bad_arguments_raise_invalid_argument_error(kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(hs.InvalidArgumentError, match=f"`{name}`"):
        TPESampler(**kwargs)


def test_gamma_is_called_and_its_result_checked() -> None:
    assert [default_gamma(n) for n in (1, 10, 100, 1000)] == [1, 2, 15, 25]
    seen: list[int] = []

    def gamma(n: int) -> int:
        seen.append(n)
        return 3

    study = hs.create_study(sampler=TPESampler(n_startup_trials=4, gamma=gamma), seed=0)
    study.optimize(quadratic, n_trials=8)
    assert seen and max(seen) == 7
    bad = hs.create_study(sampler=TPESampler(n_startup_trials=1, gamma=lambda n: -1), seed=0)
    bad.optimize(quadratic, n_trials=1)
    with pytest.raises(hs.InvalidArgumentError, match="`gamma` must return"):
        bad.optimize(quadratic, n_trials=1, catch=())


def test_magic_clip_off_and_a_heavy_prior_still_work() -> None:
    for sampler in (TPESampler(consider_magic_clip=False), TPESampler(prior_weight=10.0)):
        study = hs.create_study(sampler=sampler, seed=0)
        study.optimize(mixed_objective, n_trials=30)
        for t in study.trials:
            assert_allowed(t.params, SPACE)

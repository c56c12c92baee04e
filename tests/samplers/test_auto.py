"""AutoSampler: which sampler the rule picks, and that it then behaves like that sampler."""

from __future__ import annotations

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import AutoSampler, TPESampler
from hyperscout.samplers.gp import GPSampler


def flat(trial: hs.Trial) -> float:
    return (trial.suggest_float("x", -2, 2) - 0.5) ** 2 + trial.suggest_int("n", 1, 9) / 10


def conditional(trial: hs.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if kind == "a":
        return trial.suggest_float("xa", 0, 1)
    return 1 + trial.suggest_float("xb", 0, 1)


def many_categoricals(trial: hs.Trial) -> float:
    v = [trial.suggest_categorical(f"c{i}", [0, 1, 2]) for i in range(3)]
    return sum(v) + trial.suggest_float("x", 0, 1)


def choice_after(objective, n: int = 6, **kwargs) -> str:  # type: ignore[no-untyped-def]
    study = hs.create_study(sampler=AutoSampler(**kwargs), seed=0)
    study.optimize(objective, n_trials=n)
    sampler = study.sampler
    assert isinstance(sampler, AutoSampler)
    return sampler.choice(study._refresh_view())


def test_registered_and_exported() -> None:
    assert isinstance(hs.create_study(sampler="auto").sampler, AutoSampler)
    assert hs.AutoSampler is AutoSampler


@pytest.mark.parametrize(
    ("objective", "kwargs", "expected"),
    [
        (flat, {}, "gp"),
        (conditional, {}, "tpe"),
        (many_categoricals, {}, "tpe"),
        (flat, {"max_gp_trials": 5}, "tpe"),
        (flat, {"max_gp_dim": 1}, "tpe"),
    ],
)
def test_rule(objective, kwargs, expected) -> None:  # type: ignore[no-untyped-def]
    assert choice_after(objective, **kwargs) == expected


def test_multi_objective_uses_tpe() -> None:
    study = hs.create_study(sampler="auto", directions=["minimize", "maximize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=3)
    assert study.sampler.choice(study._refresh_view()) == "tpe"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("objective", "inner", "name"),
    [(flat, GPSampler(), "gp"), (conditional, TPESampler(), "tpe")],
)
def test_suggests_exactly_what_the_sampler_it_picks_would(objective, inner, name) -> None:  # type: ignore[no-untyped-def]
    study = hs.create_study(sampler="auto", seed=5)
    study.optimize(objective, n_trials=14)
    auto = study.sampler
    view = study._refresh_view()
    assert auto.choice(view) == name  # type: ignore[attr-defined]
    space = auto.joint_space(view)
    assert space == inner.joint_space(view) and space
    got = auto.suggest(view, space, np.random.default_rng(7))
    assert got == inner.suggest(view, space, np.random.default_rng(7))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_gp_trials": 0}, "max_gp_trials"),
        ({"max_gp_dim": "3"}, "max_gp_dim"),
        ({"max_gp_dim": True}, "max_gp_dim"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((hs.InvalidArgumentError, hs.InvalidTypeError), match=message):
        AutoSampler(**kwargs)

"""Local steps of the GP sampler: the box, its coordinates, and what they buy on a bowl."""

from __future__ import annotations

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers.gp import GPSampler
from hyperscout.samplers.gp._encoding import codec_for
from hyperscout.samplers.gp._local import local_box

SPACE = {"a": hs.Float(0.0, 1.0), "b": hs.Float(0.0, 1.0), "c": hs.Categorical(["x", "y"])}


def test_box_is_centred_on_the_incumbent_and_maps_back_exactly() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.random(20), rng.random(20), rng.integers(2, size=20)])
    y = rng.random(20)
    box = local_box(x, y, codec_for(SPACE))
    assert box is not None
    np.testing.assert_array_equal(box.center, x[np.argmin(y)])
    assert box.cols.tolist() == [0, 1]  # the categorical column is not moved
    local = box.to_local(x)
    np.testing.assert_allclose(local[np.argmin(y), :2], [0.5, 0.5])
    np.testing.assert_array_equal(local[:, 2], x[:, 2])
    np.testing.assert_allclose(box.to_global(local), x, atol=1e-12)
    np.testing.assert_allclose(box.axes.T @ box.axes, np.eye(2), atol=1e-12)


def test_box_follows_a_rotated_valley_and_shrinks_with_the_good_points() -> None:
    rng = np.random.default_rng(1)
    t = rng.normal(size=30)
    # the good points lie along the diagonal; the bad ones anywhere
    good = np.column_stack([0.5 + 0.1 * t, 0.5 + 0.1 * t + 0.001 * rng.normal(size=30)])
    bad = rng.random((30, 2))
    x = np.concatenate([good, bad])
    y = np.r_[np.abs(t), 10.0 + rng.random(30)]
    box = local_box(x, y, codec_for({"a": SPACE["a"], "b": SPACE["b"]}))
    assert box is not None
    long_axis = box.axes[:, int(np.argmax(box.half))]
    assert abs(abs(long_axis @ np.array([1.0, 1.0]) / np.sqrt(2)) - 1.0) < 1e-3
    assert box.half.max() / box.half.min() > 20
    tight = local_box(0.5 + (x - 0.5) * 1e-3, y, codec_for({"a": SPACE["a"], "b": SPACE["b"]}))
    assert tight is not None and tight.half.max() < box.half.max() * 2e-3


def test_no_box_without_a_continuous_parameter() -> None:
    codec = codec_for({"c": hs.Categorical(["x", "y"]), "k": hs.Int(0, 3)})
    assert local_box(np.zeros((4, 2)), np.arange(4.0), codec) is None


def ellipsoid(trial: hs.Trial) -> float:
    """Condition number 1e4: the global model alone stalls far from the optimum."""
    return sum(
        10 ** (4 * i / 3) * (trial.suggest_float(f"x{i}", -5, 5) - 1.234) ** 2 for i in range(4)
    )


@pytest.mark.slow
def test_local_steps_beat_the_global_model_on_an_ill_conditioned_bowl() -> None:
    best: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(3):
        for local in (True, False):
            study = hs.create_study(sampler=GPSampler(local_steps=local), seed=seed)
            study.optimize(ellipsoid, n_trials=50)
            best[local].append(study.best_value)
    # measured: medians 0.11 with local steps and 320 without
    assert np.median(best[True]) < np.median(best[False]) / 100


def test_local_steps_only_on_odd_trials_and_stay_in_bounds() -> None:
    space = {"x": hs.Float(-1.0, 1.0), "n": hs.Int(1, 1000), "c": hs.Categorical([1, 2])}
    study = hs.create_study(sampler=GPSampler(n_startup_trials=4), seed=3)
    study.optimize(
        lambda t: (
            t.suggest("x", space["x"]) ** 2
            + t.suggest("n", space["n"]) / 1000
            + t.suggest("c", space["c"])
        ),
        n_trials=16,
    )
    for t in study.trials:
        assert -1.0 <= t.params["x"] <= 1.0 and 1 <= t.params["n"] <= 1000
        assert isinstance(t.params["n"], int) and t.params["c"] in (1, 2)

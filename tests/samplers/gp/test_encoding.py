"""Search space <-> model columns: encoding, snapping to allowed values, decoding."""

from __future__ import annotations

import numpy as np

import hyperscout as hs
from hyperscout.samplers.gp._encoding import CAT, CONT, DISCRETE, RELAXED, codec_for

SPACE: dict[str, hs.Distribution] = {
    "x": hs.Float(-5.0, 5.0),
    "lr": hs.Float(1e-5, 1e-1, log=True),
    "q": hs.Float(0.0, 1.0, step=0.25),
    "n": hs.Int(1, 1024, log=True),
    "k": hs.Int(0, 10, step=2),
    "big": hs.Int(0, 500),
    "c": hs.Categorical(["a", None, True, False, 1, 2.5]),
}


def test_kinds() -> None:
    codec = codec_for(SPACE)
    assert codec.kinds.tolist() == [CONT, CONT, DISCRETE, RELAXED, DISCRETE, RELAXED, CAT]
    assert codec.fmap.n_choices == (0, 0, 0, 0, 0, 0, 6)


def test_any_point_of_the_cube_decodes_to_allowed_values() -> None:
    codec = codec_for(SPACE)
    u = np.random.default_rng(0).random((200, codec.dim))
    for row in codec.from_unit_cube(u):
        params = codec.decode(row)
        for name, dist in SPACE.items():
            assert dist.contains(params[name]), (name, params[name])


def test_snap_is_idempotent_and_lands_on_allowed_values() -> None:
    codec = codec_for(SPACE)
    u = np.random.default_rng(1).random((100, codec.dim))
    u[:, -1] = np.random.default_rng(2).integers(6, size=100)
    snapped = codec.snap(u)
    np.testing.assert_array_equal(codec.snap(snapped), snapped)
    for j in codec.columns(DISCRETE):
        grid = codec.grids[j]
        assert grid is not None
        assert np.all(np.isin(snapped[:, j], grid))


def test_encode_decode_round_trip() -> None:
    codec = codec_for(SPACE)
    study = hs.create_study(sampler="random", seed=0)
    for _ in range(20):
        study.tell(study.ask(SPACE), 0.0)
    x = codec.encode(study.trials)
    assert np.all((x[:, :-1] >= 0.0) & (x[:, :-1] <= 1.0))
    for t, row in zip(study.trials, x, strict=True):
        decoded = codec.decode(row)
        for name, value in t.params.items():
            assert type(decoded[name]) is type(value)
            if isinstance(value, float):
                assert np.isclose(decoded[name], value, rtol=1e-12)
            else:
                assert decoded[name] == value


def test_neighbours_of_a_relaxed_integer() -> None:
    codec = codec_for(SPACE)
    j = list(SPACE).index("big")
    dist = SPACE["big"]
    values = dist.from_unit(codec.neighbours(j, float(dist.to_unit(100.0))))
    assert values.tolist() == [98.0, 99.0, 101.0, 102.0]

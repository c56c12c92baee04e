"""The GP posterior: interpolation, gradients, fantasies, the categorical feature map."""

from __future__ import annotations

import numpy as np
import pytest

from hyperscout.samplers.gp._likelihood import fit_hyper
from hyperscout.samplers.gp._model import FeatureMap, Hyper, Posterior

NOISELESS = np.log(1e-6)


def test_posterior_interpolates_noiseless_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((25, 2))
    y = np.sin(4 * x[:, 0]) * np.cos(3 * x[:, 1])
    y = (y - y.mean()) / y.std()
    fmap = FeatureMap((0, 0))
    post = Posterior(x, y, fit_hyper(x, y, fmap, fixed_noise=True), fmap)
    mean, var = post.predict(x)
    np.testing.assert_allclose(mean, y, atol=1e-3)
    assert np.all(var < 1e-4)
    np.testing.assert_allclose(post.train_mean(), y, atol=1e-3)
    far_mean, far_var = post.predict(np.array([[5.0, 5.0]]))  # far away: the prior
    assert abs(far_mean[0]) < 1e-3 and far_var[0] == pytest.approx(post.scale, rel=1e-3)


def test_posterior_survives_duplicated_points() -> None:
    x = np.array([[0.2], [0.2], [0.2], [0.8]])
    y = np.array([1.0, 1.0, 1.0, -1.0])
    post = Posterior(x, y, Hyper(np.zeros(1), -np.inf), FeatureMap((0,)))  # no noise at all
    mean, var = post.predict(np.array([[0.2], [0.5]]))
    assert np.all(np.isfinite(mean)) and np.all(var > 0.0)
    assert mean[0] == pytest.approx(1.0, abs=1e-3)


def test_gradients_of_mean_and_variance_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    fmap = FeatureMap((0, 4, 0))
    x = rng.random((30, 3))
    x[:, 1] = rng.integers(4, size=30)
    hyper = Hyper(np.log([0.3, 1.0, 0.5]), -6.0, log_scale=0.2)
    post = Posterior(x, rng.standard_normal(30), hyper, fmap)
    q = rng.random((8, 3))
    q[:, 1] = rng.integers(4, size=8)
    cols = [0, 2]
    mean, var, dmean, dvar = post.predict_with_grad(q, cols)
    np.testing.assert_allclose((mean, var), post.predict(q), rtol=1e-9, atol=1e-12)
    for k, c in enumerate(cols):
        step = np.zeros(3)
        step[c] = 1e-6
        (mp, vp), (mm, vm) = post.predict(q + step), post.predict(q - step)
        np.testing.assert_allclose(dmean[:, k], (mp - mm) / 2e-6, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dvar[:, k], (vp - vm) / 2e-6, rtol=1e-5, atol=1e-6)


def test_fantasies_keep_the_mean_and_shrink_the_variance_at_pending_points() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((15, 2))
    fmap = FeatureMap((0, 0))
    post = Posterior(x, rng.standard_normal(15), Hyper(np.log([0.3, 0.3]), NOISELESS), fmap)
    pending = np.array([[0.5, 0.5], [0.1, 0.9]])
    believer = post.with_fantasies(pending)
    mean0, var0 = post.predict(pending)
    mean1, var1 = believer.predict(pending)
    np.testing.assert_allclose(mean1, mean0, atol=1e-6)
    assert np.all(var1 < 1e-4 * var0)
    assert post.with_fantasies(np.empty((0, 2))) is post


def test_categorical_features_give_the_hamming_distance() -> None:
    fmap = FeatureMap((0, 3))
    x = np.array([[0.5, 0.0], [0.5, 2.0], [0.5, 2.0]])
    feats = fmap(x)
    assert feats.shape == (3, 4)
    w = fmap.weights(np.zeros(2))
    sq = lambda a, b: float(np.sum(w * (feats[a] - feats[b]) ** 2))  # noqa: E731
    assert sq(0, 1) == pytest.approx(1.0)  # different choices: distance 1
    assert sq(1, 2) == 0.0
    np.testing.assert_array_equal(fmap.owner, [0, 1, 1, 1])

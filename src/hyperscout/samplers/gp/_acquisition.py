"""Log expected improvement, computed stably far into the tail (no underflow to -inf).

Minimization: the improvement of ``f ~ N(mean, var)`` over ``best`` is ``max(best - f, 0)``, and
``EI = sigma h(z)`` with ``z = (best - mean) / sigma`` and ``h(z) = phi(z) + z Phi(z)``. For very
negative ``z``, ``h`` underflows; ``log_h`` follows Ament, Daulton, Eriksson, Balandat & Bakshy,
"Unexpected Improvements to Expected Improvement for Bayesian Optimization", NeurIPS 2023,
eq. (9), with ``log1mexp`` from Maechler, "Accurately Computing log(1 - exp(-|a|))", 2012.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["log_ei", "log_ei_with_grad", "log_h", "log_h_grad"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
# Ament et al. switch to the asymptote at -1/sqrt(eps) (about -6.7e7), where the argument of
# log1mexp in the middle branch, log(1 - 1/z^2 + ...), has rounded to 0 and gives NaN or -inf.
# Switching at -1e4 with one more term of the series, log1p(-3 / z^2), keeps every branch
# accurate to about 1e-8 (the next term of the series is 15 / z^4 < 2e-15).
_TAIL = -1e4


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0`` (Maechler 2012, eq. 7); ``(n,) -> (n,)``."""
    out = np.empty_like(x)
    near = x > -math.log(2.0)
    out[near] = np.log(-np.expm1(x[near]))
    out[~near] = np.log1p(-np.exp(x[~near]))
    return out


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z`` (Ament et al. 2023, eq. 9).

    For ``z <= -1e4`` the asymptotic series ``h(z) = phi(z) / z^2 (1 - 3 / z^2 + ...)`` (from the
    expansion of Mills' ratio) replaces the erfcx branch; see ``_TAIL``.

    Args:
        z: ``(n,)`` standardized improvements.

    Returns:
        ``(n,)`` values; for ``z -> -inf`` they behave like ``-z^2/2 - log(2 pi)/2 - 2 log|z|``.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * ndtr(zu))
    mid = ~upper & (z > _TAIL)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _C1 + log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * -zm) + _C2)
    low = ~upper & ~mid
    zl = z[low]
    out[low] = -0.5 * zl * zl - _C1 - 2.0 * np.log(-zl) + np.log1p(-3.0 / (zl * zl))
    return out


def log_h_grad(z: np.ndarray, lh: np.ndarray) -> np.ndarray:
    """``d log_h / dz = Phi(z) / h(z)`` from ``log_h`` values ``lh``; ``(n,) -> (n,)``."""
    out: np.ndarray = np.exp(log_ndtr(z) - lh)
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Log expected improvement below ``best``: ``log_h(z) + log sigma``; ``(n,) -> (n,)``."""
    sigma = np.sqrt(var)
    out: np.ndarray = log_h((best - mean) / sigma) + np.log(sigma)
    return out


def log_ei_with_grad(
    mean: np.ndarray, var: np.ndarray, dmean: np.ndarray, dvar: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """Log EI and its gradient by the chain rule through ``z`` and ``sigma``.

    Args:
        mean: ``(m,)`` posterior means.
        var: ``(m,)`` posterior variances.
        dmean: ``(m, c)`` gradients of the mean.
        dvar: ``(m, c)`` gradients of the variance.
        best: the incumbent (smaller is better).

    Returns:
        ``(value (m,), gradient (m, c))``.
    """
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    lh = log_h(z)
    dsigma = dvar / (2.0 * sigma)[:, None]
    dz = (-dmean - z[:, None] * dsigma) / sigma[:, None]
    grad = log_h_grad(z, lh)[:, None] * dz + dsigma / sigma[:, None]
    return lh + np.log(sigma), grad

"""The ARD Matern-5/2 kernel on encoded features, and a Cholesky factorization that never fails.

Every function here is pure numpy. Features are the model's coordinates: numeric parameters are
their position in the unit interval (log-scaled for log parameters, cell centres for discrete
ones); a categorical parameter is a one-hot block whose squared distance, weighted by 1/2, is the
Hamming distance (1 when the choices differ, 0 otherwise).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack

__all__ = ["matern52", "robust_cholesky", "scaled_sq_dists"]

SQRT5 = math.sqrt(5.0)
_JITTERS = (0.0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2)


def scaled_sq_dists(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted squared distances ``r2[i, j] = sum_k w[k] (a[i, k] - b[j, k])**2``.

    Args:
        a: ``(n, D)`` features.
        b: ``(m, D)`` features.
        w: ``(D,)`` non-negative weights (inverse squared lengthscales).

    Returns:
        ``(n, m)`` squared distances, clipped at 0 (the expansion through a matrix product can
        round slightly below 0).
    """
    # Centre at 0.5 (features live in [0, 1]): smaller norms, less cancellation in the expansion.
    a, b = a - 0.5, b - 0.5
    aw = a * w
    r2 = aw @ b.T
    r2 *= -2.0
    r2 += (aw * a).sum(axis=1)[:, None]
    r2 += ((b * b) @ w)[None, :]
    out: np.ndarray = np.maximum(r2, 0.0, out=r2)
    return out


def matern52(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matern-5/2 correlation and its derivative factor, from squared distances.

    ``m(r) = (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r)`` (Rasmussen & Williams, "Gaussian Processes
    for Machine Learning", 2006, eq. 4.17 with nu = 5/2); ``q = -dm / d(r^2) =
    (5/6) (1 + sqrt5 r) exp(-sqrt5 r)``, finite at r = 0.

    Args:
        r2: squared distances of any shape.

    Returns:
        ``(m, q)``, both shaped like ``r2``.
    """
    sr = np.sqrt(r2)
    sr *= SQRT5
    e = np.negative(sr)
    np.exp(e, out=e)
    q = np.add(sr, 1.0, out=sr)
    q *= e  # (1 + sqrt5 r) exp(-sqrt5 r)
    m = np.multiply(r2, 5.0 / 3.0)
    m *= e
    m += q
    q *= 5.0 / 6.0
    return m, q


def robust_cholesky(k: np.ndarray) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor of a symmetric matrix, adding jitter to the diagonal until it works.

    Only the lower triangle of ``k`` is read.

    Jitter escalates from 0 through 1e-10 ... 1e-2 times the mean diagonal; as a last resort the
    Gershgorin bound (the largest absolute row sum) makes the matrix diagonally dominant, hence
    positive definite. So duplicated points, or any finite symmetric matrix, never raise.

    Args:
        k: ``(n, n)`` symmetric matrix (its lower triangle).

    Returns:
        ``(L, jitter)``: ``L`` is ``(n, n)`` lower triangular with ``L @ L.T == k + jitter * I``.
    """
    chol, info = lapack.dpotrf(k, lower=1, clean=1)
    if info == 0 and np.all(np.isfinite(np.diag(chol))):
        out: np.ndarray = chol
        return out, 0.0
    k = np.tril(np.nan_to_num(k, nan=0.0, posinf=1e300, neginf=-1e300))
    k = k + np.tril(k, -1).T
    n = k.shape[0]
    scale = float(np.mean(np.abs(np.diag(k)))) if n else 1.0
    scale = scale if scale > 0.0 and math.isfinite(scale) else 1.0
    idx = np.arange(n)
    for rel in (*_JITTERS[1:], None):
        jitter = float(np.max(np.sum(np.abs(k), axis=1))) + scale if rel is None else rel * scale
        a = k.copy()
        a[idx, idx] += jitter
        chol, info = lapack.dpotrf(a, lower=1, clean=1, overwrite_a=1)
        if info == 0 and np.all(np.isfinite(np.diag(chol))):
            out = chol
            return out, jitter
    return np.diag(np.sqrt(np.abs(np.diag(k)) + scale)), scale  # pragma: no cover

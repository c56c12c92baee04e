"""GP regression on the model's features: the feature map, hyperparameters, the posterior.

The model is ``y = f(x) + eps`` with ``f ~ GP(0, s * m52(x, x'))`` (ARD Matern-5/2, one lengthscale
per parameter, ``s = 1`` by default) and ``eps ~ N(0, noise)``, on outputs already transformed to
zero mean and unit variance. :mod:`._likelihood` fits the hyperparameters; this module
predicts with them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack, solve_triangular

from hyperscout.samplers.gp._kernel import matern52, robust_cholesky, scaled_sq_dists

__all__ = ["FeatureMap", "Hyper", "Posterior"]


@dataclass(frozen=True, slots=True)
class FeatureMap:
    """Parameter-space points ``(n, d)`` to kernel features ``(n, D)``.

    Numeric parameters hold unit-interval positions and map to one feature each; categorical ones
    hold the choice index and map to a one-hot block weighted by 1/2, so that the weighted squared
    distance of the block is the Hamming distance.

    Attributes:
        n_choices: ``(d,)`` choices per categorical parameter, 0 for numeric ones.
    """

    n_choices: tuple[int, ...]

    @property
    def owner(self) -> np.ndarray:
        """``(D,)`` index of the parameter each feature belongs to."""
        return np.repeat(np.arange(len(self.n_choices)), [max(c, 1) for c in self.n_choices])

    @property
    def half(self) -> np.ndarray:
        """``(D,)`` weight factor: 1 for numeric features, 1/2 for one-hot ones."""
        return np.repeat(
            [0.5 if c else 1.0 for c in self.n_choices], [max(c, 1) for c in self.n_choices]
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(n, d)`` points to ``(n, D)`` features."""
        if not any(self.n_choices):
            return x
        cols: list[np.ndarray] = []
        for j, c in enumerate(self.n_choices):
            if c:
                cols.append(x[:, j : j + 1].astype(np.int64) == np.arange(c))
            else:
                cols.append(x[:, j : j + 1])
        return np.concatenate(cols, axis=1).astype(float)

    def weights(self, log_ls: np.ndarray) -> np.ndarray:
        """``(d,)`` log lengthscales to ``(D,)`` feature weights ``half / l**2``."""
        out: np.ndarray = np.exp(-2.0 * log_ls)[self.owner] * self.half
        return out


@dataclass(frozen=True, slots=True)
class Hyper:
    """Hyperparameters: ``(d,)`` log lengthscales, log noise, log signal variance (fixed at 0)."""

    log_ls: np.ndarray
    log_noise: float
    log_scale: float = 0.0

    @staticmethod
    def from_theta(theta: np.ndarray) -> Hyper:
        """Split ``(d + 1,)`` theta (log lengthscales, log noise) into its parts."""
        return Hyper(np.array(theta[:-1], dtype=float), float(theta[-1]))


class Posterior:
    """The GP posterior given training points, outputs and hyperparameters.

    Example:
        >>> fmap = FeatureMap((0,))
        >>> x = np.array([[0.1], [0.5], [0.9]])
        >>> post = Posterior(x, np.array([1.0, -1.0, 0.5]), Hyper(np.zeros(1), -13.8), fmap)
        >>> mean, var = post.predict(x)
        >>> bool(np.allclose(mean, [1.0, -1.0, 0.5], atol=1e-4))
        True
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, hyper: Hyper, fmap: FeatureMap) -> None:
        self.x, self.y, self.hyper, self.fmap = x, y, hyper, fmap
        self.feats = fmap(x)
        self.w = fmap.weights(hyper.log_ls)
        self.scale = math.exp(hyper.log_scale)
        self.noise = math.exp(hyper.log_noise)
        k = self.scale * matern52(scaled_sq_dists(self.feats, self.feats, self.w))[0]
        k[np.diag_indices(len(y))] += self.noise
        chol, self.jitter = robust_cholesky(k)
        self.chol: np.ndarray = chol
        self.alpha: np.ndarray = lapack.dpotrs(chol, y, lower=1)[0]

    def train_mean(self) -> np.ndarray:
        """``(n,)`` posterior mean of f at the training points: ``y - (noise + jitter) a``."""
        out: np.ndarray = self.y - (self.noise + self.jitter) * self.alpha
        return out

    def _cross(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features of ``x``, the Matern factors ``(m52, q)`` against the training points."""
        feats = self.fmap(x)
        m52, q = matern52(scaled_sq_dists(feats, self.feats, self.w))
        return feats, m52, q

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of f at ``(m, d)`` points; both ``(m,)``."""
        kq = self.scale * self._cross(x)[1]
        v = solve_triangular(self.chol, kq.T, lower=True, check_finite=False)  # L^-1 k, (n, m)
        var = np.maximum(self.scale - np.einsum("ij,ij->j", v, v), 1e-12 * self.scale)
        return kq @ self.alpha, var

    def predict_with_grad(
        self, x: np.ndarray, cols: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients along numeric parameters ``cols``.

        Args:
            x: ``(m, d)`` points.
            cols: indices of numeric parameters (each is one feature).

        Returns:
            ``(mean (m,), var (m,), dmean (m, c), dvar (m, c))``.
        """
        feats, m52, q = self._cross(x)
        kq = self.scale * m52
        b = lapack.dpotrs(self.chol, kq.T, lower=1)[0].T  # K^-1 k, (m, n)
        var = self.scale - np.einsum("ij,ij->i", kq, b)
        fcols = np.searchsorted(self.fmap.owner, np.asarray(cols, dtype=np.int64))
        xc, tc, wc = feats[:, fcols], self.feats[:, fcols], self.w[fcols]
        g = (2.0 * self.scale) * q  # dk/dx_c = -g w_c (x_c - t_c)
        ga, gb = g * self.alpha, g * b
        dmean = -wc * (xc * ga.sum(axis=1)[:, None] - ga @ tc)
        dvar = 2.0 * wc * (xc * gb.sum(axis=1)[:, None] - gb @ tc)
        floor = 1e-12 * self.scale
        dvar[var <= floor] = 0.0
        return kq @ self.alpha, np.maximum(var, floor), dmean, dvar

    def with_fantasies(self, x_pending: np.ndarray) -> Posterior:
        """Kriging believer: condition on pending points observed at their posterior mean.

        Ginsbourger, Le Riche & Carraro, "Kriging is well-suited to parallelize optimization",
        2010, Sec. 3.1. The mean is unchanged; the variance at and near pending points shrinks.
        """
        if x_pending.shape[0] == 0:
            return self
        fantasy = self.predict(x_pending)[0]
        x = np.concatenate([self.x, x_pending])
        return Posterior(x, np.concatenate([self.y, fantasy]), self.hyper, self.fmap)

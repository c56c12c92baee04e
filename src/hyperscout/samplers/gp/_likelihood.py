"""GP hyperparameters by maximum a posteriori: priors, the marginal likelihood, the fit.

``theta = (log lengthscales (d,), log noise)`` maximizes the log marginal likelihood plus log
priors (MAP, taken in log space). The signal variance is fixed at 1: outputs are standardized,
and a free signal variance lets "long lengthscales and a large amplitude" mimic a linear trend
that sends every suggestion to a corner (as Hvarfner et al. also fix it).

* ``log l_i ~ N(log(d) / 2, 3)``: the dimension-scaled prior of Hvarfner, Hellsten & Nardi,
  "Vanilla Bayesian Optimization Performs Great in High Dimensions", ICML 2024, Sec. 4 (median
  lengthscale growing as sqrt(d)), with the median ``sqrt(d)`` instead of their
  ``exp(sqrt2) sqrt(d)``: with their median (about 10 in the unit cube for d = 6) a MAP fit on
  20-40 points explains the data with two or three short lengthscales and calls every other
  parameter irrelevant. Measured with 5 seeds on Hartmann-6, a 5-d mixed space, sphere-10,
  Rastrigin-4 and Ackley-5, the shorter median found better optima on four of the five (all but
  sphere-10).
* ``log noise ~ N(-12, 2)`` (median 6e-6, floor 1e-6): objectives in HPO are mostly deterministic
  or nearly so on the standardized scale; the likelihood raises the noise where the data are
  noisy. BoTorch's ``N(-4, 1)`` pulled a nugget of 1-2% of the variance onto deterministic
  functions and smoothed away the structure near the optimum: sphere-10 after 60 trials, median
  best 5.3 with it and 0.03 with this prior, all else equal; on Hartmann-6 with noise of sd 0.1,
  0.15 with this prior and 1.1 with BoTorch's.

The likelihood works on pairs of points: squared differences per parameter (the Hamming distance
for categoricals) are computed once per fit, so an evaluation costs one matrix-vector product,
the kernel on ``n (n - 1) / 2`` pairs, a Cholesky factorization and an inverse.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack
from scipy.optimize import minimize

from hyperscout.samplers.gp._kernel import matern52, robust_cholesky, scaled_sq_dists
from hyperscout.samplers.gp._model import FeatureMap, Hyper

__all__ = ["MarginalLikelihood", "fit_hyper", "ls_prior_mean", "neg_log_posterior"]

LOG_LS_BOUNDS = (math.log(5e-3), math.log(1e3))
LOG_NOISE_BOUNDS = (math.log(1e-6), 0.0)
_NOISE_PRIOR = (-12.0, 2.0)
_LS_PRIOR_SD = math.sqrt(3.0)
_LOG_2PI = math.log(2.0 * math.pi)
_SHIFTS = (0.0, -1.0, -2.0, -3.0)  # deterministic starts: prior median of l times exp(shift)
_PAIR_LIMIT = 8_000_000  # pairs * d above which differences are not stored (64 MB)
_TWO_RUNS_MAX_N = 120  # up to this many points, refine the two best starts, else the best one
_SUBSET_N = 128  # above this many points, fit on a subset first (see fit_hyper)
_REFINE_ITERS = 8


def ls_prior_mean(d: int) -> float:
    """Mean of log l: ``log(d) / 2`` (Hvarfner et al. 2024, Sec. 4, without their sqrt2)."""
    return 0.5 * math.log(max(d, 1))


def _prior(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations of the Normal priors on theta (see the module)."""
    mean = np.r_[np.full(d, ls_prior_mean(d)), _NOISE_PRIOR[0]]
    sd = np.r_[np.full(d, _LS_PRIOR_SD), _NOISE_PRIOR[1]]
    return mean, sd


class MarginalLikelihood:
    """Negative log posterior density of theta given ``(n, d)`` points and ``(n,)`` outputs.

    ``-log p(y | theta) = y' K^-1 y / 2 + log|K| / 2 + n log(2 pi) / 2`` and
    ``d/dtheta_j = -tr((a a' - K^-1) dK/dtheta_j) / 2`` with ``a = K^-1 y`` (Rasmussen & Williams,
    "Gaussian Processes for Machine Learning", 2006, eqs. 5.8 and 5.9).
    """

    def __init__(
        self, x: np.ndarray, y: np.ndarray, fmap: FeatureMap, pair_limit: int = _PAIR_LIMIT
    ) -> None:
        n, d = x.shape
        self.y, self.fmap, self.n, self.d = y, fmap, n, d
        self.prior_mean, self.prior_sd = _prior(d)
        self.d2: np.ndarray | None = None
        self.feats: np.ndarray | None = None
        if n * (n - 1) // 2 * d <= pair_limit:
            i, j = np.tril_indices(n, -1)
            self.pi, self.pj, self.flat = i, j, i * n + j
            # (d, pairs): each parameter's row is contiguous for the matrix-vector products.
            self.d2 = np.empty((d, self.flat.size))
            for c in range(d):
                diff = (x[:, c, None] - x[None, :, c]).ravel()[self.flat]
                self.d2[c] = (diff != 0.0) if fmap.n_choices[c] else diff * diff
        else:
            self.feats = fmap(x)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(value, (d + 1,) gradient)`` at ``theta``."""
        if self.d2 is None:
            value, grad = self._dense(theta)
        else:
            value, grad = self._pairs(theta, self.d2)
        z = (theta - self.prior_mean) / self.prior_sd
        return value + 0.5 * float(z @ z), grad + z / self.prior_sd

    def _solve(self, k: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """From the lower triangle of K: (-log likelihood, a = K^-1 y, lower triangle of K^-1)."""
        chol, _ = robust_cholesky(k)
        alpha = lapack.dpotrs(chol, self.y, lower=1)[0]
        logdet = float(np.sum(np.log(np.diag(chol))))
        value = 0.5 * float(self.y @ alpha) + logdet + 0.5 * self.n * _LOG_2PI
        return value, alpha, lapack.dpotri(chol, lower=1)[0]

    def _pairs(self, theta: np.ndarray, d2: np.ndarray) -> tuple[float, np.ndarray]:
        n, d = self.n, self.d
        w = np.exp(-2.0 * theta[:d])
        noise = math.exp(theta[d])
        m, q = matern52(w @ d2)
        k = np.zeros((n, n))
        k.ravel()[self.flat] = m
        k[np.diag_indices(n)] = 1.0 + noise
        value, alpha, kinv = self._solve(k)
        # W = a a' - K^-1 on pairs (p > q) and on the diagonal.
        wp = alpha[self.pi] * alpha[self.pj] - kinv.ravel()[self.flat]
        wd = alpha * alpha - np.diag(kinv)
        # dK_pq/dlog l_k = 2 q_pq w_k d2_pqk; each pair counts twice in the trace.
        grad_ls = -2.0 * w * (d2 @ (wp * q))
        grad_noise = -0.5 * noise * float(np.sum(wd))
        return value, np.concatenate([grad_ls, [grad_noise]])

    def _dense(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        feats, n, d = self.feats, self.n, self.d
        if feats is None:  # pragma: no cover - set in __init__ whenever d2 is None
            raise RuntimeError("no features")
        w = self.fmap.weights(theta[:d])
        noise = math.exp(theta[d])
        r2 = scaled_sq_dists(feats, feats, w)
        np.fill_diagonal(r2, 0.0)
        k, q = matern52(r2)
        k[np.diag_indices(n)] += noise
        value, alpha, kinv = self._solve(k)
        kinv = np.tril(kinv) + np.tril(kinv, -1).T
        wmat = np.outer(alpha, alpha) - kinv
        g = wmat * q
        # sum_pq g_pq (x_pk - x_qk)^2 = 2 sum_p x_pk^2 (g 1)_p - 2 sum_p x_pk (g x)_pk (g symmetric)
        t = 2.0 * (feats * feats).T @ g.sum(axis=1) - 2.0 * np.einsum("pk,pk->k", feats, g @ feats)
        grad_ls = -np.bincount(self.fmap.owner, weights=w * t, minlength=d)
        grad_noise = -0.5 * noise * float(np.trace(wmat))
        return value, np.r_[grad_ls, grad_noise]


def neg_log_posterior(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, fmap: FeatureMap
) -> tuple[float, np.ndarray]:
    """Negative log posterior density of theta and its ``(d + 1,)`` gradient.

    Args:
        theta: ``(d + 1,)`` log lengthscales, log noise.
        x: ``(n, d)`` training points.
        y: ``(n,)`` transformed outputs.
        fmap: the feature map of the space.
    """
    return MarginalLikelihood(x, y, fmap)(theta)


def _bounds(d: int, fixed_noise: bool) -> list[tuple[float, float]]:
    noise = (LOG_NOISE_BOUNDS[0], LOG_NOISE_BOUNDS[0]) if fixed_noise else LOG_NOISE_BOUNDS
    return [LOG_LS_BOUNDS] * d + [noise]


def fit_hyper(
    x: np.ndarray, y: np.ndarray, fmap: FeatureMap, *, fixed_noise: bool = False
) -> Hyper:
    """MAP hyperparameters by multi-start L-BFGS-B with analytic gradients.

    A deterministic function of the data. The starts are the prior medians with every lengthscale
    scaled by ``exp(shift)`` for each shift in ``_SHIFTS``; the best by posterior density (the two
    best up to ``_TWO_RUNS_MAX_N`` points) are refined with L-BFGS-B, and the best optimum wins.
    Above ``_SUBSET_N`` points, that search runs on an evenly spaced subset of the points, and its
    optimum starts a short L-BFGS-B run on all of them (coarse to fine: the likelihood of
    ``n`` points costs ``O(n^3)`` per evaluation).

    Args:
        x: ``(n, d)`` training points.
        y: ``(n,)`` transformed outputs.
        fmap: the feature map of the space.
        fixed_noise: pin the noise at its floor (1e-6) for deterministic objectives.
    """
    d = x.shape[1]
    bounds = _bounds(d, fixed_noise)
    lo, hi = np.array(bounds).T
    noise0 = LOG_NOISE_BOUNDS[0] if fixed_noise else _NOISE_PRIOR[0]
    starts = [
        np.clip(np.r_[np.full(d, ls_prior_mean(d) + shift), noise0], lo, hi) for shift in _SHIFTS
    ]
    n = x.shape[0]
    if n <= _SUBSET_N:
        return Hyper.from_theta(_multi_start(MarginalLikelihood(x, y, fmap), starts, bounds))
    sub = np.unique(np.round(np.linspace(0, n - 1, _SUBSET_N)).astype(np.int64))
    theta = _multi_start(MarginalLikelihood(x[sub], y[sub], fmap), starts, bounds)
    theta = _multi_start(MarginalLikelihood(x, y, fmap), [theta], bounds, _REFINE_ITERS)
    return Hyper.from_theta(theta)


def _multi_start(
    objective: MarginalLikelihood,
    starts: list[np.ndarray],
    bounds: list[tuple[float, float]],
    maxiter: int = 200,
) -> np.ndarray:
    """Refine the best start (two best for few points) with L-BFGS-B; the best theta found."""
    lo, hi = np.array(bounds).T
    scores = [objective(t)[0] for t in starts] if len(starts) > 1 else [math.inf]
    order = sorted(range(len(starts)), key=lambda i: (_finite_or_inf(scores[i]), i))
    best_theta, best_value = starts[order[0]], _finite_or_inf(scores[order[0]])
    for i in order[: 2 if objective.n <= _TWO_RUNS_MAX_N else 1]:
        res = minimize(
            objective,
            starts[i],
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "ftol": 1e-9, "gtol": 1e-5},
        )
        if math.isfinite(res.fun) and res.fun < best_value:
            best_theta, best_value = np.clip(res.x, lo, hi), float(res.fun)
    return best_theta


def _finite_or_inf(v: float) -> float:
    return v if math.isfinite(v) else math.inf

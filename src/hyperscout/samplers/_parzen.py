"""Parzen estimators for TPE: weighted kernel mixtures on the unit-cube encoding of a space.

A :class:`ParzenEstimator` is the density ``p(x) = sum_i w_i k_i(x) + w_0 u(x)`` of Watanabe,
"Tree-Structured Parzen Estimator: Understanding Its Algorithm Components and Their Roles for
Better Empirical Performance" (arXiv:2304.11127, 2023), Sec. 3 and App. C: one product kernel per
observation plus a uniform prior component ``u``. Each model dimension is one of

* continuous: a Gaussian truncated to [0, 1];
* discrete (a numeric parameter with few values, each owning a cell of [0, 1]): the same
  truncated Gaussian integrated over each cell, so a value's probability is its cell's mass;
* categorical: the Aitchison-Aitken kernel for unordered categories (Aitchison & Aitken,
  Biometrika 63(3), 1976): probability ``top`` on the observed choice, the rest spread evenly.

The module also maps distributions to model coordinates (:class:`Codec`) and holds the
expected-improvement and linear-forgetting weights of the two groups. All math is vectorized
over observations and candidates and done in log space.

Shapes: ``n`` observations, ``s`` candidates, ``dc`` continuous, ``dd`` discrete and ``dk``
categorical dimensions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from hyperscout.multiobjective import hypervolume_contributions
from hyperscout.space import Categorical, Distribution

__all__ = [
    "Codec",
    "KernelConfig",
    "Layout",
    "ParzenEstimator",
    "Points",
    "codec",
    "decay_weights",
    "ei_weights",
    "hv_weights",
    "layout",
    "log_mass",
    "logsumexp",
    "points",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_FLOOR = 1e-6  # numerical floor of a bandwidth when magic clipping is off
_DISC_MAX = 64  # numeric parameters with more values get a continuous kernel (mass ~ density)
_CONT, _DISC, _CAT = 0, 1, 2
_MAGIC_CAP = 100  # Hyperopt's magic clip stops shrinking after 100 observations
_PROD_MAX = 20  # products of up to 20 factors in (1e-6 * 0.34, 1] stay far from underflow


@dataclass(frozen=True, slots=True)
class Layout:
    """The kinds of the model dimensions (continuous first, then discrete, then categorical).

    Attributes:
        n_cont: number of continuous dimensions.
        edges: per discrete dimension, the ``K + 1`` increasing cell edges in [0, 1] (0 and 1 at
            the ends); cell ``k`` is ``[edges[k], edges[k + 1]]``.
        centres: per discrete dimension, the ``K`` kernel centres (the unit position of each
            allowed value; inside its cell).
        n_choices: per categorical dimension, the number of choices.
    """

    n_cont: int
    edges: tuple[np.ndarray, ...]
    centres: tuple[np.ndarray, ...]
    n_choices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Points:
    """Points in model coordinates.

    Attributes:
        cont: ``(n, dc)`` floats in [0, 1].
        disc: ``(n, dd)`` cell indices.
        cat: ``(n, dk)`` choice indices.
    """

    cont: np.ndarray
    disc: np.ndarray
    cat: np.ndarray

    def __len__(self) -> int:
        return int(self.cont.shape[0])


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """Bandwidth and prior settings shared by both estimators of a TPE step.

    Attributes:
        prior_weight: weight of the uniform prior, in units of an average observation's weight.
        min_bandwidth: smallest bandwidth in unit coordinates (the minimum bandwidth factor of
            Watanabe 2023, Sec. 3; 0.03 recommended there); None disables magic clipping.
        magic_exponent: exponent ``alpha`` of the magic clip ``1 / min(n + 1, 100) ** alpha``
            (Hyperopt's clip has alpha = 1; Watanabe 2023, Sec. 3 generalizes it).
    """

    prior_weight: float = 1.0
    min_bandwidth: float | None = 0.03
    magic_exponent: float = 1.0


def logsumexp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """``log(sum(exp(a), axis))`` without overflow; rows of -inf give -inf."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out: np.ndarray = np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)
    return out


def log_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``log(Phi(hi) - Phi(lo))`` for ``lo < hi``, accurate far into both tails.

    Uses ``Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi)`` when ``lo > 0`` so that the subtraction is
    always done on the smaller tail.
    """
    flip = lo > 0
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    lb = log_ndtr(b)
    with np.errstate(divide="ignore"):
        out: np.ndarray = lb + np.log1p(-np.exp(log_ndtr(a) - lb))
    return out


def scott_bandwidth(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(d,)`` bandwidths ``sigma_d * n ** (-1 / (d + 4))`` of the ``(n, d)`` points ``x``.

    Scott's rule for product kernels (Scott, "Multivariate Density Estimation", 1992, Ch. 6),
    with ``sigma_d`` the standard deviation of dimension ``d`` under the weights ``w`` (sum 1).
    """
    n, d = x.shape
    mean = w @ x
    sigma = np.sqrt(np.maximum(w @ np.square(x - mean), 0.0))
    out: np.ndarray = sigma * n ** (-1.0 / (d + 4))
    return out


def neighbour_bandwidth(x: np.ndarray) -> np.ndarray:
    """``(n,)`` bandwidths of 1-d points ``x`` in [0, 1]: the larger gap to a neighbour.

    The adaptive Parzen estimator of Bergstra et al. (NeurIPS 2011, Sec. 4, as in Hyperopt),
    with gaps measured between distinct values and to the ends 0 and 1, so equal points share
    a kernel width.
    """
    uniq, inv = np.unique(x, return_inverse=True)
    padded = np.concatenate([[0.0], uniq, [1.0]])
    gaps = np.diff(padded)
    out: np.ndarray = np.maximum(gaps[:-1], gaps[1:])[inv.reshape(-1)]
    return out


class ParzenEstimator:
    """A weighted mixture of product kernels, one per observation, plus a uniform prior.

    Bandwidths: Scott's rule per dimension when the model has several dimensions; the
    neighbour-gap rule of Bergstra et al. (2011) per kernel for a single numeric parameter. Both
    are clipped below by the magic clip ``max(min_bandwidth, 1 / min(n + 1, 100) ** alpha)``
    (half a cell more for discrete dimensions) and above by the whole range.

    Args:
        obs: the observations, in model coordinates.
        weights: ``(n,)`` non-negative observation weights (not necessarily normalized).
        layout: the kinds of the dimensions.
        config: bandwidth and prior settings.

    Example:
        >>> layout = Layout(1, (), (), ())
        >>> obs = Points(np.array([[0.2], [0.3]]), np.zeros((2, 0), int), np.zeros((2, 0), int))
        >>> pe = ParzenEstimator(obs, np.ones(2), layout, KernelConfig())
        >>> bool(pe.log_pdf(obs)[0] > 0)
        True
    """

    def __init__(
        self, obs: Points, weights: np.ndarray, layout: Layout, config: KernelConfig
    ) -> None:
        n = len(obs)
        self._n = n
        self._cfg = config
        self._layout = layout
        self._obs = obs
        w = np.asarray(weights, dtype=float)
        prior = config.prior_weight * (float(w.mean()) if n else 1.0)
        full = np.append(w, prior)
        self._p = full / full.sum()
        self._cdf = np.cumsum(self._p)
        self._cdf[-1] = 1.0
        with np.errstate(divide="ignore"):
            self._log_w = np.log(self._p)
        centres = [c[obs.disc[:, j]] for j, c in enumerate(layout.centres)]
        self._mu = np.column_stack([obs.cont, *centres]).reshape(n, -1) if n else np.zeros((0, 0))
        self._mu = self._mu.reshape(n, layout.n_cont + len(layout.edges))
        self._bw = self._bandwidths(w)
        self._prepare_cont()
        self._prepare_disc()
        self._prepare_cat()

    # -- construction -----------------------------------------------------------------------
    def _bandwidths(self, w: np.ndarray) -> np.ndarray:
        """``(n, dn)`` kernel widths of the numeric dimensions (a read-only view when shared)."""
        n, dn = self._mu.shape
        lower = self._lower(n)
        self._shared = not (dn == 1 and not self._layout.n_choices)
        if n == 0 or dn == 0:
            return np.broadcast_to(lower, (n, dn))
        if not self._shared:
            per_kernel: np.ndarray = np.clip(neighbour_bandwidth(self._mu[:, 0]), lower, 1.0)
            return per_kernel[:, None]
        return np.broadcast_to(np.clip(scott_bandwidth(self._mu, w / w.sum()), lower, 1.0), (n, dn))

    def _lower(self, n: int) -> np.ndarray:
        """Smallest bandwidth per numeric dimension: magic clip, and half a cell when discrete."""
        config = self._cfg
        if config.min_bandwidth is None:
            base = _FLOOR
        else:
            magic = 1.0 / min(n + 1, _MAGIC_CAP) ** config.magic_exponent
            base = max(config.min_bandwidth, magic)
        disc = [max(base, 0.5 / (len(e) - 1)) for e in self._layout.edges]
        return np.array([base] * self._layout.n_cont + disc, dtype=float)

    def _prepare_cont(self) -> None:
        dc = self._layout.n_cont
        b = self._bw[:, :dc]
        mu = self._mu[:, :dc]
        # One width per dimension (Scott) is a (dc,) vector; per-kernel widths stay (n, dc).
        inv_b = 1.0 / (b[0] if self._shared and len(b) else b)
        # sum_d (x_d - mu_d)^2 / b_d^2 = x^2 . (1/b^2) - 2 x . (mu/b^2) + sum_d mu_d^2/b_d^2
        self._inv_var = np.square(inv_b)
        self._lin = -2.0 * mu * self._inv_var
        self._const = np.square(mu * inv_b) @ np.ones(dc)
        # Truncation to [0, 1]: mu lies in [0, 1] so the interval holds the mean and Z >= 0.34.
        z = ndtr((1.0 - mu) * inv_b) - ndtr(-mu * inv_b)
        if not self._shared:
            z *= b
        # One log per kernel instead of one per kernel and dimension, while no underflow looms.
        norm = np.log(np.prod(z, axis=1)) if dc <= _PROD_MAX else np.sum(np.log(z), axis=1)
        if self._shared and len(b):
            norm += np.sum(np.log(b[0]))
        self._base = self._log_w[: self._n] - norm - dc * _LOG_SQRT_2PI

    def _prepare_disc(self) -> None:
        dc = self._layout.n_cont
        self._disc: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for j in range(len(self._layout.edges)):
            # A kernel's width depends only on its cell, so distinct cells suffice.
            uniq, first, inv = np.unique(
                self._obs.disc[:, j], return_index=True, return_inverse=True
            )
            mu = self._layout.centres[j][uniq]
            b = self._bw[first, dc + j]
            log_z = np.log(ndtr((1.0 - mu) / b) - ndtr(-mu / b))
            self._disc.append((mu, b, inv.reshape(-1), log_z))

    def _prepare_cat(self) -> None:
        n = self._n
        self._cat: list[tuple[float, float, float]] = []
        for k in self._layout.n_choices:
            # Aitchison-Aitken with the smoothing Watanabe (2023, App. C) adapts to n.
            top = (n + 1.0) / (n + k) if k > 1 else 1.0
            other = (1.0 - top) / (k - 1) if k > 1 else 0.0
            with np.errstate(divide="ignore"):
                self._cat.append((top, float(np.log(top)), float(np.log(other))))

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, size: int) -> Points:
        """Draw ``size`` points: pick a component by weight, then draw from its kernel."""
        n = self._n
        comp = np.minimum(np.searchsorted(self._cdf, rng.random(size), side="right"), n)
        prior = comp == n
        idx = np.where(prior, 0, comp)
        d_num = self._mu.shape[1]
        u = rng.random((size, d_num))
        if n and d_num:
            mu = self._mu[idx]
            b = self._bw[idx]
            lo, hi = ndtr(-mu / b), ndtr((1.0 - mu) / b)
            drawn = np.clip(mu + b * ndtri(lo + u * (hi - lo)), 0.0, 1.0)
            u = np.where(prior[:, None], u, drawn)
        dc = self._layout.n_cont
        cells = [
            np.clip(np.searchsorted(e, u[:, dc + j], side="right") - 1, 0, len(e) - 2)
            for j, e in enumerate(self._layout.edges)
        ]
        return Points(u[:, :dc], _stack_int(cells, size), self._sample_cat(rng, idx, prior))

    def _sample_cat(
        self, rng: np.random.Generator, idx: np.ndarray, prior: np.ndarray
    ) -> np.ndarray:
        size = len(idx)
        choices = self._layout.n_choices
        r = rng.random((size, len(choices)))
        out = []
        for j, k in enumerate(choices):
            uniform = np.minimum(np.floor(r[:, j] * k), k - 1).astype(np.int64)
            if not self._n or k == 1:
                out.append(uniform)
                continue
            top = self._cat[j][0]
            seen = self._obs.cat[idx, j]
            other = np.minimum(np.floor((r[:, j] - top) / (1.0 - top) * (k - 1)), k - 2)
            other = other.astype(np.int64)
            other = other + (other >= seen)
            pick = np.where(r[:, j] < top, seen, other)
            out.append(np.where(prior, uniform, pick))
        return _stack_int(out, size)

    # -- density ----------------------------------------------------------------------------
    def log_pdf(self, x: Points) -> np.ndarray:
        """``(s,)`` log densities (cell masses for discrete, probabilities for categorical)."""
        s = len(x)
        prior = np.full(s, self._log_w[self._n])
        if self._layout.n_cont:
            c = x.cont
            acc = self._lin @ c.T
            acc += self._inv_var @ np.square(c).T  # (s,) or (n, s)
            acc += self._const[:, None]
            np.maximum(acc, 0.0, out=acc)
            acc *= -0.5
            acc += self._base[:, None]
        else:
            acc = np.repeat(self._base[:, None], s, axis=1)
        for j, (mu, b, inv, log_z) in enumerate(self._disc):
            edges = self._layout.edges[j]
            k = x.disc[:, j]
            lo, hi = edges[k], edges[k + 1]
            bb = b[:, None]
            table = log_mass((lo[None, :] - mu[:, None]) / bb, (hi[None, :] - mu[:, None]) / bb)
            acc += (table - log_z[:, None])[inv]
            prior += np.log(hi - lo)
        for j, (_, log_top, log_other) in enumerate(self._cat):
            n_k = self._layout.n_choices[j]
            table = np.where(np.arange(n_k)[:, None] == x.cat[None, :, j], log_top, log_other)
            acc += table[self._obs.cat[:, j]]
            prior -= math.log(n_k)
        # log(sum_i exp(acc_i) + exp(prior)), stabilized by the largest term (prior is finite).
        # The shifted terms lie in (0, 1]: float32 exponentials (4x faster) keep ~1e-7 accuracy.
        m = np.maximum(acc.max(axis=0, initial=-np.inf), prior)
        acc -= m
        terms = np.exp(acc.astype(np.float32)).sum(axis=0, dtype=np.float64)
        out: np.ndarray = np.log(terms + np.exp(prior - m)) + m
        return out


def _stack_int(cols: list[np.ndarray], size: int) -> np.ndarray:
    if not cols:
        return np.zeros((size, 0), dtype=np.int64)
    return np.column_stack(cols).astype(np.int64)


# -- the good / bad split and observation weights -----------------------------------------------
_EI_FLOOR = 1e-12
_HV_FLOOR = 1e-12
_FLAT = 25  # the newest observations keep full weight under linear forgetting


def ei_weights(good: np.ndarray, threshold: float | None) -> np.ndarray:
    """``max(y* - y_i, eps)`` for the good values ``y_i``; ``y*`` is the best bad value.

    The expected-improvement weighting of the good group (Watanabe 2023, Sec. 3, weighting
    algorithm "EI"); uniform when there is no finite threshold.
    """
    if threshold is None or not math.isfinite(threshold) or not np.all(np.isfinite(good)):
        return np.ones(len(good))
    out: np.ndarray = np.maximum(threshold - good, _EI_FLOOR)
    return out


def hv_weights(good: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume-contribution weights of the ``(k, m)`` finite good values (smaller is better).

    The weighting of the good group in MOTPE (Ozaki et al., "Multiobjective Tree-Structured
    Parzen Estimator", JAIR 73, 2022): each point's exclusive contribution to the group's
    hypervolume up to ``ref`` (which every point must strictly dominate), divided by the largest
    contribution and floored, so a point the group dominates keeps a tiny, non-zero weight;
    uniform when no point contributes anything. Copies of a point share its contribution.
    """
    if len(good) < 2:
        return np.ones(len(good))
    uniq, inverse, counts = np.unique(good, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    contrib = hypervolume_contributions(uniq, ref)[inverse] / counts[inverse]
    top = float(contrib.max())
    if not top > 0:
        return np.ones(len(good))
    out: np.ndarray = np.maximum(contrib / top, _HV_FLOOR)
    return out


def decay_weights(age: np.ndarray) -> np.ndarray:
    """Linear forgetting: the ``n - 25`` oldest of ``n`` observations ramp from ``1/n`` to 1.

    Hyperopt's weighting of the bad group (Bergstra, Yamins & Cox, ICML 2013; "old-decay" in
    Watanabe 2023, Sec. 3). ``age`` orders the observations (trial numbers); ties keep order.
    """
    n = len(age)
    if n <= _FLAT:
        return np.ones(n)
    ramp = np.concatenate([np.linspace(1.0 / n, 1.0, n - _FLAT), np.ones(_FLAT)])
    out = np.empty(n)
    out[np.argsort(age, kind="stable")] = ramp
    return out


# -- encoding: internal values <-> model coordinates --------------------------------------------
class Codec:
    """How one distribution maps to a model dimension (continuous, discrete cells, categorical)."""

    __slots__ = ("centres", "dist", "edges", "high", "kind", "low", "n", "snap", "step")

    def __init__(self, dist: Distribution) -> None:
        self.dist = dist
        self.edges: np.ndarray | None = None
        self.centres: np.ndarray | None = None
        self.n = dist.n_values or 0
        self.low = self.high = 0.0
        self.step = 1.0
        self.snap = False  # a continuous kernel on a discrete parameter: snap candidates to values
        if isinstance(dist, Categorical):
            self.kind = _CAT
            return
        self.low, self.high = float(dist.low), float(dist.high)
        self.step = float(dist.step) if dist.step else 1.0
        if dist.n_values is None or dist.n_values > _DISC_MAX:
            self.kind = _CONT
            self.snap = dist.n_values is not None
            return
        self.kind = _DISC
        cells = np.arange(self.n + 1, dtype=float)
        self.centres = dist.to_unit(self.decode_cells(np.arange(self.n)))
        if dist.log:  # an Int with log=True: value v owns [v - 0.5, v + 0.5] on the log scale
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            self.edges = (np.log(self.low - 0.5 + cells) - lo) / (hi - lo)
            self.edges[0], self.edges[-1] = 0.0, 1.0
        else:
            self.edges = cells / self.n

    def decode_cells(self, k: np.ndarray) -> np.ndarray:
        """Cell indices to internal values."""
        out: np.ndarray = np.minimum(self.low + k * self.step, self.high)
        return out

    def encode_one(self, x: float) -> float:
        """One internal value to its model coordinate (as a float)."""
        if self.kind == _CAT:
            return x
        if self.kind == _DISC:
            return float(min(max(round((x - self.low) / self.step), 0), self.n - 1))
        return float(self.dist.to_unit(x))

    def decode(self, v: float) -> Any:
        """One model coordinate to the external value."""
        if self.kind == _CONT:
            internal = float(self.dist.from_unit(v))
        elif self.kind == _DISC:
            internal = float(self.decode_cells(np.asarray(v)))
        else:
            internal = float(v)
        return self.dist.to_external(internal)


@lru_cache(maxsize=4096)
def codec(dist: Distribution) -> Codec:
    return Codec(dist)


@lru_cache(maxsize=256)
def layout(dists: tuple[Distribution, ...]) -> tuple[Layout, list[int], list[int], list[int]]:
    """The model layout of a space and the position of each kind among its parameters."""
    codecs = [codec(d) for d in dists]
    groups: list[list[int]] = [[], [], []]
    for i, c in enumerate(codecs):
        groups[c.kind].append(i)
    cont, disc, cat = groups
    out = Layout(
        n_cont=len(cont),
        edges=tuple(codecs[i].edges for i in disc),  # type: ignore[misc]
        centres=tuple(codecs[i].centres for i in disc),  # type: ignore[misc]
        n_choices=tuple(codecs[i].n for i in cat),
    )
    return out, cont, disc, cat


def points(x: np.ndarray, dists: tuple[Distribution, ...]) -> Points:
    """``(n, d)`` model coordinates (as floats) split into the estimator's blocks."""
    _, cont, disc, cat = layout(dists)
    return Points(x[:, cont], x[:, disc].astype(np.int64), x[:, cat].astype(np.int64))

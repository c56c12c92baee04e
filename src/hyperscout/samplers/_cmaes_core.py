"""CMA-ES as pure numpy functions on the unit cube: sample, tell, margin, restart.

The state is an immutable :class:`CMAState`; every update returns a new one, so a sampler can
replay a run generation by generation and keep checkpoints. References (equation numbers are the
papers' own):

* [H16] N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (v2, 2016).
* [H11] N. Hansen, "Injecting External Solutions Into CMA-ES", arXiv:1110.4181 (2011).
* [HM22] R. Hamano, S. Saito, M. Nomura, S. Shirakawa, "CMA-ES with Margin: Lower-Bounding
  Marginal Probability for Mixed-Integer Black-Box Optimization", GECCO 2022 (arXiv:2205.13482).
* [N21] M. Nomura, S. Watanabe, Y. Akimoto, Y. Ozaki, M. Onishi, "Warm Starting CMA-ES for
  Hyperparameter Optimization", AAAI 2021 (arXiv:2012.06932).
* [AH05] A. Auger, N. Hansen, "A Restart CMA Evolution Strategy With Increasing Population Size",
  CEC 2005 (IPOP-CMA-ES).

Bounds by transformation: the distribution lives in R^n (the *genotype*); a point is evaluated at
its periodic reflection into [0, 1]^n (the *phenotype*, :func:`reflect`), which is the identity
inside the cube. Discrete dimensions own cells of [0, 1] (``lattice``: the cell edges); the margin
of [HM22] keeps the probability of leaving the mean's cell above ``alpha / 2`` on each side.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "CMA",
    "CMAConfig",
    "CMAState",
    "Strategy",
    "advance",
    "encode",
    "initial_state",
    "preimage",
    "reflect",
    "sample",
    "strategy",
    "warm_start",
]

_TOL_FUN = 1e-12  # [H16] App. B.3, TolFun
_TOL_X = 1e-12  # [H16] App. B.3, TolX (times the initial step size)
_TOL_X_UP = 1e4  # [H16] App. B.3, TolXUp
_TOL_CONDITION = 1e14  # [H16] App. B.3, ConditionCov
_MAX_DOUBLINGS = 9  # IPOP stops doubling the population after 2**9 x lambda_0 [AH05]
_STAGNATION_CAP = 20_000


@dataclass(frozen=True, slots=True, eq=False)
class Strategy:
    """Default strategy parameters of [H16] Table 1 for a dimension and population size."""

    dim: int
    popsize: int
    mu: int
    weights: np.ndarray
    mueff: float
    cc: float
    cs: float
    c1: float
    cmu: float
    damps: float
    chi_n: float


@functools.lru_cache(maxsize=256)
def strategy(dim: int, popsize: int) -> Strategy:
    """Parameters for ``dim`` variables and ``popsize`` (>= 4) offspring ([H16] Table 1)."""
    n, lam = float(dim), popsize
    mu = lam // 2
    w_prime = math.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))  # eq. 49
    mueff = float(w_prime[:mu].sum() ** 2 / (w_prime[:mu] ** 2).sum())
    mueff_neg = float(w_prime[mu:].sum() ** 2 / (w_prime[mu:] ** 2).sum())
    c1 = 2.0 / ((n + 1.3) ** 2 + mueff)  # eq. 57, alpha_cov = 2
    cmu = min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0) ** 2 + mueff))  # eq. 58
    alpha_neg = min(
        1.0 + c1 / cmu,  # eq. 50
        1.0 + 2.0 * mueff_neg / (mueff + 2.0),  # eq. 51
        (1.0 - c1 - cmu) / (n * cmu),  # eq. 52
    )
    pos, neg = w_prime[w_prime >= 0].sum(), -w_prime[w_prime < 0].sum()
    weights = np.where(w_prime >= 0, w_prime / pos, alpha_neg * w_prime / neg)  # eq. 53
    cs = (mueff + 2.0) / (n + mueff + 5.0)  # eq. 55
    damps = 1.0 + 2.0 * max(0.0, math.sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + cs  # eq. 55
    cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n)  # eq. 56
    chi_n = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n))  # E||N(0, I)||, p. 29
    return Strategy(dim, lam, mu, weights, mueff, cc, cs, c1, cmu, damps, chi_n)


def default_popsize(dim: int) -> int:
    """``4 + floor(3 ln n)`` ([H16] eq. 48)."""
    return 4 + math.floor(3 * math.log(dim))


@dataclass(frozen=True, slots=True, eq=False)
class CMAState:
    """Mean, step size, covariance (with its eigendecomposition), paths and run bookkeeping.

    ``affine`` is the diagonal of the margin matrix A of [HM22] (ones for continuous dimensions);
    ``best`` / ``median`` hold recent per-generation fitness statistics for the termination
    criteria; ``scale0`` is ``sigma0 * max(D0)``, the reference of TolX and TolXUp.
    """

    mean: np.ndarray
    sigma: float
    cov: np.ndarray
    basis: np.ndarray
    scales: np.ndarray
    pc: np.ndarray
    ps: np.ndarray
    affine: np.ndarray
    popsize: int
    scale0: float
    generation: int = 0
    restarts: int = 0
    best: tuple[float, ...] = ()
    median: tuple[float, ...] = ()
    stop: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class CMAConfig:
    """What stays fixed over a run: the defaults a restart returns to, the lattice, the options.

    ``lattice[j]`` holds the sorted cell edges of discrete dimension ``j`` in [0, 1] (first 0,
    last 1), or None for a continuous dimension.
    """

    sigma0: float
    popsize: int
    lattice: tuple[np.ndarray | None, ...]
    margin: bool = True
    restart: bool = True

    @property
    def discrete(self) -> np.ndarray:
        """Indices of the discrete dimensions."""
        return np.array([j for j, e in enumerate(self.lattice) if e is not None], dtype=np.int64)


def _eigen(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetrized covariance, its eigenbasis B and the axis lengths D ([H16] eq. 38)."""
    cov = (cov + cov.T) / 2.0
    vals, basis = np.linalg.eigh(cov)
    floor = max(float(vals.max()), 1e-300) * 1e-20
    if vals.min() < floor:  # keep C positive definite
        vals = np.maximum(vals, floor)
        cov = (basis * vals) @ basis.T
    return cov, basis, np.sqrt(vals)


def initial_state(
    mean: np.ndarray,
    sigma: float,
    popsize: int,
    cov: np.ndarray | None = None,
    restarts: int = 0,
) -> CMAState:
    """A fresh run at ``mean`` with step size ``sigma`` and covariance ``cov`` (identity)."""
    n = len(mean)
    c, basis, scales = _eigen(np.eye(n) if cov is None else np.asarray(cov, dtype=float))
    return CMAState(
        mean=np.array(mean, dtype=float),
        sigma=float(sigma),
        cov=c,
        basis=basis,
        scales=scales,
        pc=np.zeros(n),
        ps=np.zeros(n),
        affine=np.ones(n),
        popsize=popsize,
        scale0=float(sigma * scales.max()),
        restarts=restarts,
    )


def sample(state: CMAState, z: np.ndarray) -> np.ndarray:
    """Genotype ``x = m + sigma B D z`` for ``z ~ N(0, I)`` ([H16] eqs. 38-40)."""
    out: np.ndarray = state.mean + state.sigma * (state.basis @ (state.scales * z))
    return out


def reflect(x: np.ndarray) -> np.ndarray:
    """Periodic reflection of R onto [0, 1] (the identity inside): the bound transformation."""
    t = np.mod(x, 2.0)
    out: np.ndarray = np.where(t > 1.0, 2.0 - t, t)
    return out


def encode(state: CMAState, x: np.ndarray, discrete: np.ndarray) -> np.ndarray:
    """Phenotype in [0, 1]^n of genotype(s) ``x``: ``m + A (x - m)`` on discrete dimensions
    ([HM22] Sec. 3.1, the affine transformation before discretization), then :func:`reflect`."""
    e = np.array(x, dtype=float)
    if len(discrete):
        m = state.mean[discrete]
        e[..., discrete] = m + state.affine[discrete] * (e[..., discrete] - m)
    return reflect(e)


def preimage(p: np.ndarray, near: np.ndarray) -> np.ndarray:
    """The genotype nearest ``near`` whose reflection is ``p`` (one of ``2k + p``, ``2k - p``)."""
    a = p + 2.0 * np.round((near - p) / 2.0)
    b = -p + 2.0 * np.round((near + p) / 2.0)
    out: np.ndarray = np.where(np.abs(a - near) <= np.abs(b - near), a, b)
    return out


def _genotype_cell(m: float, edges: np.ndarray) -> tuple[float, float]:
    """The genotype interval around ``m`` whose reflections fall in the cell of ``reflect(m)``.

    A cell touching 0 or 1 extends across the fold, so it is twice as wide in the genotype.
    """
    t = m % 2.0
    flip = t > 1.0
    r = 2.0 - t if flip else t
    last = len(edges) - 2
    k = min(max(int(np.searchsorted(edges, r, side="right")) - 1, 0), last)
    a, b = float(edges[k]), float(edges[k + 1])
    down = r - a + (b if k == 0 else 0.0)
    up = b - r + (1.0 - a if k == last else 0.0)
    if flip:
        down, up = up, down
    return m - down, m + up


def margin(state: CMAState, config: CMAConfig, alpha: float) -> CMAState:
    """Margin correction of [HM22] Sec. 3.2: keep both tail probabilities >= ``alpha / 2``.

    For each discrete dimension, the probabilities of sampling below / above the mean's cell are
    lower-bounded by ``alpha / 2`` (the excess is taken proportionally from the three parts), and
    the mean and A are then solved so that the marginal ``N(m, (sigma A sqrt(c_jj))^2)`` has
    exactly those tails (the simultaneous equations of [HM22] Sec. 3.2).
    """
    idx = config.discrete
    if not len(idx):
        return state
    mean, affine = state.mean.copy(), state.affine.copy()
    sd = state.sigma * np.sqrt(np.diag(state.cov))[idx]
    cells = [_genotype_cell(float(mean[j]), config.lattice[j]) for j in idx]
    lo, hi = np.array([c[0] for c in cells]), np.array([c[1] for c in cells])
    m, s = mean[idx], sd * affine[idx]
    p_lo, p_up = ndtr((lo - m) / s), ndtr((m - hi) / s)
    p_mid = 1.0 - p_lo - p_up
    half = alpha / 2.0
    lo_c, up_c = np.maximum(p_lo, half), np.maximum(p_up, half)
    excess = 1.0 - lo_c - up_c - p_mid
    denom = lo_c + up_c + p_mid - 3.0 * half
    new_lo = np.clip(lo_c + excess * (lo_c - half) / denom, 1e-10, 0.5 - 1e-10)
    new_up = np.clip(up_c + excess * (up_c - half) / denom, 1e-10, 0.5 - 1e-10)
    q_lo, q_up = -ndtri(new_lo), -ndtri(new_up)  # Phi^-1(1 - p) = sqrt(chi2_1^-1(1 - 2p))
    affine[idx] = (hi - lo) / ((q_lo + q_up) * sd)
    mean[idx] = (lo * q_up + hi * q_lo) / (q_lo + q_up)
    return replace(state, mean=mean, affine=affine)


def tell(state: CMAState, raw: np.ndarray, injected: np.ndarray) -> CMAState:
    """One generation update from genotypes ``raw`` (lambda x n) sorted best first.

    Rows marked ``injected`` did not come from this distribution: their steps are clipped to the
    Mahalanobis length ``sqrt(n) + 2n / (n + 2)`` ([H11] Sec. 2) before they enter the update.
    """
    st = strategy(len(state.mean), len(raw))
    n, mu, w = st.dim, st.mu, st.weights
    y = (raw - state.mean) / state.sigma  # y_{i:lambda} ~ N(0, C), eq. 40
    zb = (y @ state.basis) / state.scales  # D^-1 B^T y, so ||zb|| = ||C^-1/2 y||
    norms = np.sqrt((zb * zb).sum(axis=1))
    if injected.any():
        c_y = math.sqrt(n) + 2.0 * n / (n + 2.0)
        clip = np.where(injected, np.minimum(1.0, c_y / np.maximum(norms, 1e-300)), 1.0)
        y, zb, norms = y * clip[:, None], zb * clip[:, None], norms * clip
    y_w = w[:mu] @ y[:mu]  # eq. 41
    mean = state.mean + state.sigma * y_w  # eq. 42, c_m = 1 (eq. 54)
    ps = (1.0 - st.cs) * state.ps + math.sqrt(st.cs * (2.0 - st.cs) * st.mueff) * (
        state.basis @ (w[:mu] @ zb[:mu])
    )  # eq. 43
    ps_norm = float(np.linalg.norm(ps))
    sigma = state.sigma * math.exp(min(st.cs / st.damps * (ps_norm / st.chi_n - 1.0), 50.0))  # 44
    g = state.generation + 1
    h_sig = ps_norm / math.sqrt(1.0 - (1.0 - st.cs) ** (2 * g)) < (1.4 + 2.0 / (n + 1)) * st.chi_n
    pc = (1.0 - st.cc) * state.pc + float(h_sig) * math.sqrt(
        st.cc * (2.0 - st.cc) * st.mueff
    ) * y_w  # eq. 45
    w_o = np.where(w >= 0, w, w * n / np.maximum(norms**2, 1e-300))  # eq. 46
    delta = (1.0 - float(h_sig)) * st.cc * (2.0 - st.cc)
    cov = (
        (1.0 + st.c1 * delta - st.c1 - st.cmu * float(w.sum())) * state.cov
        + st.c1 * np.outer(pc, pc)
        + st.cmu * (y.T * w_o) @ y
    )  # eq. 47
    cov, basis, scales = _eigen(cov)
    return replace(
        state, mean=mean, sigma=sigma, cov=cov, basis=basis, scales=scales, pc=pc, ps=ps,
        generation=g,
    )  # fmt: skip


def _record(state: CMAState, fitness: np.ndarray) -> CMAState:
    """Append the generation's best and median finite fitness to the stagnation histories."""
    f = fitness[np.isfinite(fitness)]
    if not len(f):
        return state
    n = len(state.mean)
    keep = min(
        max(math.ceil(120 + 30 * n / state.popsize), math.ceil(0.2 * state.generation)),
        _STAGNATION_CAP,
    )
    best = (*state.best, float(f.min()))[-keep:]
    median = (*state.median, float(np.median(f)))[-keep:]
    return replace(state, best=best, median=median)


def stop_reason(state: CMAState, fitness: np.ndarray) -> str | None:
    """The first termination criterion of [H16] App. B.3 that holds, or None."""
    n, lam = len(state.mean), state.popsize
    sd = state.sigma * np.sqrt(np.diag(state.cov))
    if np.any(state.mean == state.mean + 0.2 * sd):
        return "noeffectcoord"
    i = state.generation % n
    axis = 0.1 * state.sigma * state.scales[i] * state.basis[:, i]
    if np.all(state.mean == state.mean + axis):
        return "noeffectaxis"
    if (state.scales.max() / state.scales.min()) ** 2 > _TOL_CONDITION:
        return "conditioncov"
    if np.all(sd < _TOL_X * state.scale0) and np.all(
        state.sigma * np.abs(state.pc) < _TOL_X * state.scale0
    ):
        return "tolx"
    if state.sigma * state.scales.max() > _TOL_X_UP * state.scale0:
        return "tolxup"
    k = 10 + math.ceil(30 * n / lam)
    if len(state.best) >= k:
        recent = np.array(state.best[-k:])
        if np.ptp(recent) == 0:
            return "equalfunvals"
        f = fitness[np.isfinite(fitness)]
        if np.ptp(recent) < _TOL_FUN and (not len(f) or np.ptp(f) < _TOL_FUN):
            return "tolfun"
    return _stagnation(state)


def _stagnation(state: CMAState) -> str | None:
    """Stagnation ([H16] App. B.3): the medians of the newest 30% of the best and the median
    fitness histories are no better than those of the oldest 30%."""
    n = len(state.mean)
    need = math.ceil(120 + 30 * n / state.popsize)
    if len(state.best) < need:
        return None
    k = max(1, int(0.3 * len(state.best)))
    for hist in (state.best, state.median):
        if np.median(hist[-k:]) < np.median(hist[:k]):
            return None
    return "stagnation"


def restart(state: CMAState, config: CMAConfig, seed: Sequence[int]) -> CMAState:
    """IPOP restart [AH05]: double the population, new uniform mean, the initial step size."""
    n = len(state.mean)
    lam = state.popsize * 2 if state.popsize < config.popsize * 2**_MAX_DOUBLINGS else state.popsize
    mean = np.random.default_rng(list(seed)).random(n)
    out = initial_state(mean, config.sigma0, lam, restarts=state.restarts + 1)
    return replace(out, stop=state.stop)


def advance(
    state: CMAState,
    raw: np.ndarray,
    injected: np.ndarray,
    fitness: np.ndarray,
    config: CMAConfig,
    restart_seed: Sequence[int],
) -> CMAState:
    """Tell one generation (sorted best first), apply the margin, restart if the run has ended.

    ``fitness`` holds the sorted objective values (NaN where a member has none); it only feeds
    the termination criteria, the update uses the order alone.
    """
    new = _record(tell(state, raw, injected), fitness)
    if config.margin:
        new = margin(new, config, 1.0 / (len(new.mean) * new.popsize))  # alpha = 1/(N lambda)
    reason = stop_reason(new, fitness)
    if reason is None:
        return new
    new = replace(new, stop=reason)
    return restart(new, config, restart_seed) if config.restart else new


def warm_start(
    points: np.ndarray, values: np.ndarray, gamma: float = 0.1, alpha: float = 0.1
) -> tuple[np.ndarray, float, np.ndarray]:
    """Initial (mean, sigma, C) from earlier points in [0, 1]^n, WS-CMA-ES style ([N21] Sec. 4).

    The top ``max(1, floor(gamma N))`` points define a Gaussian mixture with isotropic
    components ``alpha^2 I``; its KL projection onto one Gaussian has the mixture's mean and
    ``Sigma = alpha^2 I + Cov(top)``. Then ``sigma = det(Sigma)^(1/2n)``, ``C = Sigma / sigma^2``.
    """
    order = np.argsort(values, kind="stable")
    top = points[order[: max(1, math.floor(gamma * len(points)))]]
    n = points.shape[1]
    mean = top.mean(axis=0)
    diff = top - mean
    sigma_mat = alpha**2 * np.eye(n) + diff.T @ diff / len(top)
    sign, logdet = np.linalg.slogdet(sigma_mat)
    sigma = math.exp(logdet / (2 * n)) if sign > 0 else alpha
    return mean, sigma, sigma_mat / sigma**2


class CMA:
    """Ask-and-tell driver over the functions above (IPOP restarts, margin), for direct use.

    Example:
        >>> cma = CMA(CMAConfig(0.3, 8, (None,) * 3), seed=0)
        >>> for _ in range(100):
        ...     raw, unit = cma.ask()
        ...     cma.tell(raw, ((unit - 0.3) ** 2).sum(axis=1))
        >>> bool(np.abs(cma.state.mean - 0.3).max() < 1e-3)
        True
    """

    def __init__(self, config: CMAConfig, seed: int = 0, mean: np.ndarray | None = None) -> None:
        n = len(config.lattice)
        start = np.full(n, 0.5) if mean is None else np.asarray(mean, dtype=float)
        self.config = config
        self.state = initial_state(start, config.sigma0, config.popsize)
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def ask(self) -> tuple[np.ndarray, np.ndarray]:
        """(genotypes, phenotypes in [0, 1]^n) of one generation, ``popsize x n`` each."""
        st = self.state
        z = self._rng.standard_normal((st.popsize, len(st.mean)))
        raw = st.mean + st.sigma * (z * st.scales) @ st.basis.T  # eqs. 38-40, row-wise
        return raw, encode(st, raw, self.config.discrete)

    def tell(self, raw: np.ndarray, values: np.ndarray) -> None:
        """Update with the genotypes from :meth:`ask` and their objective values (minimized)."""
        order = np.argsort(values, kind="stable")
        fitness = np.asarray(values, dtype=float)[order]
        seed = (self._seed, self.state.restarts, self.state.generation)
        injected = np.zeros(len(raw), dtype=bool)
        self.state = advance(self.state, raw[order], injected, fitness, self.config, seed)

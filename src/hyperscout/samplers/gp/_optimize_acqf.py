"""Maximize log EI over a mixed space: screen candidates, then refine the best few locally.

1. Candidates: a scrambled Sobol' set over the whole space, plus Gaussian perturbations of the
   best observed points at several scales (as BoTorch's ``sample_around_best``), every one
   rounded to allowed values.
2. The ``n_local`` best distinct candidates start a local search that alternates
   * batched L-BFGS-B on the continuous and relaxed columns, with the analytic gradient of log
     EI (one problem over all starts; the sum of independent terms has the same optima), each
     start confined to a box of half-width ``radius`` (0.2) around itself. Along parameters the
     model finds (perhaps wrongly, early on) irrelevant, log EI still rises slightly towards the
     bounds, where the variance is largest; unconfined, the search put 60% of the coordinates of
     Hartmann-6 suggestions on a bound. Confined, such parameters keep the values of the good
     point (or Sobol' point) the start came from. Measured over five test functions and five
     seeds, the box improved the median best value on four of them;
   * a coordinate sweep over the discrete, categorical and relaxed columns: every allowed value
     (neighbours only for relaxed columns) is tried in turn, the best is kept.
3. The best point found wins, skipping points already observed or pending where an alternative
   exists, so that parallel workers do not repeat each other on discrete spaces.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from hyperscout.samplers.gp._acquisition import log_ei, log_ei_with_grad
from hyperscout.samplers.gp._encoding import CAT, CONT, DISCRETE, RELAXED, SpaceCodec
from hyperscout.samplers.gp._model import Posterior

__all__ = ["LogEI", "SearchConfig", "batched_lbfgsb", "first_new", "optimize_acqf", "sobol"]


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """Budget of the acquisition search."""

    n_sobol: int = 1024
    n_good: int = 5
    n_around: int = 40
    n_local: int = 6
    rounds: int = 2
    maxiter: int = 100
    radius: float | None = 0.2


class LogEI:
    """Log expected improvement of a posterior below ``best``, on ``(m, d)`` points."""

    def __init__(self, post: Posterior, best: float) -> None:
        self.post, self.best = post, best

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(m,)`` values."""
        mean, var = self.post.predict(x)
        return log_ei(mean, var, self.best)

    def with_grad(self, x: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(m,)`` values and ``(m, len(cols))`` gradients along numeric columns ``cols``."""
        mean, var, dmean, dvar = self.post.predict_with_grad(x, cols.tolist())
        return log_ei_with_grad(mean, var, dmean, dvar, self.best)


def sobol(dim: int, n: int, seed: Any, skip: int = 0) -> np.ndarray:
    """``(n, dim)`` points ``skip .. skip + n - 1`` of a Sobol' sequence scrambled by ``seed``."""
    from scipy.stats import qmc

    # scipy >= 1.15 names the seed argument `rng`; older versions call it `seed`.
    key = "rng" if "rng" in inspect.signature(qmc.Sobol.__init__).parameters else "seed"
    engine = qmc.Sobol(dim, scramble=True, **{key: np.random.default_rng(seed)})
    if skip:
        engine.fast_forward(skip)
    out: np.ndarray = engine.random(n)
    return out


def _candidates(
    codec: SpaceCodec, x_good: np.ndarray, rng: np.random.Generator, cfg: SearchConfig
) -> np.ndarray:
    """Sobol' points and perturbations of the good points, rounded to allowed values."""
    d = codec.dim
    u = sobol(d, cfg.n_sobol, rng.integers(2**63))
    parts = [codec.from_unit_cube(u)]
    if x_good.shape[0]:
        base = np.repeat(x_good, cfg.n_around, axis=0)
        scale = np.exp(rng.uniform(math.log(0.002), math.log(0.2), size=(base.shape[0], 1)))
        moved = base + scale * rng.standard_normal(base.shape)
        for j in codec.columns(CAT):
            flip = np.less(rng.random(base.shape[0]), 1.0 / max(d, 2))
            moved[:, j] = np.where(
                flip, rng.integers(codec.fmap.n_choices[j], size=flip.shape[0]), base[:, j]
            )
        parts.append(codec.snap(moved))
    return np.concatenate(parts)


def batched_lbfgsb(
    acq: LogEI, x: np.ndarray, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int
) -> np.ndarray:
    """Batched L-BFGS-B over columns ``cols`` of every row of ``x``, row ``i`` confined to
    ``[lo[i], hi[i]]`` (``(m, len(cols))`` bounds): one problem over all rows, whose sum of
    independent terms has the rows' optima."""
    m, c = x.shape[0], cols.size
    bounds = list(zip(lo.ravel(), hi.ravel(), strict=True))

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        xx = x.copy()
        xx[:, cols] = flat.reshape(m, c)
        value, grad = acq.with_grad(xx, cols)
        return -float(np.sum(value)), -grad.ravel()

    res = minimize(
        fun,
        x[:, cols].ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter},
    )
    out: np.ndarray = x.copy()
    out[:, cols] = np.clip(res.x.reshape(m, c), lo, hi)
    return out


def _gradient_step(
    acq: LogEI, x: np.ndarray, cols: np.ndarray, maxiter: int, radius: float | None = None
) -> np.ndarray:
    """Batched L-BFGS-B, each row within ``radius`` of where it starts (and in [0, 1])."""
    start = x[:, cols]
    r = 1.0 if radius is None else radius
    return batched_lbfgsb(
        acq, x, cols, np.maximum(start - r, 0.0), np.minimum(start + r, 1.0), maxiter
    )


def _sweep(
    acq: LogEI, codec: SpaceCodec, x: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One coordinate pass over the discrete columns; rows only ever improve."""
    x, value = x.copy(), value.copy()
    m = x.shape[0]
    for j in codec.columns(DISCRETE, CAT, RELAXED):
        grid = codec.grids[j]
        if grid is None:
            options = np.stack([codec.neighbours(j, float(x[i, j])) for i in range(m)])
        else:
            options = np.broadcast_to(grid, (m, grid.size))
        trial = np.repeat(x, options.shape[1], axis=0)
        trial[:, j] = options.ravel()
        scores = acq(trial).reshape(m, -1)
        pick = np.argmax(scores, axis=1)
        best = scores[np.arange(m), pick]
        better = best > value
        x[better, j] = options[better, pick[better]]
        value[better] = best[better]
    return x, value


def _local_search(
    acq: LogEI, codec: SpaceCodec, x: np.ndarray, value: np.ndarray, cfg: SearchConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Alternate gradient steps and discrete sweeps from each row of ``x``."""
    cols = codec.columns(CONT, RELAXED)
    has_discrete = codec.columns(DISCRETE, CAT, RELAXED).size > 0
    for _ in range(cfg.rounds):
        before = x.copy()
        if cols.size:
            moved = codec.snap(_gradient_step(acq, x, cols, cfg.maxiter, cfg.radius))
            moved_value = acq(moved)
            better = moved_value > value
            x[better], value[better] = moved[better], moved_value[better]
        if not has_discrete:
            break
        x, value = _sweep(acq, codec, x, value)
        if np.array_equal(x, before):
            break
    return x, value


def first_new(x: np.ndarray, value: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """The best row of ``x`` that is not a row of ``exclude`` (the best row if all are)."""
    order = np.argsort(-value, kind="stable")
    pick = int(order[0])
    if exclude.shape[0]:
        for i in order:
            if not np.any(np.all(exclude == x[i], axis=1)):
                pick = int(i)
                break
    out: np.ndarray = x[pick]
    return out


def optimize_acqf(
    acq: LogEI,
    codec: SpaceCodec,
    x_good: np.ndarray,
    exclude: np.ndarray,
    rng: np.random.Generator,
    cfg: SearchConfig | None = None,
) -> np.ndarray:
    """A ``(d,)`` point maximizing the acquisition (see the module docstring).

    Args:
        acq: the acquisition function.
        codec: the space.
        x_good: ``(k, d)`` observed points to search around (best first).
        exclude: ``(p, d)`` points not to return when another is as good as found.
        rng: the only source of randomness.
        cfg: search budget.
    """
    cfg = cfg or SearchConfig()
    cands = _candidates(codec, x_good, rng, cfg)
    values = acq(cands)
    _, first = np.unique(cands, axis=0, return_index=True)
    order = first[np.argsort(-values[first], kind="stable")][: cfg.n_local]
    x, value = _local_search(acq, codec, cands[order], values[order], cfg)
    return first_new(np.concatenate([x, cands]), np.concatenate([value, values]), exclude)

"""Local steps: a GP fitted near the incumbent, log EI maximized in a box around it.

A global GP resolves the objective only to a fraction of the spread of all its values: once the
search nears an optimum, the differences that remain are far below that resolution (measured on
BBOB f1 at d = 5, 110 trials: regret 3e-4 for the global model where a local method reaches
1e-8). A local step fixes the scale instead of the model:

1. **Box.** Around the incumbent ``x*`` (the best observed point), per numeric column, the
   half-width is the largest distance from ``x*`` of the best ``k = max(3, ceil(0.15 n))``
   points, floored at ``_MIN_HALF``. The box is data-driven and needs no state: while the good
   points are spread out it spans them; as local steps gather good points around ``x*`` it
   shrinks, geometrically on a smooth bowl, as a trust region does after successes (Eriksson et
   al., "Scalable Global Optimization via Local Bayesian Optimization", NeurIPS 2019, Sec. 3),
   but without a counter that a restart or a second worker would have to share.
2. **Data.** The points within twice the box (at least ``2 d + 2``, the nearest in the box's
   scaled max-norm, at most ``_MAX_POINTS``), in coordinates where the box spans [0.25, 0.75],
   so the lengthscale prior of the global model fits the local one, with their values
   transformed afresh: the local spread of values becomes the unit of the model.
3. **Search.** Log EI below the best local posterior mean, maximized inside the box over the
   continuous (and relaxed discrete) columns; the other columns keep the incumbent's values.
"""

from __future__ import annotations

import math

import numpy as np

from hyperscout.samplers.gp._encoding import CONT, RELAXED, SpaceCodec
from hyperscout.samplers.gp._optimize_acqf import LogEI, batched_lbfgsb, first_new, sobol

__all__ = ["LocalBox", "local_box", "optimize_in_box"]

_TOP_FRACTION = 0.15
_MIN_HALF = 1e-7
_MIN_RATIO = 1e-4  # narrowest half-width relative to the widest
_MAX_POINTS = 100
_N_SOBOL = 256
_N_AROUND = 256
_N_STARTS = 4


class LocalBox:
    """The box around the incumbent and the affine map into local coordinates.

    The box's axes are the principal axes of the best points around the incumbent (the
    eigenvectors of their second moment about it), so a rotated, ill-conditioned valley gets a
    long thin box along it, as the covariance of CMA-ES does (Hansen, "The CMA Evolution
    Strategy: A Tutorial", 2016, Sec. 2 and eq. 22 for the rank-mu estimate this mirrors).

    Attributes:
        center: ``(d,)`` the incumbent.
        cols: the numeric columns the box moves (CONT and RELAXED).
        axes: ``(c, c)`` orthonormal axes (columns) in the space of ``cols``.
        half: ``(c,)`` half-widths along the axes, in unit-cube units.
    """

    def __init__(
        self, center: np.ndarray, cols: np.ndarray, axes: np.ndarray, half: np.ndarray
    ) -> None:
        self.center, self.cols, self.axes, self.half = center, cols, axes, half

    def to_local(self, x: np.ndarray) -> np.ndarray:
        """``(m, d)`` global points to local coordinates (box = [0.25, 0.75] per column)."""
        out = np.array(x, dtype=float)
        z = (x[:, self.cols] - self.center[self.cols]) @ self.axes
        out[:, self.cols] = z / (4.0 * self.half) + 0.5
        return out

    def to_global(self, x: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_local` (before clipping to the unit cube)."""
        out = np.array(x, dtype=float)
        z = (x[:, self.cols] - 0.5) * (4.0 * self.half)
        out[:, self.cols] = z @ self.axes.T + self.center[self.cols]
        return out

    def nearest(self, x: np.ndarray, min_points: int) -> np.ndarray:
        """Indices of the points within twice the box, or the ``min_points`` nearest."""
        z = (x[:, self.cols] - self.center[self.cols]) @ self.axes
        dist = np.max(np.abs(z) / self.half, axis=1)
        order = np.argsort(dist, kind="stable")
        inside = int(np.sum(dist <= 2.0))
        keep = min(max(inside, min_points), _MAX_POINTS, x.shape[0])
        out: np.ndarray = np.sort(order[:keep])
        return out


def local_box(x: np.ndarray, y: np.ndarray, codec: SpaceCodec) -> LocalBox | None:
    """The box of the module docstring for ``(n, d)`` points with values ``y`` (smaller is
    better), or None when the space has no column a local step can move."""
    cols = codec.columns(CONT, RELAXED)
    if cols.size == 0:
        return None
    order = np.argsort(y, kind="stable")
    k = max(cols.size + 1, math.ceil(_TOP_FRACTION * y.shape[0]))
    center = x[order[0]]
    diff = x[order[:k]][:, cols] - center[cols]
    moment = diff.T @ diff / max(k - 1, 1)
    eig, axes = np.linalg.eigh(moment)
    half = 2.0 * np.sqrt(np.maximum(eig, 0.0))
    half = np.clip(half, max(_MIN_HALF, _MIN_RATIO * float(np.max(half))), 0.5)
    return LocalBox(center.copy(), cols, axes, half)


def optimize_in_box(
    acq: LogEI,
    box: LocalBox,
    codec: SpaceCodec,
    exclude: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A ``(d,)`` global point maximizing ``acq`` (a model in local coordinates) in the box.

    Candidates: Sobol' points in the box and Gaussian steps from the incumbent at scales from
    1/1000 to 1/2 of the box; the best ``_N_STARTS`` are refined by batched L-BFGS-B within the
    box. The best candidate that is not a row of ``exclude`` (global coordinates) wins
    (:func:`._optimize_acqf.first_new`).
    """
    lo, hi = np.full(box.cols.size, 0.25), np.full(box.cols.size, 0.75)
    c = box.cols.size
    center = box.to_local(box.center[None, :])[0]
    u = sobol(c, _N_SOBOL, rng.integers(2**63))
    steps = rng.standard_normal((_N_AROUND, c)) * np.exp(
        rng.uniform(math.log(1e-3), math.log(0.5), size=(_N_AROUND, 1))
    )
    moved = np.concatenate([lo + u * (hi - lo), center[box.cols] + 0.5 * steps * (hi - lo)])
    cands = np.repeat(center[None, :], moved.shape[0], axis=0)
    cands[:, box.cols] = np.clip(moved, lo, hi)
    values = acq(cands)
    starts = cands[np.argsort(-values, kind="stable")[:_N_STARTS]]
    m = starts.shape[0]
    refined = batched_lbfgsb(
        acq, starts, box.cols, np.broadcast_to(lo, (m, c)), np.broadcast_to(hi, (m, c)), 100
    )
    pool = codec.snap(box.to_global(np.concatenate([refined, cands])))
    return first_new(pool, acq(box.to_local(pool)), exclude)

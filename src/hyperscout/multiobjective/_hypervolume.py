"""Hypervolume (the S-metric) of a set of points, for minimization.

The hypervolume of points ``P`` with respect to a reference point ``r`` is the Lebesgue measure
of the union of the boxes ``[p, r]`` (Zitzler & Thiele, "Multiobjective Optimization Using
Evolutionary Algorithms - A Comparative Case Study", PPSN V, 1998). Only distinct, non-dominated
points that strictly dominate ``r`` add volume, so every function filters to those first.

Exact algorithms by number of objectives ``m``:

* ``m = 1``: ``r - min(P)``; ``m = 2``: sort and sum rectangles, O(n log n).
* ``m = 3``: the dimension sweep of Fonseca, Paquete & López-Ibáñez ("An Improved
  Dimension-Sweep Algorithm for the Hypervolume Indicator", IEEE CEC 2006): points in increasing
  third objective are inserted into a sorted two-objective front whose area is updated
  incrementally; O(n log n) comparisons.
* ``m >= 4``: the exclusive-volume recursion of WFG (While, Bradstreet & Barone, "A Fast Way of
  Calculating Exact Hypervolumes", IEEE TEVC 16(1), 2012): ``HV(P) = sum_k excl(p_k, later)``
  with ``excl(p, Q) = vol([p, r]) - HV(nds({max(p, q) : q in Q}))``. Points are taken in
  decreasing last objective, so every ``max(p, q)`` shares ``p``'s last objective and the inner
  hypervolume drops one dimension (the slicing of WFG's Sec. IV).
"""

from __future__ import annotations

import bisect
import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.multiobjective._pareto import (
    as_values,
    chunk_rows,
    efficient_unique,
    leq_matrix,
    unique_rows,
)

__all__ = [
    "hypervolume",
    "hypervolume_contributions",
    "hypervolume_mc",
    "reference_point",
]


def _inputs(values: ArrayLike, reference: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(n, m)`` values (no NaN, no -inf) and ``(m,)`` finite reference."""
    arr = as_values(values)
    if np.any(arr == -np.inf):
        raise InvalidArgumentError(
            "`values` must not contain -inf: the hypervolume would be infinite"
        )
    try:
        ref = np.array(reference, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"`reference` must be numbers, got {reference!r}") from exc
    m = arr.shape[1]
    if ref.shape != (m,):
        raise InvalidArgumentError(
            f"`reference` must have shape (n_objectives,) = ({m},), got shape {ref.shape}"
        )
    if not np.all(np.isfinite(ref)):
        raise InvalidArgumentError(f"`reference` must be finite, got {ref.tolist()}")
    return arr, ref


def _nondominated(points: np.ndarray) -> np.ndarray:
    """The distinct non-dominated rows of ``points``, in lexicographic order."""
    rows, _, _ = unique_rows(points)
    out: np.ndarray = rows[efficient_unique(rows)]
    return out


def _front(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distinct non-dominated rows that strictly dominate ``reference``, lexicographic order."""
    return _nondominated(values[np.all(values < reference, axis=1)])


def _hv(front: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume of distinct non-dominated rows, all strictly dominating ``reference``."""
    n, m = front.shape
    if n == 0:
        return 0.0
    if n == 1:
        return float(math.prod((reference - front[0]).tolist()))
    if m == 1:
        return float(reference[0] - front[:, 0].min())
    if m == 2:
        return _hv2d(front, reference)
    if m == 3:
        return _hv3d(front, reference)
    return _hv_wfg(front, reference)


def _hv2d(front: np.ndarray, reference: np.ndarray) -> float:
    """Sum of the rectangles of a 2-d front sorted by the first objective (second decreasing)."""
    widths = np.diff(np.append(front[:, 0], reference[0]))
    return float(np.sum(widths * (reference[1] - front[:, 1])))


def _hv3d(front: np.ndarray, reference: np.ndarray) -> float:
    """Dimension sweep over the third objective (Fonseca, Paquete & López-Ibáñez 2006)."""
    pts = front[np.argsort(front[:, 2], kind="stable")]
    zs = [*pts[:, 2].tolist(), float(reference[2])]
    rx, ry = float(reference[0]), float(reference[1])
    xs: list[float] = []  # the 2-d front seen so far: x increasing, y decreasing
    ys: list[float] = []
    area = volume = 0.0
    for i, (x, y) in enumerate(pts[:, :2].tolist()):
        area += _insert(xs, ys, x, y, rx, ry)
        volume += area * (zs[i + 1] - zs[i])
    return volume


def _insert(xs: list[float], ys: list[float], x: float, y: float, rx: float, ry: float) -> float:
    """Insert ``(x, y)`` into the sorted 2-d front ``xs, ys``; return the change of its area."""
    k = bisect.bisect_left(xs, x)
    if (k > 0 and ys[k - 1] <= y) or (k < len(xs) and xs[k] == x and ys[k] <= y):
        return 0.0  # weakly dominated: nothing changes
    prev_y = ys[k - 1] if k > 0 else ry
    gain = 0.0
    while k < len(xs) and ys[k] >= y:  # dominated by the new point: drop its exclusive area
        next_x = xs[k + 1] if k + 1 < len(xs) else rx
        gain -= (next_x - xs[k]) * (prev_y - ys[k])
        del xs[k], ys[k]
    next_x = xs[k] if k < len(xs) else rx
    xs.insert(k, x)
    ys.insert(k, y)
    return gain + (next_x - x) * (prev_y - y)


def _hv_wfg(front: np.ndarray, reference: np.ndarray) -> float:
    """WFG's exclusive-volume sum with one-dimension-lower limit sets (While et al. 2012)."""
    pts = front[np.argsort(-front[:, -1], kind="stable")]  # worst last objective first
    inner_ref = reference[:-1]
    total = 0.0
    for k in range(pts.shape[0]):
        p = pts[k, :-1]
        excl = math.prod((inner_ref - p).tolist())
        if k + 1 < pts.shape[0]:
            excl -= _hv(_nondominated(np.maximum(pts[k + 1 :, :-1], p)), inner_ref)
        total += (reference[-1] - pts[k, -1]) * excl
    return float(total)


def hypervolume(values: ArrayLike, reference: ArrayLike) -> float:
    """Exact hypervolume dominated by ``values`` and bounded by ``reference`` (minimization).

    Points that do not strictly dominate ``reference`` add nothing; dominated and repeated
    points add nothing. The algorithm depends on the number of objectives ``m`` (module
    docstring): O(n log n) for ``m <= 3``; for ``m >= 4`` WFG's recursion, practical up to
    ``m = 5`` with about a hundred front points (use :func:`hypervolume_mc` beyond).

    Args:
        values: ``(n, m)`` objective values; ``+inf`` is allowed (such points add nothing).
        reference: ``(m,)`` finite reference point, worse than the points that should count.

    Returns:
        The hypervolume, ``0.0`` when no point strictly dominates ``reference``.

    Raises:
        InvalidArgumentError: ``values`` is not 2-d or contains NaN or -inf, or ``reference``
            does not have shape ``(m,)`` or is not finite.

    Example:
        >>> hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4])
        6.0
    """
    arr, ref = _inputs(values, reference)
    return float(_hv(_front(arr, ref), ref))


def hypervolume_mc(
    values: ArrayLike,
    reference: ArrayLike,
    *,
    n_samples: int = 100_000,
    rng: np.random.Generator,
) -> float:
    """Monte-Carlo estimate of :func:`hypervolume`, for any number of objectives.

    Draws ``n_samples`` points uniformly in the box between the ideal point of the counted points
    and ``reference``; the estimate is the box volume times the fraction of samples dominated.
    Its standard error is ``V sqrt(q (1 - q) / n_samples)`` for box volume ``V`` and fraction
    ``q``.

    Args:
        values: ``(n, m)`` objective values.
        reference: ``(m,)`` finite reference point.
        n_samples: number of uniform samples, ``>= 1``.
        rng: the random generator (the global random state is never used).

    Returns:
        The estimate, ``0.0`` when no point strictly dominates ``reference``.

    Raises:
        InvalidArgumentError: bad shapes, NaN, or ``n_samples < 1``.
        InvalidTypeError: ``rng`` is not a ``numpy.random.Generator``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> round(hypervolume_mc([[0.0, 0.0]], [1.0, 2.0], n_samples=100, rng=rng), 6)
        2.0
    """
    arr, ref = _inputs(values, reference)
    if not isinstance(rng, np.random.Generator):
        raise InvalidTypeError(
            f"`rng` must be a numpy.random.Generator (np.random.default_rng(seed)), got {rng!r}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise InvalidTypeError(f"`n_samples` must be an int, got {n_samples!r}")
    if n_samples < 1:
        raise InvalidArgumentError(f"`n_samples` must be >= 1, got n_samples={n_samples}")
    front = _front(arr, ref)
    if front.shape[0] == 0:
        return 0.0
    ideal = front.min(axis=0)
    chunk = chunk_rows(front.shape[0])
    hits = 0
    for start in range(0, int(n_samples), chunk):
        u = rng.uniform(ideal, ref, size=(min(chunk, int(n_samples) - start), ref.size))
        hits += int(leq_matrix(front, u).any(axis=0).sum())
    return float(math.prod((ref - ideal).tolist())) * hits / int(n_samples)


def hypervolume_contributions(values: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """Exclusive contribution of each point: ``HV(all) - HV(all without that point)``.

    Dominated points, points that do not strictly dominate ``reference`` and points that occur
    more than once contribute 0. Two objectives take O(n log n): a front point's exclusive
    rectangle, less what the points only it dominates cover there. Otherwise each front point
    ``p`` takes one exact call, ``vol([p, r]) - HV(nds({max(p, q) : q != p}))``.

    Args:
        values: ``(n, m)`` objective values.
        reference: ``(m,)`` finite reference point.

    Returns:
        ``(n,)`` non-negative contributions.

    Raises:
        InvalidArgumentError: as :func:`hypervolume`.

    Example:
        >>> hypervolume_contributions([[1, 3], [2, 2], [3, 1], [3, 3]], [4, 4]).tolist()
        [1.0, 1.0, 1.0, 0.0]
    """
    arr, ref = _inputs(values, reference)
    inside = np.all(arr < ref, axis=1)
    rows, inverse, counts = unique_rows(arr[inside])
    efficient = efficient_unique(rows)
    if arr.shape[1] == 2:
        per_row = _contributions_2d(rows, efficient, ref)
    else:
        per_row = np.zeros(rows.shape[0])
        for k in np.flatnonzero(efficient).tolist():
            limit = np.maximum(np.delete(rows, k, axis=0), rows[k])
            per_row[k] = math.prod((ref - rows[k]).tolist()) - _hv(_nondominated(limit), ref)
    per_row[counts > 1] = 0.0
    out = np.zeros(arr.shape[0])
    out[inside] = np.maximum(per_row, 0.0)[inverse]
    return out


def _contributions_2d(rows: np.ndarray, efficient: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """2-d contributions of distinct sorted ``rows`` (0 for the dominated ones)."""
    front = rows[efficient]
    next_x = np.append(front[1:, 0], ref[0])
    prev_y = np.concatenate([[ref[1]], front[:-1, 1]])
    excl = (next_x - front[:, 0]) * (prev_y - front[:, 1])
    # A dominated point inside a front point's exclusive rectangle [x, next_x) x [y, prev_y) is
    # dominated by that front point alone and takes back the part of the rectangle it covers.
    others = rows[~efficient]
    owner = np.searchsorted(front[:, 0], others[:, 0], side="right") - 1
    inside = others[:, 1] < prev_y[owner]
    for k in np.unique(owner[inside]).tolist():
        corner = np.array([next_x[k], prev_y[k]])
        excl[k] -= _hv2d(_nondominated(others[inside & (owner == k)]), corner)
    out = np.zeros(rows.shape[0])
    out[efficient] = excl
    return out


def reference_point(values: ArrayLike, *, margin: float = 0.1) -> np.ndarray:
    """A default reference point: the worst value of each objective plus a margin.

    Objective ``j`` gets ``max_j + margin * (max_j - min_j)``, or ``max_j + margin *
    max(1, |max_j|)`` when all its values are equal, so that every point strictly dominates the
    reference when ``margin > 0``.

    Args:
        values: ``(n, m)`` finite objective values, ``n >= 1``.
        margin: the fraction of the range to add, ``>= 0``.

    Returns:
        ``(m,)`` reference point.

    Raises:
        InvalidArgumentError: ``values`` is empty, not 2-d or not finite, or ``margin`` is
            negative or not finite.

    Example:
        >>> reference_point([[1, 3], [2, 2], [3, 1]]).tolist()
        [3.2, 3.2]
    """
    arr = as_values(values)
    if arr.shape[0] == 0 or not np.all(np.isfinite(arr)):
        raise InvalidArgumentError(
            f"`values` must hold at least one point, all finite, got shape {arr.shape}"
        )
    if not (isinstance(margin, numbers.Real) and math.isfinite(margin) and margin >= 0):
        raise InvalidArgumentError(f"`margin` must be a finite number >= 0, got margin={margin!r}")
    worst = arr.max(axis=0)
    span = worst - arr.min(axis=0)
    scale = np.where(span > 0, span, np.maximum(1.0, np.abs(worst)))
    out: np.ndarray = worst + margin * scale
    return out

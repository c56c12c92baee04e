"""Pareto dominance, non-dominated sorting and crowding distance, all for minimization.

Every function takes ``values`` of shape ``(n, m)``: ``n`` points, ``m`` objectives, each to be
minimized (flip maximized objectives first). Point ``a`` dominates ``b`` when ``a <= b`` in every
objective and ``a < b`` in at least one. Rank and crowding distance follow NSGA-II (Deb, Pratap,
Agarwal & Meyarivan, "A Fast and Elitist Multiobjective Genetic Algorithm: NSGA-II", IEEE TEVC
6(2), 2002, Sec. III-A and III-B); constrained ranks follow its constrained-domination rule.

Two facts keep the algorithms simple. Duplicated rows share their status and rank, so they are
merged first. Among distinct rows, ``a <= b`` everywhere already implies ``a`` dominates ``b``,
and ``a`` then comes before ``b`` in lexicographic order, so a row can only be dominated by rows
sorted before it.
"""

from __future__ import annotations

import bisect

import numpy as np
from numpy.typing import ArrayLike

from hyperscout.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "constrained_ranks",
    "crowding_distance",
    "dominates",
    "is_pareto_efficient",
    "non_dominated_sort",
]

_BLOCK = 256  # rows checked at once by the m > 2 Pareto filter
_CELLS = 1 << 22  # most booleans held by one vectorized dominance check


def as_values(values: ArrayLike, name: str = "values") -> np.ndarray:
    """``values`` as a float array of shape ``(n, m)`` with ``m >= 1`` and no NaN.

    Raises:
        InvalidTypeError: the values are not numbers.
        InvalidArgumentError: the shape is not ``(n, m)`` or some value is NaN.
    """
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"`{name}` must be an array of numbers, got {values!r}") from exc
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise InvalidArgumentError(
            f"`{name}` must be a 2-d array of shape (n_points, n_objectives) with at least one "
            f"objective, got shape {arr.shape}"
        )
    nan_rows = np.flatnonzero(np.isnan(arr).any(axis=1))
    if nan_rows.size:
        raise InvalidArgumentError(
            f"`{name}` must not contain NaN, got NaN in row {int(nan_rows[0])} (drop failed "
            "points or replace NaN by a finite value first)"
        )
    return arr


def unique_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of ``values`` in lexicographic order.

    Returns:
        ``(rows, inverse, counts)``: ``rows[inverse]`` equals ``values`` and ``counts[k]`` is
        how often ``rows[k]`` occurs.
    """
    n = values.shape[0]
    order = np.lexsort(values.T[::-1])
    ordered = values[order]
    new = np.ones(n, dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    ids = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = ids
    counts = np.bincount(ids, minlength=int(new.sum()))
    return ordered[new], inverse, counts


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """Whether ``a`` dominates ``b``: no worse in every objective and better in at least one.

    Args:
        a: ``(m,)`` objective values of the first point.
        b: ``(m,)`` objective values of the second point.

    Raises:
        InvalidArgumentError: ``a`` and ``b`` are not 1-d of the same length, or hold NaN.

    Example:
        >>> dominates([1.0, 2.0], [1.0, 3.0]), dominates([1.0, 2.0], [1.0, 2.0])
        (True, False)
    """
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) != 1 or sa != sb:
        raise InvalidArgumentError(
            f"`a` and `b` must be 1-d arrays of the same length, got shapes {sa} and {sb}"
        )
    first = as_values(np.reshape(a, (1, -1)), "a")[0]
    second = as_values(np.reshape(b, (1, -1)), "b")[0]
    return bool(np.all(first <= second) and np.any(first < second))


def leq_matrix(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``(len(lhs), len(rhs))`` booleans: ``lhs[i] <= rhs[j]`` in every objective.

    Between distinct rows this means ``lhs[i]`` dominates ``rhs[j]``.
    """
    out: np.ndarray = np.less_equal.outer(lhs[:, 0], rhs[:, 0])
    tmp = np.empty_like(out)
    for j in range(1, lhs.shape[1]):
        np.less_equal.outer(lhs[:, j], rhs[:, j], out=tmp)
        out &= tmp
    return out


def chunk_rows(n_cols: int) -> int:
    """Rows per chunk so that a ``(rows, n_cols)`` boolean matrix holds at most ``_CELLS``."""
    return max(1, _CELLS // max(1, n_cols))


def efficient_unique(rows: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated rows of distinct, lexicographically sorted ``rows``."""
    n, m = rows.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    mask = np.zeros(n, dtype=bool)
    if m == 1:
        mask[0] = True  # the smallest value
        return mask
    if m == 2:
        # Sorted by (f1, f2) and distinct: a row is efficient iff its f2 beats every earlier f2.
        mask[0] = True
        mask[1:] = rows[1:, 1] < np.minimum.accumulate(rows[:-1, 1])
        return mask
    # m > 2: blocks in lexicographic order, each checked against the other rows of the block and
    # the front found so far: a dominated row is dominated by some efficient row sorted before it.
    front = rows[:0]
    for start in range(0, n, _BLOCK):
        block = rows[start : start + _BLOCK]
        inner = leq_matrix(block, block)
        np.fill_diagonal(inner, False)
        dominated = inner.any(axis=0)
        step = chunk_rows(block.shape[0])
        for first in range(0, front.shape[0], step):
            dominated |= leq_matrix(front[first : first + step], block).any(axis=0)
        mask[start : start + _BLOCK] = ~dominated
        front = np.concatenate([front, block[~dominated]])
    return mask


def is_pareto_efficient(values: ArrayLike) -> np.ndarray:
    """Mask of the non-dominated rows of ``values`` (minimization).

    Every copy of a non-dominated point is efficient. Two objectives take one sort and a sweep,
    O(n log n); more objectives take a lexicographic sort and block-wise vectorized dominance
    checks against the front found so far, O(n f m) for a front of ``f`` points.

    Args:
        values: ``(n, m)`` objective values.

    Returns:
        ``(n,)`` booleans, True for the points no other point dominates.

    Raises:
        InvalidArgumentError: ``values`` is not 2-d or contains NaN.

    Example:
        >>> is_pareto_efficient([[1, 3], [2, 2], [2, 3], [1, 3]]).tolist()
        [True, True, False, True]
    """
    arr = as_values(values)
    rows, inverse, _ = unique_rows(arr)
    out: np.ndarray = efficient_unique(rows)[inverse]
    return out


def non_dominated_sort(values: ArrayLike, *, n_below: int | None = None) -> np.ndarray:
    """Front rank of every row (0 for the Pareto front), as in NSGA-II (Deb et al. 2002, III-A).

    Front ``k`` holds the points that are non-dominated once fronts ``0 .. k-1`` are removed;
    equal points share a rank. One objective ranks the distinct values. Two objectives take the
    O(n log n) sweep of Jensen (IEEE TEVC 7(5), 2003): in lexicographic order each point joins the
    first front whose last point does not dominate it, found by binary search. More objectives
    peel fronts with Deb's domination counts, in vectorized chunks of bounded memory: O(n^2 m).

    Args:
        values: ``(n, m)`` objective values.
        n_below: stop once the fronts found hold at least this many points; each remaining point
            gets the rank ``k`` = number of fronts found, i.e. one past the last front. NSGA-II
            survival uses it to rank only what it keeps. ``None`` ranks every point.

    Returns:
        ``(n,)`` integer ranks.

    Raises:
        InvalidArgumentError: ``values`` is not 2-d or contains NaN, or ``n_below`` < 1.

    Example:
        >>> non_dominated_sort([[1, 3], [2, 2], [3, 3], [4, 4]]).tolist()
        [0, 0, 1, 2]
        >>> non_dominated_sort([[1, 3], [2, 2], [3, 3], [4, 4]], n_below=2).tolist()
        [0, 0, 1, 1]
    """
    arr = as_values(values)
    if n_below is not None:
        if isinstance(n_below, bool) or not isinstance(n_below, (int, np.integer)):
            raise InvalidTypeError(f"`n_below` must be an int or None, got {n_below!r}")
        if n_below < 1:
            raise InvalidArgumentError(f"`n_below` must be >= 1 or None, got n_below={n_below}")
    rows, inverse, counts = unique_rows(arr)
    limit = arr.shape[0] if n_below is None else int(n_below)
    if rows.shape[1] == 1:
        ranks = np.arange(rows.shape[0])
    elif rows.shape[1] == 2:
        ranks = _sort_2d(rows)
    else:
        ranks = _sort_peeling(rows, counts, limit)
    out: np.ndarray = _cap(ranks, counts, limit)[inverse]
    return out


def _sort_2d(rows: np.ndarray) -> np.ndarray:
    """Ranks of distinct, lexicographically sorted two-objective rows (Jensen 2003 sweep)."""
    # last[k]: f2 of the last point put in front k. It never decreases with k, and a point with
    # f2 >= last[k] is dominated by that point (earlier, so no worse in f1, and distinct).
    last: list[float] = []
    ranks = np.empty(rows.shape[0], dtype=np.intp)
    for i, f2 in enumerate(rows[:, 1].tolist()):
        k = bisect.bisect_right(last, f2)
        if k == len(last):
            last.append(f2)
        else:
            last[k] = f2
        ranks[i] = k
    return ranks


def _sort_peeling(rows: np.ndarray, counts: np.ndarray, limit: int) -> np.ndarray:
    """Ranks of distinct, sorted rows by peeling fronts with domination counts (Deb 2002)."""
    n = rows.shape[0]
    step = chunk_rows(n)
    n_dominators = np.zeros(n, dtype=np.intp)
    for start in range(0, n, step):  # a row can only dominate rows sorted after it
        n_dominators[start:] += leq_matrix(rows[start : start + step], rows[start:]).sum(axis=0)
    n_dominators -= 1  # every row is <= itself
    ranks = np.full(n, -1, dtype=np.intp)
    front = np.flatnonzero(n_dominators == 0)
    rank, done = 0, 0
    while front.size and done < limit:
        ranks[front] = rank
        done += int(counts[front].sum())
        for start in range(0, front.size, step):
            n_dominators -= leq_matrix(rows[front[start : start + step]], rows).sum(axis=0)
        front = np.flatnonzero((n_dominators == 0) & (ranks < 0))
        rank += 1
    ranks[ranks < 0] = rank
    return ranks


def _cap(ranks: np.ndarray, counts: np.ndarray, limit: int) -> np.ndarray:
    """Keep the fewest fronts holding ``limit`` points; later points get that number of fronts."""
    if ranks.size == 0:
        return ranks
    sizes = np.cumsum(np.bincount(ranks, weights=counts).astype(np.intp))
    k = int(np.searchsorted(sizes, limit)) + 1  # fronts 0 .. k-1 hold >= limit points
    out: np.ndarray = np.minimum(ranks, k)
    return out


def crowding_distance(values: ArrayLike) -> np.ndarray:
    """Crowding distance of each point of ONE front (Deb et al. 2002, Sec. III-B).

    Per objective the points are sorted (stably, so ties keep row order); the first and last get
    ``inf`` and each other point gets ``(f[next] - f[previous]) / (f_max - f_min)``; the distance
    is the sum over objectives. An objective whose values are all equal adds 0 (and no ``inf``).
    With one or two points, every distance is ``inf``.

    Args:
        values: ``(n, m)`` finite objective values of the points of one front.

    Returns:
        ``(n,)`` distances, larger for points in sparser regions.

    Raises:
        InvalidArgumentError: ``values`` is not 2-d or is not finite.

    Example:
        >>> crowding_distance([[0, 4], [1, 2], [4, 0]]).tolist()
        [inf, 2.0, inf]
    """
    arr = as_values(values)
    if not np.all(np.isfinite(arr)):
        raise InvalidArgumentError("`values` must be finite for crowding distances, got inf")
    n, m = arr.shape
    if n <= 2:
        return np.full(n, np.inf)
    distance = np.zeros(n)
    for j in range(m):
        order = np.argsort(arr[:, j], kind="stable")
        f = arr[order, j]
        span = f[-1] - f[0]
        if span <= 0:
            continue
        distance[order[1:-1]] += (f[2:] - f[:-2]) / span
        distance[order[[0, -1]]] = np.inf
    return distance


def constrained_ranks(values: ArrayLike, violations: ArrayLike) -> np.ndarray:
    """Ranks under constrained domination (Deb et al. 2002, constraint handling).

    Feasible points (violation 0) come first, ranked by :func:`non_dominated_sort` among
    themselves; infeasible points follow all feasible fronts, ordered by total violation, the
    smallest first; equal violations share a rank.

    Args:
        values: ``(n, m)`` objective values.
        violations: ``(n,)`` total constraint violations, ``>= 0``; 0 means feasible.

    Returns:
        ``(n,)`` integer ranks, 0 the best.

    Raises:
        InvalidArgumentError: shapes disagree, a violation is negative or not finite, or
            ``values`` contains NaN.

    Example:
        >>> constrained_ranks([[1, 2], [2, 1], [0, 0], [0, 0]], [0, 0, 0.5, 2]).tolist()
        [0, 0, 1, 2]
    """
    arr = as_values(values)
    try:
        viol = np.array(violations, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"`violations` must be numbers, got {violations!r}") from exc
    if viol.shape != (arr.shape[0],):
        raise InvalidArgumentError(
            f"`violations` must have shape (n_points,) = ({arr.shape[0]},), got shape {viol.shape}"
        )
    bad = ~(np.isfinite(viol) & (viol >= 0))
    if bad.any():
        raise InvalidArgumentError(
            f"`violations` must be finite and >= 0, got {viol[bad][0]} in row "
            f"{int(np.flatnonzero(bad)[0])}"
        )
    ranks = np.empty(arr.shape[0], dtype=np.intp)
    feasible = viol == 0
    n_fronts = 0
    if feasible.any():
        ranks[feasible] = non_dominated_sort(arr[feasible])
        n_fronts = int(ranks[feasible].max()) + 1
    if not feasible.all():
        _, order = np.unique(viol[~feasible], return_inverse=True)
        ranks[~feasible] = n_fronts + order.reshape(-1)
    return ranks

"""Turn benchmark runs into numbers: normalized regret, anytime AUC, ranks and a CD test.

Per task (one problem), every run's incumbent curve (best value after each evaluation) is
min-max normalized with

* ``lo`` = the known optimum where there is one (regret below 1e-8, the final BBOB target of
  COCO, counts as solved: 0), else the best value any included optimizer found;
* ``hi`` = the worst *final* incumbent among the included runs,

so 0 is the optimum (or the best anyone found) and 1 the worst result any optimizer ended with;
earlier, worse incumbents are clipped to 1. From that:

* **final normalized regret**: the normalized incumbent after the whole budget, averaged over
  seeds, then over tasks;
* **anytime AUC**: the mean of the normalized incumbent over the budget (area under the anytime
  curve with the budget scaled to 1): small when an optimizer gets good early;
* **ranks**: per task, optimizers ranked on their mean final normalized regret (ties share the
  average rank); the mean rank over tasks, the Friedman test of equal ranks and the Nemenyi
  critical difference (Demšar 2006, "Statistical comparisons of classifiers over multiple data
  sets", JMLR 7, sec. 3.2.2), through ``autorank`` when installed, else scipy.

Example:
    >>> from hyperscout.bench.runner import RunResult
    >>> runs = [RunResult("p", o, 0, 2, v, 0.0, 0.0, 0.0, "", optimum=0.0)
    ...         for o, v in [("a", (4.0, 1.0)), ("b", (4.0, 2.0)), ("c", (4.0, 3.0))]]
    >>> s = summarize(runs)
    >>> s.mean_rank.tolist()
    [1.0, 2.0, 3.0]
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hyperscout.bench.runner import RunResult, best_so_far
from hyperscout.errors import InvalidArgumentError, MissingDependencyError

__all__ = [
    "Summary",
    "anytime_auc",
    "critical_difference",
    "load_results",
    "markdown",
    "normalize",
    "plot_anytime",
    "rank_matrix",
    "summarize",
    "task_bounds",
    "task_group",
]

SOLVED = 1e-8
_GRID = 101  # points of the common budget-fraction axis of the anytime curves


def load_results(path: str | Path) -> list[RunResult]:
    """Runs from a JSON-lines file; a later line with the same key replaces an earlier one,
    and a torn last line (an interrupted write) is skipped."""
    runs: dict[tuple[str, str, int], RunResult] = {}
    p = Path(path)
    if not p.exists():
        return []
    for line in p.read_text().splitlines():
        if not line.strip():
            continue
        try:
            r = RunResult.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        runs[r.key] = r
    return list(runs.values())


def task_group(problem: str) -> str:
    """Report group of a problem name: ``bbob d=5``, ``sklearn``, ...

    Example:
        >>> task_group("bbob-f03-d5"), task_group("sklearn-svc-digits")
        ('bbob d=5', 'sklearn')
    """
    m = re.match(r"^bbob-f\d+-d(\d+)$", problem)
    if m:
        return f"bbob d={m.group(1)}"
    return problem.split("-", 1)[0]


def _regret_curve(run: RunResult) -> np.ndarray:
    curve = best_so_far(run.values, run.budget)
    if run.optimum is not None:
        curve = curve - run.optimum
        curve = np.where(curve < SOLVED, 0.0, curve)
    return curve


def task_bounds(curves: Sequence[np.ndarray], known_optimum: bool) -> tuple[float, float]:
    """``(lo, hi)`` of one task from its runs' regret (or value) curves; see the module doc."""
    finals = np.array([c[-1] for c in curves if c.size], dtype=float)
    finite = finals[np.isfinite(finals)]
    if finite.size == 0:
        return 0.0, 1.0
    lo = 0.0 if known_optimum else float(finite.min())
    return lo, float(finite.max())


def normalize(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``(values - lo) / (hi - lo)`` clipped to [0, 1]; a task where every run ended at ``lo``
    maps ``lo`` to 0 and anything worse to 1.

    Example:
        >>> normalize(np.array([5.0, 2.0, 1.0]), 1.0, 3.0).tolist()
        [1.0, 0.5, 0.0]
    """
    v = np.asarray(values, dtype=float)
    if not hi > lo:
        return np.where(v <= lo, 0.0, 1.0)
    out: np.ndarray = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    return np.where(np.isnan(out), 1.0, out)


def anytime_auc(normalized_curve: np.ndarray) -> float:
    """Area under a normalized incumbent curve with the budget scaled to [0, 1] (its mean).

    Example:
        >>> anytime_auc(np.array([1.0, 0.5, 0.0, 0.0]))
        0.375
    """
    c = np.asarray(normalized_curve, dtype=float)
    return float(c.mean()) if c.size else 1.0


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Per-row ranks of an (n_tasks, n_optimizers) matrix, 1 = smallest, ties averaged."""
    from scipy.stats import rankdata

    out: np.ndarray = rankdata(np.asarray(scores, dtype=float), axis=1, method="average")
    return out


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks for ``k`` optimizers over ``n`` tasks
    (Demšar 2006, eq. after (3)): ``q_alpha * sqrt(k (k + 1) / (6 n))``.

    Example:
        >>> round(critical_difference(4, 20), 3)
        1.049
    """
    from scipy.stats import studentized_range

    if k < 2 or n < 1:
        return math.nan
    q = float(studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


@dataclass
class Summary:
    """What :func:`markdown` and :func:`plot_anytime` show; arrays are (tasks, optimizers)."""

    optimizers: list[str]
    tasks: list[str]
    final: np.ndarray
    auc: np.ndarray
    ranks: np.ndarray
    mean_rank: np.ndarray
    friedman_p: float
    cd: float
    test: str
    opt_seconds: dict[str, float]
    opt_cpu_seconds: dict[str, float]
    opt_seconds_by_group: dict[str, dict[str, float]]
    n_runs: dict[str, int]
    n_failed: dict[str, int]
    seeds: dict[str, int]
    dropped: list[str]
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def group_rows(self) -> dict[str, np.ndarray]:
        """Group name -> boolean mask over :attr:`tasks`."""
        groups = sorted({task_group(t) for t in self.tasks}, key=_group_key)
        names = np.array([task_group(t) for t in self.tasks])
        return {g: names == g for g in groups}


def _group_key(g: str) -> tuple[int, int, str]:
    m = re.match(r"^bbob d=(\d+)$", g)
    return (0, int(m.group(1)), g) if m else (1, 0, g)


def _friedman(final: np.ndarray, alpha: float) -> tuple[float, float, str]:
    n, k = final.shape
    if n < 2 or k < 3:
        return math.nan, critical_difference(k, n, alpha), "too few tasks/optimizers for Friedman"
    try:
        import pandas as pd
        from autorank import autorank

        df = pd.DataFrame(final, columns=[f"o{i}" for i in range(k)])
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it prints its test choice, warns on ties
            res = autorank(
                df, alpha=alpha, verbose=False, order="ascending", force_mode="nonparametric"
            )
        cd = float(res.cd) if res.cd is not None else critical_difference(k, n, alpha)
        return float(res.pvalue), cd, "Friedman + Nemenyi (autorank)"
    except Exception:  # autorank missing, or it refused these data: scipy gives the same test
        from scipy.stats import friedmanchisquare

        same = bool(np.all(final == final[:, :1]))  # scipy divides by zero on all-ties
        p = 1.0 if same else float(friedmanchisquare(*final.T).pvalue)
        return p, critical_difference(k, n, alpha), "Friedman + Nemenyi (scipy)"


def summarize(
    runs: Iterable[RunResult],
    optimizers: Sequence[str] | None = None,
    min_seeds: int = 1,
    alpha: float = 0.05,
) -> Summary:
    """Aggregate runs; tasks lacking ``min_seeds`` runs of any included optimizer are dropped
    from the comparison (listed in :attr:`Summary.dropped`)."""
    by_task: dict[str, dict[str, list[RunResult]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        if optimizers is None or r.optimizer in optimizers:
            by_task[r.problem][r.optimizer].append(r)
    opts = list(optimizers) if optimizers else sorted({o for t in by_task.values() for o in t})
    if not opts:
        raise InvalidArgumentError("no runs to summarize: run benchmarks/blackbox.py first")
    tasks, dropped = [], []
    for task in sorted(by_task, key=lambda t: (_group_key(task_group(t)), t)):
        if all(len(by_task[task].get(o, ())) >= min_seeds for o in opts):
            tasks.append(task)
        else:
            dropped.append(task)
    final = np.full((len(tasks), len(opts)), np.nan)
    auc = np.full_like(final, np.nan)
    curves: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for i, task in enumerate(tasks):
        regret = {o: [_regret_curve(r) for r in by_task[task][o]] for o in opts}
        known = any(r.optimum is not None for o in opts for r in by_task[task][o])
        lo, hi = task_bounds([c for cs in regret.values() for c in cs], known)
        for j, o in enumerate(opts):
            normed = [normalize(c, lo, hi) for c in regret[o]]
            final[i, j] = float(np.mean([c[-1] for c in normed]))
            auc[i, j] = float(np.mean([anytime_auc(c) for c in normed]))
            for c in normed:
                x = np.linspace(0.0, 1.0, c.size + 1)[1:]
                curves[task_group(task)][o].append(np.interp(np.linspace(0, 1, _GRID), x, c))
    ranks = rank_matrix(final) if tasks else np.empty((0, len(opts)))
    mean_rank = ranks.mean(axis=0) if tasks else np.full(len(opts), np.nan)
    p, cd, test = _friedman(final, alpha) if tasks else (math.nan, math.nan, "no tasks")
    return _finish(
        by_task, tasks, opts, final, auc, ranks, mean_rank, (p, cd, test), curves, dropped
    )


def _finish(
    by_task: Mapping[str, Mapping[str, list[RunResult]]],
    tasks: list[str],
    opts: list[str],
    final: np.ndarray,
    auc: np.ndarray,
    ranks: np.ndarray,
    mean_rank: np.ndarray,
    test: tuple[float, float, str],
    curves: Mapping[str, Mapping[str, list[np.ndarray]]],
    dropped: list[str],
) -> Summary:
    used = [r for t in tasks for o in opts for r in by_task[t][o]]
    secs: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    secs_g: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in used:
        secs[r.optimizer].append(r.optimizer_seconds)
        cpu[r.optimizer].append(r.optimizer_cpu_seconds)
        secs_g[task_group(r.problem)][r.optimizer].append(r.optimizer_seconds)
    return Summary(
        optimizers=opts,
        tasks=tasks,
        final=final,
        auc=auc,
        ranks=ranks,
        mean_rank=mean_rank,
        friedman_p=test[0],
        cd=test[1],
        test=test[2],
        opt_seconds={o: float(np.median(secs[o])) if secs[o] else math.nan for o in opts},
        opt_cpu_seconds={o: float(np.median(cpu[o])) if cpu[o] else math.nan for o in opts},
        opt_seconds_by_group={
            g: {o: float(np.median(v[o])) if v[o] else math.nan for o in opts}
            for g, v in secs_g.items()
        },
        n_runs={o: sum(r.optimizer == o for r in used) for o in opts},
        n_failed={o: sum(r.optimizer == o and r.error is not None for r in used) for o in opts},
        seeds={o: len({r.seed for r in used if r.optimizer == o}) for o in opts},
        dropped=dropped,
        curves={
            g: {o: np.median(np.array(cs), axis=0) for o, cs in v.items() if cs}
            for g, v in curves.items()
        },
        versions={r.optimizer: r.version for r in used},
    )


def _fmt(x: float, digits: int = 3) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:.{digits}f}" if abs(x) >= 10 ** (-digits) or x == 0 else f"{x:.1e}"


def markdown(s: Summary) -> str:
    """The overall table (sorted by mean rank), the test line, and a table per group."""
    order = np.argsort(s.mean_rank, kind="stable")
    best = float(s.mean_rank[order[0]]) if len(order) else math.nan
    lines = [
        "| optimizer | mean rank | within CD of best | final norm. regret | anytime AUC "
        "| optimizer s/run (median) | CPU s/run | runs | failed |",
        "|---|---:|:---:|---:|---:|---:|---:|---:|---:|",
    ]
    for j in order:
        o = s.optimizers[j]
        close = "yes" if math.isfinite(s.cd) and s.mean_rank[j] - best <= s.cd else "no"
        lines.append(
            f"| {o} | {_fmt(s.mean_rank[j], 2)} | {close} | {_fmt(np.mean(s.final[:, j]))} "
            f"| {_fmt(np.mean(s.auc[:, j]))} | {_fmt(s.opt_seconds[o], 2)} "
            f"| {_fmt(s.opt_cpu_seconds[o], 2)} | {s.n_runs[o]} "
            f"| {s.n_failed[o]} |"
        )
    seeds = sorted(set(s.seeds.values()))
    lines += [
        "",
        f"{len(s.tasks)} tasks, {len(s.optimizers)} optimizers, seeds per optimizer: "
        f"{'/'.join(map(str, seeds))}. {s.test}: p = {_fmt(s.friedman_p, 4)}, "
        f"critical difference (alpha = 0.05) = {_fmt(s.cd, 2)} ranks.",
    ]
    if s.dropped:
        lines.append(f"Left out (some optimizer lacks runs): {', '.join(s.dropped)}.")
    groups = s.group_rows()
    if len(groups) > 1:  # one row per optimizer, one column per group
        head = " | ".join(f"{g} ({int(m.sum())} tasks)" for g, m in groups.items())
        lines += [
            "",
            f"| mean rank / final norm. regret / optimizer s per run | {head} |",
            "|---|" + "---:|" * len(groups),
        ]
        for j in order:
            cells = []
            for g, mask in groups.items():
                sub = rank_matrix(s.final[mask]).mean(axis=0)[j]
                sec = s.opt_seconds_by_group.get(g, {}).get(s.optimizers[j], math.nan)
                cells.append(
                    f"{_fmt(sub, 2)} / {_fmt(float(np.mean(s.final[mask, j])))} / {_fmt(sec, 2)}"
                )
            lines.append(f"| {s.optimizers[j]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_anytime(s: Summary, path: str | Path) -> Path:
    """Median normalized incumbent regret over the budget, one panel per task group (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            "the plot needs the optional package 'matplotlib': pip install 'hyperscout[bench]'"
        ) from exc
    groups = sorted(s.curves, key=_group_key)
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(4.6 * max(1, len(groups)), 4.6))
    axes = np.atleast_1d(axes)
    x = np.linspace(0, 1, _GRID)
    order = np.argsort(s.mean_rank, kind="stable")
    for ax, g in zip(axes, groups, strict=False):
        for j in order:
            o = s.optimizers[j]
            if o in s.curves[g]:
                style = "-" if o.startswith("hyperscout:") else "--"
                ax.plot(x, np.maximum(s.curves[g][o], 1e-4), style, label=o, linewidth=1.4)
        ax.set_yscale("log")
        ax.set_title(g)
        ax.set_xlabel("fraction of the budget")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("median normalized regret (log, floor 1e-4)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.06 + 0.04 * (len(labels) // 7), 1, 1))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

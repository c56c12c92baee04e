"""Multi-fidelity benchmark: hyperscout's schedulers against Syne Tune, DEHB, Optuna and random
search on LCBench learning curves, with N simulated workers (hyperscout.bench.simulator).

Every agent runs on the same simulator: the same curves, the same virtual clock, the same
workers. Per run (task, agent, workers, seed) it records the anytime curve (best validation
error reported at any epoch against simulated time), the simulated time to reach a target, and
the agent's own CPU time per trial. Runs are appended to ``benchmarks/results/multifidelity.jsonl``
(resumable; ``--rerun`` replaces).

Budget: ``--time-factor`` K gives ``max_time = K * T`` simulated seconds, ``T`` = the median time
of a full 52-epoch training over 200 random configurations of the task: with 4 workers random
search trains about ``4 K`` configurations to the end.

Targets: within ``x`` of the best known accuracy (``LCBench.best_known``: the best of 10,000
random configurations at 52 epochs), i.e. ``error <= 1 - (1 - best_error) * (1 - x)``, for x = 1%
and 5%. Time to target is ``inf`` when the run never gets there.

    # needs .venv-mf (bash benchmarks/setup_multifidelity.sh)
    .venv-mf/bin/python benchmarks/multifidelity.py --tasks 3945 7593 --workers 4 16 --seeds 10
    .venv-mf/bin/python benchmarks/multifidelity.py --report --out /tmp/mf.md
    # rbv2_xgboost (fidelity: training-set fraction, 20 steps; a promotion retrains from scratch)
    .venv-mf/bin/python benchmarks/multifidelity.py --tasks rbv2-41142 --workers 4 --seeds 10
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "multifidelity.jsonl"
TARGETS = (0.01, 0.05)
DEFAULT_TASKS = ["3945", "7593", "34539", "126025", "146212", "189909"]
N_GRID = 64  # points of the stored anytime curve (log-spaced in simulated time)


def _benchmark(task: str) -> Any:
    if task.startswith("synthetic"):
        from hyperscout.bench.simulator import SyntheticBenchmark

        bench = SyntheticBenchmark(d=2, max_budget=27)
        bench.best_known = 0.0  # type: ignore[attr-defined]
        return bench
    if task.startswith("rbv2-"):  # rbv2_xgboost, fidelity trainsize (not resumable)
        from hyperscout.bench.rbv2 import RBV2XGBoost

        return RBV2XGBoost(task.removeprefix("rbv2-"))
    from hyperscout.bench.lcbench import LCBench

    return LCBench(task)


def full_time(bench: Any, n: int = 200, seed: int = 0) -> float:
    """Median simulated seconds of a full training over ``n`` random configurations."""
    from hyperscout.bench.mf_agents import sample_config

    rng = np.random.default_rng(seed)
    return float(np.median([bench.curve(sample_config(bench.space, rng))[1][-1] for _ in range(n)]))


def target_error(best: float, x: float) -> float:
    """The error within ``x`` (relative) of the best known accuracy ``1 - best``."""
    return 1.0 - (1.0 - best) * (1.0 - x)


def _work(task: str, agent_name: str, workers: int, seed: int, factor: float) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("hyperscout").setLevel(logging.ERROR)
    from hyperscout.bench.mf_agents import make_agent
    from hyperscout.bench.simulator import simulate

    bench = _benchmark(task)
    max_time = factor * full_time(bench)
    agent = make_agent(agent_name, bench, seed=seed, n_workers=workers)
    t0 = time.perf_counter()
    res = simulate(bench, agent, n_workers=workers, max_time=max_time)
    wall = time.perf_counter() - t0
    best = float(bench.best_known)
    times, values = res.anytime("any")
    to_target = {}
    for x in TARGETS:
        hit = np.nonzero(values <= target_error(best, x))[0]
        to_target[str(x)] = float(times[hit[0]]) if hit.size else math.inf
    grid = np.geomspace(max_time / 1000, max_time, N_GRID)
    return {
        "task": task,
        "agent": agent_name,
        "workers": workers,
        "seed": seed,
        "max_time": max_time,
        "best_known": best,
        "best": res.best_value,
        "best_final": res.best_final_value,
        "time_to_target": to_target,
        "grid": grid.tolist(),
        "anytime": [None if not math.isfinite(v) else v for v in res.best_at(grid).tolist()],
        "n_trials": res.n_trials,
        "n_steps": res.n_steps,
        "agent_ms_per_trial": 1e3 * res.agent_time_per_trial,
        "scheduler_ms_per_trial": (
            1e3 * agent.scheduler_seconds / max(res.n_trials, 1)
            if hasattr(agent, "scheduler_seconds")
            else None
        ),
        "sim_us_per_step": 1e6 * res.overhead_per_step,
        "wall_seconds": wall,
    }


def load(path: Path) -> list[dict[str, Any]]:
    """Runs in the file; the last line of a (task, agent, workers, seed) key wins."""
    if not path.exists():
        return []
    runs: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            runs[(r["task"], r["agent"], r["workers"], r["seed"])] = r
    return list(runs.values())


def run(args: argparse.Namespace) -> int:
    from hyperscout.bench.mf_agents import available_agents

    names = available_agents()
    agents = [n for pat in args.agents for n in names if fnmatch.fnmatchcase(n, pat)]
    agents = list(dict.fromkeys(agents))
    if not agents:
        sys.exit(f"multifidelity.py: no agent matches {args.agents}; known: {names}")
    path = Path(args.results)
    done = (
        set()
        if args.rerun
        else {(r["task"], r["agent"], r["workers"], r["seed"]) for r in load(path)}
    )
    todo = [
        (t, a, w, s)
        for s in range(args.seeds)
        for w in args.workers
        for t in args.tasks
        for a in agents
        if (t, a, w, s) not in done
    ]
    print(f"{len(todo)} runs to do ({len(done)} in {path})", flush=True)
    from hyperscout.bench.jobs import run_parallel

    def describe(key: tuple[Any, ...], rec: dict[str, Any]) -> str:
        return (
            f"{key} best={rec['best']:.4f} t5%={rec['time_to_target']['0.05']:.0f} "
            f"agent={rec['agent_ms_per_trial']:.2f}ms/trial"
        )

    return run_parallel(_work, todo, (args.time_factor,), args.jobs, path, describe)


def _median_known(values: list[float | None]) -> float:
    """Median of the recorded values (NaN where none was recorded: a peer, or an older run)."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(known)) if known else math.nan


def _head_to_head(
    cell: dict[tuple[str, str], dict[str, float]], tasks: list[str], mine: str, peers: list[str]
) -> str:
    """Per task: ``mine`` (hyperscout's best agent by mean rank) against the fastest peer on
    that task, on the median time to each target."""
    lines = []
    for key, label in (("t1", "1%"), ("t5", "5%")):
        wins = ties = losses = 0
        ratios = []
        for t in tasks:
            theirs = [cell[(t, p)][key] for p in peers if (t, p) in cell]
            if (t, mine) not in cell or not theirs:
                continue
            a, b = cell[(t, mine)][key], min(theirs)
            if a == b:
                ties += 1
            elif a < b:
                wins += 1
            else:
                losses += 1
            if math.isfinite(a) and math.isfinite(b) and b > 0:
                ratios.append(a / b)
        gm = math.exp(float(np.mean(np.log(ratios)))) if ratios else math.nan
        lines.append(
            f"{mine} vs the fastest peer per task, time to {label}: {wins} faster, {ties} tied, "
            f"{losses} slower; geometric mean time ratio {gm:.2f} over {len(ratios)} tasks both "
            "reached"
        )
    return "\n".join(f"* {line}" for line in lines)


def report(args: argparse.Namespace) -> str:
    """Markdown: per worker count, the median over seeds per task, ranked across tasks."""
    runs = [
        r
        for r in load(Path(args.results))
        if (r["task"] in args.tasks or args.tasks == ["*"])
        and any(fnmatch.fnmatchcase(r["agent"], p) for p in args.agents)
    ]
    out: list[str] = []
    by_w: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_w[r["workers"]].append(r)
    for w in sorted(by_w):
        rs = by_w[w]
        tasks = sorted({r["task"] for r in rs})
        # only agents that ran every task, on the seeds every one of them ran (paired medians)
        agents = sorted(
            a
            for a in {r["agent"] for r in rs}
            if all(any(r["agent"] == a and r["task"] == t for r in rs) for t in tasks)
        )
        left_out = sorted({r["agent"] for r in rs} - set(agents))
        common = {
            t: set.intersection(
                *({r["seed"] for r in rs if r["task"] == t and r["agent"] == a} for a in agents)
            )
            for t in tasks
        }
        rs = [r for r in rs if r["agent"] in agents and r["seed"] in common[r["task"]]]
        n_seeds = min(len(c) for c in common.values())
        note = f"; not all tasks yet, left out: {', '.join(left_out)}" if left_out else ""
        most = max(len(c) for c in common.values())
        out.append(
            f"\n### {w} workers ({len(tasks)} tasks, {n_seeds}-{most}"
            f" seeds per task, the same for every agent{note})\n"
        )
        cols = [
            "agent",
            "mean rank t(1%)",
            "mean rank t(5%)",
            "median t(5%) / best",
            "reached 5%",
            "mean rank final regret",
            "agent ms/trial",
            "scheduler ms/trial",
        ]
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        cell: dict[tuple[str, str], dict[str, float]] = {}
        for t in tasks:
            for a in agents:
                sel = [r for r in rs if r["task"] == t and r["agent"] == a]
                if not sel:
                    continue
                cell[(t, a)] = {
                    "t1": float(np.median([r["time_to_target"]["0.01"] for r in sel])),
                    "t5": float(np.median([r["time_to_target"]["0.05"] for r in sel])),
                    "reg": float(np.median([r["best"] - r["best_known"] for r in sel])),
                    "hit5": float(
                        np.mean([math.isfinite(r["time_to_target"]["0.05"]) for r in sel])
                    ),
                    "ms": float(np.median([r["agent_ms_per_trial"] for r in sel])),
                    "sched_ms": _median_known([r.get("scheduler_ms_per_trial") for r in sel]),
                }
        from scipy.stats import rankdata

        ranks: dict[str, dict[str, list[float]]] = {a: defaultdict(list) for a in agents}
        ratio: dict[str, list[float]] = defaultdict(list)
        for t in tasks:
            present = [a for a in agents if (t, a) in cell]
            for key in ("t1", "t5", "reg"):
                vals = [cell[(t, a)][key] for a in present]
                for a, rk in zip(present, rankdata(vals), strict=True):
                    ranks[a][key].append(float(rk))
            best5 = min(cell[(t, a)]["t5"] for a in present)
            for a in present:
                v = cell[(t, a)]["t5"]
                ratio[a].append(v / best5 if math.isfinite(v) and best5 > 0 else math.inf)
        order = sorted(agents, key=lambda a: np.mean(ranks[a]["t5"]))
        mine = [a for a in order if a.startswith("hyperscout:")]
        peers = [a for a in agents if not a.startswith("hyperscout:") and a != "random"]
        for a in order:
            hit = np.mean([cell[(t, a)]["hit5"] for t in tasks if (t, a) in cell])
            ms = np.median([cell[(t, a)]["ms"] for t in tasks if (t, a) in cell])
            sched = _median_known([cell[(t, a)]["sched_ms"] for t in tasks if (t, a) in cell])
            out.append(
                f"| {a} | {np.mean(ranks[a]['t1']):.2f} | {np.mean(ranks[a]['t5']):.2f} | "
                f"{np.median(ratio[a]):.2f} | {100 * hit:.0f}% | {np.mean(ranks[a]['reg']):.2f} | "
                f"{ms:.2f} | {'-' if math.isnan(sched) else f'{sched:.3f}'} |"
            )
        if mine and peers:
            out.append("")
            out.append(_head_to_head(cell, tasks, mine[0], peers))
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tasks", nargs="+", default=DEFAULT_TASKS, help="LCBench task ids, or 'synthetic'"
    )
    ap.add_argument("--agents", nargs="+", default=["*"], help="agent names or patterns")
    ap.add_argument("--workers", type=int, nargs="+", default=[4, 16])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--time-factor", type=float, default=25.0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--rerun", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.report:
        report(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

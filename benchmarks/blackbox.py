"""Black-box quality benchmark: hyperscout's samplers against Optuna, SMAC3, HEBO and Nevergrad
on the 24 BBOB functions and real scikit-learn tuning tasks (see hyperscout.bench).

Runs are appended as JSON lines to ``benchmarks/results/blackbox.jsonl``, one per
(problem, optimizer, seed): an interrupted run resumes where it stopped, and runs from different
sessions or machines accumulate (``--rerun`` runs selected keys again after a sampler changed;
the last line of a key wins). Each line records the hyperscout commit it ran on (``source``).
``--report`` builds the Markdown table and the plot from that file.

    # what would run (no work)
    .venv-bench/bin/python benchmarks/blackbox.py --bbob-dims 2 5 --sklearn none --dry-run
    # BBOB d=2 and 5, five seeds, two processes
    .venv-bench/bin/python benchmarks/blackbox.py --bbob-dims 2 5 --sklearn none \\
        --optimizers 'hyperscout:*' optuna:tpe optuna:cmaes nevergrad:ngopt --seeds 5 --jobs 2
    # the table and the plot
    .venv-bench/bin/python benchmarks/blackbox.py --report --out /tmp/blackbox.md

Optimizer names: ``hyperscout:<name>`` for every name in hyperscout.samplers.SAMPLERS, and the
peers ``optuna:tpe``, ``optuna:gp``, ``optuna:cmaes``, ``optuna:random``, ``smac:bb``,
``smac:hpo``, ``hebo``, ``nevergrad:ngopt``. Shell-style patterns (``'hyperscout:*'``) select
several. BLAS and torch run single-threaded (OMP_NUM_THREADS=1 unless set).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import fnmatch  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "blackbox.jsonl"
PLOT = ROOT / "benchmarks" / "results" / "blackbox_anytime.png"
# hyperscout:grid needs a finite grid: it cannot run on continuous spaces.
DEFAULT_EXCLUDE = ("hyperscout:grid",)
DEFAULT_OPTIMIZERS = ["hyperscout:*", "optuna:tpe", "optuna:cmaes", "nevergrad:ngopt"]


def _parse_functions(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out += list(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def _select(patterns: list[str], names: list[str]) -> list[str]:
    chosen: list[str] = []
    for pat in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            sys.exit(f"blackbox.py: no optimizer matches {pat!r}; known: {', '.join(names)}")
        if pat != "*" and "*" not in pat and "?" not in pat:
            hits = [pat]
        else:
            hits = [h for h in hits if h not in DEFAULT_EXCLUDE]
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _problems(args: argparse.Namespace) -> list[str]:
    from hyperscout.bench.problems import SKLEARN_TASKS, list_problems

    sk: list[str] | bool
    if args.sklearn == ["all"]:
        sk = True
    elif args.sklearn == ["none"]:
        sk = False
    else:
        sk = [s if s.startswith("sklearn-") else f"sklearn-{s}" for s in args.sklearn]
        unknown = [s for s in sk if s not in SKLEARN_TASKS]
        if unknown:
            sys.exit(f"blackbox.py: unknown task(s) {unknown}; known: {sorted(SKLEARN_TASKS)}")
    dims = [] if args.no_bbob else args.bbob_dims
    return list_problems(bbob_dims=dims, functions=_parse_functions(args.functions), sklearn=sk)


def _source() -> str:
    """The checkout's commit, marked when src/ has uncommitted changes (recorded per run)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+uncommitted-src' if dirty else ''}" if head else "unknown"


def _work(
    problem: str, optimizer: str, seed: int, budget: int | None, source: str
) -> dict[str, Any]:
    """One run in a worker process (a fresh import of the problem and the optimizer)."""
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("hyperscout").setLevel(logging.ERROR)
    from hyperscout.bench.problems import make_problem
    from hyperscout.bench.runner import run

    record = run(make_problem(problem), optimizer, seed, budget).to_json()
    record["source"] = source  # the hyperscout checkout the run used
    return record


def _done_keys(path: Path, retry_failed: bool) -> set[tuple[str, str, int]]:
    from hyperscout.bench.report import load_results

    return {r.key for r in load_results(path) if not (retry_failed and r.error)}


def run_benchmark(args: argparse.Namespace) -> int:
    from hyperscout.bench.runner import available_optimizers

    optimizers = _select(args.optimizers, available_optimizers())
    problems = _problems(args)
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    budget = None if args.budget == "carps" else int(args.budget)
    path = Path(args.results)
    done = set() if args.rerun else _done_keys(path, args.retry_failed)
    todo = [(p, o, s) for s in seeds for p in problems for o in optimizers if (p, o, s) not in done]
    total = len(problems) * len(optimizers) * len(seeds)
    print(
        f"{len(problems)} problems x {len(optimizers)} optimizers x {len(seeds)} seeds = {total} "
        f"runs, {total - len(todo)} already in {path}, {len(todo)} to do",
        flush=True,
    )
    if args.dry_run:
        for key in todo:
            print(" ".join(map(str, key)))
        return 0
    from hyperscout.bench.jobs import run_parallel

    def describe(key: tuple[Any, ...], rec: dict[str, Any]) -> str:
        vals = [v for v in rec["values"] if v is not None]
        best = min(vals) if vals else float("nan")
        err = f" ERROR {rec['error']}" if rec["error"] else ""
        return (
            f"{key[0]} {key[1]} seed={key[2]} best={best:.6g} "
            f"opt={rec['optimizer_seconds']:.2f}s obj={rec['objective_seconds']:.2f}s{err}"
        )

    return run_parallel(_work, todo, (budget, _source()), args.jobs, path, describe)


def report(args: argparse.Namespace) -> int:
    from hyperscout.bench.report import load_results, markdown, plot_anytime, summarize

    runs = load_results(args.results)
    if args.problems:
        runs = [r for r in runs if any(fnmatch.fnmatchcase(r.problem, p) for p in args.problems)]
    if args.report_seeds is not None:
        runs = [r for r in runs if r.seed < args.report_seeds]
    names = sorted({r.optimizer for r in runs})
    optimizers = _select(args.optimizers, names) if args.optimizers != ["*"] else names
    summary = summarize(runs, optimizers=optimizers, min_seeds=args.min_seeds)
    text = markdown(summary)
    versions = sorted(set(summary.versions.values()))
    text += f"\nVersions: {', '.join(versions)}.\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.plot != "none":
        print(f"plot: {plot_anytime(summary, args.plot)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bbob-dims", type=int, nargs="+", default=[2, 5, 10])
    ap.add_argument("--functions", default="1-24", help="BBOB ids, e.g. 1-24 or 1,3,8")
    ap.add_argument("--no-bbob", action="store_true")
    ap.add_argument(
        "--sklearn", nargs="+", default=["all"], help="'all', 'none' or task names (svc-digits)"
    )
    ap.add_argument(
        "--optimizers",
        nargs="+",
        help=f"names or patterns (default: {' '.join(DEFAULT_OPTIMIZERS)}); with --report, "
        "the optimizers to compare (default: every one in the results file)",
    )
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (from --seed-start)")
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--budget", default="carps", help="'carps' = ceil(20 + 40 sqrt(d)), or N")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--retry-failed", action="store_true", help="run again runs that failed")
    ap.add_argument(
        "--rerun",
        action="store_true",
        help="run the selected runs again (after a sampler changed); the new line replaces the "
        "old one in reports",
    )
    ap.add_argument("--dry-run", action="store_true", help="list the runs still to do")
    ap.add_argument("--list", action="store_true", help="list problems and optimizers")
    ap.add_argument("--report", action="store_true", help="build the table and the plot")
    ap.add_argument("--problems", nargs="+", help="report: problem patterns (bbob-*-d2)")
    ap.add_argument("--report-seeds", type=int, help="report: only seeds below N")
    ap.add_argument("--min-seeds", type=int, default=1, help="report: runs per task needed")
    ap.add_argument("--out", help="report: also write the Markdown here")
    ap.add_argument("--plot", default=str(PLOT), help="report: PNG path, or 'none'")
    args = ap.parse_args(argv)
    if args.list:
        from hyperscout.bench.problems import list_problems
        from hyperscout.bench.runner import available_optimizers

        print("optimizers:", " ".join(available_optimizers()))
        print("problems:", " ".join(list_problems()))
        return 0
    if args.report:
        args.optimizers = args.optimizers or ["*"]
        return report(args)
    args.optimizers = args.optimizers or DEFAULT_OPTIMIZERS
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())

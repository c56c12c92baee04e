"""Sampler overhead: ask + suggest + tell time per trial, hyperscout vs Optuna, in one process.

For each space, sampler and seed, hyperscout and Optuna (both in memory) run the same cheap
objective through the define-by-run ask/tell loop (ask, suggest each parameter, compute, tell).
Only ask + suggest + tell is timed; the objective's math is not. The two libraries alternate
within each seed (and swap who goes first from one seed to the next).

Reported per (space, sampler, n), medians over seeds:

* cumulative seconds of ask + suggest + tell over the first n trials;
* ms per trial over the last 10% of trials before n (the marginal cost at n);
* the ratio Optuna / hyperscout of each (ratio of the medians; > 1 means hyperscout is faster);
* the best objective value found within n trials (both minimize; the optimum is 0).

Run (after ``bash benchmarks/setup.sh``)::

    .venv-bench/bin/python benchmarks/overhead.py --n 100 300 1000 --seeds 3
    .venv-bench/bin/python benchmarks/overhead.py --quick          # smoke run, a few seconds
    .venv-bench/bin/python benchmarks/overhead.py --profile --samplers tpe --spaces mixed
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Single-thread BLAS for a fair CPU comparison; must precede the first numpy import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

# -- search spaces and objectives -------------------------------------------------------------
# A space is a list of (kind, name, args, kwargs) suggested in this order through the API that
# hyperscout and Optuna share: trial.suggest_float / suggest_int / suggest_categorical.
Param = tuple[str, str, tuple[Any, ...], dict[str, Any]]

_SHIFT = np.linspace(-2.7, 2.7, 10)  # optimum of the shifted sphere, off-centre and off-grid

FLOAT10: list[Param] = [("float", f"x{i}", (-5.0, 5.0), {}) for i in range(10)]

MIXED: list[Param] = [
    ("float", "x", (-5.0, 5.0), {}),
    ("float", "y", (-3.0, 3.0), {}),
    ("float", "lr", (1e-5, 1e-1), {"log": True}),
    ("int", "layers", (0, 20), {}),
    ("int", "units", (1, 1024), {"log": True}),
    ("int", "depth", (0, 100), {"step": 5}),
    ("categorical", "act", (("relu", "tanh", "sigmoid", "gelu"),), {}),
    ("categorical", "opt", (("adam", "sgd", None),), {}),
    ("categorical", "batchnorm", ((True, False),), {}),
]
_ACT = {"relu": 0.6, "tanh": 0.3, "sigmoid": 1.0, "gelu": 0.0}
_OPT = {"adam": 0.0, "sgd": 0.4, None: 0.8}


def float10_value(p: dict[str, Any]) -> float:
    """Shifted sphere in 10-d; 0 at x = _SHIFT."""
    x = np.array([p[f"x{i}"] for i in range(10)])
    return float(np.sum((x - _SHIFT) ** 2))


def mixed_value(p: dict[str, Any]) -> float:
    """Depends on every parameter; 0 at x=1, y=-0.5, lr=1e-3, 7 layers, 64 units, depth 35,
    gelu, adam, batchnorm."""
    return float(
        (p["x"] - 1.0) ** 2
        + (p["y"] + 0.5) ** 2
        + (math.log10(p["lr"]) + 3.0) ** 2
        + ((p["layers"] - 7) / 4.0) ** 2
        + (math.log2(p["units"]) - 6.0) ** 2 / 4.0
        + ((p["depth"] - 35) / 20.0) ** 2
        + _ACT[p["act"]]
        + _OPT[p["opt"]]
        + (0.0 if p["batchnorm"] else 0.5)
    )


SPACES: dict[str, tuple[list[Param], Callable[[dict[str, Any]], float]]] = {
    "float10": (FLOAT10, float10_value),
    "mixed": (MIXED, mixed_value),
}


def suggest_all(trial: Any, space: Sequence[Param]) -> dict[str, Any]:
    """Suggest every parameter of ``space`` on a hyperscout or Optuna trial (same API)."""
    out = {}
    for kind, name, args, kwargs in space:
        out[name] = getattr(trial, f"suggest_{kind}")(name, *args, **kwargs)
    return out


# -- the two libraries --------------------------------------------------------------------------
def make_hyperscout(sampler: str, seed: int) -> Any:
    """An in-memory hyperscout study with the registry sampler ``sampler``."""
    import hyperscout as hs

    return hs.create_study(direction="minimize", sampler=sampler, seed=seed)


def make_optuna(sampler: str, seed: int) -> Any:
    """An in-memory Optuna study with its RandomSampler or (default) TPESampler."""
    import optuna

    classes = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}
    return optuna.create_study(direction="minimize", sampler=classes[sampler](seed=seed))


LIBS: dict[str, Callable[[str, int], Any]] = {"hyperscout": make_hyperscout, "optuna": make_optuna}


def run_loop(
    study: Any,
    space: Sequence[Param],
    func: Callable[[dict[str, Any]], float],
    n: int,
    profiler: cProfile.Profile | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run n trials; return (seconds of ask+suggest+tell per trial, objective value per trial).

    With ``profiler``, it is enabled over the last 10% of the trials (the objective's own
    function shows up as a separate, small entry).
    """
    times = np.empty(n)
    values = np.empty(n)
    clock = time.perf_counter
    profile_from = n - max(1, n // 10) if profiler is not None else n
    for i in range(n):
        if i == profile_from and profiler is not None:
            profiler.enable()
        t0 = clock()
        trial = study.ask()
        params = suggest_all(trial, space)
        t1 = clock()
        value = func(params)
        t2 = clock()
        study.tell(trial, value)
        t3 = clock()
        times[i] = (t1 - t0) + (t3 - t2)
        values[i] = value
    if profiler is not None:
        profiler.disable()
    return times, values


@dataclass(frozen=True, slots=True)
class Run:
    """One library's run of one (space, sampler, seed)."""

    times: np.ndarray
    values: np.ndarray

    def cumulative_s(self, n: int) -> float:
        return float(self.times[:n].sum())

    def marginal_ms(self, n: int) -> float:
        window = max(1, n // 10)
        return float(self.times[n - window : n].mean() * 1e3)

    def best(self, n: int) -> float:
        return float(self.values[:n].min())


def available(sampler: str) -> str | None:
    """None when hyperscout's ``sampler`` can be built, else why not."""
    try:
        make_hyperscout(sampler, 0)
    except Exception as exc:  # an ImportError, or an unknown registry name
        return f"{type(exc).__name__}: {exc}"
    return None


def measure(space_name: str, sampler: str, seeds: int, n_max: int) -> dict[str, list[Run]]:
    """Runs of both libraries for every seed, alternating which goes first."""
    space, func = SPACES[space_name]
    runs: dict[str, list[Run]] = {lib: [] for lib in LIBS}
    for seed in range(seeds):
        order = list(LIBS) if seed % 2 == 0 else list(reversed(LIBS))
        for lib in order:
            gc.collect()
            study = LIBS[lib](sampler, seed)
            times, values = run_loop(study, space, func, n_max)
            runs[lib].append(Run(times, values))
            print(
                f"  {space_name:8s} {sampler:6s} seed={seed} {lib:10s} "
                f"{times.sum():7.2f} s  best={values.min():.4g}",
                file=sys.stderr,
                flush=True,
            )
    return runs


# -- report -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    """Medians over seeds for one (space, sampler, n)."""

    space: str
    sampler: str
    n: int
    cum_s: tuple[float, float]  # (hyperscout, Optuna)
    ms: tuple[float, float]
    best: tuple[float, float]

    @property
    def cum_ratio(self) -> float:
        return self.cum_s[1] / self.cum_s[0]

    @property
    def ms_ratio(self) -> float:
        return self.ms[1] / self.ms[0]

    def markdown(self) -> str:
        (hc, oc), (hm, om), (hb, ob) = self.cum_s, self.ms, self.best
        return (
            f"| {self.space} | {self.sampler} | {self.n} | {hc:.3f} | {oc:.3f} "
            f"| {self.cum_ratio:.1f}x | {hm:.3f} | {om:.3f} | {self.ms_ratio:.1f}x "
            f"| {hb:.4g} | {ob:.4g} |"
        )


def summarize(space: str, sampler: str, runs: dict[str, list[Run]], n: int) -> Row:
    """Medians over seeds of both libraries' runs at n trials."""

    def med(stat: Callable[[Run], float]) -> tuple[float, float]:
        hs_med = statistics.median(stat(r) for r in runs["hyperscout"])
        return hs_med, statistics.median(stat(r) for r in runs["optuna"])

    return Row(
        space,
        sampler,
        n,
        cum_s=med(lambda r: r.cumulative_s(n)),
        ms=med(lambda r: r.marginal_ms(n)),
        best=med(lambda r: r.best(n)),
    )


def verdicts(rows: Sequence[Row]) -> list[str]:
    """The issue's targets, checked at the largest n of each (space, sampler)."""
    out = []
    n_max = max(r.n for r in rows)
    for r in rows:
        if r.n != n_max:
            continue
        if r.sampler == "tpe":
            fast = min(r.cum_ratio, r.ms_ratio) >= TPE_TARGET_RATIO
            good = r.best[0] <= r.best[1]
            out.append(
                f"- TPE, {r.space}, n={n_max}: {r.cum_ratio:.1f}x (cumulative) and "
                f"{r.ms_ratio:.1f}x (ms/trial) vs Optuna, target >= {TPE_TARGET_RATIO:g}x: "
                f"{'met' if fast else 'MISSED'}; median best {r.best[0]:.4g} vs {r.best[1]:.4g}: "
                f"{'same or better' if good else 'WORSE'}"
            )
        elif r.sampler == "random":
            ok = r.ms[0] < RANDOM_TARGET_MS
            out.append(
                f"- random, {r.space}, n={n_max}: {r.ms[0]:.3f} ms/trial, target < "
                f"{RANDOM_TARGET_MS:g} ms: {'met' if ok else 'MISSED'}"
            )
    return out


TPE_TARGET_RATIO = 3.0  # hyperscout's TPE at least 3x faster than Optuna's at n = 1000
RANDOM_TARGET_MS = 0.2  # random sampling, in memory, under 0.2 ms per trial


TABLE_HEAD = [
    "| space | sampler | n | hyperscout s (cum.) | Optuna s (cum.) | ratio "
    "| hyperscout ms/trial | Optuna ms/trial | ratio | hyperscout best | Optuna best |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def environment() -> str:
    """One line naming the versions and the machine."""
    import optuna

    import hyperscout

    root = Path(__file__).resolve().parent.parent

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "src"):  # measured code differs from the commit
        rev += " + uncommitted changes in src/"
    return (
        f"hyperscout {hyperscout.__version__} (git {rev}), optuna {optuna.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )


def profile(space_name: str, sampler: str, n: int, seed: int, top: int) -> str:
    """cProfile of hyperscout's ask+suggest+tell over the last 10% of n trials."""
    space, func = SPACES[space_name]
    prof = cProfile.Profile()
    run_loop(make_hyperscout(sampler, seed), space, func, n, profiler=prof)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    for key in ("tottime", "cumulative"):
        out.write(f"\n=== {space_name} / {sampler}, trials {n - n // 10}..{n - 1}, by {key} ===\n")
        stats.sort_stats(key).print_stats(top)
    return out.getvalue()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[100, 300, 1000], help="trial counts")
    p.add_argument("--seeds", type=int, default=3, help="seeds per (space, sampler)")
    p.add_argument("--samplers", nargs="+", default=["random", "tpe"], choices=["random", "tpe"])
    p.add_argument("--spaces", nargs="+", default=list(SPACES), choices=list(SPACES))
    p.add_argument("--quick", action="store_true", help="smoke run: n=20 50, 1 seed")
    p.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    p.add_argument(
        "--profile",
        action="store_true",
        help="instead of the comparison, cProfile hyperscout over the last 10%% of max(n) trials",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.seeds = [20, 50], 1
    if min(args.n) < 1 or args.seeds < 1:
        p.error("--n values and --seeds must be >= 1")
    args.n = sorted(set(args.n))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    samplers = []
    for sampler in args.samplers:
        why = available(sampler)
        if why is None:
            samplers.append(sampler)
        else:
            print(
                f"skipping sampler {sampler!r}: hyperscout cannot build it ({why})", file=sys.stderr
            )
    if not samplers:
        print("no sampler to measure", file=sys.stderr)
        return 1

    if args.profile:
        for space in args.spaces:
            for sampler in samplers:
                print(profile(space, sampler, max(args.n), seed=0, top=25))
        return 0

    lines = [
        f"Date {datetime.date.today().isoformat()}; {environment()}.",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"Seeds: {args.seeds}; medians over seeds; ratio = Optuna / hyperscout (> 1: hyperscout "
        "faster); ms/trial = mean over the last 10% of trials before n; best = best value "
        "within n trials (minimize, optimum 0).",
        "",
        *TABLE_HEAD,
    ]
    start = time.perf_counter()
    rows: list[Row] = []
    for space in args.spaces:
        for sampler in samplers:
            runs = measure(space, sampler, args.seeds, max(args.n))
            rows.extend(summarize(space, sampler, runs, n) for n in args.n)
    print(f"  total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    lines.extend(r.markdown() for r in rows)
    lines.extend(["", "Targets:", *verdicts(rows)])
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GP sampler cost: seconds per suggestion at n observations, hyperscout vs Optuna, in one process.

For each space, seed and n, both libraries get the same n completed trials (a synthetic,
BO-like history: 30% uniform points, the rest Gaussian around a fixed centre with a radius that
shrinks as the history grows, so later points crowd together as a real BO run's do), then ask
``k`` suggestions in a row through the define-by-run loop (ask, suggest every parameter, tell);
only ask + suggest is timed. The two libraries alternate within each seed (and swap who goes first
from one seed to the next). Reported: the median over seeds and suggestions of seconds per
suggestion, and the ratio Optuna / hyperscout (> 1: hyperscout faster).

Spaces are those of ``overhead.py``: ``float10`` (10 floats, shifted sphere) and ``mixed``
(floats incl. log, ints incl. log and step, categoricals with None and bools).

Run (after ``bash benchmarks/setup.sh`` and, for Optuna's GPSampler, the CPU build of torch in
.venv-bench: ``.venv-bench/bin/pip install torch==2.13.0``)::

    .venv-bench/bin/python benchmarks/gp_cost.py                      # n = 50 100 200 300, minutes
    .venv-bench/bin/python benchmarks/gp_cost.py --quick              # smoke run
    .venv-bench/bin/python benchmarks/gp_cost.py --no-optuna --n 300  # hyperscout alone
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Single-thread BLAS for a fair CPU comparison; must precede the first numpy import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import FLOAT10, MIXED, Param, float10_value, mixed_value, suggest_all  # noqa: E402

SPACES: dict[str, tuple[list[Param], Callable[[dict[str, Any]], float]]] = {
    "float10": (FLOAT10, float10_value),
    "mixed": (MIXED, mixed_value),
}
TARGET_S = 0.3  # hyperscout: at most 0.3 s per suggestion at 300 trials in 10-d ...
TARGET_RATIO = 4.0  # ... and at least 4x faster than Optuna's GPSampler


# -- the shared history -----------------------------------------------------------------------
def hs_space(space: Sequence[Param]) -> dict[str, Any]:
    """hyperscout distributions of a benchmark space."""
    import hyperscout as hs

    out: dict[str, Any] = {}
    for kind, name, args, kwargs in space:
        if kind == "float":
            out[name] = hs.Float(*args, **kwargs)
        elif kind == "int":
            out[name] = hs.Int(*args, **kwargs)
        else:
            out[name] = hs.Categorical(*args)
    return out


def history(space: Sequence[Param], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` BO-like parameter dicts (see the module docstring), decoded through hyperscout."""
    dists = hs_space(space)
    rng = np.random.default_rng([seed, 0x6770])
    centre = rng.random(len(dists))
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            u = rng.random(len(dists))
        else:
            radius = 0.3 * (1.0 - i / max(n, 1)) + 0.02
            u = np.clip(centre + radius * rng.standard_normal(len(dists)), 0.0, 1.0)
        out.append(
            {
                name: d.to_external(d.decode(float(u[j])))
                for j, (name, d) in enumerate(dists.items())
            }
        )
    return out


# -- the two libraries --------------------------------------------------------------------------
def hyperscout_study(space: Sequence[Param], points: list[dict[str, Any]], seed: int) -> Any:
    """A hyperscout study with GPSampler holding ``points`` as completed trials."""
    import hyperscout as hs

    func = SPACES[space_name(space)][1]
    study = hs.create_study(direction="minimize", sampler=hs.GPSampler(), seed=seed)
    for p in points:
        study.enqueue_trial(p)
        trial = study.ask()
        study.tell(trial, func(suggest_all(trial, space)))
    return study


def optuna_study(space: Sequence[Param], points: list[dict[str, Any]], seed: int) -> Any:
    """An Optuna study with its GPSampler holding ``points`` as completed trials."""
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    dists: dict[str, Any] = {}
    for kind, name, args, kwargs in space:
        if kind == "float":
            dists[name] = FloatDistribution(*args, **kwargs)
        elif kind == "int":
            dists[name] = IntDistribution(*args, **kwargs)
        else:
            dists[name] = CategoricalDistribution(*args)
    func = SPACES[space_name(space)][1]
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.GPSampler(seed=seed))
    study.add_trials(
        [optuna.trial.create_trial(params=p, distributions=dists, value=func(p)) for p in points]
    )
    return study


LIBS: dict[str, Callable[[Sequence[Param], list[dict[str, Any]], int], Any]] = {
    "hyperscout": hyperscout_study,
    "optuna": optuna_study,
}


def space_name(space: Sequence[Param]) -> str:
    return next(k for k, (s, _) in SPACES.items() if s is space)


def time_suggestions(study: Any, space: Sequence[Param], k: int) -> list[float]:
    """Seconds of ask + suggest for ``k`` suggestions in a row (each told before the next)."""
    func = SPACES[space_name(space)][1]
    out = []
    for _ in range(k):
        gc.collect()
        t0 = time.perf_counter()
        trial = study.ask()
        params = suggest_all(trial, space)
        out.append(time.perf_counter() - t0)
        study.tell(trial, func(params))
    return out


def measure(
    name: str, ns: Sequence[int], seeds: int, k: int, libs: Sequence[str]
) -> dict[tuple[str, int], list[float]]:
    """(library, n) -> seconds per suggestion over every seed and suggestion."""
    space = SPACES[name][0]
    out: dict[tuple[str, int], list[float]] = {}
    for seed in range(seeds):
        for n in ns:
            points = history(space, n, seed)
            order = list(libs) if seed % 2 == 0 else list(reversed(libs))
            for lib in order:
                study = LIBS[lib](space, points, seed)
                times = time_suggestions(study, space, k)
                out.setdefault((lib, n), []).extend(times)
                print(
                    f"  {name:8s} seed={seed} n={n:4d} {lib:10s} "
                    f"{statistics.median(times):7.3f} s/suggestion",
                    file=sys.stderr,
                    flush=True,
                )
    return out


# -- report -------------------------------------------------------------------------------------
def table(results: dict[str, dict[tuple[str, int], list[float]]], ns: Sequence[int]) -> list[str]:
    lines = [
        "| space | n | hyperscout s/suggestion | Optuna s/suggestion | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, res in results.items():
        for n in ns:
            hs_s = statistics.median(res[("hyperscout", n)])
            if ("optuna", n) in res:
                op_s = statistics.median(res[("optuna", n)])
                lines.append(f"| {name} | {n} | {hs_s:.3f} | {op_s:.3f} | {op_s / hs_s:.1f}x |")
            else:
                lines.append(f"| {name} | {n} | {hs_s:.3f} | - | - |")
    return lines


def verdict(results: dict[str, dict[tuple[str, int], list[float]]], ns: Sequence[int]) -> str:
    if "float10" not in results or 300 not in ns:
        return "Target (float10, n=300) not measured in this run."
    res = results["float10"]
    hs_s = statistics.median(res[("hyperscout", 300)])
    text = f"- float10, n=300: {hs_s:.3f} s/suggestion, target <= {TARGET_S:g} s: " + (
        "met" if hs_s <= TARGET_S else "MISSED"
    )
    if ("optuna", 300) in res:
        ratio = statistics.median(res[("optuna", 300)]) / hs_s
        text += f"; {ratio:.1f}x faster than Optuna, target >= {TARGET_RATIO:g}x: " + (
            "met" if ratio >= TARGET_RATIO else "MISSED"
        )
    return text


def environment(libs: Sequence[str]) -> str:
    import scipy

    import hyperscout

    parts = [f"hyperscout {hyperscout.__version__}"]
    if "optuna" in libs:
        import optuna
        import torch

        parts.append(f"optuna {optuna.__version__}, torch {torch.__version__}")
    parts.append(
        f"numpy {np.__version__}, scipy {scipy.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
    return ", ".join(parts)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[50, 100, 200, 300], help="observations")
    p.add_argument("--seeds", type=int, default=2, help="seeds (histories) per space")
    p.add_argument("--k", type=int, default=3, help="suggestions timed per (seed, n)")
    p.add_argument("--spaces", nargs="+", default=list(SPACES), choices=list(SPACES))
    p.add_argument("--no-optuna", action="store_true", help="time hyperscout alone")
    p.add_argument("--quick", action="store_true", help="smoke run: n=30 60, 1 seed, k=2")
    p.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.seeds, args.k = [30, 60], 1, 2
    if min(args.n) < 1 or args.seeds < 1 or args.k < 1:
        p.error("--n values, --seeds and --k must be >= 1")
    args.n = sorted(set(args.n))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    libs = ["hyperscout"] if args.no_optuna else ["hyperscout", "optuna"]
    if not args.no_optuna:
        try:
            import optuna
            import torch  # noqa: F401
        except ImportError as exc:
            print(
                f"Optuna's GPSampler needs optuna and torch ({exc}): "
                ".venv-bench/bin/pip install torch==2.13.0, or pass --no-optuna",
                file=sys.stderr,
            )
            return 1
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    start = time.perf_counter()
    results = {name: measure(name, args.n, args.seeds, args.k, libs) for name in args.spaces}
    print(f"  total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    lines = [
        f"Date {datetime.date.today().isoformat()}; {environment(libs)}.",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"Seeds: {args.seeds}, {args.k} suggestions each after n shared observations; medians; "
        "ratio = Optuna / hyperscout (> 1: hyperscout faster).",
        "",
        *table(results, args.n),
        "",
        "Target:",
        verdict(results, args.n),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

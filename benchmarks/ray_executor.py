"""Trials per second on one Ray runtime: hyperscout's ``executor="ray"`` against Ray Tune's
``Tuner``, in the same run.

Both run a trivial objective (one float, one int parameter, returns at once) with random search
and ``--concurrency`` trials at a time on the same local Ray runtime (``ray.init(num_cpus=...)``
once, before either). hyperscout stores its trials in SQLite (``--storage``, a fresh file by
default); Ray Tune keeps its own experiment state on disk as it always does. Wall time runs from
the call that starts the search until it returns; trials/s = finished trials / wall seconds.

    bash benchmarks/setup_storage.sh                # .venv-storage has ray[tune]
    .venv-storage/bin/python benchmarks/ray_executor.py                     # 500 vs 100 trials
    .venv-storage/bin/python benchmarks/ray_executor.py --hs-trials 200 --tune-trials 40
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ray_executor.jsonl"


def objective(trial: Any) -> float:
    """hyperscout's trivial objective."""
    x = trial.suggest_float("x", -1.0, 1.0)
    n = trial.suggest_int("n", 0, 3)
    return x * x + n


def tune_objective(config: dict[str, Any]) -> dict[str, float]:
    """Ray Tune's trivial objective (a function trainable returning its one result)."""
    return {"loss": config["x"] ** 2 + config["n"]}


def run_hyperscout(n_trials: int, concurrency: int, storage: str) -> dict[str, Any]:
    import hyperscout as hs

    study = hs.create_study(storage=storage, sampler="random", seed=0)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, n_jobs=concurrency, executor="ray")
    wall = time.perf_counter() - t0
    done = sum(t.state == hs.TrialState.COMPLETE for t in study.trials)
    return {"system": "hyperscout-ray", "trials": done, "wall_s": wall, "trials_per_s": done / wall}


def run_tune(n_trials: int, concurrency: int, folder: str) -> dict[str, Any]:
    from ray import tune

    space = {"x": tune.uniform(-1.0, 1.0), "n": tune.randint(0, 4)}
    tuner = tune.Tuner(
        tune_objective,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=n_trials, max_concurrent_trials=concurrency
        ),
        run_config=tune.RunConfig(storage_path=folder, name="bench", verbose=0),
    )
    t0 = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - t0
    done = sum(r.error is None for r in results)
    return {"system": "ray-tune", "trials": done, "wall_s": wall, "trials_per_s": done / wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hs-trials", type=int, default=500)
    ap.add_argument("--tune-trials", type=int, default=100, help="Ray Tune runs ~0.5 trials/s")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--storage", help="hyperscout storage URL (default: a fresh SQLite file)")
    ap.add_argument("--results", default=str(RESULTS), help="JSON-lines file ('' for none)")
    args = ap.parse_args(argv)

    import ray

    from hyperscout.bench.jobs import append_jsonl

    logging.getLogger("ray").setLevel(logging.ERROR)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    here = str(Path(__file__).resolve().parent)
    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([here, *sys.path])}},
    )
    print(f"ray {ray.__version__}, {args.num_cpus} CPUs, concurrency {args.concurrency}")
    with tempfile.TemporaryDirectory(prefix="hs-ray-bench-") as tmp:
        storage = args.storage or f"sqlite:///{Path(tmp) / 'hs.db'}"
        rows = [
            run_hyperscout(args.hs_trials, args.concurrency, storage),
            run_tune(args.tune_trials, args.concurrency, str(Path(tmp) / "tune")),
        ]
    ray.shutdown()
    print("\n| system | trials | wall s | trials/s |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['trials']} | {r['wall_s']:.1f} | {r['trials_per_s']:.2f} |")
    ratio = rows[0]["trials_per_s"] / rows[1]["trials_per_s"]
    print(f"\nhyperscout-ray / ray-tune trials/s: {ratio:.1f}x")
    if args.results:
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        for r in rows:
            append_jsonl(Path(args.results), {**r, "date": stamp, "concurrency": args.concurrency})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``hyperscout`` command line: manage and inspect studies in a storage.

Every command takes ``--storage URL`` (default: ``$HYPERSCOUT_STORAGE`` or
``sqlite:///hyperscout.db``, the embedded default). Exit codes: 0 success, 1 an error hyperscout
reports (e.g. no such study), 2 bad usage.

Example:
    $ hyperscout create-study --study demo --direction maximize
    $ hyperscout trials demo
    $ hyperscout export demo --format csv > demo.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from hyperscout._records import FrozenTrial, TrialState
from hyperscout._version import __version__
from hyperscout.errors import HyperscoutError, InvalidArgumentError, StudyNotFoundError
from hyperscout.storage import DEFAULT_URL, Storage, get_storage

__all__ = ["main"]

_EXIT_ERROR = 1  # argparse itself exits with 2 on bad usage


def _default_storage() -> str:
    return os.environ.get("HYPERSCOUT_STORAGE", DEFAULT_URL)


def _sqlite_path(url: str) -> Path | None:
    """The file of a sqlite URL (None for other databases and in-memory sqlite)."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    return Path(rest) if rest and rest != ":memory:" else None


def _open(url: str, *, must_exist: bool) -> Storage:
    """Open a storage; reading commands never create an empty SQLite file as a side effect."""
    path = _sqlite_path(url)
    if must_exist and path is not None and not path.exists():
        raise StudyNotFoundError(
            f"storage {url} does not exist (no file {path}): check --storage or create a study"
        )
    return get_storage(url)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _trial_dict(t: FrozenTrial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.value,
        "values": _json_value(list(t.values)) if t.values is not None else None,
        "params": {k: _json_value(v) for k, v in t.params.items()},
        "user_attrs": t.user_attrs,
        "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
        "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        "duration_s": t.duration.total_seconds() if t.duration else None,
    }


def _load_trials(args: argparse.Namespace) -> tuple[list[FrozenTrial], Any]:
    store = _open(args.storage, must_exist=True)
    try:
        study_id = store.get_study_id(args.study)
        trials, _ = store.get_trials(study_id)
        return trials, store.get_study_directions(study_id)
    finally:
        store.close()


def _param_names(trials: Sequence[FrozenTrial]) -> list[str]:
    names: dict[str, None] = {}
    for t in trials:
        names.update(dict.fromkeys(t.params))
    return list(names)


# -- commands ------------------------------------------------------------------------------
def _cmd_create(args: argparse.Namespace, out: TextIO) -> None:
    from hyperscout.study import create_study

    directions = args.directions or [args.direction]
    study = create_study(
        study_name=args.study,
        storage=args.storage,
        directions=directions,
        load_if_exists=args.skip_if_exists,
    )
    out.write(f"{study.study_name}\n")
    study.storage.close()


def load_objective(spec: str) -> Callable[..., Any]:
    """The function ``module:function`` (a module importable from the current directory) or
    ``path/to/file.py:function``."""
    import importlib
    import importlib.util

    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise InvalidArgumentError(
            f"`--objective` must be module:function or path/to/file.py:function, got {spec!r}"
        )
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise InvalidArgumentError(f"`--objective`: no file {path}")
            loaded = importlib.util.spec_from_file_location(path.stem, path)
            if loaded is None or loaded.loader is None:
                raise InvalidArgumentError(f"`--objective`: cannot load {path}")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[path.stem] = module  # process workers and pickling find it
            loaded.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgumentError(
            f"`--objective`: cannot import {module_name!r} ({exc}): run from the directory "
            "that holds it, or set PYTHONPATH"
        ) from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise InvalidArgumentError(f"`--objective`: {module_name} has no function {attr!r}")
    return func  # type: ignore[no-any-return]


def _cmd_worker(args: argparse.Namespace, out: TextIO) -> None:
    from hyperscout.study import create_study, load_study

    objective = load_objective(args.objective)
    if args.create:
        study = create_study(
            study_name=args.study,
            storage=args.storage,
            direction=args.direction,
            sampler=args.sampler,
            scheduler=args.scheduler,
            load_if_exists=True,
        )
    else:
        _open(args.storage, must_exist=True).close()
        study = load_study(args.study, args.storage, sampler=args.sampler, scheduler=args.scheduler)
    if args.n_trials is not None or args.timeout is not None or args.target is not None:
        study.set_budget(n_trials=args.n_trials, timeout=args.timeout, target=args.target)
    budget = study.budget
    if all(v is None for v in budget.values()):
        print(
            "hyperscout: warning: the study has no budget (--n-trials, --timeout or --target): "
            "this worker runs until it is stopped (Ctrl-C)",
            file=sys.stderr,
        )
    if args.executor == "ray":
        from hyperscout.errors import require

        ray: Any = require("ray", "ray")
        ray.init(address=args.address, include_dashboard=False, logging_level="WARNING")
    study.work(objective, n_jobs=args.n_jobs, show_progress=args.progress, executor=args.executor)
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    out.write(f"study {study.study_name}: {len(finished)} trials complete")
    if finished and len(study.directions) == 1:
        out.write(f", best value {study.best_value:.6g}, params {study.best_params}")
    out.write("\n")
    study.storage.close()


def _cmd_studies(args: argparse.Namespace, out: TextIO) -> None:
    path = _sqlite_path(args.storage)
    if path is not None and not path.exists():
        summaries = []
    else:
        store = _open(args.storage, must_exist=False)
        try:
            summaries = store.list_studies()
        finally:
            store.close()
    if args.format == "json":
        data = [
            {
                "name": s.name,
                "directions": [d.value for d in s.directions],
                "n_trials": s.n_trials,
                "best_values": _json_value(list(s.best_values)) if s.best_values else None,
                "datetime_start": s.datetime_start.isoformat() if s.datetime_start else None,
            }
            for s in summaries
        ]
        out.write(json.dumps(data, indent=2) + "\n")
        return
    if not summaries:
        out.write(f"no studies in {args.storage}\n")
        return
    rows = [
        (
            s.name,
            ",".join(d.value for d in s.directions),
            s.n_trials,
            s.best_values,
            s.datetime_start.strftime("%Y-%m-%d %H:%M:%S") if s.datetime_start else None,
        )
        for s in summaries
    ]
    _table(["study", "directions", "trials", "best", "started"], rows, out)


def _cmd_trials(args: argparse.Namespace, out: TextIO) -> None:
    trials, _ = _load_trials(args)
    if args.state:
        wanted = {TrialState(s.upper()) for s in args.state}
        trials = [t for t in trials if t.state in wanted]
    if args.format == "json":
        out.write(json.dumps([_trial_dict(t) for t in trials], indent=2) + "\n")
        return
    names = _param_names(trials)
    rows = [
        [t.number, t.state.value, t.values, *(t.params.get(n) for n in names), _dur(t)]
        for t in trials
    ]
    _table(["number", "state", "value", *names, "duration_s"], rows, out)


def _dur(t: FrozenTrial) -> float | None:
    return round(t.duration.total_seconds(), 3) if t.duration else None


def _cmd_best(args: argparse.Namespace, out: TextIO) -> None:
    from hyperscout._best import best_trial, pareto_front

    trials, directions = _load_trials(args)
    if len(directions) == 1:
        single = best_trial(trials, directions)
        best = [single] if single is not None else []
    else:
        best = pareto_front(trials, directions)
    if not best:
        raise HyperscoutError(f"study {args.study!r} has no COMPLETE trial yet")
    if args.format == "json":
        data: Any = _trial_dict(best[0]) if len(directions) == 1 else [_trial_dict(t) for t in best]
        out.write(json.dumps(data, indent=2) + "\n")
        return
    for t in best:
        out.write(f"trial {t.number}: value {_fmt(t.values)}\n")
        for k, v in t.params.items():
            out.write(f"  {k} = {v!r}\n")


def _cmd_delete(args: argparse.Namespace, out: TextIO) -> None:
    if not args.yes:
        if not sys.stdin.isatty():
            raise HyperscoutError(
                f"refusing to delete study {args.study!r} without confirmation: pass --yes"
            )
        answer = input(f"Delete study {args.study!r} and all its trials? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            out.write("cancelled\n")
            return
    store = _open(args.storage, must_exist=True)
    try:
        store.delete_study(store.get_study_id(args.study))
    finally:
        store.close()
    out.write(f"deleted {args.study}\n")


def _cmd_export(args: argparse.Namespace, out: TextIO) -> None:
    trials, directions = _load_trials(args)
    text = _export_json(trials) if args.format == "json" else _export_csv(trials, len(directions))
    if args.output:
        Path(args.output).write_text(text)
        out.write(f"wrote {len(trials)} trials to {args.output}\n")
    else:
        out.write(text)


def _export_json(trials: Sequence[FrozenTrial]) -> str:
    return json.dumps([_trial_dict(t) for t in trials], indent=2) + "\n"


def _export_csv(trials: Sequence[FrozenTrial], n_objectives: int) -> str:
    names = _param_names(trials)
    attrs: dict[str, None] = {}
    for t in trials:
        attrs.update(dict.fromkeys(t.user_attrs))
    value_cols = ["value"] if n_objectives == 1 else [f"values_{i}" for i in range(n_objectives)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "number",
            "state",
            *value_cols,
            *(f"params_{n}" for n in names),
            *(f"user_attrs_{a}" for a in attrs),
            "datetime_start",
            "datetime_complete",
            "duration_s",
        ]
    )
    for t in trials:
        vals = list(t.values) if t.values is not None else [None] * n_objectives
        writer.writerow(
            [
                t.number,
                t.state.value,
                *vals,
                *(t.params.get(n) for n in names),
                *(t.user_attrs.get(a) for a in attrs),
                t.datetime_start.isoformat() if t.datetime_start else None,
                t.datetime_complete.isoformat() if t.datetime_complete else None,
                t.duration.total_seconds() if t.duration else None,
            ]
        )
    return buf.getvalue()


# -- parser ----------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperscout",
        description="Manage and inspect hyperscout studies.",
        epilog="Storage defaults to $HYPERSCOUT_STORAGE or sqlite:///hyperscout.db.",
    )
    parser.add_argument("--version", action="version", version=f"hyperscout {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str, func: Callable[..., None]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "--storage", default=_default_storage(), help="database URL (default: %(default)s)"
        )
        p.set_defaults(func=func)
        return p

    p = add("create-study", "Create a new study.", _cmd_create)
    p.add_argument("--study", required=True, help="unique study name")
    p.add_argument("--direction", default="minimize", choices=["minimize", "maximize"])
    p.add_argument(
        "--directions",
        nargs="+",
        choices=["minimize", "maximize"],
        help="one direction per objective (multi-objective)",
    )
    p.add_argument("--skip-if-exists", action="store_true", help="succeed if it already exists")

    p = add("studies", "List the studies in a storage.", _cmd_studies)
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = add("trials", "Show the trials of a study as a table.", _cmd_trials)
    p.add_argument("study", help="study name")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--state", nargs="+", choices=[s.value.lower() for s in TrialState], help="filter by state"
    )

    p = add("best", "Show the best trial (the Pareto front if multi-objective).", _cmd_best)
    p.add_argument("study", help="study name")
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = add("delete-study", "Delete a study and all its trials.", _cmd_delete)
    p.add_argument("study", help="study name")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = add(
        "worker",
        "Attach to a study and run trials until its shared budget is spent (start one per "
        "machine or core, all on the same --storage).",
        _cmd_worker,
    )
    p.add_argument("--study", required=True, help="study name")
    p.add_argument("--objective", required=True, help="module:function or path/to/file.py:function")
    p.add_argument("--n-trials", type=int, help="set the study's budget: at most N trials")
    p.add_argument("--timeout", type=float, help="set the study's budget: no new trial after S s")
    p.add_argument("--target", type=float, help="set the study's budget: stop at this value")
    p.add_argument("--sampler", help="sampler name (default: TPE)")
    p.add_argument("--scheduler", help="scheduler name (default: FIFO)")
    p.add_argument("--n-jobs", type=int, default=1, help="trials run at once in this worker")
    p.add_argument(
        "--executor",
        choices=["thread", "ray"],
        default="thread",
        help="run the trials in threads of this process, or as Ray actors on a cluster",
    )
    p.add_argument(
        "--address", help="with --executor ray: the cluster to join ('auto': the local one)"
    )
    p.add_argument("--create", action="store_true", help="create the study if it is missing")
    p.add_argument("--direction", default="minimize", choices=["minimize", "maximize"])
    p.add_argument("--progress", action="store_true", help="show a progress bar")

    p = add("export", "Export the trials of a study as CSV or JSON.", _cmd_export)
    p.add_argument("study", help="study name")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        args.func(args, stream)
    except HyperscoutError as exc:
        print(f"hyperscout: error: {exc}", file=sys.stderr)
        return _EXIT_ERROR
    except KeyboardInterrupt:
        print("hyperscout: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `hyperscout trials demo | head`
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

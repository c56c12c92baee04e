"""Run one optimizer on one problem for a budget and a seed.

Every optimizer, hyperscout's and the peers', is driven through the same ask/tell loop
(:class:`AskTell`). The runner times the optimizer's own work (construction, every ``ask`` and
every ``tell``) apart from the objective's, so ``optimizer_seconds`` is what the optimizer costs
on top of the evaluations.

Optimizer names: ``hyperscout:<name>`` for every name in
:data:`hyperscout.samplers.SAMPLERS` (picked up when it lands, no change needed here), and the
peers of :data:`hyperscout.bench.adapters.PEERS` (``optuna:tpe``, ``smac:hpo``, ``hebo``, ...).

Example:
    >>> from hyperscout.bench.problems import make_problem
    >>> result = run(make_problem("sklearn-rf-wine"), "hyperscout:random", seed=0, budget=3)
    ... # doctest: +SKIP
    >>> len(result.values)  # doctest: +SKIP
    3
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from hyperscout.bench.problems import Problem, carps_budget
from hyperscout.errors import InvalidArgumentError

__all__ = [
    "AskTell",
    "RunResult",
    "available_optimizers",
    "best_so_far",
    "make_optimizer",
    "optimizer_version",
    "preload",
    "run",
]

HYPERSCOUT_PREFIX = "hyperscout:"


class AskTell(Protocol):
    """A sequential optimizer: ``ask`` proposes the active parameters of one configuration,
    ``tell`` reports its value (smaller is better). ``close`` (optional) frees resources."""

    def ask(self) -> dict[str, Any]:
        """Next configuration to evaluate."""
        ...

    def tell(self, params: dict[str, Any], value: float) -> None:
        """Result of the configuration last returned by :meth:`ask`."""
        ...


@dataclass(frozen=True, slots=True)
class RunResult:
    """The trace of one run.

    Attributes:
        problem, optimizer, seed: the key of the run.
        budget: evaluations asked for; ``len(values) < budget`` only when ``error`` is set.
        values: the objective value of every evaluation, in order.
        optimizer_seconds: wall time spent in the optimizer (construction, ask, tell).
        optimizer_cpu_seconds: CPU time of the process in the optimizer (all threads).
        objective_seconds: wall time spent evaluating the objective.
        version: the optimizer's library and version (``optuna 5.0.0``).
        optimum: the problem's known optimum (None when unknown), kept so that a report
            needs no problem package.
        error: ``"ExceptionType: message"`` when the run stopped early, else None.
        finished_at: UTC time the run ended (ISO 8601).
    """

    problem: str
    optimizer: str
    seed: int
    budget: int
    values: tuple[float, ...]
    optimizer_seconds: float
    optimizer_cpu_seconds: float
    objective_seconds: float
    version: str
    optimum: float | None = None
    error: str | None = None
    finished_at: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        """``(problem, optimizer, seed)``: a results file holds one run per key."""
        return (self.problem, self.optimizer, self.seed)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (see :meth:`from_json`)."""
        out = asdict(self)
        out["values"] = [v if math.isfinite(v) else None for v in self.values]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        """Rebuild a result from :meth:`to_json` output (also after a JSON round trip)."""
        values = tuple(math.inf if v is None else float(v) for v in data["values"])
        return cls(
            problem=str(data["problem"]),
            optimizer=str(data["optimizer"]),
            seed=int(data["seed"]),
            budget=int(data["budget"]),
            values=values,
            optimizer_seconds=float(data["optimizer_seconds"]),
            optimizer_cpu_seconds=float(data.get("optimizer_cpu_seconds", math.nan)),
            objective_seconds=float(data["objective_seconds"]),
            version=str(data.get("version", "")),
            optimum=None if data.get("optimum") is None else float(data["optimum"]),
            error=data.get("error"),
            finished_at=str(data.get("finished_at", "")),
        )


def best_so_far(values: tuple[float, ...] | np.ndarray, budget: int) -> np.ndarray:
    """Incumbent value after each of ``budget`` evaluations; a short (failed) trace keeps its
    last incumbent to the end, an empty one is ``inf`` throughout.

    Example:
        >>> best_so_far((3.0, 1.0, 2.0), 4).tolist()
        [3.0, 1.0, 1.0, 1.0]
    """
    out = np.full(budget, np.inf)
    v = np.asarray(values, dtype=float)[:budget]
    if v.size:
        v = np.where(np.isnan(v), np.inf, v)
        out[: v.size] = np.minimum.accumulate(v)
        out[v.size :] = out[v.size - 1]
    return out


# -- hyperscout's own samplers ------------------------------------------------------------------
class _HyperscoutAskTell:
    """hyperscout through its define-by-run API: a study with in-memory storage; each
    parameter is suggested only when active (conditional spaces stay conditional)."""

    def __init__(self, sampler: str, problem: Problem, seed: int) -> None:
        from hyperscout.study import create_study

        self._study = create_study(direction="minimize", sampler=sampler, seed=seed)
        self._problem = problem
        self._trial: Any = None

    def ask(self) -> dict[str, Any]:
        self._trial = self._study.ask()
        params: dict[str, Any] = {}
        for name, dist in self._problem.space.items():
            if self._problem.is_active(name, params):
                params[name] = self._trial.suggest(name, dist)
        return params

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._study.tell(self._trial, value)


def _hyperscout_names() -> list[str]:
    from hyperscout.samplers import SAMPLERS

    return [HYPERSCOUT_PREFIX + name for name in SAMPLERS]


def available_optimizers() -> list[str]:
    """Every optimizer name :func:`make_optimizer` knows (peers whether installed or not)."""
    from hyperscout.bench.adapters import PEERS

    return _hyperscout_names() + list(PEERS)


def make_optimizer(name: str, problem: Problem, seed: int, budget: int) -> AskTell:
    """Build the optimizer ``name`` (see the module docstring) for one run."""
    if name.startswith(HYPERSCOUT_PREFIX):
        sampler = name[len(HYPERSCOUT_PREFIX) :]
        from hyperscout.samplers import SAMPLERS

        if sampler not in SAMPLERS:
            raise InvalidArgumentError(
                f"unknown hyperscout sampler {sampler!r}: choose one of "
                f"{[HYPERSCOUT_PREFIX + s for s in SAMPLERS]}"
            )
        return _HyperscoutAskTell(sampler, problem, seed)
    from hyperscout.bench.adapters import PEERS

    if name not in PEERS:
        raise InvalidArgumentError(
            f"unknown optimizer {name!r}: choose one of {available_optimizers()}"
        )
    factory: Callable[[Problem, int, int], AskTell] = PEERS[name].factory
    return factory(problem, seed, budget)


def preload(name: str) -> None:
    """Import what optimizer ``name`` needs (outside the timed part of a run)."""
    if name.startswith(HYPERSCOUT_PREFIX):
        from hyperscout.samplers import SAMPLERS

        loader = SAMPLERS.get(name[len(HYPERSCOUT_PREFIX) :])
        if loader is not None:
            loader()
        import hyperscout.study  # noqa: F401

        return
    from hyperscout.bench.adapters import PEERS

    if name in PEERS:
        PEERS[name].preload()


def optimizer_version(name: str) -> str:
    """``"<library> <version>"`` of the optimizer ``name`` (imports its library)."""
    if name.startswith(HYPERSCOUT_PREFIX):
        from hyperscout._version import __version__

        return f"hyperscout {__version__}"
    from hyperscout.bench.adapters import PEERS, package_version

    return package_version(PEERS[name].package)


def run(problem: Problem, optimizer: str, seed: int, budget: int | None = None) -> RunResult:
    """Run ``optimizer`` on ``problem`` for ``budget`` evaluations (carps rule when None).

    An exception from the optimizer or the objective ends the run early: the result keeps the
    values seen so far and the error's text, so one broken run never loses a whole benchmark.
    """
    n = carps_budget(problem.dimension) if budget is None else int(budget)
    if n < 1:
        raise InvalidArgumentError(f"`budget` must be >= 1, got {budget}")
    values: list[float] = []
    opt_wall = opt_cpu = obj_wall = 0.0
    error: str | None = None
    version = ""
    opt: AskTell | None = None
    try:
        version = optimizer_version(optimizer)
        preload(optimizer)
        w0, c0 = time.perf_counter(), time.process_time()
        opt = make_optimizer(optimizer, problem, seed, n)
        opt_wall += time.perf_counter() - w0
        opt_cpu += time.process_time() - c0
        for _ in range(n):
            w0, c0 = time.perf_counter(), time.process_time()
            params = opt.ask()
            w1, c1 = time.perf_counter(), time.process_time()
            value = problem.evaluate(params)
            w2, c2 = time.perf_counter(), time.process_time()
            opt.tell(params, value)
            w3, c3 = time.perf_counter(), time.process_time()
            values.append(value)
            opt_wall += (w1 - w0) + (w3 - w2)
            opt_cpu += (c1 - c0) + (c3 - c2)
            obj_wall += w2 - w1
    except Exception as exc:  # recorded in the result; the benchmark goes on
        error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        close = getattr(opt, "close", None)
        if close is not None:
            close()
    return RunResult(
        problem=problem.name,
        optimizer=optimizer,
        seed=seed,
        budget=n,
        values=tuple(values),
        optimizer_seconds=opt_wall,
        optimizer_cpu_seconds=opt_cpu,
        objective_seconds=obj_wall,
        version=version,
        optimum=problem.optimum,
        error=error,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )

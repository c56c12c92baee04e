"""Multi-fidelity optimizers as :class:`~hyperscout.bench.simulator.Agent` s for the simulator.

Every agent is driven through the same three calls (``ask`` / ``report`` / ``finish``, see
:mod:`hyperscout.bench.simulator`), each peer through its own public ask/tell-style API, with
its recommended defaults, seeded with the run's seed, minimizing the benchmark's value:

* ``random``: :class:`RandomAgent`, uniform random configurations each trained to
  ``max_budget`` (no dependency).
* ``synetune:asha``, ``synetune:hyperband``, ``synetune:bohb``: Syne Tune 0.16's
  ``optimizer.baselines.ASHA`` (stopping type, one bracket), ASHA with every bracket
  (asynchronous Hyperband, Li et al. 2020 "A System for Massively Parallel Hyperparameter
  Tuning", MLSys) and ``BOHB`` (asynchronous successive halving with a KDE searcher, Falkner et
  al. 2018), driven with ``suggest`` / ``on_trial_add`` / ``on_trial_result`` /
  ``on_trial_complete`` directly (no Tuner, no backend). Metric ``"error"``, resource attribute
  ``"epoch"``, ``max_t = max_budget``, ``grace_period = min_budget``, ``reduction_factor = 3``.
* ``dehb``: DEHB 0.1.2 (Awad, Mallik & Hutter 2021, "DEHB: Evolutionary Hyperband for Scalable,
  Robust and Efficient Hyperparameter Optimization", IJCAI) through ``ask`` / ``tell``: each job
  trains its configuration from scratch to the asked fidelity (rounded to a whole step), and the
  value there is told with ``cost`` = that number of steps.
* ``optuna:tpe-hyperband``: Optuna 5.0 ``TPESampler`` with ``HyperbandPruner(min_resource=1,
  max_resource=max_budget, reduction_factor=3)`` through ``study.ask`` / ``trial.report`` /
  ``trial.should_prune`` / ``study.tell``.

hyperscout's own schedulers are not here: whoever writes them adds ``"hyperscout:<name>"``
factories with :func:`register_agent` (or to :data:`AGENTS`), and they run through the same loop.

Peers are imported when their agent is built; a missing one raises
:class:`~hyperscout.errors.MissingDependencyError` naming ``benchmarks/setup_multifidelity.sh``,
which makes the ``.venv-mf`` venv that has them all. The simulator measures each agent's own
time (its ``ask`` / ``report`` / ``finish`` calls): ``SimulationResult.agent_time_per_trial``.

Example:
    >>> from hyperscout.bench.simulator import SyntheticBenchmark, simulate
    >>> bench = SyntheticBenchmark()
    >>> res = simulate(bench, make_agent("random", bench, seed=0), n_workers=4, max_time=500.0)
    >>> res.best_value < 0.5
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import tempfile
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from hyperscout.bench.simulator import Agent, Benchmark, Job
from hyperscout.errors import InvalidArgumentError, MissingDependencyError
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = [
    "AGENTS",
    "Agent",
    "DEHBAgent",
    "Job",
    "OptunaHyperbandAgent",
    "RandomAgent",
    "SyneTuneAgent",
    "available_agents",
    "make_agent",
    "register_agent",
    "sample_config",
]

_SETUP_HINT = "bash benchmarks/setup_multifidelity.sh (makes .venv-mf with every peer)"


def _require(module: str, pip_name: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this agent needs the optional package {module!r}: pip install {pip_name}, or run "
            f"{_SETUP_HINT}"
        ) from exc


def _coerce(dist: Distribution, raw: Any) -> Any:
    """A peer's value as the plain Python type of ``dist``, clipped into its bounds."""
    if isinstance(dist, Int):
        return min(max(round(float(raw)), dist.low), dist.high)
    if isinstance(dist, Float):
        return min(max(float(raw), dist.low), dist.high)
    return raw


def sample_config(space: Mapping[str, Distribution], rng: np.random.Generator) -> dict[str, Any]:
    """One configuration drawn uniformly (log-uniformly where ``log``) from ``space``.

    Example:
        >>> sample_config({"x": Int(1, 3)}, np.random.default_rng(0))
        {'x': 2}
    """
    return {name: d.to_external(d.decode(float(rng.random()))) for name, d in space.items()}


class RandomAgent:
    """Random search: uniform random configurations, each trained to ``max_budget``.

    Args:
        space: the benchmark's search space.
        max_budget: steps every job runs.
        seed: seed of the agent's ``numpy.random.Generator``.
    """

    def __init__(self, space: Mapping[str, Distribution], max_budget: int, seed: int = 0) -> None:
        if max_budget < 1:
            raise InvalidArgumentError(f"`max_budget` must be >= 1, got max_budget={max_budget}")
        self._space = dict(space)
        self._budget = int(max_budget)
        self._rng = np.random.default_rng(seed)
        self._n = 0
        self.results: dict[Hashable, float] = {}

    def ask(self) -> Job:
        self._n += 1
        return Job(self._n, sample_config(self._space, self._rng), budget=self._budget)

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        return True

    def finish(self, job_id: Hashable, value: float) -> None:
        self.results[job_id] = value


# -- Syne Tune ---------------------------------------------------------------------------------
class _IsolatedGlobalNumpy:
    """Run a block with a private legacy ``np.random`` state, restoring the caller's after.

    Syne Tune's ASHA picks a trial's bracket with the global ``np.random.choice``; this keeps
    that draw seeded by the agent and leaves everyone else's global state untouched.
    """

    def __init__(self, seed: int) -> None:
        self._state: Any = np.random.RandomState(seed).get_state()
        self._saved: Any = None

    def __enter__(self) -> None:
        self._saved = np.random.get_state()
        np.random.set_state(self._state)

    def __exit__(self, *exc: object) -> None:
        self._state = np.random.get_state()
        np.random.set_state(self._saved)


def _synetune_space(space: Mapping[str, Distribution]) -> dict[str, Any]:
    cs = _require("syne_tune.config_space", "'syne-tune==0.16.*'")
    out: dict[str, Any] = {}
    for name, d in space.items():
        if isinstance(d, Float) and d.step is None:
            out[name] = (cs.loguniform if d.log else cs.uniform)(d.low, d.high)
        elif isinstance(d, Int) and d.step == 1:
            out[name] = (cs.lograndint if d.log else cs.randint)(d.low, d.high)
        elif isinstance(d, Categorical):
            out[name] = cs.choice(list(d.choices))
        else:
            raise InvalidArgumentError(f"parameter {name!r}: {d} has no Syne Tune domain here")
    return out


class SyneTuneAgent:
    """A Syne Tune 0.16 scheduler (``asha``, ``hyperband`` or ``bohb``) driven step by step.

    ``report`` returns ``False`` when the scheduler says STOP or PAUSE; a PAUSEd trial comes back
    through ``suggest`` as a resume suggestion, which becomes a :class:`Job` with the same id
    and ``start_step`` = the epochs it has done. At ``max_t`` the scheduler answers STOP by
    design; the agent treats that report as the trial's completion (``finish`` then calls
    ``on_trial_complete``, as Syne Tune's Tuner does for a finished trial).

    Syne Tune 0.16's BOHB (KDE searcher) sometimes proposes values outside the space (seen:
    ``max_units=34`` for a log-int domain [64, 1024] on LCBench); such values are clipped into
    the bounds and counted in ``n_clipped`` (configurations with at least one clipped value).
    """

    KINDS = ("asha", "hyperband", "bohb")

    def __init__(self, benchmark: Benchmark, kind: str = "asha", seed: int = 0) -> None:
        if kind not in self.KINDS:
            raise InvalidArgumentError(f"`kind` must be one of {self.KINDS}, got {kind!r}")
        baselines = _require("syne_tune.optimizer.baselines", "'syne-tune==0.16.*'")
        # its searchers warn about unused constructor arguments on every build
        logging.getLogger("syne_tune").setLevel(logging.ERROR)
        sched = _require("syne_tune.optimizer.scheduler", "'syne-tune==0.16.*'")
        self._trial_cls = _require("syne_tune.backend.trial_status", "'syne-tune==0.16.*'").Trial
        self._continue, self._pause = (
            sched.SchedulerDecision.CONTINUE,
            sched.SchedulerDecision.PAUSE,
        )
        self._space = dict(benchmark.space)
        self.max_t = int(benchmark.max_budget)
        grace, eta = int(benchmark.min_budget), 3
        common = {
            "config_space": _synetune_space(self._space),
            "metric": "error",
            "time_attr": "epoch",
            "max_t": self.max_t,
            "do_minimize": True,
            "random_seed": seed,
            "grace_period": grace,
            "reduction_factor": eta,
        }
        self._np = _IsolatedGlobalNumpy(seed)
        with self._np:
            if kind == "bohb":
                self.scheduler = baselines.BOHB(**common)
            else:  # asynchronous Hyperband = ASHA over every bracket (rung ladders)
                n_rungs = int(np.log(self.max_t / grace) / np.log(eta)) + 1
                brackets = 1 if kind == "asha" else n_rungs
                self.scheduler = baselines.ASHA(**common, brackets=brackets)
        self._trials: dict[int, Any] = {}
        self._done: dict[int, int] = {}
        self._next_id = 0
        self.n_clipped = 0
        self._epoch0 = datetime(2000, 1, 1)  # trials' creation time: fixed, for determinism

    def ask(self) -> Job | None:
        with self._np:
            suggestion = self.scheduler.suggest()
            if suggestion is None:
                return None
            if suggestion.spawn_new_trial_id:
                trial_id = self._next_id
                self._next_id += 1
                raw = suggestion.config
                config = {k: _coerce(d, raw[k]) for k, d in self._space.items()}
                self.n_clipped += any(config[k] != raw[k] for k in config)
                trial = self._trial_cls(trial_id, config, self._epoch0)
                self._trials[trial_id] = trial
                self._done[trial_id] = 0
                self.scheduler.on_trial_add(trial)
            else:
                trial_id = suggestion.checkpoint_trial_id
                trial = self._trials[trial_id]
        return Job(trial_id, trial.config, budget=self.max_t, start_step=self._done[trial_id])

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        trial = self._trials[job_id]  # type: ignore[index]
        self._done[trial.trial_id] = step
        decision = self.scheduler.on_trial_result(trial, {"error": value, "epoch": step})
        return bool(decision == self._continue or step >= self.max_t)

    def finish(self, job_id: Hashable, value: float) -> None:
        trial = self._trials[job_id]  # type: ignore[index]
        self.scheduler.on_trial_complete(trial, {"error": value, "epoch": self._done[job_id]})  # type: ignore[index]


# -- DEHB --------------------------------------------------------------------------------------
class DEHBAgent:
    """DEHB 0.1.2 through ``ask`` / ``tell``: each job runs from scratch to DEHB's fidelity.

    DEHB is built with ``n_workers=1`` (no Dask client: the simulator supplies the parallelism;
    DEHB's ask/tell accepts several outstanding jobs), ``save_freq="end"`` and a private
    temporary ``output_path`` so that it writes no state files into the working directory.
    """

    def __init__(self, benchmark: Benchmark, seed: int = 0, eta: int = 3) -> None:
        dehb = _require("dehb", "--no-deps dehb ConfigSpace loguru distributed")
        self._space = dict(benchmark.space)
        self._min, self._max = int(benchmark.min_budget), int(benchmark.max_budget)
        self._tmp = tempfile.TemporaryDirectory(prefix="hyperscout-dehb-")
        self.dehb = dehb.DEHB(
            cs=_configspace(self._space, seed),
            min_fidelity=self._min,
            max_fidelity=self._max,
            eta=eta,
            n_workers=1,
            seed=seed,
            output_path=self._tmp.name,
            save_freq="end",
            log_level="ERROR",
        )
        self._jobs: dict[int, dict[str, Any]] = {}
        self._next_id = 0

    def ask(self) -> Job:
        info = self.dehb.ask()
        budget = min(max(round(float(info["fidelity"])), self._min), self._max)
        config = {k: _coerce(d, info["config"][k]) for k, d in self._space.items()}
        job_id = self._next_id
        self._next_id += 1
        self._jobs[job_id] = info
        return Job(job_id, config, budget=budget)

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        return True

    def finish(self, job_id: Hashable, value: float) -> None:
        info = self._jobs.pop(job_id)  # type: ignore[call-overload]
        steps = min(max(round(float(info["fidelity"])), self._min), self._max)
        self.dehb.tell(info, {"fitness": float(value), "cost": float(steps)})


def _configspace(space: Mapping[str, Distribution], seed: int) -> Any:
    cs_mod = _require("ConfigSpace", "ConfigSpace")
    cs = cs_mod.ConfigurationSpace(seed=seed)
    for name, d in space.items():
        if isinstance(d, Float) and d.step is None:
            cs.add(cs_mod.Float(name, (d.low, d.high), log=d.log))
        elif isinstance(d, Int) and d.step == 1:
            cs.add(cs_mod.Integer(name, (d.low, d.high), log=d.log))
        elif isinstance(d, Categorical):
            cs.add(cs_mod.Categorical(name, list(d.choices)))
        else:
            raise InvalidArgumentError(f"parameter {name!r}: {d} has no ConfigSpace type here")
    return cs


# -- Optuna ------------------------------------------------------------------------------------
class OptunaHyperbandAgent:
    """Optuna's ``TPESampler`` + ``HyperbandPruner`` through ask / report / should_prune / tell."""

    def __init__(self, benchmark: Benchmark, seed: int = 0, reduction_factor: int = 3) -> None:
        optuna = _require("optuna", "'optuna==5.0.0'")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._space = dict(benchmark.space)
        self._budget = int(benchmark.max_budget)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=int(benchmark.min_budget),
            max_resource=self._budget,
            reduction_factor=reduction_factor,
        )
        # HyperbandPruner assigns brackets by hashing the study name with the trial number: a
        # fixed name keeps runs reproducible (create_study would draw a random one).
        self.study = optuna.create_study(
            study_name=f"hyperscout-mf-seed{seed}",
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner,
        )
        self._trials: dict[int, Any] = {}

    def ask(self) -> Job:
        trial = self.study.ask()
        params: dict[str, Any] = {}
        for name, d in self._space.items():
            if isinstance(d, Float):
                params[name] = trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
            elif isinstance(d, Int):
                params[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
            else:
                params[name] = trial.suggest_categorical(name, list(d.choices))
        self._trials[trial.number] = trial
        return Job(trial.number, params, budget=self._budget)

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        trial = self._trials[job_id]  # type: ignore[index]
        trial.report(value, step)
        if trial.should_prune():
            self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
            del self._trials[job_id]  # type: ignore[arg-type]
            return False
        return True

    def finish(self, job_id: Hashable, value: float) -> None:
        self.study.tell(self._trials.pop(job_id), value)  # type: ignore[call-overload]


# -- hyperscout --------------------------------------------------------------------------------
class HyperscoutAgent:
    """A hyperscout study (in memory) with a scheduler, through ask / report / tell.

    A job is one run of a trial: a new trial, or a paused one the scheduler resumes (same
    ``job_id`` = trial number, ``start_step`` = its last reported step). When the scheduler has
    nothing to run (a synchronous rung is filling) ``ask`` returns None and the worker idles.
    """

    def __init__(
        self, benchmark: Benchmark, scheduler: Any, sampler: Any = "random", seed: int = 0
    ) -> None:
        import hyperscout as hs

        self._space = dict(benchmark.space)
        self.study = hs.create_study(sampler=sampler, scheduler=scheduler, seed=seed)
        self._trials: dict[int, Any] = {}
        #: Seconds spent inside the scheduler's ``next_job`` and ``on_report`` (the sampler
        #: and the study excluded): what issue 5's "< 0.5 ms per trial" target is about.
        self.scheduler_seconds = 0.0
        sched = self.study.scheduler
        for name in ("next_job", "on_report"):
            method = getattr(sched, name, None)
            if method is not None:
                setattr(sched, name, self._timed(method))

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.scheduler_seconds += time.perf_counter() - t0

        return timed

    def ask(self) -> Job | None:
        from hyperscout.trial import Trial

        got = self.study._next_trial(self._space, None, watch=False)
        if not isinstance(got, Trial):
            return None  # WAIT, or the schedule is finished
        self._trials[got.number] = got
        budget = got.budget if got.budget is not None else 0
        return Job(got.number, got.params, budget=budget, start_step=got.start_step)

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        number = int(job_id)  # type: ignore[call-overload]
        trial = self._trials[number]
        trial.report(step, value)
        if trial.should_stop():
            self.study.tell(self._trials.pop(number), value)
            return False
        return True

    def finish(self, job_id: Hashable, value: float) -> None:
        self.study.tell(self._trials.pop(int(job_id)), value)  # type: ignore[call-overload]


def _hyperscout(kind: str, sampler: Any = "random") -> AgentFactory:
    def factory(bench: Benchmark, seed: int, n_workers: int) -> Agent:
        import hyperscout as hs

        lo, hi = int(bench.min_budget), int(bench.max_budget)
        schedulers: dict[str, Callable[[], Any]] = {
            "fifo": lambda: hs.FIFOScheduler(max_budget=hi),
            "median": lambda: hs.MedianStoppingScheduler(max_budget=hi),
            "asha": lambda: hs.ASHAScheduler(max_budget=hi, min_budget=lo),
            "asha-stopping": lambda: hs.ASHAScheduler(
                max_budget=hi, min_budget=lo, mode="stopping"
            ),
            "hyperband": lambda: hs.HyperbandScheduler(max_budget=hi, min_budget=lo),
            "async-hyperband": lambda: hs.AsyncHyperbandScheduler(max_budget=hi, min_budget=lo),
            "dehb": lambda: hs.DEHBScheduler(max_budget=hi, min_budget=lo),
            "idhb": lambda: hs.IterativeDeepeningHyperbandScheduler(max_budget=hi, min_budget=lo),
        }
        chosen = hs.MultiFidelitySampler(sampler[3:]) if sampler.startswith("mf:") else sampler
        return HyperscoutAgent(bench, schedulers[kind](), sampler=chosen, seed=seed)

    return factory


# -- registry ----------------------------------------------------------------------------------
AgentFactory = Callable[[Benchmark, int, int], Agent]
"""``factory(benchmark, seed, n_workers) -> Agent``."""


def _synetune(kind: str) -> AgentFactory:
    return lambda bench, seed, n_workers: SyneTuneAgent(bench, kind, seed)


AGENTS: dict[str, AgentFactory] = {
    "random": lambda bench, seed, n_workers: RandomAgent(bench.space, bench.max_budget, seed),
    "synetune:asha": _synetune("asha"),
    "synetune:hyperband": _synetune("hyperband"),
    "synetune:bohb": _synetune("bohb"),
    "dehb": lambda bench, seed, n_workers: DEHBAgent(bench, seed),
    "optuna:tpe-hyperband": lambda bench, seed, n_workers: OptunaHyperbandAgent(bench, seed),
    "hyperscout:asha": _hyperscout("asha"),
    "hyperscout:asha-stopping": _hyperscout("asha-stopping"),
    "hyperscout:hyperband": _hyperscout("hyperband"),
    "hyperscout:async-hyperband": _hyperscout("async-hyperband"),
    "hyperscout:median": _hyperscout("median"),
    "hyperscout:bohb": _hyperscout("hyperband", "mf:tpe"),
    "hyperscout:asha-tpe": _hyperscout("asha", "mf:tpe"),
    "hyperscout:dehb": _hyperscout("dehb"),
    "hyperscout:async-bohb": _hyperscout("async-hyperband", "mf:tpe"),
}
"""Agent name -> factory. Names are ``"<library>:<method>"``; ``"random"`` and ``"dehb"`` alone."""

_PACKAGES = {"synetune": "syne_tune", "dehb": "dehb", "optuna": "optuna"}


def register_agent(name: str, factory: AgentFactory) -> None:
    """Add (or replace) an agent factory under ``name`` (e.g. ``"hyperscout:asha"``)."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"`name` must be a non-empty string, got {name!r}")
    AGENTS[name] = factory


def available_agents() -> list[str]:
    """Registered agent names whose peer package is installed (``random`` always)."""
    out = []
    for name in AGENTS:
        package = _PACKAGES.get(name.split(":")[0])
        if package is None or importlib.util.find_spec(package) is not None:
            out.append(name)
    return out


def make_agent(name: str, benchmark: Benchmark, seed: int = 0, n_workers: int = 1) -> Agent:
    """Build the agent registered as ``name`` for ``benchmark``.

    Raises:
        InvalidArgumentError: unknown name.
        MissingDependencyError: the peer is not installed.
    """
    try:
        factory = AGENTS[name]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown agent {name!r}: choose one of {sorted(AGENTS)}"
        ) from None
    return factory(benchmark, seed, n_workers)

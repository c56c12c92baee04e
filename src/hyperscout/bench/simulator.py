"""Simulated-time backend: N workers replay tabulated learning curves on a virtual clock.

The idea is Syne Tune's simulator backend (Salinas et al. 2022, "Syne Tune: A Library for Large
Scale Hyperparameter Tuning and Reproducible Research", AutoML-Conf; "Benchmarking with
simulated time" in its docs): a multi-fidelity optimizer sees, for every configuration, the
learning curve a surrogate or a table predicts, and the wall-clock time of training is replaced
by a clock that jumps from one step completion to the next. A 16-worker run of several simulated
hours then takes seconds, and the optimizer's own compute is measured apart.

Pieces:

* :class:`Benchmark`: ``space``, ``min_budget``, ``max_budget`` and ``curve(config) -> (values,
  cumulative_times)`` over steps ``1..max_budget``, and optionally ``resumable`` (below).
  :class:`~hyperscout.bench.lcbench.LCBench` and :class:`~hyperscout.bench.rbv2.RBV2XGBoost`
  implement it; :class:`SyntheticBenchmark` is a closed-form one for tests and examples.
* :class:`Agent`: the optimizer's side. ``ask() -> Job | None``; ``report(job_id, step, value)
  -> bool`` after every step (``False``: the job stops now, paused or stopped, the agent knows
  which); ``finish(job_id, value)`` when a job reaches its ``budget`` and its last report said
  ``True``. A paused job is resumed by asking for a :class:`Job` with the same ``job_id`` and
  ``start_step`` = the steps already done.
* :func:`simulate`: the event loop. Returns a :class:`SimulationResult` with the event log, the
  anytime curves and the measured overheads.

Timing model: a job resuming from ``start_step`` s0 runs steps s0+1, ..., ``budget``; step k
costs ``times[k-1] - times[k-2]`` (step 1 costs ``times[0]``), so the step-k report comes at
``t_start + resume_overhead + times[k-1] - times[s0-1]`` (``resume_overhead`` only when s0 > 0;
default 0: checkpoints are free). A free worker asks at once; when ``ask`` returns ``None`` the
worker idles and is offered work again after the next event. Events are processed in time
order, ties in the order they were scheduled, so a run is a pure function of the agent's seed.

Non-resumable fidelities: a benchmark whose attribute ``resumable`` is ``False`` (absent means
``True``, as for epochs) has a fidelity that cannot continue from a checkpoint, such as the
fraction of training data: ``times[k-1]`` is then what training from scratch up to step k costs.
Steps of a job still cost ``times[k-1] - times[k-2]`` each, but a job resumed at s0 > 0 first
retrains the s0 steps it had, paying ``times[s0-1]`` again (and no ``resume_overhead``: there is
no checkpoint to load). So every job, new or resumed, reports step k at ``t_start +
times[k-1]``, and a pause-and-resume from step a to b costs ``times[b-1]``, not ``times[b-1] -
times[a-1]``. The reports at steps below ``budget`` within one job cost nothing extra: the
model treats them as by-products of the run towards ``budget`` (exact for jobs that report only
at their budget, optimistic for schedulers that act on every step).

Anytime performance: the primary curve, :meth:`SimulationResult.anytime` with ``fidelity="any"``,
is the best value reported at *any* step so far against simulated time, the convention of Syne
Tune's and DEHB's (Awad et al. 2021) benchmark plots. ``fidelity="max"`` keeps only reports at
``max_budget`` (configurations trained to the end).

Overhead: :attr:`SimulationResult.overhead_per_step` is the wall time spent inside
:func:`simulate` minus the time in agent calls and in ``benchmark.curve``, per reported step.
Seen on the 2-core development machine (one core busy), LCBench task 3945: 0.9-3.2 us per step
with 4 workers over the six agents of :mod:`~hyperscout.bench.mf_agents` (2 simulated hours,
4,300-6,500 steps each), 1.1-3.3 us per step with 16 workers (8 simulated hours, 70,000-106,000
steps); Syne Tune's own simulator backend spends about 24 ms per trial.

Example (from ``.venv-mf``; ``bash benchmarks/setup_multifidelity.sh`` makes it)::

    from hyperscout.bench.lcbench import LCBench
    from hyperscout.bench.mf_agents import available_agents, make_agent
    from hyperscout.bench.simulator import simulate

    bench = LCBench("3945")
    for name in available_agents():
        agent = make_agent(name, bench, seed=0, n_workers=4)
        res = simulate(bench, agent, n_workers=4, max_time=2 * 3600.0)
        regret = res.best_value - bench.best_known
        print(f"{name:22s} best {res.best_value:.4f} regret {regret:+.4f}"
              f" steps {res.n_steps:5d} trials {res.n_trials:4d}"
              f" sim {1e6 * res.overhead_per_step:5.1f} us/step"
              f" agent {1e3 * res.agent_time_per_trial:6.2f} ms/trial")
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from hyperscout.errors import InvalidArgumentError
from hyperscout.space import Distribution, Float

__all__ = [
    "Agent",
    "Benchmark",
    "Job",
    "SimulationResult",
    "SyntheticBenchmark",
    "simulate",
]

Fidelity = Literal["any", "max"]


@dataclass(frozen=True, slots=True)
class Job:
    """A unit of work an agent hands to a worker: run ``config`` from ``start_step`` to ``budget``.

    Attributes:
        job_id: identifies the trial; a resumed job reuses the id of the paused one.
        config: the configuration, a mapping from the benchmark's parameter names to values.
        budget: the last step this job may run to (1 <= budget <= max_budget).
        start_step: steps already done (a checkpoint); 0 starts from scratch.
    """

    job_id: Hashable
    config: Mapping[str, Any]
    budget: int
    start_step: int = 0


@runtime_checkable
class Benchmark(Protocol):
    """What :func:`simulate` needs of a benchmark: a space and learning curves."""

    @property
    def space(self) -> Mapping[str, Distribution]:
        """Parameter name -> hyperscout distribution."""
        ...

    @property
    def min_budget(self) -> int:
        """The smallest sensible number of steps (1 for LCBench)."""
        ...

    @property
    def max_budget(self) -> int:
        """The number of steps of a full curve."""
        ...

    def curve(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(values, cumulative_times)`` for steps 1..max_budget; values are minimized."""
        ...

    # Optional, left out of the protocol so that benchmarks without it still match:
    # ``resumable: bool`` (default True), see "Non-resumable fidelities" in the module docstring.


@runtime_checkable
class Agent(Protocol):
    """An optimizer driven by :func:`simulate` (see the module docstring for the contract)."""

    def ask(self) -> Job | None:
        """The next job for a free worker, or ``None`` when there is nothing to do right now."""
        ...

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        """A job finished ``step`` with ``value``; ``False`` stops (or pauses) it now."""
        ...

    def finish(self, job_id: Hashable, value: float) -> None:
        """A job ran to its ``budget`` and was not stopped; ``value`` is its last value."""
        ...


@dataclass(frozen=True)
class SimulationResult:
    """The event log and costs of one :func:`simulate` run.

    Event arrays have one entry per reported step, in processing (= simulated time) order.

    Attributes:
        times: simulated seconds at which each step was reported.
        job_ids: the job of each event.
        steps: the step (epoch) of each event.
        values: the reported value of each event.
        starts: ``(sim_time, job_id, start_step, budget, worker)`` for every job started.
        sim_time: simulated seconds at the end (``max_time`` when that limit ended the run).
        stop_reason: ``"max_time"``, ``"max_steps"``, ``"max_jobs"`` or ``"agent"`` (the agent
            had nothing left to run).
        max_budget: the benchmark's ``max_budget`` (for ``fidelity="max"``).
        n_workers: the number of simulated workers.
        wall_time: seconds of real time inside :func:`simulate`.
        agent_time: real seconds inside ``ask`` / ``report`` / ``finish``.
        lookup_time: real seconds inside ``benchmark.curve``.
    """

    times: np.ndarray
    job_ids: list[Hashable]
    steps: np.ndarray
    values: np.ndarray
    starts: list[tuple[float, Hashable, int, int, int]]
    sim_time: float
    stop_reason: str
    max_budget: int
    n_workers: int
    wall_time: float
    agent_time: float
    lookup_time: float
    _trace: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def n_steps(self) -> int:
        """Steps reported (one per event)."""
        return len(self.steps)

    @property
    def n_jobs(self) -> int:
        """Jobs started, resumed jobs included."""
        return len(self.starts)

    @property
    def n_trials(self) -> int:
        """Distinct job ids started."""
        return len({s[1] for s in self.starts})

    @property
    def overhead_time(self) -> float:
        """Real seconds spent by the simulator itself (not agent, not curve lookups)."""
        return max(self.wall_time - self.agent_time - self.lookup_time, 0.0)

    @property
    def overhead_per_step(self) -> float:
        """:attr:`overhead_time` per reported step (seconds)."""
        return self.overhead_time / max(self.n_steps, 1)

    @property
    def agent_time_per_trial(self) -> float:
        """Real seconds in agent calls per distinct trial."""
        return self.agent_time / max(self.n_trials, 1)

    def anytime(self, fidelity: Fidelity = "any") -> tuple[np.ndarray, np.ndarray]:
        """The best-so-far curve as its improvement points ``(sim_times, best_values)``.

        ``fidelity="any"`` (primary): best value reported at any step. ``"max"``: only reports
        at ``max_budget``. ``best_values`` is strictly decreasing; before ``sim_times[0]`` no
        value is known (``inf``).
        """
        if fidelity not in ("any", "max"):
            raise InvalidArgumentError(f"`fidelity` must be 'any' or 'max', got {fidelity!r}")
        cached = self._trace.get(fidelity)
        if cached is not None:
            return cached
        mask = (
            np.ones(len(self.steps), bool) if fidelity == "any" else self.steps == self.max_budget
        )
        t, v = self.times[mask], self.values[mask]
        if len(v):
            best = np.minimum.accumulate(v)
            keep = np.empty(len(best), bool)
            keep[0] = True
            keep[1:] = best[1:] < best[:-1]
            t, v = t[keep], best[keep]
        self._trace[fidelity] = (t, v)
        return t, v

    def best_at(
        self, sim_times: Sequence[float] | np.ndarray, fidelity: Fidelity = "any"
    ) -> np.ndarray:
        """The best-so-far value at each of ``sim_times`` (``inf`` before the first report).

        Example:
            >>> res = simulate(SyntheticBenchmark(), _Demo(), n_workers=2, max_time=50.0)
            >>> bool(np.all(np.diff(res.best_at(np.linspace(0, 50, 11))) <= 0))
            True
        """
        t, v = self.anytime(fidelity)
        idx = np.searchsorted(t, np.asarray(sim_times, dtype=float), side="right") - 1
        out = np.full(idx.shape, math.inf)
        ok = idx >= 0
        out[ok] = v[idx[ok]]
        return out

    @property
    def best_value(self) -> float:
        """Best value reported at any step (``inf`` when none)."""
        v = self.anytime("any")[1]
        return float(v[-1]) if len(v) else math.inf

    @property
    def best_final_value(self) -> float:
        """Best value reported at ``max_budget`` (``inf`` when none)."""
        v = self.anytime("max")[1]
        return float(v[-1]) if len(v) else math.inf


def _check_limits(
    n_workers: int,
    max_time: float | None,
    max_jobs: int | None,
    max_steps: int | None,
    resume_overhead: float,
) -> None:
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InvalidArgumentError(f"`n_workers` must be an int >= 1, got n_workers={n_workers!r}")
    if max_time is None and max_jobs is None and max_steps is None:
        raise InvalidArgumentError(
            "give at least one of `max_time`, `max_jobs`, `max_steps`: a run needs a stop criterion"
        )
    if max_time is not None and not max_time > 0:
        raise InvalidArgumentError(f"`max_time` must be > 0, got max_time={max_time!r}")
    for name, lim in (("max_jobs", max_jobs), ("max_steps", max_steps)):
        if lim is not None and lim < 1:
            raise InvalidArgumentError(f"`{name}` must be >= 1, got {name}={lim!r}")
    if not resume_overhead >= 0:
        raise InvalidArgumentError(
            f"`resume_overhead` must be >= 0 seconds, got resume_overhead={resume_overhead!r}"
        )


def _bad_job(job: Any, max_budget: int, running: set[Hashable]) -> str | None:
    """Why ``job`` cannot run, or None."""
    if not isinstance(job, Job):
        return f"ask() must return a Job or None, got {type(job).__name__}"
    if not 1 <= job.budget <= max_budget:
        return f"budget must be in [1, {max_budget}], got budget={job.budget}"
    if not 0 <= job.start_step < job.budget:
        return f"start_step must be in [0, budget), got start_step={job.start_step}"
    if job.job_id in running:
        return f"job_id {job.job_id!r} is running already"
    return None


def simulate(
    benchmark: Benchmark,
    agent: Agent,
    n_workers: int = 4,
    max_time: float | None = None,
    max_jobs: int | None = None,
    max_steps: int | None = None,
    resume_overhead: float = 0.0,
) -> SimulationResult:
    """Run ``agent`` on ``benchmark`` with ``n_workers`` simulated workers.

    Args:
        benchmark: learning curves (:class:`Benchmark`).
        agent: the optimizer (:class:`Agent`).
        n_workers: parallel simulated workers.
        max_time: stop at this simulated time (seconds); reports after it are dropped.
        max_jobs: ask for at most this many jobs (resumes count); running ones still finish.
        max_steps: stop right after this many reported steps.
        resume_overhead: simulated seconds a resumed job (``start_step > 0``) pays to load its
            checkpoint before its first step (not charged when ``benchmark.resumable`` is
            ``False``: such a job retrains from scratch instead, see the module docstring).

    Returns:
        The :class:`SimulationResult`.

    Raises:
        InvalidArgumentError: bad limits, or the agent returned an invalid :class:`Job`.

    Example:
        >>> res = simulate(SyntheticBenchmark(), _Demo(), n_workers=2, max_steps=30)
        >>> res.n_steps, res.stop_reason
        (30, 'max_steps')
    """
    _check_limits(n_workers, max_time, max_jobs, max_steps, resume_overhead)
    wall0 = perf_counter()
    max_budget = int(benchmark.max_budget)
    curve = benchmark.curve
    resumable = bool(getattr(benchmark, "resumable", True))
    ask, report, finish = agent.ask, agent.report, agent.finish
    horizon = math.inf if max_time is None else float(max_time)
    job_cap = math.inf if max_jobs is None else max_jobs
    step_cap = math.inf if max_steps is None else max_steps

    # Per-worker state of the running job, indexed by worker slot.
    w_id: list[Hashable] = [None] * n_workers
    w_values: list[Any] = [None] * n_workers
    w_times: list[Any] = [None] * n_workers
    w_base = [0.0] * n_workers
    w_step = [0] * n_workers
    w_budget = [0] * n_workers
    free = list(range(n_workers - 1, -1, -1))  # a stack: the lowest free slot is used first
    running: set[Hashable] = set()
    heap: list[tuple[float, int, int]] = []  # (event time, sequence number, worker)
    ev_t: list[float] = []
    ev_id: list[Hashable] = []
    ev_step: list[int] = []
    ev_v: list[float] = []
    starts: list[tuple[float, Hashable, int, int, int]] = []
    agent_time = lookup_time = 0.0
    seq = 0
    now = 0.0
    stop_reason = "agent"

    def fill(now: float) -> None:
        nonlocal agent_time, lookup_time, seq
        while free and len(starts) < job_cap:
            t0 = perf_counter()
            job = ask()
            agent_time += perf_counter() - t0
            if job is None:
                return
            why = _bad_job(job, max_budget, running)
            if why is not None:
                raise InvalidArgumentError(f"the agent returned an invalid job: {why}")
            t0 = perf_counter()
            values, times = curve(job.config)
            lookup_time += perf_counter() - t0
            slot = free.pop()
            s0 = job.start_step
            base = now  # a new job, or a non-resumable one retraining from scratch
            if s0 and resumable:  # continue from the checkpoint at s0
                base = now - float(times[s0 - 1]) + resume_overhead
            w_id[slot], w_values[slot], w_times[slot] = job.job_id, values, times
            w_base[slot], w_step[slot], w_budget[slot] = base, s0, job.budget
            running.add(job.job_id)
            starts.append((now, job.job_id, s0, job.budget, slot))
            heapq.heappush(heap, (base + float(times[s0]), seq, slot))
            seq += 1

    fill(now)
    while heap:
        t, _, slot = heapq.heappop(heap)
        if t > horizon:
            now, stop_reason = horizon, "max_time"
            break
        now = t
        k = w_step[slot] + 1
        w_step[slot] = k
        job_id = w_id[slot]
        value = float(w_values[slot][k - 1])
        ev_t.append(t)
        ev_id.append(job_id)
        ev_step.append(k)
        ev_v.append(value)
        t0 = perf_counter()
        go_on = report(job_id, k, value)
        if go_on and k >= w_budget[slot]:
            finish(job_id, value)
        agent_time += perf_counter() - t0
        if go_on and k < w_budget[slot]:
            heapq.heappush(heap, (w_base[slot] + float(w_times[slot][k]), seq, slot))
            seq += 1
        else:
            running.discard(job_id)
            w_id[slot] = w_values[slot] = w_times[slot] = None
            free.append(slot)
        if len(ev_t) >= step_cap:
            stop_reason = "max_steps"
            break
        if free:
            fill(now)
    else:
        if len(starts) >= job_cap:
            stop_reason = "max_jobs"

    return SimulationResult(
        times=np.asarray(ev_t, dtype=float),
        job_ids=ev_id,
        steps=np.asarray(ev_step, dtype=np.int64),
        values=np.asarray(ev_v, dtype=float),
        starts=starts,
        sim_time=now,
        stop_reason=stop_reason,
        max_budget=max_budget,
        n_workers=n_workers,
        wall_time=perf_counter() - wall0,
        agent_time=agent_time,
        lookup_time=lookup_time,
    )


class SyntheticBenchmark:
    """Closed-form learning curves for tests and examples (no onnxruntime, no data files).

    ``d`` parameters ``x0..x{d-1}`` in [0, 1]. The final value is ``sum((x - 0.3)^2)``; the curve
    approaches it as ``final + a * exp(-rate * k)`` with a rate that grows with ``x0`` (fast
    learners) and a per-step cost ``1 + 2 * x0`` seconds (fast learners are slower per step), so
    curves cross and low-fidelity ranks are informative but imperfect.

    ``resumable=False`` makes it a stand-in for a non-resumable fidelity (see the module
    docstring): the same curves, but a resumed job retrains the steps it had.

    Example:
        >>> values, times = SyntheticBenchmark(max_budget=9).curve({"x0": 0.3, "x1": 0.3})
        >>> float(times[-1]), bool(values[-1] < values[0])
        (14.4, True)
    """

    min_budget = 1

    def __init__(self, d: int = 2, max_budget: int = 27, resumable: bool = True) -> None:
        if d < 1 or max_budget < 1:
            raise InvalidArgumentError(
                f"`d` and `max_budget` must be >= 1, got d={d!r}, max_budget={max_budget!r}"
            )
        self.max_budget = max_budget
        self.resumable = bool(resumable)
        self.space: dict[str, Distribution] = {f"x{i}": Float(0.0, 1.0) for i in range(d)}
        self._k = np.arange(1, max_budget + 1, dtype=float)

    def curve(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(values, cumulative_times)`` for steps 1..max_budget."""
        x = np.array([float(config[name]) for name in self.space])
        final = float(np.sum((x - 0.3) ** 2))
        rate = 0.05 + 0.5 * x[0]
        values = final + (0.5 + x[-1]) * np.exp(-rate * self._k)
        times = (1.0 + 2.0 * x[0]) * self._k
        return values, times


class _Demo:
    """A tiny agent for the doctests: configs on a fixed grid, each to max budget."""

    def __init__(self) -> None:
        self.n = 0

    def ask(self) -> Job:
        self.n += 1
        u = (self.n * 0.618034) % 1.0
        return Job(self.n, {"x0": u, "x1": 1.0 - u}, budget=27)

    def report(self, job_id: Hashable, step: int, value: float) -> bool:
        return True

    def finish(self, job_id: Hashable, value: float) -> None:
        pass

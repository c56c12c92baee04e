"""Small ask/tell adapters that run peer optimizers on a :class:`~hyperscout.bench.Problem`.

Each peer is imported only when its adapter is built; a missing one raises
:class:`~hyperscout.errors.MissingDependencyError` naming the ``bench`` extra. Every adapter
uses the peer's defaults (the configuration its authors recommend), seeds it with the run's
seed, and maps the problem's space onto the peer's own types:

* Optuna (TPE, GP, CMA-ES) is define-by-run like hyperscout: conditional parameters are only
  suggested when active.
* SMAC3 gets a ConfigSpace with the problem's conditions (``InCondition``).
* HEBO and Nevergrad have flat spaces: they propose every parameter and the problem ignores the
  inactive ones.

Categorical choices travel to flat-space peers as their indices (``"0"``, ``"1"``, ...), so that
``None`` or bool choices never depend on how a peer encodes them.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout.bench.problems import Problem
from hyperscout.errors import MissingDependencyError
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = ["PEERS", "PeerSpec", "package_version", "snap"]


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this peer needs the optional package {module!r}: pip install 'hyperscout[bench]' "
            "(or run benchmarks/setup_blackbox.sh)"
        ) from exc


def package_version(package: str) -> str:
    """``"<package> <version>"``, or ``"<package> (not installed)"``."""
    import importlib.metadata as md

    try:
        return f"{package} {md.version(package)}"
    except md.PackageNotFoundError:
        return f"{package} (not installed)"


def snap(dist: Distribution, raw: Any) -> Any:
    """Map a peer's raw value onto an allowed value of ``dist`` (categoricals: by index).

    Example:
        >>> snap(Int(1, 10), 3.6), snap(Categorical(("a", None)), "1")
        (4, None)
    """
    if isinstance(dist, Categorical):
        return dist.choices[int(raw)]
    v = min(max(float(raw), float(dist.low)), float(dist.high))
    if isinstance(dist, Int):
        k = round((v - dist.low) / dist.step)
        return int(min(dist.low + k * dist.step, dist.high))
    if dist.step is not None:
        k = round((v - dist.low) / dist.step)
        return float(min(dist.low + k * dist.step, dist.high))
    return v


def _single_thread_torch() -> None:
    torch = _require("torch")
    torch.set_num_threads(1)


# -- Optuna ------------------------------------------------------------------------------------
class _OptunaAskTell:
    def __init__(self, kind: str, problem: Problem, seed: int) -> None:
        optuna = _require("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        samplers = optuna.samplers
        if kind == "tpe":
            sampler = samplers.TPESampler(seed=seed)
        elif kind == "gp":
            _single_thread_torch()
            sampler = samplers.GPSampler(seed=seed)
        elif kind == "cmaes":
            _require("cmaes")
            sampler = samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        else:
            sampler = samplers.RandomSampler(seed=seed)
        self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._problem = problem
        self._trial: Any = None

    def ask(self) -> dict[str, Any]:
        self._trial = trial = self._study.ask()
        params: dict[str, Any] = {}
        for name, dist in self._problem.space.items():
            if not self._problem.is_active(name, params):
                continue
            if isinstance(dist, Float):
                params[name] = trial.suggest_float(
                    name, dist.low, dist.high, log=dist.log, step=dist.step
                )
            elif isinstance(dist, Int):
                params[name] = trial.suggest_int(
                    name, dist.low, dist.high, step=dist.step, log=dist.log
                )
            else:
                params[name] = trial.suggest_categorical(name, list(dist.choices))
        return params

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._study.tell(self._trial, value)


# -- SMAC3 -------------------------------------------------------------------------------------
def _configspace(problem: Problem, seed: int) -> Any:
    cs_mod = _require("ConfigSpace")
    cs = cs_mod.ConfigurationSpace(seed=seed)
    for name, dist in problem.space.items():
        if isinstance(dist, Categorical):
            hp = cs_mod.Categorical(name, [str(i) for i in range(len(dist.choices))])
        elif isinstance(dist, Int) or dist.step is not None:
            # a stepped float is searched as its integer grid index
            n = dist.n_values
            hp = (
                cs_mod.Integer(name, (dist.low, dist.high), log=dist.log)
                if isinstance(dist, Int)
                else cs_mod.Integer(name, (0, (n or 1) - 1))
            )
        else:
            hp = cs_mod.Float(name, (dist.low, dist.high), log=dist.log)
        cs.add(hp)
    for child, (parent, values) in problem.conditions.items():
        pdist = problem.space[parent]
        labels = [str(pdist.index(v)) if isinstance(pdist, Categorical) else v for v in values]
        cs.add(cs_mod.InCondition(cs[child], cs[parent], labels))
    return cs


class _SmacAskTell:
    def __init__(self, facade: str, problem: Problem, seed: int, budget: int) -> None:
        smac = _require("smac")
        self._dir = tempfile.mkdtemp(prefix="hyperscout-smac-")
        scenario = smac.Scenario(
            _configspace(problem, seed),
            deterministic=True,
            n_trials=budget,
            seed=seed,
            output_directory=self._dir,
            name=f"{problem.name}-{seed}",
        )
        cls = smac.BlackBoxFacade if facade == "bb" else smac.HyperparameterOptimizationFacade
        if facade == "bb":
            _single_thread_torch()  # not used by SMAC's GP, but keeps BLAS users honest
        self._smac = cls(scenario, None, overwrite=True, logging_level=40)
        self._value_cls = _require("smac.runhistory.dataclasses").TrialValue
        self._problem = problem
        self._info: Any = None

    def ask(self) -> dict[str, Any]:
        self._info = self._smac.ask()
        raw = dict(self._info.config)
        out: dict[str, Any] = {}
        for name, dist in self._problem.space.items():
            if name not in raw:
                continue
            if isinstance(dist, Float) and dist.step is not None:
                out[name] = snap(dist, dist.low + int(raw[name]) * dist.step)
            else:
                out[name] = snap(dist, raw[name])
        return out

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._smac.tell(self._info, self._value_cls(cost=value))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


# -- HEBO --------------------------------------------------------------------------------------
def _hebo_param(name: str, dist: Distribution) -> dict[str, Any]:
    if isinstance(dist, Categorical):
        return {"name": name, "type": "cat", "categories": [str(i) for i in range(dist.n_values)]}
    if isinstance(dist, Int):
        kind = "pow_int" if dist.log else "int"
        return {"name": name, "type": kind, "lb": dist.low, "ub": dist.high}
    return {"name": name, "type": "pow" if dist.log else "num", "lb": dist.low, "ub": dist.high}


class _HeboAskTell:
    def __init__(self, problem: Problem, seed: int) -> None:
        torch = _require("torch")
        _single_thread_torch()
        design = _require("hebo.design_space.design_space")
        hebo = _require("hebo.optimizers.hebo")
        # HEBO draws from the global numpy / torch generators: seed them for this run.
        np.random.seed(seed)
        torch.manual_seed(seed)
        space = design.DesignSpace().parse([_hebo_param(n, d) for n, d in problem.space.items()])
        self._opt = hebo.HEBO(space, scramble_seed=seed)
        self._problem = problem
        self._rec: Any = None

    def ask(self) -> dict[str, Any]:
        self._rec = self._opt.suggest(n_suggestions=1)
        row = self._rec.iloc[0].to_dict()
        return {n: snap(d, row[n]) for n, d in self._problem.space.items()}

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._opt.observe(self._rec, np.array([[value]], dtype=float))


# -- Nevergrad ---------------------------------------------------------------------------------
def _ng_param(ng: Any, dist: Distribution) -> Any:
    if isinstance(dist, Categorical):
        return ng.p.Choice([str(i) for i in range(dist.n_values)])
    if isinstance(dist, Float) and dist.step is not None:
        return ng.p.Scalar(lower=0, upper=(dist.n_values or 1) - 1).set_integer_casting()
    low, high = float(dist.low), float(dist.high)
    p = ng.p.Log(lower=low, upper=high) if dist.log else ng.p.Scalar(lower=low, upper=high)
    return p.set_integer_casting() if isinstance(dist, Int) else p


class _NevergradAskTell:
    def __init__(self, problem: Problem, seed: int, budget: int) -> None:
        ng = _require("nevergrad")
        param = ng.p.Dict(**{n: _ng_param(ng, d) for n, d in problem.space.items()})
        param.random_state = np.random.RandomState(seed)
        self._opt = ng.optimizers.NGOpt(parametrization=param, budget=budget, num_workers=1)
        self._problem = problem
        self._cand: Any = None

    def ask(self) -> dict[str, Any]:
        self._cand = self._opt.ask()
        raw = self._cand.value
        out: dict[str, Any] = {}
        for n, d in self._problem.space.items():
            if isinstance(d, Float) and d.step is not None:
                out[n] = snap(d, d.low + int(raw[n]) * d.step)
            else:
                out[n] = snap(d, raw[n])
        return out

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._opt.tell(self._cand, value)


# -- registry ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PeerSpec:
    """How to build one peer: ``factory(problem, seed, budget)`` and the package to version."""

    factory: Callable[[Problem, int, int], Any]
    package: str
    description: str
    modules: tuple[str, ...] = ()

    def preload(self) -> None:
        """Import the peer's modules, so that import time never counts as optimizer time."""
        for module in self.modules:
            _require(module)


_OPTUNA = ("optuna", "optuna.samplers")
_SMAC = ("smac", "smac.runhistory.dataclasses", "ConfigSpace")
_HEBO = ("torch", "hebo.design_space.design_space", "hebo.optimizers.hebo")

#: Peer optimizer name -> how to build it.
PEERS: dict[str, PeerSpec] = {
    "optuna:tpe": PeerSpec(
        lambda p, s, b: _OptunaAskTell("tpe", p, s),
        "optuna",
        "Optuna TPESampler (defaults)",
        _OPTUNA,
    ),
    "optuna:gp": PeerSpec(
        lambda p, s, b: _OptunaAskTell("gp", p, s),
        "optuna",
        "Optuna GPSampler (defaults)",
        (*_OPTUNA, "torch"),
    ),
    "optuna:cmaes": PeerSpec(
        lambda p, s, b: _OptunaAskTell("cmaes", p, s),
        "optuna",
        "Optuna CmaEsSampler",
        (*_OPTUNA, "cmaes"),
    ),
    "optuna:random": PeerSpec(
        lambda p, s, b: _OptunaAskTell("random", p, s), "optuna", "Optuna RandomSampler", _OPTUNA
    ),
    "smac:bb": PeerSpec(
        lambda p, s, b: _SmacAskTell("bb", p, s, b), "smac", "SMAC3 BlackBoxFacade (GP)", _SMAC
    ),
    "smac:hpo": PeerSpec(
        lambda p, s, b: _SmacAskTell("hpo", p, s, b),
        "smac",
        "SMAC3 HyperparameterOptimizationFacade (random forest)",
        _SMAC,
    ),
    "hebo": PeerSpec(lambda p, s, b: _HeboAskTell(p, s), "hebo", "HEBO (defaults)", _HEBO),
    "nevergrad:ngopt": PeerSpec(
        lambda p, s, b: _NevergradAskTell(p, s, b), "nevergrad", "Nevergrad NGOpt", ("nevergrad",)
    ),
}

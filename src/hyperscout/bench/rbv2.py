"""XGBoost learning curves over the training-set size, from YAHPO Gym's ``rbv2_xgboost`` surrogate.

The rbv2 data (Binder, Pfisterer & Bischl 2020, "Collecting Empirical Data About
Hyperparameters for Data Driven AutoML", AutoML Workshop at ICML) evaluated random XGBoost
configurations on OpenML tasks at several fractions of the training data (``trainsize``); YAHPO
Gym (Pfisterer et al. 2022, AutoML-Conf) fits one surrogate (``model.onnx``) to it, with 119
tasks. Like :mod:`hyperscout.bench.lcbench` this module runs the ONNX model with onnxruntime
itself (no ``yahpo-gym``) and reuses that module's data folder lookup and onnxruntime session.

Fidelity: step k of ``steps`` trains on ``trainsize = min_trainsize + (1 - min_trainsize) *
(k - 1) / (steps - 1)`` of the training data, a linear grid: the step count is proportional to
the data used, the resource Hyperband's budget counts (the predicted time grows more slowly, by
a median factor of 2.3 from trainsize 0.05 to 1 on task 1489: fixed costs). The default
``min_trainsize = 1 / steps`` (at least 0.03, the smallest trainsize in the data) makes
``trainsize = k / steps``: 0.05, 0.10, ..., 1 for the default 20 steps. YAHPO's second fidelity
``repl`` (1..10, the replication) is held fixed, at 10 by default.

Objective and time: ``values[k-1] = 1 - acc`` at step k (``acc`` is a fraction; clipped into
[0, 1]); ``times[k-1]`` is ``timetrain`` there, the seconds one training from scratch on that
fraction takes. A trainsize cannot continue from a checkpoint, so the benchmark says
``resumable = False`` and :func:`~hyperscout.bench.simulator.simulate` charges a resumed job
the retraining (a pause at step a and resume to b costs ``times[b-1]`` in all; see the
simulator's "Non-resumable fidelities"). The surrogate's ``timetrain`` is not monotone in
trainsize for most configurations (85% of 200 random ones on task 1489; it often dips near
trainsize 1), but the simulator needs non-decreasing times: they are made so by isotonic
regression (the least-squares non-decreasing fit, which keeps the sum over the steps), with a
floor of ``MIN_STEP_SECONDS`` per step. A running maximum (LCBench's fix) would charge the full
trainsize 11% more than predicted for the median configuration (of 200 on task 1489), the
isotonic fit 7%. :meth:`RBV2XGBoost.raw` returns the model's outputs untouched.

Surrogate quirk, left as is: on 44 of the 119 tasks some configurations, nearly all ``dart``
with many rounds, are predicted ``acc = 1`` exactly (error 0, with implausible companions such
as ``memory = 0``), an extrapolation of the surrogate; there :attr:`RBV2XGBoost.best_known` is
0.0, which flags these tasks: prefer the others for regret comparisons (41142, say).

Conditional hyperparameters: ``booster`` is ``gblinear``, ``gbtree`` or ``dart``; ``eta``,
``gamma``, ``max_depth``, ``min_child_weight``, ``colsample_bytree`` and ``colsample_bylevel``
are active for ``gbtree`` and ``dart``, ``rate_drop`` and ``skip_drop`` for ``dart`` only
(:attr:`RBV2XGBoost.conditions`, ``child -> (parent, values)`` as in
:class:`~hyperscout.bench.problems.Problem`). :attr:`RBV2XGBoost.space` holds all 14
parameters, ``booster`` first: a define-by-run objective suggests a child only when active,
while flat-space optimizers (every agent of :mod:`~hyperscout.bench.mf_agents`) propose them
all and :meth:`RBV2XGBoost.curve` ignores the inactive ones (they may also be absent).

Encoding (what yahpo-gym 1.0.2 ``BenchmarkSet._config_to_xs`` feeds the model, rewritten here):

* ``x_cat``: int32, shape ``(n, 3)``: ``task_id``, ``booster``, ``num.impute.selected.cpo``,
  each mapped through ``encoding.json`` (which codes a missing value ``"#na#"`` as 0).
* ``x_cont``: float32, shape ``(n, 14)``: raw values in the order ``nrounds, eta, gamma,
  lambda, alpha, subsample, max_depth, min_child_weight, colsample_bytree, colsample_bylevel,
  rate_drop, skip_drop, trainsize, repl``. An inactive parameter is 0, as yahpo-gym imputes it
  (it fills every parameter missing from a configuration with 0, ``"#na#"`` if categorical).
* ``output``: float32, shape ``(n, 9)``: ``acc, bac, auc, brier, f1, logloss, timetrain,
  timepredict, memory`` (yahpo-gym's ``y_names`` for rbv2), natural scales.

Validation against yahpo-gym (numbers seen, not a test: yahpo-gym needs its own venv): in a
throwaway venv (yahpo-gym 1.0.2, onnxruntime 1.32, numpy 1.26, ConfigSpace 0.6.1)
``BenchmarkSet("rbv2_xgboost", instance=t).objective_function(cfg)`` (with its configuration
check on, so only the active parameters were passed) was queried for 20 random configurations
on each of tasks 1489, 3, 40981 and 41162 (21 gblinear, 28 gbtree, 31 dart) at steps 1, 2, 10,
19 and 20 of the default grid (trainsize 0.05, 0.1, 0.5, 0.95, 1; repl 10): 400 queries, nine
outputs each. Fed one row at a time, as yahpo-gym does, our encoding gives bit-identical
outputs. Fed 20 rows in one call, as :meth:`RBV2XGBoost.curve` does, 394 of the 400 rows are
still bit-identical; onnxruntime's batched float32 kernels round the other six differently:
largest relative difference 1.9e-6 on ``acc`` (1.1e-6 absolute, so on the error) and 6.7e-5 on
``timetrain`` (1.5e-4 s of 2.27 s).

Costs seen on the 2-core development machine (one core busy): a new curve 0.3 ms, a cached one
1.6 us; :attr:`RBV2XGBoost.best_known` 0.2 s on first use.

Example:
    >>> bench = RBV2XGBoost("1489")  # doctest: +SKIP
    >>> config = {"booster": "gblinear", "nrounds": 100, "lambda": 1.0, "alpha": 0.01,
    ...     "subsample": 0.8, "num.impute.selected.cpo": "impute.mean"}
    >>> values, times = bench.curve(config)  # doctest: +SKIP
    >>> values.shape, bench.trainsizes[[0, -1]]  # doctest: +SKIP
    ((20,), array([0.05, 1.  ]))
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hyperscout.bench.lcbench import (
    BEST_KNOWN_SAMPLES,
    BEST_KNOWN_SEED,
    MIN_STEP_SECONDS,
    Curve,
    CurveCache,
    YahpoDataNotFoundError,
    _session,
    yahpo_data_dir,
)
from hyperscout.errors import HyperscoutError, InvalidArgumentError, MissingDependencyError
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = ["SCENARIO", "RBV2XGBoost", "isotonic", "list_tasks"]

SCENARIO = "rbv2_xgboost"
MIN_TRAINSIZE = 0.03  # the smallest trainsize of the config space (and of the data)

# yahpo-gym 1.0.2, yahpo_gym/benchmarks/rbv2.py: the model's column orders.
_CAT_NAMES = ("task_id", "booster", "num.impute.selected.cpo")
_CONT_NAMES = (
    "nrounds",
    "eta",
    "gamma",
    "lambda",
    "alpha",
    "subsample",
    "max_depth",
    "min_child_weight",
    "colsample_bytree",
    "colsample_bylevel",
    "rate_drop",
    "skip_drop",
    "trainsize",
    "repl",
)
_OUTPUT_NAMES = (
    "acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict", "memory",
)  # fmt: skip
_FIDELITIES = ("trainsize", "repl")
_BOOSTER = "booster"
# The 119 task ids of the config space, sorted as numbers (encoding.json adds only "#na#").
_TASKS = (
    "3", "6", "11", "12", "14", "15", "16", "18", "22", "23", "24", "28", "29", "31", "32", "37",
    "38", "42", "44", "46", "50", "54", "60", "151", "181", "182", "188", "300", "307", "312",
    "334", "375", "377", "458", "469", "470", "554", "1040", "1049", "1050", "1053", "1056",
    "1063", "1067", "1068", "1111", "1220", "1457", "1461", "1462", "1464", "1468", "1475",
    "1476", "1478", "1479", "1480", "1485", "1486", "1487", "1489", "1493", "1494", "1497",
    "1501", "1510", "1515", "1590", "4134", "4135", "4154", "4534", "4538", "4541", "6332",
    "23381", "23512", "23517", "40496", "40498", "40499", "40536", "40668", "40670", "40685",
    "40701", "40900", "40923", "40927", "40966", "40975", "40978", "40979", "40981", "40982",
    "40983", "40984", "40994", "40996", "41027", "41138", "41142", "41143", "41146", "41150",
    "41156", "41157", "41159", "41161", "41162", "41163", "41164", "41165", "41166", "41168",
    "41169", "41212", "41216", "41278",
)  # fmt: skip


def list_tasks() -> list[str]:
    """The 119 OpenML task ids of YAHPO's rbv2_xgboost scenario, as strings sorted as numbers.

    Example:
        >>> len(list_tasks()), list_tasks()[:3]
        (119, ['3', '6', '11'])
    """
    return list(_TASKS)


def isotonic(y: np.ndarray) -> np.ndarray:
    """The least-squares non-decreasing fit to ``y`` (shape ``(n,)``), by pool adjacent violators.

    Ayer, Brunk, Ewing, Reid & Silverman 1955, "An Empirical Distribution Function for Sampling
    with Incomplete Information", Ann. Math. Statist. 26(4); each pooled block takes its mean, so
    the sum is kept.

    Example:
        >>> isotonic(np.array([1.0, 3.0, 2.0, 4.0])).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    means: list[float] = []
    sizes: list[int] = []
    for v in np.asarray(y, dtype=float):
        mean, size = float(v), 1
        while means and means[-1] > mean:
            prev, n = means.pop(), sizes.pop()
            mean, size = (prev * n + mean * size) / (n + size), n + size
        means.append(mean)
        sizes.append(size)
    return np.repeat(np.asarray(means), sizes)


def _read_space(
    path: Path,
) -> tuple[dict[str, Distribution], dict[str, tuple[str, tuple[Any, ...]]]]:
    """Distributions (``booster`` first; task and fidelities left out) and conditions."""
    data = json.loads(path.read_text())
    space: dict[str, Distribution] = {}
    for hp in data["hyperparameters"]:
        name, kind = hp["name"], hp["type"]
        if name == "task_id" or name in _FIDELITIES:
            continue
        if kind == "categorical":
            space[name] = Categorical(tuple(hp["choices"]))
        elif kind == "uniform_int":
            space[name] = Int(int(hp["lower"]), int(hp["upper"]), log=bool(hp["log"]))
        elif kind == "uniform_float":
            space[name] = Float(float(hp["lower"]), float(hp["upper"]), log=bool(hp["log"]))
        else:  # pragma: no cover - rbv2_xgboost has none
            raise HyperscoutError(f"unsupported hyperparameter type {kind!r} for {name!r}")
    conditions: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for cond in data["conditions"]:
        values = tuple(cond["values"]) if cond["type"] == "IN" else (cond["value"],)
        if cond["parent"] != _BOOSTER or cond["type"] not in ("IN", "EQ"):  # pragma: no cover
            raise HyperscoutError(f"unsupported condition {cond}")
        conditions[cond["child"]] = (_BOOSTER, values)
    order = [_BOOSTER] + [name for name in space if name != _BOOSTER]
    return {name: space[name] for name in order}, conditions


class RBV2XGBoost:
    """One rbv2_xgboost task: ``1 - acc`` and training seconds over a grid of trainsizes.

    Implements the simulator's benchmark protocol (:class:`hyperscout.bench.simulator.Benchmark`):
    ``space``, ``min_budget`` (1), ``max_budget`` (``steps``) and :meth:`curve`, with
    ``resumable = False``.

    Args:
        task_id: an OpenML task id from :func:`list_tasks` (``"1489"`` or ``1489``).
        steps: the number of fidelity levels (>= 2); step ``steps`` is the full training set.
        min_trainsize: the trainsize of step 1, in [0.03, 1); default ``max(1 / steps, 0.03)``.
        repl: YAHPO's replication fidelity, held fixed (1..10).
        data_dir: the YAHPO data folder; default
            :func:`~hyperscout.bench.lcbench.yahpo_data_dir`.
        cache_size: how many curves to keep (least recently used are dropped).

    Example:
        >>> bench = RBV2XGBoost("1489", steps=10)  # doctest: +SKIP
        >>> bench.max_budget, list(bench.space)[:2]  # doctest: +SKIP
        (10, ['booster', 'alpha'])
    """

    min_budget = 1
    resumable = False

    def __init__(
        self,
        task_id: str | int,
        steps: int = 20,
        min_trainsize: float | None = None,
        repl: int = 10,
        data_dir: str | os.PathLike[str] | None = None,
        cache_size: int = 4096,
    ) -> None:
        task = str(task_id)
        if task not in _TASKS:
            raise InvalidArgumentError(
                f"`task_id` must be one of the 119 {SCENARIO} tasks (list_tasks()), "
                f"got task_id={task_id!r}"
            )
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise InvalidArgumentError(f"`steps` must be an int >= 2, got steps={steps!r}")
        lowest = max(1.0 / steps, MIN_TRAINSIZE) if min_trainsize is None else min_trainsize
        if not MIN_TRAINSIZE <= lowest < 1.0:
            raise InvalidArgumentError(
                f"`min_trainsize` must be in [{MIN_TRAINSIZE}, 1), got min_trainsize={lowest!r}"
            )
        if isinstance(repl, bool) or repl not in range(1, 11):
            raise InvalidArgumentError(f"`repl` must be an int in 1..10, got repl={repl!r}")
        self._cache = CurveCache(cache_size)
        root = Path(data_dir) if data_dir is not None else yahpo_data_dir()
        folder = root / SCENARIO
        if not (folder / "model.onnx").is_file():
            raise YahpoDataNotFoundError(f"no {SCENARIO}/model.onnx under {root}")
        self.task_id = task
        self.max_budget = steps
        self.repl = int(repl)
        self.trainsizes: np.ndarray = np.linspace(float(lowest), 1.0, steps)
        self.trainsizes.flags.writeable = False
        self.space, self.conditions = _read_space(folder / "config_space.json")
        self._codes: dict[str, dict[str, int]] = json.loads((folder / "encoding.json").read_text())
        self._model = folder / "model.onnx"
        # per booster: which of the continuous parameters are active
        booster = self.space[_BOOSTER]
        if not isinstance(booster, Categorical):  # pragma: no cover - the config space says so
            raise HyperscoutError(f"`booster` must be categorical in {folder}, got {booster}")
        self._cont = [name for name in _CONT_NAMES if name in self.space]
        self._active = {
            b: tuple(self._is_active(name, b) for name in self._cont) for b in booster.choices
        }
        self._columns = [_CONT_NAMES.index(name) for name in self._cont]

    def __repr__(self) -> str:
        return f"RBV2XGBoost({self.task_id!r}, steps={self.max_budget})"

    @property
    def name(self) -> str:
        """``"rbv2_xgboost-<task id>"``."""
        return f"{SCENARIO}-{self.task_id}"

    def _is_active(self, name: str, booster: Any) -> bool:
        cond = self.conditions.get(name)
        return cond is None or booster in cond[1]

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` takes part given ``config["booster"]``."""
        return name in self.space and self._is_active(name, config.get(_BOOSTER))

    def active(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` without its inactive (or unknown) parameters, in :attr:`space` order."""
        return {k: config[k] for k in self.space if k in config and self.is_active(k, config)}

    def _key(self, config: Mapping[str, Any]) -> tuple[Any, ...]:
        """``(booster, impute, *continuous)`` with the inactive continuous values as 0."""
        try:
            active = self._active[config[_BOOSTER]]
            return (
                config[_BOOSTER],
                config["num.impute.selected.cpo"],
                *(
                    float(config[n]) if on else 0.0
                    for n, on in zip(self._cont, active, strict=True)
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(self._why(config)) from exc

    def _why(self, config: Mapping[str, Any]) -> str:
        if not any(b == config.get(_BOOSTER) for b in self._active):
            got = config.get(_BOOSTER)
            return f"`config['booster']` must be one of {list(self._active)}, got {got!r}"
        missing = [k for k in self.space if self.is_active(k, config) and k not in config]
        if missing:
            return f"`config` misses the active rbv2_xgboost hyperparameters {missing}"
        return f"`config` holds a non-numeric value for a numeric hyperparameter: {dict(config)}"

    def _check(self, config: Mapping[str, Any]) -> None:
        for name, dist in self.space.items():
            if not self.is_active(name, config):
                continue
            value = config[name]
            as_int = isinstance(dist, Int) and float(value).is_integer()
            if not (dist.contains(value) or (as_int and dist.contains(int(value)))):
                raise InvalidArgumentError(
                    f"`config[{name!r}]` must lie in {dist}, got {name}={value!r}"
                )

    def _rows(self, keys: list[tuple[Any, ...]], trainsizes: np.ndarray) -> tuple[Any, Any]:
        """Model inputs: one row per (key, trainsize) pair, keys repeated ``len(trainsizes)``."""
        n = len(keys) * len(trainsizes)
        x_cat = np.empty((n, len(_CAT_NAMES)), dtype=np.int32)
        x_cat[:, 0] = self._codes["task_id"][self.task_id]
        x_cat[:, 1] = np.repeat([self._codes[_BOOSTER][k[0]] for k in keys], len(trainsizes))
        impute = [self._codes["num.impute.selected.cpo"][k[1]] for k in keys]
        x_cat[:, 2] = np.repeat(impute, len(trainsizes))
        x_cont = np.empty((n, len(_CONT_NAMES)), dtype=np.float32)
        x_cont[:, self._columns] = np.repeat(np.array([k[2:] for k in keys]), len(trainsizes), 0)
        x_cont[:, _CONT_NAMES.index("trainsize")] = np.tile(trainsizes, len(keys))
        x_cont[:, _CONT_NAMES.index("repl")] = self.repl
        return x_cat, x_cont

    def _predict(self, x_cat: np.ndarray, x_cont: np.ndarray) -> np.ndarray:
        try:
            sess = _session(self._model)
        except MissingDependencyError as exc:
            raise MissingDependencyError(
                "RBV2XGBoost needs onnxruntime: pip install 'hyperscout[bench]' (or onnxruntime)"
            ) from exc
        out: np.ndarray = sess.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0]
        return out

    def raw(self, config: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The surrogate's nine outputs at the ``steps`` trainsizes, untouched (float32 arrays).

        Keys: ``acc``, ``bac``, ``auc``, ``brier``, ``f1``, ``logloss``, ``timetrain``
        (seconds), ``timepredict``, ``memory``. Inactive parameters are ignored.
        """
        key = self._key(config)
        self._check(config)
        out = self._predict(*self._rows([key], self.trainsizes))
        return {name: out[:, i].copy() for i, name in enumerate(_OUTPUT_NAMES)}

    def curve(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Errors and training seconds for steps 1..steps (read-only float64 arrays).

        ``values[k - 1]`` is ``1 - acc`` at ``trainsizes[k - 1]``, clipped into [0, 1];
        ``times[k - 1]`` the seconds of one training from scratch on that fraction (the
        isotonic fit of ``timetrain``, at least ``MIN_STEP_SECONDS`` more per step). One
        inference of ``steps`` rows per new config; configs that differ only in inactive
        parameters share a curve, served from an LRU cache (``cache_hits`` / ``cache_misses``).

        Raises:
            InvalidArgumentError: an active hyperparameter is missing or out of its range.
        """
        key = self._key(config)
        return self._cache.get(key, lambda: self._compute(config, key))

    def _compute(self, config: Mapping[str, Any], key: tuple[Any, ...]) -> Curve:
        self._check(config)
        out = self._predict(*self._rows([key], self.trainsizes))
        values = np.clip(1.0 - out[:, 0].astype(float), 0.0, 1.0)
        steps = np.diff(isotonic(out[:, 6]), prepend=0.0)
        times = np.cumsum(np.maximum(steps, MIN_STEP_SECONDS))
        values.flags.writeable = False
        times.flags.writeable = False
        return values, times

    @property
    def cache_hits(self) -> int:
        """Curves served from the cache."""
        return self._cache.hits

    @property
    def cache_misses(self) -> int:
        """Curves computed."""
        return self._cache.misses

    def sample(self, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
        """``n`` configurations drawn uniformly (log-uniformly where log), every parameter set."""
        cols = {name: dist.from_unit(rng.random(n)) for name, dist in self.space.items()}
        return [
            {name: dist.to_external(float(cols[name][i])) for name, dist in self.space.items()}
            for i in range(n)
        ]

    def final_errors(self, n: int, seed: int) -> np.ndarray:
        """``1 - acc`` at trainsize 1 of ``n`` seeded uniform random configurations.

        One inference call of ``n`` rows, no caching.
        """
        keys = [self._key(c) for c in self.sample(n, np.random.default_rng(seed))]
        acc = self._predict(*self._rows(keys, self.trainsizes[-1:]))[:, 0].astype(float)
        errors: np.ndarray = np.clip(1.0 - acc, 0.0, 1.0)
        return errors

    @cached_property
    def best_known(self) -> float:
        """Lowest ``1 - acc`` at trainsize 1 over 10,000 seeded uniform random configurations.

        The reference for regret, computed on first use and kept in memory. A sample minimum,
        not the optimum: an optimizer can beat it (most easily on the any-fidelity curve), so
        regret may dip below 0.
        """
        return float(self.final_errors(BEST_KNOWN_SAMPLES, BEST_KNOWN_SEED).min())

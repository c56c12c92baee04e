"""LCBench learning curves from the YAHPO Gym surrogate, read with onnxruntime directly.

LCBench (Zimmer, Lindauer & Hutter 2021, "Auto-PyTorch Tabular: Multi-Fidelity MetaLearning for
Efficient and Robust AutoDL", TPAMI 43(9)) trained 2,000 funnel-shaped MLP configurations for 52
epochs on 35 OpenML tasks. YAHPO Gym (Pfisterer et al. 2022, "YAHPO Gym - An Efficient
Multi-Objective Multi-Fidelity Benchmark for Hyperparameter Optimization", AutoML-Conf) fits one
neural-network surrogate (``model.onnx``) that predicts six metrics of a configuration at an
epoch; its ``lcbench`` scenario covers 34 of the tasks. This module evaluates that ONNX model
itself, without the ``yahpo-gym`` package (whose pins clash with numpy 2), so a whole learning
curve (52 epochs) costs one batched inference call.

Encoding (what yahpo-gym 1.0.2 ``BenchmarkSet._config_to_xs`` feeds the model, rewritten here):

* ``x_cat``: int32, shape ``(n, 1)``: the task id mapped through ``encoding.json``.
* ``x_cont``: float32, shape ``(n, 8)``: the raw (unscaled) values in the order
  ``epoch, batch_size, learning_rate, momentum, weight_decay, num_layers, max_units,
  max_dropout`` (yahpo-gym's ``cont_names`` for lcbench); scaling lives inside the model.
* ``output``: float32, shape ``(n, 6)``: ``time, val_accuracy, val_cross_entropy,
  val_balanced_accuracy, test_cross_entropy, test_balanced_accuracy``, already on their natural
  scales: ``time`` is cumulative seconds up to that epoch, ``val_accuracy`` is in percent
  (0-100), the balanced accuracies are fractions (0-1).

The objective is the validation error ``1 - val_accuracy / 100`` (clipped into [0, 1]).

Validation against yahpo-gym (numbers seen, not a test: yahpo-gym needs its own venv): in a
throwaway venv (yahpo-gym 1.0.2, onnxruntime 1.32, numpy 1.26, ConfigSpace 0.6.1)
``BenchmarkSet("lcbench", instance=t).objective_function(cfg)`` was queried for 20 random
configurations on tasks 3945, 7593, 189909 and 168868 at epochs 1, 2, 10, 26, 51 and 52 (120
queries, six outputs each). Fed one row at a time, as yahpo-gym does, our encoding gives
bit-identical outputs. Fed 52 rows in one call, as :meth:`LCBench.curve` does, onnxruntime's
batched kernels round differently in float32: largest relative difference 1.8e-5 on ``time``
(0.0028 s absolute) and 3.8e-6 on ``val_accuracy`` (3.7e-4 percentage points, so 3.7e-6 on the
error).

Costs seen on the 2-core development machine (one core busy): a new curve 0.37 ms, a cached
one 1 us; :attr:`LCBench.best_known` 0.1-0.2 s on first use.

Surrogate quirks, handled in :meth:`LCBench.curve`: the predicted cumulative ``time`` is not
always increasing from one epoch to the next, and a few predicted accuracies fall outside
[0, 100]. The returned times are made non-decreasing (running maximum) with a floor of
``MIN_STEP_SECONDS`` per epoch, and the errors are clipped into [0, 1], so every step of a
simulated run costs positive time. :meth:`LCBench.raw` returns the model's outputs untouched.

Example:
    >>> bench = LCBench("3945")  # doctest: +SKIP
    >>> values, times = bench.curve({"batch_size": 64, "learning_rate": 1e-3, "momentum": 0.9,
    ...     "weight_decay": 1e-4, "num_layers": 3, "max_units": 256, "max_dropout": 0.1})
    >>> values.shape, times.shape  # doctest: +SKIP
    ((52,), (52,))
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hyperscout.errors import HyperscoutError, InvalidArgumentError, MissingDependencyError
from hyperscout.space import Distribution, Float, Int

__all__ = [
    "DATA_ENV_VAR",
    "CurveCache",
    "LCBench",
    "YahpoDataNotFoundError",
    "list_tasks",
    "yahpo_data_dir",
]

DATA_ENV_VAR = "HYPERSCOUT_YAHPO_DATA"
MIN_STEP_SECONDS = 1e-3
BEST_KNOWN_SAMPLES = 10_000
BEST_KNOWN_SEED = 0

Curve = tuple[np.ndarray, np.ndarray]


class CurveCache:
    """The least recently used curves of a benchmark by configuration key, with hit and miss
    counts (``size`` 0 keeps nothing)."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise InvalidArgumentError(f"`cache_size` must be >= 0, got cache_size={size}")
        self._size = size
        self._data: OrderedDict[tuple[Any, ...], Curve] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], compute: Callable[[], Curve]) -> Curve:
        """The cached curve of ``key``, else ``compute()`` (counted a miss once it returns)."""
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
            self.hits += 1
            return hit
        result = compute()
        self.misses += 1
        if self._size:
            self._data[key] = result
            if len(self._data) > self._size:
                self._data.popitem(last=False)
        return result


# yahpo-gym 1.0.2, yahpo_gym/benchmarks/lcbench.py: the model's column orders.
_CONT_NAMES = (
    "epoch",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)
_OUTPUT_NAMES = (
    "time",
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
)
_TASK_PARAM = "OpenML_task_id"
_FIDELITY = "epoch"
# The 34 instances of YAHPO's lcbench config_space.json (encoding.json also lists 167083, which
# the config space leaves out; we follow the config space).
_TASKS = (
    "3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149",
    "167152", "167161", "167168", "167181", "167184", "167185", "167190", "167200", "167201",
    "168329", "168330", "168331", "168335", "168868", "168908", "168910", "189354", "189862",
    "189865", "189866", "189873", "189905", "189906", "189908", "189909",
)  # fmt: skip


class YahpoDataNotFoundError(HyperscoutError, FileNotFoundError):
    """The YAHPO Gym surrogate files are not where hyperscout looks for them."""


def list_tasks() -> list[str]:
    """The 34 OpenML task ids of YAHPO's lcbench scenario, as strings.

    Example:
        >>> len(list_tasks())
        34
    """
    return list(_TASKS)


def yahpo_data_dir() -> Path:
    """The YAHPO Gym data folder: ``$HYPERSCOUT_YAHPO_DATA``, else ``<repo>/../shared/data/yahpo``.

    ``<repo>`` is the checkout this module lives in (an editable install); for an installed copy
    the fallback is ``../shared/data/yahpo`` from the working directory. Nothing is downloaded.

    Raises:
        YahpoDataNotFoundError: when neither folder holds an ``lcbench`` scenario.
    """
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        candidates = [Path(env)]
    else:
        repo = Path(__file__).resolve().parents[3]
        candidates = [repo.parent / "shared/data/yahpo", Path.cwd().parent / "shared/data/yahpo"]
    for path in candidates:
        if (path / "lcbench" / "model.onnx").is_file():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise YahpoDataNotFoundError(
        f"no YAHPO Gym data with lcbench/model.onnx in {tried}: set {DATA_ENV_VAR} to the folder "
        "that holds lcbench/ (YAHPO Gym data 1.0.2)"
    )


_SESSIONS: dict[Path, Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(model: Path) -> Any:
    """One single-threaded onnxruntime session per model file and process."""
    with _SESSIONS_LOCK:
        if model not in _SESSIONS:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise MissingDependencyError(
                    "LCBench needs onnxruntime: pip install 'hyperscout[bench]' (or onnxruntime)"
                ) from exc
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _SESSIONS[model] = ort.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _SESSIONS[model]


def _space_from_json(path: Path) -> dict[str, Distribution]:
    """hyperscout distributions for the searchable hyperparameters (task and epoch left out)."""
    data = json.loads(path.read_text())
    space: dict[str, Distribution] = {}
    for hp in data["hyperparameters"]:
        name = hp["name"]
        if name in (_TASK_PARAM, _FIDELITY):
            continue
        if hp["type"] == "uniform_int":
            space[name] = Int(int(hp["lower"]), int(hp["upper"]), log=bool(hp["log"]))
        elif hp["type"] == "uniform_float":
            space[name] = Float(float(hp["lower"]), float(hp["upper"]), log=bool(hp["log"]))
        else:  # pragma: no cover - lcbench has none
            raise HyperscoutError(f"unsupported hyperparameter type {hp['type']!r} for {name!r}")
    return space


class LCBench:
    """One LCBench task: learning curves of validation error and cumulative training time.

    Implements the simulator's benchmark protocol (:class:`hyperscout.bench.simulator.Benchmark`):
    ``space``, ``min_budget``, ``max_budget`` and :meth:`curve`.

    Args:
        task_id: an OpenML task id from :func:`list_tasks` (``"3945"`` or ``3945``).
        data_dir: the YAHPO data folder; default :func:`yahpo_data_dir`.
        cache_size: how many curves to keep (least recently used are dropped).

    Example:
        >>> bench = LCBench("3945")  # doctest: +SKIP
        >>> sorted(bench.space)  # doctest: +SKIP
        ['batch_size', 'learning_rate', 'max_dropout', 'max_units', 'momentum', 'num_layers',
         'weight_decay']
    """

    min_budget = 1
    max_budget = 52

    def __init__(
        self,
        task_id: str | int,
        data_dir: str | os.PathLike[str] | None = None,
        cache_size: int = 4096,
    ) -> None:
        task = str(task_id)
        if task not in _TASKS:
            raise InvalidArgumentError(
                f"`task_id` must be one of the 34 lcbench tasks (list_tasks()), got {task_id!r}"
            )
        self._cache = CurveCache(cache_size)
        root = Path(data_dir) if data_dir is not None else yahpo_data_dir()
        folder = root / "lcbench"
        if not (folder / "model.onnx").is_file():
            raise YahpoDataNotFoundError(f"no lcbench/model.onnx under {root}")
        self.task_id = task
        self.space: dict[str, Distribution] = _space_from_json(folder / "config_space.json")
        encoding = json.loads((folder / "encoding.json").read_text())[_TASK_PARAM]
        self._task_code = int(encoding[task])
        self._model = folder / "model.onnx"
        epochs = np.arange(1, self.max_budget + 1, dtype=np.float32)
        self._x_cat = np.full((self.max_budget, 1), self._task_code, dtype=np.int32)
        self._x_cont = np.zeros((self.max_budget, len(_CONT_NAMES)), dtype=np.float32)
        self._x_cont[:, 0] = epochs
        self._columns = [_CONT_NAMES.index(name) for name in self.space]

    def __repr__(self) -> str:
        return f"LCBench({self.task_id!r})"

    @property
    def name(self) -> str:
        """``"lcbench-<task id>"``."""
        return f"lcbench-{self.task_id}"

    def _key(self, config: Mapping[str, Any]) -> tuple[float, ...]:
        try:
            return tuple(float(config[name]) for name in self.space)
        except KeyError as exc:
            missing = sorted(set(self.space) - set(config))
            raise InvalidArgumentError(
                f"`config` misses LCBench hyperparameters {missing}: give all of {list(self.space)}"
            ) from exc

    def _predict(self, x_cat: np.ndarray, x_cont: np.ndarray) -> np.ndarray:
        sess = _session(self._model)
        out: np.ndarray = sess.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0]
        return out

    def raw(self, config: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The surrogate's six outputs for epochs 1..52, untouched (float32 arrays of 52).

        Keys: ``time`` (cumulative seconds), ``val_accuracy`` (percent), ``val_cross_entropy``,
        ``val_balanced_accuracy``, ``test_cross_entropy``, ``test_balanced_accuracy``.
        """
        key = self._key(config)
        x_cont = self._x_cont.copy()
        x_cont[:, self._columns] = np.asarray(key, dtype=np.float32)
        out = self._predict(self._x_cat, x_cont)
        return {name: out[:, i].copy() for i, name in enumerate(_OUTPUT_NAMES)}

    def curve(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Validation error and cumulative seconds for epochs 1..52 (read-only float64 arrays).

        ``values[k - 1]`` is ``1 - val_accuracy / 100`` after epoch ``k``, clipped into [0, 1];
        ``times[k - 1]`` the seconds of training up to the end of epoch ``k``, non-decreasing with
        at least ``MIN_STEP_SECONDS`` per epoch. One batched inference of 52 rows per new config;
        repeated configs are served from an LRU cache (``cache_hits`` / ``cache_misses``).

        Raises:
            InvalidArgumentError: a hyperparameter is missing or out of its range.
        """
        key = self._key(config)
        return self._cache.get(key, lambda: self._compute(config, key))

    def _compute(self, config: Mapping[str, Any], key: tuple[float, ...]) -> Curve:
        self._check(config)
        x_cont = self._x_cont.copy()
        x_cont[:, self._columns] = np.asarray(key, dtype=np.float32)
        out = self._predict(self._x_cat, x_cont)
        return _finish_curve(out[:, 1], out[:, 0])

    @property
    def cache_hits(self) -> int:
        """Curves served from the cache."""
        return self._cache.hits

    @property
    def cache_misses(self) -> int:
        """Curves computed."""
        return self._cache.misses

    def _check(self, config: Mapping[str, Any]) -> None:
        for name, dist in self.space.items():
            value = config[name]
            as_int = isinstance(dist, Int) and float(value).is_integer()
            if not (dist.contains(value) or (as_int and dist.contains(int(value)))):
                raise InvalidArgumentError(
                    f"`config[{name!r}]` must lie in {dist}, got {name}={value!r}"
                )

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` configurations drawn uniformly (log-uniformly where log) as columns."""
        return {
            name: np.asarray(dist.from_unit(rng.random(n)), dtype=float)
            for name, dist in self.space.items()
        }

    def final_errors(self, n: int, seed: int) -> np.ndarray:
        """Validation errors at epoch 52 of ``n`` seeded uniform random configurations.

        One inference call of ``n`` rows (about 20 us a row), no caching.
        """
        cols = self.sample(n, np.random.default_rng(seed))
        x_cont = np.zeros((n, len(_CONT_NAMES)), dtype=np.float32)
        x_cont[:, 0] = self.max_budget
        for name, col in cols.items():
            x_cont[:, _CONT_NAMES.index(name)] = col
        x_cat = np.full((n, 1), self._task_code, dtype=np.int32)
        acc = self._predict(x_cat, x_cont)[:, 1].astype(float)
        errors: np.ndarray = np.clip(1.0 - acc / 100.0, 0.0, 1.0)
        return errors

    @cached_property
    def best_known(self) -> float:
        """Lowest error at epoch 52 over 10,000 seeded uniform random configurations.

        The reference for regret, computed on first use (10,000 surrogate rows, well under a
        second) and kept in memory. It is a sample minimum, not the optimum: a good optimizer can
        beat it, most easily with the any-fidelity anytime curve, so regret may dip below 0.
        """
        return float(self.final_errors(BEST_KNOWN_SAMPLES, BEST_KNOWN_SEED).min())


def _finish_curve(accuracy: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.clip(1.0 - accuracy.astype(float) / 100.0, 0.0, 1.0)
    steps = np.diff(np.maximum.accumulate(time.astype(float)), prepend=0.0)
    times = np.cumsum(np.maximum(steps, MIN_STEP_SECONDS))
    values.flags.writeable = False
    times.flags.writeable = False
    return values, times

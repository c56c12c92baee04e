"""Black-box benchmark problems: the 24 BBOB functions and real scikit-learn tuning tasks.

Every :class:`Problem` is minimized, has a search space of :class:`~hyperscout.Float`,
:class:`~hyperscout.Int` and :class:`~hyperscout.Categorical`, and is named so that any process
can rebuild it with :func:`make_problem` (runs in worker processes receive names, not objects).

* ``bbob-f{fid:02d}-d{dim}``: the noiseless BBOB function ``fid`` (1-24), instance 1, through the
  ``ioh`` package, on ``[-5, 5]^dim``. Its known optimum ``f_opt`` makes the regret exact
  (Hansen et al. 2009, "Real-parameter black-box optimization benchmarking 2009: noiseless
  functions definitions", INRIA RR-6829).
* ``sklearn-*``: 3-fold stratified cross-validation error (1 - accuracy) of a scikit-learn model
  on a dataset that ships with scikit-learn, with a fixed data seed; mixed spaces with
  conditional parameters; each evaluation runs on one core in well under 2 s here.

Example:
    >>> p = make_problem("sklearn-svc-digits")  # doctest: +SKIP
    >>> p.evaluate({"C": 1.0, "kernel": "rbf", "gamma": 0.01})  # doctest: +SKIP
    0.03...
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from hyperscout.errors import InvalidArgumentError, MissingDependencyError
from hyperscout.space import Categorical, Distribution, Float, Int

__all__ = [
    "BBOB_DIMS",
    "BBOB_FUNCTIONS",
    "SKLEARN_TASKS",
    "Problem",
    "bbob_problem",
    "carps_budget",
    "list_problems",
    "make_problem",
]

#: BBOB function ids (noiseless suite).
BBOB_FUNCTIONS: tuple[int, ...] = tuple(range(1, 25))
#: Dimensions the suite runs BBOB at by default.
BBOB_DIMS: tuple[int, ...] = (2, 5, 10)
_BBOB_NAME = re.compile(r"^bbob-f(\d{1,2})-d(\d{1,3})$")


@dataclass(frozen=True, eq=False)
class Problem:
    """One minimization task.

    Attributes:
        name: unique name; :func:`make_problem` rebuilds the problem from it.
        space: parameter name -> distribution, parents listed before their children.
        objective: the function of the *active* parameters that :meth:`evaluate` calls.
        optimum: the known minimum value, or None when unknown (real tuning tasks).
        conditions: child -> (parent, parent values under which the child is active).
        family: "bbob" or "sklearn" (report groups use it).
    """

    name: str
    space: Mapping[str, Distribution]
    objective: Callable[[dict[str, Any]], float] = field(repr=False)
    optimum: float | None = None
    conditions: Mapping[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    family: str = "bbob"

    @property
    def dimension(self) -> int:
        """Number of parameters (conditional ones included)."""
        return len(self.space)

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether ``name`` takes part given the values of its parent (and the parent's parents)."""
        cond = self.conditions.get(name)
        if cond is None:
            return True
        parent, values = cond
        if parent not in params or not self.is_active(parent, params):
            return False
        return any(_same(params[parent], v) for v in values)

    def active(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without the parameters that are inactive (optimizers on flat spaces
        propose a value for every parameter; the inactive ones are dropped here)."""
        return {k: params[k] for k in self.space if k in params and self.is_active(k, params)}

    def evaluate(self, params: Mapping[str, Any]) -> float:
        """Objective value (smaller is better) of a configuration.

        Inactive parameters are ignored; numbers are converted to ``int`` / ``float`` as their
        distribution says. Raises on a missing or out-of-range active parameter.
        """
        chosen = self.active(params)
        for name, dist in self.space.items():
            if not self.is_active(name, chosen):
                continue
            if name not in chosen:
                raise InvalidArgumentError(f"`params` lacks the active parameter {name!r}")
            value = chosen[name]
            if not dist.contains(value):
                raise InvalidArgumentError(
                    f"`params[{name!r}]` = {value!r} is outside its distribution {dist!r}"
                )
            if isinstance(dist, Int):
                chosen[name] = int(value)
            elif isinstance(dist, Float):
                chosen[name] = float(value)
        return float(self.objective(chosen))


def _same(a: Any, b: Any) -> bool:
    # bools match bools only (True == 1 in Python); numbers match across int / numpy types
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and a == b
    return bool(a == b)


def carps_budget(dimension: int) -> int:
    """Evaluations per run under the carps protocol: ``ceil(20 + 40 * sqrt(d))``.

    Example:
        >>> carps_budget(2), carps_budget(5), carps_budget(10)
        (77, 110, 147)
    """
    if dimension < 1:
        raise InvalidArgumentError(f"`dimension` must be >= 1, got {dimension}")
    return math.ceil(20 + 40 * math.sqrt(dimension))


# -- BBOB -------------------------------------------------------------------------------------
def _ioh() -> Any:
    try:
        import ioh
    except ImportError as exc:
        raise MissingDependencyError(
            "the BBOB problems need the optional package 'ioh': pip install 'hyperscout[bench]'"
        ) from exc
    return ioh


@cache
def _ioh_function(fid: int, dim: int) -> Any:
    ioh = _ioh()
    return ioh.get_problem(fid, instance=1, dimension=dim, problem_class=ioh.ProblemClass.BBOB)


def bbob_problem(fid: int, dim: int) -> Problem:
    """BBOB function ``fid`` (1-24), instance 1, in ``dim`` dimensions on ``[-5, 5]^dim``."""
    if fid not in BBOB_FUNCTIONS:
        raise InvalidArgumentError(f"`fid` must be in 1..24, got {fid}")
    if dim < 1:
        raise InvalidArgumentError(f"`dim` must be >= 1, got {dim}")
    f = _ioh_function(fid, dim)
    names = [f"x{i}" for i in range(dim)]
    lb, ub = float(f.bounds.lb[0]), float(f.bounds.ub[0])

    def objective(params: dict[str, Any]) -> float:
        x = np.array([params[n] for n in names], dtype=float)
        return float(f(x))

    return Problem(
        name=f"bbob-f{fid:02d}-d{dim}",
        space={n: Float(lb, ub) for n in names},
        objective=objective,
        optimum=float(f.optimum.y),
        family="bbob",
    )


# -- scikit-learn tasks -------------------------------------------------------------------------
_DATA_SEED = 0


def _sklearn() -> Any:
    try:
        import sklearn
    except ImportError as exc:
        raise MissingDependencyError(
            "the scikit-learn tasks need the optional package 'scikit-learn': "
            "pip install 'hyperscout[bench]'"
        ) from exc
    return sklearn


@cache
def _dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    _sklearn()
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
    }[name]
    X, y = loader(return_X_y=True)
    if name == "digits":  # a fixed stratified 1,000-row subset keeps evaluations under a second
        X, _, y, _ = train_test_split(X, y, train_size=1000, stratify=y, random_state=_DATA_SEED)
    return np.asarray(X, dtype=float), np.asarray(y)


def _cv_error(model: Any, data: str) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = _dataset(data)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=_DATA_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            scores = cross_val_score(model, X, y, cv=cv, n_jobs=1, error_score="raise")
        except (ValueError, ArithmeticError):  # a diverging configuration scores as chance
            return 1.0
    score = float(np.mean(scores))
    return 1.0 - score if math.isfinite(score) else 1.0


def _mlp_digits(p: dict[str, Any]) -> float:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    layers = (p["units_1"],) if p["n_layers"] == 1 else (p["units_1"], p["units_2"])
    model = MLPClassifier(
        hidden_layer_sizes=layers,
        activation=p["activation"],
        alpha=p["alpha"],
        learning_rate_init=p["learning_rate_init"],
        batch_size=p["batch_size"],
        max_iter=20,
        random_state=_DATA_SEED,
    )
    return _cv_error(make_pipeline(StandardScaler(), model), "digits")


def _gb_breast_cancer(p: dict[str, Any]) -> float:
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(
        learning_rate=p["learning_rate"],
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        subsample=p["subsample"],
        max_features=p["max_features"],
        min_samples_leaf=p["min_samples_leaf"],
        random_state=_DATA_SEED,
    )
    return _cv_error(model, "breast_cancer")


def _svc_digits(p: dict[str, Any]) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    model = SVC(
        C=p["C"],
        kernel=p["kernel"],
        gamma=p["gamma"],
        degree=p.get("degree", 3),
        coef0=p.get("coef0", 0.0),
        max_iter=200_000,
    )
    return _cv_error(make_pipeline(StandardScaler(), model), "digits")


def _rf_wine(p: dict[str, Any]) -> float:
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=p["n_estimators"],
        criterion=p["criterion"],
        max_depth=p["max_depth"] if p["limit_depth"] else None,
        max_features=p["max_features"],
        min_samples_split=p["min_samples_split"],
        bootstrap=p["bootstrap"],
        random_state=_DATA_SEED,
        n_jobs=1,
    )
    return _cv_error(model, "wine")


@dataclass(frozen=True, slots=True)
class _TaskSpec:
    objective: Callable[[dict[str, Any]], float]
    space: Callable[[], dict[str, Distribution]]
    conditions: Mapping[str, tuple[str, tuple[Any, ...]]]


def _mlp_space() -> dict[str, Distribution]:
    return {
        "n_layers": Int(1, 2),
        "units_1": Int(8, 64, log=True),
        "units_2": Int(8, 64, log=True),
        "activation": Categorical(("relu", "tanh")),
        "alpha": Float(1e-6, 1e-1, log=True),
        "learning_rate_init": Float(1e-4, 1e-1, log=True),
        "batch_size": Int(32, 256, log=True),
    }


def _gb_space() -> dict[str, Distribution]:
    return {
        "learning_rate": Float(1e-3, 1.0, log=True),
        "n_estimators": Int(10, 30, log=True),
        "max_depth": Int(1, 4),
        "subsample": Float(0.5, 1.0),
        "max_features": Categorical(("sqrt", "log2", None)),
        "min_samples_leaf": Int(1, 32, log=True),
    }


def _svc_space() -> dict[str, Distribution]:
    return {
        "C": Float(1e-2, 1e3, log=True),
        "kernel": Categorical(("rbf", "poly", "sigmoid")),
        "gamma": Float(1e-4, 1.0, log=True),
        "degree": Int(2, 5),
        "coef0": Float(-1.0, 1.0),
    }


def _rf_space() -> dict[str, Distribution]:
    return {
        "n_estimators": Int(8, 48, log=True),
        "criterion": Categorical(("gini", "entropy")),
        "limit_depth": Categorical((True, False)),
        "max_depth": Int(1, 12),
        "max_features": Float(0.05, 1.0),
        "min_samples_split": Int(2, 20, log=True),
        "bootstrap": Categorical((True, False)),
    }


#: Real tuning tasks: name -> how to build it.
SKLEARN_TASKS: dict[str, _TaskSpec] = {
    "sklearn-mlp-digits": _TaskSpec(_mlp_digits, _mlp_space, {"units_2": ("n_layers", (2,))}),
    "sklearn-gb-breast_cancer": _TaskSpec(_gb_breast_cancer, _gb_space, {}),
    "sklearn-svc-digits": _TaskSpec(
        _svc_digits,
        _svc_space,
        {"degree": ("kernel", ("poly",)), "coef0": ("kernel", ("poly", "sigmoid"))},
    ),
    "sklearn-rf-wine": _TaskSpec(_rf_wine, _rf_space, {"max_depth": ("limit_depth", (True,))}),
}


def sklearn_problem(name: str) -> Problem:
    """The real tuning task ``name`` (a key of :data:`SKLEARN_TASKS`)."""
    if name not in SKLEARN_TASKS:
        raise InvalidArgumentError(
            f"unknown scikit-learn task {name!r}: choose one of {sorted(SKLEARN_TASKS)}"
        )
    _sklearn()
    spec = SKLEARN_TASKS[name]
    return Problem(
        name=name,
        space=spec.space(),
        objective=spec.objective,
        optimum=None,
        conditions=dict(spec.conditions),
        family="sklearn",
    )


def make_problem(name: str) -> Problem:
    """Build a problem from its name (``bbob-f07-d5``, ``sklearn-svc-digits``, ...)."""
    match = _BBOB_NAME.match(name)
    if match:
        return bbob_problem(int(match.group(1)), int(match.group(2)))
    if name.startswith("sklearn-"):
        return sklearn_problem(name)
    raise InvalidArgumentError(
        f"unknown problem {name!r}: use 'bbob-fNN-dD' (NN in 01..24) or one of "
        f"{sorted(SKLEARN_TASKS)}"
    )


def list_problems(
    bbob_dims: Sequence[int] = BBOB_DIMS,
    functions: Sequence[int] = BBOB_FUNCTIONS,
    sklearn: Sequence[str] | bool = True,
) -> list[str]:
    """Names of the selected problems (no package is imported).

    Example:
        >>> list_problems(bbob_dims=[2], functions=[1, 2], sklearn=False)
        ['bbob-f01-d2', 'bbob-f02-d2']
    """
    names = [f"bbob-f{f:02d}-d{d}" for d in bbob_dims for f in functions]
    for f in functions:
        if f not in BBOB_FUNCTIONS:
            raise InvalidArgumentError(f"BBOB function ids are 1..24, got {f}")
    if sklearn is True:
        names += list(SKLEARN_TASKS)
    elif sklearn:
        for task in sklearn:
            if task not in SKLEARN_TASKS:
                raise InvalidArgumentError(
                    f"unknown scikit-learn task {task!r}: choose from {sorted(SKLEARN_TASKS)}"
                )
        names += list(sklearn)
    return names

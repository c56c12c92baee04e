"""Quick start: tune a support-vector classifier on scikit-learn's digits data set.

The study lives in ``hyperscout.db`` (SQLite, the embedded default): run this script again and
it continues the same study; inspect it with ``hyperscout trials quickstart``.
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

import hyperscout as hs

X, y = load_digits(return_X_y=True)


def objective(trial: hs.Trial) -> float:
    kernel = trial.suggest_categorical("kernel", ["rbf", "poly", "sigmoid"])
    c = trial.suggest_float("C", 1e-3, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-6, 1e-1, log=True)
    degree = trial.suggest_int("degree", 2, 5) if kernel == "poly" else 3  # conditional
    model = SVC(kernel=kernel, C=c, gamma=gamma, degree=degree)
    return float(cross_val_score(model, X, y, cv=3).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--storage", default="sqlite:///hyperscout.db")
    args = parser.parse_args()

    study = hs.create_study(
        study_name="quickstart",
        storage=args.storage,
        direction="maximize",
        sampler="tpe",
        seed=0,
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=args.n_trials, show_progress=True)

    best = study.best_trial
    print(f"\nstudy {study.study_name!r} in {args.storage}: {len(study.trials)} trials")
    print(f"best accuracy {best.value:.4f} (trial {best.number}) with:")
    for name, value in best.params.items():
        print(f"  {name} = {value!r}")


if __name__ == "__main__":
    main()

"""Population-based training: a small neural network on scikit-learn's digits, one epoch per step.

Eight networks train side by side. Every ``interval`` epochs, one whose validation error is in
the worst quarter (at that epoch) is replaced by a copy of one of the best quarter (its weights,
through the checkpoint) with the copy's learning rate and L2 penalty multiplied by 0.8 or 1.2,
or, one time in four, drawn anew. So the population follows a *schedule* of hyperparameters.
The study lives in ``pbt_mlp.db`` (SQLite), its checkpoints in ``pbt_mlp.db.checkpoints/``.

A copy's parameters differ from those its checkpoint was trained with: set them on the restored
model, where the model really reads them (an optimizer that keeps its own copy of the learning
rate ignores the estimator's attribute).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import hyperscout as hs
from hyperscout.schedulers._pbt import ORIGIN_KEY, PARENT_KEY, current_members

MAX_EPOCHS = 30

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
CLASSES = np.unique(y)


def objective(trial: hs.Trial) -> float:
    lr = trial.suggest_float("learning_rate_init", 1e-4, 0.3, log=True)
    alpha = trial.suggest_float("alpha", 1e-6, 1.0, log=True)

    model = trial.load_checkpoint()  # None for a new network; the donor's for a copy
    if model is None:
        model = MLPClassifier(hidden_layer_sizes=(32,), batch_size=64, random_state=trial.number)
    model.set_params(learning_rate_init=lr, alpha=alpha)
    if hasattr(model, "_optimizer"):  # Adam, once created, keeps its own learning rate
        model._optimizer.learning_rate_init = lr

    val_error = 1.0
    for epoch in trial.steps():  # start_step + 1 ... the end of the segment
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=CLASSES)  # one epoch
        val_error = 1.0 - model.score(X_val, y_val)
        trial.report(epoch, val_error)  # PBT pauses the trial at the end of its segment
    trial.save_checkpoint(model)  # after the segment: a copy (or the resumption) starts here
    return val_error


def schedule(study: hs.Study, trial: hs.FrozenTrial) -> list[tuple[int, int, float, float]]:
    """(first epoch, last epoch, learning rate, alpha) along the trial's lineage."""
    trials = study.trials
    out = []
    end = trial.last_step or 0
    t: hs.FrozenTrial | None = trial
    while t is not None:
        start = int(t.system_attrs.get(ORIGIN_KEY, 0))
        out.append((start + 1, end, t.params["learning_rate_init"], t.params["alpha"]))
        parent = t.system_attrs.get(PARENT_KEY)
        end, t = start, None if parent is None else trials[int(parent)]
    return out[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population", type=int, default=8, help="networks (default 8)")
    parser.add_argument("--interval", type=int, default=3, help="epochs per segment")
    parser.add_argument("--storage", default="sqlite:///pbt_mlp.db")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--compare", action="store_true", help="also train the first networks without PBT"
    )
    args = parser.parse_args()

    pbt = hs.PBTScheduler(MAX_EPOCHS, population_size=args.population, interval=args.interval)
    study = hs.create_study(
        study_name="pbt_mlp",
        storage=args.storage,
        sampler="random",
        scheduler=pbt,
        seed=args.seed,
        load_if_exists=True,
    )
    start = time.perf_counter()
    # n_trials counts new networks: the population; copies and resumptions are free
    study.optimize(objective, n_trials=args.population)
    seconds = time.perf_counter() - start

    trials = study.trials
    members = current_members(trials)
    epochs = sum(len(t.intermediate_values) for t in trials)
    copies = sum(1 for t in trials if t.system_attrs.get(PARENT_KEY) is not None)
    print(f"study {study.study_name!r}: {len(members)} networks, {len(trials)} trials")
    print(f"copies {copies}, epochs trained {epochs}, {seconds:.1f} s")
    finals = sorted(t.value for t in members.values() if t.value is not None)
    print("final validation errors " + " ".join(f"{v:.4f}" for v in finals))
    best = study.best_trial
    print(f"best validation error {best.value:.4f} after {MAX_EPOCHS} epochs (trial {best.number})")
    print("its schedule:")
    for first, last, lr, alpha in schedule(study, best):
        print(f"  epochs {first:2d}-{last:2d}: learning_rate_init={lr:.5f} alpha={alpha:.2e}")
    if args.compare:
        # the same seed and sampler draw the same first networks: trained for the full
        # budget without PBT, in as many epochs
        fifo = hs.create_study(
            sampler="random", scheduler=hs.FIFOScheduler(max_budget=MAX_EPOCHS), seed=args.seed
        )
        fifo.optimize(objective, n_trials=args.population)
        print(f"without PBT: best validation error {fifo.best_value:.4f} after {MAX_EPOCHS} epochs")


if __name__ == "__main__":
    main()

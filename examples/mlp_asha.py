"""Multi-fidelity tuning: a small neural network on scikit-learn's digits, one epoch per step.

ASHA (``hs.ASHAScheduler``) trains every configuration for a few epochs, pauses it, and resumes
only the best third of each rung to the next one (3 -> 9 -> 27 epochs). A paused trial goes on
from its checkpoint (the network and the epochs done), so no epoch is trained twice. The study
lives in ``mlp_asha.db`` (SQLite) and its checkpoints in ``mlp_asha.db.checkpoints/``: run the
script again and it continues the same study, paused trials included.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import hyperscout as hs

MAX_EPOCHS = 27

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
CLASSES = np.unique(y)


def objective(trial: hs.Trial) -> float:
    lr = trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True)
    hidden = trial.suggest_int("hidden", 8, 128, log=True)
    alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
    batch = trial.suggest_categorical("batch_size", [32, 64, 128, 256])

    checkpoint = trial.load_checkpoint()  # None for a new trial
    if checkpoint is None:
        model = MLPClassifier(
            hidden_layer_sizes=(hidden,),
            learning_rate_init=lr,
            alpha=alpha,
            batch_size=batch,
            random_state=trial.number,
        )
    else:
        model, done = checkpoint
        if done != trial.start_step:
            raise RuntimeError(f"checkpoint after epoch {done}, resuming at {trial.start_step}")

    val_error = 1.0
    for epoch in trial.steps():  # start_step + 1 ... the rung's budget
        model.partial_fit(X_train, y_train, classes=CLASSES)  # one epoch
        val_error = 1.0 - model.score(X_val, y_val)
        trial.save_checkpoint((model, epoch))
        trial.report(epoch, val_error)  # ASHA pauses the trial at its rung
    return val_error


def summarize(study: hs.Study, rungs: list[int]) -> None:
    trials = study.trials
    epochs = sum(len(t.intermediate_values) for t in trials)
    # a trial past rung r was resumed once for it
    resumes = sum(1 for t in trials for r in rungs[:-1] if (t.last_step or 0) > r)
    resumed = sum(1 for t in trials if (t.last_step or 0) > rungs[0])
    paused = len(study.get_trials([hs.TrialState.PAUSED]))
    done = len(study.get_trials([hs.TrialState.COMPLETE]))
    any_fidelity = min(v for t in trials for v in t.intermediate_values.values())
    print(f"study {study.study_name!r}: {len(trials)} trials, rungs {rungs}")
    if done:
        print(f"best validation error {study.best_value:.4f} after {MAX_EPOCHS} epochs")
        print(f"  with {study.best_params}")
    else:
        print(f"no trial reached {MAX_EPOCHS} epochs yet: run more trials (9 or more)")
    print(f"best validation error at any epoch count {any_fidelity:.4f}")
    fifo = len(trials) * MAX_EPOCHS
    print(f"epochs trained {epochs}; FIFO would train {fifo} ({len(trials)} x {MAX_EPOCHS})")
    print(f"trials resumed {resumed} ({resumes} resumptions), paused {paused}, complete {done}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-trials", type=int, default=20, help="new trials (default 20)")
    parser.add_argument("--storage", default="sqlite:///mlp_asha.db")
    args = parser.parse_args()

    scheduler = hs.ASHAScheduler(max_budget=MAX_EPOCHS, min_budget=3, eta=3)
    study = hs.create_study(
        study_name="mlp_asha",
        storage=args.storage,
        sampler="tpe",
        scheduler=scheduler,
        seed=0,
        load_if_exists=True,
    )
    # n_trials counts new trials; promotions of paused ones go on until ASHA has none left
    study.optimize(objective, n_trials=args.n_trials)
    summarize(study, scheduler.rungs)


if __name__ == "__main__":
    main()

"""MultiFidelitySampler: the base sampler sees the study at the largest well-observed budget."""

from __future__ import annotations

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers._base import StudyView


def bowl(trial: hs.Trial) -> float:
    """(x - 0.3)^2 + 1/step, reported at every step."""
    x = trial.suggest_float("x", 0.0, 1.0)
    loss = 0.0
    for step in trial.steps():
        loss = (x - 0.3) ** 2 + 1.0 / step
        trial.report(step, loss)
    return loss


def asha_study(n: int, seed: int = 0) -> hs.Study:
    """ASHA (rungs 1, 3, 9) on x -> (x - 0.3)^2 + 1/step, run by hand for ``n`` new trials."""
    study = hs.create_study(
        sampler=hs.MultiFidelitySampler("random", min_points=3),
        scheduler=hs.ASHAScheduler(max_budget=9),
        seed=seed,
    )
    study.optimize(bowl, n_trials=n)
    return study


def view_of(study: hs.Study) -> StudyView:
    return StudyView(study.trials, study.directions, study.seed)


def test_the_view_holds_values_at_the_largest_budget_with_enough_trials() -> None:
    study = asha_study(12)
    sampler = hs.MultiFidelitySampler("random", min_points=3)
    view = view_of(study)
    reached = {b: sum(1 for t in view.trials if max(t.intermediate_values) >= b) for b in (1, 3, 9)}
    expected = max(b for b, n in reached.items() if n >= 3)
    assert sampler.modelled_budget(view) == expected
    seen = sampler.view_at_budget(view)
    for orig, t in zip(view.trials, seen.trials, strict=True):
        if max(orig.intermediate_values) >= expected:
            first = min(s for s in orig.intermediate_values if s >= expected)
            assert t.state == hs.TrialState.COMPLETE
            assert t.values == (orig.intermediate_values[first],)
        else:
            assert t.state == hs.TrialState.PRUNED and t.values is None
    # the same view object gives the same (cached) view
    assert sampler.view_at_budget(view) is seen


def test_with_few_observations_the_lowest_budget_is_used() -> None:
    study = asha_study(4)
    sampler = hs.MultiFidelitySampler("random", min_points=50)
    assert sampler.modelled_budget(view_of(study)) == 1


def test_without_budgets_the_view_passes_through() -> None:
    study = hs.create_study(sampler="random", seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    sampler = hs.MultiFidelitySampler("tpe")
    view = view_of(study)
    assert sampler.modelled_budget(view) is None
    assert sampler.view_at_budget(view) is view


def test_running_trials_stay_pending() -> None:
    study = asha_study(6)
    running = study.ask({"x": hs.Float(0.0, 1.0)})
    sampler = hs.MultiFidelitySampler("random", min_points=3)
    seen = sampler.view_at_budget(view_of(study))
    assert seen.trials[running.number].state == hs.TrialState.RUNNING


def spread_after_startup(sampler: object, seed: int) -> float:
    """Mean |x - 0.3| of trials 30..59 under ASHA on (x - 0.3)^2 + 1/step."""
    study = hs.create_study(sampler=sampler, scheduler=hs.ASHAScheduler(max_budget=9), seed=seed)
    study.optimize(bowl, n_trials=60)
    xs = np.array([t.params["x"] for t in study.trials])
    return float(np.mean(np.abs(xs[30:] - 0.3)))


def test_tpe_base_learns_from_rung_values_under_asha() -> None:
    """Under ASHA few trials finish: plain TPE stays near uniform (mean |x - 0.3| = 0.29 for
    uniform draws; seen 0.30 here), fitted on rung values it concentrates (seen 0.21)."""
    mf = np.mean([spread_after_startup(hs.MultiFidelitySampler("tpe"), s) for s in range(3)])
    plain = np.mean([spread_after_startup("tpe", s) for s in range(3)])
    assert mf < 0.24
    assert mf < plain - 0.05


def test_bad_arguments() -> None:
    with pytest.raises(hs.InvalidArgumentError, match="min_points"):
        hs.MultiFidelitySampler("tpe", min_points=0)
    with pytest.raises(hs.InvalidArgumentError, match="sampler"):
        hs.MultiFidelitySampler("nope")


def test_the_default_sampler_under_a_pausing_scheduler_models_budgets() -> None:
    asha = hs.create_study(scheduler=hs.ASHAScheduler(max_budget=9))
    assert isinstance(asha.sampler, hs.MultiFidelitySampler)
    assert type(asha.sampler.base).__name__ == "TPESampler"
    assert type(hs.create_study().sampler).__name__ == "TPESampler"  # FIFO: plain TPE
    chosen = hs.create_study(sampler="random", scheduler=hs.ASHAScheduler(max_budget=9))
    assert type(chosen.sampler).__name__ == "RandomSampler"  # an explicit choice is kept

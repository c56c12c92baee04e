"""Helpers shared by the scheduler tests: a view of a study, and running a trial on a curve."""

from __future__ import annotations

import math
from collections.abc import Callable

import hyperscout as hs


def view_of(study: hs.Study) -> hs.StudyView:
    """The study as its scheduler sees it outside a trial."""
    return hs.StudyView(study.trials, study.directions, study.seed)


def run_curve(study: hs.Study, trial: hs.Trial, curve: Callable[[int], float]) -> hs.FrozenTrial:
    """Report ``curve(step)`` at every step ``trial.steps()`` yields, tell the last value."""
    value = math.nan
    for step in trial.steps():
        value = curve(step)
        trial.report(step, value)
    return study.tell(trial, value)

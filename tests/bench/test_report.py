"""Report math: normalization, anytime AUC, ranks, the critical difference, the table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hyperscout.bench.report import (
    anytime_auc,
    critical_difference,
    load_results,
    markdown,
    normalize,
    plot_anytime,
    rank_matrix,
    summarize,
    task_bounds,
    task_group,
)
from hyperscout.bench.runner import RunResult


def result(
    problem: str,
    optimizer: str,
    values: tuple[float, ...],
    seed: int = 0,
    optimum: float | None = None,
    error: str | None = None,
) -> RunResult:
    return RunResult(
        problem, optimizer, seed, len(values), values, 0.1, 0.1, 0.0, "x 1", optimum, error
    )


def test_normalize_maps_the_bounds_to_zero_and_one_and_clips() -> None:
    out = normalize(np.array([10.0, 3.0, 2.0, 1.0, 0.5]), lo=1.0, hi=3.0)
    assert out.tolist() == [1.0, 1.0, 0.5, 0.0, 0.0]
    # all runs ended at the same value: that value is 0, anything worse is 1
    assert normalize(np.array([2.0, 1.0]), 1.0, 1.0).tolist() == [1.0, 0.0]
    assert normalize(np.array([math.inf]), 0.0, 1.0).tolist() == [1.0]


def test_task_bounds_use_the_known_optimum_and_the_worst_final_incumbent() -> None:
    curves = [np.array([9.0, 4.0]), np.array([8.0, 2.0]), np.array([7.0, 7.0])]
    assert task_bounds(curves, known_optimum=True) == (0.0, 7.0)
    assert task_bounds(curves, known_optimum=False) == (2.0, 7.0)


def test_anytime_auc_is_the_mean_of_the_normalized_curve() -> None:
    assert anytime_auc(np.array([1.0, 1.0, 0.0, 0.0])) == 0.5
    assert anytime_auc(np.zeros(7)) == 0.0
    assert anytime_auc(np.array([])) == 1.0


def test_ranks_average_ties() -> None:
    ranks = rank_matrix(np.array([[0.1, 0.1, 0.5], [0.3, 0.2, 0.1]]))
    assert ranks.tolist() == [[1.5, 1.5, 3.0], [3.0, 2.0, 1.0]]


def test_critical_difference_matches_demsar_table() -> None:
    # Demšar 2006, Table 5: q_0.05 = 2.569 for k = 4, 2.850 for k = 6
    assert critical_difference(4, 10) == pytest.approx(2.569 * math.sqrt(20 / 60), rel=1e-3)
    assert critical_difference(6, 30) == pytest.approx(2.850 * math.sqrt(42 / 180), rel=1e-3)
    assert math.isnan(critical_difference(1, 10))


def test_task_group_reads_the_problem_name() -> None:
    assert task_group("bbob-f01-d10") == "bbob d=10"
    assert task_group("sklearn-mlp-digits") == "sklearn"


def _three_way(n_tasks: int, seeds: int = 2) -> list[RunResult]:
    runs = []
    for t in range(n_tasks):
        for s in range(seeds):
            for o, final in (("good", 1.0), ("mid", 2.0), ("bad", 4.0)):
                runs.append(result(f"bbob-f{t + 1:02d}-d2", o, (9.0, 5.0, final), s, 0.0))
    return runs


def test_summarize_ranks_a_clear_ordering_and_finds_it_significant() -> None:
    s = summarize(_three_way(8))
    mean_rank = dict(zip(s.optimizers, s.mean_rank, strict=True))
    assert mean_rank == {"bad": 3.0, "good": 1.0, "mid": 2.0}
    final = dict(zip(s.optimizers, s.final.mean(axis=0), strict=True))
    assert final == pytest.approx({"bad": 1.0, "good": 0.25, "mid": 0.5})
    assert s.friedman_p < 0.01
    assert s.n_runs == {"bad": 16, "good": 16, "mid": 16}
    table = markdown(s)
    assert table.index("| good |") < table.index("| mid |") < table.index("| bad |")
    assert "tasks)" not in table  # one group: no per-group table


def test_the_table_breaks_ranks_down_by_group() -> None:
    runs = _three_way(3) + [
        result("sklearn-x", o, (0.5, v), 0) for o, v in (("good", 0.3), ("mid", 0.1), ("bad", 0.2))
    ]
    table = markdown(summarize(runs))
    assert "| bbob d=2 (3 tasks) | sklearn (1 tasks) |" in table
    assert "| mid | 2.00 / 0.500 / 0.10 | 1.00 / 0.000 / 0.10 |" in table


def test_solved_runs_tie_at_zero_regret() -> None:
    runs = [
        result("bbob-f01-d2", "a", (3.0, 1.0 + 1e-10), optimum=1.0),
        result("bbob-f01-d2", "b", (3.0, 1.0 + 1e-9), optimum=1.0),
        result("bbob-f01-d2", "c", (3.0, 2.0), optimum=1.0),
    ]
    s = summarize(runs)
    assert s.ranks.tolist() == [[1.5, 1.5, 3.0]]


def test_tasks_missing_an_optimizer_are_left_out() -> None:
    runs = [*_three_way(3), result("bbob-f09-d2", "good", (1.0, 0.5), optimum=0.0)]
    s = summarize(runs)
    assert s.dropped == ["bbob-f09-d2"] and len(s.tasks) == 3
    assert "Left out" in markdown(s)
    only = summarize(runs, optimizers=["good"])
    assert len(only.tasks) == 4


def test_failed_runs_count_and_keep_their_last_incumbent() -> None:
    runs = [
        result("sklearn-x", "a", (0.5, 0.2, 0.1)),
        RunResult("sklearn-x", "b", 0, 3, (0.5,), 0.0, 0.0, 0.0, "", None, "RuntimeError: x"),
    ]
    s = summarize(runs)
    assert s.n_failed == {"a": 0, "b": 1}
    assert s.final.tolist() == [[0.0, 1.0]]


def test_load_results_keeps_the_last_line_per_key_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    old = result("p", "a", (3.0,))
    new = result("p", "a", (2.0,))
    other = result("p", "b", (1.0, math.inf))
    lines = [json.dumps(r.to_json()) for r in (old, new, other)]
    path.write_text("\n".join(lines) + '\n{"problem": "p", "optim')
    runs = {r.key: r for r in load_results(path)}
    assert runs[("p", "a", 0)].values == (2.0,)
    assert runs[("p", "b", 0)].values == (1.0, math.inf)
    assert load_results(tmp_path / "missing.jsonl") == []


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = plot_anytime(summarize(_three_way(5)), tmp_path / "plot.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

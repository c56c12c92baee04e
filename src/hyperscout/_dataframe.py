"""``study.to_dataframe()``: one row per trial, as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hyperscout._records import FrozenTrial, StudyDirection
from hyperscout.errors import require


def trials_dataframe(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]) -> Any:
    """Columns: number, state, value (or values_0..), params_*, user_attrs_*, start, complete,
    duration_s."""
    pd: Any = require("pandas", "dataframe")
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        if len(directions) == 1:
            row["value"] = t.values[0] if t.values else None
        else:
            for i in range(len(directions)):
                row[f"values_{i}"] = t.values[i] if t.values else None
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update({f"user_attrs_{k}": v for k, v in t.user_attrs.items()})
        row["datetime_start"] = t.datetime_start
        row["datetime_complete"] = t.datetime_complete
        row["duration_s"] = t.duration.total_seconds() if t.duration else None
        rows.append(row)
    return pd.DataFrame(rows)

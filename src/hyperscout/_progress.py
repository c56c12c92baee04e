"""A dependency-free progress bar for ``optimize(show_progress=True)``, drawn on stderr."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from hyperscout._best import best_trial
from hyperscout._records import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hyperscout.study import Study

_WIDTH = 24


def _fmt_time(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Shows trials done (of ``n_trials``, or time used of ``timeout``) and the best value."""

    def __init__(
        self, n_trials: int | None, timeout: float | None, stream: TextIO | None = None
    ) -> None:
        self.n_trials = n_trials
        self.timeout = timeout
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()
        self.done = 0
        self.counts = {TrialState.COMPLETE: 0, TrialState.PRUNED: 0, TrialState.FAILED: 0}
        self.best = ""
        self._last_draw = 0.0
        self._drawn = -1  # trials counted at the last draw
        self._tty = getattr(self.stream, "isatty", lambda: False)()

    def update(self, study: Study, frozen: FrozenTrial) -> None:
        """Count a finished trial and redraw (at most ten times a second unless finished)."""
        self.done += 1
        if frozen.state in self.counts:
            self.counts[frozen.state] += 1
        if len(study.directions) == 1 and frozen.state == TrialState.COMPLETE:
            best = best_trial(study.get_trials((TrialState.COMPLETE,)), study.directions)
            if best is not None and best.values is not None:
                self.best = f"best={best.values[0]:.6g} (trial {best.number})"
        finished = self.n_trials is not None and self.done >= self.n_trials
        now = time.monotonic()
        if finished or now - self._last_draw >= 0.1:
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self.start
        if self.n_trials:
            frac = min(1.0, self.done / self.n_trials)
            head = f"{self.done}/{self.n_trials} trials"
        elif self.timeout:
            frac = min(1.0, elapsed / self.timeout)
            head = f"{self.done} trials"
        else:
            frac, head = 0.0, f"{self.done} trials"
        fill = round(frac * _WIDTH)
        bar = "#" * fill + "-" * (_WIDTH - fill)
        extra = []
        if self.counts[TrialState.PRUNED]:
            extra.append(f"{self.counts[TrialState.PRUNED]} pruned")
        if self.counts[TrialState.FAILED]:
            extra.append(f"{self.counts[TrialState.FAILED]} failed")
        tail = f" ({', '.join(extra)})" if extra else ""
        line = f"[{bar}] {head}{tail} {_fmt_time(elapsed)} {self.best}".rstrip()
        if self._tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_draw = now
        self._drawn = self.done

    def close(self) -> None:
        """Final redraw (unless the last draw is current) and newline."""
        if self._drawn != self.done:
            self._draw(time.monotonic())
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

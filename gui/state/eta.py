"""Time left, steadied: what Home, Runs and a run's own page say about when a run will end.

The engine writes a fresh estimate with every batch of steps, and it swings: an evaluation, a checkpoint or
a slow batch makes it leap up, a quick stretch brings it back down, and read raw it jumped between 4 and 31
minutes. Here each new estimate moves the shown time only by the share of three minutes that passed since the
last one (an exponential average over time, so it steadies the same whether estimates come twice a second
or once a minute), and between estimates the shown time counts down as the clock does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

#: Seconds over which the shown time follows a lasting change in the estimate (about two thirds of the
#: way after this long): long enough to ride out an evaluation, short enough to follow a real slow-down.
SETTLE_SECONDS = 180.0


class SteadyTimeLeft:
    """Per run, the time left to show, from the engine's successive estimates."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # run id: (time shown, when it was worked out, the estimate last taken, when that one was taken)
        self._runs: dict[int, tuple[float, float, float, float]] = {}

    def seconds(self, run: dict[str, Any]) -> float | None:
        """The time left to show for `run` (a row of the runs table); None when the engine has no estimate."""
        estimate = run.get("eta_seconds")
        if estimate is None or not math.isfinite(estimate):
            self._runs.pop(run["id"], None)
            return None
        estimate, now = float(estimate), self.clock()
        if run["id"] not in self._runs:
            self._runs[run["id"]] = (estimate, now, estimate, now)
            return estimate
        shown, shown_at, last, taken_at = self._runs[run["id"]]
        counted = max(0.0, shown - (now - shown_at))
        if estimate != last:  # a new estimate pulls by the share of SETTLE_SECONDS since the one before
            counted += (1.0 - math.exp(-(now - taken_at) / SETTLE_SECONDS)) * (estimate - counted)
            last, taken_at = estimate, now
        self._runs[run["id"]] = (counted, now, last, taken_at)
        return counted


#: The one the pages share, so that Home, Runs and a run's page say the same.
TIME_LEFT = SteadyTimeLeft()

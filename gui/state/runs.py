"""View models of the runs in the database, knowing nothing of Qt.

`Poller` notices that the database changed (a cheap `PRAGMA data_version`), `RunsModel` holds the list of
runs, and `RunWatcher` follows one run: its row, its metric curves (reading only rows newer than the last
one it has, by rowid) and its events.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

import numpy as np

from gui.engine_client import FINISHED, LIVE, EngineClient
from gui.state.events import Callbacks
from gui.state.format import STATUS_GROUPS, KIND_WORDS, shown_status, status_word
from gui.state.series import Series

BYTE_METRICS = frozenset(
    {"gpu_allocated", "gpu_reserved", "gpu_peak", "gpu_total", "gpu_used", "process_ram", "system_ram_used", "system_ram_total"}
)
GB = float(2**30)
RANK_PEAK = re.compile(r"gpu_peak_rank(\d+)$")  # the peak memory of another GPU of a run on several (rank 1, 2...)


def in_bytes(name: str) -> bool:
    return name in BYTE_METRICS or RANK_PEAK.match(name) is not None
ACTIVE = {str(s) for s in LIVE} | {"queued"}


class Poller:
    """Call `tick()` a few times a second; `changed` fires when a job process wrote to the database."""

    def __init__(self, client: EngineClient, *, reconcile_every: float = 2.0) -> None:
        self.client = client
        self.changed = Callbacks()
        self.reconcile_every = reconcile_every
        self._version: int | None = None
        self._last_reconcile = 0.0
        self.watch_for_jobs = lambda: True  # set by the owner: are there live or queued runs to check on?

    def tick(self, *, force: bool = False) -> bool:
        version = self.client.data_version()
        changed = force or version != self._version
        self._version = version
        now = time.monotonic()
        if now - self._last_reconcile >= self.reconcile_every and self.watch_for_jobs():
            self._last_reconcile = now
            # Our own writes do not move data_version, so a run found dead is a change we announce.
            changed = bool(self.client.reconcile()) or changed
        if changed:
            self.changed.emit()
        return changed


class RunsModel:
    """Every run, newest first. `changed` fires when any row differs; `finished` with each run that just ended."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.runs: list[dict[str, Any]] = []
        self.changed = Callbacks()
        self.finished = Callbacks()
        self._loaded = False

    def refresh(self) -> None:
        runs = self.client.list_runs()
        if self._loaded and runs == self.runs:
            return
        before = {run["id"]: run["status"] for run in self.runs}
        self.runs = runs
        first = not self._loaded
        self._loaded = True
        self.changed.emit()
        if first:
            return
        for run in runs:
            old = before.get(run["id"])
            if old is not None and old != run["status"] and run["status"] in {str(s) for s in FINISHED}:
                self.finished.emit(run)

    def has_active(self) -> bool:
        return any(run["status"] in ACTIVE for run in self.runs)

    def run(self, run_id: int) -> dict[str, Any] | None:
        return next((run for run in self.runs if run["id"] == run_id), None)


def matches(run: dict[str, Any], group: str, text: str) -> bool:
    """Does a run pass the runs page's filter (a status group and words to find)?"""
    statuses = STATUS_GROUPS.get(group) or set()
    if statuses and shown_status(run) not in statuses:
        return False
    text = text.strip().lower()
    if not text:
        return True
    config = run.get("config") or {}
    haystack = " ".join(
        str(part)
        for part in (
            run.get("name"),
            run.get("id"),
            status_word(shown_status(run)),
            KIND_WORDS.get(run.get("kind") or "", ""),
            config.get("model"),
            config.get("data"),
            config.get("method"),
        )
    ).lower()
    return all(word in haystack for word in text.split())


class RunWatcher:
    """One run, followed as it trains: `run` (its row), `series` (a Series per metric) and `events`.

    `run_changed`, `metrics_changed(names)` and `events_added(list)` announce what a refresh brought.
    Memory metrics are kept in GB (2**30 bytes), the unit the charts show.
    """

    def __init__(self, client: EngineClient, run_id: int) -> None:
        self.client = client
        self.run_id = run_id
        self.run: dict[str, Any] = {}
        self.series: dict[str, Series] = {}
        self.events: list[dict[str, Any]] = []
        self.run_changed = Callbacks()
        self.metrics_changed = Callbacks()
        self.events_added = Callbacks()
        self._last_rowid = 0
        self._last_event_id = 0

    def series_for(self, name: str) -> Series:
        if name not in self.series:
            self.series[name] = Series(name)
        return self.series[name]

    def latest(self, name: str) -> float | None:
        series = self.series.get(name)
        point = series.last() if series else None
        return point[1] if point else None

    def refresh(self) -> None:
        run = self.client.get_run(self.run_id)
        if run != self.run:
            resumed = self.run and self.run.get("status") not in {str(s) for s in LIVE} and run["status"] in (
                "queued",
                "preparing",
            )
            self.run = run
            if resumed:
                self._reload_metrics()  # the job drops metrics after its checkpoint; start again from the rows
            self.run_changed.emit()
        self._read_metrics()
        events = self.client.events_after(self.run_id, self._last_event_id)
        if events:
            self._last_event_id = events[-1]["id"]
            self.events.extend(events)
            self.events_added.emit(events)

    def _reload_metrics(self) -> None:
        self._last_rowid = 0
        for series in self.series.values():
            series.clear()

    def _read_metrics(self) -> None:
        rows = self.client.metrics_after(self.run_id, self._last_rowid)
        if not rows:
            return
        self._last_rowid = rows[-1].rowid
        grouped: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for row in rows:
            xs, ys = grouped[row.name]
            if xs and row.step <= xs[-1]:  # a rewritten step within this batch: keep the newest
                cut = next(i for i, x in enumerate(xs) if x >= row.step)
                del xs[cut:], ys[cut:]
            xs.append(row.step)
            ys.append(row.value / GB if in_bytes(row.name) else row.value)
        for name, (xs, ys) in grouped.items():
            self.series_for(name).append(np.asarray(xs), np.asarray(ys))
        self.metrics_changed.emit(set(grouped))

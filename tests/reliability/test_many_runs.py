"""500 runs in the history, each with its metrics and events: the Runs page opens and shows them all in
under a second, and keeping it up to date while a run trains stays cheap."""

from __future__ import annotations

import json
import time

import pytest

from engine import store
from gui.engine_client import EngineClient
from gui.sample import sample_config

RUNS, STEPS = 500, 100
STATUSES = ["completed", "failed", "cancelled", "paused", "interrupted"]


@pytest.fixture
def history(tunewright_home):
    """500 runs as job processes leave them: full configs, a metric row per name per step, events."""
    db = store.open_db(store.database_path(tunewright_home))
    config = json.dumps(sample_config("classify"), sort_keys=True)
    now = time.time()
    with db.conn:
        db.conn.executemany(
            "INSERT INTO runs (id, name, kind, config, status, progress, step, total_steps, best_metric_name, best_metric,"
            " created_at, started_at, updated_at, finished_at, run_dir) VALUES (?, ?, 'classify', ?, ?, 1.0, ?, ?, 'eval_f1', ?, ?, ?, ?, ?, ?)",
            [
                (i, f"Run number {i}", config, STATUSES[i % len(STATUSES)], STEPS, STEPS, 0.5 + i / 2000,
                 now - 86400 + i, now - 86400 + i, now, now, str(tunewright_home / "runs" / f"{i:05d}"))
                for i in range(1, RUNS + 1)
            ],
        )
        db.conn.executemany(
            "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)",
            [
                (i, step, name, 1.0 / step, now)
                for i in range(1, RUNS + 1)
                for step in range(1, STEPS + 1)
                for name in ("train_loss", "learning_rate", "grad_norm", "epoch")
            ],
        )
        db.conn.executemany(
            "INSERT INTO events (run_id, time, level, code, message) VALUES (?, ?, 'info', ?, ?)",
            [(i, now, code, f"{code} of run {i}") for i in range(1, RUNS + 1) for code in ("run.started", "eval.best", "run.completed")],
        )
    return tunewright_home


def test_the_runs_page_shows_500_runs_in_under_a_second(qtbot, history):
    from gui.main_window import MainWindow

    started = time.perf_counter()
    window = MainWindow(EngineClient(history), probe=False)
    qtbot.addWidget(window)
    window.show()
    window.show_page("runs")
    page = window.page("runs")
    page.table.viewport().repaint()  # drawn, not only built
    rows = page.visible_rows()
    elapsed = time.perf_counter() - started
    print(f"\nRuns page with {RUNS} runs: window open and table drawn in {elapsed * 1000:.0f} ms")
    assert len(rows) == RUNS and rows[0]["Name"] == f"Run number {RUNS}"  # newest first
    assert elapsed < 1.0

    # The window looks again whenever a job writes (several times a second): that look must stay cheap.
    started = time.perf_counter()
    for _ in range(10):
        window.runs.refresh()
    per_refresh = (time.perf_counter() - started) / 10
    print(f"refreshing the list of {RUNS} runs: {per_refresh * 1000:.1f} ms")
    assert per_refresh < 0.1

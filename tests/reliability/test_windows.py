"""Windows come and go; training does not care. A window killed mid-run (SIGKILL, no chance to say
goodbye) leaves its run training to the end; windows opened later attach to it, and two open at once agree
with each other and with the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from engine import store
from gui.engine_client import EngineClient
from gui.main_window import KEEP, MainWindow
from gui.state.format import STATUS_WORDS
from tests.engine.helpers import ROOT

pytestmark = [pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL"), pytest.mark.timeout(300)]


def open_window(qtbot, home) -> MainWindow:
    window = MainWindow(EngineClient(home), probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: KEEP
    window.show()
    return window


def table_row(window, run_id) -> dict[str, str]:
    (row,) = [row for row in window.page("runs").visible_rows() if row["id"] == run_id]
    return row


def test_a_killed_window_leaves_its_run_training_and_new_windows_attach_and_agree(qtbot, tmp_path, tunewright_home, tiny_classify_config, db, stop_jobs):
    config = tmp_path / "job.json"
    config.write_text(json.dumps({**tiny_classify_config, "max_steps": 200, "batch_size": 4, "eval_every": 40, "name": "Outlives its window"}))
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "reliability" / "window_process.py"), str(tunewright_home), str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    for line in first.stdout:
        words = line.split()
        assert words[0] == "curve", line
        run_id, points = int(words[1]), int(words[2])
        if points >= 3:
            break
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    run = store.get_run(db, run_id)
    assert run["status"] == "running" and psutil.pid_exists(run["pid"])  # the window's death did not stop it

    # Two windows open at once while the run trains: each attaches, and they agree.
    windows = [open_window(qtbot, tunewright_home), open_window(qtbot, tunewright_home)]
    for window in windows:
        window.show_page("runs")
        window.open_run(run_id)
    seen_training = 0
    while store.get_run(db, run_id)["status"] == "running" and seen_training < 5:
        before = store.get_run(db, run_id)
        for window in windows:
            window.poll(force=True)
        after = store.get_run(db, run_id)
        if before["status"] != after["status"]:
            continue
        rows = [table_row(window, run_id) for window in windows]
        assert rows[0]["Status"] == rows[1]["Status"] == STATUS_WORDS[after["status"]]
        assert all(w.page("run").pill.text() == STATUS_WORDS[after["status"]] for w in windows)
        shown = [int(row["Progress"].rstrip("%")) for row in rows]
        assert all(round(before["progress"] * 100) <= p <= round(after["progress"] * 100) for p in shown)
        seen_training += 1
        qtbot.wait(200)
    assert seen_training >= 1

    qtbot.waitUntil(lambda: store.get_run(db, run_id)["status"] == "completed", timeout=240_000)
    qtbot.wait(500)  # a poll or two
    total = store.get_run(db, run_id)["total_steps"]
    for window in windows:
        window.poll(force=True)
        assert table_row(window, run_id)["Status"] == "Finished" and table_row(window, run_id)["Progress"] == "100%"
        view = window.page("run")
        assert view.pill.text() == "Finished"
        assert list(view.charts["loss"].curves[0].series.x) == list(range(1, total + 1))  # the whole curve

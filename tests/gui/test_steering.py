"""Start, pause, resume and cancel from the window, against job processes (a torch-free stand-in for the
engine's, speaking the same protocol); the table and the database agree at every step."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine import jobs, store
from gui.engine_client import EngineClient
from gui.main_window import KEEP, MainWindow

FAKE_JOB = Path(__file__).with_name("fake_job.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_engine(monkeypatch):
    monkeypatch.setattr(jobs, "engine_command", lambda run_id: [sys.executable, str(FAKE_JOB), str(run_id)])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


@pytest.fixture
def live_window(qtbot, home, fake_engine):
    window = MainWindow(EngineClient(home), probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: KEEP
    window.show()
    yield window
    for run in store.list_runs(window.client.db):  # leave no job process behind
        if run["status"] in ("running", "preparing"):
            jobs.cancel(window.client.db, run["id"])


def table_status(window, run_id):
    rows = [row for row in window.page("runs").visible_rows() if row["id"] == run_id]
    return rows[0]["Status"] if rows else None


def db_status(window, run_id):
    return store.get_run(window.client.db, run_id)["status"]


def test_start_pause_resume_cancel(qtbot, live_window, tmp_path):
    window = live_window
    data = tmp_path / "examples.jsonl"
    data.write_text('{"text": "a room for two", "label": "booking"}\n')
    start_from_wizard(window, data, name="Steered")
    qtbot.waitUntil(lambda: window.current == "run", timeout=2000)
    view = window.page("run")
    run_id = view.run_id
    loss = view.charts["loss"]
    qtbot.waitUntil(lambda: loss.point_count() > 20, timeout=15000)
    assert db_status(window, run_id) == "running" and view.pill.text() == "Training"

    view.pause_button.click()
    assert view.pill.text() in ("Pausing…", "Paused")  # at once: the request shows before the job acts
    qtbot.waitUntil(lambda: view.pill.text() == "Paused", timeout=5000)
    assert db_status(window, run_id) == "paused"
    assert view.action_note.isHidden()  # "Pausing: ..." was true while it paused, not under Paused
    qtbot.waitUntil(lambda: table_status(window, run_id) == "Paused", timeout=1000)
    paused_at = store.get_run(window.client.db, run_id)["checkpoint_step"]
    assert paused_at and int(loss.curves[0].series.x[-1]) == paused_at

    view.resume_button.click()
    qtbot.waitUntil(lambda: view.pill.text() == "Training", timeout=5000)
    qtbot.waitUntil(lambda: loss.curves[0].series.x[-1] > paused_at + 10, timeout=10000)
    xs = list(loss.curves[0].series.x)
    assert xs == sorted(set(xs))  # one point per step: the resumed curve carries straight on
    assert table_status(window, run_id) == "Training"

    asked = []
    view.ask_to_cancel = lambda: asked.append("no") and False  # asked first: No leaves it training
    view.cancel_button.click()
    assert asked == ["no"] and db_status(window, run_id) == "running"
    view.ask_to_cancel = lambda: True
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.pill.text() == "Cancelled", timeout=5000)
    assert db_status(window, run_id) == "cancelled"
    qtbot.waitUntil(lambda: table_status(window, run_id) == "Cancelled", timeout=1000)
    assert "Cancelled at step" in view.events_text()


def test_a_run_whose_process_dies_is_shown_interrupted(qtbot, live_window, tmp_path):
    import os
    import signal

    window = live_window
    data = tmp_path / "examples.jsonl"
    data.write_text("{}\n")
    run_id = start_from_wizard(window, data)
    view = window.page("run")
    qtbot.waitUntil(lambda: view.pill.text() == "Training", timeout=10000)
    os.kill(store.get_run(window.client.db, run_id)["pid"], signal.SIGKILL)
    qtbot.waitUntil(lambda: view.pill.text() == "Interrupted", timeout=5000)
    assert view.resume_button.isVisible() and view.resume_button.text() == "Resume"


def start_from_wizard(window, data, name: str = "") -> int:
    """The wizard's choices made directly (its steps are clicked through in test_wizard.py), then Start."""
    window.show_page("new")
    page = window.page("new")
    page.wizard.choose_task("classify")
    page.wizard.set_data({"data": str(data)})
    page.wizard.set_model("demo:minilm")
    page.name.setText(name)
    return page.start()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton

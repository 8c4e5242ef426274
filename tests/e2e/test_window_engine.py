"""The window drives real engine processes: start, watch the loss curve grow, pause, resume, cancel; close
the window mid-run and find the run still training, its curve complete, in a new one.

Each step checks that the window (run view and runs table) and the database say the same.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine import jobs, store
from gui.engine_client import EngineClient
from gui.main_window import KEEP, MainWindow
from gui.state.format import STATUS_WORDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]



def open_window(qtbot, home) -> MainWindow:
    window = MainWindow(EngineClient(home), probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: KEEP
    window.show()
    return window


@pytest.fixture
def cleanup(home):
    yield
    db = store.open_db(store.database_path(home))
    for run in store.list_runs(db):
        if run["status"] in ("running", "preparing", "queued"):
            jobs.cancel(db, run["id"])


def agree(window, run_id) -> None:
    """The run view, the runs table and the database show the same status."""
    status = store.get_run(window.client.db, run_id)["status"]
    rows = [row for row in window.page("runs").visible_rows() if row["id"] == run_id]
    assert rows and rows[0]["Status"] == STATUS_WORDS[status]
    assert window.page("run").pill.text() == STATUS_WORDS[status]


def start_from_form(qtbot, window, config) -> int:
    window.show_page("new")
    form = window.page("new")
    form.load_config(config)  # opens at the Plan step, which asks the engine for its plan
    qtbot.waitUntil(lambda: form.next_button.isEnabled(), timeout=120_000)
    qtbot.mouseClick(form.next_button, Qt.MouseButton.LeftButton)
    assert form.wizard.step == "train"
    qtbot.mouseClick(form.next_button, Qt.MouseButton.LeftButton)  # Start training
    assert not form.start_error.isVisible(), form.start_error.text()
    qtbot.waitUntil(lambda: window.current == "run", timeout=3000)
    return window.page("run").run_id


def test_start_watch_pause_resume_cancel(qtbot, home, engine_config, cleanup):
    window = open_window(qtbot, home)
    run_id = start_from_form(qtbot, window, engine_config)
    view = window.page("run")
    loss = view.charts["loss"].curves[0].series
    qtbot.waitUntil(lambda: len(loss) >= 3, timeout=300_000)
    qtbot.wait(300)
    agree(window, run_id)

    view.pause_button.click()
    qtbot.waitUntil(lambda: view.pill.text() in ("Pausing…", "Paused"), timeout=1000)
    qtbot.waitUntil(lambda: view.pill.text() == "Paused", timeout=120_000)
    qtbot.wait(300)
    agree(window, run_id)
    paused_step = store.get_run(window.client.db, run_id)["step"]

    view.resume_button.click()
    qtbot.waitUntil(lambda: view.pill.text() in ("Getting ready", "Training"), timeout=1000)
    qtbot.waitUntil(lambda: view.pill.text() == "Training" and len(loss) and loss.x[-1] > paused_step, timeout=300_000)
    qtbot.wait(300)
    agree(window, run_id)
    steps = list(loss.x)
    assert steps == sorted(set(steps))
    assert steps == [s for s, _ in store.metric_series(window.client.db, run_id, "train_loss")][: len(steps)]

    view.ask_to_cancel = lambda: True  # the question, answered Yes
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.pill.text() in ("Cancelling…", "Cancelled"), timeout=1000)
    qtbot.waitUntil(lambda: view.pill.text() == "Cancelled", timeout=120_000)
    qtbot.wait(300)
    agree(window, run_id)


def test_closing_the_window_mid_run_keeps_it_training(qtbot, home, engine_config, cleanup):
    first = open_window(qtbot, home)
    run_id = start_from_form(qtbot, first, engine_config)
    loss = first.page("run").charts["loss"].curves[0].series
    qtbot.waitUntil(lambda: len(loss) >= 2, timeout=300_000)
    seen = len(loss)
    assert first.close()

    db = store.open_db(store.database_path(home))
    qtbot.waitUntil(lambda: store.get_run(db, run_id)["step"] > seen + 2, timeout=300_000)

    second = open_window(qtbot, home)
    second.open_run(run_id)
    view = second.page("run")
    assert view.pill.text() == "Training"
    shown = list(view.charts["loss"].curves[0].series.x)
    written = [step for step, _ in store.metric_series(db, run_id, "train_loss")]
    assert len(shown) > seen and shown == written[: len(shown)]

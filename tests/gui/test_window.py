"""The main window against a database that job processes write to (here: another connection)."""

from __future__ import annotations

import time

import pytest

from engine import store
from gui.main_window import KEEP, MainWindow
from gui.sample import SampleTrainer, add_run


def test_runs_table_follows_the_database_within_a_second(qtbot, window, job_db, home):
    window.show_page("runs")
    page = window.page("runs")
    before = len(page.visible_rows())
    run_id = add_run(job_db, home, "Written by a job")
    store.update_run(job_db, run_id, status="running", progress=0.25, eta_seconds=190)
    started = time.monotonic()
    qtbot.waitUntil(lambda: len(page.visible_rows()) == before + 1, timeout=1000)
    row = next(r for r in page.visible_rows() if r["id"] == run_id)
    assert (row["Status"], row["Progress"], row["Time left"]) == ("Training", "25%", "about 3 min")
    store.update_run(job_db, run_id, status="completed", progress=1.0)
    qtbot.waitUntil(lambda: next(r for r in page.visible_rows() if r["id"] == run_id)["Status"] == "Finished", timeout=1000)
    assert time.monotonic() - started < 2.0


def test_a_metric_row_is_drawn_within_half_a_second(qtbot, window, job_db, sample_client):
    run_id = sample_client.sample_ids["running"]
    window.open_run(run_id)
    chart = window.page("run").charts["loss"]
    series = chart.curves[0].series
    step = int(series.x[-1]) + 1
    lags = []
    for i in range(5):
        store.add_metrics(job_db, run_id, step + i, {"train_loss": 0.1})
        written = time.monotonic()
        qtbot.waitUntil(lambda: chart.curves[0].drawn_version == series.version and series.x[-1] == step + i, timeout=2000)
        lags.append(time.monotonic() - written)
    print(f"metric row to chart: worst {max(lags) * 1000:.0f} ms")
    assert max(lags) < 0.5


def test_closing_with_a_live_run_asks_and_keeps_it_training(qtbot, sample_client):
    window = MainWindow(sample_client, probe=False)
    qtbot.addWidget(window)
    asked = []

    def answer(box):
        asked.append(box)
        return box.defaultButton().objectName()

    window.ask_on_close = answer
    window.show()
    assert window.close()
    assert len(asked) == 1
    box = asked[0]
    assert box.defaultButton().text() == "Keep training in the background"
    assert box.defaultButton().objectName() == KEEP
    assert store.get_run(sample_client.db, sample_client.sample_ids["running"])["status"] == "running"


def test_reopening_shows_the_live_run_with_its_whole_curve(qtbot, sample_client, job_db, home):
    run_id = sample_client.sample_ids["running"]
    first = MainWindow(sample_client, probe=False)
    qtbot.addWidget(first)
    first.ask_on_close = lambda box: KEEP
    first.show()
    first.open_run(run_id)
    first.close()

    trainer = SampleTrainer(job_db, run_id, total_steps=3000, seed=9)
    trainer.step = 300
    trainer.train_steps(50)  # training went on while no window was open

    from gui.engine_client import EngineClient

    second = MainWindow(EngineClient(home, live_jobs=False), probe=False)
    qtbot.addWidget(second)
    second.ask_on_close = lambda box: KEEP
    second.show()
    second.open_run(run_id)
    view = second.page("run")
    loss = view.charts["loss"].curves[0].series
    assert list(loss.x) == list(range(1, 351))
    assert view.pill.text() == "Training"
    assert "Step 350 of 3,000" in view.summary.text()


def test_a_run_that_finishes_while_the_window_is_behind_raises_a_notification(qtbot, window, job_db, sample_client):
    run_id = sample_client.sample_ids["running"]
    window.showMinimized()
    store.update_run(job_db, run_id, status="completed", progress=1.0)
    qtbot.waitUntil(lambda: bool(window.notifications), timeout=2000)
    title, text = window.notifications[0]
    assert title == "Demo: hotel requests: finished"


def test_sidebar_opens_the_results_and_compare_pages(window):
    window.nav_buttons["compare"].click()
    assert window.current == "compare"
    window.nav_buttons["results"].click()
    assert window.current == "results"
    window.nav_buttons["runs"].click()
    assert window.current == "runs"


def test_new_run_starts_with_the_task_and_goes_no_further_until_it_is_chosen(window):
    window.nav_buttons["new"].click()
    page = window.page("new")
    assert window.current == "new" and page.wizard.step == "task"
    assert not page.next_button.isEnabled() and not page.step_buttons["data"].isEnabled()
    page.task_buttons["chat"].clicked.emit()
    page.next_button.click()
    assert page.wizard.step == "data" and page.data_page.fixed_task == "chat"


@pytest.mark.parametrize("name", ["home", "new", "runs", "run"])
def test_every_page_opens_in_the_window(window, name):
    if name == "run":
        window.open_run(window.runs.runs[0]["id"])
    else:
        window.show_page(name)
    assert window.stack.currentWidget() is window.page(name)

"""Every page, built on its own with sample data, draws something; `tunewright --screenshot` writes a PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gui.app import is_blank, save_screenshot
from gui.engine_client import Hardware
from gui.sample import SAMPLE_HARDWARE
from gui.state.runs import RunsModel

ROOT = Path(__file__).resolve().parents[2]


def build(name, client):
    runs = RunsModel(client)
    runs.refresh()
    if name == "home":
        from gui.pages.home import HomePage

        page = HomePage(runs)
        page.show_hardware(Hardware.from_probe(SAMPLE_HARDWARE))
    elif name == "new":
        from gui.pages.wizard import WizardPage

        page = WizardPage(client)
    elif name == "runs":
        from gui.pages.runs import RunsPage

        page = RunsPage(runs)
    else:
        from gui.pages.run_view import RunView

        page = RunView(client)
        page.show_run(client.sample_ids["running"])
    page.resize(1100, 760)
    return page


@pytest.mark.parametrize("name", ["home", "new", "runs", "run"])
def test_page_alone_draws(qtbot, sample_client, tmp_path, name):
    page = build(name, sample_client)
    qtbot.addWidget(page)
    assert save_screenshot(page, tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_home_says_when_there_is_no_gpu(qtbot, sample_client):
    page = build("home", sample_client)
    qtbot.addWidget(page)
    page.show_hardware(Hardware.from_probe({"devices": [{"type": "cpu", "name": "x86_64"}], "ram_total": 2**34}))
    assert page.gpu_label.text() == "Training will use this computer's processor (CPU)"


def test_run_view_shows_curves_events_and_config(qtbot, sample_client):
    page = build("run", sample_client)
    qtbot.addWidget(page)
    page.show()
    assert page.charts["loss"].point_count() == 300
    assert page.charts["task"].point_count() == 6
    assert "Training started on" in page.events_text()
    assert page.title.text() == "Demo: hotel requests"
    assert page.pill.text() == "Training"
    assert page.pause_button.isVisible() and not page.resume_button.isVisible()
    settings = {page.config_table.item(r, 0).text(): page.config_table.item(r, 1).text() for r in range(page.config_table.rowCount())}
    assert settings["Model"] == "demo:minilm" and settings["Learning rate"] == "automatic"
    assert settings["Examples at a time"] == "automatic"  # micro_batch_size, in plain words


def test_failed_run_shows_its_error(qtbot, sample_client):
    from gui.pages.run_view import RunView

    page = RunView(sample_client)
    qtbot.addWidget(page)
    page.show_run(sample_client.sample_ids["failed"])
    page.show()
    assert page.error_banner.isVisible()
    assert "ran out of memory" in page.error_text.text()
    assert page.resume_button.text() == "Try again"


def test_runs_page_filters_and_sorts(qtbot, sample_client):
    page = build("runs", sample_client)
    qtbot.addWidget(page)
    assert len(page.visible_rows()) == 5
    page.group.setCurrentText("Finished")
    assert [row["Name"] for row in page.visible_rows()] == ["Support answers, LoRA"]
    page.group.setCurrentText("All runs")
    page.search.setText("contract")
    assert [row["Status"] for row in page.visible_rows()] == ["Paused"]
    page.search.clear()
    page.table.sortByColumn(3, page.table.horizontalHeader().sortIndicatorOrder().AscendingOrder)  # progress
    assert [row["Progress"] for row in page.visible_rows()][-1] == "100%"


@pytest.mark.parametrize("page", ["home", "run"])
def test_screenshot_command(tmp_path, page):
    out = tmp_path / f"{page}.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TUNEWRIGHT_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "gui.app", "--sample", "--screenshot", str(out), "--page", page],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() >= 1280 and not is_blank(image)


def test_a_run_on_a_computer_without_a_gpu_shows_no_gpu_memory_and_honest_words(qtbot, client, home):
    """Before its first step, on a machine the probe found without a GPU: no empty GPU-memory chart; a run
    that failed before its first step says so, never "Getting ready…"."""
    import json

    from engine import store
    from gui.pages.run_view import RunView
    from gui.sample import add_run

    (home / "hardware.json").write_text(json.dumps({"devices": [{"type": "cpu", "name": "x86_64"}]}), encoding="utf-8")
    run_id = add_run(client.db, home, "Fresh run")
    store.update_run(client.db, run_id, status="preparing")
    view = RunView(client)
    qtbot.addWidget(view)
    view.show_run(run_id)
    view.show()
    assert view.charts["gpu"].isHidden() and view.charts["ram"].isVisible()
    assert view.summary.text() == "Getting ready…"
    store.update_run(client.db, run_id, status="failed", error="The data file is gone.")
    view.refresh()
    assert view.pill.text() == "Failed" and view.summary.text() == "Stopped before its first step."


def test_a_run_on_two_gpus_shows_each_gpus_peak_memory(qtbot, client, home, tmp_path):
    """Rank 0 gathers every GPU's peak at each evaluation (`gpu_peak_rank1`...); the memory chart draws one
    curve per GPU beside the first GPU's own, once the first of them arrives."""
    from engine import store
    from gui.pages.run_view import RunView
    from gui.sample import add_run

    run_id = add_run(client.db, home, "Two GPUs")
    store.update_run(client.db, run_id, status="running")
    gib = 2.0**30
    for step in range(1, 21):
        store.add_metrics(client.db, run_id, step, {"train_loss": 2.0 / step, "gpu_allocated": 3 * gib,
                                                    "gpu_reserved": 4 * gib, "gpu_peak": 5 * gib, "gpu_total": 80 * gib})
    view = RunView(client)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show_run(run_id)
    view.show()
    memory = view.charts["gpu"]
    assert [curve.item.name() for curve in memory.curves] == ["reserved", "in use", "total"]  # one GPU's so far

    for step in (10, 20):
        store.add_metrics(client.db, run_id, step, {"eval_loss": 1.0, "gpu_peak_rank1": 4.5 * gib})
    view.refresh()
    drawn = {curve.item.name(): curve for curve in memory.curves}
    assert list(drawn) == ["reserved", "in use", "total", "peak, GPU 1", "peak, GPU 2"]
    assert "peak,&nbsp;GPU&nbsp;2" in memory.legend.text()
    assert list(drawn["peak, GPU 2"].series.y) == [4.5, 4.5]  # in GB, as the first GPU's curves
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        qtbot.wait(100)  # the legend's second line is laid out
        view.grab().save(os.path.join(folder, "run-two-gpus.png"))

"""The Export page on sample data: what it offers for a run, and how it shows exports and their verdicts."""

from __future__ import annotations

from engine import store
from gui.app import save_screenshot
from gui.engine_client import EngineClient
from gui.pages.export import ExportPage, add_sample_exports
from gui.state.runs import RunsModel


def page_for(client, qtbot):
    runs = RunsModel(client)
    runs.refresh()
    page = ExportPage(client, runs)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page, runs


def texts(page) -> list[str]:
    from PySide6.QtWidgets import QLabel

    return [w.text() for w in page.list_widget.findChildren(QLabel)]


def test_the_page_offers_only_formats_that_fit_the_run_and_shows_each_verdict(sample_client, qtbot, tmp_path):
    add_sample_exports(sample_client)
    page, _ = page_for(sample_client, qtbot)
    assert page.run_box.count() == 1 and "Support answers, LoRA" in page.run_box.currentText()
    offered = [page.format_box.itemData(i) for i in range(page.format_box.count())]
    assert offered == ["merged", "adapter", "gguf-f16", "gguf-q8_0"]  # a chat LoRA run: no ONNX
    shown = texts(page)
    assert "verified" in shown and "check failed" in shown and "running" in shown
    assert any(t.startswith("The check found differences: The exported tokenizer splits") for t in shown)
    assert save_screenshot(page, tmp_path / "export.png")  # False when the drawn page is blank

    page.export_button.click()  # sample data has no model behind it: one sentence, nothing started
    assert page.message.text() == "This is sample data: no model is behind it to export."


def test_export_starts_a_child_run_that_the_page_lists(home, qtbot, monkeypatch):
    from engine import jobs
    from gui.sample import add_run

    client = EngineClient(home)
    run_id = add_run(client.db, home, "Intents, full", kind="classify", method="full")
    store.update_run(client.db, run_id, status="completed")
    page, runs = page_for(client, qtbot)
    assert [page.format_box.itemData(i) for i in range(page.format_box.count())] == ["merged", "onnx"]
    monkeypatch.setattr(jobs, "start_next", lambda db, home: None)  # no job process in this test
    page.format_box.setCurrentIndex(1)
    page.export_button.click()
    child = next(r for r in store.list_runs(client.db) if r["kind"] == "export")
    assert child["parent_id"] == run_id and child["config"]["format"] == "onnx" and child["status"] == "queued"
    assert "ONNX, for ONNX Runtime" in texts(page) and "queued" in texts(page)

"""The distillation report page: teacher against student from the report a run stored."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from gui.app import save_screenshot
from gui.engine_client import EngineClient
from gui.pages.distill_report import DistillReportPage, add_sample_report


def test_the_report_shows_teacher_student_and_plain_side_by_side(qtbot, home, tmp_path):
    client = EngineClient(home, live_jobs=False)
    page = DistillReportPage(client)
    qtbot.addWidget(page)
    page.show_run(add_sample_report(client))
    table = page.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["", "Teacher", "Student", "Student without the teacher"]
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in (1, 2, 3)] for r in range(table.rowCount())}
    assert rows["F1 on held-out examples (higher is better)"] == ["64.2%", "62.3%", "51.5%"]
    assert rows["Time per example"] == ["6.2 ms", "3.3 ms", "3.3 ms"]
    assert "The student keeps 97% of the teacher's F1" in page.sentences.text()
    # every speed-up is said beside the figures it is worked out from, and agrees with them
    tiles = " ".join(label.text() for label in page.findChildren(QLabel))
    teacher_rate, student_rate = (float(text.replace(",", "")) for text in rows["Examples per second, in batches"][:2])
    assert f"{6.2 / 3.3:.1f}x" in tiles and "one example at a time" in tiles
    assert f"{student_rate / teacher_rate:.1f}x in batches" in tiles
    assert save_screenshot(page, tmp_path / "report.png")


def test_a_run_without_a_report_says_when_it_will_have_one(qtbot, home):
    from engine import store
    from engine.config import from_dict

    client = EngineClient(home, live_jobs=False)
    config = from_dict({"kind": "distill", "teacher": "run:1", "data": "x.jsonl"})
    run_id = store.create_run(client.db, kind="distill", config=config.to_dict(), name="Still training")
    page = DistillReportPage(client)
    qtbot.addWidget(page)
    page.show_run(run_id)
    assert page.empty.text() == "The report appears here when the distillation has finished." and page.table.isHidden()


# The wizard's 'Make a model smaller and faster' is clicked through in tests/gui/test_wizard.py.

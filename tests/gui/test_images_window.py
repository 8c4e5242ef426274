"""Sort pictures, clicked through the real window up to the plan: the task offered from the table of tasks,
the demo's folder of pictures recognised and checked by the image doctor, the bundled EfficientNet-Lite0
offered and chosen, and the engine's plan with the plain question "may a picture be mirrored?" in the expert
form. (Training, the evaluation, the Playground and the exports are tested in tests/engine/test_image_*.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui.test_wizard import distil_up_to_the_teacher, shot

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "images"


@pytest.fixture
def window(qtbot, client):
    from gui.main_window import MainWindow

    win = MainWindow(client, probe=False)
    qtbot.addWidget(win)
    win.ask_on_close = lambda box: "keep"
    win.resize(1280, 860)
    win.show()
    yield win


def test_sort_pictures_from_the_task_to_the_plan(qtbot, window):
    from PySide6.QtWidgets import QLabel

    window.show_page("new")
    page = window.page("new")
    wizard = page.wizard
    assert "Sort pictures into categories" in [w.text() for w in page.task_buttons["images"].findChildren(QLabel)]
    page.task_buttons["images"].clicked.emit()
    page.next_button.click()
    assert wizard.step == "data"

    page.data_page.open_path(str(DEMO / "train"))
    assert page.data_page.description.task == "images"
    assert "a folder of pictures, one sub-folder per category" in page.data_page.summary.text()
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=90_000)
    report = page.data_page.report()
    assert report.classes == {"brick": 61, "grass": 61, "gravel": 61}
    assert "doctor.images.summary" in {f.code for f in report.findings}
    page.next_button.click()
    qtbot.waitUntil(lambda: wizard.step == "model", timeout=10_000)

    qtbot.waitUntil(lambda: page.model_table.rowCount() >= 1, timeout=30_000)
    names = [page.model_table.item(row, 0).text() for row in range(page.model_table.rowCount())]
    assert names == ["EfficientNet-Lite0"]  # text models are not offered for pictures
    page.model_table.selectRow(0)
    qtbot.waitUntil(lambda: wizard.model_ref == "demo:efficientnet-lite0", timeout=10_000)
    page.next_button.click()

    assert wizard.step == "plan"
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert not wizard.plan.error, wizard.plan.error
    reasons = " ".join(decision["reason"] for decision in wizard.plan.decisions)
    assert "224 x 224" in reasons and "mirrored" in reasons
    page.expert.setChecked(True)
    form = page.expert_forms["images"]
    assert "mirror" in form.inputs and "image_size" in form.inputs


def test_make_a_trained_picture_model_smaller_from_the_wizard_to_its_report(qtbot, window, client, home, tmp_path):
    """Distil a finished picture run, clicked as a person would: the folder of pictures, the teacher offered
    among the finished runs, the student's size in blocks, the plan, Start; the real engine trains the student
    and the report page shows teacher and student side by side."""
    from engine import store
    from tests.engine.test_image_recipe import image_run, squares

    pictures = squares(tmp_path / "pictures", {"left": 24, "right": 24})
    # left and right matter here: a teacher whose pictures were mirrored could not learn which side the square is on
    _, teacher_id = image_run(home, pictures, epochs=10, mirror=False)
    window.show_page("new")
    page = window.page("new")
    wizard = page.wizard
    distil_up_to_the_teacher(qtbot, page, pictures, teacher_id, checked_within_ms=90_000)  # the image doctor
    assert page.student.isVisible() and page.student.text.text().startswith("Keeps")
    page.next_button.click()
    assert wizard.step == "plan" and page.distill_note.isVisible()
    assert "blocks" in page.distill_note_text.text()  # how many of the teacher's blocks the student keeps
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert not wizard.plan.error, wizard.plan.error
    assert {"student_layers", "epochs"} <= {d["setting"] for d in wizard.plan.decisions}
    assert "blocks" in page.decisions.text() and page.next_button.isEnabled()
    page.next_button.click()
    page.next_button.click()  # Start training
    qtbot.waitUntil(lambda: window.current == "run", timeout=5_000)
    run_id = window.page("run").run_id
    assert store.get_run(client.db, run_id)["kind"] == "distill"
    qtbot.waitUntil(lambda: store.get_run(client.db, run_id)["status"] in ("completed", "failed"), timeout=300_000)
    run = store.get_run(client.db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert any(a["kind"] == "distill_report" for a in store.artifacts(client.db, run_id))
    run_page = window.page("run")
    qtbot.waitUntil(lambda: run_page.report_button.isVisible(), timeout=10_000)
    shot(window, "distill-pictures-run")
    run_page.report_button.click()
    assert window.current == "distill_report"
    report = window.page("distill_report")
    qtbot.waitUntil(lambda: report.table.rowCount() > 0, timeout=10_000)
    cells = [report.table.item(row, 0).text() for row in range(report.table.rowCount())]
    assert any("arameters" in cell for cell in cells), cells  # sizes, speed and quality, as for text
    shot(window, "distill-pictures-report")

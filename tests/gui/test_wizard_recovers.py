"""A person's own files, clicked through the real wizard to the Train button: a helpdesk export that once
crashed the data doctor, and an Excel sheet of questions and answers; and a doctor that breaks leaves a
sentence and a way on, never a silent dead end."""

from __future__ import annotations

import os

from engine.data.conversations import ChatColumns
from tests.engine.test_chat_tables import excel
from tests.engine.test_doctor import customer_service_export
from tests.gui.test_wizard import shot, wizard_window  # noqa: F401 - the fixture, shared

SHOTS = os.environ.get("TUNEWRIGHT_SHOTS")


def to_the_train_button(qtbot, page, model: str) -> None:
    """From the Data step, with its file open, through Model and Plan to the Train step."""
    wizard = page.wizard
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=60_000)
    page.next_button.click()
    qtbot.waitUntil(lambda: wizard.step == "model", timeout=10_000)
    qtbot.waitUntil(lambda: page.model_table.rowCount() >= 1, timeout=30_000)
    names = [page.model_table.item(row, 0).text() for row in range(page.model_table.rowCount())]
    page.model_table.selectRow(next(i for i, name in enumerate(names) if name == os.path.basename(model)))
    assert wizard.model_ref == model
    page.next_button.click()
    assert wizard.step == "plan"
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=180_000)
    page.next_button.click()
    assert wizard.step == "train" and page.next_button.isEnabled()


def test_a_semicolon_windows_1252_helpdesk_export_reaches_the_train_button(qtbot, wizard_window, tmp_path, tiny_encoder):
    page = wizard_window.page("new")
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()
    export = customer_service_export(tmp_path)
    page.data_page.open_path(str(export))
    qtbot.waitUntil(lambda: page.data_page.report() is not None, timeout=60_000)
    report = page.data_page.report()
    assert (report.text_column, report.label_column, len(report.classes)) == ("Nachricht", "Thema", 12)
    assert report.finding("doctor.empty_rows") is not None
    shot(page, "first-contact-helpdesk")
    to_the_train_button(qtbot, page, str(tiny_encoder))
    assert page.wizard.config().label_column == "Thema"


def test_an_excel_sheet_of_questions_and_answers_reaches_the_train_button_as_chat(qtbot, wizard_window, client,
                                                                                 tmp_path, tiny_llama):
    client.add_model_folder(tiny_llama)
    page = wizard_window.page("new")
    page.task_buttons["chat"].clicked.emit()
    page.next_button.click()
    sheet = excel(tmp_path / "Sprechstunde.xlsx", ["Frage", "Antwort", "Bemerkung"],
                  [[f"Wann ist die Praxis am Tag {i} offen?", f"Am Tag {i} von 8 bis 18 Uhr.", ""] for i in range(60)])
    page.data_page.open_path(str(sheet))
    data = page.data_page
    assert data.description.layout == "table"
    assert data.chat_combos["question"].currentText() == "Frage" and data.chat_combos["answer"].currentText() == "Antwort"
    assert data.chat_combos["question"].isVisible() and not data.text_column.isVisible()
    shot(page, "first-contact-chat-table")
    to_the_train_button(qtbot, page, str(tiny_llama))
    config = page.wizard.config()
    assert (config.question_column, config.answer_column, config.data) == ("Frage", "Antwort", str(sheet))


def test_changing_the_answer_column_is_what_the_run_reads(qtbot, client, tmp_path):
    from gui.pages.data import DataPage

    page = DataPage(client, task="chat")
    qtbot.addWidget(page)
    sheet = excel(tmp_path / "qa.xlsx", ["Question", "Answer", "Better answer"],
                  [[f"q{i}?", f"a{i}", f"A much better answer {i}."] for i in range(60)])
    page.open_path(str(sheet))
    combo = page.chat_combos["answer"]
    combo.setCurrentIndex(combo.findData("Better answer"))
    combo.activated.emit(combo.currentIndex())
    assert page.description.chat_columns == ChatColumns("Question", "Better answer", "", "")
    chosen = []
    page.use_in_run.connect(chosen.append)
    page.use_for_run()
    assert chosen[0]["answer_column"] == "Better answer" and chosen[0]["kind"] == "chat"


def test_a_doctor_that_fails_says_so_and_can_check_again(qtbot, wizard_window, tmp_path, monkeypatch):
    page = wizard_window.page("new")
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()
    # the checking process dies without a word (as a crash outside Python would)
    monkeypatch.setattr("gui.state.data.engine_process", lambda *args: ["python3", "-c", "import sys; sys.exit(9)"])
    export = customer_service_export(tmp_path)
    page.data_page.open_path(str(export))
    qtbot.waitUntil(lambda: "could not read this file through" in page.blocker.text(), timeout=30_000)
    assert not page.next_button.isEnabled()
    assert page.data_page.failure().startswith("The data doctor could not read this file through.")
    shot(page, "first-contact-doctor-failed")
    monkeypatch.undo()
    page.data_page.check()  # "Check again" / "Check data" re-runs it, and this time it works
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=60_000)


def test_a_step_that_breaks_says_so_beside_next_and_recovers(qtbot, wizard_window, tmp_path, monkeypatch):
    page = wizard_window.page("new")
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()

    def broken():
        raise KeyError("metadata")

    monkeypatch.setattr(page.data_page, "report", broken)
    page.data_page.open_path(str(customer_service_export(tmp_path)))
    qtbot.waitUntil(lambda: "This step met a problem it did not expect" in page.blocker.text(), timeout=30_000)
    assert "KeyError: 'metadata'" in page.blocker.text() and not page.next_button.isEnabled()
    monkeypatch.undo()
    page.data_page.changed.emit()  # anything that changes on the page looks again
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=60_000)

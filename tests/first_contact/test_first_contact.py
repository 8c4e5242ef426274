"""First contact: every file of files.py, taken through the real New run wizard as its owner would.

The promise each file is held to: the wizard reaches the Train button (Start training enabled, no run
started), or stops at one clear sentence that says what to do; at no point is Next disabled without a
visible reason. Where the doctor offers a fix for what blocks the way, it is clicked, as a person would;
where the person means other columns than the ones guessed, they are picked, as a person would (the
guesses are reported, not enforced). Each file is made by code, so the suite needs no data on disk.
"""

from __future__ import annotations

import random
import re

import pytest

from tests.first_contact.files import CASES, Case

#: Words a blocking sentence uses when it says what to do about it.
WAYS_FORWARD = re.compile(r"\b(choose|use the fix|change|add|go back|save|set|give|pick|split|shorten|remove|"
                          r"correct|drop|merge|rename|wait)\b", re.IGNORECASE)
#: The columns the file's owner means, where a file has several candidates (text, label).
MEANT = {
    "zendesk_tickets": ("Description", "Tags"),
    "freshdesk_tickets": ("Description", "Type"),
    "salesforce_cases": ("Description", "Case Reason"),
    "google_forms_survey": ("What could we do better?", "Which service did you use?"),
    "surveymonkey_two_header_rows": ("Tell us about your visit", "Department"),
    "qualtrics_three_header_rows": ("Q1", "Q2"),
    "typeform_responses": ("Anything else you'd like to tell us?", "How do you feel about us?"),
    "app_store_reviews_stars": ("review", "stars"),
    "tab_separated_lab_log": ("note", "kind"),
    "jira_issues_repeated_columns": ("Description", "Component/s"),
    "outlook_emails": ("Body", "Categories"),
}


@pytest.fixture(scope="module")
def models(tiny_encoder, tiny_llama):
    return {"classify": tiny_encoder, "chat": tiny_llama}


@pytest.fixture
def window(qtbot, tunewright_home, models):
    from gui.engine_client import EngineClient
    from gui.main_window import MainWindow

    client = EngineClient(tunewright_home)
    for folder in models.values():
        client.add_model_folder(folder)
    window = MainWindow(client, probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: "keep"
    window.show()
    window.show_page("new")
    yield window
    assert not client.list_runs()  # the suite stops at the Train button: nothing was started


def never_silent(page) -> str:
    """Next is enabled, or a visible sentence says why not; returns that sentence."""
    text = page.blocker.text().strip()
    assert page.next_button.isEnabled() or (text and page.blocker.isVisible()), (
        f"Next is disabled at step '{page.wizard.step}' with no reason shown")
    return text


def settled(page) -> bool:
    """The data step has finished what it does by itself (reading, counting, the doctor)."""
    data = page.data_page
    return not data.session.running() and "checking" not in page.blocker.text() and (
        page.next_button.isEnabled() or bool(page.blocker.text()))


def stopped_with_a_way_forward(page, sentence: str) -> None:
    assert WAYS_FORWARD.search(sentence), f"blocked without saying what to do: {sentence!r}"
    if "message above" in sentence:  # the message it points to is there to read
        data = page.data_page
        shown = [w.text() for w in (data.problem, data.check_status) if w.isVisible() and w.text().strip()]
        assert shown, f"{sentence!r}, but no message is shown above it"
    assert "Traceback" not in sentence and "Error:" not in sentence and len(sentence) < 600, sentence


def pick(combo, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not among the columns offered: {[combo.itemData(i) for i in range(combo.count())]}"
    if combo.currentIndex() != index:
        combo.setCurrentIndex(index)
        combo.activated.emit(index)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_a_file_reaches_the_train_button_or_one_clear_sentence(qtbot, window, models, tmp_path, case: Case):
    page = window.page("new")
    path = case.make(tmp_path, random.Random(case.name))

    page.task_buttons[case.task].clicked.emit()
    page.next_button.click()
    assert page.wizard.step == "data"
    page.data_page.open_path(str(path))
    never_silent(page)
    qtbot.waitUntil(lambda: settled(page), timeout=90_000)

    data = page.data_page
    if case.name in MEANT and data.description is not None and not data.description.problem:
        text, label = MEANT[case.name]
        if (data.description.text_column, data.description.label_column) != (text, label):
            pick(data.text_column, text)
            pick(data.label_column, label)
            data.check()  # Check data, on the columns chosen
            qtbot.waitUntil(lambda: settled(page) and data.report() is not None
                            and data.report().label_column == label, timeout=90_000)

    for _ in range(3):  # what blocks the way, where the doctor has a fix for it: its button, clicked
        if page.next_button.isEnabled():
            break
        report = data.report()
        errors = [f for f in (report.findings if report else []) if f.severity == "error" and f.fix in data.fix_buttons]
        if not errors:
            break
        before = data.path
        data.fix_buttons[errors[0].fix].click()
        qtbot.waitUntil(lambda: data.path != before and settled(page), timeout=90_000)

    sentence = never_silent(page)
    if not page.next_button.isEnabled():
        print(f"{case.name}: stopped at the data step: {sentence}")
        stopped_with_a_way_forward(page, sentence)
        return
    page.next_button.click()
    qtbot.waitUntil(lambda: page.wizard.step == "model", timeout=30_000)

    qtbot.waitUntil(lambda: page.model_table.rowCount() > 0, timeout=60_000)
    refs = [model.ref for model in page.models]
    assert str(models[case.task]) in refs, f"the {case.task} model is not offered: {refs}"
    page.model_table.selectRow(refs.index(str(models[case.task])))
    sentence = never_silent(page)
    if not page.next_button.isEnabled():
        stopped_with_a_way_forward(page, sentence)
        return
    page.next_button.click()

    assert page.wizard.step == "plan"
    qtbot.waitUntil(lambda: not page.wizard.planning and page.wizard.plan is not None, timeout=120_000)
    sentence = never_silent(page)
    if not page.next_button.isEnabled():
        stopped_with_a_way_forward(page, sentence)
        return
    page.next_button.click()

    assert page.wizard.step == "train"
    assert page.next_button.text() == "Start training" and page.next_button.isEnabled()
    # the file itself, or a copy the doctor's fix saved under the file's name (made safe for any file system)
    safe_stem = re.sub(r"[^\w.-]", "_", path.stem)
    assert any(name in page.summary.text() for name in (path.name, path.stem, safe_stem, "datasets"))

"""Tag names in texts, clicked through in the real window with a real engine: the wizard from a tagged file
to a finished run, the Results page's table per kind of name and its error review (a labelling mistake
marked and kept), the Playground's highlighted names and a file of texts saved as JSON Lines, and the
Export page's formats for a tagger.

A tiny random encoder on 60 sentences of the bundled NCBI-disease slice, one short epoch: the test is about
what the window shows and what the engine writes, not about learning (tests/engine/test_tagging_learns.py).
Set TUNEWRIGHT_SHOTS to a folder to save a screenshot of each step there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine import store

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
SHOTS = os.environ.get("TUNEWRIGHT_SHOTS")


def shot(widget, name: str) -> None:
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        from gui.theme import apply_theme

        apply_theme(QApplication.instance())  # as the app looks (tests otherwise run unstyled)
        QApplication.processEvents()
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        widget.window().grab().save(str(Path(SHOTS) / f"{name}.png"))


def tagged_file(folder: Path, sentences: int = 60) -> Path:
    """The first sentences of the bundled NCBI-disease slice, as CoNLL (one word and its tag per line)."""
    blocks = (DEMO / "ncbi_disease_train.tsv").read_text(encoding="utf-8").split("\n\n")[:sentences]
    path = folder / "abstracts.tsv"
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot, client, tiny_encoder):
    from gui.main_window import MainWindow

    win = MainWindow(client, probe=False)
    qtbot.addWidget(win)
    win.ask_on_close = lambda box: "keep"
    win.resize(1280, 860)
    win.show()
    client.add_model_folder(tiny_encoder)
    yield win
    if (playground := win.pages.get("playground")) is not None:
        playground.shutdown()
    for run in client.list_runs():
        if run["status"] in ("preparing", "running"):
            client.cancel(run["id"])


def test_tag_names_from_a_tagged_file_to_the_error_review_and_the_playground(qtbot, window, tmp_path, tiny_encoder):
    client = window.client
    window.show_page("new")
    page = window.page("new")
    wizard = page.wizard

    # Task: offered from the table of tasks
    from PySide6.QtWidgets import QLabel

    assert "Tag names in texts" in [w.text() for w in page.task_buttons["tag"].findChildren(QLabel)]
    shot(page, "wizard-1-task")
    page.task_buttons["tag"].clicked.emit()
    page.next_button.click()
    assert wizard.step == "data"

    # Data: the CoNLL file is recognised as tagged text and checked by the tagged-text doctor
    data = tagged_file(tmp_path)
    page.data_page.open_path(str(data))
    assert page.data_page.description.task == "tag"
    assert "CoNLL" in page.data_page.summary.text() and "60 texts" in page.data_page.summary.text()
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=90_000)
    codes = {f.code for f in page.data_page.report().findings}
    assert "doctor.spans.types" in codes
    shot(page, "wizard-2-data")
    page.next_button.click()
    qtbot.waitUntil(lambda: wizard.step == "model", timeout=10_000)
    assert wizard.task == "tag" and wizard.data["data"] == str(data)

    # Model: the tiny encoder, as a folder the person added
    qtbot.waitUntil(lambda: page.model_table.rowCount() >= 2, timeout=30_000)
    names = [page.model_table.item(row, 0).text() for row in range(page.model_table.rowCount())]
    page.model_table.selectRow(names.index(tiny_encoder.name))
    shot(page, "wizard-3-model")
    page.next_button.click()

    # Plan: decided by the engine; one short epoch for the test
    assert wizard.step == "plan"
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert not wizard.plan.error, wizard.plan.error
    page.expert.setChecked(True)
    form = page.expert_forms["tag"]
    for name, value in (("epochs", "1"), ("max_length", "64"), ("batch_size", "16"), ("learning_rate", "0.001")):
        form.inputs[name].setText(value)
        form.inputs[name].editingFinished.emit()
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=120_000)
    shot(page, "wizard-4-plan")
    page.next_button.click()
    assert wizard.step == "train"
    page.name.setText("Diseases")
    shot(page, "wizard-5-train")
    page.next_button.click()
    qtbot.waitUntil(lambda: window.current == "run", timeout=5_000)
    run_id = window.page("run").run_id

    # The run finishes, and its held-back texts are scored as an evaluation of their own
    def evaluation_done():
        children = list(client.db["runs"].rows_where("parent_id = ? AND kind = 'evaluate'", [run_id]))
        return store.get_run(client.db, run_id)["status"] == "completed" and children and children[0]["status"] == "completed"

    qtbot.waitUntil(lambda: evaluation_done() or store.get_run(client.db, run_id)["status"] == "failed", timeout=240_000)
    run = store.get_run(client.db, run_id)
    assert run["status"] == "completed", run["error"]
    assert run["kind"] == "tag" and run["best_metric_name"] == "eval_f1"
    assert {"eval_f1", "eval_partial_f1"} <= set(store.metric_names(client.db, run_id))
    evaluation_id = next(client.db["runs"].rows_where("parent_id = ? AND kind = 'evaluate'", [run_id]))["id"]

    # Results: the table per kind of name, and every error in its sentence
    window.runs.refresh()
    window.show_page("results")
    results = window.page("results")
    results.show_run(run_id)
    qtbot.waitUntil(lambda: results.tagging is not None, timeout=10_000)
    tagging = results.tagging
    assert tagging.per_type.item(0, 0).text() == "Disease"
    assert tagging.per_type.horizontalHeaderItem(6).text() == "Overlap F1"
    review = tagging.review
    errors = review.state.errors
    assert errors, "a random tiny model gets names wrong"
    assert review.text.toPlainText().count("Mark as a labelling mistake") == min(len(errors), 100)
    kinds = {e["kind"] for e in errors}
    first_kind = sorted(kinds)[0]
    review.kind_box.setCurrentIndex(review.kind_box.findData(first_kind))
    assert all(e["kind"] == first_kind for e in review.state.shown())
    assert review.text.toPlainText().count("Mark as a labelling mistake") == len(review.state.shown())
    error = review.state.shown()[0]
    from PySide6.QtCore import QUrl

    review.text.anchorClicked.emit(QUrl("mark:0"))  # "a labelling mistake in the data"
    assert store.label_mistakes(client.db, evaluation_id) == {error["id"]}
    assert "1 marked as labelling mistakes" in review.summary.text()
    assert "A labelling mistake in the data (click to take back)" in review.text.toPlainText()
    review.text.anchorClicked.emit(QUrl("mark:0"))
    assert store.label_mistakes(client.db, evaluation_id) == set()
    review.text.anchorClicked.emit(QUrl("mark:0"))
    shot(results, "results-error-review")

    # Playground: names highlighted in a typed text, then a file of texts saved as JSON Lines with spans
    window.show_page("playground")
    playground = window.page("playground")
    playground.choose_run(run_id)
    panel = playground.tagging
    assert playground.stack.currentWidget() is panel
    text = "Mutations in BRCA1 raise the risk of breast cancer and ovarian cancer ."
    panel.text_input.setPlainText(text)
    panel.tag_button.click()
    qtbot.waitUntil(lambda: (playground.refresh() or True) and panel.state.text == text, timeout=120_000)
    assert panel.view.text.toPlainText().startswith("Mutations in BRCA1")
    shot(playground, "playground-highlights")
    texts = tmp_path / "texts.txt"
    texts.write_text("Cystic fibrosis is common .\nNo disease here .\n\nColon cancer runs in families .\n", encoding="utf-8")
    panel.choose_texts = lambda: str(texts)
    panel.file_button.click()
    qtbot.waitUntil(lambda: (playground.refresh() or True) and len(panel.file_result) == 3, timeout=60_000)
    assert panel.save_button.isVisible()
    saved = tmp_path / "tagged.jsonl"
    panel.choose_target = lambda fmt: str(saved)
    panel.save_button.click()
    lines = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == ["Cystic fibrosis is common .", "No disease here .", "Colon cancer runs in families ."]
    assert all({"start", "end", "label", "confidence"} <= set(span) for line in lines for span in line["spans"])
    shot(playground, "playground-file")

    # Export: the tagging formats from the table
    from gui.pages.export import formats_for

    assert formats_for(store.get_run(client.db, run_id)) == ["merged", "onnx"]

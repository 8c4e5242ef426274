"""The Data page, driven as a person would: open a file, see how it is read, check it, apply a fix."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from gui.pages.data import DataPage
from gui.sample import sample_dataset


def write_tickets(folder: Path) -> Path:
    rows = [(f"question {i} à propos de {topic}", topic) for i in range(30) for topic in ("billing", "delivery")]
    rows += [rows[0], rows[1], ("", "billing")]
    path = folder / "tickets; export (1).csv"  # a name with a delimiter, a space and brackets in it
    path.write_text("text;label\n" + "".join(f"{text};{label}\n" for text, label in rows), encoding="cp1252")
    return path


def finding_texts(page: DataPage) -> list[str]:
    from PySide6.QtWidgets import QLabel

    texts = []
    for index in range(page.findings_box.count()):
        widget = page.findings_box.itemAt(index).widget()
        texts += [child.text() for child in widget.findChildren(QLabel)]
    return texts


def test_the_page_opens_on_its_own_with_a_checked_sample(qtbot, client):
    sample_dataset(client.db, client.home)
    page = DataPage(client)
    qtbot.addWidget(page)
    assert page.path.endswith("support_tickets.csv")
    assert page.description.options.delimiter == ";" and page.description.text_column == "ticket"
    assert page.model.rowCount() == 50 and page.model.columnCount() == 2  # the head only, and it says so
    qtbot.waitUntil(lambda: page.rows is not None, timeout=10_000)
    assert page.preview_note.text() == f"Showing the first 50 rows of {page.rows:,}; the doctor and training read them all."
    assert set(page.fix_buttons) == {"drop_conflicts", "drop_rare", "drop_lonely", "drop_empty", "drop_duplicates"}
    assert any(text.startswith("Texts that appear with different labels: 1, in 2 rows.") for text in finding_texts(page))


def test_open_check_and_fix_a_file(qtbot, client, tmp_path):
    path = write_tickets(tmp_path)
    before = path.read_bytes()
    page = DataPage(client)
    qtbot.addWidget(page)
    page.show()
    assert "No file yet" in page.summary.text() and not page.check_button.isEnabled()

    page.open_path(str(path))
    assert page.description.summary() == "CSV, separated by semicolons, Windows-1252, with a header row"
    assert (page.description.text_column, page.description.label_column) == ("text", "label")
    qtbot.waitUntil(lambda: "63 rows" in page.summary.text(), timeout=5000)

    # Saying the file has no header makes the first line a row and the columns "column 1", "column 2"
    page.header.setCurrentIndex(page.header.findData(False))
    page.header.activated.emit(page.header.currentIndex())
    assert [page.model.horizontalHeaderItem(i).text() for i in range(2)] == ["column 1", "column 2"]
    assert page.model.item(0, 0).text() == "text"
    page.header.setCurrentIndex(page.header.findData(True))
    page.header.activated.emit(page.header.currentIndex())

    qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    assert page.check_status.text() == "Checking…"
    qtbot.waitUntil(lambda: "drop_duplicates" in page.fix_buttons, timeout=30000)
    assert "Checked 62 usable of 63 rows" in page.check_status.text()
    assert any(text.startswith("Repeated rows: 2, each the same as an earlier one.") for text in finding_texts(page))

    qtbot.mouseClick(page.fix_buttons["drop_duplicates"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "datasets" in page.path, timeout=30000)
    cleaned = Path(page.path)
    assert cleaned.parent.parent == client.home / "datasets" and cleaned.suffix == ".jsonl"
    assert page.cleaned.isVisible() and page.cleaned_text.text().startswith("Saved a cleaned copy with 61 rows (2 removed)")
    qtbot.waitUntil(lambda: "Checked" in page.check_status.text(), timeout=30000)
    assert "drop_duplicates" not in page.fix_buttons and "drop_empty" in page.fix_buttons
    assert len(cleaned.read_text(encoding="utf-8").splitlines()) == 61
    assert path.read_bytes() == before  # the user's file is untouched

    qtbot.mouseClick(page.open_source, Qt.MouseButton.LeftButton)
    assert page.path == str(path)


def test_a_file_that_cannot_be_read_is_one_sentence_and_nothing_to_check(qtbot, client, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    page = DataPage(client)
    qtbot.addWidget(page)
    page.open_path(str(path))
    assert page.problem.text() == (
        "photo.csv is not a text file: it looks like a PNG image. Save your data as CSV, Excel, JSON or Parquet."
    )
    assert not page.check_button.isEnabled() and page.model.rowCount() == 0


def test_chat_data_shows_its_layout_and_no_label_columns(qtbot, client, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(5)))
    page = DataPage(client)
    qtbot.addWidget(page)
    page.show()
    page.open_path(str(path))
    assert page.description.task == "chat" and page.task.currentData() == "chat"
    assert page.description.summary() == "JSON Lines, UTF-8, Alpaca (instruction and answer)"
    assert page.text_column.isHidden() and page.delimiter.isHidden()


def test_the_sidebar_opens_the_data_page_and_it_leads_to_a_new_run(window, tmp_path):
    window.nav_buttons["data"].click()
    page = window.page("data")
    assert window.current == "data" and isinstance(page, DataPage)
    path = write_tickets(tmp_path)
    page.open_path(str(path))
    page.train_button.click()
    assert window.current == "new"
    wizard = window.page("new").wizard
    assert wizard.data["data"] == str(path) and wizard.task == "classify" and wizard.step == "model"
    assert wizard.model_ref == "demo:minilm"  # the model the lengths were checked with, to confirm
    assert wizard.config().label_column == "label"


def test_length_check_with_the_bundled_tokenizer_and_raising_the_limit(qtbot, window, tmp_path):
    import pytest

    from engine.models.catalog import BUNDLED, package_folder

    if package_folder(BUNDLED["demo:minilm"].package) is None:
        pytest.skip("the bundled MiniLM is not installed")
    rows = [{"text": f"short request {i}", "label": "ab"[i % 2]} for i in range(60)]
    rows += [{"text": " ".join(["word"] * 300), "label": "a"}]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    window.nav_buttons["data"].click()
    page = window.page("data")
    page.open_path(str(path))
    page.length_model.setCurrentIndex(page.length_model.findData("demo:minilm"))
    page.check_button.click()
    qtbot.waitUntil(lambda: "raise_max_length" in page.fix_buttons, timeout=90000)
    button = page.fix_buttons["raise_max_length"]
    assert button.text() == "Raise the length limit to 320"  # 302 tokens, rounded up to a multiple of 64
    assert any(text.startswith("Examples longer than the length limit of 256 tokens (word pieces): 1 of 61.")
               for text in finding_texts(page))
    button.click()
    qtbot.waitUntil(lambda: "raise_max_length" not in page.fix_buttons and "Checked" in page.check_status.text(),
                    timeout=30000)
    assert page.cleaned_text.text() == "Runs on this data will use a length limit of 320 tokens."
    page.train_button.click()
    assert window.page("new").wizard.config().max_length == 320


def test_a_llamafactory_entry_is_saved_as_read_before_training(qtbot, window, tmp_path):
    rows = [{"conversations": [{"from": "user", "value": f"q{i}"}, {"from": "bot", "value": f"a{i}"}]} for i in range(3)]
    (tmp_path / "chats.json").write_text(json.dumps(rows))
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "missing": {"file_name": "nowhere.json"},
        "mine": {"file_name": "chats.json", "formatting": "sharegpt",
                 "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "bot"}},
    }))
    window.nav_buttons["data"].click()
    page = window.page("data")
    page.open_path(str(tmp_path / "dataset_info.json"))
    assert page.description.summary() == "LLaMA-Factory dataset list, dataset 'mine', ShareGPT conversations"
    assert [page.dataset.itemText(i) for i in range(page.dataset.count())] == ["mine"]
    page.train_button.click()
    qtbot.waitUntil(lambda: window.current == "new", timeout=30000)
    data = Path(window.page("new").wizard.data["data"])
    assert data.parent.parent == window.client.home / "datasets" and data.suffix == ".jsonl"
    from engine.data.conversations import load_conversations

    assert [turn.content for turn in load_conversations(data).conversations[2]] == ["q2", "a2"]

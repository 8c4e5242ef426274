"""The Playground's panel for a tagger: type or paste a text and see its names highlighted by kind with how
sure the model is, or tag a whole file of texts and save the result as JSON Lines with spans, CSV or brat.

The page (gui/pages/playground.py) owns the model's process; this panel asks through `ask` and shows what
the process wrote into the request's row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtWidgets import QComboBox, QFileDialog, QFrame, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from engine import playground
from engine.data.errors import DataError
from engine.protocol import message
from gui.state.tagged_text import SAVE_FORMATS, Mark, TaggedTextState, save_tagged, texts_of_file
from gui.widgets.common import card, label
from gui.widgets.tagged_text import TaggedTextView


class TaggingPanel(QWidget):
    def __init__(self, client: Any, ask: Callable[[list[str]], int | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.ask = client, ask
        self.request: int | None = None  # the request whose marks are shown (or awaited)
        self.shown: int | None = None
        self.file_result: list[dict[str, Any]] = []  # a file's tagged texts, ready to save
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame, layout = card()
        layout.addWidget(label("Type or paste a text", "SectionTitle"))
        self.text_input = QPlainTextEdit()
        self.text_input.setPlaceholderText("For example, a sentence from an abstract: “Mutations in BRCA1 raise the risk of breast cancer.”")
        self.text_input.setFixedHeight(100)
        layout.addWidget(self.text_input)
        row = QHBoxLayout()
        self.note = label("", "Muted", wrap=True)
        row.addWidget(self.note, 1)
        self.file_button = QPushButton("Tag a file of texts…")
        self.file_button.clicked.connect(self.tag_file)
        row.addWidget(self.file_button)
        self.tag_button = QPushButton("Mark names")
        self.tag_button.setObjectName("Primary")
        self.tag_button.clicked.connect(self.tag_text)
        row.addWidget(self.tag_button)
        layout.addLayout(row)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("QFrame { color: #e3e7ed; }")
        layout.addWidget(line)
        self.state = TaggedTextState()
        self.view = TaggedTextView(self.state)
        layout.addWidget(self.view, 1)
        saving = QHBoxLayout()
        self.file_words = label("", "Muted", wrap=True)
        saving.addWidget(self.file_words, 1)
        self.save_format = QComboBox()
        for key, words in SAVE_FORMATS.items():
            self.save_format.addItem(words, key)
        self.save_button = QPushButton("Save tagged texts…")
        self.save_button.clicked.connect(self.save)
        saving.addWidget(self.save_format)
        saving.addWidget(self.save_button)
        layout.addLayout(saving)
        self._show_saving(False)
        outer.addWidget(frame)
        # Replaced in tests: the dialogs that ask for a file of texts and where to save.
        self.choose_texts = lambda: QFileDialog.getOpenFileName(
            self, "Texts to tag", str(Path.home()), "Texts (*.txt *.csv *.tsv *.jsonl *.json *.xlsx *.conll *.xml);;All files (*)")[0]
        self.choose_target = lambda fmt: (
            QFileDialog.getExistingDirectory(self, "Folder for the brat files", str(Path.home())) if fmt == "brat"
            else QFileDialog.getSaveFileName(self, "Save the tagged texts", str(Path.home() / f"tagged.{fmt}"))[0]
        )

    # ------------------------------------------------------------ asking

    def tag_text(self) -> None:
        self._ask([self.text_input.toPlainText()])

    def tag_file(self) -> None:
        path = self.choose_texts()
        if not path:
            return
        try:
            texts = texts_of_file(path)
        except DataError as problem:
            self.note.setText(str(problem))
            return
        self._ask(texts)

    def _ask(self, texts: list[str]) -> None:
        request = self.ask(texts)
        if request is not None:
            self.request = request
            self.note.setText(message("playground.asking")[1])

    def restore(self, request_id: int | None) -> None:
        """Show a run's last tagged text as it was left (None: an empty panel)."""
        self.request, self.shown, self.file_result = request_id, None, []
        self.state.set("", [])
        self._show_saving(False)
        if request_id is not None:
            self.text_input.setPlainText(playground.get_request(self.client.db, request_id)["text"] or "")
        self.refresh()

    def say(self, sentence: str) -> None:
        self.note.setText(sentence)

    # ------------------------------------------------------------ showing

    def refresh(self) -> None:
        if self.request is None or self.request == self.shown:
            return
        request = self.client.answered_request(self.request)
        if request is None:
            return
        self.shown = request["id"]
        if request["status"] != "done":
            self.note.setText(request["error"] or "")
            return
        documents = request["result"]["documents"]
        first = documents[0]
        self.state.set(first["text"], [Mark(s["start"], s["end"], s["type"], s["confidence"]) for s in first["spans"]])
        self.note.setText("")
        several = len(documents) > 1
        self.file_result = documents if several else []
        if several:
            names = sum(len(d["spans"]) for d in documents)
            self.file_words.setText(f"{len(documents):,} texts tagged, {names:,} name{'s' if names != 1 else ''} marked; "
                                    "the first is shown above.")
        self._show_saving(several)

    def _show_saving(self, on: bool) -> None:
        for widget in (self.file_words, self.save_format, self.save_button):
            widget.setVisible(on)

    def save(self) -> None:
        fmt = self.save_format.currentData()
        target = self.choose_target(fmt)
        if not target or not self.file_result:
            return
        try:
            path = save_tagged(self.file_result, fmt, Path(target))
        except OSError as problem:
            self.note.setText(str(problem))
            return
        self.note.setText(message("playground.saved", count=len(self.file_result), path=path)[1])

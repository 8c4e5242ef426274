"""The Playground's panel for an image model: drop or open pictures and see, for each, its top categories with
their probabilities and the heat map of where the model looked; or sort a whole folder and save the
predictions as a CSV file where the person chooses.

The page (gui/pages/playground.py) owns the model's process; this panel asks through `ask` and shows what
the process wrote into the request's row (engine/tasks/images.py `playground`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from engine.protocol import message
from gui.widgets.common import card, label
from gui.widgets.label_bars import LabelBars
from gui.widgets.pictures import DropZone, picture_label

#: Answers drawn at once; a folder's others are in the saved file.
SHOWN = 12
#: The side of a picture and of its heat map in an answer, in pixels.
SIDE = 168
PICTURE_FILES = "Pictures (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif *.dcm *.dicom);;All files (*)"


def pictures_in(paths: list[str]) -> list[str]:
    """The picture files among `paths`, a folder's looked into (sorted, hidden files left out)."""
    from engine.images.pictures import is_picture_name  # Pillow, only once pictures are asked about

    found = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        for root, folders, files in os.walk(path):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            found += [os.path.join(root, name) for name in sorted(files) if not name.startswith(".") and is_picture_name(name)]
    return found


def chosen_of(answer: dict[str, Any]) -> list[str]:
    """The categories the model gives a picture: its top one, or those above the threshold for several."""
    ranked = answer.get("all") or answer.get("top") or []
    if answer.get("multi_label"):
        return [item["label"] for item in ranked if item["probability"] > answer.get("threshold", 0.5)]
    return [ranked[0]["label"]] if ranked else []


class PictureAnswer(QFrame):
    """One picture's answer: the picture, its heat map, and its top categories as bars (or why it was not read)."""

    def __init__(self, answer: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answer = answer
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 6, 0, 6)
        row.setSpacing(14)
        name = Path(answer["file"]).name
        if "problem" in answer:
            row.addWidget(picture_label(answer["file"], SIDE // 2))
            column = QVBoxLayout()
            column.addWidget(label(name, "SectionTitle"))
            column.addWidget(label(answer["problem"], "ErrorText", wrap=True, selectable=True))
            column.addStretch(1)
            row.addLayout(column, 1)
            return
        for path, tip in ((answer["file"], name), (answer["heatmap"], "Where the model looked: red most, blue least.")):
            row.addWidget(picture_label(path, SIDE, tip), 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.setSpacing(6)
        top = answer["top"][0]
        column.addWidget(label(f"{name}: {top['label']} ({top['probability']:.0%} sure)", "SectionTitle", wrap=True))
        self.bars = LabelBars()
        self.bars.show_result({"labels": answer["top"], "chosen": chosen_of(answer)})
        column.addWidget(self.bars)
        column.addStretch(1)
        row.addLayout(column, 1)


class PicturePanel(QWidget):
    def __init__(self, client: Any, ask: Callable[[list[str], str], int | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.ask = client, ask
        self.request: int | None = None  # the request whose answers are shown (or awaited)
        self.shown: int | None = None
        self.answers: list[PictureAnswer] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame, layout = card()
        layout.addWidget(label("Pictures to sort", "SectionTitle"))
        top = QHBoxLayout()
        self.drop_zone = DropZone("Drop pictures (or a folder of them) here to see the categories the model gives "
                                  "them and where it looked.")
        self.drop_zone.dropped.connect(self.sort_pictures)
        top.addWidget(self.drop_zone, 1)
        buttons = QVBoxLayout()
        self.open_button = QPushButton("Open pictures…")
        self.open_button.setObjectName("Primary")
        self.open_button.clicked.connect(self.open_pictures)
        self.folder_button = QPushButton("Sort a folder…")
        self.folder_button.setToolTip("Every picture in a folder (and its sub-folders), the predictions saved as a CSV file.")
        self.folder_button.clicked.connect(self.sort_folder)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        top.addLayout(buttons)
        layout.addLayout(top)
        self.note = label("", "Muted", wrap=True, selectable=True)
        layout.addWidget(self.note)
        self.legend = label("Each picture is shown beside its heat map: red where the model looked most for its answer, "
                            "blue where it hardly looked.", "Muted", wrap=True)
        layout.addWidget(self.legend)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("QFrame { color: #e3e7ed; }")
        layout.addWidget(line)
        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.setContentsMargins(0, 0, 6, 0)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.list)
        layout.addWidget(scroll, 1)
        outer.addWidget(frame)
        # Replaced in tests: the dialogs that ask for pictures, a folder, and where to save its predictions.
        self.choose_pictures = lambda: QFileDialog.getOpenFileNames(self, "Pictures to sort", str(Path.home()), PICTURE_FILES)[0]
        self.choose_folder = lambda: QFileDialog.getExistingDirectory(self, "A folder of pictures to sort", str(Path.home()))
        self.choose_target = lambda folder: QFileDialog.getSaveFileName(
            self, "Save the predictions", str(Path(folder).parent / f"{Path(folder).name} predictions.csv"), "CSV files (*.csv)")[0]

    # ------------------------------------------------------------ asking

    def open_pictures(self) -> None:
        paths = self.choose_pictures()
        if paths:
            self.sort_pictures(paths)

    def sort_pictures(self, paths: list[str], save: str = "") -> None:
        """Ask for the categories of `paths` (a folder's pictures too); `save`: a CSV file for them all."""
        found = pictures_in(paths)
        if not found:
            self.note.setText(message("playground.no_pictures", folder=", ".join(Path(p).name for p in paths))[1])
            return
        request = self.ask(found, save)
        if request is not None:
            self.request = request
            self.note.setText(message("playground.asking")[1])

    def sort_folder(self) -> None:
        folder = self.choose_folder()
        if not folder:
            return
        if not pictures_in([folder]):
            self.note.setText(message("playground.no_pictures", folder=folder)[1])
            return
        target = self.choose_target(folder)
        if target:
            self.sort_pictures([folder], save=target)

    def restore(self, request_id: int | None) -> None:
        """Show a run's last answered pictures as they were left (None: an empty panel)."""
        self.request, self.shown = request_id, None
        self._show([])
        self.note.setText("")
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
        answers = request["result"]["pictures"]
        self._show(answers[:SHOWN])
        self.note.setText(self.words(answers, (request["settings"] or {}).get("save", "")))

    def words(self, answers: list[dict[str, Any]], saved: str) -> str:
        """What became of a request's pictures: how many were sorted, where the file went, which were unreadable."""
        unreadable = [answer for answer in answers if "problem" in answer]
        sentences = []
        if saved:
            sentences.append(message("playground.pictures_saved", count=f"{len(answers):,}", path=saved)[1])
        if unreadable:
            sentences.append(message("playground.pictures_unreadable", count=f"{len(unreadable):,}", first=unreadable[0]["problem"])[1])
        if len(answers) > SHOWN:
            sentences.append(f"The first {SHOWN} are shown here.")
        return " ".join(sentences)

    def _show(self, answers: list[dict[str, Any]]) -> None:
        for widget in self.answers:
            widget.setParent(None)
            widget.deleteLater()
        self.answers = [PictureAnswer(answer) for answer in answers]
        self.legend.setVisible(any("heatmap" in answer for answer in answers))
        for index, widget in enumerate(self.answers):
            self.list_layout.insertWidget(index, widget)

"""A classifier's answer drawn as bars: every category with its probability (the Playground's text and picture
panels)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QProgressBar, QWidget

from gui.widgets.common import label


class LabelBars(QWidget):
    """A classifier's answer: every label with its probability as a bar, the labels given in bold."""

    def __init__(self) -> None:
        super().__init__()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(6)
        self.grid.setColumnStretch(1, 1)
        self.rows: list[tuple[str, float]] = []

    def show_result(self, result: dict[str, Any]) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget:
                widget.setParent(None)  # at once: a widget only hidden could still be drawn over
                widget.deleteLater()
        chosen = set(result["chosen"])
        self.rows = [(entry["label"], entry["probability"]) for entry in result["labels"]]
        for row, (name, probability) in enumerate(self.rows):
            words = label(name)
            if name in chosen:
                words.setStyleSheet("QLabel { font-weight: 600; }")
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(round(probability * 1000))
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
            bar.setProperty("tone", "good" if name in chosen else "")
            share = label(f"{probability:.1%}", "Muted")
            share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            share.setMinimumWidth(52)
            for column, widget in enumerate((words, bar, share)):
                self.grid.addWidget(widget, row, column)
                widget.show()

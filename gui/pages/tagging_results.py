"""Results of a tagger (names marked in texts): its scores, a table per kind of name (strict and overlap
precision, recall and F1), and the error review, where every missed, spurious, wrong-kind and wrong-edge mark
is shown highlighted in its sentence, and an expert can mark an error as a labelling mistake in the data.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from gui.pages.results import table, tile, _wrapped
from gui.state.error_review import ALL, ERROR_HINTS, ERROR_WORDS, ErrorReviewState, describe, pieces
from gui.state.results import examples_words, is_held_out
from gui.widgets.common import card, label

#: How the two marks look in a sentence: the data's name underlined, the model's mark shaded.
IN_DATA = "text-decoration: underline; text-decoration-color: #1b7f3b; font-weight: 600"
BY_MODEL = "background-color: #ffd8a8"


class TaggingResults(QWidget):
    def __init__(self, client: Any, shown: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        result = shown["result"]
        scores = result["scores"]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        tiles = QHBoxLayout()
        tiles.addWidget(tile("Name F1", f"{scores['f1']:.1%}", "Names marked with exactly the right words and the "
                             "right kind: the usual strict score (as seqeval counts it)."))
        tiles.addWidget(tile("Precision", f"{scores['precision']:.1%}", "Of the names the model marked, the share that are right."))
        tiles.addWidget(tile("Recall", f"{scores['recall']:.1%}", "Of the names in the data, the share the model found."))
        tiles.addWidget(tile("Counting overlaps", f"{scores['partial_f1']:.1%}", "F1 when a mark that shares words with "
                             "a name of the same kind counts: does the model find the right places, edges aside?"))
        source = "the texts held back from training" if is_held_out(shown) else Path(result.get("data", "")).name
        tiles.addWidget(tile("Texts", examples_words(result), f"From {source}."))
        tiles.addWidget(tile("Errors", f"{result['error_count']:,}", "Missed, spurious, wrong-kind and wrong-edge marks (see the last tab)."))
        layout.addWidget(_wrapped(tiles))
        self.tabs = QTabWidget()
        per_type = scores["per_type"]
        self.per_type = table(
            ["Kind of name", "Precision", "Recall", "F1", "Overlap precision", "Overlap recall", "Overlap F1", "Names", "Marked"],
            [[kind, *(f"{values[k]:.1%}" for k in ("precision", "recall", "f1", "partial_precision", "partial_recall", "partial_f1")),
              str(values["support"]), str(values.get("predicted", ""))] for kind, values in per_type.items()],
            stretch=0,
        )
        self.per_type.setToolTip("Strict: start, end and kind all right. Overlap: a mark sharing words with a name of the "
                                 "same kind counts. Names: how many the data marks; Marked: how many the model marked.")
        self.tabs.addTab(self.per_type, "Per kind of name")
        self.review = ErrorReview(ErrorReviewState(client, shown["id"], result))
        self.tabs.addTab(self.review, f"Error review ({result['error_count']:,})")
        self.tabs.setCurrentIndex(1)
        layout.addWidget(self.tabs, 1)


class ErrorReview(QWidget):
    """The errors, filtered by what went wrong and by kind of name; each in its sentence with both marks."""

    def __init__(self, state: ErrorReviewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.kind_box, self.type_box = QComboBox(), QComboBox()
        self.kind_box.addItem("Every kind of error", ALL)
        for kind, words in ERROR_WORDS.items():
            self.kind_box.addItem(words, kind)
            self.kind_box.setItemData(self.kind_box.count() - 1, ERROR_HINTS[kind], Qt.ItemDataRole.ToolTipRole)
        self.type_box.addItem("Every kind of name", ALL)
        for kind in state.types():
            self.type_box.addItem(kind, kind)
        self.kind_box.currentIndexChanged.connect(lambda _: state.set_kind(self.kind_box.currentData()))
        self.type_box.currentIndexChanged.connect(lambda _: state.set_type(self.type_box.currentData()))
        bar.addWidget(label("Show", "Muted"))
        bar.addWidget(self.kind_box)
        bar.addWidget(label("of", "Muted"))
        bar.addWidget(self.type_box)
        bar.addStretch(1)
        layout.addLayout(bar)
        legend = label(
            f'<span style="{IN_DATA}">Underlined</span>: the name as your data marks it. '
            f'<span style="{BY_MODEL}">&nbsp;Shaded&nbsp;</span>: what the model marked. Tick “a labelling mistake” '
            "where the data is wrong rather than the model; the mark is kept with this evaluation.", "Muted", wrap=True)
        legend.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(legend)
        self.summary = label("", "Muted")
        layout.addWidget(self.summary)
        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.list)
        layout.addWidget(scroll, 1)
        self.checks: dict[str, QCheckBox] = {}
        state.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        state = self.state
        counts = state.counts()
        for index in range(1, self.kind_box.count()):
            kind = self.kind_box.itemData(index)
            self.kind_box.setItemText(index, f"{ERROR_WORDS[kind]} ({counts[kind]})")
        self.summary.setText(state.summary())
        shown = state.shown()
        if [e["id"] for e in shown] == list(self.checks):  # the same errors: only the marks changed
            for error in shown:
                box = self.checks[error["id"]]
                box.blockSignals(True)
                box.setChecked(state.is_marked(error))
                box.blockSignals(False)
            return
        while self.list_layout.count():
            item = self.list_layout.takeAt(0)
            if item.widget():
                item.widget().hide()
                item.widget().deleteLater()
        self.checks = {}
        for error in shown:
            self.list_layout.addWidget(self._error_card(error))
        if not shown:
            self.list_layout.addWidget(label("No errors of this kind.", "Muted"))
        self.list_layout.addStretch(1)

    def _error_card(self, error: dict[str, Any]) -> QWidget:
        frame, layout = card(margins=12, spacing=4)
        head = QHBoxLayout()
        head.addWidget(label(f"{ERROR_WORDS[error['kind']]} · {error['type']}", "CardTitle"))
        head.addStretch(1)
        head.addWidget(label(str(error["document"]), "Muted"))
        layout.addLayout(head)
        sentence = QLabel(sentence_html(error))
        sentence.setTextFormat(Qt.TextFormat.RichText)
        sentence.setWordWrap(True)
        sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(sentence)
        layout.addWidget(label(describe(error), "Muted", wrap=True))
        box = QCheckBox("A labelling mistake in the data, not the model's")
        box.setChecked(self.state.is_marked(error))
        box.toggled.connect(lambda checked, e=error: self.state.mark(e, checked))
        self.checks[error["id"]] = box
        layout.addWidget(box)
        return frame


def sentence_html(error: dict[str, Any]) -> str:
    parts = []
    for piece in pieces(error):
        words = html.escape(piece.text)
        style = "; ".join(s for s, on in ((IN_DATA, piece.in_data), (BY_MODEL, piece.by_model)) if on)
        parts.append(f'<span style="{style}">{words}</span>' if style else words)
    return f'<div style="font-size:12pt; line-height:150%">{"".join(parts)}</div>'

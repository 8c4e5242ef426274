"""Results of a tagger (names marked in texts): its scores, a table per kind of name (strict and overlap
precision, recall and F1), and the error review, where every missed, spurious, wrong-kind and wrong-edge mark
is shown highlighted in its sentence, and an expert can mark an error as a labelling mistake in the data.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from gui.pages.results import table, tile, _wrapped
from gui.state.error_review import ALL, ERROR_HINTS, ERROR_WORDS, ErrorReviewState, describe, pieces
from gui.state.results import examples_words, is_held_out
from gui.widgets.common import label

#: How the two marks look in a sentence: the data's name underlined, the model's mark shaded.
IN_DATA = "text-decoration: underline; color: #14532d; font-weight: 600"
BY_MODEL = "background-color: #ffd8a8"
MARKED = "#f0fdf4"  # an error marked as a labelling mistake


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
    """The errors, filtered by what went wrong and by kind of name; each in its sentence with both marks, and
    a link that marks it as a labelling mistake in the data (or takes the mark back)."""

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
        bar.addSpacing(12)
        self.summary = label("", "Muted")
        bar.addWidget(self.summary, 1)
        layout.addLayout(bar)
        legend = label(
            f'<span style="{IN_DATA}">Underlined</span>: the name as your data marks it. '
            f'<span style="{BY_MODEL}">&nbsp;Shaded&nbsp;</span>: what the model marked. Where the data is wrong '
            "rather than the model, mark the error as a labelling mistake; the mark is kept with this evaluation.",
            "Muted", wrap=True)
        legend.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(legend)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.document().setDocumentMargin(10)
        self.text.anchorClicked.connect(self._clicked)
        layout.addWidget(self.text, 1)
        state.changed.connect(self.refresh)
        self.refresh()

    def toggle(self, error: dict[str, Any]) -> None:
        """Mark the error as a labelling mistake in the data, or take the mark back."""
        self.state.mark(error, not self.state.is_marked(error))

    def _clicked(self, url: QUrl) -> None:
        shown = self.state.shown()
        if url.scheme() == "mark" and url.path().isdigit() and int(url.path()) < len(shown):
            self.toggle(shown[int(url.path())])

    def refresh(self) -> None:
        state = self.state
        counts = state.counts()
        for index in range(1, self.kind_box.count()):
            kind = self.kind_box.itemData(index)
            self.kind_box.setItemText(index, f"{ERROR_WORDS[kind]} ({counts[kind]})")
        self.summary.setText(state.summary())
        blocks = [error_html(number, error, state.is_marked(error)) for number, error in enumerate(state.shown())]
        at = self.text.verticalScrollBar().value()
        self.text.setHtml("".join(blocks) or "<p style='color:#6b7280'>No errors of this kind.</p>")
        self.text.verticalScrollBar().setValue(at)


def error_html(number: int, error: dict[str, Any], marked: bool) -> str:
    """One error as the review shows it: what went wrong, its sentence with both marks, what each side says,
    and the link that marks it (a ticked box once it is marked)."""
    box = "&#9745; A labelling mistake in the data (click to take back)" if marked else "&#9744; Mark as a labelling mistake in the data"
    return (
        '<table width="100%" cellspacing="0" cellpadding="8" style="margin-bottom:10px; border:1px solid #e3e7ed">'
        f'<tr><td style="background:{MARKED if marked else "#ffffff"}">'
        f'<b>{html.escape(ERROR_WORDS[error["kind"]])} · {html.escape(error["type"])}</b>'
        f'<span style="color:#6b7280"> &nbsp; {html.escape(str(error["document"]))}</span>'
        f"{sentence_html(error)}"
        f'<div style="color:#4b5563">{html.escape(describe(error))}</div>'
        f'<div style="margin-top:4px"><a href="mark:{number}" style="color:#1d4ed8; text-decoration:none">{box}</a></div>'
        "</td></tr></table>"
    )


def sentence_html(error: dict[str, Any]) -> str:
    parts = []
    for piece in pieces(error):
        words = html.escape(piece.text)
        style = "; ".join(s for s, on in ((IN_DATA, piece.in_data), (BY_MODEL, piece.by_model)) if on)
        parts.append(f'<span style="{style}">{words}</span>' if style else words)
    return f'<div style="font-size:12pt; margin:6px 0 4px 0">{"".join(parts)}</div>'


def _main() -> int:
    """`python -m gui.pages.tagging_results --sample`: the Results page on a sample tagger's evaluation."""
    from gui.pages import standalone
    from gui.pages.results import ResultsPage
    from gui.sample_tagging import add_sample_tagging

    def build(client: Any, runs: Any) -> ResultsPage:
        ids = add_sample_tagging(client)
        runs.refresh()
        page = ResultsPage(client, runs)
        page.show_run(ids["tagger"])
        return page

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

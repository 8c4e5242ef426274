"""A text with its marked names highlighted by kind; the more sure the model, the stronger the colour. Each
mark is followed by its kind and how sure the model was. Draws a TaggedTextState (gui/state/tagged_text.py).

    python -m gui.widgets.tagged_text      # opens alone with sample marks
"""

from __future__ import annotations

import html
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QTextBrowser, QVBoxLayout, QWidget

from gui.state.tagged_text import TaggedTextState, sample


class TaggedTextView(QWidget):
    def __init__(self, state: TaggedTextState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        self.threshold.setValue(round(state.min_confidence * 100))
        self.threshold.valueChanged.connect(lambda value: state.set_min_confidence(value / 100))
        self.threshold_words = QLabel()
        row = QHBoxLayout()
        row.addWidget(QLabel("Show marks the model is at least this sure of:"))
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_words)
        layout = QVBoxLayout(self)
        layout.addWidget(self.legend)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        state.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        state = self.state
        parts = []
        for piece in state.pieces():
            words = html.escape(piece.text).replace("\n", "<br>")
            if not piece.type:
                parts.append(words)
                continue
            colour = _with_strength(state.colour(piece.type), piece.confidence)
            tip = html.escape(f"{piece.type}, {piece.confidence:.0%} sure", quote=True)
            parts.append(
                f'<span title="{tip}" style="background-color:{colour}; border-radius:3px">{words}'
                f'<sub style="color:#555"> {html.escape(piece.type)} {piece.confidence:.0%}</sub></span>'
            )
        self.text.setHtml(f'<div style="font-size:13pt; line-height:160%">{"".join(parts)}</div>')
        legend = " &nbsp; ".join(
            f'<span style="background-color:{colour}">&nbsp;{html.escape(kind)}&nbsp;</span> {count}'
            for kind, colour, count in state.legend()
        )
        hidden = state.hidden()
        if hidden:
            legend += f" &nbsp; <i>({hidden} less sure mark{'s' if hidden > 1 else ''} hidden)</i>"
        self.legend.setText(legend or "No names marked in this text.")
        self.threshold_words.setText(f"{state.min_confidence:.0%}")
        if self.threshold.value() != round(state.min_confidence * 100):
            self.threshold.blockSignals(True)
            self.threshold.setValue(round(state.min_confidence * 100))
            self.threshold.blockSignals(False)


def _with_strength(colour: str, confidence: float) -> str:
    """The kind's colour, faded towards white as the confidence falls (a sure mark at full colour)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    keep = 0.25 + 0.75 * max(0.0, min(confidence, 1.0))
    mix = [round(255 - (255 - c) * keep) for c in (red, green, blue)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    view = TaggedTextView(sample())
    view.resize(760, 300)
    view.setWindowTitle("Marked names")
    view.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

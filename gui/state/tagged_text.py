"""A text with its marked names, ready to show: the pieces of text in order, each with its kind and how sure
the model was, a colour per kind, and a confidence below which marks are hidden. Qt-free (napari's split):
the widget in gui/widgets/tagged_text.py draws what this says.

Used by the Playground (a model's marks on a text the user types) and by the error review (true and
predicted marks of a held-out text side by side).
"""

from __future__ import annotations

from dataclasses import dataclass

from gui.state.events import Callbacks

#: Colours for the kinds of names, in the order kinds are first seen; light enough to read black text on.
PALETTE = ["#ffd166", "#8ecae6", "#b5e48c", "#f4a6c1", "#cdb4db", "#ffb38a", "#a0e7e5", "#e9c46a"]


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    type: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Piece:
    text: str
    type: str = ""  # "" for unmarked text
    confidence: float = 1.0


class TaggedTextState:
    def __init__(self, text: str = "", marks: list[Mark] | None = None, min_confidence: float = 0.0) -> None:
        self.changed = Callbacks()
        self.text = text
        self.marks: list[Mark] = []
        self.min_confidence = min_confidence
        self._colours: dict[str, str] = {}
        self.set(text, marks or [])

    def set(self, text: str, marks: list[Mark]) -> None:
        self.text = text
        self.marks = sorted((m for m in marks if 0 <= m.start < m.end <= len(text)), key=lambda m: (m.start, -m.end))
        for mark in self.marks:
            self._colours.setdefault(mark.type, PALETTE[len(self._colours) % len(PALETTE)])
        self.changed.emit()

    def set_min_confidence(self, value: float) -> None:
        self.min_confidence = min(max(value, 0.0), 1.0)
        self.changed.emit()

    def colour(self, kind: str) -> str:
        return self._colours.get(kind, PALETTE[0])

    def shown(self) -> list[Mark]:
        """The marks at or above the confidence threshold; where two overlap, the first (longer) one."""
        result: list[Mark] = []
        for mark in self.marks:
            if mark.confidence >= self.min_confidence and not (result and mark.start < result[-1].end):
                result.append(mark)
        return result

    def pieces(self) -> list[Piece]:
        pieces, at = [], 0
        for mark in self.shown():
            if mark.start > at:
                pieces.append(Piece(self.text[at : mark.start]))
            pieces.append(Piece(self.text[mark.start : mark.end], mark.type, mark.confidence))
            at = mark.end
        if at < len(self.text):
            pieces.append(Piece(self.text[at:]))
        return pieces

    def legend(self) -> list[tuple[str, str, int]]:
        """(kind, colour, how many shown) for each kind of name in the text."""
        counts: dict[str, int] = {kind: 0 for kind in self._colours if any(m.type == kind for m in self.marks)}
        for mark in self.shown():
            counts[mark.type] += 1
        return [(kind, self._colours[kind], count) for kind, count in counts.items()]

    def hidden(self) -> int:
        return len(self.marks) - len(self.shown())


def sample() -> TaggedTextState:
    """A text with marks of two kinds and mixed confidence, to open the widget alone."""
    text = (
        "Identification of APC2, a homologue of the adenomatous polyposis coli tumour suppressor. In colon "
        "carcinoma cells, loss of APC leads to the accumulation of betacatenin; BRCA1 carriers face breast "
        "cancer and ovarian cancer at younger ages."
    )

    def mark(words: str, kind: str, confidence: float, after: int = 0) -> Mark:
        start = text.index(words, after)
        return Mark(start, start + len(words), kind, confidence)

    return TaggedTextState(text, [
        mark("APC2", "Gene", 0.91), mark("adenomatous polyposis coli tumour", "Disease", 0.97),
        mark("colon carcinoma", "Disease", 0.88), mark("APC", "Gene", 0.55, text.index("loss of")), mark("BRCA1", "Gene", 0.96),
        mark("breast cancer", "Disease", 0.99), mark("ovarian cancer", "Disease", 0.42),
    ])

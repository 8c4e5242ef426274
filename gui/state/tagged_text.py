"""A text with its marked names, ready to show: the pieces of text in order, each with its kind and how sure
the model was, a colour per kind, and a confidence below which marks are hidden. Qt-free (napari's split):
the widget in gui/widgets/tagged_text.py draws what this says.

Used by the Playground (a model's marks on a text the user types) and by the error review (true and
predicted marks of a held-out text side by side).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gui.state.events import Callbacks

#: How a file of tagged texts can be saved, as the Playground offers it.
SAVE_FORMATS = {"jsonl": "JSON Lines with spans", "csv": "CSV, one row per name", "brat": "brat (.txt and .ann files)"}
#: Where a table's texts are looked for, before its first column of text.
TEXT_COLUMNS = ("text", "texts", "sentence", "content", "abstract")

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


def texts_of_file(path: str | Path) -> list[str]:
    """The texts of a file to tag: a .txt file's lines, a tagged-text file's texts, or a table's text column
    (one named like text, else its first column). Raises DataError with the sentence to show."""
    from engine.data.errors import DataError
    from engine.data.formats import read_records
    from engine.data.spans import looks_tagged, read_tagged

    path = Path(path)
    if looks_tagged(path):
        texts = [d.text for d in read_tagged(path).documents]
    elif path.suffix.lower() == ".txt":
        try:
            texts = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        except OSError:
            raise DataError("file.cannot_open", file=path.name) from None
    else:
        rows = read_records(path)
        columns = list(rows[0]) if rows else []
        column = next((c for c in columns if str(c).strip().lower() in TEXT_COLUMNS), columns[0] if columns else None)
        texts = [str(row.get(column) or "") for row in rows] if column is not None else []
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        raise DataError("spans.no_texts", file=path.name)
    return texts


def save_tagged(documents: list[dict[str, Any]], fmt: str, target: Path) -> Path:
    """Write the Playground's tagged texts ({"text", "spans": [{"start", "end", "type", "confidence"}]}) as
    JSON Lines with spans, CSV or a brat folder; returns where."""
    from engine.data.spans import Document, ScoredSpan
    from engine.data.spans.write import write_brat, write_csv, write_jsonl

    marked = [
        Document(f"text{number}", d["text"], [ScoredSpan(s["start"], s["end"], s["type"], s["confidence"]) for s in d["spans"]])
        for number, d in enumerate(documents, start=1)
    ]
    writer = {"jsonl": write_jsonl, "csv": write_csv, "brat": write_brat}[fmt]
    writer(marked, target)
    return target


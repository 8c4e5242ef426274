"""The error review of a tagger's evaluation, knowing nothing of Qt: every missed, spurious, wrong-kind and
wrong-edge mark (engine/tagging/evaluate.py wrote them into evaluation.json), filtered by what went wrong and
by kind of name, each cut into pieces of its sentence to highlight, and the marks an expert set on errors that
are mistakes in the data's labels rather than the model's (kept through the engine client, which asks the
store to write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gui.state.events import Callbacks

#: What went wrong, in the words the review shows, in the order of its filter.
ERROR_WORDS = {
    "missed": "Missed",
    "spurious": "Marked, but not a name",
    "wrong_type": "Wrong kind",
    "wrong_boundary": "Wrong edges",
}
ERROR_HINTS = {
    "missed": "A name in the data that the model did not mark at all.",
    "spurious": "The model marked words that the data does not mark as a name.",
    "wrong_type": "The model marked the name, but as another kind.",
    "wrong_boundary": "The model marked the right kind, with its start or end in the wrong place.",
}
ALL = ""
#: Errors listed at once; the filters narrow a longer list.
PAGE = 100


@dataclass(frozen=True)
class Piece:
    text: str
    in_data: bool = False  # inside the name as the data marks it
    by_model: bool = False  # inside the model's mark


class ErrorReviewState:
    def __init__(self, client: Any, evaluation_id: int, result: dict[str, Any]) -> None:
        self.changed = Callbacks()
        self.client, self.evaluation_id = client, evaluation_id
        self.errors: list[dict[str, Any]] = result.get("errors") or []
        self.total = int(result.get("error_count") or len(self.errors))
        self.kind, self.type = ALL, ALL
        self.marked: set[str] = set(client.label_mistakes(evaluation_id))

    def types(self) -> list[str]:
        return sorted({error["type"] for error in self.errors})

    def counts(self) -> dict[str, int]:
        """Errors of each kind among those of the chosen kind of name."""
        return {kind: sum(e["kind"] == kind and self.type in (ALL, e["type"]) for e in self.errors) for kind in ERROR_WORDS}

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.changed.emit()

    def set_type(self, kind: str) -> None:
        self.type = kind
        self.changed.emit()

    def matching(self) -> list[dict[str, Any]]:
        return [e for e in self.errors if self.kind in (ALL, e["kind"]) and self.type in (ALL, e["type"])]

    def shown(self) -> list[dict[str, Any]]:
        return self.matching()[:PAGE]

    def is_marked(self, error: dict[str, Any]) -> bool:
        return error["id"] in self.marked

    def mark(self, error: dict[str, Any], mistake: bool) -> None:
        """Keep (or withdraw) the mark that this error is a labelling mistake in the data."""
        self.client.mark_label_mistake(self.evaluation_id, error["id"], mistake)
        self.marked = set(self.client.label_mistakes(self.evaluation_id))
        self.changed.emit()

    def summary(self) -> str:
        matching = len(self.matching())
        shown = min(matching, PAGE)
        words = f"{matching:,} error{'s' if matching != 1 else ''}"
        if shown < matching:
            words = f"the first {shown:,} of {words}; choose a kind to see others"
        elif self.total > len(self.errors) and self.kind == ALL and self.type == ALL:
            words += f" (of {self.total:,}; the rest were not kept)"
        marked = len(self.marked)
        if marked:
            words += f" · {marked} marked as labelling mistakes in the data"
        return words.capitalize() if words[0].islower() else words


def pieces(error: dict[str, Any]) -> list[Piece]:
    """The error's sentence cut where either mark starts or ends, each piece saying which marks cover it."""
    text = error["context"]
    truth, guess = error.get("truth"), error.get("predicted")
    cuts = sorted({0, len(text), *(p for s in (truth, guess) if s for p in (s["start"], s["end"]))})
    result = []
    for start, end in zip(cuts, cuts[1:]):
        if start >= end:
            continue
        result.append(Piece(
            text[start:end],
            bool(truth and truth["start"] <= start and end <= truth["end"]),
            bool(guess and guess["start"] <= start and end <= guess["end"]),
        ))
    return result


def describe(error: dict[str, Any]) -> str:
    """What the data and the model say, in a line: "In the data: 'colon cancer' (Disease). The model: 'colon' (Disease, 81% sure)."""
    text = error["context"]

    def said(span: dict[str, Any] | None) -> str:
        if span is None:
            return "nothing"
        sure = f", {span['confidence']:.0%} sure" if "confidence" in span else ""
        return f"'{text[span['start']:span['end']]}' ({span['type']}{sure})"

    return f"In the data: {said(error.get('truth'))}. The model: {said(error.get('predicted'))}."

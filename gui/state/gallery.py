"""The gallery of an image model's evaluation, knowing nothing of Qt: the pictures it got wrong and a few it
got right (engine/images/evaluate.py wrote them into evaluation.json, each with its heat map), filtered by
right or wrong, by the right category and by the model's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui.state.events import Callbacks

WRONG, RIGHT, ALL = "wrong", "right", ""
#: The choices of the first filter, in the words the gallery shows.
WHICH_WORDS = {WRONG: "Wrong answers", RIGHT: "Right answers", ALL: "Right and wrong answers"}


def answer_words(categories: list[str]) -> str:
    return ", ".join(categories) or "none"


class GalleryState:
    def __init__(self, result: dict[str, Any]) -> None:
        self.changed = Callbacks()
        wrong, right = result.get("wrong") or [], result.get("right") or []
        self.entries = [{**entry, "wrong": True} for entry in wrong] + [{**entry, "wrong": False} for entry in right]
        self.wrong_count = int(result.get("wrong_count") or len(wrong))
        self.which, self.expected, self.predicted = WRONG if wrong else ALL, ALL, ALL

    def categories(self) -> list[str]:
        return sorted({name for entry in self.entries for name in entry["expected"] + entry["predicted"]})

    def set_which(self, which: str) -> None:
        self.which = which
        self.changed.emit()

    def set_expected(self, category: str) -> None:
        self.expected = category
        self.changed.emit()

    def set_predicted(self, category: str) -> None:
        self.predicted = category
        self.changed.emit()

    def shown(self) -> list[dict[str, Any]]:
        return [
            entry for entry in self.entries
            if (self.which == ALL or entry["wrong"] == (self.which == WRONG))
            and self.expected in (ALL, *entry["expected"]) and self.predicted in (ALL, *entry["predicted"])
        ]

    def summary(self) -> str:
        """How many are shown, and that the evaluation keeps only the first of many mistakes."""
        shown = len(self.shown())
        words = f"{shown} picture{'s' if shown != 1 else ''} shown"
        kept = sum(entry["wrong"] for entry in self.entries)
        if self.which != RIGHT and self.wrong_count > kept:
            words += f"; the evaluation kept the first {kept} of its {self.wrong_count:,} mistakes"
        return words + "."


def caption(entry: dict[str, Any]) -> str:
    """Under a picture in the gallery: the right category, the model's, and how sure it was."""
    return (f"Right: {answer_words(entry['expected'])}\n"
            f"Model: {answer_words(entry['predicted'])} ({entry['confidence']:.0%})")


def describe(entry: dict[str, Any]) -> str:
    """Beside a picture shown large: its name, both answers, and the model's top probabilities."""
    top = ", ".join(f"{name} {p:.0%}" for name, p in (entry.get("probabilities") or {}).items())
    verdict = "Wrong" if entry["wrong"] else "Right"
    return (f"{entry.get('picture') or Path(entry['file']).name}\n{verdict}. The right category: "
            f"{answer_words(entry['expected'])}; the model's: {answer_words(entry['predicted'])}, "
            f"{entry['confidence']:.0%} sure.\nIts most likely categories: {top}.")

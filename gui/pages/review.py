"""Blind review: the tuned and the starting model's answers to one prompt (a distilled student's and its
teacher's), in an order the person cannot guess, and a verdict (A, B or a tie) for each; the win rate with its uncertainty grows as they judge.

The order of prompts and the side of the tuned answer come from `review_order`, seeded by the evaluation run,
so a review that is closed and reopened shows the same pairs the same way round and starts at the first prompt
not judged yet. Verdicts go straight into the database (`reviews`), with the win rate beside them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gui.state.results import (
    WinRate,
    record_verdict,
    review_order,
    reviewable,
    sides,
    win_rate,
)
from gui.widgets.common import card, label


class BlindReview(QWidget):
    judged = Signal()  # a verdict was stored

    def __init__(self, client: Any, evaluation_id: int, result: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.evaluation_id = client, evaluation_id
        self.answers = result.get("answers") or []
        self.sides = sides(result)
        rows = reviewable(result)
        # The seeded order over all answers, keeping those with a starting model's answer to compare.
        self.order = [(index, side) for index, side in review_order(evaluation_id, len(self.answers)) if index in rows]
        self.position = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 4, 4)
        layout.setSpacing(10)
        layout.addWidget(label(
            f"Two answers to the same prompt: one from the {self.sides.ours}, one from the {self.sides.theirs}, in an "
            "order you cannot guess. Pick the better answer, or a tie if neither is better.", "Muted", wrap=True))
        top = QHBoxLayout()
        self.counter = label("", "SectionTitle")
        top.addWidget(self.counter)
        top.addStretch(1)
        self.back_button = QPushButton("← Previous")
        self.back_button.setObjectName("Link")
        self.back_button.clicked.connect(lambda: self.show_position(self.position - 1))
        top.addWidget(self.back_button)
        layout.addLayout(top)
        self.prompt = label("", wrap=True, selectable=True)
        self.prompt.setStyleSheet("QLabel { font-size: 11pt; }")
        layout.addWidget(self.prompt)

        panes = QHBoxLayout()
        panes.setSpacing(12)
        self.answer_views: dict[str, QTextBrowser] = {}
        self.buttons: dict[str, QPushButton] = {}
        for side in ("A", "B"):
            frame, box = card(margins=12, spacing=6)
            box.addWidget(label(f"Answer {side}", "CardTitle"))
            view = QTextBrowser()
            view.setFrameShape(QTextBrowser.Shape.NoFrame)
            view.setMinimumHeight(90)
            box.addWidget(view, 1)
            self.answer_views[side] = view
            panes.addWidget(frame, 1)
        layout.addLayout(panes, 1)

        choices = QHBoxLayout()
        choices.addStretch(1)
        for verdict, words in (("A", "A is better"), ("tie", "About the same"), ("B", "B is better")):
            button = QPushButton(words)
            button.setObjectName("Primary" if verdict != "tie" else "")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, v=verdict: self.judge(v))
            self.buttons[verdict] = button
            choices.addWidget(button)
        choices.addStretch(1)
        layout.addLayout(choices)
        self.score = label("", wrap=True, selectable=True)
        self.score.setStyleSheet("QLabel { font-weight: 600; }")
        layout.addWidget(self.score)

        done = {row["prompt_index"] for row in client.reviews(evaluation_id)}
        first_open = next((i for i, (index, _) in enumerate(self.order) if index not in done), len(self.order))
        self.show_position(first_open)

    # ------------------------------------------------------------ showing a pair

    def show_position(self, position: int) -> None:
        self.position = max(0, min(position, len(self.order)))
        verdicts = {row["prompt_index"]: row["verdict"] for row in self.client.reviews(self.evaluation_id)}
        finished = self.position >= len(self.order)
        self.back_button.setVisible(self.position > 0)
        for button in self.buttons.values():
            button.setEnabled(not finished)
        if not self.order:
            self.counter.setText("Nothing to review")
            self.prompt.setText(f"This evaluation has no answers from the {self.sides.theirs} to compare with.")
        elif finished:
            self.counter.setText(f"All {len(self.order)} pairs judged")
            self.prompt.setText("Thank you. Go back to change a verdict; the win rate below counts every verdict.")
        else:
            index, tuned_side = self.order[self.position]
            row = self.answers[index]
            earlier = verdicts.get(index)
            shown = f"  ·  your verdict: {'tie' if earlier == 'tie' else earlier}" if earlier else ""
            self.counter.setText(f"Pair {self.position + 1} of {len(self.order)}{shown}")
            self.prompt.setText(f"<b>Prompt:</b> {_escape(row['prompt'])}")
            tuned, base = row["answer"], row[self.sides.key]
            self.answer_views["A"].setPlainText(tuned if tuned_side == "A" else base)
            self.answer_views["B"].setPlainText(base if tuned_side == "A" else tuned)
        if finished or not self.order:
            for view in self.answer_views.values():
                view.clear()
        self.score.setText(self.win_rate().sentence())

    def current_pair(self) -> tuple[int, str] | None:
        """(answer row, the side the tuned answer is on), or None when every pair is judged."""
        return self.order[self.position] if self.position < len(self.order) else None

    def win_rate(self) -> WinRate:
        return win_rate(self.client.reviews(self.evaluation_id), self.sides)

    # ------------------------------------------------------------ judging

    def judge(self, verdict: str) -> None:
        pair = self.current_pair()
        if pair is None:
            return
        index, tuned_side = pair
        record_verdict(self.client, self.evaluation_id, index, tuned_side, verdict)
        self.show_position(self.position + 1)
        self.judged.emit()


def _escape(text: str) -> str:
    import html

    return html.escape(text)

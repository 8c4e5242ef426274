"""One finding of the data doctor as the Data page shows it: how serious, the sentence, example rows, its fix."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from gui.widgets.common import label, rgba

SEVERITY = {"error": ("#b91c1c", "Problem"), "warning": ("#c2410c", "Warning"), "advice": ("#2563eb", "Advice"),
            "info": ("#4b5563", "Note")}


def finding_widget(severity: str, text: str, rows: list[int], button: QPushButton | None = None, *,
                   eval_rows: bool = False) -> QWidget:
    colour, words = SEVERITY.get(severity, SEVERITY["info"])
    frame = QFrame()
    frame.setObjectName("Finding")
    frame.setStyleSheet(
        f"QFrame#Finding {{ background: {rgba(colour, 0.04)}; border: 1px solid {rgba(colour, 0.25)};"
        " border-radius: 8px; }"
    )
    row = QHBoxLayout(frame)
    row.setContentsMargins(12, 8, 12, 8)
    pill = label(words)
    pill.setStyleSheet(f"QLabel {{ color: {colour}; font-weight: 600; }}")
    pill.setFixedWidth(70)
    pill.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    row.addWidget(pill)
    column = QVBoxLayout()
    column.setSpacing(2)
    column.addWidget(label(text, wrap=True, selectable=True))
    if rows:
        where = "evaluation rows" if eval_rows else "rows"
        column.addWidget(label(f"For example {where} {', '.join(map(str, rows))}", "FieldHelp"))
    row.addLayout(column, 1)
    if button is not None:
        row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
    return frame

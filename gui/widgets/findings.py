"""One finding of the data doctor as the Data page shows it: how serious, the sentence, example rows (or
example pictures, as thumbnails), its fix."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from gui.widgets.common import label, rgba
from gui.widgets.pictures import thumbnail_row

#: The side of a finding's example thumbnails, in pixels.
THUMB = 72

SEVERITY = {"error": ("#b91c1c", "Problem"), "warning": ("#c2410c", "Warning"), "advice": ("#2563eb", "Advice"),
            "info": ("#4b5563", "Note")}


def finding_widget(severity: str, text: str, rows: list, button: QPushButton | None = None, *,
                   eval_rows: bool = False, pictures: list[str] | None = None) -> QWidget:
    """`rows`: the example rows' numbers; with `pictures` (the example pictures' files), the examples' names
    and the pictures' thumbnails instead."""
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
    if rows and pictures is not None:
        column.addWidget(label(f"For example {', '.join(map(str, rows))}", "FieldHelp", wrap=True))
        if pictures:
            column.addWidget(thumbnail_row(pictures, THUMB))
    elif rows:
        where = "evaluation rows" if eval_rows else "rows"
        column.addWidget(label(f"For example {where} {', '.join(map(str, rows))}", "FieldHelp"))
    row.addLayout(column, 1)
    if button is not None:
        row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
    return frame

"""Small building blocks shared by the pages: cards, titles, the status pill."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from gui.state.format import status_colour, status_word


def label(text: str = "", name: str | None = None, *, wrap: bool = False, selectable: bool = False) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    if selectable:
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return widget


def card(name: str = "Card", margins: int = 18, spacing: int = 10) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(margins, margins - 2, margins, margins)
    layout.setSpacing(spacing)
    return frame, layout


def scrolling(content: QWidget) -> QScrollArea:
    """`content` in a scroll area that fits its width (pages are taller than a small window)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(content)
    return scroll


def fill_with_scrolling(page: QWidget, content: QWidget) -> None:
    """Make `content`, scrolling, the whole of `page`."""
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scrolling(content))


def page_header(title: str, subtitle: str = "") -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 6)
    layout.setSpacing(2)
    layout.addWidget(label(title, "PageTitle"))
    if subtitle:
        layout.addWidget(label(subtitle, "PageSubtitle", wrap=True))
    return box


def rgba(hex_colour: str, alpha: float) -> str:
    """'#2563eb', 0.1 -> 'rgba(37, 99, 235, 25)' (style sheets read 8-digit hex as ARGB, not RGBA)."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {round(alpha * 255)})"


class StatusPill(QLabel):
    """The status in words on a tinted background of its colour."""

    def __init__(self, status: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = ""
        self.set_status(status)

    def set_status(self, status: str) -> None:
        self.status = status
        colour = status_colour(status)
        self.setText(status_word(status) if status else "")
        self.setStyleSheet(
            f"QLabel {{ color: {colour}; background: {rgba(colour, 0.09)}; border: 1px solid {rgba(colour, 0.35)};"
            " border-radius: 10px; padding: 2px 10px; font-weight: 600; }"
        )
        self.setVisible(bool(status))


class ChoiceCard(QFrame):
    """A big choice: a bold title and a line or two under it, checked with a click (a push button's own text
    cannot be styled in parts, nor grow with its words)."""

    clicked = Signal()

    def __init__(self, title: str, *lines: str) -> None:
        super().__init__()
        self.setObjectName("Choice")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 12, 18, 12)
        column.setSpacing(2)
        column.addWidget(label(title, "Big", wrap=True))
        for line in lines:
            column.addWidget(label(line, "Muted", wrap=True))
        self.setChecked(False)

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.clicked.emit()

    def isChecked(self) -> bool:  # noqa: N802 - as a button says it
        return bool(self.property("checked"))

    def setChecked(self, checked: bool) -> None:  # noqa: N802
        self.setProperty("checked", checked)
        self.style().unpolish(self)
        self.style().polish(self)

"""The confusion matrix as a heat map, readable from 3 categories to a hundred.

Rows are the true category, columns the one the model chose. Column names are written upwards and cut
with "…" past a length (the whole name is in the tooltip), so that many categories keep their names; the
cells keep a size that fits their counts, and past what the page can show the table scrolls rather than
squeezing its cells or running over what is below it.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QLinearGradient, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from gui.state.results import confusion_shares

# The heat map's colours: white for none of a true category's examples, deep blue for all of them.
COLD, HOT = QColor("#ffffff"), QColor("#1d4ed8")
UNKNOWN = "(not a trained category)"
CELL = 32  # the smallest cell, in pixels: a three-digit count still fits
NAME_LENGTH = 180  # the longest a column's name is drawn before it is cut with "…"
ROW_NAME_WIDTH = 220  # the same for the rows' names
VISIBLE_HEIGHT = 640  # past this the table scrolls inside the page


def heat_colour(share: float) -> QColor:
    share = max(0.0, min(1.0, share))
    return QColor(
        round(COLD.red() + (HOT.red() - COLD.red()) * share),
        round(COLD.green() + (HOT.green() - COLD.green()) * share),
        round(COLD.blue() + (HOT.blue() - COLD.blue()) * share),
    )


class ColourScale(QWidget):
    """The heat map's key: the gradient from 0% to 100% of a true category's examples."""

    def __init__(self) -> None:
        super().__init__()
        self.setFixedHeight(34)
        self.setMinimumWidth(220)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        bar = QRectF(0, 2, self.width() - 1, 12)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        gradient.setColorAt(0.0, COLD)
        gradient.setColorAt(1.0, HOT)
        painter.setPen(QColor("#cfd6df"))
        painter.setBrush(QBrush(gradient))
        painter.drawRect(bar)
        painter.setPen(QColor("#6b7280"))
        text = QRectF(0, 16, self.width(), 16)
        painter.drawText(text, int(Qt.AlignmentFlag.AlignLeft), "0%")
        painter.drawText(text, int(Qt.AlignmentFlag.AlignHCenter), "share of the true category's examples")
        painter.drawText(text, int(Qt.AlignmentFlag.AlignRight), "100%")


class HeatCell(QStyledItemDelegate):
    """Paints a cell in its own colour: the app's style sheet draws table cells itself and would hide the
    items' background colours."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        painter.fillRect(option.rect.adjusted(1, 1, -1, -1), index.data(Qt.ItemDataRole.BackgroundRole).color())
        painter.setPen(index.data(Qt.ItemDataRole.ForegroundRole).color())
        font = painter.font()
        font.setBold(index.row() == index.column())
        painter.setFont(font)
        painter.drawText(option.rect, int(Qt.AlignmentFlag.AlignCenter), index.data())
        painter.restore()


class UprightNames(QHeaderView):
    """A column header whose names read upwards, cut to NAME_LENGTH pixels; each whole in its tooltip. A few
    short names, which fit across their columns, are written across as usual (`upright` False)."""

    def __init__(self, parent: QWidget, upright: bool = True) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.upright = upright
        self.setMinimumSectionSize(CELL)
        self.setDefaultSectionSize(CELL)
        self.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def name(self, index: int) -> str:
        return str(self.model().headerData(index, self.orientation(), Qt.ItemDataRole.DisplayRole) or "")

    def drawn_name(self, index: int) -> str:
        """The name as drawn upright: whole when it fits, cut with "…" when it does not."""
        return self.fontMetrics().elidedText(self.name(index), Qt.TextElideMode.ElideRight, NAME_LENGTH)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if not self.upright:
            hint.setHeight(self.fontMetrics().height() + 14)
            return hint
        longest = max((self.fontMetrics().horizontalAdvance(self.drawn_name(i)) for i in range(self.count())), default=0)
        hint.setHeight(longest + 14)
        return hint

    def paintSection(self, painter: QPainter, rect: QRect, index: int) -> None:
        painter.save()
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Base))
        painter.setPen(QColor("#e5e7eb"))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        metrics = self.fontMetrics()
        if not self.upright:
            text = metrics.elidedText(self.name(index), Qt.TextElideMode.ElideRight, rect.width() - 8)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
            painter.restore()
            return
        # upwards from the bottom of the section, centred on its column
        painter.translate(rect.center().x() + (metrics.ascent() - metrics.descent()) / 2, rect.bottom() - 7)
        painter.rotate(-90)
        painter.drawText(0, 0, self.drawn_name(index))
        painter.restore()


class ConfusionHeatMap(QTableWidget):
    """Rows: the true category; columns: the one the model chose; each cell its count, coloured by its share
    of the row, so the diagonal (right answers) is dark and every mistake stands out in its own row."""

    def __init__(self, labels: list[str], matrix: list[list[int]]) -> None:
        rows = [(name, counts) for name, counts in zip([*labels, UNKNOWN], matrix) if name != UNKNOWN or sum(counts)]
        super().__init__(len(rows), len(labels))
        # across when a few short names fit their columns (about 110 pixels at the narrowest page), else upwards
        longest = max((self.fontMetrics().horizontalAdvance(name) for name in labels), default=0)
        self.setHorizontalHeader(UprightNames(self, upright=len(labels) > 8 or longest > 100))
        for column, name in enumerate(labels):
            header = QTableWidgetItem(name)
            header.setToolTip(f"Chosen by the model: {name}")
            self.setHorizontalHeaderItem(column, header)
        for row, (name, _) in enumerate(rows):
            header = QTableWidgetItem(name)
            header.setToolTip(f"The right category: {name}")
            self.setVerticalHeaderItem(row, header)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setShowGrid(False)
        self.setItemDelegate(HeatCell(self))
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        side = self.verticalHeader()
        side.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        side.setDefaultSectionSize(CELL)
        side.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        side.setTextElideMode(Qt.TextElideMode.ElideRight)
        side.setMaximumWidth(ROW_NAME_WIDTH)
        shares = confusion_shares([counts for _, counts in rows])
        for r, ((name, counts), row_shares) in enumerate(zip(rows, shares)):
            for c, (count, share) in enumerate(zip(counts, row_shares)):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(heat_colour(share))
                item.setForeground(QColor("#ffffff" if share > 0.5 else "#1f2937"))
                item.setToolTip(f"{count} texts of {name} were sorted as {labels[c]} ({share:.0%} of {name})")
                self.setItem(r, c, item)
        whole = self.horizontalHeader().sizeHint().height() + CELL * len(rows) + 2 * self.frameWidth()
        self.setFixedHeight(min(whole, VISIBLE_HEIGHT))

    def cell_colour(self, row: int, column: int) -> QColor:
        return self.item(row, column).background().color()

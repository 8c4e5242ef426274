"""Runs: every run in a table (status, progress, time left, best result), filtered and sorted."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.state.eta import TIME_LEFT as STEADY
from gui.state.format import KIND_WORDS, STATUS_GROUPS, best_metric, shown_status, status_colour, status_word, time_left, when
from gui.state.runs import RunsModel, matches
from gui.theme import ACCENT
from gui.widgets.common import label, page_header

COLUMNS = ["Name", "Task", "Status", "Progress", "Time left", "Best result", "Started"]
NAME, TASK, STATUS, PROGRESS, TIME_LEFT, BEST, STARTED = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class RunsTableModel(QAbstractTableModel):
    """The `RunsModel`'s runs as table rows; resets only when runs come or go, else updates in place."""

    def __init__(self, runs: RunsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self._ids: list[int] = [run["id"] for run in runs.runs]
        runs.changed.connect(self._on_changed)

    def _on_changed(self) -> None:
        ids = [run["id"] for run in self.runs.runs]
        if ids != self._ids:
            self.beginResetModel()
            self._ids = ids
            self.endResetModel()
        elif ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def run_at(self, row: int) -> dict[str, Any]:
        return self.runs.runs[row]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.run_at(index.row())
        column = index.column()
        status = shown_status(run)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(run, column, status)
        if role == SORT_ROLE:
            return self._sort_key(run, column, status)
        if role == RUN_ID_ROLE:
            return run["id"]
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return QBrush(QColor(status_colour(status)))
        if role == Qt.ItemDataRole.FontRole and column in (NAME, STATUS):
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold if column == STATUS else QFont.Weight.Medium)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS and run.get("error"):
            return run["error"]
        if role == Qt.ItemDataRole.ForegroundRole and column in (TASK, TIME_LEFT, STARTED):
            return QBrush(QColor("#6b7280"))
        return None

    @staticmethod
    def _text(run: dict[str, Any], column: int, status: str) -> str:
        if column == NAME:
            return run["name"] or f"Run {run['id']}"
        if column == TASK:
            return KIND_WORDS.get(run["kind"], run["kind"])
        if column == STATUS:
            return status_word(status)
        if column == PROGRESS:
            return f"{(run['progress'] or 0) * 100:.0f}%"
        if column == TIME_LEFT:
            return time_left(STEADY.seconds(run)).removesuffix(" left") if status in ("running", "preparing", "pausing") else ""
        if column == BEST:
            return best_metric(run)
        if column == STARTED:
            return when(run["started_at"] or run["created_at"])
        return ""

    @staticmethod
    def _sort_key(run: dict[str, Any], column: int, status: str) -> Any:
        if column == NAME:
            return (run["name"] or "").lower()
        if column == TASK:
            return run["kind"]
        if column == STATUS:
            return status_word(status)
        if column == PROGRESS:
            return float(run["progress"] or 0)
        if column == TIME_LEFT:
            return float(run["eta_seconds"]) if run["eta_seconds"] is not None else float("inf")
        if column == BEST:
            return float(run["best_metric"]) if run["best_metric"] is not None else float("-inf")
        if column == STARTED:
            return float(run["started_at"] or run["created_at"] or 0)
        return None


class RunsFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.group = "All runs"
        self.text = ""
        self.setSortRole(SORT_ROLE)

    def set_filter(self, group: str | None = None, text: str | None = None) -> None:
        if group is not None:
            self.group = group
        if text is not None:
            self.text = text
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        model: RunsTableModel = self.sourceModel()  # type: ignore[assignment]
        return matches(model.run_at(source_row), self.group, self.text)


class ProgressDelegate(QStyledItemDelegate):
    """A thin rounded bar with the percentage beside it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        option.widget.style().drawControl(option.widget.style().ControlElement.CE_ItemViewItem, option, painter, option.widget)
        value = float(index.data(SORT_ROLE) or 0)
        rect = option.rect.adjusted(8, 0, -8, 0)
        text_width = option.fontMetrics.horizontalAdvance("100%") + 8
        bar = QRectF(rect.left(), rect.center().y() - 3, max(10, rect.width() - text_width), 6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        path = QPainterPath()
        path.addRoundedRect(bar, 3, 3)
        painter.fillPath(path, QColor("#e5e9f0"))
        if value > 0:
            done = QPainterPath()
            done.addRoundedRect(QRectF(bar.left(), bar.top(), max(6.0, bar.width() * min(value, 1.0)), bar.height()), 3, 3)
            painter.fillPath(done, QColor(ACCENT))
        painter.setPen(QColor("#6b7280"))
        text_rect = rect.adjusted(int(bar.width()) + 8, 0, 0, 0)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), index.data())
        painter.restore()


class RunsPage(QWidget):
    open_run = Signal(int)
    new_run = Signal()

    def __init__(self, runs: RunsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.model = RunsTableModel(runs, self)
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        header = QHBoxLayout()
        header.addWidget(page_header("Runs", "Every model you have trained or are training. Double-click one to watch it."), 1)
        new = QPushButton("New run")
        new.setObjectName("Primary")
        new.clicked.connect(self.new_run)
        header.addWidget(new, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)

        bar = QHBoxLayout()
        bar.setSpacing(10)
        self.group = QComboBox()
        self.group.addItems(list(STATUS_GROUPS))
        self.group.currentTextChanged.connect(lambda group: self.proxy.set_filter(group=group))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a run by name, model or data…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self.proxy.set_filter(text=text))
        bar.addWidget(label("Show", "Muted"))
        bar.addWidget(self.group)
        bar.addWidget(self.search, 1)
        layout.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(STARTED, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAlternatingRowColors(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        head = self.table.horizontalHeader()
        head.setHighlightSections(False)
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column, width in ((TASK, 175), (STATUS, 115), (PROGRESS, 160), (TIME_LEFT, 110), (BEST, 135), (STARTED, 110)):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(self._open_index)
        self.table.activated.connect(self._open_index)
        layout.addWidget(self.table, 1)

        self.empty = label("No runs yet. Click New run, or start the demo from Home.", "Muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.empty)
        runs.changed.connect(self._update_empty)
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(not self.runs.runs)

    def _open_index(self, index: QModelIndex) -> None:
        self.open_run.emit(int(index.data(RUN_ID_ROLE)))

    def visible_rows(self) -> list[dict[str, str]]:
        """What the table shows, row by row, as {column: text}: for tests and for a look at a glance."""
        return [
            {COLUMNS[c]: self.proxy.index(r, c).data() for c in range(len(COLUMNS))} | {"id": self.proxy.index(r, 0).data(RUN_ID_ROLE)}
            for r in range(self.proxy.rowCount())
        ]


def _main() -> int:
    """`python -m gui.pages.runs --sample`: the page alone, on sample data."""
    from gui.pages import standalone

    return standalone.run(lambda client, runs: RunsPage(runs))


if __name__ == "__main__":
    raise SystemExit(_main())

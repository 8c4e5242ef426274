"""Models: every model on this computer in a table, the selected one's details, adding a folder, and a
Hugging Face Hub search with downloads (progress, pause, resume).

The catalog is read from disk on a worker thread (headers of weight files, the Hugging Face cache), and the
Hub is asked on another, only when the user searches; the page never waits on either. Downloads run as
engine processes; their rows in the database move the progress bars (`refresh_downloads`, called when the
database changes).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.engine_client import TASKS, ConfigError, EngineClient, Hardware, HubModel, HubUnavailable, JobError, ModelInfo
from gui.state.format import size
from gui.state.models import (
    FIT_COLOURS,
    context_text,
    count,
    details,
    download_fraction,
    download_text,
    fit_for,
    licence_text,
    parameters_text,
    source_text,
    task_text,
)
from gui.widgets.common import card, fill_with_scrolling, label, page_header

COLUMNS = ["Name", "Task", "Parameters", "Context", "Licence", "Size", "Memory needed", "Where"]
NAME, TASK, PARAMETERS, CONTEXT, LICENCE, SIZE, FIT, WHERE = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole
HUB_TASKS = [(name, task.words.hub) for name, task in reversed(TASKS.items())]  # chat models first: most searched
MUTED = "#6b7280"
PROBLEM = "#b91c1c"
ROW_HEIGHT = 34


class CatalogModel(QAbstractTableModel):
    """The catalog's entries as table rows."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.models: list[ModelInfo] = []
        self.hardware: Hardware | None = None

    def set_models(self, models: list[ModelInfo]) -> None:
        self.beginResetModel()
        self.models = models
        self.endResetModel()

    def set_hardware(self, hardware: Hardware | None) -> None:
        self.hardware = hardware
        if self.models:
            self.dataChanged.emit(self.index(0, FIT), self.index(len(self.models) - 1, FIT))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.models)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        model = self.models[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(model, column)
        if role == SORT_ROLE:
            return self._sort_key(model, column, index.row())
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == TASK and not model.usable:
                return QBrush(QColor(PROBLEM))
            if column == FIT:
                return QBrush(QColor(FIT_COLOURS[fit_for(model, self.hardware).level]))
            if not model.usable or column in (CONTEXT, LICENCE, SIZE, WHERE):
                return QBrush(QColor(MUTED))
        if role == Qt.ItemDataRole.FontRole and column == NAME:
            font = QFont()
            font.setWeight(QFont.Weight.Medium)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if model.problem:
                return model.problem
            if column == FIT:
                return fit_for(model, self.hardware).detail
            if column == PARAMETERS and model.parameters_how:
                return f"{model.parameters:,} parameters, {model.parameters_how}." if model.parameters else None
            if column == WHERE:
                return model.path
        return None

    def _text(self, model: ModelInfo, column: int) -> str:
        if column == NAME:
            return model.name
        if column == TASK:
            return task_text(model) if model.usable else "Can't be used"
        if column == PARAMETERS:
            return parameters_text(model)
        if column == CONTEXT:
            return context_text(model.context_length)
        if column == LICENCE:
            return licence_text(model.licence) or "Not stated"
        if column == SIZE:
            return size(model.disk_size) if model.disk_size else ""
        if column == FIT:
            return fit_for(model, self.hardware).words or "Not known yet"
        if column == WHERE:
            return source_text(model.source)
        return ""

    def _sort_key(self, model: ModelInfo, column: int, row: int) -> Any:
        if column == PARAMETERS:
            return model.parameters or 0
        if column == CONTEXT:
            return model.context_length or 0
        if column == SIZE:
            return model.disk_size
        if column == FIT:
            return model.parameters or 0
        if column == WHERE:
            return row  # the catalog's own order: bundled, added, then the cache
        return self._text(model, column).lower()


NAME_WIDTH = 290
SHORT_FACTS = 6  # the first facts of `details`, shown two to a line


class DownloadRow(QWidget):
    """One download: its name, a bar, how far it is, and Pause / Resume."""

    act = Signal(int, str)  # download id, "pause" or "resume"

    def __init__(self, row: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.download_id = int(row["id"])
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setHorizontalSpacing(14)
        layout.setVerticalSpacing(2)
        self.name = label(row["repo_id"])
        self.name.setFixedWidth(NAME_WIDTH)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)
        self.words = label("", "Muted", wrap=True)
        self.button = QPushButton()
        self.button.setFixedWidth(96)
        self.button.clicked.connect(lambda: self.act.emit(self.download_id, self.button.property("action")))
        layout.addWidget(self.name, 0, 0)
        layout.addWidget(self.bar, 0, 1)
        layout.addWidget(self.words, 0, 2)
        layout.addWidget(self.button, 0, 3)
        layout.setColumnStretch(2, 1)
        self.update_row(row)

    def update_row(self, row: dict[str, Any]) -> None:
        status = row["status"]
        self.bar.setValue(round(download_fraction(row) * 1000))
        self.words.setText(download_text(row))
        self.words.setObjectName("ErrorText" if status == "failed" else "Muted")
        self.words.setStyleSheet("")  # re-read the style for the new object name
        action = {"downloading": "pause", "queued": "pause", "paused": "resume", "failed": "resume"}.get(status, "")
        self.button.setProperty("action", action)
        self.button.setText({"pause": "Pause", "resume": "Resume" if status == "paused" else "Try again"}.get(action, ""))
        self.button.setVisible(bool(action))
        self.bar.setVisible(status != "failed")


class ModelsPage(QWidget):
    models_found = Signal(object)  # emitted from the catalog's worker thread
    search_done = Signal(object, str)  # results, or a sentence when the Hub could not be asked
    added = Signal(object)
    hardware_found = Signal(object)  # from the hardware probe's thread

    def __init__(self, client: EngineClient, hardware: Hardware | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.hardware = hardware
        self.results: list[HubModel] = []
        self.download_rows: dict[int, DownloadRow] = {}
        self.completed: set[int] = set()
        self.loading = False
        self._reload_again = False
        self._select_after_load = ""

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        header = QHBoxLayout()
        header.addWidget(page_header(
            "Models",
            "Every model on this computer: the demos, folders you added, and models downloaded before.",
        ), 1)
        self.add_button = QPushButton("Add a folder…")
        self.add_button.setToolTip("A folder with a model's config.json and .safetensors weights (or a .gguf file).")
        self.add_button.clicked.connect(self.choose_folder)
        header.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.add_message = label("", "ErrorText", wrap=True, selectable=True)
        self.add_message.hide()
        layout.addWidget(self.add_message)

        self.table_model = CatalogModel(self)
        self.table_model.set_hardware(hardware)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = self._catalog_table()
        layout.addWidget(self.table)
        self.loading_label = label("Looking for the models on this computer…", "Muted", wrap=True)
        layout.addWidget(self.loading_label)
        layout.addWidget(self._downloads_strip())
        bottom = QHBoxLayout()
        bottom.setSpacing(18)
        bottom.addWidget(self._details_card(), 1, Qt.AlignmentFlag.AlignTop)
        bottom.addWidget(self._hub_card(), 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(bottom)
        layout.addStretch(1)

        fill_with_scrolling(self, content)

        self.models_found.connect(self.show_models)
        self.search_done.connect(self.show_results)
        self.hardware_found.connect(self.set_hardware)
        self.reload()
        self.refresh_downloads()

    # ------------------------------------------------------------ building

    def _catalog_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.proxy.sort(-1)  # the catalog's own order (demos, added folders, the cache) until a header is clicked
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        table.setMinimumHeight(170)
        head = table.horizontalHeader()
        head.setHighlightSections(False)
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        head.setMinimumSectionSize(60)
        for column, width in ((TASK, 110), (PARAMETERS, 95), (CONTEXT, 95), (LICENCE, 95), (SIZE, 75), (FIT, 165), (WHERE, 145)):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, width)
        table.selectionModel().currentRowChanged.connect(lambda current, _: self.show_details(self.model_at(current)))
        return table

    def _downloads_strip(self) -> QWidget:
        """Downloads under the table: each becomes a row of the table when it is complete."""
        self.downloads_frame, layout = card(margins=12, spacing=4)
        self.downloads_box = QVBoxLayout()
        self.downloads_box.setSpacing(0)
        layout.addLayout(self.downloads_box)
        self.download_error = label("", "ErrorText", wrap=True)
        self.download_error.hide()
        layout.addWidget(self.download_error)
        self.downloads_frame.hide()
        return self.downloads_frame

    def _details_card(self) -> QWidget:
        frame, layout = card()
        self.details_title = label("Select a model to see what it is and whether it fits", "SectionTitle", wrap=True)
        self.details_about = label("", "Muted", wrap=True)
        self.details_problem = label("", "ErrorText", wrap=True)
        self.details_grid = QGridLayout()
        self.details_grid.setHorizontalSpacing(14)
        self.details_grid.setVerticalSpacing(5)
        self.details_grid.setColumnStretch(1, 1)
        self.details_grid.setColumnStretch(3, 1)
        for widget in (self.details_title, self.details_about, self.details_problem):
            layout.addWidget(widget)
        layout.addLayout(self.details_grid)
        self.details_about.hide()
        self.details_problem.hide()
        return frame

    def _hub_card(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Get more from the Hugging Face Hub", "SectionTitle"))
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("A name, e.g. Qwen2.5 or bert")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.search_task = QComboBox()
        for key, words in HUB_TASKS:
            self.search_task.addItem(words, key)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        bar.addWidget(self.search_box, 1)
        bar.addWidget(self.search_task)
        bar.addWidget(self.search_button)
        layout.addLayout(bar)
        self.hub_message = label(
            "Searching needs an internet connection. Nothing is downloaded until you click Download.", "Muted", wrap=True
        )
        message_row = QHBoxLayout()
        message_row.addWidget(self.hub_message, 1)
        layout.addLayout(message_row)
        self.results_table = QTableWidget(0, 3)
        self.results_table.setHorizontalHeaderLabels(["Name", "Parameters", "Downloads"])
        self.results_table.verticalHeader().hide()
        self.results_table.verticalHeader().setDefaultSectionSize(30)
        self.results_table.setShowGrid(False)
        self.results_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        head = self.results_table.horizontalHeader()
        head.setHighlightSections(False)
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.results_table.itemSelectionChanged.connect(self._result_selected)
        self.results_table.doubleClicked.connect(lambda _: self.download_selected())
        self.results_table.setMinimumHeight(220)
        self.results_table.hide()
        layout.addWidget(self.results_table, 1)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("Primary")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self.download_selected)
        self.download_button.hide()
        message_row.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)  # in sight above the results
        layout.addStretch(0)
        return frame

    # ------------------------------------------------------------ the catalog

    def reload(self) -> None:
        """Read the catalog again on a worker thread; `models_found` brings it back here."""
        if self.loading:
            self._reload_again = True  # something changed while the last read was under way
            return
        self.loading = True
        self._reload_again = False
        self.loading_label.setText("Looking for the models on this computer…")
        self.loading_label.show()

        def work() -> None:
            try:
                found: Any = self.client.models()
            except Exception as error:  # noqa: BLE001 - shown as a sentence under the table
                found = error
            self.models_found.emit(found)

        threading.Thread(target=work, name="tunewright-catalog", daemon=True).start()

    def show_models(self, models: list[ModelInfo] | Exception) -> None:
        self.loading = False
        if self._reload_again:
            self.reload()
            return
        if isinstance(models, Exception):
            self.loading_label.setText(f"Could not read the list of models: {models}")
            return
        selected = self._select_after_load or (self.selected().ref if self.selected() else "")
        self.table_model.set_models(models)
        self.loading_label.setText(
            "Only the demo models are here so far. Add a folder with a model, or download one from the Hub below."
            if all(model.source == "bundled" for model in models) else ""
        )
        self.loading_label.setVisible(bool(self.loading_label.text()))
        rows = [row for row in range(self.proxy.rowCount()) if self.model_at(self.proxy.index(row, 0)).ref == selected]
        self.table.selectRow(rows[0] if rows else 0)
        # As tall as its rows, up to six; the details and the Hub search get the rest of the page.
        shown = max(2, min(len(models), 6))
        header = max(self.table.horizontalHeader().height(), self.table.horizontalHeader().sizeHint().height())
        self.table.setFixedHeight(header + shown * ROW_HEIGHT + 2 * self.table.frameWidth() + 2)
        self._select_after_load = ""

    def set_hardware(self, hardware: Hardware | None) -> None:
        self.hardware = hardware
        self.table_model.set_hardware(hardware)
        self.show_details(self.selected())

    def model_at(self, index: QModelIndex) -> ModelInfo | None:
        if not index.isValid():
            return None
        return self.table_model.models[self.proxy.mapToSource(index).row()]

    def selected(self) -> ModelInfo | None:
        return self.model_at(self.table.currentIndex())

    def show_details(self, model: ModelInfo | None) -> None:
        while self.details_grid.count():
            item = self.details_grid.takeAt(0)
            if item.widget():
                item.widget().hide()  # out of the layout it would still be drawn until deleted
                item.widget().deleteLater()
        if model is None:
            self.details_title.setText("Select a model to see what it is and whether it fits")
            self.details_about.hide()
            self.details_problem.hide()
            return
        self.details_title.setText(model.name)
        self.details_about.setText(model.about)
        self.details_about.setVisible(bool(model.about))
        self.details_problem.setText(model.problem)
        self.details_problem.setVisible(bool(model.problem))
        facts = details(model, self.hardware)
        # The short facts two to a line, the long ones (weights, memory, where) on lines of their own.
        for number, (name, words) in enumerate(facts):
            row, column, span = (number // 2, (number % 2) * 2, 1) if number < SHORT_FACTS else (number - SHORT_FACTS // 2, 0, 3)
            self.details_grid.addWidget(label(name, "Muted"), row, column, Qt.AlignmentFlag.AlignTop)
            self.details_grid.addWidget(label(words, wrap=True, selectable=True), row, column + 1, 1, span, Qt.AlignmentFlag.AlignTop)

    def visible_rows(self) -> list[dict[str, str]]:
        """What the table shows, row by row, as {column: text}: for tests and a look at a glance."""
        return [{COLUMNS[c]: self.proxy.index(r, c).data() for c in range(len(COLUMNS))} for r in range(self.proxy.rowCount())]

    # ------------------------------------------------------------ adding a folder

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.add_path(folder)

    def add_path(self, path: str) -> None:
        try:
            info = self.client.add_model_folder(path)
        except ConfigError as problem:
            self.add_message.setText(str(problem))
            self.add_message.show()
            return
        self.add_message.hide()
        self._select_after_load = info.ref
        self.added.emit(info)
        self.reload()

    # ------------------------------------------------------------ the Hub

    def search(self) -> None:
        text, task = self.search_box.text().strip(), self.search_task.currentData()
        self.search_button.setEnabled(False)
        self.hub_message.setText("Asking the Hugging Face Hub…")

        def work() -> None:
            try:
                self.search_done.emit(self.client.search_hub(text, task), "")
            except HubUnavailable as offline:
                self.search_done.emit([], str(offline))

        threading.Thread(target=work, name="tunewright-hub-search", daemon=True).start()

    def show_results(self, results: list[HubModel], problem: str) -> None:
        self.search_button.setEnabled(True)
        self.results = results
        self.results_table.setRowCount(len(results))
        for row, result in enumerate(results):
            name = QTableWidgetItem(result.repo_id)
            note = [f"licence: {result.licence}" if result.licence else "", "asks you to accept its licence on huggingface.co first" if result.gated else ""]
            name.setToolTip("; ".join(filter(None, note)) or result.repo_id)
            self.results_table.setItem(row, 0, name)
            self.results_table.setItem(row, 1, QTableWidgetItem(count(result.parameters)))
            self.results_table.setItem(row, 2, QTableWidgetItem(count(result.downloads) if result.downloads else ""))
        self.results_table.setVisible(bool(results))
        self.download_button.setVisible(bool(results))
        self.download_button.setEnabled(False)
        if problem:
            self.hub_message.setText(problem)
        elif not results:
            self.hub_message.setText("No model on the Hub matches that name for this task. Try a shorter name.")
        else:
            self.hub_message.setText(f"{len(results)} models, most downloaded first. Select one, then click Download.")

    def _result_selected(self) -> None:
        self.download_button.setEnabled(bool(self.results_table.selectedItems()))

    def download_selected(self) -> None:
        rows = self.results_table.selectionModel().selectedRows()
        if not rows:
            return
        repo_id = self.results[rows[0].row()].repo_id
        try:
            self.client.start_download(repo_id)
        except (JobError, OSError) as problem:
            self.download_error.setText(f"The download could not start: {problem}")
            self.download_error.show()
            self.downloads_frame.show()
            return
        self.download_error.hide()
        self.refresh_downloads()

    def refresh_downloads(self) -> None:
        """Move the bars to what the download processes last wrote; a finished one joins the catalog."""
        rows = [row for row in self.client.downloads() if row["status"] != "completed" or row["id"] in self.download_rows]
        for row in rows:
            widget = self.download_rows.get(row["id"])
            if widget is None:
                widget = DownloadRow(row)
                widget.act.connect(self._download_action)
                self.download_rows[row["id"]] = widget
                self.downloads_box.insertWidget(0, widget)
            widget.update_row(row)
            if row["status"] == "completed" and row["id"] not in self.completed:
                self.completed.add(row["id"])
                self.reload()
        self.downloads_frame.setVisible(bool(self.download_rows) or not self.download_error.isHidden())

    def _download_action(self, download_id: int, action: str) -> None:
        try:
            if action == "pause":
                self.client.pause_download(download_id)
            else:
                self.client.resume_download(download_id)
        except (JobError, OSError) as problem:
            self.download_error.setText(str(problem))
            self.download_error.show()
        self.refresh_downloads()


def _main() -> int:
    """`python -m gui.pages.models --sample`: the page alone, on sample models."""
    from gui.pages import standalone

    def build(client, runs):
        from gui.sample import SAMPLE_HARDWARE, sample_models

        sample_models(client)
        return ModelsPage(client, Hardware.from_probe(SAMPLE_HARDWARE))

    return standalone.run(build, watch=lambda page: page.refresh_downloads)


if __name__ == "__main__":
    raise SystemExit(_main())

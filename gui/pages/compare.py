"""Compare runs: two or more runs of one kind, their curves on the same charts, the settings that differ
(with what each setting means), their final and best scores, and which is best and why."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import store
from engine.protocol import metric_words
from gui.state.format import TASK_WORDS, status_word
from gui.engine_client import TASKS
from gui.state.results import (
    comparable,
    config_diff,
    evaluation_summary,
    final_and_best,
    pick_best,
    shown_value,
)
from gui.state.series import Series
from gui.theme import CURVE_COLOURS
from gui.widgets.charts import LiveChart
from gui.widgets.common import card, label, page_header

BEST = QColor("#dcfce7")  # the picked run's row: a light green


class RowColour(QStyledItemDelegate):
    """Fills a cell with its background colour first: the app's style sheet draws table items itself and
    would otherwise hide it."""

    def paint(self, painter, option, index) -> None:
        brush = index.data(Qt.ItemDataRole.BackgroundRole)
        if brush is not None:
            painter.fillRect(option.rect, brush)
        super().paint(painter, option, index)


class ComparePage(QWidget):
    def __init__(self, client: Any, runs: Any) -> None:
        super().__init__()
        self.client, self.runs = client, runs
        self.charts: dict[str, LiveChart] = {}
        self.best_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(10)
        layout.addWidget(page_header(
            "Compare runs",
            "Tick two or more runs of the same kind to see their curves together, the settings that differ and "
            "their scores, then let Tunewright pick the best.",
        ))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        side = QVBoxLayout(left)
        side.setContentsMargins(0, 0, 8, 0)
        self.kind_box = QComboBox()
        for kind, words in TASK_WORDS.items():
            self.kind_box.addItem(words, kind)
        side.addWidget(self.kind_box)
        self.run_list = QListWidget()
        self.run_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.run_list.setSpacing(3)
        side.addWidget(self.run_list, 1)
        self.best_button = QPushButton("Pick the best")
        self.best_button.setObjectName("Primary")
        side.addWidget(self.best_button)
        left.setMinimumWidth(250)
        splitter.addWidget(left)

        right = QWidget()
        body = QVBoxLayout(right)
        body.setContentsMargins(8, 0, 0, 0)
        self.verdict_frame, verdict = card(margins=12, spacing=4)
        self.verdict = label("", wrap=True, selectable=True)
        verdict.addWidget(self.verdict)
        self.verdict_frame.hide()
        body.addWidget(self.verdict_frame)
        self.hint = label("", "Muted", wrap=True)
        body.addWidget(self.hint)
        self.chart_row = QHBoxLayout()
        self.chart_row.setSpacing(12)
        body.addLayout(self.chart_row, 3)
        self.tabs = QTabWidget()
        self.metric_table = QTableWidget(0, 0)
        self.diff_table = QTableWidget(0, 0)
        for table in (self.metric_table, self.diff_table):
            table.verticalHeader().hide()
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
            table.setWordWrap(True)
            table.setShowGrid(False)
            table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.metric_table.setItemDelegate(RowColour(self.metric_table))
        self.tabs.addTab(self.metric_table, "Scores")
        self.tabs.addTab(self.diff_table, "Settings that differ")
        body.addWidget(self.tabs, 2)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([270, 900])
        layout.addWidget(splitter, 1)

        self.kind_box.currentIndexChanged.connect(lambda _: self._fill_list())
        self.run_list.itemChanged.connect(lambda _: self.update_comparison())
        self.best_button.clicked.connect(self.pick_best)
        runs.changed.connect(self._fill_list)
        self._listed: list[int] = []
        self._fill_list()

    # ------------------------------------------------------------ which runs

    @property
    def kind(self) -> str:
        return self.kind_box.currentData()

    def _fill_list(self) -> None:
        candidates = comparable(self.runs.runs, self.kind)
        ids = [run["id"] for run in candidates]
        if ids == self._listed:
            return
        ticked = set(self.chosen_ids()) & set(ids) or {run["id"] for run in candidates[:2]}  # else the newest two
        self._listed = ids
        self.run_list.blockSignals(True)
        self.run_list.clear()
        for run in candidates:
            item = QListWidgetItem(f"{run['name']}\nrun {run['id']} · {status_word(run['status']).lower()}")
            item.setData(Qt.ItemDataRole.UserRole, run["id"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run["id"] in ticked else Qt.CheckState.Unchecked)
            self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        self.update_comparison()

    def chosen_ids(self) -> list[int]:
        return [
            self.run_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.run_list.count())
            if self.run_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_chosen(self, run_ids: list[int]) -> None:
        self.run_list.blockSignals(True)
        for i in range(self.run_list.count()):
            item = self.run_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in run_ids else Qt.CheckState.Unchecked)
        self.run_list.blockSignals(False)
        self.update_comparison()

    def chosen_runs(self) -> list[dict[str, Any]]:
        return [self.client.get_run(run_id) for run_id in self.chosen_ids()]

    # ------------------------------------------------------------ the comparison

    def update_comparison(self) -> None:
        chosen = self.chosen_runs()
        self.best_id = None
        self.verdict_frame.hide()
        self.best_button.setEnabled(len(chosen) >= 2)
        self.hint.setText("" if len(chosen) >= 2 else "Tick at least two runs to compare them.")
        self.hint.setVisible(len(chosen) < 2)
        self._draw_charts(chosen)
        self._fill_metrics(chosen)
        self._fill_diff(chosen)

    def _draw_charts(self, chosen: list[dict[str, Any]]) -> None:
        for chart in self.charts.values():
            chart.timer.stop()
            self.chart_row.removeWidget(chart)
            chart.hide()
            chart.deleteLater()
        loss = LiveChart("Loss", empty_text="Tick runs to see their loss.")
        task_name = TASKS[self.kind].curves[0]
        task = LiveChart(metric_words(task_name)[0].capitalize(), empty_text="Appears once the runs have been evaluated.")
        for position, run in enumerate(chosen):
            colour = CURVE_COLOURS[position % len(CURVE_COLOURS)]
            short = f"run {run['id']}"
            # Training loss as a thin line, the evaluations as dots on the same colour.
            loss.add_curve(self._series(run["id"], "train_loss"), f"{short}", colour)
            loss.add_curve(self._series(run["id"], "eval_loss"), f"{short} evaluation", colour, symbol="o", width=2)
            task.add_curve(self._series(run["id"], task_name), short, colour, symbol="o", width=2)
        loss.legend.setText(_legend(chosen))
        task.legend.setText(_legend(chosen))
        if not TASKS[self.kind].higher_is_better:
            task.plot.getPlotItem().getAxis("left").setLabel("lower is better", color="#6b7280")
        self.charts = {"loss": loss, "task": task}
        for chart in self.charts.values():
            self.chart_row.addWidget(chart, 1)
            chart.redraw()

    def _series(self, run_id: int, name: str) -> Series:
        series = Series(f"{run_id}:{name}")
        points = store.metric_series(self.client.db, run_id, name)
        if points:
            series.append([step for step, _ in points], [value for _, value in points])
        return series

    def _fill_metrics(self, chosen: list[dict[str, Any]]) -> None:
        table = self.metric_table
        table.clear()
        if not chosen:
            table.setRowCount(0)
            table.setColumnCount(0)
            return
        scores = [final_and_best(self.client.db, run) for run in chosen]
        names = list(scores[0])
        headers = ["Run", *[_score_words(name) for name in names]]
        evaluated = [evaluation_summary(self.client.db, run["id"]) for run in chosen]
        if any(evaluated):  # the Results page's evaluations of these runs, when there are some
            headers.append("held-out evaluation")
        table.setColumnCount(len(headers))
        table.setRowCount(len(chosen))
        table.setHorizontalHeaderLabels(headers)
        for r, (run, values) in enumerate(zip(chosen, scores)):
            name = QTableWidgetItem(f"{run['name']} (run {run['id']})")
            name.setToolTip(name.text())
            table.setItem(r, 0, name)
            for c, name in enumerate(names, start=1):
                value = values[name]
                metric = name.split(" ", 1)[1]
                text = "—" if value is None else metric_words(metric, value)[1]
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
            if any(evaluated):
                summary = QTableWidgetItem(evaluated[r] or "not evaluated")
                summary.setToolTip(summary.text())
                table.setItem(r, len(headers) - 1, summary)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(headers)):
            table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        if any(evaluated):  # the words wrap, sharing the spare width with the names
            table.horizontalHeader().setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
        table.resizeRowsToContents()

    def _fill_diff(self, chosen: list[dict[str, Any]]) -> None:
        table = self.diff_table
        table.clear()
        rows = config_diff(chosen) if len(chosen) >= 2 else []
        headers = ["Setting", "What it means", *[f"run {run['id']}" for run in chosen]]
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(row["words"]))
            meaning = QTableWidgetItem(row["help"])
            meaning.setForeground(QColor("#6b7280"))
            meaning.setToolTip(row["help"])
            table.setItem(r, 1, meaning)
            for c, value in enumerate(row["values"], start=2):
                item = QTableWidgetItem(shown_value(value))
                item.setToolTip(str(value))
                table.setItem(r, c, item)
        head = table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in range(2, len(headers)):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        table.resizeRowsToContents()
        self.tabs.setTabText(1, f"Settings that differ ({len(rows)})" if len(chosen) >= 2 else "Settings that differ")

    def diff_rows(self) -> list[list[str]]:
        """What the settings table shows, row by row (for tests and a glance)."""
        table = self.diff_table
        return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]

    # ------------------------------------------------------------ the best

    def pick_best(self) -> None:
        chosen = self.chosen_runs()
        if len(chosen) < 2:
            return
        self.best_id, sentence = pick_best(self.client.db, chosen)
        self.verdict.setText(sentence)
        self.verdict_frame.show()
        for r, run in enumerate(chosen):
            for c in range(self.metric_table.columnCount()):
                item = self.metric_table.item(r, c)
                if item is not None:
                    item.setBackground(BEST if run["id"] == self.best_id else QColor("#ffffff"))
                    font = item.font()
                    font.setBold(run["id"] == self.best_id)
                    item.setFont(font)
        self.metric_table.resizeRowsToContents()  # bold words take more room
        self.tabs.setCurrentWidget(self.metric_table)


def _legend(runs: list[dict[str, Any]]) -> str:
    """One entry per run (the charts draw two curves per run, in one colour)."""
    return "&nbsp;&nbsp;&nbsp;".join(
        f'<span style="color:{CURVE_COLOURS[i % len(CURVE_COLOURS)]}">●</span>&nbsp;run {run["id"]}' for i, run in enumerate(runs)
    )


def _score_words(name: str) -> str:
    which, metric = name.split(" ", 1)
    words = "training loss" if metric == "train_loss" else metric_words(metric)[0]
    return f"{words}\n({'last' if which == 'final' else which})"


def _main() -> int:
    """`python -m gui.pages.compare --sample`: the page alone, on sample data."""
    from gui.pages import standalone
    from gui.sample import add_sample_evaluations

    def build(client: Any, runs: Any) -> ComparePage:
        add_sample_evaluations(client)
        runs.refresh()
        return ComparePage(client, runs)

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

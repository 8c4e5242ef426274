"""The advisor's views: the ranking of models in the wizard's Model step, the learning curve and the
"label next" list in Results. Each takes a `gui.state.advisor.Question` and draws it; a timer polls it
while its job runs (the database is the only channel from the engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.state.advisor import Question, curve_points, label_next_summary, picks_table, ranking, ranking_summary
from gui.theme import ACCENT
from gui.widgets.charts import rgba_tuple
from gui.widgets.common import card, label

POLL_MS = 400


class _Follows(QWidget):
    """Polls its question while it is busy and redraws on each change."""

    def __init__(self, question: Question, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = question
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        question.changed.connect(self.show_question)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.said = label("", "Muted", wrap=True)

    def _poll(self) -> None:
        self.question.poll()
        if not self.question.busy:
            self.timer.stop()

    def show_question(self) -> None:
        q = self.question
        if q.busy and not self.timer.isActive():
            self.timer.start()
        self.progress.setVisible(q.busy)
        self.progress.setValue(round(100 * q.progress))
        self.said.setText(q.error or (q.said if q.busy else ""))
        self.said.setVisible(bool(self.said.text()))
        self.draw()

    def draw(self) -> None:  # the answer, in each view
        raise NotImplementedError

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Rows as tall as their wrapped text at the columns' widths of the moment, once the layout has them."""
        super().resizeEvent(event)
        for table in self.findChildren(QTableWidget):
            QTimer.singleShot(0, table.resizeRowsToContents)


class _Wrapped(QStyledItemDelegate):
    """A cell's height for its text wrapped at the column's width less the style sheet's cell padding
    (resources/style: 8 px each side, 4 above and below), which Qt's own size hint leaves out: a reason that
    needs two lines was given one, and cut with '…'."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint(option, index)
        view = QStyleOptionViewItem(option)
        self.initStyleOption(view, index)
        width = max(option.rect.width() - 16, 1)
        text = QFontMetrics(view.font).boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, view.text)
        return QSize(hint.width(), max(hint.height(), text.height() + 10))


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(True)
    table.setItemDelegate(_Wrapped(table))
    return table


# ---------------------------------------------------------------- which model


class ModelRanking(_Follows):
    """'Score the models on my data': a progress bar while the models read the examples, then the ranking."""

    use_model = Signal(str)  # the ref of the model the person picks from the ranking

    def __init__(self, question: Question, parent: QWidget | None = None) -> None:
        super().__init__(question, parent)
        self.settings: dict[str, Any] = {}  # the data and columns to score on (set by the Model step)
        frame, layout = card()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        top = QHBoxLayout()
        top.addWidget(label("Which model suits your data?", "CardTitle"))
        top.addStretch(1)
        self.score_button = QPushButton("Score the models on my data")
        self.score_button.clicked.connect(self.start)
        top.addWidget(self.score_button)
        layout.addLayout(top)
        self.intro = label("Each model on this computer reads a sample of your examples, without learning, and a simple "
                           "classifier shows how well it already tells your categories apart: seconds to a few minutes.",
                           "Muted", wrap=True)
        layout.addWidget(self.intro)
        layout.addWidget(self.progress)
        layout.addWidget(self.said)
        self.table = _table(["#", "Model", "Score before training", "Probes", "LogME", "Fine-tuning takes", "Why"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(220)
        self.table.hide()
        self.table.cellDoubleClicked.connect(lambda row, _: self.use_model.emit(self.rows[row].ref))
        layout.addWidget(self.table)
        self.summary = label("", "Muted", wrap=True)
        layout.addWidget(self.summary)
        self.use_button = QPushButton("Start from the recommended model")
        self.use_button.setObjectName("Primary")
        self.use_button.hide()
        self.use_button.clicked.connect(self._use_recommended)
        layout.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.rows = []

    def start(self) -> None:
        if self.settings.get("data"):
            self.question.ask(**self.settings)

    def draw(self) -> None:
        self.score_button.setEnabled(not self.question.busy and bool(self.settings.get("data")))
        self.rows = ranking(self.question.answer)
        self.table.setVisible(bool(self.rows))
        self.table.setRowCount(len(self.rows))
        for row, model in enumerate(self.rows):
            cells = [str(model.rank), model.name + ("  ★" if model.recommended else ""), model.expected, model.probes,
                     model.logme, model.fine_tuning, model.reason]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(model.memory if column == 5 else text)
                if model.recommended:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        self.summary.setText(ranking_summary(self.question.answer))
        self.summary.setVisible(bool(self.rows))
        self.use_button.setVisible(any(m.recommended for m in self.rows))

    def _use_recommended(self) -> None:
        chosen = next((m for m in self.rows if m.recommended), None)
        if chosen is not None:
            self.use_model.emit(chosen.ref)


# ---------------------------------------------------------------- would more data help


class LearningCurve(_Follows):
    """The score against the number of examples: measured points, the fitted curve, its band, and the
    sentence and verdict."""

    def __init__(self, question: Question, parent: QWidget | None = None) -> None:
        super().__init__(question, parent)
        self.settings: dict[str, Any] = {}
        frame, layout = card()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        top = QHBoxLayout()
        top.addWidget(label("Would more examples help?", "CardTitle"))
        top.addStretch(1)
        self.ask_button = QPushButton("Work it out")
        self.ask_button.clicked.connect(lambda: self.question.ask(**self.settings))
        top.addWidget(self.ask_button)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.said)
        self.sentence = label("", "SectionTitle", wrap=True)
        self.verdict = label("", wrap=True)
        layout.addWidget(self.sentence)
        layout.addWidget(self.verdict)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(240)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getAxis("bottom").setLabel("training examples", color="#6b7280")
        item.getAxis("left").setLabel("score (%)", color="#6b7280")
        self.plot.setBackground("#ffffff")
        self.plot.hide()
        layout.addWidget(self.plot)
        self.note = label("", "Muted", wrap=True)
        layout.addWidget(self.note)

    def draw(self) -> None:
        self.ask_button.setEnabled(not self.question.busy and bool(self.settings))
        points = curve_points(self.question.answer)
        self.plot.setVisible(bool(points.sizes))
        self.sentence.setText(points.sentence)
        self.verdict.setText(points.verdict)
        answer = self.question.answer or {}
        self.note.setText(
            f"Each dot is a simple classifier on {answer.get('model', 'the model')}'s features, trained on part of your "
            "examples; the line is the curve fitted to them and the band where the score may lie (90%). "
            + ("The expected range is moved onto your run's own score." if answer.get("run_score") is not None else "")
            if points.sizes else "")
        if not points.sizes:
            return
        item = self.plot.getPlotItem()
        item.clear()
        low = pg.PlotDataItem(points.line_sizes, points.low, pen=pg.mkPen(None))
        high = pg.PlotDataItem(points.line_sizes, points.high, pen=pg.mkPen(None))
        item.addItem(low)
        item.addItem(high)
        item.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(rgba_tuple(ACCENT, 0.15))))
        item.addItem(pg.PlotDataItem(points.line_sizes, points.fitted, pen=pg.mkPen(ACCENT, width=2)))
        item.addItem(pg.ScatterPlotItem(points.sizes, points.scores, size=7, brush=pg.mkBrush("#111827"), pen=pg.mkPen(None)))
        for x, words in ((points.now_size, "now"), (points.target_size, "twice as many")):
            line = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen("#9ca3af", style=Qt.PenStyle.DashLine),
                                   label=words, labelOpts={"position": 0.08, "color": "#6b7280"})
            item.addItem(line)
        item.setXRange(0, points.target_size * 1.05)


# ---------------------------------------------------------------- what to label next


class LabelNext(_Follows):
    """Choose a file of unlabelled texts, get the list worth labelling first as a CSV, import it back."""

    imported = Signal(dict)  # the doctor's outcome on the merged copy

    def __init__(self, question: Question, client: Any, parent: QWidget | None = None) -> None:
        super().__init__(question, parent)
        self.client = client
        self.settings: dict[str, Any] = {}
        self.unlabelled = ""
        self._shown: dict[str, Any] | None = None  # the answer the table shows
        frame, layout = card()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        layout.addWidget(label("What should you label next?", "CardTitle"))
        layout.addWidget(label("Give a file of texts nobody has labelled yet: the model picks those it is least sure of "
                               "and least like what it has seen, and writes them to a table for you to fill in.",
                               "Muted", wrap=True))
        row = QHBoxLayout()
        self.choose_button = QPushButton("Texts to choose from…")
        self.choose_button.clicked.connect(self._choose)
        self.count = QSpinBox()
        self.count.setRange(1, 10_000)
        self.count.setValue(50)
        self.count.setPrefix("List ")
        self.count.setSuffix(" texts")
        self.make_button = QPushButton("Make the list")
        self.make_button.setObjectName("Primary")
        self.make_button.clicked.connect(self.start)
        self.import_button = QPushButton("Import the filled-in list…")
        self.import_button.clicked.connect(self._import)
        for widget in (self.choose_button, self.count, self.make_button, self.import_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.file_label = label("", "Muted")
        layout.addWidget(self.file_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.said)
        self.summary = label("", wrap=True, selectable=True)
        layout.addWidget(self.summary)
        self.table = _table(["#", "Text", "The model's guess", "Why it is worth labelling"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(2, 170)
        self.table.setMinimumHeight(200)
        self.table.hide()
        layout.addWidget(self.table)
        self.outcome = label("", wrap=True, selectable=True)
        layout.addWidget(self.outcome)
        # Replaced in tests: the dialogs that ask for files.
        self.ask_unlabelled = lambda: QFileDialog.getOpenFileName(self, "Texts not labelled yet", str(Path.home()))[0]
        self.ask_filled = lambda: QFileDialog.getOpenFileName(self, "The filled-in list", str(Path.home()), "CSV (*.csv)")[0]

    def _choose(self) -> None:
        path = self.ask_unlabelled()
        if path:
            self.set_unlabelled(path)

    def set_unlabelled(self, path: str) -> None:
        self.unlabelled = path
        self.file_label.setText(f"Texts: {Path(path).name}")
        self.draw()

    def start(self) -> None:
        if self.unlabelled and self.settings:
            self.question.ask(**self.settings, unlabelled=self.unlabelled, count=self.count.value())

    def _import(self) -> None:
        path = self.ask_filled()
        if path and self.question.answer:
            self.import_filled(path)

    def import_filled(self, path: str) -> dict[str, Any]:
        from gui.state.advisor import import_labelled

        outcome = import_labelled(self.client, self.question.answer, path)
        findings = (outcome.get("report") or {}).get("findings", [])
        lines = [f"{outcome['added']} newly labelled examples added to a copy of your training data: {outcome['merged']}."]
        lines += [f"• {f['message']}" for f in findings if f.get("severity") in ("warning", "error")]
        self.outcome.setText(outcome.get("error") or "\n".join(lines))
        self.imported.emit(outcome)
        return outcome

    def draw(self) -> None:
        self.make_button.setEnabled(bool(self.unlabelled and self.settings) and not self.question.busy)
        self.import_button.setEnabled(self.question.answer is not None)
        rows = picks_table(self.question.answer)
        if rows and self.question.answer is not self._shown:  # a new list: the box says how long it is
            self._shown = self.question.answer
            self.count.setValue(len(self._shown["picks"]))
        self.summary.setText(label_next_summary(self.question.answer))
        self.summary.setVisible(bool(rows))
        self.table.setVisible(bool(rows))
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeRowsToContents()

"""One run, live: progress, charts that grow as it trains, what the engine said, its settings; pause, resume, cancel."""

from __future__ import annotations

import html
import json
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import metric_words
from gui.engine_client import RESUMABLE, TASKS, ClassifyConfig, ConfigError, EngineClient, JobError, config_types, help_for, task_of_run
from gui.state.eta import TIME_LEFT
from gui.state.format import best_metric, duration, remote_note, retry_would_fail, shown_status, time_left
from gui.state.runs import RANK_PEAK, RunWatcher
from gui.theme import CURVE_COLOURS
from gui.widgets.charts import LiveChart
from gui.widgets.common import StatusPill, label
from gui.widgets.settings_form import words

BLUE, ORANGE, GREEN, PURPLE, TEAL, PINK = CURVE_COLOURS
LEVEL_COLOURS = {"info": "#2563eb", "advice": "#7c3aed", "warning": "#b45309", "error": "#b91c1c"}
LIVE_SHOWN = {"preparing", "running"}


class RunView(QWidget):
    back = Signal()
    acted = Signal()  # the window wrote to the database itself (pause, resume, cancel): look again now
    show_report = Signal(int)  # a finished distillation: its report of what the student kept
    #: a run that failed on its settings or data: New run with them, to change what failed
    change_settings = Signal(dict)

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.watcher: RunWatcher | None = None
        self.charts: dict[str, LiveChart] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 18, 28, 20)
        layout.setSpacing(10)

        back = QPushButton("← All runs")
        back.setObjectName("Link")
        back.setCursor(Qt.CursorShape.PointingHandCursor)
        back.clicked.connect(self.back)
        layout.addWidget(back, 0, Qt.AlignmentFlag.AlignLeft)

        header = QHBoxLayout()
        header.setSpacing(12)
        self.title = label("", "PageTitle")
        self.pill = StatusPill()
        header.addWidget(self.title)
        header.addWidget(self.pill, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addStretch(1)
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("Primary")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setObjectName("Danger")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.cancel)
        self.report_button = QPushButton("What the student kept")
        self.report_button.setObjectName("Primary")
        self.report_button.clicked.connect(lambda: self.show_report.emit(self.watcher.run_id))
        for button in (self.report_button, self.pause_button, self.resume_button, self.cancel_button):
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            header.addWidget(button)
        layout.addLayout(header)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.summary = label("", "Muted")
        self.action_note = label("", "Muted", wrap=True)
        self.action_note.hide()
        self.note_while: set[str] = set()  # the statuses the action note is true in
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.action_note)

        self.error_banner = QFrame()
        self.error_banner.setObjectName("ErrorBanner")
        banner = QVBoxLayout(self.error_banner)
        banner.setContentsMargins(14, 10, 14, 10)
        self.error_text = label("", wrap=True, selectable=True)
        self.error_detail = QTextBrowser()
        self.error_detail.setMaximumHeight(120)
        self.error_detail.hide()
        details = QPushButton("Show the details for a bug report")
        details.setObjectName("Link")
        details.clicked.connect(lambda: self.error_detail.setVisible(not self.error_detail.isVisible()))
        banner.addWidget(self.error_text)
        banner.addWidget(details, 0, Qt.AlignmentFlag.AlignLeft)
        banner.addWidget(self.error_detail)
        self.error_banner.hide()
        layout.addWidget(self.error_banner)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        self.chart_area = QWidget()
        self.chart_grid = QGridLayout(self.chart_area)
        self.chart_grid.setContentsMargins(0, 4, 0, 0)
        self.chart_grid.setSpacing(12)
        for column in (0, 1):
            self.chart_grid.setColumnStretch(column, 1)
        splitter.addWidget(self.chart_area)

        self.tabs = QTabWidget()
        self.events_view = QTextBrowser()
        self.events_view.setOpenLinks(False)
        self.events_view.document().setDocumentMargin(12)
        self.config_table = QTableWidget(0, 2)
        self.config_table.setHorizontalHeaderLabels(["Setting", "Value"])
        self.config_table.verticalHeader().hide()
        self.config_table.setShowGrid(False)
        self.config_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.config_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.config_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.config_table.setStyleSheet("QTableWidget { border: none; }")
        self.tabs.addTab(self.events_view, "What happened")
        self.tabs.addTab(self.config_table, "Settings")
        self.tabs.setMinimumWidth(280)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 330])
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------ which run

    @property
    def run_id(self) -> int | None:
        return self.watcher.run_id if self.watcher else None

    def show_run(self, run_id: int) -> None:
        if self.watcher and self.watcher.run_id == run_id:
            self.refresh()
            return
        self.watcher = RunWatcher(self.client, run_id)
        hardware = self.client.cached_hardware()  # what the last probe found; None before the first
        self.no_gpu_here = hardware is not None and not hardware.gpus
        self.watcher.run_changed.connect(self._show_row)
        self.watcher.events_added.connect(self._add_events)
        self.watcher.metrics_changed.connect(self._metrics_changed)
        self.events_view.clear()
        self.action_note.hide()
        self.watcher.refresh()
        self._build_charts()
        self._show_config()
        self._show_row()
        for chart in self.charts.values():
            chart.redraw()

    def refresh(self) -> None:
        if self.watcher:
            self.watcher.refresh()

    # ------------------------------------------------------------ charts

    def _build_charts(self) -> None:
        while self.chart_grid.count():
            widget = self.chart_grid.takeAt(0).widget()
            if widget:
                widget.setParent(None)
                widget.deleteLater()
        watcher = self.watcher
        assert watcher is not None
        s = watcher.series_for
        shown = task_of_run(watcher.run) or TASKS[next(iter(TASKS))]  # a distilled student: its teacher's task

        loss = LiveChart("Loss", empty_text="The loss appears after the first steps.")
        loss.add_curve(s("train_loss"), "training", BLUE)
        loss.add_curve(s("eval_loss"), "evaluation", ORANGE, symbol="o", width=2)

        task = LiveChart(shown.words.curves, empty_text="Appears after the first evaluation.")
        for name, colour in zip(shown.curves, (GREEN, PURPLE)):
            task.add_curve(s(name), metric_words(name)[0], colour, symbol="o", width=2)

        rate = LiveChart("Learning rate")
        rate.add_curve(s("learning_rate"), "learning rate", TEAL)

        speed_metric, unit = shown.speed
        speed = LiveChart("Speed", unit=unit)
        speed.add_curve(s(speed_metric), "speed", PINK)

        gpu = LiveChart("GPU memory", unit="GB", empty_text="No GPU memory to show yet.")
        gpu.add_curve(s("gpu_reserved"), "reserved", PURPLE, fill=0.12)
        gpu.add_curve(s("gpu_allocated"), "in use", BLUE, fill=0.3)
        gpu.add_curve(s("gpu_total"), "total", "#6b7280", dashed=True)

        ram = LiveChart("System memory", unit="GB")
        ram.add_curve(s("system_ram_used"), "used", TEAL, fill=0.15)
        ram.add_curve(s("process_ram"), "this run", BLUE, fill=0.3)
        ram.add_curve(s("system_ram_total"), "total", "#6b7280", dashed=True)

        self.charts = {"loss": loss, "task": task, "learning_rate": rate, "speed": speed, "gpu": gpu, "ram": ram}
        self.gpus_drawn = 1  # how many GPUs the memory chart shows; a run on several adds the others' peaks
        for position, chart in enumerate(self.charts.values()):
            self.chart_grid.addWidget(chart, position // 2, position % 2)
        self._metrics_changed(set(watcher.series))

    def _metrics_changed(self, names: set[str]) -> None:
        watcher = self.watcher
        if not watcher or "gpu" not in self.charts:
            return
        self._draw_every_gpu(names)
        # No GPU memory to show: none was reported, and this computer has no GPU or the run is under way without one
        cpu_only = not len(watcher.series_for("gpu_allocated")) and (self.no_gpu_here or len(watcher.series_for("train_loss")) > 0)
        gpu, ram = self.charts["gpu"], self.charts["ram"]
        if cpu_only == gpu.isHidden():
            return
        # A run on the CPU has no GPU memory to show: system memory takes the whole row.
        self.chart_grid.removeWidget(gpu)
        self.chart_grid.removeWidget(ram)
        gpu.setHidden(cpu_only)
        if cpu_only:
            self.chart_grid.addWidget(ram, 2, 0, 1, 2)
            self.chart_grid.addWidget(gpu, 3, 0)
        else:
            self.chart_grid.addWidget(gpu, 2, 0)
            self.chart_grid.addWidget(ram, 2, 1)

    def _draw_every_gpu(self, names: set[str]) -> None:
        """A run on several GPUs: each GPU's peak memory, as rank 0 gathers them at every evaluation (the curves
        above are the first GPU's alone). Drawn once the first of them arrives."""
        ranks = [int(found.group(1)) for name in names if (found := RANK_PEAK.match(name))]
        if not ranks or max(ranks) < self.gpus_drawn:
            return
        gpu, s = self.charts["gpu"], self.watcher.series_for
        colours = (GREEN, ORANGE, TEAL, PINK)  # not the chart's blue and purple
        if self.gpus_drawn == 1:
            gpu.add_curve(s("gpu_peak"), "peak, GPU 1", colours[0])
        for rank in range(self.gpus_drawn, max(ranks) + 1):
            colour = colours[rank % len(colours)]
            gpu.add_curve(s(f"gpu_peak_rank{rank}"), f"peak, GPU {rank + 1}", colour, symbol="o", width=2)
        self.gpus_drawn = max(ranks) + 1
        gpu.redraw()

    # ------------------------------------------------------------ the run's row

    def _show_row(self) -> None:
        watcher = self.watcher
        if not watcher or not watcher.run:
            return
        run = watcher.run
        status = shown_status(run)
        self.title.setText(run["name"] or f"Run {run['id']}")
        self.pill.set_status(status)
        self.progress.setValue(round((run["progress"] or 0) * 1000))
        self.summary.setText(self._summary(run, status))
        if status not in self.note_while:  # "Pausing: ..." is said while it pauses, never under Paused
            self.action_note.hide()
        self.pause_button.setVisible(status in LIVE_SHOWN | {"pausing"})
        self.pause_button.setEnabled(status in LIVE_SHOWN)
        settled = retry_would_fail(run)
        self.resume_button.setText("Resume" if status in ("paused", "interrupted") else
                                   "Change the settings…" if settled else "Try again")
        self.resume_button.setToolTip("Trying again unchanged would stop the same way: open it in New run to change "
                                      "the data or settings that stopped it." if settled else "")
        self.resume_button.setVisible(status in {str(s) for s in RESUMABLE})
        self.cancel_button.setVisible(status in LIVE_SHOWN | {"queued", "paused", "interrupted", "pausing"})
        self.cancel_button.setEnabled(status not in ("cancelling",))
        self.report_button.setVisible(run.get("kind") == "distill" and status == "completed")
        if run.get("error") and status == "failed":
            self.error_text.setText(f"<b>This run stopped.</b> {html.escape(run['error'])}")
            self.error_detail.setPlainText(run.get("error_detail") or "")
            self.error_banner.show()
        else:
            self.error_banner.hide()

    @staticmethod
    def _summary(run: dict[str, Any], status: str) -> str:
        parts = []
        total = run["total_steps"]
        if total:
            parts.append(f"Step {run['step'] or 0:,} of {total:,}")
        if run["epoch"]:
            parts.append(f"epoch {run['epoch']:.2f}")
        if status in ("running", "preparing", "pausing") and time_left(TIME_LEFT.seconds(run)):
            parts.append(time_left(TIME_LEFT.seconds(run)))
        elif status == "queued":
            parts.append("waits for the job before it to finish")
        elif run.get("finished_at") and run.get("started_at"):
            parts.append(f"took {duration(run['finished_at'] - run['started_at'])}")
        if best_metric(run):
            parts.append(f"best {best_metric(run)}")
        if note := remote_note(run):  # a run on a cluster: how old its news is, or since when it is out of reach
            parts.append(note)
        if parts:
            return "  ·  ".join(parts)
        return {"failed": "Stopped before its first step.", "cancelled": "Cancelled before its first step."}.get(
            status, "Getting ready…" if status in ("preparing", "running", "queued") else "")

    # ------------------------------------------------------------ events and settings

    def _add_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            colour = LEVEL_COLOURS.get(event["level"], "#6b7280")
            at = time.strftime("%H:%M", time.localtime(event["time"]))
            self.events_view.append(
                f'<p style="margin-bottom:8px"><span style="color:{colour}; font-size:9pt">●</span> '
                f'<span style="color:#9ca3af">{at}</span>&nbsp; {html.escape(event["message"])}</p>'
            )

    def events_text(self) -> str:
        return self.events_view.toPlainText()

    def _show_config(self) -> None:
        watcher = self.watcher
        assert watcher is not None
        config = dict(watcher.run.get("config") or {})
        kind = config.pop("kind", watcher.run.get("kind"))
        helps = help_for(config_types().get(kind, ClassifyConfig))
        self.config_table.setRowCount(0)
        for name, value in config.items():
            row = self.config_table.rowCount()
            self.config_table.insertRow(row)
            shown = "automatic" if value is None else json.dumps(value) if isinstance(value, dict) else str(value)
            key = QTableWidgetItem(words(name))
            key.setForeground(QBrush(QColor("#6b7280")))
            item = QTableWidgetItem(shown)
            tip = helps.get(name, {}).get("help", "")
            key.setToolTip(tip)
            item.setToolTip(tip or shown)
            self.config_table.setItem(row, 0, key)
            self.config_table.setItem(row, 1, item)

    # ------------------------------------------------------------ steering

    def pause(self) -> None:
        self._act(self.client.pause, "Pausing: the run finishes its step and saves a checkpoint.",
                  while_status={"running", "preparing", "pausing"})

    def resume(self) -> None:
        run = self.watcher.run if self.watcher else None
        if run and retry_would_fail(run):
            self.change_settings.emit({key: value for key, value in run["config"].items() if key != "name"})
            return
        self._act(self.client.resume, "")

    def cancel(self) -> None:
        if self.run_id is not None and self.ask_to_cancel():
            self._act(self.client.cancel, "")

    def ask_to_cancel(self) -> bool:
        """Ask before cancelling (a click meant for Pause must not end a run); tests replace this."""
        answer = QMessageBox.question(
            self, "Cancel this run?",
            "Cancel this run? It stops after its current step and cannot be resumed; the model saved at its "
            "last checkpoint is kept. To stop for now and go on later, use Pause instead.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _act(self, action: Any, note: str, while_status: set[str] | None = None) -> None:
        if self.run_id is None:
            return
        self.note_while = while_status or set()
        try:
            action(self.run_id)
        except (JobError, ConfigError, KeyError) as error:  # ConfigError: a remote run's cluster was removed
            note = str(error)
            self.note_while = {shown_status(self.watcher.run)} if self.watcher and self.watcher.run else set()
        self.action_note.setText(note)
        self.action_note.setVisible(bool(note))
        self.refresh()
        self.acted.emit()


def _main() -> int:
    """`python -m gui.pages.run_view --sample`: the live sample run, on its own."""
    from gui.pages import standalone

    def build(client: EngineClient, runs):
        view = RunView(client)
        live = next((r for r in runs.runs if r["status"] == "running"), runs.runs[0])
        view.show_run(live["id"])
        return view

    return standalone.run(build, watch=lambda page: page.refresh)


if __name__ == "__main__":
    raise SystemExit(_main())

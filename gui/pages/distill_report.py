"""What a distillation kept: the teacher against the student (and the same student trained without the
teacher, when it was asked for) on quality, size and speed, as the engine measured them at the end of the run.

It reads the run's `distill_report` artifact (a JSON file the job wrote) and the sentences the job recorded;
`python -m gui.pages.distill_report --sample [--screenshot FILE]` opens it on its own with sample numbers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from engine.protocol import metric_words
from gui.engine_client import TASKS, EngineClient
from gui.widgets.common import card, label

REPORT_SENTENCES = ("distill.report_kept", "distill.report_loss", "distill.report_size", "distill.report_plain")


def load_report(client: EngineClient, run_id: int) -> dict[str, Any] | None:
    """The report a finished distillation run wrote, or None (still training, or not a distillation)."""
    for artifact in client.artifacts(run_id):
        if artifact["kind"] == "distill_report" and Path(artifact["path"]).exists():
            return json.loads(Path(artifact["path"]).read_text(encoding="utf-8"))
    return None


def quality_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(row title, metric name) for the report's task: F1 for classifiers, loss and perplexity for chat."""
    return list(TASKS[report["task"]].report_rows)


def cell(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    if name in ("eval_f1", "eval_accuracy"):
        return f"{value:.1%}"
    if name == "parameters":
        return f"{value / 1e6:.1f} M"
    if name == "disk_bytes":
        return f"{value / 2**20:.0f} MB"
    if name == "latency_ms":
        return f"{value:.1f} ms"
    if name == "examples_per_second":
        return f"{value:,.0f}"
    return f"{value:.3f}"


class DistillReportPage(QWidget):
    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        self.title = label("What the student kept", "PageTitle")
        layout.addWidget(self.title)

        self.tiles = QGridLayout()
        self.tiles.setHorizontalSpacing(14)
        layout.addLayout(self.tiles)

        frame, box = card()
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        box.addWidget(self.table)
        layout.addWidget(frame)

        self.sentences = label("", "Muted", wrap=True)
        layout.addWidget(self.sentences)
        self.empty = label("", wrap=True)
        layout.addWidget(self.empty)
        layout.addStretch(1)

    def show_run(self, run_id: int) -> None:
        run = self.client.get_run(run_id)
        report = load_report(self.client, run_id)
        self.title.setText(f"What the student kept: {run['name']}")
        self.empty.setVisible(report is None)
        self.table.setVisible(report is not None)
        if report is None:
            self.empty.setText("The report appears here when the distillation has finished.")
            return
        self._fill_tiles(report)
        self._fill_table(report)
        said = [e["message"] for e in self.client.events_after(run_id) if e["code"] in REPORT_SENTENCES]
        self.sentences.setText("\n".join(said))

    def _fill_tiles(self, report: dict[str, Any]) -> None:
        while self.tiles.count():
            self.tiles.takeAt(0).widget().deleteLater()
        teacher, student = report["teacher"], report["student"]
        metric = report["metric"]
        if TASKS[report["task"]].higher_is_better:  # a score: the share of it kept
            quality = (f"{student[metric] / max(teacher[metric], 1e-9):.0%}", f"of the teacher's {metric_words(metric)[0]} kept")
        else:
            quality = (f"{student[metric]:.3f}", f"evaluation loss (teacher {teacher[metric]:.3f})")
        # Two speeds, each said beside the figures it comes from: one example at a time (how an app asks) and
        # in batches (how a file is sorted); on a CPU they can differ several times over.
        batched = student.get("examples_per_second", 0) / max(teacher.get("examples_per_second", 0), 1e-9)
        tiles = [
            quality,
            (f"{report['speedup']:.1f}x", "as fast answering one example at a time ('Time per example' below)"
             + (f"; {batched:.1f}x in batches ('Examples per second')" if batched else "")),
            (f"{student['parameters'] / teacher['parameters']:.0%}", "of the teacher's parameters"),
        ]
        if report.get("plain"):
            plain = report["plain"][metric]
            tiles.append((cell(metric, plain), "reached by a student of the same size without the teacher"))
        for column, (big, small) in enumerate(tiles):
            frame, box = card(margins=14, spacing=2)
            box.addWidget(label(big, "PageTitle"))
            box.addWidget(label(small, "Muted", wrap=True))
            self.tiles.addWidget(frame, 0, column)

    def _fill_table(self, report: dict[str, Any]) -> None:
        sides = [("Teacher", report["teacher"]), ("Student", report["student"])]
        if report.get("plain"):
            # The same student architecture: its size and speed are the student's.
            sides.append(("Student without the teacher", {**report["student"], **report["plain"]}))
        rows = quality_rows(report) + [
            ("Parameters", "parameters"), ("Size on disk", "disk_bytes"), ("Time per example", "latency_ms"),
            ("Examples per second, in batches", "examples_per_second"),
        ]
        self.table.setColumnCount(1 + len(sides))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([""] + [title for title, _ in sides])
        for row, (title, name) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(title))
            for column, (_, values) in enumerate(sides, start=1):
                item = QTableWidgetItem(cell(name, values.get(name)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 6)


def add_sample_report(client: EngineClient) -> int:
    """A finished distillation run with a report, for the page on its own (sample numbers, not measured)."""
    from engine import store
    from engine.config import from_dict

    db, home = client.db, client.home
    config = from_dict({"kind": "distill", "teacher": "run:1", "task": "classify", "data": "/home/ada/data/hotel_intents.jsonl", "student_layers": 3, "compare_with_plain": True})
    run_id = store.create_run(db, kind="distill", config=config.to_dict(), name="Hotel requests, 3-layer student")
    folder = home / "runs" / f"{run_id:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "task": "classify", "metric": "eval_f1", "device": "cpu", "speedup": 1.9,
        "teacher": {"eval_f1": 0.642, "eval_accuracy": 0.31, "parameters": 22_728_000, "disk_bytes": 91_000_000, "latency_ms": 6.2, "examples_per_second": 410},
        "student": {"eval_f1": 0.623, "eval_accuracy": 0.29, "parameters": 17_405_000, "disk_bytes": 70_000_000, "latency_ms": 3.3, "examples_per_second": 800},
        "plain": {"eval_f1": 0.515, "eval_accuracy": 0.21},
    }
    (folder / "distill_report.json").write_text(json.dumps(report))
    store.update_run(db, run_id, run_dir=str(folder), status="completed", progress=1.0, finished_at=time.time())
    store.add_artifact(db, run_id, "distill_report", folder / "distill_report.json")
    store.add_event(db, run_id, "distill.report_kept", kept=0.623 / 0.642, metric="F1", student_value="62.3%", teacher_value="64.2%")
    store.add_event(
        db, run_id, "distill.report_size", share=17.4 / 22.7, student_parameters="17.4M", teacher_parameters="22.7M",
        student_disk="67 MB", teacher_disk="87 MB", speedup=1.9, student_latency="3.3 ms", teacher_latency="6.2 ms",
    )
    store.add_event(db, run_id, "distill.report_plain", metric="F1", plain_value="51.5%", student_value="62.3%")
    return run_id


def _main() -> int:
    """`python -m gui.pages.distill_report --sample`: a sample report, on its own."""
    from gui.pages import standalone

    def build(client: EngineClient, runs):
        page = DistillReportPage(client)
        page.show_run(add_sample_report(client))
        return page

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

"""Export: pick a finished run and a format, export it, and see whether the export was proven to work.

The export itself is an engine job (kind "export", a child run of the run exported); this page only starts
it and reads its progress and verdict from the database, like every other page.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine import export as exports
from engine import jobs, store
from engine.config import ConfigError
from engine.protocol import Status
from gui.engine_client import EngineClient, task_of_run
from gui.state.runs import RunsModel
from gui.state.results import finished_models, recommended_first
from gui.widgets.common import StatusPill, card, label, page_header

FORMAT_WORDS = {
    "merged": "Complete model folder, for Hugging Face tools",
    "adapter": "LoRA adapter only (small; needs the base model)",
    "gguf-f16": "GGUF 16-bit, for llama.cpp and Ollama",
    "gguf-q8_0": "GGUF 8-bit, for llama.cpp and Ollama (half the size)",
    "onnx": "ONNX, for ONNX Runtime",
}


def formats_for(run: dict[str, Any]) -> list[str]:
    """The formats that exist for this run's model."""
    lora = run["config"].get("method", "lora") != "full"
    return [fmt for fmt in task_of_run(run).export_formats if fmt != "adapter" or lora]


def exports_of(client: EngineClient, run_id: int) -> list[dict[str, Any]]:
    """The export runs of a run, newest first, each with its verdict (if it got that far)."""
    rows = []
    for child in store.child_runs(client.db, run_id, "export"):
        artifacts = {a["kind"]: a for a in store.artifacts(client.db, child["id"])}
        verification = artifacts.get("verification", {}).get("metadata", {})
        child["passed"] = verification.get("passed")
        child["summary"] = verification.get("summary") or child["error"] or ""
        child["detail"] = verification.get("detail") or ""
        child["folder"] = artifacts.get("export", {}).get("path", "")
        rows.append(child)
    return rows


class ExportRow(QWidget):
    """One export: format, status, progress while it runs, then the verdict in words and the folder."""

    def __init__(self, export: dict[str, Any]) -> None:
        super().__init__()
        frame, layout = card("Card", margins=14, spacing=6)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        top = QHBoxLayout()
        fmt = export["config"].get("format", "")
        top.addWidget(label(FORMAT_WORDS.get(fmt, fmt), "CardTitle"))
        top.addStretch(1)
        status = export["status"]
        if status == Status.COMPLETED and export["passed"]:
            status_text = "verified"
        elif export["passed"] is False:
            status_text = "check failed"
        else:
            status_text = status
        self.pill = StatusPill(status)
        self.pill.setText(status_text)
        top.addWidget(self.pill)
        layout.addLayout(top)
        if status in (Status.QUEUED, Status.PREPARING, Status.RUNNING):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(round(100 * (export["progress"] or 0)))
            layout.addWidget(bar)
            layout.addWidget(label("Writing the files, then loading them back to check them.", wrap=True))
        self.summary = label(export["summary"], wrap=True, selectable=True)
        self.summary.setToolTip(export.get("detail", ""))
        layout.addWidget(self.summary)
        if export["folder"]:
            layout.addWidget(label(f"Folder: {export['folder']}", "Muted", wrap=True, selectable=True))


class ExportPage(QWidget):
    def __init__(self, client: EngineClient, runs: RunsModel) -> None:
        super().__init__()
        self.client, self.runs = client, runs
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(12)
        layout.addWidget(page_header(
            "Export a model",
            "Take a finished model to another tool. Every export is loaded back by that kind of tool's own reader "
            "and compared with the model here, so you know it behaves the same before you use it.",
        ))

        form_frame, form_layout = card()
        form = QFormLayout()
        self.run_box = QComboBox()
        self.format_box = QComboBox()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Empty: a folder inside the export's run folder")
        form.addRow("Finished run", self.run_box)
        form.addRow("Format", self.format_box)
        form.addRow("Save to", self.folder)
        form_layout.addLayout(form)
        buttons = QHBoxLayout()
        self.message = label("", "Muted", wrap=True)
        buttons.addWidget(self.message, 1)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("Primary")
        buttons.addWidget(self.export_button)
        form_layout.addLayout(buttons)
        layout.addWidget(form_frame)

        layout.addWidget(label("Exports of this run", "SectionTitle"))
        self.list_area = QScrollArea()
        self.list_area.setWidgetResizable(True)
        self.list_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_area.setWidget(self.list_widget)
        layout.addWidget(self.list_area, 1)

        self.run_box.currentIndexChanged.connect(self._run_chosen)
        self.export_button.clicked.connect(self.export_now)
        runs.changed.connect(self.refresh)
        self._shown: list[tuple] | None = None  # what the list shows now (None: nothing drawn yet)
        self.refresh()

    # ------------------------------------------------------------ reading the database

    def finished_runs(self) -> list[dict[str, Any]]:
        """The finished models, the recommended ones first (the first is chosen by itself)."""
        return [run for run, _ in recommended_first(self.client.db, finished_models(self.runs.runs))]

    def refresh(self) -> None:
        marked = recommended_first(self.client.db, finished_models(self.runs.runs))
        finished = [run for run, _ in marked]
        ids = [r["id"] for r in finished]
        if ids != [self.run_box.itemData(i) for i in range(self.run_box.count())]:
            chosen = self.run_box.currentData()
            self.run_box.blockSignals(True)
            self.run_box.clear()
            for run, weak in marked:
                self.run_box.addItem(f"{run['name']} (run {run['id']})" + (" · not recommended" if weak else ""), run["id"])
                if weak:
                    self.run_box.setItemData(self.run_box.count() - 1, f"Not recommended: {weak}.", Qt.ItemDataRole.ToolTipRole)
            if chosen in ids:
                self.run_box.setCurrentIndex(ids.index(chosen))
            self.run_box.blockSignals(False)
            self._run_chosen()
        self.export_button.setEnabled(bool(finished))
        if not finished:
            self.message.setText("No run has finished yet; a finished run's model can be exported here.")
        self._show_exports()

    def _run_chosen(self) -> None:
        run = self.runs.run(self.run_box.currentData()) if self.run_box.count() else None
        self.format_box.clear()
        for fmt in formats_for(run) if run else []:
            self.format_box.addItem(FORMAT_WORDS[fmt], fmt)
        self._show_exports()

    def _show_exports(self) -> None:
        run_id = self.run_box.currentData()
        rows = exports_of(self.client, run_id) if run_id is not None else []
        key = [(r["id"], r["status"], r["progress"], r["summary"]) for r in rows]
        if key == self._shown:
            return
        self._shown = key
        while self.list_layout.count():
            item = self.list_layout.takeAt(0)
            if item.widget():  # hidden at once: deleteLater only acts when the event loop comes round
                item.widget().hide()
                item.widget().deleteLater()
        for row in rows:
            self.list_layout.addWidget(ExportRow(row))
        if not rows:
            self.list_layout.addWidget(label("This run has not been exported yet.", "Muted"))
        self.list_layout.addStretch(1)

    # ------------------------------------------------------------ starting an export

    def export_now(self) -> None:
        run_id, fmt = self.run_box.currentData(), self.format_box.currentData()
        if run_id is None or fmt is None:
            return
        if not self.client.live_jobs:
            self.message.setText("This is sample data: no model is behind it to export.")
            return
        try:
            exports.submit(self.client.db, run_id, fmt, home=self.client.home, to=self.folder.text().strip())
            jobs.start_next(self.client.db, home=self.client.home)
        except (ConfigError, jobs.JobError) as problem:
            self.message.setText(str(problem))
            return
        self.message.setText("Export started; it appears below with its progress.")
        self.runs.refresh()


def add_sample_exports(client: EngineClient) -> None:
    """Exports of the sample chat run as an export job writes them: one verified, one whose check failed,
    one under way (for looking at the page on its own)."""
    db = client.db
    parent = next((r for r in store.list_runs(db) if r["name"] == "Support answers, LoRA" and r["status"] == Status.COMPLETED), None)
    if parent is None or store.child_runs(db, parent["id"], "export"):
        return
    samples = [
        # The verdict measured for the SmolLM2 demo run's Q8_0 export.
        ("gguf-q8_0", Status.COMPLETED, True, "Checked with transformers' GGUF loader: the export reads every test question as "
         "the model does, answers 2 of 3 exactly as the model does (the other 1 took another word where two were almost "
         "equally likely, as the smaller numbers of gguf-q8_0 allow), and its scores agree with the model's."),
        ("merged", Status.FAILED, False, "The check found differences: The exported tokenizer splits 'Who are you?' differently "
         "from the model's own: 7 tokens instead of 4, first differing at token 1. The tokenizer files in the export do not belong to this model."),
        ("adapter", Status.RUNNING, None, ""),
    ]
    for fmt, status, passed, summary in samples:
        config = {"kind": "export", "run_id": parent["id"], "format": fmt, "to": "", "name": f"{fmt} export", "device": "cpu", "precision": "fp32"}
        run_id = store.create_run(db, kind="export", config=config, name=f"{fmt} export of {parent['name']}", parent_id=parent["id"], status=status)
        folder = client.home / "runs" / f"{run_id:05d}"
        store.update_run(db, run_id, run_dir=str(folder), progress=1.0 if passed is not None else 0.5, finished_at=time.time())
        if passed is not None:
            store.add_artifact(db, run_id, "export", folder / "export", format=fmt)
            store.add_artifact(db, run_id, "verification", folder / "verification.json", passed=passed, format=fmt, summary=summary)


def _main() -> int:
    """`python -m gui.pages.export --sample`: the page alone, on sample data."""
    from gui.pages import standalone

    def build(client: EngineClient, runs: RunsModel) -> ExportPage:
        add_sample_exports(client)
        runs.refresh()
        return ExportPage(client, runs)

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

"""Home: what this computer has, one obvious way to start (the demo), and the latest runs."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import MESSAGES
from gui.engine_client import Hardware
from gui.state.eta import TIME_LEFT
from gui.state.format import best_metric, shown_status, size, time_left, when
from gui.state.runs import RunsModel
from gui.widgets.common import StatusPill, card, fill_with_scrolling, label, page_header

RECENT = 5


class HomePage(QWidget):
    start_demo = Signal()
    new_run = Signal()
    open_run = Signal(int)
    show_runs = Signal()
    hardware_found = Signal(object)  # emitted from the probe's thread; Qt queues it to ours

    def __init__(self, runs: RunsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.hardware: Hardware | None = None

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(18)
        layout.addWidget(page_header("Welcome to Tunewright", "Teach a model your task, here on this computer."))
        layout.addWidget(self._gpu_tip_card())

        top = QHBoxLayout()
        top.setSpacing(18)
        top.addWidget(self._demo_card(), 3)
        top.addWidget(self._hardware_card(), 2)
        layout.addLayout(top)
        layout.addWidget(self._recent_card())
        layout.addWidget(self._steps_card())
        layout.addStretch(1)

        fill_with_scrolling(self, content)

        self.hardware_found.connect(self.show_hardware)
        runs.changed.connect(self.show_recent)
        self.show_recent()

    # ------------------------------------------------------------ cards

    def _demo_card(self) -> QWidget:
        frame, layout = card("Hero", margins=24, spacing=10)
        layout.addWidget(label("Try it with the demo", "Big"))
        layout.addWidget(
            label(
                "Train a small model to sort hotel guests' requests (bookings, complaints, room service and more) "
                "using the example data that comes with Tunewright. Nothing is downloaded, and you can watch it "
                "learn as it goes.",
                wrap=True,
            )
        )
        layout.addSpacing(6)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        buttons.setSpacing(10)
        self.demo_button = QPushButton("Start with a demo")
        self.demo_button.setObjectName("Primary")
        self.demo_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.demo_button.clicked.connect(self.start_demo)
        own = QPushButton("Use my own data…")
        own.clicked.connect(self.new_run)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(own)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.demo_error = label("", "ErrorText", wrap=True)
        self.demo_error.hide()
        layout.addWidget(self.demo_error)
        return frame

    def _hardware_card(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("This computer", "SectionTitle"))
        self.gpu_label = label("Checking the hardware…", "Big", wrap=True)
        self.gpu_detail = label("", "Muted", wrap=True)
        self.memory_label = label("", wrap=True)
        self.disk_label = label("", wrap=True)
        self.probe_note = label("", "Muted", wrap=True)
        for widget in (self.gpu_label, self.gpu_detail, self.memory_label, self.disk_label, self.probe_note):
            layout.addWidget(widget)
        layout.addStretch(1)
        return frame

    def _gpu_tip_card(self) -> QWidget:
        """Shown only on a machine with an NVIDIA GPU that the installed torch cannot use: how to use it."""
        self.gpu_tip, layout = card("Tip", margins=18, spacing=6)
        self.gpu_tip_title = label("", "SectionTitle", wrap=True)
        self.gpu_tip_text = label("", wrap=True, selectable=True)
        layout.addWidget(self.gpu_tip_title)
        layout.addWidget(self.gpu_tip_text)
        self.gpu_tip.hide()
        return self.gpu_tip

    def _recent_card(self) -> QWidget:
        frame, layout = card()
        header = QHBoxLayout()
        header.addWidget(label("Recent runs", "SectionTitle"))
        header.addStretch(1)
        all_runs = QPushButton("See all runs →")
        all_runs.setObjectName("Link")
        all_runs.setCursor(Qt.CursorShape.PointingHandCursor)
        all_runs.clicked.connect(self.show_runs)
        header.addWidget(all_runs)
        layout.addLayout(header)
        self.recent_grid = QGridLayout()
        self.recent_grid.setHorizontalSpacing(18)
        self.recent_grid.setVerticalSpacing(10)
        self.recent_grid.setColumnStretch(0, 1)
        layout.addLayout(self.recent_grid)
        self.no_runs = label("No runs yet. Start with the demo, or with your own data.", "Muted")
        layout.addWidget(self.no_runs)
        return frame

    def _steps_card(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("How it works", "SectionTitle"))
        steps = QHBoxLayout()
        steps.setSpacing(24)
        for number, title, text in (
            ("1", "Bring your examples", "A spreadsheet or file of texts with the answers you want: categories, or replies."),
            ("2", "Watch it learn", "Tunewright picks the settings for this computer and shows, live, how training goes."),
            ("3", "Use your model", "Check how well it does on examples it has not seen, then save it to use anywhere."),
        ):
            column = QVBoxLayout()
            column.setSpacing(4)
            column.addWidget(label(f"{number}  {title}", "StepTitle"))
            column.addWidget(label(text, "Muted", wrap=True))
            column.addStretch(1)
            steps.addLayout(column, 1)
        layout.addLayout(steps)
        return frame

    # ------------------------------------------------------------ filling in

    def show_hardware(self, hardware: Hardware) -> None:
        self.hardware = hardware
        gpus = hardware.gpus
        if gpus:
            gpu = gpus[0]
            memory = gpu.get("total_memory")
            self.gpu_label.setText(f"{gpu.get('name') or 'GPU'}" + (f" · {size(memory)}" if memory else ""))
            free = gpu.get("free_memory")
            extra = f"{len(gpus) - 1} more GPU(s). " if len(gpus) > 1 else ""
            self.gpu_detail.setText(extra + (f"{size(free)} of its memory is free now." if free else ""))
        elif hardware.unused_gpu:
            self.gpu_label.setText(MESSAGES["hardware.gpu_unused"].format(gpu=hardware.unused_gpu))
            self.gpu_detail.setText("")
        else:  # no GPU (or the probe failed): the CPU trains, and the demo is quick there
            self.gpu_label.setText(MESSAGES["hardware.cpu_only"].format())
            self.gpu_detail.setText(MESSAGES["hardware.cpu_only_detail"].format())
        tip = hardware.advice if hardware.unused_gpu else ""
        self.gpu_tip_title.setText(MESSAGES["hardware.gpu_unused_title"].format(gpu=hardware.unused_gpu) if tip else "")
        self.gpu_tip_text.setText(tip)
        self.gpu_tip.setVisible(bool(tip))
        self.memory_label.setText(
            f"Memory: {size(hardware.ram_available)} free of {size(hardware.ram_total)}" if hardware.ram_total else ""
        )
        self.disk_label.setText(f"Disk: {size(hardware.disk_free)} free for models and checkpoints" if hardware.disk_free else "")
        note = hardware.advice if hardware.advice and not hardware.unused_gpu else ""  # other advice, shown small
        self.probe_note.setText(hardware.error or note or ("Checking again…" if hardware.cached else ""))
        self.probe_note.setVisible(bool(self.probe_note.text()))
        self.gpu_detail.setVisible(bool(self.gpu_detail.text()))

    def show_recent(self) -> None:
        while self.recent_grid.count():
            item = self.recent_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        recent = self.runs.runs[:RECENT]
        self.no_runs.setVisible(not recent)
        for row, run in enumerate(recent):
            name = QPushButton(run["name"] or f"Run {run['id']}")
            name.setObjectName("Link")
            name.setCursor(Qt.CursorShape.PointingHandCursor)
            name.clicked.connect(lambda _=False, run_id=run["id"]: self.open_run.emit(run_id))
            status = shown_status(run)
            pill = StatusPill(status)
            progress = QProgressBar()
            progress.setRange(0, 1000)
            progress.setValue(round((run["progress"] or 0) * 1000))
            progress.setFixedWidth(140)
            if status in ("running", "preparing", "pausing"):
                note = time_left(TIME_LEFT.seconds(run)) or f"step {run['step'] or 0}"
            else:
                note = best_metric(run) or when(run["finished_at"] or run["created_at"])
            self.recent_grid.addWidget(name, row, 0)
            self.recent_grid.addWidget(pill, row, 1, Qt.AlignmentFlag.AlignLeft)
            self.recent_grid.addWidget(progress, row, 2)
            self.recent_grid.addWidget(label(note, "Muted"), row, 3)


def _main() -> int:
    """`python -m gui.pages.home --sample`: the page alone, on sample data."""
    from gui.pages import standalone

    def build(client, runs):
        from gui.sample import SAMPLE_HARDWARE

        page = HomePage(runs)
        page.show_hardware(Hardware.from_probe(SAMPLE_HARDWARE))
        return page

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

"""A Slurm cluster, added once: its settings (from engine/cluster.py's `Cluster`, each with its help) and a
connection test that says, in a sentence each, what is missing. The test runs ssh in a worker thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from engine import cluster
from gui.state.cluster import ClusterDraft
from gui.widgets.common import card, fill_with_scrolling, label, page_header
from gui.widgets.settings_form import SettingsForm


class ClusterPage(QWidget):
    tested = Signal()  # from the worker thread; Qt queues it to ours

    def __init__(self, draft: ClusterDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(page_header("A cluster", "Send runs to your institute's Slurm cluster, over SSH."))
        frame, layout = card()
        self.form = SettingsForm(cluster.Cluster)
        self.form.show_values(draft.values, {})
        self.form.edited.connect(draft.edit)
        layout.addWidget(self.form)
        buttons = QHBoxLayout()
        self.test_button = QPushButton("Test the connection")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("Primary")
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.verdict = label("", wrap=True, selectable=True)
        layout.addWidget(self.verdict)
        column.addWidget(frame)
        column.addStretch(1)
        fill_with_scrolling(self, content)
        self.test_button.clicked.connect(self.test)
        self.save_button.clicked.connect(draft.save)
        self.tested.connect(self.show_state)
        draft.changed.connect(self.show_state)

    def test(self) -> None:
        self.test_button.setEnabled(False)
        self.verdict.setText("Connecting…")
        threading.Thread(target=lambda: (self.draft.test(), self.tested.emit()), daemon=True).start()

    def show_state(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # the worker's own change: shown when `tested` arrives
        self.test_button.setEnabled(True)
        verdict = self.draft.verdict
        if verdict is None:
            self.verdict.setText(self.draft.problem)
        elif verdict:
            self.verdict.setText("\n".join(verdict))
        else:
            self.verdict.setText("Connected: Slurm, the partition, the folder and Tunewright are all there.")

"""The wizard's student chooser for "Make a model smaller and faster": a slider over the teacher's layers that
says, as it moves, how many parameters the student keeps and how much faster it should answer (read from the
teacher's weight-file headers: exact, and milliseconds to work out), and a box to also train a student of
the same size without the teacher, for comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QSlider, QVBoxLayout, QWidget

from engine.config import ConfigError
from gui.widgets.common import card, label


class StudentCard(QWidget):
    layers_chosen = Signal(int)
    compare_chosen = Signal(bool)

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.size_of: Any = None  # layers -> StudentSize, for the teacher being shown
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame, box = card()
        outer.addWidget(frame)
        box.addWidget(label("The student", "SectionTitle"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._layers_moved)
        box.addWidget(self.slider)
        self.text = label("", wrap=True)
        box.addWidget(self.text)
        self.compare = QCheckBox(
            "Also train a student of the same size without the teacher, to see what the teacher added (takes "
            "about twice as long)"
        )
        self.compare.toggled.connect(self.compare_chosen.emit)
        box.addWidget(self.compare)

    def show_teacher(self, ref: str, layers: int | None) -> str:
        """Size the slider to the teacher's layers (`layers` chosen, else half); the sentence that says why
        this teacher cannot teach, or "" when it can."""
        from engine.models.students import find_teacher, student_size  # safetensors: off the start-up path

        try:
            teacher = find_teacher(ref, self.home)
            folder, gguf = teacher.source.path, teacher.source.gguf_file
            self.size_of = lambda kept: student_size(folder, kept, gguf)
            total = self.size_of(1).teacher_layers
        except (ConfigError, OSError) as problem:
            self.size_of = None
            self.text.setText(str(problem))
            self.slider.setEnabled(False)
            return str(problem)
        self.slider.setEnabled(True)
        self.slider.blockSignals(True)
        self.slider.setRange(1, max(1, total - 1))
        self.slider.setValue(int(layers or max(1, total // 2)))
        self.slider.blockSignals(False)
        self._layers_moved(self.slider.value())
        return ""

    def _layers_moved(self, layers: int) -> None:
        if self.size_of is None:
            return
        size = self.size_of(layers)
        self.text.setText(
            f"Keeps {size.layers} of the teacher's {size.teacher_layers} {size.unit}: {size.parameters / 1e6:.1f}M "
            f"parameters ({size.share:.0%} of the teacher's), about {size.speedup:.1f}x as fast. Fewer {size.unit}: "
            "smaller and faster, but the student keeps less of what the teacher knows."
        )
        self.layers_chosen.emit(layers)

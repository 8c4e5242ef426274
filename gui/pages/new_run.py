"""New run: a short form (task, model, data, method and a few settings) that starts a job.

The fields, their defaults and their help come from the engine's config dataclasses (`help_for`), and a bad
value is refused by the same checks the engine uses (`from_dict` raises `ConfigError`), shown next to the
field it is about, with everything typed kept as it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.engine_client import CONFIG_TYPES, ClassifyConfig, ConfigError, EngineClient, from_dict, help_for
from gui.widgets.common import card, label, page_header

TASKS = [("classify", "Sort texts into categories"), ("chat", "Answer like my examples"),
         ("distill", "Make a model smaller and faster")]
BUNDLED = {
    "classify": [("demo:minilm", "Demo MiniLM: a small, fast text classifier (bundled)")],
    "chat": [("demo:smollm2", "Demo SmolLM2 135M Instruct: a small chat model (bundled)")],
    "distill": [("demo:smollm2", "Demo SmolLM2 135M Instruct: a small chat model (bundled)")],
}
METHOD_WORDS = {
    "lora": "LoRA: trains small add-on weights (fast, light, the usual choice)",
    "full": "Full: trains every weight (slower, needs more memory)",
    "qlora": "QLoRA: LoRA on a 4-bit model (needs an NVIDIA GPU)",
}
FIELDS = ["model", "data", "method", "epochs", "learning_rate", "batch_size", "name"]
FIELD_LABELS = {
    "model": "Model",
    "data": "Training data",
    "method": "Method",
    "epochs": "Epochs",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "name": "Name",
}


def _config_type(kind: str) -> type:
    return CONFIG_TYPES.get(kind, ClassifyConfig)


class NewRunPage(QWidget):
    started = Signal(int)

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.kind = "classify"
        self.inputs: dict[str, QWidget] = {}
        self.extra: dict[str, Any] = {}  # settings not on the form, kept from a loaded config
        self.helps: dict[str, Any] = {}

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(16)
        layout.addWidget(page_header("New run", "Choose what to teach, which model to start from and your examples. "
                                                "Everything else has a sensible default."))

        frame, form_box = card(margins=24)
        frame.setMaximumWidth(820)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(6)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form_box.addLayout(self.form)

        self.task = QComboBox()
        for key, words in TASKS:
            self.task.addItem(words, key)
        self.task.currentIndexChanged.connect(self._task_changed)
        self._add_row("Task", self.task, "What should the model learn to do?")

        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        folder = QPushButton("Folder…")
        folder.clicked.connect(self._choose_model_folder)
        self._add_row("model", self.model, extra=folder)

        self.data = QLineEdit()
        self.data.setPlaceholderText("A CSV, JSON or JSONL file of examples")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_data)
        self._add_row("data", self.data, extra=browse)

        self.method = QComboBox()
        self._add_row("method", self.method)

        # Distillation only: how much of the teacher the student keeps, with what that means.
        self.student_layers = QSlider(Qt.Orientation.Horizontal)
        self.student_layers.valueChanged.connect(self._show_student_size)
        self._add_row("Student size", self.student_layers)
        self.compare_with_plain = QCheckBox("Also train the same student without the teacher, to compare")
        self._add_row("Compare", self.compare_with_plain)
        self.model.currentTextChanged.connect(self._teacher_changed)

        self.epochs = QLineEdit()
        self._add_row("epochs", self.epochs)
        self.learning_rate = QLineEdit()
        self.learning_rate.setPlaceholderText("automatic")
        self._add_row("learning_rate", self.learning_rate)
        self.batch_size = QLineEdit()
        self._add_row("batch_size", self.batch_size)
        self.name = QLineEdit()
        self.name.setPlaceholderText("Optional: named after the model and data if empty")
        self._add_row("name", self.name)

        self.error = label("", "ErrorText", wrap=True)
        self.error.hide()
        form_box.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("Primary")
        self.start_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.start_button.clicked.connect(self.start)
        buttons.addWidget(self.start_button)
        form_box.addLayout(buttons)
        layout.addWidget(frame)
        layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._fill_defaults(first=True)

    # ------------------------------------------------------------ building

    def _add_row(self, key: str, widget: QWidget, help_text: str = "", extra: QWidget | None = None) -> None:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 8)
        column.setSpacing(3)
        line = QHBoxLayout()
        line.setSpacing(8)
        line.addWidget(widget, 1)
        if extra:
            line.addWidget(extra)
        column.addLayout(line)
        help_label = label(help_text, "FieldHelp", wrap=True)
        column.addWidget(help_label)
        self.helps[key] = help_label
        if key in FIELD_LABELS:
            self.inputs[key] = widget
        self.form.addRow(label(FIELD_LABELS.get(key, key), "FormLabel"), box)

    def _fill_defaults(self, *, first: bool = False, previous: str | None = None) -> None:
        """Fill in the defaults of the current task, keeping anything the person changed."""
        helps = help_for(_config_type(self.kind))
        old = help_for(_config_type(previous)) if previous else None
        for key in FIELDS:
            self.helps[key].setText(helps[key]["help"])

        bundled = BUNDLED[self.kind]
        typed = self.model.currentText().strip()
        keep_model = typed and not typed.startswith("run:") and not any(typed == m for models in BUNDLED.values() for m, _ in models)
        self.model.blockSignals(True)
        self.model.clear()
        if self.kind == "distill":  # the user's finished runs teach first
            for run in self.client.list_runs():
                if run["status"] == "completed" and run["kind"] in ("classify", "chat"):
                    self.model.addItem(f"run:{run['id']}")
                    self.model.setItemData(self.model.count() - 1, run["name"], Qt.ItemDataRole.ToolTipRole)
        for model_id, words in bundled:
            self.model.addItem(model_id)
            self.model.setItemData(self.model.count() - 1, words, Qt.ItemDataRole.ToolTipRole)
        if keep_model:
            self.model.setEditText(typed)
        self.model.blockSignals(False)
        self.helps["model"].setText(bundled[0][1] + ", a folder on this computer, or a Hugging Face model name.")
        distill = self.kind == "distill"
        self.form.labelForField(self.model.parentWidget()).setText("Teacher" if distill else FIELD_LABELS["model"])
        if distill:
            self.helps["model"].setText(
                "The model to make smaller: one of your finished runs (run:number), or a model that already does the task."
            )
        for widget in (self.student_layers, self.compare_with_plain):
            self.form.setRowVisible(widget.parentWidget(), distill)
        self.form.setRowVisible(self.method.parentWidget(), not distill)
        self._teacher_changed()

        if not self.method.count():
            for choice in helps["method"]["choices"]:
                self.method.addItem(METHOD_WORDS.get(choice, choice), choice)
            self.method.setCurrentIndex(self.method.findData(helps["method"]["default"]))
        self.helps["method"].setText("How to train. LoRA suits almost every case.")

        for key, widget in (("epochs", self.epochs), ("batch_size", self.batch_size)):
            default = helps[key]["default"]
            if first or (old and widget.text() == _shown(old[key]["default"])):
                widget.setText(_shown(default))

    def _teacher_changed(self) -> None:
        """Size the slider to the teacher's layers (half chosen), or say why the teacher cannot be measured."""
        if self.kind != "distill":
            return
        from engine.models.students import find_teacher, student_size

        self.teacher_size = None
        try:
            teacher = find_teacher(self.model.currentText().strip(), self.client.home)
            folder = teacher.source.path
            self.teacher_size = lambda layers: student_size(folder, layers, teacher.source.gguf_file)
            total = self.teacher_size(1).teacher_layers
        except (ConfigError, OSError) as problem:
            self.helps["Student size"].setText(str(problem))
            self.student_layers.setEnabled(False)
            return
        self.student_layers.setEnabled(True)
        self.student_layers.setRange(1, total)
        self.student_layers.setValue(max(1, total // 2))
        self._show_student_size()

    def _show_student_size(self) -> None:
        if self.kind != "distill" or not getattr(self, "teacher_size", None):
            return
        size = self.teacher_size(self.student_layers.value())
        self.helps["Student size"].setText(
            f"{size.layers} of the teacher's {size.teacher_layers} layers: {size.parameters / 1e6:.1f}M parameters "
            f"({size.share:.0%} of the teacher's), about {size.speedup:.1f}x as fast."
        )

    def _task_changed(self) -> None:
        previous, self.kind = self.kind, self.task.currentData()
        self._fill_defaults(previous=previous)

    def _choose_model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model.setEditText(folder)

    def _choose_data(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose your training examples", "", "Data (*.csv *.tsv *.json *.jsonl *.parquet *.xlsx *.txt);;All files (*)"
        )
        if path:
            self.data.setText(path)

    # ------------------------------------------------------------ starting

    def values(self) -> dict[str, Any]:
        """The form as config settings (strings; `from_dict` turns them into numbers and checks them)."""
        values: dict[str, Any] = {
            "model": self.model.currentText().strip(),
            "data": self.data.text().strip(),
            "method": self.method.currentData(),
            "epochs": self.epochs.text().strip(),
            "batch_size": self.batch_size.text().strip(),
            "name": self.name.text().strip(),
        }
        rate = self.learning_rate.text().strip()
        values["learning_rate"] = rate if rate else None
        if self.kind == "distill":
            values["teacher"] = values.pop("model")
            values["student_layers"] = self.student_layers.value()
            values["compare_with_plain"] = self.compare_with_plain.isChecked()
            values.pop("method")
        return values

    def build_config(self) -> Any:
        """The config the form describes; raises ConfigError with a sentence about what to change."""
        values = self.values()
        for key, whole in (("epochs", False), ("batch_size", True), ("learning_rate", False)):
            if values[key] is not None:
                values[key] = _number(key, values[key], whole=whole)
        config = from_dict({**self.extra, **values}, kind=self.kind)
        data = Path(config.data).expanduser()
        if not data.is_file():
            raise ConfigError(f"The setting 'data' must be a file of examples; there is no file at {data}.")
        return config

    def load_config(self, config: dict[str, Any]) -> None:
        """Fill the form from a config (to repeat a run, or a prepared one); settings it has no field for
        are kept and go into the run unchanged."""
        values = dict(config)
        kind = values.pop("kind", "classify")
        self.task.setCurrentIndex(self.task.findData(kind))
        self.model.setEditText(str(values.pop("model", "")))
        self.data.setText(str(values.pop("data", "")))
        method = values.pop("method", None)
        if method is not None:
            self.method.setCurrentIndex(self.method.findData(method))
        for key, widget in (("epochs", self.epochs), ("learning_rate", self.learning_rate),
                            ("batch_size", self.batch_size), ("name", self.name)):
            if key in values:
                widget.setText(_shown(values.pop(key)))
        self.extra = values

    def start(self) -> int | None:
        self.show_error("")
        try:
            config = self.build_config()
            run_id = self.client.start(config)
        except ConfigError as error:
            self.show_error(str(error))
            return None
        except OSError as error:
            self.show_error(f"The run could not be started: {error}")
            return None
        self.started.emit(run_id)
        return run_id

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        match = re.search(r"'(\w+)'", text)
        bad = match.group(1) if match else None
        if text and bad is None:
            bad = "model" if "model" in text.lower() else "data" if "file" in text.lower() else None
        for key, widget in self.inputs.items():
            target = widget.lineEdit() if isinstance(widget, QComboBox) and widget.isEditable() else widget
            target.setProperty("invalid", key == bad)
            target.style().unpolish(target)
            target.style().polish(target)
        if bad in self.inputs:
            self.inputs[bad].setFocus()


def _number(key: str, text: str, *, whole: bool) -> float | int:
    """A typed number, or a ConfigError worded as the engine words its own."""
    expected = "a whole number" if whole else "a number"
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"The setting '{key}' must be {expected} (it is {text!r}).") from None
    if whole:
        if not number.is_integer():
            raise ConfigError(f"The setting '{key}' must be {expected} (it is {text!r}).")
        return int(number)
    return number


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _main() -> int:
    """`python -m gui.pages.new_run --sample`: the form on its own."""
    from gui.pages import standalone

    return standalone.run(lambda client, runs: NewRunPage(client))


if __name__ == "__main__":
    raise SystemExit(_main())

"""New run, guided: Task -> Data -> Model -> Plan -> Train.

Each step shows what was checked and what the engine decided, and the Next button says, in the footer,
what still stops the way and how to fix it, so a person gets from a raw file to a training run without
reading any documentation, and never starts a run that would fail. The choices live in a Qt-free view
model (`gui.state.wizard.Wizard`); the steps here only show it and pass clicks to it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import message
from gui.engine_client import TASKS, ConfigError, EngineClient, Hardware, JobError, config_types
from gui.state import models as model_words
from gui.state.wizard import (
    DISTILL_TASK, STEP_TITLES, STEPS, Wizard, default_teacher_data, placeholder_names, recommend,
    recommend_teacher, task_choices, teacher_mismatch, teacher_runs,
)
from gui.state.advisor import ADVISED_TASKS, Question, data_settings
from gui.widgets.advisor import ModelRanking
from gui.widgets.common import ChoiceCard, card, label, page_header, scrolling
from gui.widgets.settings_form import SettingsForm, words
from gui.widgets.student_card import StudentCard

NEXT_WORDS = {"task": "Next: your data", "data": "Next: the model", "model": "Next: the plan",
              "plan": "Next: review and train", "train": "Start training"}


def _guarded(handler: Callable) -> Callable:
    """A step's handler whose failure becomes the sentence beside Next, with the detail for a bug report, and
    stops that step until the person changes something: never a half-updated step with no word."""

    @functools.wraps(handler)
    def run(self: WizardPage, *args: Any) -> Any:
        try:
            return handler(self, *args)
        except Exception as error:  # noqa: BLE001 - any bug in a step must reach the person as a sentence
            sentence = message("wizard.step_failed", detail=f"{type(error).__name__}: {error}")[1]
            self.wizard.stop_step(sentence)
            self.blocker.setText(sentence)
            self.next_button.setEnabled(False)
            return None

    return run


class WizardPage(QWidget):
    started = Signal(int)
    show_models = Signal()  # "more models": the Models page
    _planned = Signal(object, object)  # (asked, result), from the plan's thread
    _catalog = Signal(object)  # from the catalog's thread

    def __init__(self, client: EngineClient, hardware: Hardware | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.wizard = Wizard(client)
        self.wizard.hardware = hardware or client.cached_hardware()
        self.wizard.changed.connect(self.refresh)
        self._planned.connect(self.wizard.plan_done)
        self._catalog.connect(self._show_models)
        self.data_page: Any = None  # the Data page, built when the Data step is first shown
        self.auto_checked: set[str] = set()  # files the doctor was started on by this step
        self.models: list[Any] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 18)
        outer.setSpacing(12)
        outer.addWidget(page_header("New run", "Five short steps; each one says what it checked and what it decided."))
        outer.addLayout(self._step_bar())
        self.stack = QStackedWidget()
        self.steps: dict[str, QWidget] = {}
        for step, build in (("task", self._task_step), ("data", self._data_step), ("model", self._model_step),
                            ("plan", self._plan_step), ("train", self._train_step)):
            widget = build()
            if step != "data":  # the Data page scrolls itself
                widget = scrolling(widget)
            self.steps[step] = widget
            self.stack.addWidget(widget)
        outer.addWidget(self.stack, 1)
        outer.addWidget(self._footer())
        self.refresh()

    # ------------------------------------------------------------ frame: step bar and footer

    def _step_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.step_buttons: dict[str, QPushButton] = {}
        for number, step in enumerate(STEPS, 1):
            button = QPushButton(f"{number}  {STEP_TITLES[step]}")
            button.setObjectName("StepButton")
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, s=step: self.go(s))
            self.step_buttons[step] = button
            row.addWidget(button)
            if number < len(STEPS):
                row.addWidget(label("›", "Muted"))
        row.addStretch(1)
        return row

    def _footer(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("WizardFooter")
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 8, 0, 0)
        self.blocker = label("", "Muted", wrap=True)
        row.addWidget(self.blocker, 1)
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(lambda: self.go(STEPS[STEPS.index(self.wizard.step) - 1]))
        row.addWidget(self.back_button)
        self.next_button = QPushButton()
        self.next_button.setObjectName("Primary")
        self.next_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.next_button.clicked.connect(self.forward)
        row.addWidget(self.next_button)
        return bar

    # ------------------------------------------------------------ step 1: task

    def _task_step(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(12)
        layout.addWidget(label("What should the model learn to do?", "SectionTitle"))
        self.task_buttons: dict[str, ChoiceCard] = {}
        for task in task_choices():
            button = ChoiceCard(task.title, task.about, f"For example: {task.example}")
            button.clicked.connect(lambda key=task.key: self.wizard.choose_task(key))
            self.task_buttons[task.key] = button
            layout.addWidget(button)
        layout.addStretch(1)
        return content

    # ------------------------------------------------------------ step 2: data

    def _data_step(self) -> QWidget:
        self.data_box = QWidget()
        layout = QVBoxLayout(self.data_box)
        layout.setContentsMargins(0, 0, 0, 0)
        return self.data_box

    def _ensure_data_page(self) -> None:
        """The Data page, as this step: its file, how it reads and the doctor's findings."""
        if self.data_page is None:
            from gui.pages.data import DataPage

            self.data_page = DataPage(self.client, task=self._data_task(), embedded=True)
            self.data_page.changed.connect(self._data_changed)
            self.data_page.use_in_run.connect(self._data_chosen)
            self.data_box.layout().addWidget(self.data_page)
            if self.wizard.task == DISTILL_TASK and not self.wizard.data and (own := default_teacher_data(self.client)):
                self.data_page.open_path(own)  # a teacher teaches best on what it learned from
        elif self.data_page.fixed_task != self._data_task():
            self.data_page.set_task(self._data_task())
        self._data_changed()

    def _data_task(self) -> str:
        """The task the data is read for: the one chosen, or for a distillation whatever the file holds."""
        return "" if self.wizard.task == DISTILL_TASK else self.wizard.task

    @_guarded
    def _data_changed(self) -> None:
        """What stops the Data step: no file, a file that cannot be read as it is, or a finding the run would
        fail on. The doctor starts by itself on a new file."""
        page = self.data_page
        if not page.path:
            blocker = "Choose the file with your examples (or the demo data)."
        elif page.description is None or page.description.problem:
            blocker = page.problem.text() or "This file cannot be read as examples."
        elif self._data_task() and (guessed := self._guessed_task(page.path)) and guessed != self.wizard.task:
            blocker = (f"This file looks like examples for “{_task_title(guessed)}”, not "
                       f"“{_task_title(self.wizard.task)}”. Choose another file, or go back and change the task.")
        elif page.session.running():
            blocker = "The data doctor is checking your examples…"
        elif (report := page.report()) is None:
            stored = page.session.stored(page.path)
            if stored and stored["metadata"].get("status") == "failed" or page.path in self.auto_checked:
                blocker = page.failure() or "The data doctor has not checked this file yet: press Check data."
            else:
                self.auto_checked.add(page.path)
                page.check()
                blocker = "The data doctor is checking your examples…"
        else:
            errors = [f for f in report.findings if f.severity == "error"]
            way = " Use the fix beside it, or choose another file." if errors and errors[0].fix else " Or choose another file."
            blocker = (errors[0].message + way) if errors else ""
        if self.wizard.data.get("data") not in (None, page.path):
            self.wizard.set_data(None, blocker)  # another file: its settings are handed over again with Next
        self.wizard.data_blocker = blocker
        self.refresh()

    def _guessed_task(self, path: str) -> str:
        """The task the file's own layout suggests (read from its head), whatever task the step asked for."""
        from gui.state.data import DataError, ReadOptions

        try:
            return self.data_page.session.describe(path, ReadOptions()).task
        except DataError:
            return ""

    @_guarded
    def _data_chosen(self, values: dict[str, Any]) -> None:
        self.wizard.set_data(values)
        if self.wizard.step == "data":
            self.go("model")

    # ------------------------------------------------------------ step 3: model

    def _model_step(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(12)
        frame, box = card("Hero")
        self.recommendation = label("Looking for the models on this computer…", wrap=True)
        box.addWidget(self.recommendation)
        self.use_recommended = QPushButton("Use the recommended model")
        self.use_recommended.clicked.connect(lambda: self._choose_model(self.recommended))
        self.use_recommended.hide()
        box.addWidget(self.use_recommended, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(frame)
        self.recommended: Any = None

        self.model_table = QTableWidget(0, 5)
        self.model_table.setHorizontalHeaderLabels(["Model", "Parameters", "Reads up to", "Licence", "Memory"])
        self.model_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.model_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.model_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.model_table.verticalHeader().setVisible(False)
        self.model_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.model_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.model_table.setMinimumHeight(220)
        self.model_table.itemSelectionChanged.connect(self._model_selected)
        layout.addWidget(self.model_table)
        self.model_detail = label("", "Muted", wrap=True)
        layout.addWidget(self.model_detail)
        self.ranking = ModelRanking(Question(self.client, "models"))
        self.ranking.use_model.connect(self._use_ranked)
        self.ranking.hide()
        layout.addWidget(self.ranking)
        self.student = StudentCard(self.client.home)
        self.student.layers_chosen.connect(lambda layers: self.wizard.set_setting("student_layers", layers))
        self.student.compare_chosen.connect(lambda on: self.wizard.set_setting("compare_with_plain", on or None))
        self.student.hide()
        layout.addWidget(self.student)
        more = QPushButton("More models: add a folder or download one on the Models page")
        more.setObjectName("Link")
        more.clicked.connect(self.show_models.emit)
        layout.addWidget(more, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        return content

    def _load_models(self) -> None:
        threading.Thread(target=lambda: self._catalog.emit(self.client.models()), name="tunewright-catalog",
                         daemon=True).start()

    @_guarded
    def _show_models(self, models: list[Any]) -> None:
        distill = self.wizard.task == DISTILL_TASK
        task = self.wizard.data_task if distill else self.wizard.task
        self.models = [m for m in models if task in (m.tasks or (m.task,))]
        if distill:  # the user's own finished runs teach first
            self.models = teacher_runs(self.client, task) + self.models
        self.student.setVisible(distill)
        self.ranking.setVisible(task in ADVISED_TASKS and not distill)
        self.ranking.settings = data_settings(self.wizard.data)
        self.ranking.show_question()
        self.model_table.blockSignals(True)
        self.model_table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            fit = model_words.fit_for(model, self.wizard.hardware)
            cells = [model.name, model_words.parameters_text(model), model_words.context_text(model.context_length),
                     model_words.licence_text(model.licence), model.problem and "Cannot be used" or fit.words]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(model.problem or fit.detail if column == 4 else model.ref)
                self.model_table.setItem(row, column, item)
            if model.ref == self.wizard.model_ref:
                self.model_table.selectRow(row)
        self.model_table.blockSignals(False)
        self.recommended, reason = (recommend_teacher(self.models) if distill
                                    else recommend(self.models, self.wizard.hardware))
        if self.recommended is None:
            self.recommendation.setText(reason)
            self.use_recommended.hide()
        else:
            self.recommendation.setText(f"<b>Recommended: {self.recommended.name}.</b> {reason}")
            self.use_recommended.setVisible(self.recommended.ref != self.wizard.model_ref)
            if not self.wizard.model_ref:
                self._choose_model(self.recommended)

    def _use_ranked(self, ref: str) -> None:
        self._choose_model(next((m for m in self.models if m.ref == ref), None))

    def _model_selected(self) -> None:
        rows = self.model_table.selectionModel().selectedRows()
        if rows:
            self._choose_model(self.models[rows[0].row()])

    @_guarded
    def _choose_model(self, model: Any) -> None:
        if model is None:
            return
        fit = model_words.fit_for(model, self.wizard.hardware)
        blocker = model.problem or (fit.detail if fit.level == "too big" else "")
        self.model_detail.setText(f"{model.name}: {model.about or model_words.task_text(model)}. {fit.detail}")
        self.use_recommended.setVisible(self.recommended is not None and model.ref != self.recommended.ref)
        for row, shown in enumerate(self.models):
            if shown.ref == model.ref and self.model_table.currentRow() != row:
                self.model_table.blockSignals(True)
                self.model_table.selectRow(row)
                self.model_table.blockSignals(False)
        self.wizard.set_model(model.ref, blocker)
        if self.wizard.task == DISTILL_TASK:
            size_problem = self.student.show_teacher(model.ref, self.wizard.settings.get("student_layers"))
            report = self.data_page.report() if self.data_page is not None else None
            # categories the teacher never learned cannot be taught: said first, as it is the data's to fix
            problem = teacher_mismatch(self.client, model.ref, report.classes if report else None,
                                       self.wizard.data.get("data", ""), self.wizard.data_task) or size_problem
            if problem:  # it cannot teach: Next stays disabled, with this sentence
                self.wizard.set_model(model.ref, problem)

    # ------------------------------------------------------------ step 4: plan

    def _plan_step(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(12)
        self.placeholders_box, box = card("Hero")
        box.addWidget(label("Your examples have blanks to fill in", "SectionTitle"))
        box.addWidget(label("Words like {{name}} in your examples are replaced by what you write here, in every "
                            "example, before training: for instance your assistant's name and who made it.",
                            "Muted", wrap=True))
        self.placeholder_form = QFormLayout()
        box.addLayout(self.placeholder_form)
        self.placeholder_edits: dict[str, QLineEdit] = {}
        self.placeholders_box.hide()
        layout.addWidget(self.placeholders_box)
        self.distill_note, box = card("Hero")
        self.distill_note_text = label("", wrap=True)
        box.addWidget(self.distill_note_text)
        self.distill_note.hide()
        layout.addWidget(self.distill_note)
        self.forecast_box, box = card()
        box.addWidget(label("Memory", "SectionTitle"))
        self.memory_bar = QProgressBar()
        self.memory_bar.setRange(0, 1000)
        box.addWidget(self.memory_bar)
        self.memory_text = label("", wrap=True)
        box.addWidget(self.memory_text)
        box.addWidget(label("Time", "SectionTitle"))
        self.time_text = label("", wrap=True)
        box.addWidget(self.time_text)
        layout.addWidget(self.forecast_box)

        self.decisions_box, box = card()
        box.addWidget(label("What the engine decided, and why", "SectionTitle"))
        self.decisions = label("", wrap=True)
        self.decisions.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.decisions)
        layout.addWidget(self.decisions_box)

        self.expert = QCheckBox("Expert: show every setting")
        self.expert.toggled.connect(lambda on: self.expert_box.setVisible(on))
        layout.addWidget(self.expert)
        self.expert_box, box = card()
        self.expert_forms: dict[str, SettingsForm] = {}
        for kind, config_type in ((task.key, config_types()[task.key]) for task in task_choices()):
            form = SettingsForm(config_type)
            form.edited.connect(self.wizard.set_setting)
            form.hide()
            self.expert_forms[kind] = form
            box.addWidget(form)
        self.expert_box.hide()
        layout.addWidget(self.expert_box)
        layout.addStretch(1)
        return content

    def _show_placeholders(self) -> None:
        """One field per {{placeholder}} the examples use, when the plan stopped for want of their values."""
        given = self.wizard.settings.get("template_values") or {}
        names = placeholder_names(self.wizard.plan) or list(given)
        if names != list(self.placeholder_edits):
            while self.placeholder_form.rowCount():
                self.placeholder_form.removeRow(0)
            self.placeholder_edits = {}
            for name in names:
                edit = QLineEdit(str(given.get(name, "")))
                edit.setPlaceholderText(f"what {{{{{name}}}}} stands for")
                edit.editingFinished.connect(self._placeholders_typed)
                self.placeholder_edits[name] = edit
                self.placeholder_form.addRow(label(f"{{{{{name}}}}}", "FormLabel"), edit)
        self.placeholders_box.setVisible(bool(names))

    def _placeholders_typed(self) -> None:
        values = {name: edit.text().strip() for name, edit in self.placeholder_edits.items()}
        if all(values.values()) and values != self.wizard.settings.get("template_values"):
            self.wizard.set_setting("template_values", values)

    def _show_plan(self) -> None:
        wizard, plan = self.wizard, self.wizard.plan
        self._show_placeholders()
        for kind, form in self.expert_forms.items():
            form.setVisible(kind == wizard.task)
        form = self.expert_forms.get(wizard.task)
        if form is not None:
            form.show_values(wizard.settings, plan.config if plan and not plan.error else {})
            match = _setting_named(wizard.blocker("plan"))
            form.mark_invalid(match)
        distill = wizard.task == DISTILL_TASK
        self.distill_note.setVisible(distill)
        if distill:
            self.distill_note_text.setText(
                f"{self.student.text.text()} The student trains on your examples with the teacher's answers as "
                "its guide; what the engine decided for it is below.")
        if plan is None or wizard.planning:
            self.memory_bar.setValue(0)
            self.memory_text.setText("Working out what fits…")
            self.time_text.setText("")
            self.decisions.setText("Planning the run: reading the model's settings and counting your examples' tokens…")
            return
        if plan.error:
            self.memory_text.setText("")
            self.decisions.setText(f"<span style='color:#b91c1c'>{_escape(plan.error)}</span>")
            return
        memory = plan.memory
        self.memory_bar.setVisible(bool(memory and memory.get("available")))
        if memory and memory.get("available"):
            share = memory["total"] / memory["available"]
            self.memory_bar.setValue(min(1000, round(1000 * share)))
            self.memory_bar.setProperty("tone", "bad" if memory.get("fits") is False else "good")
            self.memory_text.setText(memory.get("sentence", ""))
        else:
            self.memory_bar.setValue(0)
            self.memory_text.setText(
                "No GPU here: training runs on the computer's processor and its memory, which is rarely the limit "
                "for these models; it is slower, so the time below matters more.")
        self.memory_bar.style().unpolish(self.memory_bar)
        self.memory_bar.style().polish(self.memory_bar)
        self.time_text.setText((plan.time or {}).get("sentence", "") + (f" {plan.steps} steps." if plan.steps else ""))
        self.time_text.setToolTip((plan.time or {}).get("detail", ""))
        items = "".join(f"<li>{_decision_html(d)}</li>" for d in plan.decisions)
        self.decisions.setText(f"<ul style='margin-left:-20px'>{items}</ul>" if items else
                               "Every setting was given; the engine decided nothing.")

    # ------------------------------------------------------------ step 5: train

    def _train_step(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(12)
        frame, box = card()
        box.addWidget(label("Ready to train", "SectionTitle"))
        self.summary = label("", wrap=True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.summary)
        box.addWidget(label("Name (shown in the list of runs)", "FieldHelp"))
        self.name = QLineEdit()
        self.name.setPlaceholderText("Named after the model and data if empty")
        self.name.textChanged.connect(lambda text: setattr(self.wizard, "name", text.strip()))
        box.addWidget(self.name)
        # Where to train: shown once a cluster has been added (the Cluster page).
        self.where_title = label("Where to train", "FieldHelp")
        self.where = QComboBox()
        self.where.currentIndexChanged.connect(self._show_where)
        self.where_note = label("", "Muted", wrap=True)
        for widget in (self.where_title, self.where, self.where_note):
            box.addWidget(widget)
        box.addWidget(label("Training goes on if you close the window; pause, resume or cancel it at any time.",
                            "Muted", wrap=True))
        self.start_error = label("", "ErrorText", wrap=True)
        self.start_error.hide()
        box.addWidget(self.start_error)
        layout.addWidget(frame)
        layout.addStretch(1)
        return content

    def _fill_where(self) -> None:
        """This computer, then each cluster added, keeping the choice made."""
        chosen = self.where.currentData() or ""
        clusters = self.client.clusters()
        self.where.blockSignals(True)
        self.where.clear()
        self.where.addItem("This computer", "")
        for known in clusters:
            gpus = f"{known.gpus_per_job} GPU{'s' if known.gpus_per_job != 1 else ''} per run" if known.gpus_per_job else "no GPU"
            self.where.addItem(f"{known.name}: Slurm cluster at {known.host} ({gpus})", known.name)
        self.where.setCurrentIndex(max(self.where.findData(chosen), 0))
        self.where.blockSignals(False)
        for widget in (self.where_title, self.where):
            widget.setVisible(bool(clusters))
        self._show_where()

    def _show_where(self) -> None:
        name = self.where.currentData() or ""
        self.where_note.setText(
            f"The run's data and model are copied to {name} and it waits in Slurm's queue there. The engine on the "
            "cluster plans it again for the cluster's GPUs; its curves and messages arrive here as it trains."
            if name else "")
        self.where_note.setVisible(bool(name))
        self._show_summary()

    def _show_summary(self) -> None:
        on_cluster = self.where.currentData() or ""
        try:
            config = self.wizard.config(planned_here=not on_cluster)
        except ConfigError as error:
            self.summary.setText(_escape(str(error)))
            return
        plan = self.wizard.plan
        rows = [
            ("Task", _task_title(config.kind)),
            ("Data", Path(config.data).name),
            ("Model", Path(config.model).name if Path(config.model).is_absolute() else config.model),
            ("Method", {"lora": "LoRA: small adapter weights are trained", "full": "Full: every weight is trained",
                        "qlora": "QLoRA: LoRA on the model loaded in 4 bits"}.get(config.method, config.method)),
            ("Batch", f"{config.batch_size} examples per step" + (
                f", in pieces of {config.micro_batch_size}" if config.micro_batch_size and config.micro_batch_size < config.batch_size else "")),
            ("Length limit", f"{config.max_length} tokens" if config.max_length else "automatic"),
            ("Epochs", _value(config.epochs) if config.epochs else "automatic"),
            ("Learning rate", _value(config.learning_rate) if config.learning_rate else "automatic"),
        ]
        if on_cluster:  # this computer's plan does not hold there
            rows.append(("Plan", f"made on {on_cluster} when the run starts, for the cluster's GPUs"))
        if plan and plan.memory and plan.memory.get("sentence") and not on_cluster:
            rows.append(("Memory", plan.memory["sentence"]))
        if plan and plan.time and not on_cluster:
            rows.append(("Time", plan.time.get("sentence", "")))
        self.summary.setText("<table cellspacing='6'>" + "".join(
            f"<tr><td style='color:#6b7280'>{name}</td><td>{_escape(str(value))}</td></tr>" for name, value in rows
        ) + "</table>")

    # ------------------------------------------------------------ moving between steps

    def go(self, step: str) -> None:
        """Show `step`, if every step before it is done (going back is always allowed)."""
        reachable = STEPS.index(step) <= STEPS.index(self.wizard.first_blocked())
        if step == "model" and not self.wizard.data:
            reachable = False  # the Data step hands its file over with Next
        if not reachable and STEPS.index(step) > STEPS.index(self.wizard.step):
            self.refresh()
            return
        if step == "data":
            self._ensure_data_page()
        elif step == "model":
            self._load_models()
        self.wizard.go(step)

    def forward(self) -> None:
        step = self.wizard.step
        if self.wizard.blocker(step):
            return
        if step == "data":
            self.data_page.use_for_run()  # answers with use_in_run, which moves on
        elif step == "train":
            self.start()
        else:
            self.go(STEPS[STEPS.index(step) + 1])

    def start(self) -> int | None:
        try:
            where = self.where.currentData() or ""
            if where:  # planned on the cluster, for its GPUs
                run_id = self.client.start(self.wizard.config(planned_here=False), on_cluster=where)
            else:
                run_id = self.client.start(self.wizard.config(), plan=self.wizard.plan_decided())
        except (ConfigError, JobError, OSError) as error:
            self.start_error.setText(f"The run could not be started: {error}")
            self.start_error.show()
            return None
        self.start_error.hide()
        self.reset()  # the next New run starts at step 1, with nothing of this one
        self.started.emit(run_id)
        return run_id

    def reset(self) -> None:
        """Back to step 1 with no task, file, model, name or settings chosen."""
        if self.data_page is not None:  # rebuilt, empty, when the Data step is next shown
            self.data_box.layout().removeWidget(self.data_page)
            self.data_page.deleteLater()
            self.data_page = None
        self.auto_checked.clear()
        self.name.clear()
        self.model_detail.clear()
        self.model_table.clearSelection()
        self.student.hide()
        self.start_error.hide()
        self.wizard.reset()

    def load_config(self, values: dict[str, Any], *, at: str = "plan") -> None:
        """Start from given settings (a run to repeat, or the Data page's file with `at="model"`): the steps
        they answer are done, and the wizard opens at `at`, or at the model step when no model is given."""
        values = dict(values)
        self.wizard.choose_task(values.pop("kind", next(iter(TASKS))))
        model = values.pop("model", "")
        known = set(self.expert_forms[self.wizard.task].helps)
        data_keys = {"data", "eval_data", "text_column", "label_column", "question_column", "answer_column",
                     "context_column", "conversation_column"}
        self.wizard.set_data({k: v for k, v in values.items() if k in data_keys}, blocker="")
        self.wizard.settings = {k: v for k, v in values.items() if k in known - data_keys - {"name"}}
        self.wizard.name = str(values.get("name", ""))
        self.name.setText(self.wizard.name)
        if model:
            self.wizard.set_model(model)
        self.go(at if model else "model")

    def refresh(self) -> None:
        wizard = self.wizard
        step = wizard.step
        if step == "plan" and wizard.needs_plan():
            wizard.make_plan(self._planned.emit)  # emits `changed`, which comes back here; the signal brings the answer
            return
        self.stack.setCurrentWidget(self.steps[step])
        furthest = STEPS.index(wizard.first_blocked())
        for index, name in enumerate(STEPS):
            button = self.step_buttons[name]
            button.setChecked(name == step)
            button.setEnabled(index <= max(furthest, STEPS.index(step)))
        for key, button in self.task_buttons.items():
            button.setChecked(key == wizard.task)
        if step == "plan":
            self._show_plan()
        elif step == "train":
            self._fill_where()  # and the summary, for the place chosen
        blocker = wizard.blocker(step)
        self.blocker.setText(blocker)
        self.next_button.setText(NEXT_WORDS[step])
        self.next_button.setEnabled(not blocker)
        self.back_button.setVisible(step != "task")


def _task_title(key: str) -> str:
    return next((task.title for task in task_choices() if task.key == key), key)


def _value(value: Any) -> str:
    if isinstance(value, bool):  # a yes-or-no setting (may a picture be mirrored?)
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _decision_html(decision: dict[str, Any]) -> str:
    """'<b>Learning rate 0.0005:</b> only the small adapters learn…': the reason, its setting in bold (named
    first when the reason does not begin with it)."""
    reason = decision["reason"]
    head, colon, rest = reason.partition(":")
    if colon and head.lower().startswith(words(decision["setting"]).lower().split()[0]):
        return f"<b>{_escape(head)}:</b>{_escape(rest)}"
    return f"<b>{_escape(words(decision['setting']))}: {_escape(_value(decision['value']))}.</b> {_escape(reason)}"


def _setting_named(sentence: str) -> str | None:
    """The setting a ConfigError sentence is about ("The setting 'batch_size' must be ...")."""
    start = sentence.find("'")
    end = sentence.find("'", start + 1)
    return sentence[start + 1 : end] if "setting '" in sentence and end > start else None


def _main() -> int:
    """`python -m gui.pages.wizard --sample`: the wizard on its own."""
    from gui.pages import standalone

    return standalone.run(lambda client, runs: WizardPage(client))


if __name__ == "__main__":
    raise SystemExit(_main())

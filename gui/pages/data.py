"""Data: bring a file, see how it is read and its first rows, and let the data doctor check it.

Choosing (or dropping) a file shows at once the guessed format and columns, changeable in combo boxes, and
a preview of the head of the file; the row count follows from a background thread, so a million-row file
never freezes the window. "Check data" starts the doctor as an engine process; its findings come from
the database, each with its one-click fix, which makes a cleaned copy (also an engine process) and shows
that copy with its own findings. The user's file is never changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.engine_client import PICTURES, TASKS, EngineClient, demo_data_path
from gui.state.data import ChatColumns, DataError, DataSession, Description, ReadOptions, Report, count_records
from gui.widgets.common import card, fill_with_scrolling, label, page_header
from gui.widgets.findings import finding_widget

#: Models whose tokenizer can count the tokens of each example, by task (the bundled ones; a model folder
#: or Hub name can be typed in).
LENGTH_MODELS = {name: [("", "Don't check lengths"), (task.demo_model, task.demo_model_title)] for name, task in TASKS.items()}


def has_columns(task: str) -> bool:
    """Whether the task's settings name a text and a label column (chosen here), or it reads whole examples."""
    return {"text_column", "label_column"} <= {f.name for f in fields(TASKS[task].config)}


FORMATS = [("", "Guess"), ("csv", "CSV"), ("tsv", "TSV"), ("json", "JSON"), ("jsonl", "JSON Lines"),
           ("parquet", "Parquet"), ("xlsx", "Excel"), ("folder", "Folder of texts"), ("registry", "LLaMA-Factory list")]
#: The columns of chat data in a table, as ChatColumns names them, and their captions.
CHAT_ROLES = {"question": "Question column", "answer": "Answer column", "system": "Context column (optional)",
              "conversation": "Conversation id (optional)"}
DELIMITERS = [(",", "Comma"), (";", "Semicolon"), ("\t", "Tab"), ("|", "Vertical bar")]
POLL_MS = 300
CELL_CHARS = 160  # longer values are cut in the preview (the file is not)


class DataPage(QWidget):
    counted = Signal(str, object)  # path, row count or error sentence (from the counting thread)
    #: "Train on this data": the config values for a new run (data, kind, columns, length limit)
    use_in_run = Signal(dict)
    #: the file, how it reads, its row count or the doctor's report changed (the wizard follows it)
    changed = Signal()

    def __init__(self, client: EngineClient, parent: QWidget | None = None, *, task: str = "",
                 embedded: bool = False) -> None:
        """`embedded`: the page is the wizard's data step, with no title of its own, and the wizard's Next
        button takes the place of "Train on this data"; `task`: the task chosen there ("" to guess it)."""
        super().__init__(parent)
        self.client = client
        self.fixed_task = task
        self.session = DataSession(client)
        self.path = ""
        self.description: Description | None = None
        self.rows: int | None = None
        self.fix_buttons: dict[str, QPushButton] = {}
        self.check_started = 0.0
        self.train_after_copy = False  # "Train on this data" waits for a copy of the rows as read
        self.setAcceptDrops(True)
        self.counted.connect(self._show_count)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(*((0, 8, 8, 8) if embedded else (32, 28, 32, 28)))  # in the wizard, its margins
        layout.setSpacing(16)
        if not embedded:
            layout.addWidget(page_header(
                "Data", "Bring your examples, check how they are read, and let the data doctor look for problems "
                "before you train. Your file is never changed."))

        frame, box = card()
        line = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("Choose a file, or drop it here: CSV, TSV, Excel, JSON, JSON Lines, Parquet")
        line.addWidget(self.path_edit, 1)
        choose = QPushButton("Choose file…")
        choose.clicked.connect(self._choose_file)
        folder = QPushButton("Choose folder…")
        folder.setToolTip("A folder with one sub-folder of .txt files per category")
        folder.clicked.connect(self._choose_folder)
        demo = QPushButton("Demo data")
        demo.setToolTip("Hotel guests' requests, sorted into intents (bundled)")
        demo.clicked.connect(lambda: self.open_path(str(demo_data_path())))
        line.addWidget(choose)
        line.addWidget(folder)
        line.addWidget(demo)
        box.addLayout(line)
        self.summary = label("", "SectionTitle", wrap=True)
        box.addWidget(self.summary)

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        self.task = self._combo([(name, task.words.title) for name, task in TASKS.items()])
        self.format = self._combo(FORMATS)
        self.delimiter = self._combo(DELIMITERS)
        self.header = self._combo([(True, "Yes"), (False, "No")])
        self.text_column = self._combo([])
        self.label_column = self._combo([])
        self.dataset = self._combo([])
        # chat data in a table: which columns hold what (the optional ones can be "none")
        self.chat_combos = {role: self._combo([]) for role in CHAT_ROLES}
        self.fields = [("Task", self.task), ("Format", self.format), ("Separated by", self.delimiter),
                       ("Header row", self.header), ("Text column", self.text_column),
                       ("Label column", self.label_column), ("Dataset", self.dataset),
                       *((words, self.chat_combos[role]) for role, words in CHAT_ROLES.items())]
        self.field_labels: dict[QComboBox, QWidget] = {}
        for column, (words, combo) in enumerate(self.fields):
            caption = label(words, "FieldHelp")
            grid.addWidget(caption, 0, column)
            grid.addWidget(combo, 1, column)
            self.field_labels[combo] = caption
            combo.activated.connect(self._options_changed)
        box.addLayout(grid)
        self.problem = label("", "ErrorText", wrap=True)
        self.problem.hide()
        box.addWidget(self.problem)

        self.table = QTableView()
        self.model = QStandardItemModel(self)
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(300)
        box.addWidget(self.table)
        self.preview_note = label("", "Muted")  # says when the table shows only the file's first rows
        self.preview_note.hide()
        box.addWidget(self.preview_note)
        layout.addWidget(frame)

        frame, box = card()
        row = QHBoxLayout()
        row.addWidget(label("Data doctor", "SectionTitle"))
        row.addStretch(1)
        self.check_status = label("", "Muted")
        row.addWidget(self.check_status)
        self.check_button = QPushButton("Check data")
        self.check_button.setObjectName("Primary")
        self.check_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.check_button.clicked.connect(self.check)
        row.addWidget(self.check_button)
        box.addLayout(row)
        choices = QHBoxLayout()
        choices.addWidget(label("Check lengths with", "FieldHelp"))
        self.length_model = QComboBox()
        self.length_model.setEditable(True)
        self.length_model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.length_model.setToolTip("A model's tokenizer counts the tokens (word pieces) of every example; "
                                     "a model folder or Hugging Face name can be typed in")
        choices.addWidget(self.length_model, 1)
        choices.addSpacing(16)
        choices.addWidget(label("Evaluation data", "FieldHelp"))
        self.eval_edit = QLineEdit()
        self.eval_edit.setPlaceholderText("none: some examples are set aside")
        self.eval_edit.setReadOnly(True)
        choices.addWidget(self.eval_edit, 1)
        choose_eval = QPushButton("Choose…")
        choose_eval.clicked.connect(self._choose_eval)
        choices.addWidget(choose_eval)
        box.addLayout(choices)
        self.cleaned = QFrame()
        self.cleaned.setObjectName("Hero")
        cleaned_row = QHBoxLayout(self.cleaned)
        self.cleaned_text = label("", wrap=True, selectable=True)
        cleaned_row.addWidget(self.cleaned_text, 1)
        self.open_source = QPushButton("Back to the original")
        self.open_source.clicked.connect(lambda: self.open_path(self.cleaned.property("source") or ""))
        cleaned_row.addWidget(self.open_source)
        self.cleaned.hide()
        box.addWidget(self.cleaned)
        self.findings_box = QVBoxLayout()
        self.findings_box.setSpacing(8)
        box.addLayout(self.findings_box)
        train_row = QHBoxLayout()
        train_row.addStretch(1)
        self.train_button = QPushButton("Train on this data…")
        self.train_button.setToolTip("Open New run with this file, its columns and the settings chosen here")
        self.train_button.clicked.connect(self.use_for_run)
        self.train_button.setVisible(not embedded)
        train_row.addWidget(self.train_button)
        box.addLayout(train_row)
        layout.addWidget(frame)
        layout.addStretch(1)

        fill_with_scrolling(self, content)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._show_fields(None)
        latest = self.session.latest()
        if latest:
            self.open_path(latest["path"], options=ReadOptions.from_dict(latest["metadata"].get("report", {}).get("options")))
        else:
            self._show_empty()

    # ------------------------------------------------------------ choosing a file

    def _combo(self, items: list[tuple[Any, str]]) -> QComboBox:
        combo = QComboBox()
        for value, words in items:
            combo.addItem(words, value)
        return combo

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose your examples", "",
            "Data (*.csv *.tsv *.txt *.json *.jsonl *.ndjson *.parquet *.xlsx *.xlsm *.conll *.iob *.bio *.xml *.pubtator *.tar.gz);;All files (*)",
        )
        if path:
            self.open_path(path)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder with one sub-folder per category")
        if folder:
            self.open_path(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        urls = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if urls:
            self.open_path(urls[0])
            event.acceptProposedAction()

    def open_path(self, path: str, options: ReadOptions | None = None) -> None:
        """Show how `path` reads, with the guesses, the preview and any report already stored."""
        if not path:
            return
        self.path = str(Path(path).expanduser().resolve())
        self.path_edit.setText(self.path)
        self.rows = None
        self._describe(options or ReadOptions(), task=self.fixed_task)
        self._show_report()

    def _options_changed(self) -> None:
        if not self.path:
            return
        shown = {combo: not combo.isHidden() for _, combo in self.fields}
        options = ReadOptions(
            format=self.format.currentData() or "",
            delimiter=(self.delimiter.currentData() or "") if shown[self.delimiter] else "",
            header=self.header.currentData() if shown[self.header] else None,
            dataset=(self.dataset.currentData() or "") if shown[self.dataset] else "",
        )
        changed = self.sender()
        if changed is self.format:  # another format: guess the rest again
            options = ReadOptions(format=options.format)
        keep_columns = changed in (self.text_column, self.label_column)
        chat_columns = None
        if changed in self.chat_combos.values():
            chat_columns = ChatColumns(**{role: combo.currentData() or "" for role, combo in self.chat_combos.items()})
        self._describe(
            options, task=self.task.currentData(),
            text_column=(self.text_column.currentData() or "") if keep_columns else "",
            label_column=(self.label_column.currentData() or "") if keep_columns else "",
            chat_columns=chat_columns,
        )

    def _describe(self, options: ReadOptions, *, task: str, text_column: str = "", label_column: str = "",
                  chat_columns: ChatColumns | None = None) -> None:
        try:
            self.description = self.session.describe(self.path, options, task=task, text_column=text_column,
                                                     label_column=label_column, chat_columns=chat_columns)
        except DataError as error:
            self.description = None
            self._show_fields(None)
            self.model.clear()
            self.summary.setText(Path(self.path).name)
            self._show_problem(str(error))
            self.check_button.setEnabled(False)
            self.train_button.setEnabled(False)
            self.changed.emit()
            return
        description = self.description
        self._show_fields(description)
        self._fill_preview(description)
        self._show_problem(description.problem)
        self.check_button.setEnabled(not description.problem)
        self.train_button.setEnabled(not description.problem)
        self._update_summary()
        self._count(description.options)
        self.changed.emit()

    def _count(self, options: ReadOptions) -> None:
        """Count the rows on a thread: a million-row file takes seconds, the window must not wait."""
        path = self.path
        if self.description is not None and self.description.count is not None:  # read whole already
            self.counted.emit(path, self.description.count)
            return

        def work() -> None:
            try:
                self.counted.emit(path, count_records(path, options))
            except DataError as error:
                self.counted.emit(path, str(error))

        threading.Thread(target=work, name="tunewright-count", daemon=True).start()

    def _show_count(self, path: str, result: object) -> None:
        if path != self.path:
            return  # the user has moved on to another file
        if isinstance(result, str):
            self._show_problem(result)
            self.check_button.setEnabled(False)
        else:
            self.rows = int(result)
            self._update_summary()
        self.changed.emit()

    def _update_summary(self) -> None:
        if self.description is None:
            return
        what = TASKS[self.description.task].words.examples
        rows = f"counting {what}…" if self.rows is None else f"{self.rows:,} {what}"
        self.summary.setText(f"{Path(self.path).name}: {self.description.summary()} · {rows}")
        shown = self.model.rowCount()
        if self.rows is None or self.rows > shown:
            of = "" if self.rows is None else f" of {self.rows:,}"
            self.preview_note.setText(f"Showing the first {shown:,} {what}{of}; the doctor and training read them all.")
        self.preview_note.setVisible(bool(shown) and (self.rows is None or self.rows > shown))

    # ------------------------------------------------------------ what is shown

    def _show_empty(self) -> None:
        self.summary.setText("No file yet. Choose one above, or drop it anywhere on this page.")
        self.preview_note.hide()
        self.check_button.setEnabled(False)
        self.train_button.setEnabled(False)
        self.check_status.setText("")

    def _show_fields(self, description: Description | None) -> None:
        options = description.options if description else None
        visible = {
            self.task: description is not None and not self.fixed_task,
            self.format: description is not None and not TASKS[description.task].reads_documents,
            self.delimiter: bool(options and options.format in ("csv", "tsv")),
            self.header: bool(options and options.format in ("csv", "tsv", "xlsx")),
            self.text_column: bool(description and has_columns(description.task)),
            self.label_column: bool(description and has_columns(description.task)),
            self.dataset: bool(options and options.format == "registry"),
            **{combo: bool(description and description.layout == "table") for combo in self.chat_combos.values()},
        }
        for combo, shown in visible.items():
            combo.setVisible(shown)
            self.field_labels[combo].setVisible(shown)
        if description is None:
            return
        _select(self.task, description.task)
        typed = self.length_model.currentData() or ""
        self.length_model.clear()
        for model, words in LENGTH_MODELS[description.task]:
            self.length_model.addItem(words, model)
        _select(self.length_model, typed)
        _select(self.format, options.format)
        if options.delimiter and self.delimiter.findData(options.delimiter) < 0:
            self.delimiter.addItem(repr(options.delimiter), options.delimiter)
        _select(self.delimiter, options.delimiter)
        _select(self.header, options.header)
        for combo, chosen in ((self.text_column, description.text_column), (self.label_column, description.label_column)):
            combo.clear()
            for column in description.columns:
                combo.addItem(column, column)
            _select(combo, chosen)
        for role, combo in self.chat_combos.items():
            combo.clear()
            if role in ("system", "conversation"):
                combo.addItem("none", "")
            for column in description.columns:
                combo.addItem(column, column)
            _select(combo, getattr(description.chat_columns, role))
        self.dataset.clear()
        for entry in description.entries:
            self.dataset.addItem(entry, entry)
        _select(self.dataset, options.dataset)

    def _fill_preview(self, description: Description) -> None:
        self.model.clear()
        columns = description.columns
        self.model.setHorizontalHeaderLabels(columns)
        for row in description.rows:
            items = []
            for column in columns:
                text = _cell(row.get(column))
                item = QStandardItem(text[:CELL_CHARS] + ("…" if len(text) > CELL_CHARS else ""))
                item.setToolTip(text[:2000])
                items.append(item)
            self.model.appendRow(items)
        self.table.resizeColumnsToContents()
        for column in range(len(columns)):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), 420))

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    # ------------------------------------------------------------ the doctor

    def check(self, fix: str = "") -> None:
        """Start the doctor (or a fix) as an engine process; the timer picks up what it stores."""
        if not self.path or self.description is None or self.session.running():
            return
        description = self.description
        self.session.start_check(
            self.path, description.task, description.options, text_column=description.text_column,
            label_column=description.label_column, model=self.length_model_ref(), eval_path=self.eval_edit.text(),
            fix=fix, chat_columns=description.chat_columns if description.layout == "table" else None,
        )
        self.check_started = time.time()
        self.check_button.setEnabled(False)
        for button in self.fix_buttons.values():
            button.setEnabled(False)
        self.check_status.setText("Applying the fix…" if fix else "Checking…")
        self.timer.start()

    def _read_differently(self) -> bool:
        """Whether the file is read here in a way a plain load of it would not (options the user chose, or
        a LLaMA-Factory entry with its column names)."""
        options = self.description.options
        if options.format == "registry":
            return True
        try:
            guessed = self.session.describe(self.path, ReadOptions()).options
        except DataError:
            return True
        return (guessed.format, guessed.delimiter, guessed.header) != (options.format, options.delimiter, options.header)

    def length_model_ref(self) -> str:
        """The model chosen for the length check: a bundled one from the list, or what was typed."""
        index = self.length_model.currentIndex()
        typed = self.length_model.currentText().strip()
        if index >= 0 and self.length_model.itemText(index) == typed:
            return self.length_model.itemData(index) or ""
        return typed

    def _choose_eval(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the evaluation examples", "", "Data (*.csv *.tsv *.txt *.json *.jsonl *.parquet *.xlsx *.conll *.iob *.bio *.xml *.pubtator);;All files (*)"
        )
        self.eval_edit.setText(path)

    def set_task(self, task: str) -> None:
        """The wizard's task changed: read the file again for it."""
        self.fixed_task = task
        if self.path:
            self._describe(self.description.options if self.description else ReadOptions(), task=task)
            self._show_report()

    def failure(self) -> str:
        """Why the last check of the file shown did not finish, as a sentence ("" if it did)."""
        row = self.session.stored(self.path) if self.path else None
        metadata = row["metadata"] if row else {}
        if metadata.get("status") != "failed":
            return ""
        return metadata.get("error") or "The data doctor stopped before it finished. Check data again, or choose another file."

    def report(self) -> Report | None:
        """What the doctor found in the file shown, if it was checked."""
        row = self.session.stored(self.path) if self.path else None
        report = row["metadata"].get("report") if row else None
        return Report.from_dict(report) if report else None

    def use_for_run(self) -> None:
        """Emit `use_in_run` with this file's settings for a run (after saving the rows as read, if needed)."""
        if self.description is None:
            return
        if self._read_differently():
            # Training reads files with the guessed options; save the rows as read here first.
            self.train_after_copy = True
            self.check("as_read")
            return
        row = self.session.stored(self.path)
        settings = (row["metadata"].get("settings") if row else None) or {}
        task = self.description.task
        model = self.length_model_ref() or LENGTH_MODELS[task][1][0]
        values: dict[str, Any] = {"kind": task, "model": model, "data": self.path, **settings}
        if self.eval_edit.text():
            values["eval_data"] = self.eval_edit.text()
        if has_columns(task):
            values.update(text_column=self.description.text_column, label_column=self.description.label_column)
        if self.description.layout == "table":
            columns = self.description.chat_columns
            values.update(question_column=columns.question, answer_column=columns.answer,
                          context_column=columns.system, conversation_column=columns.conversation)
        self.use_in_run.emit(values)

    def _poll(self) -> None:
        if self.session.running():
            return
        self.timer.stop()
        self.check_button.setEnabled(self.description is not None)
        row = self.session.stored(self.path)
        metadata = row["metadata"] if row else {}
        if self.session.exit_code() not in (0, 1) and metadata.get("status") != "failed":
            # the process died before it could say why: say so where the findings go, and let Check data retry
            self.session.forget_unfinished(self.path, self.session.exit_code())
            self._show_report()
            return
        cleaned = self._newest_copy(after=self.check_started)
        if cleaned is not None:  # a fix made a copy: show it, with its own findings
            self.open_path(cleaned["path"], options=ReadOptions(format="jsonl"))
            if self.train_after_copy:
                self.train_after_copy = False
                self.use_for_run()
            return
        self.train_after_copy = False
        self._show_report()

    def _newest_copy(self, after: float) -> dict[str, Any] | None:
        copies = [copy for copy in self.session.cleaned_copies(self.path) if copy["added_at"] >= after - 1
                  or (copy["metadata"].get("finished_at") or 0) >= after]
        return copies[0] if copies else None

    def _show_report(self) -> None:
        self._show_findings()
        self.changed.emit()

    def _show_findings(self) -> None:
        while self.findings_box.count():
            widget = self.findings_box.takeAt(0).widget()
            if widget is not None:  # hidden at once: deleteLater acts only when the event loop comes round
                widget.hide()
                widget.deleteLater()
        self.fix_buttons = {}
        row = self.session.stored(self.path) if self.path else None
        metadata = row["metadata"] if row else {}
        self._show_cleaned(metadata)
        status = metadata.get("status")
        if status == "failed":
            self.check_status.setText("The check did not finish.")
            again = QPushButton("Check again")
            again.clicked.connect(lambda: self.check())
            self.findings_box.addWidget(finding_widget("error", self.failure(), [], again))
            return
        report = Report.from_dict(metadata["report"]) if metadata.get("report") else None
        if report is None:
            self.check_status.setText("Not checked yet." if self.description else "")
            return
        when = time.strftime("%H:%M", time.localtime(report.checked_at))
        what = TASKS[report.task].words.examples if report.task in TASKS else "rows"
        self.check_status.setText(f"Checked {report.usable_rows:,} usable of {report.rows:,} {what} at {when}.")
        settings = metadata.get("settings") or {}
        shows_pictures = report.task in TASKS and TASKS[report.task].view == PICTURES
        for finding in report.findings:
            button = None
            # one button per fix: merging rare categories answers two findings
            if finding.fix and finding.fix not in self.fix_buttons and not (
                finding.fix == "raise_max_length" and settings.get("max_length")
            ):
                button = QPushButton(finding.fix_label)
                button.clicked.connect(lambda _=False, fix=finding.fix: self.check(fix))
                self.fix_buttons[finding.fix] = button
            # a task whose examples are pictures names them by file: the finding shows their thumbnails
            pictures = finding.values.get("files", []) if shows_pictures else None
            self.findings_box.addWidget(finding_widget(finding.severity, finding.message, finding.examples, button,
                                                        eval_rows=finding.code == "doctor.overlap", pictures=pictures))

    def _show_cleaned(self, metadata: dict[str, Any]) -> None:
        source = metadata.get("source")
        self.cleaned.setVisible(bool(source or metadata.get("fixed")))
        self.cleaned.setProperty("source", source or "")
        self.open_source.setVisible(bool(source))
        self.cleaned_text.setText(metadata.get("fixed", ""))


def _select(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value).replace("\n", " ⏎ ")


def _main() -> int:
    """`python -m gui.pages.data --sample`: the page on its own, on a sample file."""
    from gui.pages import standalone

    return standalone.run(lambda client, runs: DataPage(client))  # --sample: sample_home adds a checked file


if __name__ == "__main__":
    raise SystemExit(_main())


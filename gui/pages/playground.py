"""Playground: chat with a finished chat run's model, see a classifier's labels for any text, a tagger's
marked names (gui/pages/tagging_playground.py), or an image model's categories and heat maps for pictures
(gui/pages/picture_playground.py).

The model lives in an engine process (`python -m engine playground RUN`, engine/playground_serve.py) that this
page starts on the first question; the page writes each question as a `playground` row and shows the answer as
the process writes it there (the window's poll calls `refresh`). Nothing here loads a model.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine import playground
from engine.config import ConfigError
from engine.protocol import MESSAGES, message
from gui.engine_client import CONVERSATION, LABELS, PICTURES, TAGGED_TEXT, EngineClient, JobError, task_of_run
from gui.pages.picture_playground import PicturePanel
from gui.pages.tagging_playground import TaggingPanel
from gui.state.runs import RunsModel
from gui.state.results import finished_models, recommended_first
from gui.widgets.common import card, label, page_header
from gui.widgets.label_bars import LabelBars

#: How the list of runs names what each panel shows.
VIEW_WORDS = {CONVERSATION: "chat", LABELS: "classifier", TAGGED_TEXT: "tagger", PICTURES: "picture sorter"}

MODEL_WORDS = {"tuned": "Your tuned model", "base": "The model it started from"}
CURSOR = "▍"
WATCHDOG_MS = 2000


def playable_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished chat and classification runs, newest first: the ones with a model to try."""
    return finished_models(runs)


def transcript_html(turns: list[dict[str, str]], partial: str | None = None, note: str = "") -> str:
    """The conversation as the chat pane draws it; `partial` is the answer still being written."""
    parts = []
    for turn in turns:
        text = html.escape(turn["content"]).replace("\n", "<br>")
        if turn["role"] == "user":
            parts.append(f'<p style="margin:10px 0 2px 0; color:#6b7280; font-size:9pt">You</p>'
                         f'<p style="margin:0; background:#eef2ff">{text}</p>')
        else:
            parts.append(f'<p style="margin:10px 0 2px 0; color:#6b7280; font-size:9pt">Model</p><p style="margin:0">{text}</p>')
    if partial is not None:
        text = html.escape(partial).replace("\n", "<br>")
        parts.append(f'<p style="margin:10px 0 2px 0; color:#6b7280; font-size:9pt">Model</p>'
                     f'<p style="margin:0">{text}<span style="color:#2563eb">{CURSOR}</span></p>')
    if note:
        parts.append(f'<p style="margin:8px 0 0 0; color:#b45309; font-size:9pt">{html.escape(note)}</p>')
    return "".join(parts)


def speed_words(request: dict[str, Any]) -> str:
    """How quickly the model answered, e.g. "first words after 0.3 s · 80 tokens at 35 tokens/s"."""
    if request["first_token_seconds"] is None:
        return ""
    words = f"first words after {request['first_token_seconds']:.1f} s"
    if request["tokens_per_second"]:
        words += f" · {request['tokens']} tokens at {request['tokens_per_second']:.0f} tokens/s"
    return words


class ChatPane(QWidget):
    """One model's side of the conversation: its title, the transcript, and its own history."""

    def __init__(self, which: str) -> None:
        super().__init__()
        self.which = which
        self.turns: list[dict[str, str]] = []
        self.request_id: int | None = None  # the answer being written now
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = label(MODEL_WORDS[which], "SectionTitle")
        layout.addWidget(self.title)
        self.view = QTextBrowser()
        self.view.document().setDocumentMargin(12)
        self.view.setMinimumHeight(160)
        layout.addWidget(self.view, 1)
        self.speed = label("", "Muted")
        layout.addWidget(self.speed)

    def draw(self, partial: str | None = None, note: str = "") -> None:
        self.view.setHtml(transcript_html(self.turns, partial, note))
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def text(self) -> str:
        return self.view.toPlainText()


class PlaygroundPage(QWidget):
    def __init__(self, client: EngineClient, runs: RunsModel) -> None:
        super().__init__()
        self.client, self.runs = client, runs
        self.run_id: int | None = None
        self.kind = ""
        self.started: set[int] = set()  # model processes this page started (put away when it closes)
        self.classify_request: int | None = None
        self.classify_shown: int | None = None  # the request whose answer the bars show
        # Starting the model's process; tests put a stand-in here.
        self.launch = lambda run_id: playground.start_server(client.db, run_id, home=client.home)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(12)
        layout.addWidget(page_header(
            "Playground",
            "Try a finished model on your own examples: chat with a chat model, see which categories a "
            "classifier gives a text or a picture, or which names a tagger marks in a text, and how sure it is.",
        ))

        top = QHBoxLayout()
        top.addWidget(label("Finished run"))
        self.run_box = QComboBox()
        self.run_box.setMinimumWidth(320)
        self.run_box.currentIndexChanged.connect(self._run_chosen)
        top.addWidget(self.run_box)
        self.state = label("", "Muted", wrap=True)
        top.addWidget(self.state, 1)
        self.restart_button = QPushButton("Start again")
        self.restart_button.clicked.connect(self.start_model)
        self.restart_button.hide()
        top.addWidget(self.restart_button)
        layout.addLayout(top)

        self.stack = QStackedWidget()
        self.empty = label(message("playground.no_runs")[1], "Muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._chat_area())
        self.stack.addWidget(self._classify_area())
        self.tagging = TaggingPanel(client, self.ask_texts)
        self.stack.addWidget(self.tagging)
        self.pictures = PicturePanel(client, self.ask_pictures)
        self.stack.addWidget(self.pictures)
        self.panels = {CONVERSATION: 1, LABELS: 2, TAGGED_TEXT: 3, PICTURES: 4}  # the stack's page for each view
        layout.addWidget(self.stack, 1)
        self.reload_runs()
        # A process that dies writes nothing, so the window's poll would not notice: look now and then.
        self.watchdog = QTimer(self)
        self.watchdog.setInterval(WATCHDOG_MS)
        self.watchdog.timeout.connect(lambda: self.started and self.isVisible() and self.refresh())
        self.watchdog.start()

    # ------------------------------------------------------------ building

    def _chat_area(self) -> QWidget:
        frame, layout = card()
        settings = QHBoxLayout()
        settings.setSpacing(8)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(playground.DEFAULT_SETTINGS["temperature"])
        self.temperature.setToolTip("0 always picks the likeliest next word (the same answer every time); "
                                    "higher values give more varied, less predictable answers.")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(playground.DEFAULT_SETTINGS["max_new_tokens"])
        self.max_tokens.setToolTip("The longest answer, in tokens (a token is a word or a piece of one).")
        self.compare = QCheckBox("Also ask the model it started from")
        self.compare.setToolTip("The same message is answered by the model before your training, side by side.")
        self.compare.toggled.connect(self._compare_toggled)
        new = QPushButton("New conversation")
        new.clicked.connect(self.new_conversation)
        for widget in (label("Temperature"), self.temperature, label("Answer length"), self.max_tokens):
            settings.addWidget(widget)
        settings.addSpacing(12)
        settings.addWidget(self.compare)
        settings.addStretch(1)
        settings.addWidget(new)
        layout.addLayout(settings)

        panes = QHBoxLayout()
        panes.setSpacing(16)
        self.panes = {"tuned": ChatPane("tuned"), "base": ChatPane("base")}
        for pane in self.panes.values():
            panes.addWidget(pane, 1)
        self.panes["base"].hide()
        self.panes["tuned"].title.hide()  # only needed side by side
        layout.addLayout(panes, 1)

        ask = QHBoxLayout()
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Type a message… (Ctrl+Enter sends it)")
        self.prompt.installEventFilter(self)
        self.prompt.setFixedHeight(70)
        ask.addWidget(self.prompt, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("Primary")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("Danger")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        ask.addLayout(buttons)
        layout.addLayout(ask)
        self.made_up_note = label(MESSAGES["playground.makes_things_up"].text, "Muted", wrap=True)
        layout.addWidget(self.made_up_note)
        self.chat_note = label("", "ErrorText", wrap=True)
        self.chat_note.hide()
        layout.addWidget(self.chat_note)
        return frame

    def _classify_area(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Type or paste a text", "SectionTitle"))
        self.text_input = QPlainTextEdit()
        self.text_input.setPlaceholderText("For example, a message a customer might send…")
        self.text_input.setFixedHeight(110)
        layout.addWidget(self.text_input)
        row = QHBoxLayout()
        self.classify_note = label("", "Muted", wrap=True)
        row.addWidget(self.classify_note, 1)
        self.classify_button = QPushButton("Classify")
        self.classify_button.setObjectName("Primary")
        self.classify_button.clicked.connect(self.classify)
        row.addWidget(self.classify_button)
        layout.addLayout(row)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("QFrame { color: #e3e7ed; }")
        layout.addWidget(line)
        self.result_title = label("", "SectionTitle", wrap=True)
        layout.addWidget(self.result_title)
        self.bars = LabelBars()
        layout.addWidget(self.bars)
        layout.addStretch(1)
        return frame

    # ------------------------------------------------------------ which run

    def reload_runs(self) -> None:
        """Fill the run list (the finished runs may have changed); keeps the chosen run."""
        marked = recommended_first(self.client.db, playable_runs(self.runs.runs))
        playable = [run for run, _ in marked]
        ids = [run["id"] for run in playable]
        if ids == [self.run_box.itemData(i) for i in range(self.run_box.count())]:
            return
        keep = self.run_id
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for run, weak in marked:
            kind = VIEW_WORDS[task_of_run(run).view]
            self.run_box.addItem(f"{run['name']} ({kind}, #{run['id']})" + (" · not recommended" if weak else ""), run["id"])
            if weak:
                self.run_box.setItemData(self.run_box.count() - 1, f"Not recommended: {weak}.", Qt.ItemDataRole.ToolTipRole)
        self.run_box.blockSignals(False)
        if not playable:
            self.stack.setCurrentWidget(self.empty)
            self.run_box.setEnabled(False)
            return
        self.run_box.setEnabled(True)
        self.choose_run(keep if keep in ids else self._first_choice(ids))

    def _first_choice(self, ids: list[int]) -> int:
        """The run last played with (it has a conversation to show), else the newest recommended one."""
        last = playground.last_played(self.client.db, ids)
        return ids[0] if last is None else last

    def choose_run(self, run_id: int) -> None:
        index = self.run_box.findData(run_id)
        if index >= 0 and index != self.run_box.currentIndex():
            self.run_box.setCurrentIndex(index)  # calls _run_chosen
        elif index >= 0:
            self._run_chosen(index)

    def _run_chosen(self, index: int) -> None:
        run_id = self.run_box.itemData(index)
        if run_id is None or run_id == self.run_id:
            return
        self.shutdown()  # one model in memory at a time: put the last one away
        self.run_id = run_id
        run = self.client.get_run(run_id)
        self.kind = task_of_run(run).view  # which of the page's panels shows this run's model
        self.stack.setCurrentIndex(self.panels[self.kind])
        self.chat_note.hide()
        self._restore()
        self.refresh()

    def _restore(self) -> None:
        """Show the last conversation (or classified text) of this run, as it was left."""
        db, run_id = self.client.db, self.run_id
        self.classify_request = self.classify_shown = None
        self.compare.setChecked(False)  # on again below if this run's last conversation had the base model too
        for which, pane in self.panes.items():
            pane.turns, pane.request_id = [], None
            pane.speed.setText("")
            last = playground.last_request(db, run_id, which)
            if last is not None and self.kind == CONVERSATION:
                request = playground.get_request(db, last)
                pane.turns = list(request["conversation"] or [])
                if request["status"] in playground.OPEN_REQUEST:
                    pane.request_id = request["id"]
                elif request["output"]:
                    pane.turns.append({"role": "assistant", "content": request["output"]})
                pane.speed.setText(speed_words(request))
                if which == "base" and pane.turns:
                    self.compare.setChecked(True)
            elif last is not None and self.kind == TAGGED_TEXT:
                self.tagging.restore(last)
            elif last is not None and self.kind == PICTURES:
                self.pictures.restore(last)
            elif last is not None:
                self.classify_request = last
                self.text_input.setPlainText(playground.get_request(db, last)["text"] or "")
            pane.draw()
        if self.kind == TAGGED_TEXT and playground.last_request(db, run_id) is None:
            self.tagging.restore(None)
        if self.kind == PICTURES and playground.last_request(db, run_id) is None:
            self.pictures.restore(None)
        if self.kind == LABELS and self.classify_request is None:
            self.result_title.setText("")
            self.bars.show_result({"labels": [], "chosen": []})

    # ------------------------------------------------------------ the model's process

    def server(self) -> dict[str, Any] | None:
        if self.run_id is None:
            return None
        return playground.check_server(self.client.db, self.run_id, reconcile=self.client.live_jobs)

    def start_model(self) -> bool:
        """Start the model's process unless it is running; False (and a sentence shown) if it cannot be."""
        if self.run_id is None:
            return False
        row = self.server()
        if row and row["status"] in playground.LIVE_SERVER:
            return True
        try:
            self.client.needs_jobs()
            self.launch(self.run_id)
        except (ConfigError, JobError, OSError) as problem:
            self._say(str(problem))
            return False
        self.started.add(self.run_id)
        self.refresh()
        return True

    def shutdown(self) -> None:
        """Put away the model processes this page started (the page or the window is closing)."""
        for run_id in list(self.started):
            playground.stop_server(self.client.db, run_id)
        self.started.clear()

    # ------------------------------------------------------------ asking

    def send(self) -> None:
        text = self.prompt.toPlainText().strip()
        if self.run_id is None or self.busy():
            return
        if not text:
            self._say(message("playground.empty")[1])
            return
        which = ["tuned", "base"] if self.compare.isChecked() else ["tuned"]
        asked = []
        try:
            for model in which:
                pane = self.panes[model]
                conversation = [*pane.turns, {"role": "user", "content": text}]
                request_id = playground.ask_chat(
                    self.client.db, self.run_id, conversation, model=model,
                    temperature=self.temperature.value(), max_new_tokens=self.max_tokens.value(),
                )
                asked.append((pane, conversation, request_id))
        except ConfigError as problem:
            self._say(str(problem))
            return
        for pane, conversation, request_id in asked:
            pane.turns, pane.request_id = conversation, request_id
            pane.draw(partial="")
        self.prompt.clear()
        self.chat_note.hide()
        if not self.start_model():  # said why; the question is taken back and the message put back in the box
            self.stop()
            return
        self._update_buttons()

    def stop(self) -> None:
        for pane in self.panes.values():
            if pane.request_id is not None:
                playground.stop(self.client.db, pane.request_id)
        self.stop_button.setEnabled(False)
        self.refresh()

    def new_conversation(self) -> None:
        self.stop()
        for pane in self.panes.values():
            pane.turns, pane.request_id = [], None
            pane.speed.setText("")
            pane.draw()
        self._update_buttons()

    def classify(self) -> None:
        if self.run_id is None:
            return
        try:
            self.classify_request = playground.ask_classifier(self.client.db, self.run_id, self.text_input.toPlainText())
        except ConfigError as problem:
            self.classify_note.setText(str(problem))
            return
        self.classify_note.setText(message("playground.asking")[1])
        if not self.start_model():
            playground.stop(self.client.db, self.classify_request)
            return
        self.refresh()

    def ask_texts(self, texts: list[str]) -> int | None:
        """Queue texts for a tagger and start its process; the request's id, or None (and a sentence shown)."""
        if self.run_id is None:
            return None
        try:
            request = playground.ask_texts(self.client.db, self.run_id, texts)
        except ConfigError as problem:
            self._say(str(problem))
            return None
        if not self.start_model():
            playground.stop(self.client.db, request)
            return None
        self.refresh()
        return request

    def ask_pictures(self, paths: list[str], save: str) -> int | None:
        """Queue pictures for an image model (`save`: a CSV for their predictions) and start its process; the
        request's id, or None (and a sentence shown)."""
        if self.run_id is None:
            return None
        try:
            request = playground.ask_pictures(self.client.db, self.run_id, paths, save=save)
        except ConfigError as problem:
            self._say(str(problem))
            return None
        if not self.start_model():
            playground.stop(self.client.db, request)
            return None
        self.refresh()
        return request

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Ctrl+Enter in the message box sends it (Enter alone starts a new line)."""
        if (
            watched is self.prompt and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.send()
            return True
        return super().eventFilter(watched, event)

    def busy(self) -> bool:
        return any(pane.request_id is not None for pane in self.panes.values())

    def _compare_toggled(self, on: bool) -> None:
        self.panes["base"].setVisible(on)
        self.panes["tuned"].title.setVisible(on)
        if on and not self.panes["base"].turns and self.panes["tuned"].turns:
            self.panes["base"].draw(note=message("playground.base_next")[1])

    def _say(self, sentence: str) -> None:
        if self.kind in (TAGGED_TEXT, PICTURES):
            (self.tagging if self.kind == TAGGED_TEXT else self.pictures).say(sentence)
            return
        target = self.chat_note if self.kind == CONVERSATION else self.classify_note
        target.setText(sentence)
        target.show()

    # ------------------------------------------------------------ keeping up with the database

    def refresh(self) -> None:
        """Read what the model's process wrote since the last look (the window's poll calls this)."""
        self.reload_runs()
        if self.run_id is None:
            return
        self._show_server(self.server())
        if self.kind == CONVERSATION:
            for pane in self.panes.values():
                self._show_answer(pane)
        elif self.kind == TAGGED_TEXT:
            self.tagging.refresh()
        elif self.kind == PICTURES:
            self.pictures.refresh()
        elif self.classify_request is not None and self.classify_request != self.classify_shown:
            self._show_classification(playground.get_request(self.client.db, self.classify_request))
        self._update_buttons()

    def _show_server(self, row: dict[str, Any] | None) -> None:
        run_name = self.client.get_run(self.run_id)["name"]
        if row is None:
            text, failed = message("playground.not_started")[1], False
        elif row["status"] == "loading":
            text, failed = message("playground.loading", run=run_name)[1], False
        elif row["status"] == "ready":
            text, failed = message("playground.ready")[1], False
        else:
            text, failed = row["error"] or message("playground.stopped")[1], row["status"] == "failed"
        self.state.setObjectName("ErrorText" if failed else "Muted")
        self.state.style().unpolish(self.state)  # let the new object name's style apply (from red back to grey too)
        self.state.style().polish(self.state)
        self.state.setText(text)
        self.restart_button.setVisible(failed)

    def _show_answer(self, pane: ChatPane) -> None:
        if pane.request_id is None:
            return
        request = playground.get_request(self.client.db, pane.request_id)
        status = request["status"]
        pane.speed.setText(speed_words(request))
        if status in playground.OPEN_REQUEST:
            pane.draw(partial=request["output"] or "", note=request["error"] or "")
            return
        if request["output"]:
            pane.turns = [*pane.turns, {"role": "assistant", "content": request["output"]}]
        elif status == "stopped":  # stopped before a word: as if never asked, the message back in the box
            asked = pane.turns.pop()["content"] if pane.turns else ""
            if pane.which == "tuned" and not self.prompt.toPlainText().strip():
                self.prompt.setPlainText(asked)
        pane.request_id = None
        note = request["error"] or ""
        if status == "stopped" and request["output"]:
            note = "Stopped."
        pane.draw(note=note)

    def _show_classification(self, request: dict[str, Any]) -> None:
        if request["status"] in playground.OPEN_REQUEST:
            return
        self.classify_shown = request["id"]
        if request["status"] != "done":
            self.classify_note.setText(request["error"] or "")
            return
        result = request["result"]
        if result["multi_label"]:
            given = ", ".join(result["chosen"]) or "none"
            self.result_title.setText(f"Categories above {result['threshold']:.0%}: {given}")
        else:
            top = result["labels"][0]
            self.result_title.setText(f"{top['label']} ({top['probability']:.0%} sure)")
        self.classify_note.setText(message("playground.truncated")[1] if result.get("truncated") else "")
        self.bars.show_result(result)

    def _update_buttons(self) -> None:
        busy = self.busy()
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)


def _main() -> int:
    """`python -m gui.pages.playground --sample`: the page on its own, on sample data."""
    from gui.pages import standalone

    return standalone.run(lambda client, runs: PlaygroundPage(client, runs), watch=lambda page: page.refresh)


if __name__ == "__main__":
    raise SystemExit(_main())

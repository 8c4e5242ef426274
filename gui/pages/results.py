"""Results: how good a finished model is on examples it did not learn from.

A classifier shows its scores, a per-category table, the confusion matrix as a heat map and the examples it
got wrong with its probabilities; an image model the same with a gallery of its mistakes and their heat maps
(gui/pages/picture_results.py); a chat model its loss, perplexity and answer scores, its answers beside the
starting model's, and a blind review of the two. The scoring is an engine job (kind "evaluate"); this page
starts it and draws the evaluation.json it leaves, read through the database like every other page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.config import ConfigError, EvaluateConfig
from engine.jobs import JobError
from engine.protocol import Status, model_task
from gui.engine_client import CONVERSATION, LABELS, PICTURES, TAGGED_TEXT, TASKS
from gui.state.format import KIND_WORDS, TASK_WORDS
from gui.state.results import (
    evaluation,
    evaluations_of,
    examples_words,
    held_out_file,
    is_held_out,
    recommended_first,
    score_warnings,
    results_choices,
    sides,
)
from gui.state.advisor import ADVISED_TASKS, Question, earlier_answer
from gui.widgets.advisor import LabelNext, LearningCurve
from gui.widgets.common import card, label, page_header
from gui.widgets.confusion import ColourScale, ConfusionHeatMap

def table(headers: list[str], rows: list[list[str]], *, stretch: int | None = None) -> QTableWidget:
    """A read-only table of text, wrapped, with the `stretch` column taking the spare width."""
    widget = QTableWidget(len(rows), len(headers))
    widget.setHorizontalHeaderLabels(headers)
    widget.verticalHeader().hide()
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setWordWrap(True)
    widget.setShowGrid(False)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            widget.setItem(r, c, item)
    header = widget.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    for c in range(len(headers)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch if c == stretch else QHeaderView.ResizeMode.ResizeToContents)
    widget.resizeRowsToContents()
    return widget


def tile(words: str, value: str, hint: str) -> QFrame:
    frame, layout = card(margins=14, spacing=2)
    layout.addWidget(label(words, "Muted"))
    layout.addWidget(label(value, "Big"))
    layout.addWidget(label(hint, "Muted", wrap=True))
    layout.addStretch(1)  # tiles side by side keep their titles on one line, whatever the length of their hints
    frame.setToolTip(hint)
    return frame


def score_tiles(shown: dict[str, Any], what: str, wrong_where: str = "the last tab") -> QWidget:
    """A classifier's scores in tiles, the majority baseline beside them; `what` its examples ("texts"),
    `wrong_where` where its mistakes are shown."""
    result = shown["result"]
    tiles = QHBoxLayout()
    tiles.addWidget(tile("Accuracy", f"{result['accuracy']:.1%}", f"Share of {what} given exactly the right category."))
    tiles.addWidget(tile("Macro-F1", f"{result['macro_f1']:.1%}",
                         "F1 averaged over categories, so rare categories count as much as common ones."))
    baseline = result.get("baseline")
    if baseline:
        tiles.addWidget(tile("Without learning", f"{baseline['accuracy']:.1%}",
                             f"The accuracy of always answering '{baseline['label']}', the most common category "
                             "in the training data: a model has to do better than this."))
    source = "the examples held back from training" if is_held_out(shown) else Path(result.get("data", "")).name
    tiles.addWidget(tile("Examples", examples_words(result), f"From {source}."))
    tiles.addWidget(tile("Wrong", f"{result['wrong_count']:,}", f"{what.capitalize()} given a wrong category (see {wrong_where})."))
    return _wrapped(tiles)


def confusion_page(result: dict[str, Any]) -> tuple[QWidget, ConfusionHeatMap]:
    """The confusion matrix as a heat map, with how to read it and its colour scale."""
    page = QWidget()
    box = QVBoxLayout(page)
    box.addWidget(label("Rows: the right category. Columns: the category the model chose. The diagonal holds "
                        "the right answers; a dark cell off it is a common mistake.", "Muted", wrap=True))
    scale = QHBoxLayout()  # above the table, so that it never covers a row
    scale.addStretch(1)
    scale.addWidget(ColourScale(), 2)
    scale.addStretch(1)
    box.addLayout(scale)
    heat_map = ConfusionHeatMap(result["labels"], result["confusion"])
    box.addWidget(heat_map)
    box.addStretch(1)
    return page, heat_map


def per_class_table(result: dict[str, Any], what: str) -> QTableWidget:
    widget = table(
        ["Category", "Precision", "Recall", "F1", "Examples"],
        [[row["label"], f"{row['precision']:.1%}", f"{row['recall']:.1%}", f"{row['f1']:.1%}", str(row["support"])]
         for row in result["per_class"]],
        stretch=0,
    )
    widget.setToolTip(f"Precision: of the {what} it put in a category, the share that belong there. "
                      f"Recall: of the {what} that belong in a category, the share it found.")
    return widget


class ResultsPage(QWidget):
    def __init__(self, client: Any, runs: Any) -> None:
        super().__init__()
        self.client, self.runs = client, runs
        self.review = None  # the BlindReview of the evaluation shown, if it is a chat one
        self.tabs: QTabWidget | None = None  # the tabs of the evaluation shown
        self.heat_map: ConfusionHeatMap | None = None
        self.per_class: QTableWidget | None = None
        self.tagging = None  # the TaggingResults of the evaluation shown, if it is a tagger's
        self.pictures = None  # the PictureResults of the evaluation shown, if it is an image model's
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(10)
        layout.addWidget(page_header(
            "Results",
            "How well a finished model does on examples it did not learn from: its scores, where it goes wrong, "
            "and its answers beside those of the model it started from (or of its teacher).",
        ))
        bar = QHBoxLayout()
        self.run_box = QComboBox()
        self.run_box.setMinimumWidth(320)
        self.evaluation_box = QComboBox()
        self.evaluation_box.setMinimumWidth(260)
        self.other_button = QPushButton("Evaluate on other data…")
        bar.addWidget(label("Run", "Muted"))
        bar.addWidget(self.run_box, 2)
        bar.addWidget(label("Evaluation", "Muted"))
        bar.addWidget(self.evaluation_box, 2)
        bar.addWidget(self.other_button)
        layout.addLayout(bar)
        self.message = label("", "Muted", wrap=True)
        self.message.hide()
        layout.addWidget(self.message)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.body, 1)
        # The advisor, for a finished classifier: would more examples help, and which to label next.
        self.more_data = LearningCurve(Question(client, "more_data"))
        self.label_next = LabelNext(Question(client, "label_next"), client)
        advice = QHBoxLayout()
        advice.addWidget(self.more_data, 1)
        advice.addWidget(self.label_next, 1)
        layout.addLayout(advice)

        # Replaced in tests: the file dialog that asks for the examples to evaluate on.
        self.choose_file = lambda: QFileDialog.getOpenFileName(
            self, "Examples to evaluate on", str(Path.home()), "Examples (*.csv *.tsv *.txt *.xlsx *.xlsm *.json *.jsonl *.ndjson *.parquet *.conll *.iob *.bio *.xml *.pubtator);;All files (*)")[0]
        self.run_box.currentIndexChanged.connect(self._run_chosen)
        self.evaluation_box.currentIndexChanged.connect(lambda _: self._show_evaluation())
        self.other_button.clicked.connect(self.evaluate_other)
        runs.changed.connect(self.refresh)
        self._shown: tuple | None = None
        self.refresh()

    # ------------------------------------------------------------ choosing what to show

    def refresh(self) -> None:
        choices = results_choices(self.runs.runs)
        ids = [run["id"] for run in choices]
        if ids != [self.run_box.itemData(i) for i in range(self.run_box.count())]:
            chosen = self.run_box.currentData()
            self.run_box.blockSignals(True)
            self.run_box.clear()
            for run in choices:
                what = KIND_WORDS.get(run["kind"], run["kind"]).lower()
                if run["kind"] == "distill":
                    what = f"{TASK_WORDS[model_task(run)].lower()}, distilled"
                self.run_box.addItem(f"{run['name']} (run {run['id']}, {what})", run["id"])
            if chosen in ids:
                self.run_box.setCurrentIndex(ids.index(chosen))
            elif chosen is None:  # first look: the newest recommended run that has results to show
                evaluated = [run["id"] for run, _ in recommended_first(self.client.db, choices)
                             if evaluations_of(self.client.db, run["id"])]
                self.run_box.setCurrentIndex(ids.index(evaluated[0]) if evaluated else 0)
            self.run_box.blockSignals(False)
        self.other_button.setEnabled(bool(choices))
        self._run_chosen()

    def show_run(self, run_id: int) -> None:
        index = self.run_box.findData(run_id)
        if index >= 0:
            self.run_box.setCurrentIndex(index)

    def _run_chosen(self) -> None:
        run_id = self.run_box.currentData()
        run = self.runs.run(run_id) if run_id is not None else None
        if run is not None and run["kind"] == "evaluate":
            found = [evaluation(self.client.db, run_id)]
        else:
            found = evaluations_of(self.client.db, run_id) if run_id is not None else []
        ids = [e["id"] for e in found]
        if ids != [self.evaluation_box.itemData(i) for i in range(self.evaluation_box.count())]:
            chosen = self.evaluation_box.currentData()
            self.evaluation_box.blockSignals(True)
            self.evaluation_box.clear()
            for e in found:
                data = "its held-back examples" if is_held_out(e) else Path(e["config"].get("data", "")).name
                self.evaluation_box.addItem(f"on {data} (run {e['id']})", e["id"])
            # A new evaluation (the newest, first) is shown as soon as it appears.
            self.evaluation_box.setCurrentIndex(ids.index(chosen) if chosen in ids and chosen == max(ids) else 0)
            self.evaluation_box.blockSignals(False)
        self.evaluation_box.setEnabled(len(found) > 1)
        self._show_advice(run)
        self._show_evaluation()

    def _show_advice(self, run: dict[str, Any] | None) -> None:
        advised = run is not None and run["status"] == Status.COMPLETED and model_task(run) in ADVISED_TASKS
        for view in (self.more_data, self.label_next):
            view.setVisible(advised)
            if not advised or view.settings.get("run_id") == run["id"]:
                continue
            view.settings = {"run_id": run["id"]}
            earlier = earlier_answer(self.client, run["id"], view.question.question)
            if earlier is not None:
                view.question.follow(earlier)
            else:
                view.question.run_id, view.question.answer = None, None
            view.show_question()

    def _show_evaluation(self) -> None:
        run_id, evaluation_id = self.run_box.currentData(), self.evaluation_box.currentData()
        shown = evaluation(self.client.db, evaluation_id) if evaluation_id is not None else None
        key = (run_id, evaluation_id, shown and (shown["status"], round(shown["progress"] or 0, 2), shown["result"] is not None))
        if key == self._shown:
            return
        self._shown = key
        self._clear()
        run = self.runs.run(run_id) if run_id is not None else None
        if run is None:
            self.body_layout.addWidget(label("No run has finished yet. A finished run's results are shown here.", "Muted"))
        elif shown is None:
            self._offer(run)
        elif shown["result"] is None:
            self._in_progress(shown)
        else:
            self._say("")  # "Evaluating…" is over once the result is shown
            views = {LABELS: self._classifier, CONVERSATION: self._chat, TAGGED_TEXT: self._tagged, PICTURES: self._pictures}
            views[TASKS[shown["result"]["task"]].view](shown)
        self.body_layout.addStretch(0)

    def _clear(self) -> None:
        self.review = self.heat_map = self.per_class = self.tabs = self.tagging = self.pictures = None
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item.widget():  # hidden at once: deleteLater acts only when the event loop comes round
                item.widget().hide()
                item.widget().deleteLater()

    # ------------------------------------------------------------ no evaluation yet, or one under way

    def _offer(self, run: dict[str, Any]) -> None:
        frame, layout = card()
        layout.addWidget(label("This run has not been evaluated yet", "CardTitle"))
        held_out = held_out_file(run, self.client.db)
        if held_out:
            kept = Path(held_out).name == "held_out.jsonl"
            what = "the examples it held back from training (kept with the run)" if kept else Path(held_out).name
            layout.addWidget(label(
                f"It was checked during training on {what}, examples it did not learn from. Evaluate "
                "on them to see its scores per category, its mistakes and its answers.", wrap=True))
            button = QPushButton("Evaluate on its held-back examples" if kept else f"Evaluate on {Path(held_out).name}")
            button.setObjectName("Primary")
            button.clicked.connect(lambda: self.start_evaluation(held_out))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
            self.offer_button = button
        else:
            layout.addWidget(label(
                "During training it was checked on examples set aside from its training file; those are not kept as "
                "a file of their own. Choose a file of examples it has not seen (with the right answers) to "
                "evaluate it on.", wrap=True))
            button = QPushButton("Choose examples to evaluate on…")
            button.setObjectName("Primary")
            button.clicked.connect(self.evaluate_other)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
            self.offer_button = button
        self.body_layout.addWidget(frame)

    def _in_progress(self, shown: dict[str, Any]) -> None:
        frame, layout = card()
        if shown["status"] in (Status.FAILED, Status.CANCELLED, Status.INTERRUPTED):
            layout.addWidget(label("This evaluation did not finish", "CardTitle"))
            layout.addWidget(label(shown["error"] or "It stopped before writing its results.", wrap=True, selectable=True))
        else:
            layout.addWidget(label(f"Evaluating on {Path(shown['config'].get('data', '')).name}…", "CardTitle"))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(round(100 * (shown["progress"] or 0)))
            layout.addWidget(bar)
            layout.addWidget(label("The results appear here as soon as the evaluation has written them.", "Muted"))
        self.body_layout.addWidget(frame)

    # ------------------------------------------------------------ a classifier

    def _classifier(self, shown: dict[str, Any]) -> None:
        result = shown["result"]
        self.body_layout.addWidget(score_tiles(shown, "texts"))
        for warning in score_warnings(result):
            self.body_layout.addWidget(label(warning, "ErrorText", wrap=True))
        tabs = QTabWidget()
        if result.get("confusion"):
            page, self.heat_map = confusion_page(result)
            tabs.addTab(page, "Confusion matrix")
        self.per_class = per_class_table(result, "texts")
        tabs.addTab(self.per_class, "Per category")
        wrong = table(
            ["Text", "Right answer", "Model's answer", "Probabilities"],
            [[row["text"], ", ".join(row["expected"]) or "none", ", ".join(row["predicted"]) or "none",
              ", ".join(f"{name} {p:.0%}" for name, p in row["probabilities"].items())] for row in result["wrong"]],
            stretch=0,
        )
        tabs.addTab(wrong, f"Wrong answers ({result['wrong_count']})")
        self.tabs = tabs
        self.body_layout.addWidget(tabs, 1)

    # ------------------------------------------------------------ pictures sorted into categories

    def _pictures(self, shown: dict[str, Any]) -> None:
        from gui.pages.picture_results import PictureResults

        self.pictures = PictureResults(shown)
        self.tabs, self.heat_map, self.per_class = self.pictures.tabs, self.pictures.heat_map, self.pictures.per_class
        self.body_layout.addWidget(self.pictures, 1)

    # ------------------------------------------------------------ a chat model

    def _chat(self, shown: dict[str, Any]) -> None:
        from gui.pages.review import BlindReview

        result, metrics = shown["result"], shown["result"]["metrics"]
        tiles = QHBoxLayout()
        tiles.addWidget(tile("Loss", f"{metrics['eval_loss']:.3g}", "How surprised the model is by the right answers (lower is better)."))
        tiles.addWidget(tile("Perplexity", f"{metrics['eval_perplexity']:.3g}", "The loss as a number of equally likely next words (lower is better)."))
        tiles.addWidget(tile("Exact match", f"{metrics['eval_exact_match']:.0%}", "Answers word for word the same as the example's."))
        tiles.addWidget(tile("Token-F1", f"{metrics['eval_token_f1']:.0%}", "Words shared with the example's answer, in any order."))
        tiles.addWidget(tile("ROUGE-L", f"{metrics['eval_rouge_l']:.0%}", "The longest run of the example's words the answer keeps in order."))
        tiles.addWidget(tile("Conversations", examples_words(result), "Each answer is generated, so a long file is scored on its first ones."))
        self.body_layout.addWidget(_wrapped(tiles))
        tabs = QTabWidget()
        answers = result.get("answers") or []
        shown_sides = sides(result)
        side_by_side = table(
            ["Prompt", "Right answer", shown_sides.ours.capitalize(), shown_sides.theirs.capitalize()],
            [[row["prompt"], row["reference"], row["answer"], row.get(shown_sides.key) or "(not asked)"] for row in answers],
        )
        for column in range(4):
            side_by_side.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        side_by_side.resizeRowsToContents()
        tabs.addTab(side_by_side, "Answers side by side")
        self.review = BlindReview(self.client, shown["id"], result)
        tabs.addTab(self.review, "Blind review")
        self.tabs = tabs
        self.body_layout.addWidget(tabs, 1)

    # ------------------------------------------------------------ a tagger (names marked in texts)

    def _tagged(self, shown: dict[str, Any]) -> None:
        from gui.pages.tagging_results import TaggingResults

        self.tagging = TaggingResults(self.client, shown)
        self.tabs = self.tagging.tabs
        self.body_layout.addWidget(self.tagging, 1)

    # ------------------------------------------------------------ starting an evaluation

    def evaluate_other(self) -> None:
        path = self.choose_file()
        if path:
            self.start_evaluation(path)

    def start_evaluation(self, data: str) -> None:
        run = self.runs.run(self.run_box.currentData())
        if run is None:
            return
        if not self.client.live_jobs:
            return self._say("This is sample data: no model is behind it to evaluate.")
        model = run["config"]["model"] if run["kind"] == "evaluate" else str(run["id"])
        try:
            config = EvaluateConfig(model=model, data=data, name=f"Evaluation of {run['name']} on {Path(data).name}")
            self.client.start(config)
        except (ConfigError, JobError, OSError) as problem:
            return self._say(str(problem))
        self._say(f"Evaluating on {Path(data).name}; the results appear here when it is done.")
        self.runs.refresh()
        self._run_chosen()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class _TileRow(QWidget):
    """A row of tiles as tall as its widest-wrapped hint needs at the width it is given (a layout gives a
    widget its height for a typical width, which cuts off a long hint in a narrow tile)."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        needed = self.layout().heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def _wrapped(row: QHBoxLayout) -> QWidget:
    """Tiles in one row of equal widths (in a widget, so a refresh removes them with the rest)."""
    box = _TileRow()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(10)
    while row.count():
        widget = row.takeAt(0).widget()
        grid.addWidget(widget, 0, grid.columnCount() if grid.count() else 0)
    for column in range(grid.columnCount()):
        grid.setColumnStretch(column, 1)
    return box


def _main() -> int:
    """`python -m gui.pages.results --sample`: the page alone, on sample data."""
    from gui.pages import standalone
    from gui.sample import add_sample_evaluations

    def build(client: Any, runs: Any) -> ResultsPage:
        add_sample_evaluations(client)
        runs.refresh()
        return ResultsPage(client, runs)

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

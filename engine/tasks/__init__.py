"""The table of tasks: every task the app can teach a model, each declared once in its own module.

A task module builds one `Task`: the words the window shows for it, its config type, how its data is read
and checked, how its model is trained, scored, distilled, exported and tried in the Playground. Everything
else (the CLI, the job process, the planner, the wizard and the pages) looks a task up here instead of
comparing against its name, so a new task is a module and one line in `TASKS`.

The declarations import no torch: the window reads the words and the format rules. The heavy work of each
stage lives in functions that import what they need when called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from engine.config import ConfigError


class NotOffered:
    """A stage a task does not offer, on purpose, with the sentence that says so."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(self.reason)

    def __repr__(self) -> str:
        return f"NotOffered({self.reason!r})"


class Lazy:
    """A stage done by a function of a module imported only when the stage runs (`"module:function"`): the
    table is read by the window, which must not import torch, and a task module stays its declarations."""

    def __init__(self, target: str) -> None:
        self.target = target

    def resolve(self) -> Callable[..., Any]:
        from importlib import import_module

        module, _, name = self.target.partition(":")
        return getattr(import_module(module), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


#: The families of models a task trains (engine/models/describe.py tells the transformers ones apart; image
#: models are timm's, known by their own folders and the bundled entry).
ENCODER, CAUSAL, IMAGE = "encoder", "causal language model", "image model"

#: The views the window has for a task's model and results; tasks that show the same kind of thing share one:
#: categories with their probabilities, a conversation, a text with its marked names, pictures with their
#: categories and heat maps.
LABELS, CONVERSATION, TAGGED_TEXT, PICTURES = "labels", "conversation", "tagged text", "pictures"

#: The stages every task declares: a function, or `NotOffered(...)`.
STAGES = ("doctor", "plan", "train", "evaluate", "distil", "export", "playground", "demo")


@dataclass(frozen=True)
class Words:
    """What the window calls a task and its data."""

    title: str  # the wizard's and Data page's choice: "Sort texts into categories"
    detail: str  # the sentence under it in the wizard
    example: str  # an everyday example of it, under the sentence
    short: str  # in lists of runs: "Sort texts"
    model_short: str  # a model's task in the Models page's list: "Sort texts"
    model_kind: str  # the same in a model's details: "Sort texts (an encoder)"
    hub: str  # the Hub search's choice: "Text sorters"
    examples: str  # what one example is called, plural: "rows", "conversations"
    texts: str  # what is compared between training and evaluation data: "texts"
    curves: str  # the title of the chart of its evaluation curves: "Quality"


@dataclass(frozen=True)
class Task:
    name: str  # stored as a training run's kind
    words: Words
    config: type  # the JobConfig subclass of a fine-tuning run
    demo_model: str  # the bundled model the task starts from by default
    demo_model_title: str
    learning_rates: dict[str, float]  # by method, the usual starting points ("full_small": a small model's)
    metric: str  # the evaluation figure that picks the best checkpoint
    higher_is_better: bool
    curves: tuple[str, ...]  # evaluation curves the Results page draws, the one runs are compared by first
    eval_summary: str  # an evaluation's figures in a few words, formatted with its metrics
    speed: tuple[str, str]  # the training speed's metric and unit
    report_rows: tuple[tuple[str, str], ...]  # (row title, metric) of the distillation report's quality table
    export_formats: tuple[str, ...]
    distil_temperature: float
    architectures: tuple[str, ...]  # endings of the transformers classes whose models do this task already
    hub_tags: tuple[str, ...]  # the Hub's pipeline tags of models it trains, the searched one first
    uses: tuple[str, str]  # the model card's intended use and its limits
    #: which Playground panel and Results view show it (LABELS, CONVERSATION, TAGGED_TEXT, PICTURES)
    view: str
    min_examples: int
    model_family: str  # ENCODER, CAUSAL or IMAGE
    #: its data are conversations (Alpaca, ShareGPT, OpenAI messages), not rows of a table
    reads_conversations: bool
    #: a model that does no task yet (a bare encoder) learns this one: it is given a new head
    bare_model_learns: bool
    # ---- stages: functions imported lazily by the task module, or NotOffered
    #: (scan, head, name, text_column, label_column) -> reader of one row; a task that `reads_documents`:
    #: (path, eval_path, tokenizer, max_length, model) -> the doctor's Report of the whole file
    doctor: Callable[..., Any]
    plan: Callable[..., Any]  # (config, tokenizer) -> (token lengths of a sample, example count)
    train: Callable[..., Any]  # (job) -> Status
    evaluate: Callable[..., Any]  # (job, scored, config) -> results
    distil: Callable[..., Any]  # (job, teacher) -> Lesson (engine/recipes/distill.py)
    export: Callable[..., Any]  # (source, fmt, folder) -> verdict of the read-back check
    playground: Callable[..., Any]  # (db, loaded, request, ended) -> None
    demo: Callable[..., Any]  # () -> the ready-to-run demo JobConfig (`tunewright-engine example`)
    load_model: Callable[..., Any]  # (source, labels, multi_label, allow_unsafe) -> a trained run's model
    load_folder: Callable[..., dict]  # (source, allow_unsafe) -> {"model", "labels", "multi_label"} of a model folder
    #: (description, rows, name, text_column, label_column, layout problem) -> problem; a task that
    #: `reads_documents`: (path) -> the Description of the file, its first documents as rows
    describe_data: Callable[..., Any]
    data_summary: Callable[..., str]  # (config) -> a sentence for the model card
    #: its data are whole documents with marks inside them (tagged text), not rows of a table: the doctor and
    #: the Data page's preview hand the file to the task's own `doctor` and `describe_data`
    reads_documents: bool = False
    #: (path) -> whether a file is this task's data, told from its head without being asked (formats only
    #: this task reads); a file no task recognises is read as a table
    recognises: Callable[[Any], bool] = field(default=lambda path: False)
    #: (folder) -> whether it holds one of this task's own models, told from its files (a task whose models
    #: are not transformers', which a config.json would name)
    model_folder: Callable[[Any], bool] = field(default=lambda folder: False)
    #: (a model's output labels) -> the kinds of answer they stand for, as the data names them (a tagger's
    #: B-Disease and I-Disease are the kind Disease); a classifier's labels are its categories
    label_kinds: Callable[[list[str]], list[str]] = field(default=lambda labels: list(labels))
    card_settings: Callable[..., list[str]] = field(default=lambda config: [])  # the model card's own lines
    card_distillation: Callable[..., str] = field(default=lambda config: "")  # added to its distillation line
    #: by export format, the model card's "How to use" where the general one does not fit ({folder}: the export's)
    how_to_use: dict[str, str] = field(default_factory=dict)
    # ---- a task whose models are not transformers' (no tokenizer, no config.json, not in the catalog)
    #: (config) -> the planner's Plan without training, decided by the task itself
    plan_alone: Callable[..., Any] | None = None
    #: (model folder) -> (model, what prepares its input, labels, multi_label) of a finished run
    load_run: Callable[..., Any] | None = None
    #: (run model, format, folder) -> the main files written: the task writes its own exports
    write_export: Callable[..., Any] | None = None

    def learning_rate(self, method: str) -> float:
        return self.learning_rates.get(method, 1e-4)


def _load() -> dict[str, Task]:
    from engine.tasks import chat, classify, images, tagging

    return {task.name: task for task in (classify.TASK, chat.TASK, tagging.TASK, images.TASK)}


TASKS: dict[str, Task] = _load()


def task(name: str) -> Task:
    """The task called `name`, or a sentence naming the ones there are."""
    try:
        return TASKS[str(name)]
    except KeyError:
        raise ConfigError.said("config.unknown_task", name=name, tasks=", ".join(TASKS)) from None


def task_of_run(run: dict) -> Task | None:
    """The task of the model a run makes: a training run's own, a distilled student's teacher's (written
    into its settings when it starts), None for a run that makes no model."""
    name = run.get("kind")
    if name in TASKS:
        return TASKS[name]
    return TASKS.get((run.get("config") or {}).get("task") or "") if name == "distill" else None


def task_of_architectures(architectures: list[str]) -> Task | None:
    """The task a model already does, from the transformers classes its config names."""
    for candidate in TASKS.values():
        if any(name.endswith(candidate.architectures) for name in architectures):
            return candidate
    return None

"""What a data file looks like, from its head alone: the window shows this for the user to confirm.

``describe_file`` guesses the format, the encoding, the delimiter and header, the task the data suits
(texts with labels, or conversations) and which columns are which, and gives the first rows to show.
It reads only the head of the file, so a million-row file is described in a blink; ``count_records``
(formats.py) streams through the rest when the number of rows is wanted. Nothing here imports torch:
the window calls it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.conversations import ChatColumns, detect_layout
from engine.data.errors import DataError
from engine.data.encodings import MIXED_ENCODING
from engine.data.formats import ReadOptions, check_ordinary, head_records
from engine.tasks import TASKS
from engine.tasks import task as task_named

PREVIEW_ROWS = 50

FORMAT_WORDS = {
    "csv": "CSV", "tsv": "TSV (tab-separated)", "json": "JSON", "jsonl": "JSON Lines", "parquet": "Parquet",
    "xlsx": "Excel workbook", "folder": "a folder of text files", "registry": "LLaMA-Factory dataset list",
    # tagged text (engine/data/spans)
    "conll": "one word per line with its tag (CoNLL)", "brat": "brat (.txt and .ann files)", "pubtator": "PubTator",
    "bioc": "BioC",
    # pictures (engine/images/collect.py)
    "image folder": "a folder of pictures, one sub-folder per category", "image table": "a table of picture files",
    "zip of an image folder": "a zip of pictures in category folders", "zip of an image table": "a zip with a table of picture files",
}
DELIMITER_WORDS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
ENCODING_WORDS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with a byte-order mark)", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "utf-32": "UTF-32", "cp1252": "Windows-1252", "latin-1": "Latin-1",
                  MIXED_ENCODING: "UTF-8 with some lines in Windows-1252"}
LAYOUT_WORDS = {"alpaca": "Alpaca (instruction and answer)", "sharegpt": "ShareGPT conversations",
                "openai": "OpenAI messages", "table": "questions and answers in columns"}


@dataclass
class Description:
    """The guesses about one file, and its first rows."""

    path: str
    options: ReadOptions
    columns: list[str]
    rows: list[dict[str, Any]]
    #: the name of the task the file is read for (engine/tasks)
    task: str
    #: For chat data: "alpaca", "sharegpt", "openai" or "table".
    layout: str = ""
    #: For chat data in a table: which columns hold the questions, answers, context and conversation ids.
    chat_columns: ChatColumns = field(default_factory=ChatColumns)
    text_column: str = ""
    label_column: str = ""
    multi_label: bool = False
    #: For a LLaMA-Factory registry: the datasets in it whose files are here.
    entries: list[str] = field(default_factory=list)
    #: A sentence when the data does not fit the task (no label column, no conversations); "" if it does.
    problem: str = ""
    #: How many examples the file holds, when they were all read to describe it (a task that reads its file
    #: whole); None: counted separately (count_records), as a large table's rows are.
    count: int | None = None

    def summary(self) -> str:
        """One line about how the file is read, e.g. "CSV, separated by semicolons, Windows-1252, with a
        header row"."""
        options = self.options
        parts = [FORMAT_WORDS.get(options.format, options.format)]
        if options.format in ("csv", "tsv") and options.delimiter != "\t":
            parts.append(f"separated by {DELIMITER_WORDS.get(options.delimiter, repr(options.delimiter))}")
        if options.encoding:
            parts.append(ENCODING_WORDS.get(options.encoding, options.encoding))
        if options.format in ("csv", "tsv", "xlsx") and options.header is not None:
            parts.append("with a header row" if options.header else "without a header row")
        if options.format == "registry":
            parts.append(f"dataset '{options.dataset}'")
        if self.layout:
            parts.append(LAYOUT_WORDS[self.layout])
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "options": self.options.to_dict(), "columns": self.columns, "task": self.task,
            "layout": self.layout, "text_column": self.text_column, "label_column": self.label_column,
            "multi_label": self.multi_label, "chat_columns": self.chat_columns.to_dict(), "entries": self.entries, "problem": self.problem,
            "summary": self.summary(), "preview": [{k: _shown(v) for k, v in row.items()} for row in self.rows],
        }


def describe_file(
    path: str | Path, options: ReadOptions | None = None, *, task: str = "", text_column: str = "",
    label_column: str = "", chat_columns: ChatColumns | None = None, limit: int = PREVIEW_ROWS,
) -> Description:
    """Guess how to read ``path`` and what is in it, from its first ``limit`` rows.

    Raises DataError when the file cannot be read at all; a file that reads but does not fit the task is
    described with a ``problem`` sentence instead, so the user sees the rows and can choose the columns.
    """
    path = Path(path)
    check_ordinary(path)  # before anything opens it: a pipe named data.csv would keep the reader waiting
    documents = task_named(task) if task else next((t for t in TASKS.values() if t.recognises(path)), None)
    if documents is not None and documents.reads_documents:  # tagged text: the task reads the file itself
        return documents.describe_data(path)
    resolved, rows = head_records(path, options, limit)
    if not rows:
        raise DataError("file.empty", file=path.name)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    entries: list[str] = []
    if resolved.format == "registry":
        from engine.data.registry import local_entries

        entries = local_entries(path)
    layout, found, layout_problem = "", ChatColumns(), ""
    try:
        # only names say "conversations" on their own; the contents decide once the person chose the task
        layout, found = detect_layout(rows, path.name, chat_columns, by_content=bool(task) and task_named(task).reads_conversations)
    except DataError as error:
        layout_problem = str(error)
    chosen = task_named(task) if task else guess_task(layout)
    description = Description(str(path), resolved, columns, rows, chosen.name, layout if chosen.reads_conversations else "", entries=entries)
    if chosen.reads_conversations:
        description.chat_columns = found
    description.problem = chosen.describe_data(description, rows, path.name, text_column, label_column, layout_problem)
    return description


def guess_task(layout: str):
    """The task a file with no task chosen is most likely for: one that reads conversations when the rows are
    conversations, else the first that reads tables."""
    return next(task for task in TASKS.values() if task.reads_conversations == bool(layout) and not task.reads_documents)


def _shown(value: Any) -> Any:
    """A value as JSON can carry it (Excel gives dates, Parquet may give bytes)."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)

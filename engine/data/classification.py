"""Texts and their labels, from whatever table the user brings, for the classification recipes.

The user should not have to say which column is which: the text column and the label column are
guessed (by name first, then by what the values look like) and shown to them to confirm; a column they
name themselves must exist. A label column holding lists makes the task multi-label; then a row without
a label is a real example meaning "none of the labels" (NLU++ leaves out the "intents" key for such
rows), while in a single-label task such a row teaches nothing and is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data.errors import DataError, describe
from engine.data.formats import ReadOptions, read_records
from engine.quoting import shown_list

#: Column names that mean "the text to learn from", best first.
TEXT_NAMES = ("text", "sentence", "query", "utterance", "content", "question", "input", "review", "document")
#: Column names that mean "the label", best first.
LABEL_NAMES = ("label", "labels", "intent", "intents", "category", "categories", "class", "target", "tag", "tags")


@dataclass
class ClassificationData:
    """One classification dataset, ready for tokenizing: row i is ``texts[i]`` with ``labels[i]``."""

    texts: list[str]
    #: Each row's labels: exactly one for single-label data; zero or more for multi-label data.
    labels: list[list[str]]
    #: Every label that occurs, sorted, so that label ids are the same on every run over the same data.
    label_names: list[str]
    multi_label: bool
    #: The columns used (given by the user or guessed), to show them for confirmation.
    text_column: str
    label_column: str
    #: Rows left out because their text (or, for single-label data, their label) is empty or missing.
    skipped_rows: int = 0


def load_classification(
    path: str | Path, text_column: str = "", label_column: str = "", options: ReadOptions | None = None
) -> ClassificationData:
    """Read a classification dataset; empty column names mean "guess it".

    Labels may be texts, numbers (kept as their text, "1.0" read as "1"), or lists of texts
    (multi-label). Raises DataError for a named column that does not exist, listing the columns there
    are, and when no row has both a text and a label.
    """
    name = Path(path).name
    records = read_records(path, options)
    text_column, label_column = guess_columns(records, name, text_column, label_column)
    multi_label = any(isinstance(record.get(label_column), list) for record in records)

    texts, labels, skipped = [], [], 0
    for row, record in enumerate(records, start=1):
        text = _text(record.get(text_column), name, row, text_column)
        row_labels = _labels(record.get(label_column), name, row, label_column)
        if not text.strip() or (not multi_label and not row_labels):
            skipped += 1
            continue
        texts.append(text)
        labels.append(row_labels)
    if not texts:
        raise DataError("data.no_rows", file=name, what="both a text and a label")
    return ClassificationData(
        texts=texts,
        labels=labels,
        label_names=sorted({label for row_labels in labels for label in row_labels}),
        multi_label=multi_label,
        text_column=text_column,
        label_column=label_column,
        skipped_rows=skipped,
    )


def guess_columns(
    records: list[dict[str, Any]], name: str, text_column: str = "", label_column: str = ""
) -> tuple[str, str]:
    """The text and label columns: the ones given (which must exist), else guessed from ``records``
    (the head of a file is enough)."""
    columns = _column_names(records)
    for given in (text_column, label_column):
        if given and given not in columns:
            raise DataError("column.missing", file=name, column=given, available=shown_list(columns))
    text_column = text_column or _guess_text_column(records, columns, name, exclude=label_column)
    label_column = label_column or _guess_label_column(records, columns, name, exclude=text_column)
    return text_column, label_column


def row_text(value: object, name: str, row: int, column: str) -> str:
    """A row's text as the loader reads it (for the data doctor, which reads rows one at a time)."""
    return _text(value, name, row, column)


def row_labels(value: object, name: str, row: int, column: str) -> list[str]:
    """A row's labels as the loader reads them."""
    return _labels(value, name, row, column)


def _column_names(records: list[dict[str, Any]]) -> list[str]:
    """Every column in the order first seen; JSON rows need not all have the same keys."""
    return list(dict.fromkeys(key for record in records for key in record))


def _guess_text_column(records: list[dict[str, Any]], columns: list[str], name: str, exclude: str) -> str:
    """A column named like text (text, sentence, ...), else the text column with the longest values."""
    candidates = [
        column for column in columns
        if column != exclude and column.lower() not in LABEL_NAMES and _mostly_text(records, column)
    ]
    if not candidates:
        raise DataError("column.no_text", file=name, available=shown_list(columns))
    by_name = _first_named(candidates, TEXT_NAMES)
    return by_name or max(candidates, key=lambda column: _average_length(records, column))


def _guess_label_column(records: list[dict[str, Any]], columns: list[str], name: str, exclude: str) -> str:
    """A column named like a label, else the only other column, else one holding lists, else the one
    whose values repeat the most.

    Values that repeat are what labels look like; among several columns, one where every value is
    different (an id, a second text) is never taken as the labels, nor, where another will do, one that
    holds a single value or none (a status every row shares, an empty column).
    """
    candidates = [column for column in columns if column != exclude]
    if not candidates:
        raise DataError("column.only_text", file=name, column=exclude)
    by_name = _first_named(candidates, LABEL_NAMES)
    if by_name or len(candidates) == 1:
        return by_name or candidates[0]
    for column in candidates:
        if any(isinstance(record.get(column), list) for record in records):
            return column
    scalar = [
        column for column in candidates
        if not any(isinstance(record.get(column), (list, dict)) for record in records)
    ]
    distinct = {column: len({_label_text(record.get(column)) for record in records} - {""}) for column in scalar}
    repeating = [column for column in scalar if distinct[column] < len(records)]
    # A column with one value (or none: a spreadsheet's unused column) would teach a single category.
    repeating = [column for column in repeating if distinct[column] >= 2] or repeating
    if not repeating:
        raise DataError("column.no_label", file=name, available=shown_list(candidates))
    return min(repeating, key=lambda column: distinct[column])


def _first_named(columns: list[str], names: tuple[str, ...]) -> str:
    """The column whose name (ignoring case) comes first in ``names``, or ""."""
    lowered = {column.lower(): column for column in columns}
    return next((lowered[known] for known in names if known in lowered), "")


def _mostly_text(records: list[dict[str, Any]], column: str) -> bool:
    values = [record.get(column) for record in records if record.get(column) not in (None, "")]
    return bool(values) and sum(isinstance(value, str) for value in values) * 2 > len(values)


def _average_length(records: list[dict[str, Any]], column: str) -> float:
    return sum(len(str(record.get(column) or "")) for record in records) / len(records)


def _text(value: object, name: str, row: int, column: str) -> str:
    """The row's text; numbers are read as text, a list or a group of fields is an error."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        raise DataError("field.wrong_type", file=name, row=row, found=describe(value), field=column)
    return str(value)


def _labels(value: object, name: str, row: int, column: str) -> list[str]:
    """The row's labels as a list of texts: [] when missing, one for a single value, several for a list."""
    values = value if isinstance(value, list) else [value]
    labels = []
    for single in values:
        if isinstance(single, (list, dict)):
            raise DataError("field.bad_label", file=name, row=row, found=describe(single), field=column)
        label = _label_text(single)
        if label and label not in labels:
            labels.append(label)
    return labels


def _label_text(value: object) -> str:
    """A label as text; a whole float (what Excel and Parquet make of 1) reads as "1", not "1.0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()

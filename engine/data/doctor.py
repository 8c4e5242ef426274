"""The data doctor: the problems an ML engineer would look for in a dataset before training, in plain words.

``examine`` reads a dataset row by row (never the whole file at once) and reports what would quietly
spoil a run: empty rows, repeated rows, the same text with different labels, categories too rare to learn
or to check, very uneven categories, too little data, examples longer than the length limit (with a
tokenizer, so only in the engine process), and evaluation examples that are also in the training data.
Each finding has a code, a severity, how many rows it concerns, a few row numbers as examples, a sentence
declared in engine/protocol.py, and where one exists a fix.

``apply_fix`` writes a cleaned COPY of the data (JSON Lines, under ``TUNEWRIGHT_HOME/datasets``); the
user's own file is never changed. Row numbers count records from 1 in file order, as in the importers'
sentences (for CSV and Excel, the first row under the header is row 1).

Nothing here imports torch: the tokenizer, when there is one, is passed in.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import traceback
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.data.classification import row_labels
from engine.data.conversations import ChatColumns, table_conversations
from engine.data.errors import DataError
from engine.data.encodings import MIXED_ENCODING, lines_in_windows_1252
from engine.data.formats import ReadOptions, head_records, iter_records, resolve_options
from engine.protocol import MESSAGES
from engine.quoting import shown
from engine.store import PRIVATE_FILE, PRIVATE_FOLDER
from engine.tasks import task as task_named

#: A category with fewer examples than this is too rare to learn (a handful of examples teach a
#: classifier little more than their exact words).
MIN_TO_LEARN = 8
#: One example cannot be both learned from and kept aside to check the model with.
MIN_TO_EVALUATE = 2
#: The largest category this many times the smallest: the model leans towards the common ones.
IMBALANCE_RATIO = 10
#: More categories than this with fewer rows each on average than NOT_CATEGORIES_ROWS: the column holds
#: names or ids (one per row, or nearly), not categories to learn.
NOT_CATEGORIES_COUNT = 20
NOT_CATEGORIES_ROWS = 3
#: A text of more words than this is longer than any model here reads (a few thousand words at most; most
#: read a few hundred): said even before a model is chosen, when lengths cannot yet be counted in tokens.
LONG_WORDS = 2000
#: Below this many usable examples, fine-tuning is mostly guesswork.
EXAMPLES = 5  # row numbers shown per finding
OTHER = "other"
#: Fixes that write a cleaned copy of the data; "raise_max_length" changes a setting instead. "as_read"
#: removes nothing: it saves the rows as read here (a chosen delimiter, a LLaMA-Factory entry with its
#: column names), so that training reads them the same way.
DATA_FIXES = ("drop_empty", "drop_duplicates", "drop_conflicts", "merge_rare", "drop_rare", "drop_lonely",
              "drop_overlap", "as_read")


@dataclass
class Finding:
    code: str  # a key of engine.protocol.MESSAGES, "doctor.*"
    severity: str  # a Level: info, advice, warning, error
    count: int
    examples: list[int]  # row numbers (1-based); of the evaluation file for "doctor.overlap"
    message: str
    fix: str = ""  # "" when there is no one-click fix
    fix_label: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    file: str
    task: str
    options: dict[str, Any]
    rows: int  # records read
    usable_rows: int  # with a text (and label) or something to learn
    text_column: str = ""
    label_column: str = ""
    layout: str = ""
    chat_columns: dict[str, str] = field(default_factory=dict)  # a table of chat data: ChatColumns
    classes: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    eval_file: str = ""
    model: str = ""
    max_length: int | None = None
    checked_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Report:
        values = dict(values)
        values["findings"] = [Finding(**finding) for finding in values.get("findings", [])]
        return cls(**values)

    def finding(self, code: str) -> Finding | None:
        return next((finding for finding in self.findings if finding.code == code), None)


def _finding(code: str, count: int, where: list[int], fix: str = "", fix_values: dict | None = None, **values: Any) -> Finding:
    declared = MESSAGES[code]
    fix_label = MESSAGES[f"fix.{fix}"].format(**(fix_values or {})) if fix else ""
    return Finding(code, str(declared.level), count, [row + 1 for row in where[:EXAMPLES]],
                   declared.format(count=count, **values), fix, fix_label, {**values, **(fix_values or {})})


# ---------------------------------------------------------------- reading rows for the checks


@dataclass
class _Scan:
    """What one pass over a dataset found, by row index (0-based).

    Each row is kept as two numbers, a hash of its text (or conversation) and the id of its label set,
    in compact arrays; the checks are then a few numpy operations. A million rows take some 16 MB, where
    Python sets of tuples took hundreds.
    """

    rows: int = 0
    keys: array = field(default_factory=lambda: array("q"))  # hash of the text (classify) or conversation (chat)
    label_ids: array = field(default_factory=lambda: array("q"))  # index into label_sets
    label_sets: list[tuple[str, ...]] = field(default_factory=list)  # each distinct sorted label set once
    empty: list[int] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)
    bad_sentence: str = ""
    items: list[Any] = field(default_factory=list)  # texts or turns, kept only for the length check
    placeholders: dict[str, list[int]] = field(default_factory=dict)  # chat: {{name}} -> rows using it
    very_long: list[int] = field(default_factory=list)  # rows of more than LONG_WORDS words
    longest: int = 0  # words in the longest row
    text_column: str = ""
    label_column: str = ""
    layout: str = ""
    chat_columns: ChatColumns = field(default_factory=ChatColumns)
    multi_label: bool = False
    nothing: Any = None  # () -> what an empty row lacks, from the task's RowReader
    lengths: Any = None  # the task's token counter, from its RowReader

    def add(self, key: int, labels: tuple[str, ...], ids: dict[tuple[str, ...], int]) -> None:
        if labels not in ids:
            ids[labels] = len(self.label_sets)
            self.label_sets.append(labels)
        self.keys.append(key)
        self.label_ids.append(ids[labels])

    @property
    def skip(self) -> set[int]:
        """Rows no check counts: empty ones, and ones that cannot be read."""
        return set(self.empty) | set(self.bad)

    def usable(self) -> np.ndarray:
        """Indices of the rows the checks count, ascending."""
        mask = np.ones(self.rows, dtype=bool)
        mask[self.empty + self.bad] = False
        return np.flatnonzero(mask)

    def key_array(self) -> np.ndarray:
        return np.frombuffer(self.keys, dtype=np.int64) if self.rows else np.zeros(0, dtype=np.int64)

    def _pairs(self, rows: np.ndarray) -> np.ndarray:
        # text and label set as one number (int64 arithmetic wraps, which is fine for a hash)
        labels = np.frombuffer(self.label_ids, dtype=np.int64)[rows] if self.rows else np.zeros(0, dtype=np.int64)
        return self.key_array()[rows] * np.int64(1_000_003) + labels

    def duplicates(self) -> list[int]:
        """Rows that repeat an earlier row's text and labels."""
        rows = self.usable()
        _, first = np.unique(self._pairs(rows), return_index=True)
        repeated = np.ones(len(rows), dtype=bool)
        repeated[first] = False
        return rows[repeated].tolist()

    def conflicts(self) -> list[int]:
        """Rows whose text also appears with another label (every such row: which one is right is the
        user's call, not ours)."""
        rows = self.usable()
        _, first = np.unique(self._pairs(rows), return_index=True)
        texts, counts = np.unique(self.key_array()[rows[first]], return_counts=True)
        torn = texts[counts > 1]
        return rows[np.isin(self.key_array()[rows], torn)].tolist()

    def class_counts(self) -> Counter:
        rows = self.usable()
        per_set = np.bincount(np.frombuffer(self.label_ids, dtype=np.int64)[rows], minlength=len(self.label_sets)) if self.rows else []
        counts: Counter = Counter()
        for label_set, count in zip(self.label_sets, per_set):
            for label in label_set:
                counts[label] += int(count)
        return counts

    def rows_with(self, labels: set[str]) -> list[int]:
        """Usable rows that have any of ``labels``."""
        wanted = [index for index, label_set in enumerate(self.label_sets) if labels & set(label_set)]
        rows = self.usable()
        return rows[np.isin(np.frombuffer(self.label_ids, dtype=np.int64)[rows], wanted)].tolist()

    def rows_also_in(self, other: _Scan) -> list[int]:
        """Usable rows whose text (or conversation) is among ``other``'s usable rows."""
        rows = self.usable()
        return rows[np.isin(self.key_array()[rows], other.key_array()[other.usable()])].tolist()


@dataclass
class RowReader:
    """What a task tells the doctor about its rows: how to read one, and how to count their tokens."""

    #: (record, index) -> (a key equal for equal examples, its labels, the example, whether it is empty)
    read: Any
    #: (examples, row indexes, tokenizer, max_length) -> ({index: tokens}, indexes with nothing left to learn)
    lengths: Any
    #: () -> what an empty row lacks, for the sentence: "no answer to learn"
    nothing: Any


def normal(text: str) -> str:
    """Texts that differ only in spacing are the same example."""
    return " ".join(text.split())


def _scan(path: Path, task: str, options: ReadOptions, text_column: str, label_column: str, keep_items: bool,
          chat_columns: ChatColumns | None = None) -> _Scan:
    scan = _Scan()
    name = path.name
    _, head = head_records(path, options, 200)
    if not head:
        raise DataError("file.empty", file=name)
    reader = task_named(task).doctor(scan, head, name, text_column, label_column, chat_columns)
    scan.nothing = reader.nothing
    scan.lengths = reader.lengths
    ids: dict[tuple[str, ...], int] = {}
    for index, record in enumerate(iter_records(path, options)):
        scan.rows += 1
        try:
            key, labels, item, empty = reader.read(record, index)
        except DataError as error:
            scan.bad.append(index)
            scan.bad_sentence = scan.bad_sentence or str(error)
            key, labels, item, empty = 0, [], None, False
        scan.add(key, tuple(sorted(labels)) if len(labels) > 1 else tuple(labels), ids)
        words = _word_count(item)
        scan.longest = max(scan.longest, words)
        if words > LONG_WORDS:
            scan.very_long.append(index)
        if empty:
            scan.empty.append(index)
        if keep_items:
            scan.items.append(item)
    return scan


def _word_count(item: Any) -> int:
    if isinstance(item, str):
        return len(item.split())
    return sum(len(turn.content.split()) for turn in item or [])


# ---------------------------------------------------------------- the examination


def examine(
    path: str | Path, task: str, *, options: ReadOptions | None = None, text_column: str = "", label_column: str = "",
    eval_path: str | Path = "", tokenizer: Any = None, max_length: int | None = None, model: str = "",
    chat_columns: ChatColumns | None = None,
) -> Report:
    """Check a dataset for the task named ``task`` (see engine/tasks); raises DataError only when the file cannot be
    read at all. ``tokenizer`` (with ``max_length``, the limit the run would use) enables the length check."""
    path = Path(path)
    if task_named(task).reads_documents:  # tagged text: the task checks whole documents itself
        return task_named(task).doctor(path, eval_path, tokenizer, max_length, model)
    options = resolve_options(path, options, thorough=True)
    scan = _scan(path, task, options, text_column, label_column, keep_items=tokenizer is not None,
                 chat_columns=chat_columns)
    skip = scan.skip
    usable = scan.rows - len(skip)
    report = Report(str(path), task, options.to_dict(), scan.rows, usable, scan.text_column, scan.label_column,
                    scan.layout, scan.chat_columns.to_dict(), eval_file=str(eval_path or ""), model=model, max_length=max_length)
    findings = report.findings
    what = task_named(task).words.examples

    if options.encoding == MIXED_ENCODING:
        findings.append(_finding("doctor.mixed_encoding", lines_in_windows_1252(path), []))
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("empty, repeated and conflicting rows", lambda: _row_findings(scan, task, what)),
        ("categories", lambda: _class_findings(scan, report) if scan.label_column else []),
        ("placeholders", lambda: _placeholder_findings(scan)),
        ("amount of data", lambda: _amount_findings(scan, task, usable, what)),
    ]
    if tokenizer is not None and max_length:
        checks.append(("lengths", lambda: _length_findings(scan, tokenizer, max_length, skip)))
    elif scan.very_long:
        checks.append(("lengths", lambda: [_finding("doctor.very_long", len(scan.very_long), scan.very_long,
                                                    words=LONG_WORDS, longest=scan.longest)]))
    if eval_path:
        checks.append(("evaluation data", lambda: _overlap_findings(scan, task, Path(eval_path))))
    for check, run in checks:
        findings += _guarded(check, run)
    if not any(finding.severity in ("advice", "warning", "error") for finding in findings):
        findings.append(_finding("doctor.all_good", usable, [], what=what))
    order = {"error": 0, "warning": 1, "advice": 2, "info": 3}
    findings.sort(key=lambda finding: order.get(finding.severity, 4))
    return report


def _guarded(check: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """The check's findings; a check that fails is itself a finding (with the detail for a bug report), so
    one broken check never hides the others' findings or leaves the person without a report."""
    try:
        return run()
    except DataError as error:
        return [_finding("doctor.check_failed", 0, [], check=check, detail=str(error))]
    except Exception as error:  # noqa: BLE001 - any bug in a check must become a finding, never a crash
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return [_finding("doctor.check_failed", 0, [], check=check, detail=detail)]


def _row_findings(scan: _Scan, task: str, what: str) -> list[Finding]:
    findings = []
    if scan.bad:
        findings.append(_finding("doctor.bad_rows", len(scan.bad), scan.bad, first=scan.bad_sentence))
    if scan.empty:
        findings.append(_finding("doctor.empty_rows", len(scan.empty), scan.empty, fix="drop_empty", rows=scan.rows, nothing=scan.nothing()))
    duplicates = scan.duplicates()
    if duplicates:
        findings.append(_finding("doctor.duplicates", len(duplicates), duplicates, fix="drop_duplicates", what=what))
    if scan.label_column:  # labelled examples: the same text labelled twice, and the categories' sizes
        conflicts = scan.conflicts()
        if conflicts:
            texts = len(np.unique(scan.key_array()[conflicts]))
            findings.append(_finding("doctor.conflicts", len(conflicts), conflicts, fix="drop_conflicts", texts=texts))
    return findings


def _amount_findings(scan: _Scan, task: str, usable: int, what: str) -> list[Finding]:
    if usable == 0 and scan.label_column and scan.rows:
        return [_finding("doctor.nothing_usable", scan.rows, [], text=shown(scan.text_column), label=shown(scan.label_column))]
    needed = task_named(task).min_examples
    if usable < needed:
        return [_finding("doctor.too_little", usable, [], needed=needed, what=what)]
    return []


def _placeholder_findings(scan: _Scan) -> list[Finding]:
    if not scan.placeholders:
        return []
    rows = sorted({index for found in scan.placeholders.values() for index in found})
    names = ", ".join("{{" + name + "}}" for name in scan.placeholders)
    return [_finding("doctor.placeholders", len(rows), rows, names=names)]


def _class_findings(scan: _Scan, report: Report) -> list[Finding]:
    # a label seen only on rows that are left out (an empty text) has no example at all: not a category
    counts = +scan.class_counts()
    report.classes = dict(counts.most_common())
    if not counts:
        return []
    (largest, most), (smallest, fewest) = counts.most_common()[0], counts.most_common()[-1]
    findings = [_finding("doctor.classes", len(counts), [], largest=shown(largest), largest_count=most,
                         smallest=shown(smallest), smallest_count=fewest)]
    if len(counts) < 2 and not scan.multi_label:
        return findings + [_finding("doctor.one_class", len(counts), [], name=shown(largest), column=shown(scan.label_column))]
    rows = sum(counts.values())
    if len(counts) > NOT_CATEGORIES_COUNT and rows < NOT_CATEGORIES_ROWS * len(counts):
        findings.append(_finding("doctor.not_categories", len(counts), [], rows=rows, column=shown(scan.label_column),
                                 per=f"{rows / len(counts):.1f}"))
        return findings  # every category is rare here: one finding says it
    lonely = sorted(name for name, count in counts.items() if count < MIN_TO_EVALUATE)
    rare = sorted(name for name, count in counts.items() if count < MIN_TO_LEARN)
    fix = _rare_fix(scan, rare) if rare else ""
    if rare and len(rare) < len(counts):
        rows = scan.rows_with(set(rare))
        findings.append(_finding("doctor.rare_classes", len(rare), rows, fix=fix, fix_values={"other": OTHER},
                                 minimum=MIN_TO_LEARN, names=_names(rare)))
    if lonely and len(lonely) < len(counts):
        rows = scan.rows_with(set(lonely))
        findings.append(_finding("doctor.unevaluable_classes", len(lonely), rows, fix="drop_lonely", names=_names(lonely)))
    if len(counts) > 1 and most >= IMBALANCE_RATIO * fewest:
        findings.append(_finding("doctor.imbalance", len(counts), [], largest=shown(largest), smallest=shown(smallest),
                                 ratio=round(most / fewest)))
    return findings


def _rare_fix(scan: _Scan, rare: list[str]) -> str:
    """Merging the rare categories helps only when the merged one has enough examples to learn; otherwise
    their rows are left out. Either way no category is too rare afterwards, so the finding (and its
    button) is gone from the copy, and a second click has nothing left to do."""
    merged = len(scan.rows_with(set(rare) | {OTHER}))
    return "merge_rare" if merged >= MIN_TO_LEARN else "drop_rare"


def _names(names: list[str], most: int = 5) -> str:
    quoted = ", ".join(f"'{shown(name)}'" for name in names[:most])
    return quoted + (f" and {len(names) - most} more" if len(names) > most else "")


def _length_findings(scan: _Scan, tokenizer: Any, max_length: int, skip: set[int]) -> list[Finding]:
    limit = _model_limit(tokenizer)
    lengths, lost = scan.lengths(scan.items, [index for index in range(scan.rows) if index not in skip], tokenizer, max_length)
    long = [index for index, length in lengths.items() if length > max_length]
    findings = []
    if long:
        cut = sum(lengths[index] - max_length for index in long)
        needed = max(lengths[index] for index in long)
        suggestion = min(limit, math.ceil(needed / 64) * 64) if limit else math.ceil(needed / 64) * 64
        if suggestion > max_length:
            findings.append(_finding("doctor.too_long", len(long), long, fix="raise_max_length",
                                     fix_values={"value": suggestion}, rows=len(lengths), max_length=max_length, tokens=cut))
        else:
            findings.append(_finding("doctor.too_long_for_model", len(long), long, rows=len(lengths), max_length=max_length, tokens=cut))
    if lost:
        findings.append(_finding("doctor.no_answer_left", len(lost), lost, max_length=max_length))
    return findings


def _model_limit(tokenizer: Any) -> int | None:
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and limit < 10**6 else None


def _overlap_findings(scan: _Scan, task: str, eval_path: Path) -> list[Finding]:
    evaluation = _scan(eval_path, task, resolve_options(eval_path, thorough=True), scan.text_column, scan.label_column, False,
                       scan.chat_columns if scan.layout == "table" else None)
    shared = evaluation.rows_also_in(scan)
    if not shared:
        return []
    what = task_named(task).words.texts
    return [_finding("doctor.overlap", len(shared), shared, fix="drop_overlap", eval_rows=len(evaluation.usable()), what=what)]


# ---------------------------------------------------------------- fixes: cleaned copies


@dataclass
class Cleaned:
    path: Path  # the cleaned copy
    rows: int
    removed: int
    changed: int  # rows whose label was changed (merge_rare)


def apply_fix(report: Report, fix: str, folder: Path) -> Cleaned:
    """Write the data the report describes, with ``fix`` applied, as JSON Lines into ``folder``.

    The rows are written as read (every column kept), so nothing but what the fix removes is lost; chat
    data from a table's columns is written as OpenAI messages, so the columns chosen travel with the copy.
    For "drop_overlap" the copy is of the evaluation file.
    """
    if fix not in DATA_FIXES:
        raise ValueError(f"{fix!r} is not a fix that writes data; use one of {', '.join(DATA_FIXES)}")
    options = ReadOptions.from_dict(report.options)
    source = Path(report.eval_file if fix == "drop_overlap" else report.file)
    drop: set[int] = set()
    rename: set[str] = set()
    columns = ChatColumns.from_dict(report.chat_columns) if report.layout == "table" and fix != "drop_overlap" else None
    into: str | None = OTHER
    if fix != "as_read":
        scan = _scan(Path(report.file), report.task, options, report.text_column, report.label_column, False, columns)
    if fix == "drop_empty":
        drop = set(scan.empty)
    elif fix == "drop_duplicates":
        drop = set(scan.duplicates())
    elif fix == "drop_conflicts":
        drop = set(scan.conflicts())
    elif fix in ("merge_rare", "drop_rare"):
        rename = {name for name, count in scan.class_counts().items() if count < MIN_TO_LEARN}
        into = OTHER if fix == "merge_rare" else None
    elif fix == "drop_lonely":
        drop = set(scan.rows_with({name for name, count in scan.class_counts().items() if 0 < count < MIN_TO_EVALUATE}))
    elif fix == "drop_overlap":
        evaluation = _scan(source, report.task, resolve_options(source), report.text_column, report.label_column, False)
        drop = set(evaluation.rows_also_in(scan))
        options = resolve_options(source)

    # The copies hold the user's data: theirs alone, also when the folder was made earlier with looser modes.
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    os.chmod(folder, PRIVATE_FOLDER)
    # A folder per (source, fix), named by a short hash, holds a copy with the user's own file name: two
    # files called data.csv get two copies, and a run on a copy of a copy is still "... on data".
    tag = hashlib.sha1(f"{source.resolve()}\n{fix}".encode()).hexdigest()[:8]
    target = folder / tag / f"{_original_stem(source, folder)}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    partial = target.with_name(target.name + ".partial")
    kept = changed = 0
    read = [0]  # rows read from the source, counted as they stream past

    def kept_rows():
        for index, record in enumerate(iter_records(source, options)):
            read[0] += 1
            if index not in drop:
                yield record

    records = kept_rows()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)  # a partial copy left by an earlier crash keeps its old mode otherwise
    with open(descriptor, "w", encoding="utf-8") as out:
        if columns is not None:
            records = list(records)
            for _, turns in table_conversations(records, "table", columns, source.name):
                messages = [{"role": turn.role, "content": turn.content} for turn in turns]
                if messages:
                    out.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
            kept, records = len(records), []
        for record in records:  # (empty when the table was written above)
            if rename:
                record, did = _merge_labels(record, report.label_column, rename, into)
                if record is None:
                    continue
                changed += did
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            kept += 1
    partial.replace(target)  # never a half-written copy under the real name
    return Cleaned(target, kept, read[0] - kept, changed)


def _original_stem(source: Path, folder: Path) -> str:
    """The name of the user's file a copy was made from: a copy lives at folder/<hash>/<stem>.jsonl."""
    if source.resolve().parent.parent == folder.resolve():
        return source.stem
    return _stem(source)


def _stem(path: Path) -> str:
    stem = path.stem if path.is_file() else path.name
    if path.name == "dataset_info.json":
        stem = path.parent.name or "dataset"
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in stem)[:80] or "data"


def _merge_labels(record: dict[str, Any], column: str, rare: set[str], into: str | None) -> tuple[dict[str, Any] | None, int]:
    """The record with its rare labels renamed ``into``, or taken away when ``into`` is None (a row left
    with no label at all is returned as None: it is left out)."""
    value = record.get(column)
    if isinstance(value, list):
        merged = list(dict.fromkeys(into if str(label).strip() in rare else label for label in value))
        merged = [label for label in merged if label is not None]
        if not merged and value:
            return None, 0
        return {**record, column: merged}, int(merged != value)
    if value is not None and row_labels(value, "", 0, column) and row_labels(value, "", 0, column)[0] in rare:
        return (None, 0) if into is None else ({**record, column: into}, 1)
    return record, 0

"""`tunewright-engine doctor`: check a dataset (and apply a fix) as an engine process, recording the outcome in
the database, which is how the window learns of it.

The report is stored in the `datasets` row of the checked file (`metadata["report"]`), with a `status`
("checking", "checked" or "failed", then `error` is the sentence), so the window can show progress, the
findings, and a failure without reading any output. A fix writes a cleaned copy under
`TUNEWRIGHT_HOME/datasets/`, records it as a dataset of its own (with `source` and `fix`), and checks it
again, so the window can show the new state at once.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from engine import store
from engine.config import ConfigError, config_type, help_for
from engine.data.conversations import ChatColumns
from engine.data.doctor import DATA_FIXES, OTHER, Report, apply_fix, examine
from engine.data.errors import DataError
from engine.data.formats import ReadOptions, check_ordinary
from engine.protocol import message
from engine.quoting import shown
from engine.tasks import task as task_named


def dataset_row(db: Database, path: Path | str) -> dict[str, Any] | None:
    rows = list(db["datasets"].rows_where("path = ?", [str(path)]))
    return rows[0] if rows else None


def _record(db: Database, path: Path | str, **metadata: Any) -> int:
    """Merge `metadata` into the dataset's stored metadata (the other keys are kept)."""
    import json

    row = dataset_row(db, path)
    merged = json.loads(row["metadata"] or "{}") if row else {}
    merged.update(metadata)
    fields: dict[str, Any] = {"name": Path(path).name, "metadata": merged}
    report = metadata.get("report")
    if report:
        fields.update(format=report["options"].get("format"), task=report["task"], rows=report["rows"])
    return store.remember_dataset(db, path, **fields)


def record_failure(db: Database, path: Path, sentence: str) -> None:
    """Store that the check of ``path`` failed, with the sentence to show (e.g. its process died)."""
    _record(db, path, status="failed", error=sentence, finished_at=time.time())


def run_checkup(
    db: Database, home: Path, path: Path, task: str, *, options: ReadOptions | None = None, text_column: str = "",
    label_column: str = "", eval_path: Path | None = None, model: str = "", max_length: int | None = None, fix: str = "",
    chat_columns: ChatColumns | None = None,
) -> dict[str, Any]:
    """Check (and with `fix`, clean) a dataset; returns what was stored. Never raises for bad data: the
    sentence is stored and returned under "error"."""
    path = Path(path).expanduser().resolve()
    outcome: dict[str, Any] = {"path": str(path)}
    try:  # nothing to remember about a file that is not there, or a pipe or device that never ends
        check_ordinary(path)
    except DataError as error:
        outcome["error"] = str(error)
        return outcome
    _record(db, path, status="checking", started_at=time.time(), error="")
    try:
        task_named(task)  # a sentence naming the tasks there are, for one that is not
        if fix == "raise_max_length":
            return _raise_length(db, path, outcome)
        if fix:
            if fix not in DATA_FIXES:
                raise ConfigError(f"'{shown(fix)}' is not a fix the doctor knows; use one of {', '.join(DATA_FIXES)}, raise_max_length.")
            stored = dataset_row(db, path)
            previous = Report.from_dict(store_metadata(stored)["report"]) if stored and store_metadata(stored).get("report") else None
            if previous and chat_columns and previous.chat_columns != chat_columns.to_dict():
                previous = None  # checked with other columns than those chosen now
            before = previous or examine(path, task, options=options, text_column=text_column, label_column=label_column,
                                         eval_path=eval_path or "", chat_columns=chat_columns)
            cleaned = apply_fix(before, fix, home / "datasets")
            code = {"merge_rare": "doctor.relabelled", "as_read": "doctor.copied"}.get(fix, "doctor.fixed")
            sentence = message(code, rows=cleaned.rows, removed=cleaned.removed, changed=cleaned.changed,
                               path=cleaned.path, other=OTHER)[1]
            _record(db, path, status="checked")
            outcome["cleaned"] = {"path": str(cleaned.path), "rows": cleaned.rows, "removed": cleaned.removed,
                                  "changed": cleaned.changed, "message": sentence}
            if fix == "drop_overlap":
                eval_path = cleaned.path
            else:
                path, options, chat_columns = cleaned.path, ReadOptions(format="jsonl"), None
                text_column, label_column = before.text_column, before.label_column
                eval_path = Path(before.eval_file) if before.eval_file else None
            model, max_length = model or before.model, max_length or before.max_length
            _record(db, path, status="checking", started_at=time.time(), source=before.file, fix=fix, fixed=sentence)
        tokenizer = _tokenizer(model) if model else None
        if tokenizer is not None and not max_length:
            max_length = int(help_for(config_type(task))["max_length"]["default"])
        report = examine(path, task, options=options, text_column=text_column, label_column=label_column,
                         eval_path=eval_path or "", tokenizer=tokenizer, max_length=max_length if tokenizer else None,
                         model=model, chat_columns=chat_columns)
        outcome["dataset_id"] = _record(db, path, status="checked", report=report.to_dict(), finished_at=time.time())
        outcome["report"] = report.to_dict()
        outcome["path"] = str(path)
    except (DataError, ConfigError) as error:
        _record(db, path, status="failed", error=str(error), finished_at=time.time())
        outcome["error"] = str(error)
    except Exception as error:  # noqa: BLE001 - a bug here must reach the person as a sentence, never stop the window
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        sentence = message("doctor.crashed", detail=detail)[1]
        _record(db, path, status="failed", error=sentence, detail=traceback.format_exc(), finished_at=time.time())
        outcome["error"] = sentence
    return outcome


def store_metadata(row: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(row.get("metadata") or "{}")


def _raise_length(db: Database, path: Path, outcome: dict[str, Any]) -> dict[str, Any]:
    row = dataset_row(db, path)
    report = store_metadata(row).get("report") if row else None
    finding = next((f for f in (report or {}).get("findings", []) if f.get("fix") == "raise_max_length"), None)
    if finding is None:
        raise ConfigError("There is no length finding to act on; check the data with a model first.")
    value = int(finding["values"]["value"])
    settings = {**store_metadata(row).get("settings", {}), "max_length": value}
    sentence = message("doctor.setting", value=value)[1]
    outcome["dataset_id"] = _record(db, path, status="checked", settings=settings, fixed=sentence)
    outcome["settings"] = settings
    outcome["message"] = sentence
    return outcome


def _tokenizer(model: str) -> Any:
    """The model's tokenizer alone (no weights); a GGUF's is read from the GGUF file itself."""
    from engine.models.catalog import resolve

    from engine.models.tokenizers import load_tokenizer

    return load_tokenizer(resolve(model))

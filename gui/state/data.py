"""The Data page's view of a dataset, knowing nothing of Qt: how the file is read (guessed, or as the user
chose), its first rows, and what the data doctor found, read from the database.

The preview is read here, in the window's process: it reads only the head of the file, and the modules it
uses are torch-free. Checking the data (which may load a tokenizer) and applying a fix (which reads the
whole file) run as engine processes, `python -m engine doctor ...`; they write their outcome into the
`datasets` table, where the page finds it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from engine.data.conversations import ChatColumns
from engine.data.doctor import Report
from engine.data.errors import DataError
from engine.data.formats import ReadOptions, count_records
from engine.data.preview import Description, describe_file
from engine.jobs import engine_env, engine_process
from engine.protocol import message
from gui.engine_client import EngineClient

__all__ = ["ChatColumns", "DataError", "DataSession", "Description", "ReadOptions", "Report", "count_records"]

ROOT = Path(__file__).resolve().parents[2]


class DataSession:
    """One file on the Data page and the doctor processes started for it."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.process: subprocess.Popen | None = None

    def describe(self, path: str | Path, options: ReadOptions, *, task: str = "", text_column: str = "",
                 label_column: str = "", chat_columns: ChatColumns | None = None) -> Description:
        """How the file reads and its first rows; raises DataError with the sentence to show."""
        return describe_file(path, options, task=task, text_column=text_column, label_column=label_column,
                             chat_columns=chat_columns)

    def start_check(self, path: str | Path, task: str, options: ReadOptions, *, text_column: str = "",
                    label_column: str = "", model: str = "", eval_path: str = "", fix: str = "",
                    chat_columns: ChatColumns | None = None) -> subprocess.Popen:
        arguments = [str(path), "--task", task]
        chat = chat_columns.to_dict() if chat_columns else {}
        for flag, value in (("--format", options.format), ("--delimiter", options.delimiter),
                            ("--dataset", options.dataset), ("--text-column", text_column),
                            ("--label-column", label_column), ("--model", model), ("--eval", eval_path),
                            ("--fix", fix), ("--question-column", chat.get("question")),
                            ("--answer-column", chat.get("answer")), ("--context-column", chat.get("system")),
                            ("--conversation-column", chat.get("conversation"))):
            if value:
                arguments += [flag, value]
        if options.header is not None:
            arguments += ["--header", "yes" if options.header else "no"]
        env = engine_env(self.client.home)
        logs = self.client.home / "datasets"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / "doctor.log", "ab") as log:
            self.process = subprocess.Popen(
                engine_process("doctor", *arguments), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=str(ROOT),
            )
        return self.process

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def forget_unfinished(self, path: str | Path, exit_code: int | None) -> None:
        """Mark a check whose process ended without a word as failed, with the sentence the page shows."""
        from engine.checkup import record_failure

        record_failure(self.client.db, Path(path).expanduser().resolve(), message(
            "doctor.crashed", detail=f"the checking process ended with code {exit_code}; see datasets/doctor.log")[1])

    def stored(self, path: str | Path) -> dict[str, Any] | None:
        """The dataset's row, its metadata decoded, or None if it was never checked."""
        rows = list(self.client.db["datasets"].rows_where("path = ?", [str(Path(path).expanduser().resolve())]))
        if not rows:
            return None
        row = rows[0]
        row["metadata"] = json.loads(row["metadata"] or "{}")
        return row

    def report(self, path: str | Path) -> Report | None:
        row = self.stored(path)
        report = row["metadata"].get("report") if row else None
        return Report.from_dict(report) if report else None

    def latest(self) -> dict[str, Any] | None:
        """The dataset checked last (to show when the page opens)."""
        rows = list(self.client.db["datasets"].rows_where(order_by="id desc", limit=1))
        if not rows:
            return None
        rows[0]["metadata"] = json.loads(rows[0]["metadata"] or "{}")
        return rows[0]

    def cleaned_copies(self, source: str | Path) -> list[dict[str, Any]]:
        """The cleaned copies made from a file, newest first."""
        copies = []
        for row in self.client.db["datasets"].rows_where(order_by="id desc"):
            metadata = json.loads(row["metadata"] or "{}")
            if metadata.get("source") == str(source):
                copies.append({**row, "metadata": metadata})
        return copies

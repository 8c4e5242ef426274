"""The Playground's rows: a model process per run, and the questions asked of it. No torch here: the window
uses this module too.

The window starts `python -m engine playground RUN` (engine/playground_serve.py), which loads the run's model
once and then serves the `playground` rows of that run in order: it writes a chat answer into its row every
few tokens as it is generated, and a classifier's probabilities when they are computed. The database is the
only channel: the window writes a request (and, to stop an answer, its `stop` flag), the process writes back,
and the window's poll (PRAGMA data_version) notices. The process exits after some idle minutes, or when the
window asks (`stop_server`); a process that died is found by `check_server` and can simply be started again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
from sqlite_utils import Database

from engine import jobs, store
from engine.config import ConfigError
from engine.protocol import makes_model, Status, message

IDLE_MINUTES = 10.0  # a model process nobody asked anything for this long exits, to give its memory back
LIVE_SERVER = ("loading", "ready")
OPEN_REQUEST = ("queued", "generating")
DEFAULT_SETTINGS = {"temperature": 0.7, "max_new_tokens": 200}


# ---------------------------------------------------------------- the model process, from the window's side


def server_command(run_id: int, idle_minutes: float = IDLE_MINUTES) -> list[str]:
    return jobs.engine_process("playground", str(run_id), "--idle-minutes", f"{idle_minutes:g}")


def check_server(db: Database, run_id: int, *, reconcile: bool = True) -> dict[str, Any] | None:
    """The run's model process row (None: never started). A live-looking row whose process is gone is
    marked failed with a sentence saying so, and its unanswered questions with it."""
    row = next(iter(db["playground_servers"].rows_where("run_id = ?", [run_id])), None)
    if row and reconcile and row["status"] in LIVE_SERVER and not jobs._alive(row["pid"], row["pid_started"]):
        row = _set_server(db, run_id, status="failed", pid=None, error=message("playground.crashed")[1])
        _fail_open_requests(db, run_id, message("playground.crashed")[1])
    return row


def start_server(db: Database, run_id: int, *, home: Path, idle_minutes: float = IDLE_MINUTES) -> dict[str, Any]:
    """Start the model process of a finished run (if it is not running already); returns its row."""
    run = store.get_run(db, run_id)
    if not makes_model(run["kind"]):
        raise ConfigError(message("playground.not_a_model", run=run["name"])[1])
    if run["status"] != Status.COMPLETED:
        raise ConfigError(message("playground.not_finished", run=run["name"], status=run["status"])[1])
    row = check_server(db, run_id)
    if row and row["status"] in LIVE_SERVER:
        return row
    folder = store.private_folder(Path(run["run_dir"]) if run["run_dir"] else jobs.run_dir(home, run_id))
    with open(folder / "playground.log", "ab") as log:
        process = subprocess.Popen(
            server_command(run_id, idle_minutes), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=jobs.engine_env(home), **jobs.detached(),
        )
    started = psutil.Process(process.pid).create_time()
    return _set_server(db, run_id, status="loading", pid=process.pid, pid_started=started, request=None,
                       error=None, error_detail=None, started_at=time.time())


def stop_server(db: Database, run_id: int) -> None:
    """Ask the run's model process to exit (it finishes the token it is on); a signal makes it look now."""
    row = check_server(db, run_id)
    if not row or row["status"] not in LIVE_SERVER:
        return
    _set_server(db, run_id, request="stop")
    if jobs._alive(row["pid"], row["pid_started"]):
        try:
            os.kill(row["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- questions, from the window's side


def ask_chat(
    db: Database, run_id: int, conversation: list[dict[str, str]], *, model: str = "tuned",
    temperature: float = DEFAULT_SETTINGS["temperature"], max_new_tokens: int = DEFAULT_SETTINGS["max_new_tokens"],
) -> int:
    """Queue a chat question: the conversation so far, ending on the user's message. Returns its id."""
    if not conversation or conversation[-1]["role"] != "user" or not conversation[-1]["content"].strip():
        raise ConfigError(message("playground.empty")[1])
    if not 0.0 <= temperature <= 2.0:
        raise ConfigError(message("playground.bad_temperature", value=temperature)[1])
    if not 1 <= max_new_tokens <= 4096:
        raise ConfigError(message("playground.bad_length", value=max_new_tokens)[1])
    settings = {"temperature": float(temperature), "max_new_tokens": int(max_new_tokens)}
    return _insert_request(db, run_id, model=model, conversation=json.dumps(conversation), settings=json.dumps(settings))


def ask_classifier(db: Database, run_id: int, text: str) -> int:
    """Queue a text for the classifier; returns the request's id."""
    if not text.strip():
        raise ConfigError(message("playground.empty")[1])
    return _insert_request(db, run_id, model="tuned", text=text)


#: The most texts one request may carry (a file of texts is tagged in one go).
MAX_TEXTS = 10_000


def ask_texts(db: Database, run_id: int, texts: list[str]) -> int:
    """Queue texts for a model that reads each text whole (a tagger): one typed text, or a file's texts.
    Returns the request's id."""
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise ConfigError(message("playground.empty")[1])
    if len(texts) > MAX_TEXTS:
        raise ConfigError(message("playground.too_many_texts", count=len(texts), limit=MAX_TEXTS)[1])
    return _insert_request(db, run_id, model="tuned", text=texts[0], settings=json.dumps({"texts": texts}))


def ask_pictures(db: Database, run_id: int, paths: list[str], save: str = "") -> int:
    """Queue pictures (their files) for an image model; `save`: a CSV file for its predictions. Returns the
    request's id."""
    paths = [str(path) for path in paths if str(path).strip()]
    if not paths:
        raise ConfigError(message("playground.empty")[1])
    if len(paths) > MAX_TEXTS:
        raise ConfigError(message("playground.too_many_texts", count=len(paths), limit=MAX_TEXTS)[1])
    return _insert_request(db, run_id, model="tuned", text=paths[0], settings=json.dumps({"paths": paths, "save": save}))


def stop(db: Database, request_id: int) -> None:
    """Ask for an answer to stop where it is (the words so far are kept); a queued one is not started."""
    with db.conn:
        db.conn.execute("UPDATE playground SET stop = 1, updated_at = ? WHERE id = ?", [time.time(), request_id])
        db.conn.execute(
            "UPDATE playground SET status = 'stopped' WHERE id = ? AND status = 'queued'", [request_id]
        )


def get_request(db: Database, request_id: int) -> dict[str, Any]:
    row = db["playground"].get(request_id)
    for name in ("conversation", "settings", "result"):
        row[name] = json.loads(row[name]) if row[name] else None
    return row


def last_played(db: Database, run_ids: list[int]) -> int | None:
    """Of these runs, the one last asked something in the Playground (None when none was)."""
    if not run_ids:
        return None
    row = db.execute(
        f"SELECT run_id FROM playground WHERE run_id IN ({','.join('?' * len(run_ids))}) ORDER BY id DESC LIMIT 1", run_ids
    ).fetchone()
    return row[0] if row else None


def last_request(db: Database, run_id: int, model: str | None = None) -> int | None:
    """The id of the newest Playground request to a run (to its tuned or base model, when `model` is given)."""
    where, values = ("run_id = ?", [run_id]) if model is None else ("run_id = ? AND model = ?", [run_id, model])
    row = db.execute(f"SELECT id FROM playground WHERE {where} ORDER BY id DESC LIMIT 1", values).fetchone()
    return row[0] if row else None


def _insert_request(db: Database, run_id: int, **fields: Any) -> int:
    now = time.time()
    table = db["playground"]
    table.insert({"run_id": run_id, "status": "queued", "created_at": now, "updated_at": now, **fields})
    return int(table.last_pk)


# ---------------------------------------------------------------- the model process's own writes


def register_server(db: Database, run_id: int) -> None:
    me = psutil.Process()
    _set_server(db, run_id, status="loading", pid=me.pid, pid_started=me.create_time(), request=None,
                error=None, error_detail=None, started_at=time.time())


def mark_server(db: Database, run_id: int, status: str, **fields: Any) -> None:
    """The process's own word on itself. A process that ends leaves no question waiting: they fail with its
    sentence if it could not load, and are stopped (not started) if it was put away."""
    if status != "ready":
        fields["pid"] = None
    _set_server(db, run_id, status=status, **fields)
    if status == "failed":
        _fail_open_requests(db, run_id, fields.get("error") or "")
    elif status == "stopped":
        with db.conn:
            db.conn.execute(
                "UPDATE playground SET status = 'stopped', updated_at = ? WHERE run_id = ? AND status = 'queued'",
                [time.time(), run_id],
            )


def stop_asked(db: Database, run_id: int) -> bool:
    row = db.execute("SELECT request FROM playground_servers WHERE run_id = ?", [run_id]).fetchone()
    return bool(row and row[0] == "stop")


def next_request(db: Database, run_id: int) -> dict[str, Any] | None:
    """The oldest unanswered question of this run, taken (marked generating); None when there is none."""
    row = db.execute(
        "SELECT id FROM playground WHERE run_id = ? AND status = 'queued' ORDER BY id LIMIT 1", [run_id]
    ).fetchone()
    if row is None:
        return None
    with db.conn:
        taken = db.conn.execute(
            "UPDATE playground SET status = 'generating', updated_at = ? WHERE id = ? AND status = 'queued'",
            [time.time(), row[0]],
        )
    return get_request(db, row[0]) if taken.rowcount == 1 else None


def stop_wanted(db: Database, request_id: int) -> bool:
    row = db.execute("SELECT stop FROM playground WHERE id = ?", [request_id]).fetchone()
    return bool(row and row[0])


def write_progress(db: Database, request_id: int, **fields: Any) -> None:
    """The answer so far (and its counts); one small commit, so the window sees it at its next poll."""
    if isinstance(fields.get("result"), (dict, list)):
        fields["result"] = json.dumps(fields["result"])
    fields["updated_at"] = time.time()
    db["playground"].update(request_id, fields)


def _set_server(db: Database, run_id: int, **fields: Any) -> dict[str, Any]:
    fields["updated_at"] = time.time()
    table = db["playground_servers"]
    if next(iter(table.rows_where("run_id = ?", [run_id])), None) is None:
        table.insert({"run_id": run_id, **fields})
    else:
        table.update(run_id, fields)
    return table.get(run_id)


def _fail_open_requests(db: Database, run_id: int, sentence: str) -> None:
    with db.conn:
        db.conn.execute(
            "UPDATE playground SET status = 'failed', error = ?, updated_at = ? WHERE run_id = ? AND status IN (?, ?)",
            [sentence, time.time(), run_id, *OPEN_REQUEST],
        )

"""The database: the one source of truth shared by the engine and the window.

Every run, its metrics (one row per name per logged step), events, artifacts, and the datasets and models
the app knows are rows in one SQLite file in `TUNEWRIGHT_HOME`. Engine job processes write; the window and
the headless commands read. WAL mode lets readers and the one writer per run work at the same time.

Schema changes are recorded migrations (sqlite-utils' `Migrations`): append a new function, never edit an
applied one.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from engine.protocol import Level, Status, message

migrations = Migrations("tunewright")


@migrations()
def m001_initial(db: Database) -> None:
    db["runs"].create(
        {
            "id": int,
            "name": str,
            "kind": str,
            "config": str,  # JSON of the job's config dataclass
            "status": str,
            "progress": float,  # 0..1
            "step": int,
            "total_steps": int,
            "epoch": float,
            "eta_seconds": float,
            "pid": int,
            "pid_started": float,  # the process's start time, so a reused pid is not mistaken for ours
            "request": str,  # "pause" or "cancel" asked of the job, until it acts on it
            "checkpoint_step": int,
            "best_metric_name": str,
            "best_metric": float,
            "created_at": float,
            "started_at": float,
            "updated_at": float,
            "finished_at": float,
            "error": str,  # one sentence a person understands
            "error_detail": str,  # the traceback, for a bug report
            "parent_id": int,
            "run_dir": str,
        },
        pk="id",
        foreign_keys=[("parent_id", "runs", "id")],
        not_null={"kind", "config", "status", "created_at"},
        defaults={"progress": 0.0, "step": 0},
    )
    db["runs"].create_index(["status"])
    db["metrics"].create(
        {"run_id": int, "step": int, "name": str, "value": float, "time": float},
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "step", "name", "time"},
    )
    db["metrics"].create_index(["run_id", "name", "step"])
    db["events"].create(
        {
            "id": int,
            "run_id": int,
            "time": float,
            "level": str,
            "code": str,
            "message": str,
            "detail": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"time", "level", "code", "message"},
    )
    db["events"].create_index(["run_id", "id"])
    db["artifacts"].create(
        {"id": int, "run_id": int, "kind": str, "path": str, "metadata": str, "created_at": float},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"kind", "path", "created_at"},
    )
    db["artifacts"].create_index(["run_id"])
    db["datasets"].create(
        {
            "id": int,
            "name": str,
            "path": str,
            "format": str,
            "task": str,
            "rows": int,
            "metadata": str,
            "added_at": float,
        },
        pk="id",
        not_null={"path", "added_at"},
    )
    db["datasets"].create_index(["path"], unique=True)
    db["models"].create(
        {
            "id": int,
            "name": str,
            "source": str,  # bundled, local folder, hub cache, hub download, or a run
            "path": str,
            "architecture": str,
            "parameters": int,
            "metadata": str,
            "added_at": float,
        },
        pk="id",
        not_null={"path", "added_at"},
    )
    db["models"].create_index(["path"], unique=True)


def default_home() -> Path:
    """`TUNEWRIGHT_HOME`, or the platform's user data folder."""
    configured = os.environ.get("TUNEWRIGHT_HOME")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path

    return user_data_path("Tunewright", appauthor=False)


PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600  # the user's data and models are theirs alone


def private_folder(folder: Path) -> Path:
    """Create a run's folder, and `runs/` above it, readable by this user alone."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    for path in (folder.parent, folder):
        os.chmod(path, PRIVATE_FOLDER)
    return folder


def database_path(home: Path | None = None) -> Path:
    return (home or default_home()) / "tunewright.db"


def open_db(path: Path | str | None = None) -> Database:
    """Open (creating and migrating as needed) the database; `":memory:"` for tests."""
    if path == ":memory:":
        db = Database(memory=True)
    else:
        path = Path(path) if path else database_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        # Readable by this user alone (SQLite gives its -wal and -shm files the same mode); an older,
        # looser database is tightened too.
        if not path.exists():
            # Never open an existing database file outside SQLite: closing any descriptor on it drops this
            # process's POSIX locks, which another connection here holds ("disk I/O error").
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE))
        os.chmod(path, PRIVATE_FILE)
        db = Database(path)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across an application crash in WAL mode; only a power cut can lose the
        # last commits, which the checkpoint files on disk cover.
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    return db


def _now() -> float:
    return time.time()


# ---------------------------------------------------------------- another program holding the database


#: How long a write waits, retrying, for another program (a backup, a database viewer) to let go of the
#: database before giving up with `DatabaseBusy`. Job processes wait longer than the window.
PATIENCE_SECONDS = 30.0


class DatabaseBusy(Exception):
    """Another program held the database for longer than this process could wait; one plain sentence."""

    def __init__(self, waited: float) -> None:
        super().__init__(message("database.busy", seconds=round(waited))[1])


def is_busy(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


def patient(write):
    """Retry a write while the database is locked by another program (each try itself waits up to the
    busy timeout), with growing pauses in between, for up to `PATIENCE_SECONDS`."""

    @functools.wraps(write)
    def writing(*args, **kwargs):
        started, pause = time.monotonic(), 0.05
        while True:
            try:
                return write(*args, **kwargs)
            except sqlite3.OperationalError as error:
                waited = time.monotonic() - started
                if not is_busy(error):
                    raise
                if waited >= PATIENCE_SECONDS:
                    raise DatabaseBusy(waited) from error
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    return writing


# ---------------------------------------------------------------- paths inside the data folder


def home_of(db: Database) -> Path | None:
    """The data folder a database lives in (None in memory)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file).parent if file else None
    return None


def stored_path(db: Database, path: Path | str) -> str:
    """A path inside the data folder is stored relative to it, so the folder can be moved or restored
    elsewhere with its runs; one outside is stored as it is."""
    home = home_of(db)
    path = Path(path).absolute()
    if home is not None:
        for inside, folder in ((path, home.absolute()), (path.resolve(), home.resolve())):
            if inside.is_relative_to(folder):
                return inside.relative_to(folder).as_posix()
    return str(path)


def full_path(db: Database, stored: str | None) -> str | None:
    """The path a stored one names now, wherever the data folder is."""
    home = home_of(db)
    if not stored or home is None or Path(stored).is_absolute():
        return stored
    return str(home / stored)


# ---------------------------------------------------------------- runs


@patient
def create_run(
    db: Database,
    *,
    kind: str,
    config: dict[str, Any],
    name: str | None = None,
    parent_id: int | None = None,
    status: Status = Status.QUEUED,
) -> int:
    now = _now()
    table = db["runs"]
    table.insert(
        {
            "name": name or config.get("name") or kind,
            "kind": str(kind),
            "config": json.dumps(config, sort_keys=True),
            "status": str(status),
            "created_at": now,
            "updated_at": now,
            "parent_id": parent_id,
        }
    )
    return int(table.last_pk)


def get_run(db: Database, run_id: int) -> dict[str, Any]:
    """The run's row, with `config` decoded and `run_dir` a full path. Raises KeyError for an unknown run."""
    rows = list(db["runs"].rows_where("id = ?", [run_id]))
    if not rows:
        raise KeyError(run_id)
    return _run_row(home_of(db), rows[0])


def child_runs(db: Database, parent_id: int, kind: str) -> list[dict[str, Any]]:
    """The runs of one kind made from a run (its exports, its evaluations), newest first, settings decoded."""
    rows = list(db["runs"].rows_where("parent_id = ? AND kind = ?", [parent_id, kind], order_by="id desc"))
    for row in rows:
        row["config"] = json.loads(row["config"]) if isinstance(row["config"], str) else row["config"]
    return rows


def list_runs(db: Database, *, limit: int | None = None) -> list[dict[str, Any]]:
    home = home_of(db)
    return [_run_row(home, run) for run in db["runs"].rows_where(order_by="id desc", limit=limit)]


def _run_row(home: Path | None, run: dict[str, Any]) -> dict[str, Any]:
    run["config"] = json.loads(run["config"])
    if run["run_dir"] and home is not None and not Path(run["run_dir"]).is_absolute():
        run["run_dir"] = str(home / run["run_dir"])
    return run


@patient
def update_run(db: Database, run_id: int, **fields: Any) -> None:
    if "status" in fields:
        fields["status"] = str(fields["status"])
    if fields.get("run_dir"):
        fields["run_dir"] = stored_path(db, fields["run_dir"])
    fields["updated_at"] = _now()
    db["runs"].update(run_id, fields)


# ---------------------------------------------------------------- metrics, events, artifacts


def add_metrics(db: Database, run_id: int, step: int, values: dict[str, float]) -> None:
    """One row per metric for this step."""
    add_metric_steps(db, run_id, [(step, values)])


@patient
def add_metric_steps(db: Database, run_id: int, steps: list[tuple[int, dict[str, float]]]) -> None:
    """Rows for several steps in one transaction (one WAL commit, no fsync)."""
    at = _now()
    rows = [
        (run_id, step, name, float(value), at)
        for step, values in steps
        for name, value in values.items()
        if value is not None
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)", rows
        )


@patient
def drop_metrics_after(db: Database, run_id: int, step: int) -> int:
    """Forget metric rows logged after `step`: a resumed run recomputes them, so none is repeated."""
    with db.conn:
        cursor = db.conn.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", [run_id, step])
    return cursor.rowcount


def metric_series(db: Database, run_id: int, name: str) -> list[tuple[int, float]]:
    return [
        (step, value)
        for step, value in db.execute(
            "SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step", [run_id, name]
        ).fetchall()
    ]


def metric_names(db: Database, run_id: int) -> list[str]:
    return [
        row[0]
        for row in db.execute("SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name", [run_id])
    ]


def latest_metrics(db: Database, run_id: int) -> dict[str, float]:
    """The last logged value of every metric of a run."""
    return {
        name: value
        for name, value in db.execute(
            """SELECT name, value FROM metrics m
               WHERE run_id = ? AND step = (SELECT MAX(step) FROM metrics WHERE run_id = m.run_id AND name = m.name)""",
            [run_id],
        )
    }


@patient
def add_event(
    db: Database,
    run_id: int | None,
    code: str,
    *,
    detail: str | None = None,
    level: Level | None = None,
    **values: object,
) -> None:
    """Record an event declared in `engine.protocol.MESSAGES`, its sentence filled from `values`."""
    declared_level, text = message(code, **values)
    db["events"].insert(
        {
            "run_id": run_id,
            "time": _now(),
            "level": str(level or declared_level),
            "code": code,
            "message": text,
            "detail": detail,
        }
    )


def events(db: Database, run_id: int, *, after_id: int = 0) -> list[dict[str, Any]]:
    return list(db["events"].rows_where("run_id = ? AND id > ?", [run_id, after_id], order_by="id"))


@patient
def add_artifact(db: Database, run_id: int, kind: str, path: Path | str, **metadata: Any) -> None:
    db["artifacts"].insert(
        {
            "run_id": run_id,
            "kind": kind,
            "path": stored_path(db, path),
            "metadata": json.dumps(metadata, sort_keys=True),
            "created_at": _now(),
        }
    )


def artifacts(db: Database, run_id: int) -> list[dict[str, Any]]:
    rows = list(db["artifacts"].rows_where("run_id = ?", [run_id], order_by="id"))
    for row in rows:
        row["metadata"] = json.loads(row["metadata"] or "{}")
        row["path"] = full_path(db, row["path"])
    return rows


# ---------------------------------------------------------------- datasets and models known to the app


def remember_dataset(db: Database, path: Path | str, **fields: Any) -> int:
    return _remember(db, "datasets", path, fields)


def remember_model(db: Database, path: Path | str, **fields: Any) -> int:
    return _remember(db, "models", path, fields)


def _remember(db: Database, table_name: str, path: Path | str, fields: dict[str, Any]) -> int:
    """Insert or refresh the row for `path` (unique per table); returns its id."""
    if isinstance(fields.get("metadata"), dict):
        fields["metadata"] = json.dumps(fields["metadata"], sort_keys=True)
    table = db[table_name]
    existing = list(table.rows_where("path = ?", [str(path)]))
    if existing:
        table.update(existing[0]["id"], fields)
        return int(existing[0]["id"])
    table.insert({"path": str(path), "added_at": _now(), **fields})
    return int(table.last_pk)


# ---------------------------------------------------------------- model downloads (Models page)


@migrations()
def m002_model_downloads(db: Database) -> None:
    """One row per model download; its engine process writes the progress, the window draws it."""
    db["downloads"].create(
        {
            "id": int,
            "repo_id": str,
            "status": str,  # queued, downloading, paused, completed, failed
            "bytes_done": int,
            "bytes_total": int,
            "files_done": int,
            "files_total": int,
            "pid": int,
            "pid_started": float,
            "path": str,  # the downloaded snapshot folder, once complete
            "error": str,  # one sentence a person understands
            "created_at": float,
            "updated_at": float,
            "finished_at": float,
        },
        pk="id",
        not_null={"repo_id", "status", "created_at"},
        defaults={"bytes_done": 0, "files_done": 0},
    )
    db["downloads"].create_index(["repo_id"])


# ---------------------------------------------------------------- blind reviews (Results page, issue 7)


@migrations()
def m003_blind_reviews(db: Database) -> None:
    """One row per verdict of a blind review: a person compared the tuned and the starting model's answers
    to one prompt of an evaluation run (its evaluation.json), not knowing which was which."""
    db["reviews"].create(
        {
            "id": int,
            "run_id": int,  # the evaluation run whose side-by-side answers were judged
            "prompt_index": int,  # the row of its answers
            "tuned_side": str,  # "A" or "B": where the tuned model's answer was shown
            "verdict": str,  # "A", "B" or "tie"
            "time": float,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "prompt_index", "tuned_side", "verdict", "time"},
    )
    db["reviews"].create_index(["run_id", "prompt_index"], unique=True)


def add_review(db: Database, run_id: int, prompt_index: int, *, tuned_side: str, verdict: str) -> None:
    """Record (or replace) the verdict on one prompt of an evaluation run."""
    if tuned_side not in ("A", "B") or verdict not in ("A", "B", "tie"):
        raise ValueError(f"A verdict is 'A', 'B' or 'tie' and a side 'A' or 'B' (got {verdict!r}, {tuned_side!r}).")
    with db.conn:
        db.conn.execute(
            """INSERT INTO reviews (run_id, prompt_index, tuned_side, verdict, time) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (run_id, prompt_index) DO UPDATE SET tuned_side = excluded.tuned_side,
               verdict = excluded.verdict, time = excluded.time""",
            [run_id, prompt_index, tuned_side, verdict, _now()],
        )


def reviews(db: Database, run_id: int) -> list[dict[str, Any]]:
    return list(db["reviews"].rows_where("run_id = ?", [run_id], order_by="prompt_index"))


def record_review(
    db: Database, run_id: int, prompt_index: int, *, tuned_side: str, verdict: str, summary: dict[str, float], step: int
) -> None:
    """A blind-review verdict, and the win rate it leads to as the evaluation run's `review_*` metric rows
    (the latest replaces the earlier ones): the one way the window records a verdict."""
    add_review(db, run_id, prompt_index, tuned_side=tuned_side, verdict=verdict)
    with db.conn:
        db.conn.execute("DELETE FROM metrics WHERE run_id = ? AND name LIKE 'review_%'", [run_id])
    add_metrics(db, run_id, step, summary)
# ---------------------------------------------------------------- the playground (engine/playground.py)


@migrations()
def m004_playground(db: Database) -> None:
    """The Playground's model processes (one per run) and what was asked of them: the window writes a
    request row, the process writes the answer into it as it is generated."""
    db["playground_servers"].create(
        {
            "run_id": int,
            "status": str,  # loading, ready, stopped, failed (crashed: found dead by the window)
            "pid": int,
            "pid_started": float,
            "request": str,  # "stop": asked by the window to exit
            "error": str,  # one sentence a person understands
            "error_detail": str,
            "started_at": float,
            "updated_at": float,
        },
        pk="run_id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"status"},
    )
    db["playground"].create(
        {
            "id": int,
            "run_id": int,
            "model": str,  # "tuned", or "base": the model the run started from
            "conversation": str,  # JSON list of {"role", "content"} (chat), ending on the user's message
            "text": str,  # the text to classify (classifier)
            "settings": str,  # JSON: temperature, max_new_tokens
            "status": str,  # queued, generating, done, stopped, failed
            "stop": int,  # 1: the window asked to stop generating
            "output": str,  # the answer so far (chat)
            "result": str,  # JSON: the labels with their probabilities (classifier)
            "tokens": int,
            "updates": int,  # how many times the answer was written while it grew
            "first_token_seconds": float,
            "tokens_per_second": float,
            "error": str,
            "created_at": float,
            "updated_at": float,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "status", "created_at"},
        defaults={"stop": 0, "output": "", "tokens": 0, "updates": 0},
    )
    db["playground"].create_index(["run_id", "status"])


@migrations()
def m005_paths_inside_the_data_folder(db: Database) -> None:
    """Run folders and artifacts inside the data folder, stored as absolute paths before, become relative to
    it. One that names an older place of the folder (it was moved before this ran) is found by its
    `runs/NNNNN/...` part, when that folder is here."""
    home = home_of(db)
    if home is None:
        return

    def relative(stored: str | None) -> str | None:
        if not stored or not Path(stored).is_absolute():
            return stored
        path = Path(stored)
        if path.is_relative_to(home):
            return path.relative_to(home).as_posix()
        parts = path.parts
        for index in range(len(parts) - 2, -1, -1):
            if parts[index] == "runs" and (home / "runs" / parts[index + 1]).is_dir():
                return Path(*parts[index:]).as_posix()
        return stored

    for table, column in (("runs", "run_dir"), ("artifacts", "path")):
        for row_id, stored in db.execute(f"SELECT rowid, {column} FROM {table}").fetchall():
            if (new := relative(stored)) != stored:
                db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", [new, row_id])


# ---------------------------------------------------------------- labelling mistakes found in an error review


@migrations()
def m006_label_mistakes(db: Database) -> None:
    """The errors of an evaluation that a person marked as mistakes in the data's labels rather than the
    model's (the Results page's error review): kept with the evaluation run, one row per error."""
    db["label_mistakes"].create(
        {
            "id": int,
            "run_id": int,  # the evaluation run whose error it is
            "item": str,  # the error's id in its evaluation.json
            "note": str,  # what the person wrote, if anything
            "time": float,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "item", "time"},
    )
    db["label_mistakes"].create_index(["run_id", "item"], unique=True)


def mark_label_mistake(db: Database, run_id: int, item: str, marked: bool = True, note: str = "") -> None:
    """Record (or, with marked=False, withdraw) that an error of an evaluation run is a mistake in the data's
    labels: the one way the window keeps that mark."""
    with db.conn:
        if marked:
            db.conn.execute(
                """INSERT INTO label_mistakes (run_id, item, note, time) VALUES (?, ?, ?, ?)
                   ON CONFLICT (run_id, item) DO UPDATE SET note = excluded.note, time = excluded.time""",
                [run_id, str(item), note, _now()],
            )
        else:
            db.conn.execute("DELETE FROM label_mistakes WHERE run_id = ? AND item = ?", [run_id, str(item)])


def label_mistakes(db: Database, run_id: int) -> set[str]:
    """The ids of the errors marked as labelling mistakes in an evaluation run."""
    if "label_mistakes" not in db.table_names():
        return set()
    return {row["item"] for row in db["label_mistakes"].rows_where("run_id = ?", [run_id])}


@migrations()
def m007_remote_runs(db: Database) -> None:
    """Runs on a cluster (engine/cluster.py): where they are there, and how fresh their copy here is."""
    db["remote_runs"].create(
        {
            "run_id": int,
            "cluster": str,  # the name of a saved cluster
            "job_id": str,  # Slurm's
            "run_folder": str,  # on the cluster
            "after_metric": int,  # the cluster's last metric rowid and event id copied here
            "after_event": int,
            "last_contact": float,  # when the cluster last answered (this computer's clock)
            "newest_row": float,  # the time of the newest row copied (the cluster's clock)
            "lag_seconds": float,  # how old the newest row was when it arrived
            "unreachable_since": float,  # when the cluster stopped answering; NULL while it answers
            "model": str,  # the trained model's artifact on the cluster, as JSON (kind, path, metadata)
            "model_fetched": int,  # 1 once the trained model is in the local run folder
        },
        pk="run_id",
        foreign_keys=[("run_id", "runs", "id")],
        defaults={"after_metric": 0, "after_event": 0, "model_fetched": 0},
    )


def remote_run_ids(db: Database) -> set[int]:
    """The runs that live on a cluster; no local process works on them."""
    return {row[0] for row in db.execute("SELECT run_id FROM remote_runs")}


def remote_run(db: Database, run_id: int) -> dict[str, Any] | None:
    rows = list(db["remote_runs"].rows_where("run_id = ?", [run_id]))
    return rows[0] if rows else None


@patient
def update_remote_run(db: Database, run_id: int, **fields: Any) -> None:
    db["remote_runs"].upsert({"run_id": run_id, **fields}, pk="run_id")

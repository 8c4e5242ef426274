"""The database outlives a writer killed mid-transaction (WAL), and a database from an older version opens,
migrated, with every row it held."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from engine import store
from tests.engine.helpers import ROOT

BATCH = 500

WRITER = textwrap.dedent(
    f"""
    import sys
    from engine import store

    db = store.open_db(sys.argv[1])
    run_id = store.create_run(db, kind="classify", config={{"model": "m"}})
    for batch in range(int(sys.argv[2])):  # committed, one transaction each
        store.add_metric_steps(db, run_id, [(batch * {BATCH} + i, {{"train_loss": 1.0}}) for i in range({BATCH})])
        print("committed", batch, flush=True)
    db.conn.execute("BEGIN")  # then one large transaction that never commits
    step = 10**6
    while True:
        db.conn.executemany(
            "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, 'train_loss', 2.0, 0)",
            [(run_id, step + i) for i in range(5000)],
        )
        step += 5000
        if step == 10**6 + 50_000:
            print("in the middle of a large transaction", flush=True)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL")
def test_a_writer_killed_mid_transaction_leaves_a_sound_database_with_every_committed_row(tmp_path):
    path = tmp_path / "tunewright.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "20"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = []
    for line in writer.stdout:
        lines.append(line.strip())
        if line.startswith("in the middle"):
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    assert lines[-1] == "in the middle of a large transaction" and lines[-2] == "committed 19"
    assert os.path.getsize(f"{path}-wal") > 0  # the uncommitted pages had reached the log

    db = store.open_db(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (run,) = store.list_runs(db)
    steps = [step for step, _ in store.metric_series(db, run["id"], "train_loss")]
    assert steps == list(range(20 * BATCH))  # every committed row, nothing of the unfinished transaction
    store.add_metrics(db, run["id"], 20 * BATCH, {"train_loss": 0.5})  # and it takes new writes


# m001 as it was first released, frozen here: the migrations in engine/store.py may change what a new
# database looks like, but a database made by this version must still open and keep its rows.
FROZEN = Migrations("tunewright")


@FROZEN()
def m001_initial(db: Database) -> None:
    db["runs"].create(
        {
            "id": int, "name": str, "kind": str, "config": str, "status": str, "progress": float, "step": int,
            "total_steps": int, "epoch": float, "eta_seconds": float, "pid": int, "pid_started": float,
            "request": str, "checkpoint_step": int, "best_metric_name": str, "best_metric": float,
            "created_at": float, "started_at": float, "updated_at": float, "finished_at": float, "error": str,
            "error_detail": str, "parent_id": int, "run_dir": str,
        },
        pk="id", foreign_keys=[("parent_id", "runs", "id")], not_null={"kind", "config", "status", "created_at"},
        defaults={"progress": 0.0, "step": 0},
    )
    db["runs"].create_index(["status"])
    db["metrics"].create(
        {"run_id": int, "step": int, "name": str, "value": float, "time": float},
        foreign_keys=[("run_id", "runs", "id")], not_null={"run_id", "step", "name", "time"},
    )
    db["metrics"].create_index(["run_id", "name", "step"])
    db["events"].create(
        {"id": int, "run_id": int, "time": float, "level": str, "code": str, "message": str, "detail": str},
        pk="id", foreign_keys=[("run_id", "runs", "id")], not_null={"time", "level", "code", "message"},
    )
    db["events"].create_index(["run_id", "id"])
    db["artifacts"].create(
        {"id": int, "run_id": int, "kind": str, "path": str, "metadata": str, "created_at": float},
        pk="id", foreign_keys=[("run_id", "runs", "id")], not_null={"kind", "path", "created_at"},
    )
    db["artifacts"].create_index(["run_id"])
    db["datasets"].create(
        {"id": int, "name": str, "path": str, "format": str, "task": str, "rows": int, "metadata": str, "added_at": float},
        pk="id", not_null={"path", "added_at"},
    )
    db["datasets"].create_index(["path"], unique=True)
    db["models"].create(
        {"id": int, "name": str, "source": str, "path": str, "architecture": str, "parameters": int, "metadata": str, "added_at": float},
        pk="id", not_null={"path", "added_at"},
    )
    db["models"].create_index(["path"], unique=True)


def fill_first_version(db: Database) -> None:
    """Rows as version 1 of the engine wrote them."""
    db["runs"].insert({
        "id": 1, "name": "Old run", "kind": "classify", "status": "completed", "created_at": 1.0, "progress": 1.0,
        "step": 3, "total_steps": 3, "best_metric_name": "eval_f1", "best_metric": 0.75,
        "config": json.dumps({"kind": "classify", "model": "demo:minilm", "data": "old.csv"}),
    })
    db["metrics"].insert_all({"run_id": 1, "step": s, "name": "train_loss", "value": 1.0 / s, "time": 1.0} for s in (1, 2, 3))
    db["events"].insert({"run_id": 1, "time": 1.0, "level": "info", "code": "run.completed", "message": "Training finished."})
    db["artifacts"].insert({"run_id": 1, "kind": "model", "path": "/old/model", "metadata": "{}", "created_at": 1.0})
    db["datasets"].insert({"path": "/old/data.csv", "added_at": 1.0, "rows": 10})
    db["models"].insert({"path": "/old/model", "added_at": 1.0, "name": "Old model"})


def assert_first_version_rows(db: Database) -> None:
    run = store.get_run(db, 1)
    assert (run["name"], run["status"], run["best_metric"], run["config"]["model"]) == ("Old run", "completed", 0.75, "demo:minilm")
    assert store.metric_series(db, 1, "train_loss") == [(1, 1.0), (2, 0.5), (3, 1 / 3)]
    assert [e["code"] for e in store.events(db, 1)] == ["run.completed"]
    assert [a["path"] for a in store.artifacts(db, 1)] == ["/old/model"]
    assert db["datasets"].count == 1 and db["models"].count == 1


def test_a_database_from_the_first_version_opens_migrated_with_its_rows(tmp_path):
    path = tmp_path / "tunewright.db"
    old = Database(path)
    FROZEN.apply(old)
    fill_first_version(old)
    old.close()

    db = store.open_db(path)
    assert store.migrations.pending(db) == []
    assert [m.name for m in store.migrations.applied(db)][0] == "m001_initial"
    assert_first_version_rows(db)
    run_id = store.create_run(db, kind="chat", config={"model": "x"})  # and the new version writes to it
    store.add_metrics(db, run_id, 1, {"train_loss": 2.0})
    assert store.get_run(db, run_id)["status"] == "queued"


@pytest.mark.parametrize("later", [m.name for m in store.migrations.pending(Database(memory=True))][1:] or [None])
def test_every_later_migration_keeps_the_rows_before_it(tmp_path, later):
    if later is None:
        pytest.skip("there is only the first migration so far; the frozen-m001 test covers it")
    path = tmp_path / "tunewright.db"
    old = Database(path)
    store.migrations.apply(old, stop_before=later)
    fill_first_version(old)
    old.close()
    db = store.open_db(path)
    assert store.migrations.pending(db) == []
    assert_first_version_rows(db)

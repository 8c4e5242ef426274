"""Another program holding the database (a backup, a database viewer with a write open): the job waits and
goes on, the commands still answer, and what cannot wait ends in one sentence."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from engine import jobs, store
from engine.config import from_dict
from tests.engine.helpers import cli, train_steps, wait_for

HOLD_SECONDS = 15  # longer than SQLite's busy timeout (10 s), which alone let the job's write fail


def hold(database, seconds: float) -> subprocess.Popen:
    """Another process takes the database with BEGIN EXCLUSIVE and keeps it for `seconds`."""
    script = (
        "import sqlite3, sys, time\n"
        f"connection = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
        "connection.execute('BEGIN EXCLUSIVE')\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
        "connection.execute('COMMIT')\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_job_waits_out_a_held_database_and_finishes(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 3, "batch_size": 4})
    run_id = jobs.start(db, config, home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= 3, timeout=180, every=0.05)

    holder = hold(store.database_path(tunewright_home), HOLD_SECONDS)
    holder.wait(HOLD_SECONDS + 30)
    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("preparing", "running"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_list_and_status_answer_while_the_database_is_held(db, tunewright_home):
    # A run whose process is gone: looking at it marks it interrupted, a write that must wait its turn.
    run_id = store.create_run(db, kind="classify", config={}, status="running")
    store.update_run(db, run_id, pid=2**22 + 7, pid_started=1.0)
    holder = hold(store.database_path(tunewright_home), HOLD_SECONDS)
    listed, status = cli("list", home=tunewright_home), cli("status", str(run_id), home=tunewright_home)
    holder.wait(60)
    for result in (listed, status):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "interrupted" in listed.stdout


def test_a_write_that_cannot_wait_longer_is_one_sentence(tunewright_home, monkeypatch):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(db, kind="classify", config={})
    monkeypatch.setattr(store, "PATIENCE_SECONDS", 0.5)
    db.execute("PRAGMA busy_timeout=100")
    other = sqlite3.connect(store.database_path(tunewright_home), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(store.DatabaseBusy) as busy:
            store.add_metrics(db, run_id, 1, {"train_loss": 1.0})
    finally:
        other.execute("ROLLBACK")
    assert str(busy.value).startswith("Another program has kept Tunewright's database busy for ")
    assert str(busy.value).endswith("Close that program and try again.")
    store.add_metrics(db, run_id, 1, {"train_loss": 1.0})  # once it lets go, writing works again
    assert store.metric_series(db, run_id, "train_loss") == [(1, 1.0)]


def test_a_job_that_cannot_write_for_long_pauses_at_its_checkpoint_and_says_so(tunewright_home, tiny_classify_config, monkeypatch):
    from engine import job as job_process
    from engine.job import run_job

    monkeypatch.setattr(store, "PATIENCE_SECONDS", store.PATIENCE_SECONDS)  # restored after the test
    monkeypatch.setattr(job_process, "JOB_PATIENCE_SECONDS", 1.0)  # "long" is two minutes in real life
    db = store.open_db(store.database_path(tunewright_home))
    run_id = jobs.submit(db, from_dict({**tiny_classify_config, "epochs": 20, "batch_size": 4, "checkpoint_minutes": 0.002}), home=tunewright_home)

    held = []

    def hold_after_a_checkpoint():
        other = sqlite3.connect(store.database_path(tunewright_home), isolation_level=None, check_same_thread=False)
        wait_for(lambda: (other.execute("SELECT checkpoint_step FROM runs WHERE id = ?", [run_id]).fetchone()[0] or 0) >= 3, timeout=300, every=0.02)
        other.execute("BEGIN EXCLUSIVE")
        held.append(time.monotonic())
        time.sleep(HOLD_SECONDS)
        other.execute("ROLLBACK")

    holder = threading.Thread(target=hold_after_a_checkpoint, daemon=True)
    holder.start()
    assert run_job(run_id, tunewright_home) == "paused"
    holder.join()
    run = store.get_run(db, run_id)
    said = [e for e in store.events(db, run_id) if e["code"] == "run.paused_database_busy"]
    assert run["status"] == "paused" and len(said) == 1
    assert said[0]["message"].startswith(f"Paused at step {run['checkpoint_step']}, the last checkpoint, because another program")

    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("queued", "preparing", "running"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))

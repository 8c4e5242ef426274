"""Detached job processes: pause, resume, cancel, and a SIGKILL mid-training, as the window drives them."""

import os
import signal

import pytest

from engine import jobs, store
from engine.config import from_dict
from tests.engine.helpers import cli, train_steps, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


@pytest.fixture
def long_job(tiny_classify_config):
    # Many small steps, checkpoints every ~0.6 s of training, so pauses and kills land mid-run.
    return from_dict({**tiny_classify_config, "epochs": 30, "batch_size": 4, "checkpoint_minutes": 0.01, "early_stopping_patience": 0})


def status(db, run_id):
    return store.get_run(db, run_id)["status"]


def test_pause_resume_and_cancel(tunewright_home, long_job):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = jobs.start(db, long_job, home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= 5)

    jobs.pause(db, run_id)
    wait_for(lambda: status(db, run_id) == "paused")
    paused_at = store.get_run(db, run_id)["step"]
    assert train_steps(db, run_id) == list(range(1, paused_at + 1))
    assert store.get_run(db, run_id)["checkpoint_step"] == paused_at

    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= paused_at + 3)
    assert any(e["code"] == "run.resumed" for e in store.events(db, run_id))

    jobs.cancel(db, run_id)
    wait_for(lambda: status(db, run_id) == "cancelled")
    steps = train_steps(db, run_id)
    assert steps == list(range(1, steps[-1] + 1))  # one curve: no gap at the pause, no repeated step


def test_a_run_paused_and_resumed_finishes_as_completed(tunewright_home, long_job):
    db = store.open_db(store.database_path(tunewright_home))
    long_job.epochs = 3
    run_id = jobs.start(db, long_job, home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= 5)
    jobs.pause(db, run_id)
    wait_for(lambda: status(db, run_id) == "paused")

    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: status(db, run_id) in ("completed", "paused", "failed", "cancelled"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed" and run["step"] == run["total_steps"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_a_killed_job_is_interrupted_and_resumes_where_it_checkpointed(tunewright_home, long_job):
    db = store.open_db(store.database_path(tunewright_home))
    long_job.epochs = 6
    run_id = jobs.start(db, long_job, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, run_id)["checkpoint_step"] or 0) >= 3 and len(train_steps(db, run_id)) >= 8)

    os.kill(store.get_run(db, run_id)["pid"], signal.SIGKILL)
    wait_for(lambda: jobs.reconcile(db) == [run_id] or status(db, run_id) == "interrupted", timeout=10)
    assert status(db, run_id) == "interrupted"
    listed = cli("status", str(run_id), home=tunewright_home).stdout
    assert "interrupted" in listed and "stopped unexpectedly" in listed

    assert cli("resume", str(run_id), home=tunewright_home).returncode == 0
    wait_for(lambda: status(db, run_id) == "completed", timeout=300)
    run = store.get_run(db, run_id)
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_detached_run_outlives_the_command_that_started_it(tunewright_home, tiny_classify_config, tmp_path):
    import json

    path = tmp_path / "job.json"
    path.write_text(json.dumps(tiny_classify_config))
    result = cli("run", str(path), "--detach", home=tunewright_home)
    assert result.returncode == 0
    run_id = int(result.stdout.strip())
    db = store.open_db(store.database_path(tunewright_home))
    wait_for(lambda: status(db, run_id) == "completed", timeout=300)
    assert json.loads(cli("list", "--json", home=tunewright_home).stdout)[0]["status"] == "completed"

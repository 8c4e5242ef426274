"""One run, one live job process, whatever the callers do: three `resume`s at once, or `run` in a shell and
`run --detach` in another, start exactly one process for a run; its metric steps are recorded once each. A
cancel that arrives while the job is still starting ends the run as cancelled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from engine import jobs, store
from engine.config import from_dict
from tests.engine.helpers import ROOT, train_steps, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


def engine(*args: str, home) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TUNEWRIGHT_HOME": str(home)},
    )


def starts(db, run_id: int) -> int:
    return sum(e["code"] == "run.started" for e in store.events(db, run_id))


def repeated_steps(db, run_id: int) -> list[int]:
    return [step for step, times in Counter(train_steps(db, run_id)).items() if times > 1]


def test_three_resumes_at_once_start_one_process(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4, "checkpoint_minutes": 0.005})
    run_id = jobs.start(db, config, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, run_id)["checkpoint_step"] or 0) >= 2, timeout=180, every=0.05)
    os.kill(store.get_run(db, run_id)["pid"], signal.SIGKILL)
    wait_for(lambda: store.get_run(db, run_id)["status"] == "interrupted" or run_id in jobs.reconcile(db), timeout=10)

    resumes = [engine("resume", str(run_id), home=tunewright_home) for _ in range(3)]
    outcomes = [(process.wait(120), process.stderr.read()) for process in resumes]
    assert sorted(code for code, _ in outcomes) == [0, 2, 2], outcomes
    assert all("tunewright-engine: Run" in text and "Traceback" not in text for code, text in outcomes if code), outcomes

    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("queued", "preparing", "running"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert starts(db, run_id) == 2  # the first process, and one resumed
    assert sum(e["code"] == "run.resumed" for e in store.events(db, run_id)) == 1
    assert repeated_steps(db, run_id) == []
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_a_resume_that_found_the_run_stopped_a_moment_ago_does_not_start_it_again(db, tunewright_home, tiny_classify_config, stop_jobs, monkeypatch):
    run_id = jobs.submit(db, from_dict({**tiny_classify_config, "epochs": 1}), home=tunewright_home)
    store.update_run(db, run_id, status="interrupted")
    # A slow caller (a window, a shell) reads the run as stopped; before it acts, another caller resumes it.
    looked, resumed = threading.Event(), threading.Event()
    get_run = store.get_run

    def read_then_stall(database, wanted):
        row = get_run(database, wanted)
        if threading.current_thread().name == "slow" and not resumed.is_set():
            looked.set()
            resumed.wait(60)
        return row

    monkeypatch.setattr(store, "get_run", read_then_stall)
    outcomes = {}

    def resume(name):
        try:
            jobs.resume(store.open_db(store.database_path(tunewright_home)), run_id, home=tunewright_home)
            outcomes[name] = "started"
        except jobs.JobError as refused:
            outcomes[name] = str(refused)

    slow = threading.Thread(target=resume, args=("slow",), name="slow")
    slow.start()
    looked.wait(5)  # (a resume that reads nothing before it acts never stalls)
    resume("fast")
    resumed.set()
    slow.join(60)
    monkeypatch.setattr(store, "get_run", get_run)
    assert sorted(outcomes.values()).count("started") == 1, outcomes

    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("queued", "preparing", "running"), timeout=300)
    time.sleep(3)  # a second start, had there been one, would be under way by now
    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("queued", "preparing", "running"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert starts(db, run_id) == 1 and repeated_steps(db, run_id) == []


def test_run_in_a_shell_then_run_detached_trains_each_run_once(db, tunewright_home, tiny_classify_config, tmp_path, stop_jobs):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({**tiny_classify_config, "epochs": 1}))
    foreground = engine("run", str(path), home=tunewright_home)
    wait_for(lambda: store.list_runs(db), timeout=60, every=0.05)
    time.sleep(1.5)
    detached = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(path), "--detach"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}, timeout=120,
    )
    assert detached.returncode == 0, detached.stderr
    assert foreground.wait(300) == 0, foreground.stderr.read()

    # the two training runs (each finished classifier is then scored on its held-back rows, a run of its own)
    first, second = sorted(run["id"] for run in store.list_runs(db) if run["kind"] == "classify")
    wait_for(lambda: store.get_run(db, second)["status"] not in ("queued", "preparing", "running"), timeout=300)
    for run_id in (first, second):
        run = store.get_run(db, run_id)
        assert run["status"] == "completed", run["error"]
        assert starts(db, run_id) == 1, store.events(db, run_id)
        assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_a_second_process_for_a_live_run_leaves_it_alone(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4})
    run_id = jobs.start(db, config, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] == "running", timeout=180, every=0.05)
    holder = store.get_run(db, run_id)["pid"]

    intruder = subprocess.run(
        [sys.executable, "-m", "engine", "job", str(run_id)], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}, timeout=120,
    )
    assert "already being worked on by another process" in intruder.stdout
    assert store.get_run(db, run_id)["pid"] == holder

    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("preparing", "running"), timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed" and starts(db, run_id) == 1 and repeated_steps(db, run_id) == []


def test_a_cancel_while_the_job_is_starting_ends_it_cancelled(db, tunewright_home, tiny_classify_config, stop_jobs):
    for attempt in range(3):  # at three moments of the start: a tenth, a half and one second in
        run_id = jobs.submit(db, from_dict(tiny_classify_config), home=tunewright_home)
        jobs.launch(db, run_id, home=tunewright_home)
        time.sleep((0.1, 0.5, 1.0)[attempt])
        jobs.cancel(db, run_id)
        # (`reconcile`, as the window and every command do, notices a process that ended without a word)
        wait_for(lambda: jobs.reconcile(db) is not None and store.get_run(db, run_id)["status"] not in ("preparing", "running"), timeout=120)
        run = store.get_run(db, run_id)
        assert run["status"] == "cancelled", (attempt, run["status"], store.events(db, run_id))
        assert run["request"] is None
        assert any(e["code"] == "run.cancelled" for e in store.events(db, run_id))

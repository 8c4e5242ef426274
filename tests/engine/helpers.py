"""Running jobs the way the app does, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from engine import store
from engine.config import from_dict
from engine.jobs import submit

ROOT = Path(__file__).resolve().parents[2]


def run_in_process(home: Path, values: dict) -> tuple[object, int]:
    """Submit a run and execute its job in this process (as `tunewright-engine run` does)."""
    from engine.job import run_job

    db = store.open_db(store.database_path(home))
    run_id = submit(db, from_dict(values), home=home)
    run_job(run_id, home)
    return db, run_id


def cli(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, "TUNEWRIGHT_HOME": str(home)},
    )


def wait_for(condition, timeout: float = 120, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition was not met in time")
        time.sleep(every)


def train_steps(db, run_id: int) -> list[int]:
    return [step for step, _ in store.metric_series(db, run_id, "train_loss")]


def quiet_machine(busy_share: float = 0.25, within: float = 30.0) -> float | None:
    """Wait until the other processes on this machine use under `busy_share` of its processors over one
    second (a test's leftover process finishing, a cluster daemon's round), for at most `within` seconds.
    Returns the share last seen when the machine never quietened, None when it did."""
    import psutil

    deadline = time.monotonic() + within
    while True:
        share = psutil.cpu_percent(interval=1.0) / 100
        if share < busy_share:
            return None
        if time.monotonic() > deadline:
            return share

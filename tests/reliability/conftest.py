"""Reliability tests: real job processes killed, starved of disk, or crowded by windows; POSIX signals."""

from __future__ import annotations

import os

import pytest

from engine import jobs, store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def db(tunewright_home):
    return store.open_db(store.database_path(tunewright_home))


@pytest.fixture
def stop_jobs(db):
    """Whatever a test leaves running is cancelled, so no job outlives its test."""
    yield
    for run in store.list_runs(db):
        if run["status"] in ("running", "preparing"):
            try:
                jobs.cancel(db, run["id"])
            except jobs.JobError:
                pass

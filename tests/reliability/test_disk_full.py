"""The disk fills while a checkpoint (or the best model so far) is written: one clear sentence, the previous checkpoint intact, and the
run resumable to the end.

"Full" is a real OS limit on the job process (RLIMIT_FSIZE, set from outside with prlimit): its next write
past the limit fails with EFBIG, as a full disk fails with ENOSPC. The database files stay under the limit,
so only the checkpoint, the big write, hits it.
"""

from __future__ import annotations


import time

import psutil
import pytest

from engine import jobs, store
from engine.checkpoints import saved_checkpoint_step
from engine.config import from_dict
from tests.engine.helpers import train_steps, wait_for

pytestmark = pytest.mark.skipif(not hasattr(psutil, "RLIMIT_FSIZE"), reason="needs prlimit (Linux)")


def test_a_full_disk_during_a_checkpoint_is_one_sentence_and_loses_nothing(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4, "checkpoint_minutes": 0.002})
    run_id = jobs.start(db, config, home=tunewright_home)
    folder = tunewright_home / "runs" / f"{run_id:05d}"
    wait_for(lambda: (store.get_run(db, run_id)["checkpoint_step"] or 0) >= 3, timeout=120, every=0.05)

    checkpoint_size = next((folder / "checkpoints").glob("step-*/trainable.safetensors")).stat().st_size
    limit = checkpoint_size // 2
    database = store.database_path(tunewright_home)
    for path in (database, database.with_name(database.name + "-wal")):
        assert path.stat().st_size < limit // 2, f"{path.name} would hit the limit before the checkpoint does"
    job = psutil.Process(store.get_run(db, run_id)["pid"])
    job.rlimit(psutil.RLIMIT_FSIZE, (limit, psutil.RLIM_INFINITY))

    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("running", "preparing"), timeout=60, every=0.05)
    run = store.get_run(db, run_id)
    kept = saved_checkpoint_step(folder)
    assert run["status"] == "failed"
    # The first big write past the limit is a checkpoint or, after an evaluation, the best model so far.
    assert run["error"] in (
        f"There is not enough disk space to save {what} in {folder}: free some space and resume; "
        f"the previous checkpoint (step {kept}) is intact."
        for what in ("the checkpoint", "the best model so far")
    )
    assert kept == run["checkpoint_step"] and 3 <= kept < run["total_steps"]
    assert not [path for path in (folder / "checkpoints").iterdir() if path.name.endswith(".partial")]  # its space was given back
    failed = [e for e in store.events(db, run_id) if e["code"] == "run.failed"]
    assert failed and "not enough disk space" in failed[0]["message"]

    job.wait(30)  # (a process it started would inherit the limit)
    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] in ("completed", "failed"), timeout=120)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))
    assert any(e["code"] == "run.resumed" and f"step {kept} " in e["message"] for e in store.events(db, run_id))


def test_a_full_disk_during_a_database_write_ends_in_its_sentence_not_interrupted(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 3, "batch_size": 4})
    run_id = jobs.start(db, config, home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= 3, timeout=180, every=0.05)
    job = psutil.Process(store.get_run(db, run_id)["pid"])
    # Every file the job writes past its first 4 KB fails, the database's log first: a disk with no room left.
    job.rlimit(psutil.RLIMIT_FSIZE, (4096, psutil.RLIM_INFINITY))
    time.sleep(5)  # the job meets the full disk, and waits to say so
    assert job.is_running() and store.get_run(db, run_id)["status"] == "running"
    job.rlimit(psutil.RLIMIT_FSIZE, (psutil.RLIM_INFINITY, psutil.RLIM_INFINITY))  # space was freed

    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("preparing", "running"), timeout=120)
    run = store.get_run(db, run_id)
    assert run["status"] == "failed"
    assert "There is not enough disk space to " in run["error"] and "Traceback" not in run["error"], run["error"]

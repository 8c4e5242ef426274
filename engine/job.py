"""The job process: `python -m engine job RUN_ID`. Runs one recipe and records how it ended.

Whatever happens (finished, paused, cancelled, a problem in the data, an unexpected error) ends as a status
and a sentence in the run's row. Then the next queued run, if any, is started.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import psutil

from engine import jobs, proven, store
from engine.config import ConfigError, config_types, from_dict
from engine.data.errors import DataError
from engine.protocol import FINISHED, Status, message
from engine.tasks import TASKS

# torch and everything that imports it are imported in `run_job`, after its signal handlers are in place:
# the import takes seconds, and a cancel sent meanwhile must not end the process without a word.


def recipe_for(kind: str):
    """The function that runs a job of `kind`: a task's training recipe, or one of the jobs every task shares."""
    if kind in TASKS:
        return TASKS[kind].train
    if kind == "export":
        from engine.export import job as export_job

        return export_job.run
    if kind == "evaluate":
        from engine.recipes import evaluate

        return evaluate.run
    if kind == "distill":
        from engine.recipes import distill

        return distill.run
    if kind == "advise":
        from engine.advisor import job as advice

        return advice.run
    raise ConfigError.said("config.unknown_kind", kind=kind, kinds=", ".join(config_types()))


def run_job(run_id: int, home: Path | None = None) -> Status:
    home = home or store.default_home()
    store.PATIENCE_SECONDS = JOB_PATIENCE_SECONDS
    db = store.open_db(store.database_path(home))
    if int(os.environ.get("RANK", "0")) > 0:
        # A rank other than 0 of a run on several processes (torchrun's RANK): rank 0 alone holds the run,
        # writes its rows and decides when to stop; this one writes into a throwaway copy of the run's row.
        from engine import distributed

        db = distributed.scratch(db, run_id)
    if (status := store.get_run(db, run_id)["status"]) in FINISHED:
        # Only a cluster's batch script starts a job without a queued run: Slurm requeued a job whose run had
        # just ended (a preemption racing the last step). Training it again would start over from step 0.
        print(f"Run {run_id} has already ended ({status}); there is nothing to continue.", flush=True)
        return Status(status)
    controls = jobs.Controls(db, run_id)  # before anything slow, so an early cancel is not lost
    if hasattr(signal, "SIGXFSZ"):
        # A file-size limit then fails the write with EFBIG, which ends as a sentence, instead of killing
        # the process without a word.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if not jobs.take_lease(db, run_id, os.getpid(), psutil.Process().create_time(), over=_launchers()):
        print(f"Run {run_id} is already being worked on by another process; this one leaves it to that one.", flush=True)
        return Status(store.get_run(db, run_id)["status"])
    run = store.get_run(db, run_id)
    store.update_run(db, run_id, error=None, error_detail=None)

    from engine import distributed, selftest
    from engine.hardware import pick_device, pick_dtype
    from engine.training import Job, saved_checkpoint_step

    world = distributed.from_environment()
    folder = Path(run["run_dir"] or jobs.run_dir(home, run_id))
    try:
        config = from_dict(run["config"])
        device = pick_device(config.device)
        if device.type == "cuda" and world.size == 1:
            selftest.ensure(device, home)  # the fast paths prove themselves before the planner uses them
        if (processes := _processes(db, run_id, config, device, world)) > 1:
            outcome = distributed.run_ranks(db, run_id, home, processes)  # rank 0 records how the run ended
            jobs.start_next(db, home=home)
            return outcome
        device = distributed.join(world, device)
        job = Job(
            db=db, run_id=run_id, config=config, run_dir=folder,
            home=home, device=device, dtype=pick_dtype(device, config.precision), controls=controls,
        )
        store.private_folder(job.run_dir)
        with distributed.watching_peers():
            outcome = recipe_for(config.kind)(job)
    except distributed.PeerLost:
        distributed.interrupted(db, run_id)
        outcome = Status.INTERRUPTED
    except store.DatabaseBusy:
        # The files hold the last checkpoint; the steps since are redone on resume. Said once it can be.
        step = saved_checkpoint_step(folder) or 0
        _when_possible(lambda: _paused_by_busy_database(db, run_id, step))
        outcome = Status.PAUSED
    except Exception as error:  # noqa: BLE001 - every failure must end as a status a person can read
        reason, detail = _reason(error, home, saved_checkpoint_step(folder)), traceback.format_exc()
        if not world.is_main:  # its rows are thrown away: the log keeps what stopped it
            print(f"Rank {world.rank} stopped: {reason}\n{detail}", flush=True)
        _when_possible(lambda: _fail(db, run_id, reason, detail))
        outcome = Status.FAILED
    else:
        finished = {"finished_at": time.time()} if outcome in FINISHED else {}
        done = {"progress": 1.0} if outcome == Status.COMPLETED else {}
        store.update_run(db, run_id, status=outcome, pid=None, request=None, **finished, **done)
    finally:
        distributed.leave()
    if not world.is_main:  # its rows are thrown away: the log says how it ended
        print(f"Rank {world.rank} ended: {outcome}", flush=True)
    if world.size == 1:  # the ranks of a run on several processes leave that to the process that started them
        jobs.start_next(db, home=home)
    return outcome


def _launchers() -> tuple[int, ...]:
    """The processes that may hand the run to this one: its launcher, and for rank 0 of a run on several
    processes, the job process that started torchrun (its grandparent)."""
    parent = psutil.Process().parent()
    grandparent = parent.ppid() if parent is not None and "RANK" in os.environ else None
    return tuple(pid for pid in (os.getppid(), grandparent) if pid)


def _processes(db, run_id: int, config, device, world) -> int:
    """How many processes train this run (1 inside a rank, or for a job that does not train); the choice is
    explained in an event."""
    import torch

    from engine import distributed

    if world.size > 1 or not hasattr(config, "gpus"):
        return 1
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    count, code, values = distributed.plan(config, gpus, proven.passed("multi_gpu"))
    if code:
        store.add_event(db, run_id, code, **values)
    return count


# A job waits this long for another program to let go of the database before it stops, paused.
JOB_PATIENCE_SECONDS = 120.0
# Its last words (failed, paused) are retried this long: a full disk may be freed, a held database let go.
LAST_WORDS_SECONDS = 3600.0


def _reason(error: Exception, home: Path, checkpoint_step: int | None) -> str:
    """The sentence a person reads for what stopped the job."""
    import torch

    from engine.training import DiskFull

    if isinstance(error, (ConfigError, DataError, DiskFull)):
        return str(error)
    if isinstance(error, torch.OutOfMemoryError):
        return "The model and batch did not fit in the GPU's memory. Try a smaller batch size or length limit, or LoRA."
    if _database_full(error):
        if checkpoint_step is None:
            return message("disk.full_database_first", folder=home)[1]
        return message("disk.full_database", folder=home, step=checkpoint_step)[1]
    return f"An unexpected error stopped training ({type(error).__name__}: {error})."


def _database_full(error: BaseException) -> bool:
    """SQLite could not write for lack of room: SQLITE_FULL for a full disk (ENOSPC); a file-size limit or
    quota (EFBIG, EDQUOT) reaches it as a failed write."""
    return isinstance(error, sqlite3.OperationalError) and getattr(error, "sqlite_errorname", "") in ("SQLITE_FULL", "SQLITE_IOERR_WRITE")


def _when_possible(write: Callable[[], None]) -> None:
    """Write how the run ended, retrying while the disk is full or another program holds the database;
    meanwhile the sentence is in engine.log. Given up after `LAST_WORDS_SECONDS` (the run then shows as
    interrupted, and resumes from its last checkpoint)."""
    started, pause = time.monotonic(), 1.0
    while True:
        try:
            write()
            return
        except (store.DatabaseBusy, sqlite3.OperationalError) as error:
            if not (isinstance(error, store.DatabaseBusy) or _database_full(error) or store.is_busy(error)):
                raise
            if time.monotonic() - started > LAST_WORDS_SECONDS:
                raise
            try:
                print(f"Waiting to record how the run ended: {error}", flush=True)
            except OSError:
                pass  # the log is on the same full disk
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def _paused_by_busy_database(db, run_id: int, step: int) -> None:
    store.update_run(db, run_id, status=Status.PAUSED, pid=None, request=None, checkpoint_step=step)
    store.add_event(db, run_id, "run.paused_database_busy", step=step, seconds=round(JOB_PATIENCE_SECONDS))


def _fail(db, run_id: int, reason: str, detail: str) -> None:
    store.update_run(
        db, run_id, status=Status.FAILED, error=reason, error_detail=detail, pid=None, request=None,
        finished_at=time.time(),
    )
    store.add_event(db, run_id, "run.failed", reason=reason, detail=detail)

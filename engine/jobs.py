"""Starting, steering and checking on job processes. No torch here: the window uses this module too.

A job is one OS process (`python -m engine job RUN_ID`) started in its own session, so it outlives the
window or shell that started it. Pause and cancel are a request written to the run's row plus a signal to the
job's pid (on POSIX); the job finishes its step, checkpoints, records its status and exits. Resume starts a
new process on the same run, which continues from the checkpoint. A run whose process is gone without a
final status is marked interrupted by `reconcile`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from sqlite_utils import Database

from engine import store
from engine.config import JobConfig
from engine.protocol import LIVE, RESUMABLE, Status

PAUSE_SIGNAL = getattr(signal, "SIGUSR1", None)  # absent on Windows: the job also polls the request column
CANCEL_SIGNAL = signal.SIGTERM


class Controls:
    """Pause and cancel requests, in the job process: a signal sets a flag at once; the run row's `request`
    column is also read, at most once a second, for platforms without signals. Made first thing in a job
    process, before torch is imported, so a cancel that arrives while it prepares is not lost."""

    def __init__(self, db: Database, run_id: int) -> None:
        self.db, self.run_id = db, run_id
        self._flag: str | None = None
        self._checked = 0.0
        if PAUSE_SIGNAL is not None:
            signal.signal(PAUSE_SIGNAL, lambda *_: self._set("pause"))
        # Under Slurm a TERM is the scheduler taking the GPUs back (preemption, a requeue): checkpoint and stop
        # as for a pause, and the requeued job continues (engine/cluster.py); the window cancels with INT there.
        term = "pause" if os.environ.get("SLURM_JOB_ID") else "cancel"
        signal.signal(CANCEL_SIGNAL, lambda *_: self._set(term))
        signal.signal(signal.SIGINT, lambda *_: self._set("cancel"))

    def _set(self, what: str) -> None:
        if self._flag != "cancel":  # cancel wins over pause
            self._flag = what

    def requested(self) -> str | None:
        now = time.monotonic()
        if self._flag is None and now - self._checked > 1.0:
            self._checked = now
            self._flag = store.get_run(self.db, self.run_id)["request"] or None
        return self._flag


class JobError(RuntimeError):
    """Something asked of a run that cannot be done in its state; the message is one plain sentence."""


def run_dir(home: Path, run_id: int) -> Path:
    return home / "runs" / f"{run_id:05d}"


def submit(db: Database, config: JobConfig, *, home: Path, parent_id: int | None = None) -> int:
    """Record a new run as queued, with its folder; `launch` (or `start_next`) starts it."""
    run_id = store.create_run(db, kind=config.kind, config=config.to_dict(), name=config.name or None, parent_id=parent_id)
    folder = store.private_folder(run_dir(home, run_id))
    name = config.name or f"{_describe(config)} #{run_id}"
    store.update_run(db, run_id, run_dir=str(folder), name=name)
    return run_id


def _describe(config: JobConfig) -> str:
    teacher = getattr(config, "teacher", "")
    if teacher.startswith("run:"):  # a distillation taught by one of the person's runs: "Student of run 12 on ..."
        return f"Student of run {teacher[4:]} on {Path(config.data).stem}"
    model = Path(config.model).name if not config.model.startswith("demo:") else config.model[5:]
    data = Path(config.data).stem
    return f"{model} on {data}"


def engine_process(*args: str) -> list[str]:
    """The command line of an engine process: `python -m engine ARGS` (a frozen app runs itself with an
    engine argument, since it has no separate Python)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "engine", *args]
    return [sys.executable, "-m", "engine", *args]


def engine_env(home: Path) -> dict[str, str]:
    """The environment of an engine process: this home folder, and the project importable from anywhere."""
    env = {**os.environ, "TUNEWRIGHT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def detached() -> dict[str, Any]:
    """Popen arguments that start a process in its own session, so it outlives the window or shell."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS}  # type: ignore[attr-defined]


def engine_command(run_id: int) -> list[str]:
    """The command line of a job process."""
    return engine_process("job", str(run_id))


def launch(db: Database, run_id: int, *, home: Path) -> int:
    """Start the job process for a run, detached in its own session; returns its pid."""
    run = store.get_run(db, run_id)
    folder = store.private_folder(Path(run["run_dir"] or run_dir(home, run_id)))
    with open(folder / "engine.log", "ab") as log:
        process = subprocess.Popen(
            engine_command(run_id), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=engine_env(home), **detached(),
        )
    # Its own pid is written by the job itself when it takes the run (`take_lease`); this only hands the run
    # from the launcher to its child early, so no `reconcile` meanwhile finds the launcher gone.
    take_lease(db, run_id, process.pid, psutil.Process(process.pid).create_time(), over=(os.getpid(),))
    return process.pid


def start(db: Database, config: JobConfig, *, home: Path) -> int:
    """Submit a run and start it now if no other job is training, else leave it queued."""
    run_id = submit(db, config, home=home)
    start_next(db, home=home)
    return run_id


def training_now(db: Database) -> list[int]:
    """The runs a live process is working on (dead ones are marked interrupted first)."""
    reconcile(db)
    live = db["runs"].rows_where("status IN (?, ?)", [str(s) for s in LIVE], select="id")
    remote = store.remote_run_ids(db)  # a cluster's run uses no GPU here
    return [row["id"] for row in live if row["id"] not in remote]


def start_next(db: Database, *, home: Path) -> int | None:
    """Launch the oldest queued run when no job is live (one training job per GPU at a time)."""
    if training_now(db):
        return None
    remote = store.remote_run_ids(db)  # queued in Slurm's queue, not this computer's
    queued = [r for r in db["runs"].rows_where("status = ?", [str(Status.QUEUED)], order_by="id") if r["id"] not in remote][:1]
    if not queued or not claim(db, queued[0]["id"]):
        return None
    launch(db, queued[0]["id"], home=home)
    return queued[0]["id"]


@store.patient
def claim(db: Database, run_id: int) -> bool:
    """Take a queued run for starting, atomically: a finishing job and the window (or a resume, or a `run`
    in a shell) may all find it queued at once, and only one of them may start a process for it. Until the
    job takes the run itself, the run carries the claimer's pid, so no `reconcile` takes it for dead."""
    with db.conn:
        claimed = db.conn.execute(
            "UPDATE runs SET status = ?, pid = ?, pid_started = ?, updated_at = ? WHERE id = ? AND status = ?",
            [str(Status.PREPARING), os.getpid(), psutil.Process().create_time(), time.time(), run_id, str(Status.QUEUED)],
        )
    return claimed.rowcount == 1


@store.patient
def take_lease(db: Database, run_id: int, pid: int, started: float, *, over: tuple[int, ...] = ()) -> bool:
    """Make `pid` the one live process of a run, in one transaction: only when the run has no live process,
    or it is `pid` itself or one of `over` (the launcher handing the run to its child). False: another
    process works on it, and the caller must leave it alone. The run is `preparing` from here."""
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")  # no other process reads the holder between this check and the write
        holder, holder_started = db.conn.execute("SELECT pid, pid_started FROM runs WHERE id = ?", [run_id]).fetchone()
        if holder and holder != pid and holder not in over and _alive(holder, holder_started):
            return False
        db.conn.execute(
            "UPDATE runs SET status = ?, pid = ?, pid_started = ?, updated_at = ? WHERE id = ?",
            [str(Status.PREPARING), pid, started, time.time(), run_id],
        )
    return True


def pause(db: Database, run_id: int) -> None:
    _request(db, run_id, "pause", PAUSE_SIGNAL)


def cancel(db: Database, run_id: int) -> None:
    run = store.get_run(db, run_id)
    if run["status"] in (Status.QUEUED, Status.PAUSED, Status.INTERRUPTED):
        store.update_run(db, run_id, status=Status.CANCELLED, request=None)
        return
    _request(db, run_id, "cancel", CANCEL_SIGNAL)


def _request(db: Database, run_id: int, what: str, signum: int | None) -> None:
    reconcile(db)
    run = store.get_run(db, run_id)
    if run["status"] not in LIVE:
        raise JobError(f"Run {run_id} is {run['status']}, so there is nothing to {what}.")
    store.update_run(db, run_id, request=what)
    if signum is not None and _alive(run["pid"], run["pid_started"]):
        try:
            os.kill(run["pid"], signum)
        except ProcessLookupError:
            pass


def resume(db: Database, run_id: int, *, home: Path) -> None:
    """Continue a paused, interrupted, failed or cancelled run from its last checkpoint."""
    reconcile(db)
    reopen(db, run_id, Status.QUEUED)
    started = start_next(db, home=home) == run_id
    # A job finishing just now may have started it from the queue instead: that is as good.
    if not started and store.get_run(db, run_id)["status"] == Status.QUEUED:
        raise JobError(f"Run {run_id} waits in the queue until the job that is training now has finished.")


def reopen(db: Database, run_id: int, status: Status, *, pid: int | None = None) -> None:
    """Take a paused or stopped run back for a resume, as `status` (with `pid` as the process working on it, if
    any), atomically: of several resumes at once only the first finds it stopped. Raises JobError otherwise."""
    resumable = sorted(str(s) for s in RESUMABLE)
    started = psutil.Process(pid).create_time() if pid else None
    with db.conn:
        reopened = db.conn.execute(
            f"""UPDATE runs SET status = ?, pid = ?, pid_started = ?, request = NULL, error = NULL, error_detail = NULL,
                finished_at = NULL, updated_at = ? WHERE id = ? AND status IN ({", ".join("?" * len(resumable))})""",
            [str(status), pid, started, time.time(), run_id, *resumable],
        ).rowcount
    if not reopened:
        run = store.get_run(db, run_id)
        raise JobError(f"Run {run_id} is {run['status']}; only a paused or stopped run can be resumed.")


def reconcile(db: Database) -> list[int]:
    """Mark as interrupted every live run whose process is gone; returns their ids."""
    interrupted = []
    remote = store.remote_run_ids(db)  # followed by engine/cluster.py, not by a local process
    for run in db["runs"].rows_where("status IN (?, ?)", [str(s) for s in LIVE]):
        if (run["id"] in remote and not run["pid"]) or _alive(run["pid"], run["pid_started"]):
            continue  # a remote run has a local process only while this computer sends it
        try:
            if run["request"] == "cancel":  # it was asked to stop, and stopped before it could say so
                store.update_run(db, run["id"], status=Status.CANCELLED, pid=None, request=None, finished_at=time.time())
                store.add_event(db, run["id"], "run.cancelled", step=run["checkpoint_step"] or 0)
                continue
            store.update_run(db, run["id"], status=Status.INTERRUPTED, pid=None)
            store.add_event(db, run["id"], "run.interrupted", step=run["checkpoint_step"] or 0)
        except store.DatabaseBusy:
            break  # another program holds the database: whoever looks next marks it; reading goes on
        interrupted.append(run["id"])
    return interrupted


def _alive(pid: int | None, started: float | None) -> bool:
    """Is this pid still our job? (Its start time guards against the pid being reused.)"""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


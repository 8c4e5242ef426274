"""A Slurm cluster reached over SSH: its settings, the connection test, the batch script, and the rows of a
remote run copied into the local database. No torch here: the window uses this module too.

OpenSSH and Slurm do the work: `ssh` (the user's agent or key file, never a stored password, `BatchMode` so
nothing ever waits for a typed password) runs commands on the login node, `rsync` over the same ssh copies
the bundle there and the model back, `sbatch` queues the generated script, which runs the engine under
`srun` (and torchrun, for several GPUs, as on a workstation: engine/distributed.py). The remote engine keeps
its own database on the cluster; `tunewright-engine rows` there prints a run's new rows, and `sync` adds
them here, so the window shows a remote run like a local one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

from sqlite_utils import Database

from engine import store
from engine.config import ConfigError, setting
from engine.protocol import FINISHED, LIVE, Status, message

CLUSTERS = "clusters.json"
SSH_TIMEOUT = 15  # seconds to reach the login node before saying it cannot be reached


@dataclass
class Cluster:
    """A Slurm cluster, added once in the window."""

    name: str = setting("", "A name for this cluster, shown in the window.")
    host: str = setting("", "The cluster's login node, such as 'login.hpc.example.org'.")
    user: str = setting("", "Your user name on the cluster.")
    port: int = setting(22, "The SSH port of the login node (almost always 22).")
    key_file: str = setting(
        "", "Your SSH key file. Empty: the keys of your SSH agent. Tunewright never stores a password."
    )
    partition: str = setting("", "The Slurm partition (queue) with GPUs, such as 'gpu'. Empty: the cluster's default.")
    account: str = setting("", "The Slurm account your time is billed to. Empty: your default account.")
    gpus_per_job: int = setting(1, "How many GPUs one run asks for (on one node); 0 for a cluster without GPUs.")
    time_limit: str = setting(
        "04:00:00", "The longest a run may hold its GPUs at a time (hours:minutes:seconds). A run that needs "
        "longer is checkpointed before the limit and queued again, and continues where it stopped."
    )
    remote_folder: str = setting("~/tunewright", "The folder on the cluster where runs and their data are kept.")
    python: str = setting(
        "python3", "How Tunewright runs on the cluster: the Python of an environment where Tunewright is "
        "installed (such as '~/tw-env/bin/python'), or the path of the Tunewright app on the shared file system."
    )

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ConfigError("Give the cluster's login node (its address), such as 'login.hpc.example.org'.")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.host):
            raise ConfigError(f"'{self.host}' is not an address a computer can have; check the login node's name.")
        if not re.fullmatch(r"[A-Za-z0-9._-]*", self.user):
            raise ConfigError(f"'{self.user}' is not a user name a cluster accepts; check the spelling.")
        if not 1 <= self.port <= 65535:
            raise ConfigError("The SSH port is a number from 1 to 65535 (almost always 22).")
        if self.gpus_per_job < 0:
            raise ConfigError("The number of GPUs per run is 0 (none) or more.")
        if not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}:\d{2}", self.time_limit):
            raise ConfigError(
                f"The time limit '{self.time_limit}' is not hours:minutes:seconds, such as 04:00:00 for four hours."
            )
        if self.key_file and not Path(self.key_file).expanduser().exists():
            raise ConfigError(f"The key file {self.key_file} does not exist on this computer.")

    @property
    def login(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- remembered clusters


def load_clusters(home: Path | None = None) -> list[Cluster]:
    path = (home or store.default_home()) / CLUSTERS
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    known = {f.name for f in fields(Cluster)}
    return [Cluster(**{k: v for k, v in entry.items() if k in known}) for entry in saved]


def save_cluster(cluster: Cluster, home: Path | None = None) -> None:
    """Add the cluster, or replace the one of the same name."""
    home = home or store.default_home()
    others = [c for c in load_clusters(home) if c.name != cluster.name]
    path = home / CLUSTERS
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps([c.to_dict() for c in [*others, cluster]], indent=2))
    partial.chmod(0o600)
    partial.replace(path)


# ---------------------------------------------------------------- ssh and the connection test


def ssh_options(cluster: Cluster) -> list[str]:
    # accept-new: a login node's key is trusted the first time, as a person answering "yes" would, and a
    # changed key is still refused.
    options = ["-p", str(cluster.port), "-o", "BatchMode=yes", "-o", f"ConnectTimeout={SSH_TIMEOUT}",
               "-o", "StrictHostKeyChecking=accept-new",
               "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
    if cluster.key_file:
        options += ["-i", str(Path(cluster.key_file).expanduser()), "-o", "IdentitiesOnly=yes"]
    return options


def ssh_command(cluster: Cluster, remote: str) -> list[str]:
    """`ssh` running one shell command line on the login node."""
    return ["ssh", *ssh_options(cluster), cluster.login, remote]


def rsync_command(cluster: Cluster, source: str, destination: str) -> list[str]:
    """`rsync` over the same ssh; a remote path is written 'remote:PATH'."""
    shell = shlex.join(["ssh", *ssh_options(cluster)])
    spell = lambda path: f"{cluster.login}:{path[7:]}" if path.startswith("remote:") else path  # noqa: E731
    return ["rsync", "-az", "--partial", "-e", shell, spell(source), spell(destination)]


Runner = Callable[[list[str]], subprocess.CompletedProcess]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=SSH_TIMEOUT * 4, stdin=subprocess.DEVNULL)


def connection_test(cluster: Cluster, run: Runner = _run) -> list[str]:
    """What stops Tunewright from using this cluster, one sentence each; empty when nothing does."""
    folder = cluster.remote_folder
    probe = " ; ".join([
        "echo tw:reached",
        "command -v sbatch >/dev/null 2>&1 && echo tw:slurm",
        f"sinfo -h -o %P {'-p ' + shlex.quote(cluster.partition) if cluster.partition else ''} 2>/dev/null | grep -q . && echo tw:partition",
        f"mkdir -p {shell_path(folder)} 2>/dev/null && test -w {shell_path(folder)} && echo tw:folder",
        f"{cluster.python} -m engine --help >/dev/null 2>&1 && echo tw:engine",
    ])
    try:
        done = run(ssh_command(cluster, probe))
    except (OSError, subprocess.TimeoutExpired):
        return [message("cluster.unreachable", host=cluster.host)[1]]
    said = set(done.stdout.split())
    if "tw:reached" not in said:
        if "Permission denied" in done.stderr or "publickey" in done.stderr:
            return [message("cluster.key_refused", login=cluster.login)[1]]
        return [message("cluster.unreachable", host=cluster.host)[1]]
    problems = []
    if "tw:slurm" not in said:
        problems.append(message("cluster.no_slurm", host=cluster.host)[1])
    elif "tw:partition" not in said:
        problems.append(message("cluster.no_partition", partition=cluster.partition or "default")[1])
    if "tw:folder" not in said:
        problems.append(message("cluster.no_folder", folder=folder)[1])
    if "tw:engine" not in said:
        problems.append(message("cluster.no_engine", python=cluster.python)[1])
    return problems


# ---------------------------------------------------------------- the batch script


def shell_path(path: str) -> str:
    """A remote path for the remote shell: quoted, with a leading ~/ still meaning the home folder."""
    if path == "~" or path.startswith("~/"):
        return '"$HOME"' + (shlex.quote(path[1:]) if len(path) > 1 else "")
    return shlex.quote(path)


# What the engine takes as pause and cancel (engine/jobs.py), sent by scancel to the job's steps only, that is
# to the engine under srun (srun itself would take an INT for its own).
# TERM is not among them: under Slurm it comes from the scheduler (preemption, requeue), and the engine takes
# it as "checkpoint and stop" (engine/jobs.py's Controls).
CONTROL_SIGNALS = {"pause": "USR1", "cancel": "INT"}


def control_command(cluster: Cluster, job_id: str, what: str) -> list[str]:
    """ssh sending the window's pause or cancel to the job: the engine checkpoints, then stops."""
    return ssh_command(cluster, f"scancel --signal={CONTROL_SIGNALS[what]} {int(job_id)}")


def request(db: Database, home: Path, run_id: int, what: str, run: Runner = _run) -> None:
    """The window's pause or cancel of a remote run: recorded in the local row at once (shown as pausing or
    cancelling), then sent to the job with scancel over ssh; the engine there checkpoints, then stops, and the
    follower brings its new status. A job still waiting in Slurm's queue is simply taken out of it when
    cancelled. Raises OSError when the cluster cannot be reached (the run then says since when)."""
    state = SyncState.read(db, run_id)
    where = {c.name: c for c in load_clusters(home)}.get(state.cluster)
    if where is None:
        raise OSError(f"the cluster '{state.cluster}' is no longer among the saved clusters")
    waiting = store.get_run(db, run_id)["status"] == Status.QUEUED
    if waiting and what == "pause":
        return  # nothing runs there yet
    store.update_run(db, run_id, request=what)
    argv = ssh_command(where, f"scancel {int(state.job_id)}") if waiting else control_command(where, state.job_id, what)
    try:
        done = run(argv)
    except subprocess.TimeoutExpired as error:
        done = subprocess.CompletedProcess(argv, 255, "", str(error))
    if done.returncode != 0:
        store.update_run(db, run_id, request=None)  # not delivered: the window offers it again
        if done.returncode == 255:
            _unreachable(db, run_id, where)
        raise OSError(done.stderr.strip()[-300:] or f"ssh exit status {done.returncode}")
    if waiting:
        store.update_run(db, run_id, status=Status.CANCELLED, request=None, finished_at=time.time())


def submit_command(cluster: Cluster, run_folder: str) -> list[str]:
    """ssh running sbatch on the run's script, from its folder; prints the Slurm job id."""
    return ssh_command(cluster, f"cd {shell_path(run_folder)} && sbatch --parsable job.sh")


def resubmit_command(cluster: Cluster, run_folder: str) -> list[str]:
    """ssh queueing a stopped run's batch script again. The run there is first marked as waiting in the queue
    (unless its job never started: no `run_id` yet), so the follower keeps following it until it starts."""
    engine = f'TUNEWRIGHT_HOME="$PWD/home" {cluster.python} -m engine'
    return ssh_command(
        cluster, f'cd {shell_path(run_folder)} && (test ! -s run_id || {engine} queued-again "$(cat run_id)") && sbatch --parsable job.sh'
    )


def queue(argv: list[str], run: Runner) -> str:
    """Run an sbatch command (through ssh); Slurm's job id. Raises OSError with sbatch's last words."""
    done = run(argv)
    if done.returncode != 0:
        raise OSError(done.stderr.strip()[-300:] or f"sbatch exit status {done.returncode}")
    return done.stdout.strip().split(";")[0]


def batch_script(cluster: Cluster, run_folder: str) -> str:
    """The sbatch script of one run. Its folder holds the bundle (config.json and the data it names). The
    first start creates the run in the cluster's own Tunewright database and writes its id to `run_id`; a
    start after a requeue continues that run from its checkpoint.

    Five minutes before the time limit (USR2 to this script) the engine is asked to pause (it checkpoints and
    stops at the next step) and the job requeues itself. A preemption is a TERM to every step: the engine
    checkpoints and stops, and Slurm requeues the job; either way the run is recorded as waiting in the queue
    (`mark_requeued`), not as failed or paused. A `scancel` from outside the window ends the run cancelled
    (`mark_cancelled_there`). The window's pause and cancel are `scancel` with USR1 and INT
    to the engine's step, which it takes as pause and cancel (`CONTROL_SIGNALS`)."""
    options = ["--job-name=tunewright", "--nodes=1", f"--time={cluster.time_limit}", "--requeue",
               "--signal=B:USR2@300", "--open-mode=append", "--output=slurm.log"]  # sbatch runs in the run's folder
    if cluster.gpus_per_job:
        options.append(f"--gpus-per-node={cluster.gpus_per_job}")
    if cluster.partition:
        options.append(f"--partition={cluster.partition}")
    if cluster.account:
        options.append(f"--account={cluster.account}")
    header = "\n".join(f"#SBATCH {option}" for option in options)
    python = cluster.python
    return f"""#!/bin/bash
{header}
# Generated by Tunewright for one run; rerun by Slurm after a requeue.
set -u
cd {shell_path(run_folder)}
export TUNEWRIGHT_HOME="$PWD/home" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
mkdir -p "$TUNEWRIGHT_HOME"
if [ ! -s run_id ]; then
    {python} -m engine submit config.json > run_id
fi
run=$(cat run_id)
engine_pid=""
stop_and_requeue() {{  # the time limit is near: checkpoint, then queue again
    touch requeue
    [ -n "$engine_pid" ] && kill -USR1 "$engine_pid" 2>/dev/null
}}
trap stop_and_requeue USR2
trap '' USR1  # a pause is the engine's alone
# Preemption (or scontrol requeue): Slurm sends TERM to every step, which the engine under Slurm takes as
# "checkpoint and stop", then requeues the job itself; the next start continues the run. A plain scancel
# sends the same TERM, but only a requeue counts a restart at once: the count tells the two apart.
requeued_now() {{
    restarts=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
    [ "${{restarts:-0}}" -gt "${{SLURM_RESTART_COUNT:-0}}" ]
}}
trap 'if requeued_now; then touch preempted; else touch cancelled; fi' TERM
rm -f requeue preempted cancelled
srun --ntasks=1 {python} -m engine job "$run" &
engine_pid=$!
while kill -0 "$engine_pid" 2>/dev/null; do wait "$engine_pid"; done
if [ -e requeue ]; then
    {python} -m engine requeued "$run" --why time_limit
    scontrol requeue "$SLURM_JOB_ID"
elif [ -e preempted ]; then
    {python} -m engine requeued "$run" --why preempted
elif [ -e cancelled ]; then
    {python} -m engine cancelled-there "$run"
fi
"""


def mark_requeued(db: Database, run_id: int, why: str) -> None:
    """On the cluster, after the engine stopped for the scheduler (it checkpointed, as for a pause): the run
    waits in Slurm's queue, and the batch script's next start continues it. Not a failure, not a pause."""
    run = store.get_run(db, run_id)
    if run["status"] in FINISHED:
        return
    store.update_run(db, run_id, status=Status.QUEUED, pid=None, request=None)
    store.add_event(db, run_id, "cluster.requeued", why=message(f"cluster.why.{why}")[1].lower(), step=run["checkpoint_step"] or 0)


def mark_cancelled_there(db: Database, run_id: int) -> None:
    """On the cluster, after a `scancel` that did not come from the window (by hand, or by the cluster's
    administrators): the engine checkpointed as for a preemption, but no requeue follows. The run ends
    cancelled, its checkpoint kept, instead of waiting in a queue it is no longer in."""
    run = store.get_run(db, run_id)
    if run["status"] in FINISHED:
        return
    store.update_run(db, run_id, status=Status.CANCELLED, pid=None, request=None, finished_at=time.time())
    store.add_event(db, run_id, "cluster.cancelled_there", step=run["checkpoint_step"] or 0)


# ---------------------------------------------------------------- rows from the cluster


def remote_rows(db: Database, run_id: int, after_metric: int = 0, after_event: int = 0) -> dict[str, Any]:
    """What `tunewright-engine rows RUN` prints on the cluster: the run's row, and its metric rows and events
    newer than those already copied (by rowid and id), with how many metric rows it has in all."""
    run = store.get_run(db, run_id)
    shown = ("status", "step", "total_steps", "progress", "epoch", "eta_seconds", "checkpoint_step",
             "best_metric_name", "best_metric", "error", "started_at", "finished_at")
    metrics = [list(row) for row in db.execute(
        "SELECT rowid, step, name, value, time FROM metrics WHERE run_id = ? AND rowid > ? ORDER BY rowid",
        [run_id, after_metric],
    )]
    events = [{k: e[k] for k in ("id", "time", "level", "code", "message", "detail")} for e in store.events(db, run_id, after_id=after_event)]
    models = [{"kind": a["kind"], "path": a["path"], "metadata": a["metadata"]}
              for a in db["artifacts"].rows_where("run_id = ? AND kind IN ('model', 'adapter')", [run_id], order_by="id")]
    return {"run": {k: run[k] for k in shown}, "metrics": metrics, "metric_digest": _digest(db, run_id), "events": events,
            "model": models[-1] if models else None, "now": time.time()}


def _digest(db: Database, run_id: int) -> list[float]:
    """Count and sums of a run's metric rows: the same on both sides unless the cluster dropped rows (SQLite
    may then give new rows the dropped rows' rowids, so rowids alone cannot tell)."""
    return list(db.execute("SELECT count(*), total(step), total(value) FROM metrics WHERE run_id = ?", [run_id]).fetchone())


@dataclass
class SyncState:
    """How far the local copy of a remote run has come: its row in the `remote_runs` table."""

    cluster: str = ""  # the saved cluster's name
    job_id: str = ""  # Slurm's
    run_folder: str = ""  # on the cluster
    after_metric: int = 0
    after_event: int = 0
    last_contact: float | None = None  # when the cluster last answered (this computer's clock)
    newest_row: float | None = None  # the time of the newest row copied (the cluster's clock)
    lag_seconds: float | None = None  # how old the newest row was when it arrived
    unreachable_since: float | None = None  # when the cluster stopped answering; None while it answers
    model: str = ""  # the trained model's artifact on the cluster (JSON: kind, path inside its home, metadata)
    model_fetched: int = 0  # 1 once the trained model is in the local run folder

    @classmethod
    def read(cls, db: Database, run_id: int) -> SyncState:
        row = store.remote_run(db, run_id) or {}
        return cls(**{f.name: row[f.name] for f in fields(cls) if row.get(f.name) is not None})

    def write(self, db: Database, run_id: int) -> None:
        store.update_remote_run(db, run_id, **asdict(self))


def sync(db: Database, run_id: int, fetch: Callable[[int, int], dict[str, Any] | None]) -> SyncState:
    """Copy a remote run's new rows into the local run `run_id`. `fetch(after_metric, after_event)` returns
    `remote_rows`' answer (through ssh). When the cluster dropped rows (a resume goes back to its
    checkpoint), the digests differ and the curve is copied again whole. Raises OSError when unreachable
    (`follow_once` then records since when)."""
    state = SyncState.read(db, run_id)
    answer = fetch(state.after_metric, state.after_event)
    if state.unreachable_since is not None:  # said when it was lost: say that it answers again
        store.add_event(db, run_id, "cluster.back", cluster=state.cluster)
    state.last_contact, state.unreachable_since = time.time(), None
    if answer is None:  # the job waits in Slurm's queue
        state.write(db, run_id)
        return state
    for event in answer["events"]:
        db["events"].insert({**{k: event[k] for k in ("time", "level", "code", "message", "detail")}, "run_id": run_id})
        state.after_event = max(state.after_event, event["id"])
    _add_metric_rows(db, run_id, answer["metrics"])
    if answer["metrics"]:
        state.after_metric = answer["metrics"][-1][0]
    if not _same_digest(_digest(db, run_id), answer["metric_digest"]):
        whole = fetch(0, state.after_event)
        db.execute("DELETE FROM metrics WHERE run_id = ?", [run_id])
        _add_metric_rows(db, run_id, whole["metrics"])
        state.after_metric = whole["metrics"][-1][0] if whole["metrics"] else 0
    settled = {} if answer["run"]["status"] in LIVE else {"request": None}  # a pause or cancel sent is done
    store.update_run(db, run_id, **{k: v for k, v in answer["run"].items() if k != "error" or v}, **settled)
    if answer.get("model"):
        state.model = json.dumps(answer["model"])
    newest = max([row[4] for row in answer["metrics"]] + [e["time"] for e in answer["events"]], default=None)
    if newest is not None:
        state.newest_row = newest
        state.lag_seconds = max(0.0, answer["now"] - newest)
    state.write(db, run_id)
    return state


def _same_digest(mine: list[float], theirs: list[float]) -> bool:
    return mine[0] == theirs[0] and all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(mine[1:], theirs[1:]))


def _add_metric_rows(db: Database, run_id: int, rows: list[list]) -> None:
    if rows:
        with db.conn:
            db.conn.executemany(
                "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)",
                [(run_id, step, name, value, at) for _, step, name, value, at in rows],
            )


def ssh_fetch(cluster: Cluster, run_folder: str, run: Runner = _run) -> Callable[[int, int], dict[str, Any] | None]:
    """`sync`'s fetch for the run in `run_folder` on the cluster: `tunewright-engine rows` there, through ssh;
    None while the job waits in Slurm's queue. Raises OSError when the cluster cannot be reached."""

    def fetch(after_metric: int, after_event: int) -> dict[str, Any]:
        remote = (f'cd {shell_path(run_folder)} && test -s run_id && TUNEWRIGHT_HOME="$PWD/home" {cluster.python} '
                  f'-m engine rows "$(cat run_id)" --after-metric {int(after_metric)} --after-event {int(after_event)}')
        try:
            done = run(ssh_command(cluster, remote))
        except subprocess.TimeoutExpired as error:
            raise OSError(f"{cluster.host} did not answer in time") from error
        if done.returncode == 255 or (done.returncode != 0 and done.stderr.strip()):
            raise OSError(done.stderr.strip()[-300:] or f"ssh exit status {done.returncode}")
        return json.loads(done.stdout) if done.returncode == 0 else None  # no run_id yet: still queued

    return fetch


# ---------------------------------------------------------------- the bundle


def make_bundle(config: dict[str, Any], folder: Path) -> Path:
    """What a run needs on the cluster, in `folder`: its data files under data/, a model folder from this
    computer under model/ (a catalog or Hugging Face name travels as it is), and config.json naming them by
    paths inside the bundle. rsync then copies the folder (only what changed, on a second send)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundled = dict(config)
    for key in ("data", "eval_data"):
        if bundled.get(key):
            source = Path(bundled[key]).expanduser()
            target = folder / "data" / f"{key}-{source.name}"
            target.parent.mkdir(exist_ok=True)
            if source.is_dir():  # a brat standoff corpus is a folder of .txt and .ann files
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
            bundled[key] = str(target.relative_to(folder))
    for key in ("model", "teacher", "student"):
        value = bundled.get(key) or ""
        if value and Path(value).expanduser().is_dir():
            target = folder / key
            shutil.copytree(Path(value).expanduser(), target, dirs_exist_ok=True)
            bundled[key] = str(target.relative_to(folder))
    (folder / "config.json").write_text(json.dumps(bundled, indent=2))
    return folder


# ---------------------------------------------------------------- sending a run


def remote_run_folder(cluster: Cluster, run_id: int) -> str:
    return f"{cluster.remote_folder.rstrip('/')}/runs/{socket.gethostname()}-{run_id:05d}"


def send(cluster: Cluster, db: Database, run_id: int, run: Runner = _run) -> SyncState:
    """Send a recorded run to the cluster: its bundle and batch script copied there with rsync, queued with
    sbatch. From then on `sync` brings its rows here. Raises OSError with the tool's last words when a step
    fails."""
    row = store.get_run(db, run_id)
    local_folder = Path(row["run_dir"])
    bundle = make_bundle(row["config"], local_folder / "bundle")
    folder = remote_run_folder(cluster, run_id)
    (bundle / "job.sh").write_text(batch_script(cluster, folder))
    for argv in (ssh_command(cluster, f"mkdir -p {shell_path(folder)}"),
                 rsync_command(cluster, f"{bundle}/", f"remote:{folder}/")):
        done = run(argv)
        if done.returncode != 0:
            raise OSError(done.stderr.strip()[-300:] or f"{argv[0]} exit status {done.returncode}")
    state = SyncState(cluster=cluster.name, job_id=queue(submit_command(cluster, folder), run), run_folder=folder, last_contact=time.time())
    state.write(db, run_id)
    store.update_run(db, run_id, status="queued", pid=None)
    return state


def find_cluster(name: str, home: Path | None = None) -> Cluster:
    """The saved cluster called `name`, or a sentence naming the ones there are."""
    saved = load_clusters(home)
    for candidate in saved:
        if candidate.name == name:
            return candidate
    raise ConfigError.said("cluster.unknown", name=name, known=", ".join(c.name for c in saved) or "none yet")


def take_run(cluster: Cluster, db: Database, home: Path, config: Any) -> int:
    """Record a run that is to train on the cluster, before anything is copied: submitted, taken at once from
    this computer's queue (so no local start picks it up while it is sent) and marked as the cluster's. The
    copying is `send_run`'s, which takes seconds and may fail."""
    from engine import jobs

    run_id = jobs.submit(db, config, home=home)
    if not jobs.claim(db, run_id):  # a local start took it in the instant between: it trains here instead
        raise ConfigError.said("cluster.started_here", run=run_id, cluster=cluster.name)
    SyncState(cluster=cluster.name, run_folder=remote_run_folder(cluster, run_id)).write(db, run_id)
    return run_id


def send_run(cluster: Cluster, db: Database, home: Path, run_id: int, run: Runner = _run) -> bool:
    """Send a run `take_run` recorded, then follow it. A send that fails ends the run failed, in one
    sentence with the tool's last words; its settings stay with it, to start again. True when it was queued."""
    try:
        send(cluster, db, run_id, run)
    except (OSError, subprocess.SubprocessError) as problem:
        _not_sent(db, run_id, cluster, problem)
        return False
    start_follower(db, home)
    return True


def reopen_run(db: Database, home: Path, run_id: int) -> tuple[Cluster, str]:
    """The first half of resuming a paused or stopped run that trains on a cluster (the window's Resume,
    `tunewright-engine resume`): the run is taken back at once, as being sent by this process; returns its
    cluster and the status it had. `resend` does the rest, which takes seconds. Raises ConfigError when the
    cluster's settings were removed, JobError when the run is not stopped."""
    from engine import jobs

    where = find_cluster(SyncState.read(db, run_id).cluster, home)
    was = store.get_run(db, run_id)["status"]
    jobs.reopen(db, run_id, Status.PREPARING, pid=os.getpid())
    return where, was


def resend(cluster: Cluster, db: Database, home: Path, run_id: int, was: str, run: Runner = _run) -> bool:
    """Queue a run `reopen_run` took back (from status `was`) in Slurm again: its batch script continues it from
    its checkpoint there. A run that never reached the cluster (its sending failed, or was cut short) is sent
    whole, and fails in a sentence if it cannot be, as `send_run` does. A run whose cluster does not answer
    stays as it was, with the sentence that says why, and its work there. True when it was queued."""
    state = SyncState.read(db, run_id)
    try:
        if not state.job_id:
            send(cluster, db, run_id, run)
        else:
            state.job_id = queue(resubmit_command(cluster, state.run_folder), run)
            state.write(db, run_id)
            store.update_run(db, run_id, status=Status.QUEUED, pid=None)
            store.add_event(db, run_id, "cluster.resent", cluster=cluster.name, job=state.job_id)
    except (OSError, subprocess.SubprocessError) as problem:
        if not state.job_id:
            _not_sent(db, run_id, cluster, problem)
        else:
            store.update_run(db, run_id, status=was, pid=None)
            store.add_event(db, run_id, "cluster.not_resumed", cluster=cluster.name, why=_why(problem), was=was)
        return False
    start_follower(db, home)
    return True


def _why(problem: Exception) -> str:
    return str(problem).strip().rstrip(".") or type(problem).__name__


def _not_sent(db: Database, run_id: int, cluster: Cluster, problem: Exception) -> None:
    why = _why(problem)
    sentence = message("cluster.not_sent", cluster=cluster.name, why=why)[1]
    store.update_run(db, run_id, status=str(Status.FAILED), error=sentence, pid=None)
    store.add_event(db, run_id, "cluster.not_sent", cluster=cluster.name, why=why)


# ---------------------------------------------------------------- following remote runs, and the model back

FOLLOW_EVERY = 10.0  # seconds between two looks at the cluster
FOLLOWER = "follower.json"  # the follower process's pid, in the home folder


def fetch_model(cluster: Cluster, db: Database, run_id: int, run: Runner = _run) -> Path | None:
    """Copy the finished run's trained model from the cluster into the local run folder, and record it there
    as the run's model; None while the cluster has not said where it is. Raises OSError when rsync fails."""
    state = SyncState.read(db, run_id)
    if not state.model:
        return None
    found = json.loads(state.model)
    local = Path(store.get_run(db, run_id)["run_dir"]) / "model"
    local.mkdir(parents=True, exist_ok=True)
    where = found["path"] if os.path.isabs(found["path"]) else f"{state.run_folder}/home/{found['path']}"
    done = run(rsync_command(cluster, f"remote:{where}/", f"{local}/"))
    if done.returncode != 0:
        raise OSError(done.stderr.strip()[-300:] or f"rsync exit status {done.returncode}")
    metadata = json.loads(found["metadata"]) if isinstance(found["metadata"], str) else found["metadata"]
    store.add_artifact(db, run_id, found["kind"], local, **metadata, copied_from=cluster.name)
    store.add_event(db, run_id, "cluster.model_fetched", cluster=cluster.name, folder=str(local))
    state.model_fetched = 1
    state.write(db, run_id)
    return local


def follow_once(db: Database, home: Path, run: Runner = _run) -> list[int]:
    """One look at every remote run still going (or finished with its model not yet here): its new rows
    copied, its model fetched once it is complete. A cluster that does not answer is recorded with the time
    it stopped answering (an event the first time), and the next look tries again. Returns the runs still to
    follow."""
    clusters = {c.name: c for c in load_clusters(home)}
    following = []
    for run_id in sorted(store.remote_run_ids(db)):
        status = store.get_run(db, run_id)["status"]
        state = SyncState.read(db, run_id)
        if status not in LIVE | {Status.QUEUED} and (status != Status.COMPLETED or state.model_fetched):
            continue
        where = clusters.get(state.cluster)
        if where is None or not state.job_id:  # its settings were removed, or it is still being sent
            continue
        following.append(run_id)
        try:
            if status not in FINISHED:
                sync(db, run_id, ssh_fetch(where, state.run_folder, run))
            if store.get_run(db, run_id)["status"] == Status.COMPLETED:
                fetch_model(where, db, run_id, run)
        except OSError:
            _unreachable(db, run_id, where)
    return following


def _unreachable(db: Database, run_id: int, where: Cluster) -> None:
    state = SyncState.read(db, run_id)
    if state.unreachable_since is None:
        state.unreachable_since = time.time()
        state.write(db, run_id)
        since = time.strftime("%H:%M", time.localtime(state.unreachable_since))
        store.add_event(db, run_id, "cluster.lost", cluster=where.name or where.host, since=since)


def follow(db: Database, home: Path, every: float = FOLLOW_EVERY) -> None:
    """`tunewright-engine follow`: look at the remote runs every few seconds until none is left to follow.
    One follower per data folder; a second one leaves at once. The window starts it (`start_follower`) and
    closing the window leaves it, and the cluster, alone."""
    import psutil

    record = home / FOLLOWER
    if follower_alive(home):
        return
    record.write_text(json.dumps({"pid": os.getpid(), "started": psutil.Process().create_time()}))
    try:
        while follow_once(db, home):
            time.sleep(every)
    finally:
        record.unlink(missing_ok=True)


def follower_alive(home: Path) -> bool:
    from engine.jobs import _alive

    try:
        record = json.loads((home / FOLLOWER).read_text())
    except (OSError, ValueError):
        return False
    return _alive(record.get("pid"), record.get("started"))


def start_follower(db: Database, home: Path) -> bool:
    """Start `tunewright-engine follow` in its own session when a remote run needs following and no follower
    runs; True when one was started."""
    if follower_alive(home) or not _to_follow(db):
        return False
    from engine import jobs

    with open(home / "follower.log", "ab") as log:
        subprocess.Popen(jobs.engine_process("follow"), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         env=jobs.engine_env(home), **jobs.detached())
    return True


def _to_follow(db: Database) -> bool:
    remote = store.remote_run_ids(db)
    if not remote:
        return False
    going = {str(s) for s in LIVE | {Status.QUEUED}}
    rows = db.execute("SELECT r.status, m.model_fetched FROM runs r JOIN remote_runs m ON m.run_id = r.id")
    return any(status in going or (status == Status.COMPLETED and not fetched) for status, fetched in rows)

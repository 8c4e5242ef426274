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
from engine.protocol import message

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
CONTROL_SIGNALS = {"pause": "USR1", "cancel": "TERM"}


def control_command(cluster: Cluster, job_id: str, what: str) -> list[str]:
    """ssh sending the window's pause or cancel to the job: the engine checkpoints, then stops."""
    return ssh_command(cluster, f"scancel --signal={CONTROL_SIGNALS[what]} {int(job_id)}")


def submit_command(cluster: Cluster, run_folder: str) -> list[str]:
    """ssh running sbatch on the run's script, from its folder; prints the Slurm job id."""
    return ssh_command(cluster, f"cd {shell_path(run_folder)} && sbatch --parsable job.sh")


def batch_script(cluster: Cluster, run_folder: str) -> str:
    """The sbatch script of one run. Its folder holds the bundle (config.json and the data it names). The
    first start creates the run in the cluster's own Tunewright database and writes its id to `run_id`; a
    start after a requeue continues that run from its checkpoint.

    Five minutes before the time limit (USR2 to this script) the engine is asked to pause (it checkpoints and
    stops at the next step) and the job requeues itself. The window's pause and cancel are `scancel` with USR1
    and TERM to the engine's step, which it takes as pause and cancel (`CONTROL_SIGNALS`)."""
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
rm -f requeue
srun --ntasks=1 {python} -m engine job "$run" &
engine_pid=$!
while kill -0 "$engine_pid" 2>/dev/null; do wait "$engine_pid"; done
if [ -e requeue ]; then
    scontrol requeue "$SLURM_JOB_ID"
fi
"""


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
    return {"run": {k: run[k] for k in shown}, "metrics": metrics, "metric_digest": _digest(db, run_id), "events": events,
            "now": time.time()}


def _digest(db: Database, run_id: int) -> list[float]:
    """Count and sums of a run's metric rows: the same on both sides unless the cluster dropped rows (SQLite
    may then give new rows the dropped rows' rowids, so rowids alone cannot tell)."""
    return list(db.execute("SELECT count(*), total(step), total(value) FROM metrics WHERE run_id = ?", [run_id]).fetchone())


@dataclass
class SyncState:
    """How far the local copy of a remote run has come; kept in the local run's folder."""

    after_metric: int = 0
    after_event: int = 0
    job_id: str = ""  # Slurm's
    run_folder: str = ""  # on the cluster
    last_contact: float | None = None  # when the cluster last answered (this computer's clock)
    newest_row: float | None = None  # the time of the newest row copied (the cluster's clock)
    lag_seconds: float | None = None  # how old the newest row was when it arrived

    @classmethod
    def read(cls, folder: Path) -> SyncState:
        try:
            return cls(**json.loads((folder / "remote-sync.json").read_text()))
        except (OSError, ValueError, TypeError):
            return cls()

    def write(self, folder: Path) -> None:
        (folder / "remote-sync.json").write_text(json.dumps(asdict(self)))


def sync(db: Database, run_id: int, fetch: Callable[[int, int], dict[str, Any] | None], folder: Path) -> SyncState:
    """Copy a remote run's new rows into the local run `run_id`. `fetch(after_metric, after_event)` returns
    `remote_rows`' answer (through ssh). When the cluster dropped rows (a resume goes back to its
    checkpoint), the digests differ and the curve is copied again whole. Raises OSError when unreachable;
    the state then keeps the last contact, for "cannot reach the cluster since ...". """
    state = SyncState.read(folder)
    answer = fetch(state.after_metric, state.after_event)
    if answer is None:  # the job waits in Slurm's queue
        state.last_contact = time.time()
        state.write(folder)
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
    store.update_run(db, run_id, **{k: v for k, v in answer["run"].items() if k != "error" or v})
    newest = max([row[4] for row in answer["metrics"]] + [e["time"] for e in answer["events"]], default=None)
    state.last_contact = time.time()
    if newest is not None:
        state.newest_row = newest
        state.lag_seconds = max(0.0, answer["now"] - newest)
    state.write(folder)
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
    done = run(submit_command(cluster, folder))
    if done.returncode != 0:
        raise OSError(done.stderr.strip()[-300:] or f"sbatch exit status {done.returncode}")
    state = SyncState(job_id=done.stdout.strip().split(";")[0], run_folder=folder, last_contact=time.time())
    state.write(local_folder)
    store.update_run(db, run_id, status="queued", pid=None)
    return state


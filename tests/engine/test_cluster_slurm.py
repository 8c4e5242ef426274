"""A run sent to a real Slurm over a real SSH connection: the single-node Slurm and the sshd on localhost that
`.ci/slurm-localhost.sh` starts. Its curve appears in the local database; cancel reaches the job."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import cluster, jobs, store
from engine.config import from_dict
from tests.engine.helpers import cli, train_steps, wait_for

SSH_PORT = int(os.environ.get("TUNEWRIGHT_TEST_SSH_PORT", "2222"))
KEY = Path("~/.ssh/id_ed25519").expanduser()


def _slurm_and_ssh() -> str:
    """Why these tests cannot run here, or "" when they can."""
    if shutil.which("sinfo") is None or shutil.which("ssh") is None or shutil.which("rsync") is None:
        return "Slurm, ssh or rsync is not installed (.ci/slurm-localhost.sh installs and starts them)"
    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        return "Slurm is not running (.ci/slurm-localhost.sh starts it)"
    if not KEY.exists():
        return "no SSH key for localhost (.ci/slurm-localhost.sh makes one)"
    probe = ["ssh", "-p", str(SSH_PORT), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-i", str(KEY),
             f"{os.environ.get('USER', 'root')}@127.0.0.1", "true"]
    if subprocess.run(probe, capture_output=True, timeout=30).returncode != 0:
        return f"no SSH server on localhost:{SSH_PORT} that takes {KEY}"
    return ""


why_not = _slurm_and_ssh() if os.name == "posix" else "POSIX only"
pytestmark = pytest.mark.skipif(bool(why_not), reason=why_not)


@pytest.fixture
def localhost(tmp_path) -> cluster.Cluster:
    return cluster.Cluster(
        name="localhost", host="127.0.0.1", port=SSH_PORT, user=os.environ.get("USER", "root"), key_file=str(KEY),
        partition="", gpus_per_job=0, time_limit="00:30:00", remote_folder=str(tmp_path / "cluster"),
        python=sys.executable,
    )


def follow(db, run_id, until, timeout=400):
    state = cluster.SyncState.read(db, run_id)
    fetch = cluster.ssh_fetch(_clusters[run_id], state.run_folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.sync(db, run_id, fetch)
        if until(store.get_run(db, run_id)):
            return cluster.SyncState.read(db, run_id)
        time.sleep(2)
    raise TimeoutError(f"the run is still {store.get_run(db, run_id)['status']}")


_clusters: dict[int, cluster.Cluster] = {}


def send(db, home, the_cluster, values) -> int:
    run_id = jobs.submit(db, from_dict(values), home=home)
    assert cluster.connection_test(the_cluster) == []
    state = cluster.send(the_cluster, db, run_id)
    assert state.job_id.isdigit()
    _clusters[run_id] = the_cluster
    return run_id


def training_there(db, home, the_cluster, config, epochs: int) -> int:
    """A run sent to the cluster, once it has trained a few steps there. The tiny model trains about 30
    steps a second: a test that stops it mid-run gives it several hundred (20 epochs: 540 steps)."""
    run_id = send(db, home, the_cluster, {**config, "epochs": epochs, "batch_size": 4})
    follow(db, run_id, lambda run: (run["step"] or 0) >= 3)
    return run_id


def remote_story(db, run_id: int) -> str:
    """What the cluster's own database holds for a run, for a failing assertion to show (seen once in CI: a
    run cancelled there at step 136 whose copied curve was empty)."""
    state = cluster.SyncState.read(db, run_id)
    there = cluster.ssh_fetch(_clusters[run_id], state.run_folder)(0, 0)
    train = sorted(step for _, step, name, _, _ in there["metrics"] if name == "train_loss")
    here = db.execute("SELECT count(*) FROM metrics WHERE run_id = ?", [run_id]).fetchone()[0]
    return (f"there: {there['run']}, {len(train)} training losses (steps {train[:3]}...{train[-3:]}), events "
            f"{[e['code'] for e in there['events']]}; here: {here} metric rows, {state}")


def on_the_login_node(the_cluster, command: str) -> None:
    """Run a Slurm command on the cluster, as its scheduler or a person there would."""
    assert subprocess.run(cluster.ssh_command(the_cluster, command), capture_output=True).returncode == 0


def test_a_run_sent_from_the_command_line_draws_its_curve_here(tunewright_home, localhost, tiny_classify_config, tmp_path):
    """`tunewright-engine run --cluster`, as the window's 'Where to train' does: the run is sent, and the
    follower process it starts copies the news here, with no one else looking."""
    db = store.open_db(store.database_path(tunewright_home))
    cluster.save_cluster(localhost, tunewright_home)
    config = tmp_path / "job.json"
    config.write_text(json.dumps(tiny_classify_config))
    done = cli("run", str(config), "--cluster", "localhost", home=tunewright_home, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = int(done.stdout.split()[0])
    assert re.search(r"waits in localhost's queue as Slurm job \d+", done.stderr), done.stderr
    assert jobs.training_now(db) == []  # nothing trains on this computer

    def ended() -> bool:
        status = store.get_run(db, run_id)["status"]
        return status in ("failed", "cancelled") or (status == "completed" and cluster.SyncState.read(db, run_id).model_fetched)

    wait_for(ended, timeout=400, every=1)
    state = cluster.SyncState.read(db, run_id)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))
    assert any(e["code"] == "run.completed" for e in store.events(db, run_id))
    assert state.lag_seconds is not None and state.lag_seconds < 60

    # The trained model came back into the local data folder, recorded as the run's model.
    local = Path(run["run_dir"]) / "model"
    assert any(local.glob("*.safetensors"))
    assert [(a["kind"], a["path"]) for a in store.artifacts(db, run_id)] == [("model", str(local))]


def test_cancel_reaches_the_job_on_the_cluster(tunewright_home, localhost, tiny_classify_config):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = training_there(db, tunewright_home, localhost, tiny_classify_config, epochs=40)

    cluster.save_cluster(localhost, tunewright_home)
    cluster.request(db, tunewright_home, run_id, "cancel")  # what the window's Cancel does for a remote run
    assert store.get_run(db, run_id)["request"] == "cancel"
    follow(db, run_id, lambda run: run["status"] in ("cancelled", "completed", "failed", "interrupted"), timeout=120)
    run = store.get_run(db, run_id)
    assert run["status"] == "cancelled" and run["checkpoint_step"] == run["step"] and run["request"] is None
    assert train_steps(db, run_id) == list(range(1, run["step"] + 1)), remote_story(db, run_id)


def test_a_run_paused_from_here_resumes_on_the_cluster_and_completes(tunewright_home, localhost, tiny_classify_config):
    """The window's Pause, then its Resume: the job is queued in Slurm again and continues from its checkpoint
    there; the follower process the resume starts brings the rest of the curve, with no step lost or repeated."""
    db = store.open_db(store.database_path(tunewright_home))
    run_id = training_there(db, tunewright_home, localhost, tiny_classify_config, epochs=20)
    cluster.save_cluster(localhost, tunewright_home)
    cluster.request(db, tunewright_home, run_id, "pause")
    follow(db, run_id, lambda run: run["status"] in ("paused", "completed", "failed", "cancelled"), timeout=120)
    assert store.get_run(db, run_id)["status"] == "paused"

    where, was = cluster.reopen_run(db, tunewright_home, run_id)
    assert cluster.resend(where, db, tunewright_home, run_id, was)
    wait_for(lambda: store.get_run(db, run_id)["status"] in ("completed", "failed", "cancelled"), timeout=400, every=1)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))
    codes = [e["code"] for e in store.events(db, run_id)]
    assert codes.index("run.paused") < codes.index("cluster.resent") < codes.index("run.resumed")


def test_near_the_time_limit_the_job_checkpoints_requeues_and_continues(tunewright_home, localhost, tiny_classify_config):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = training_there(db, tunewright_home, localhost, tiny_classify_config, epochs=20)

    # What Slurm sends the batch script five minutes before the time limit (#SBATCH --signal=B:USR2@300).
    on_the_login_node(localhost, f"scancel --batch --signal=USR2 {cluster.SyncState.read(db, run_id).job_id}")
    follow(db, run_id, lambda run: any(e["code"] == "run.resumed" for e in store.events(db, run_id)), timeout=300)
    follow(db, run_id, lambda run: run["status"] in ("completed", "failed", "cancelled"), timeout=400)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))  # nothing lost or repeated
    codes = [e["code"] for e in store.events(db, run_id)]
    assert codes.index("run.paused") < codes.index("run.resumed")


def test_a_preempted_job_checkpoints_waits_in_the_queue_and_continues(tunewright_home, localhost, tiny_classify_config):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = training_there(db, tunewright_home, localhost, tiny_classify_config, epochs=20)

    # What a preemption with PreemptMode=REQUEUE does: TERM to every step and the batch script, then requeue.
    on_the_login_node(localhost, f"scontrol requeue {cluster.SyncState.read(db, run_id).job_id}")
    follow(db, run_id, lambda run: any(e["code"] == "run.resumed" for e in store.events(db, run_id)), timeout=300)
    follow(db, run_id, lambda run: run["status"] in ("completed", "failed", "cancelled"), timeout=400)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))  # nothing lost or repeated
    codes = [e["code"] for e in store.events(db, run_id)]
    assert "cluster.requeued" in codes and "run.cancelled" not in codes and "run.failed" not in codes


def test_a_scancel_by_hand_on_the_cluster_ends_the_run_cancelled(tunewright_home, localhost, tiny_classify_config):
    """The same TERM as a preemption, but no requeue follows: the run must not wait for one."""
    db = store.open_db(store.database_path(tunewright_home))
    run_id = training_there(db, tunewright_home, localhost, tiny_classify_config, epochs=40)

    on_the_login_node(localhost, f"scancel {cluster.SyncState.read(db, run_id).job_id}")
    follow(db, run_id, lambda run: run["status"] in ("cancelled", "completed", "failed", "queued"), timeout=120)
    run = store.get_run(db, run_id)
    assert run["status"] == "cancelled", run["status"]
    assert train_steps(db, run_id) == list(range(1, run["step"] + 1)), remote_story(db, run_id)
    said = [e["message"] for e in store.events(db, run_id) if e["code"] == "cluster.cancelled_there"]
    assert said and said[0].startswith("The job was cancelled on the cluster, not from this window")

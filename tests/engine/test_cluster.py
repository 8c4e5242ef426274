"""A Slurm cluster over SSH (engine/cluster.py): its settings, the connection test's sentences, the batch
script, and a remote run's rows copied into the local database as the window would see them."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cluster, store
from engine.config import ConfigError
from tests.engine.helpers import ROOT


def a_cluster(**values) -> cluster.Cluster:
    return cluster.Cluster(**({"name": "hpc", "host": "login.hpc.example.org", "user": "ada", "partition": "gpu",
                                "account": "lab42", "gpus_per_job": 2} | values))


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"host": ""}, "login node"),
        ({"host": "login hpc; rm -rf"}, "not an address"),
        ({"time_limit": "4 hours"}, "hours:minutes:seconds"),
        ({"gpus_per_job": -1}, "0 \\(none\\) or more"),
        ({"key_file": "/nowhere/id_ed25519"}, "does not exist"),
    ],
)
def test_a_cluster_setting_that_cannot_work_is_said_plainly(values, said):
    with pytest.raises(ConfigError, match=said):
        a_cluster(**values)


def test_a_cluster_is_added_once_and_kept_privately(tunewright_home):
    cluster.save_cluster(a_cluster(), tunewright_home)
    cluster.save_cluster(a_cluster(name="other", host="10.0.0.5"), tunewright_home)
    cluster.save_cluster(a_cluster(partition="a100"), tunewright_home)  # the same name: replaced
    kept = cluster.load_clusters(tunewright_home)
    assert [(c.name, c.partition) for c in kept] == [("other", "gpu"), ("hpc", "a100")]
    assert stat.S_IMODE((tunewright_home / cluster.CLUSTERS).stat().st_mode) == 0o600
    assert "password" not in (tunewright_home / cluster.CLUSTERS).read_text()


def test_the_batch_script_requeues_before_the_time_limit_and_is_valid_bash(tmp_path):
    script = cluster.batch_script(a_cluster(time_limit="1-00:00:00"), "~/tunewright/runs/00007")
    for line in ("#SBATCH --requeue", "#SBATCH --signal=B:USR2@300", "#SBATCH --time=1-00:00:00",
                 "#SBATCH --partition=gpu", "#SBATCH --account=lab42", "#SBATCH --gpus-per-node=2"):
        assert line in script
    assert 'cd "$HOME"/tunewright/runs/00007' in script
    assert "scontrol requeue" in script and "-m engine job" in script
    (tmp_path / "job.sh").write_text(script)
    assert subprocess.run(["bash", "-n", str(tmp_path / "job.sh")]).returncode == 0


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this computer")
def test_an_unreachable_login_node_is_one_sentence():
    problems = cluster.connection_test(a_cluster(host="127.0.0.1", port=1))
    assert problems == [
        "This computer cannot reach 127.0.0.1. Check the address, and that you are on the institute's network or its VPN."
    ]


def rows_over_the_cli(remote_home):
    """What ssh would run on the login node: `tunewright-engine rows` against the cluster's database."""

    def fetch(run_id):
        def answer(after_metric: int, after_event: int) -> dict:
            done = subprocess.run(
                [sys.executable, "-m", "engine", "rows", str(run_id), "--after-metric", str(after_metric),
                 "--after-event", str(after_event)],
                capture_output=True, text=True, cwd=ROOT, env={**os.environ, "TUNEWRIGHT_HOME": str(remote_home)},
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        return answer

    return fetch


def test_a_remote_runs_rows_arrive_here_and_follow_its_resume(tmp_path, tunewright_home):
    remote_home = tmp_path / "cluster-home"
    remote = store.open_db(store.database_path(remote_home))
    remote_id = store.create_run(remote, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(remote, remote_id, status="running", total_steps=10)
    store.add_metric_steps(remote, remote_id, [(s, {"train_loss": 2.0 / s}) for s in range(1, 6)])
    store.add_event(remote, remote_id, "run.started", device="NVIDIA H100")

    local = store.open_db(store.database_path(tunewright_home))
    local_id = store.create_run(local, kind="classify", config={"model": "m", "data": "d"})
    fetch = rows_over_the_cli(remote_home)(remote_id)

    state = cluster.sync(local, local_id, fetch)
    assert store.metric_series(local, local_id, "train_loss") == store.metric_series(remote, remote_id, "train_loss")
    assert store.get_run(local, local_id)["status"] == "running" and store.get_run(local, local_id)["total_steps"] == 10
    assert [e["message"] for e in store.events(local, local_id)] == ["Training started on NVIDIA H100."]
    assert state.lag_seconds is not None and state.last_contact is not None

    # The cluster resumed from its checkpoint at step 3: its steps 4 and 5 were dropped and trained again.
    store.drop_metrics_after(remote, remote_id, 3)
    store.add_metric_steps(remote, remote_id, [(s, {"train_loss": 1.0 / s}) for s in range(4, 9)])
    store.add_event(remote, remote_id, "run.resumed", step=3, total_steps=10)
    cluster.sync(local, local_id, fetch)
    assert store.metric_series(local, local_id, "train_loss") == store.metric_series(remote, remote_id, "train_loss")
    assert [step for step, _ in store.metric_series(local, local_id, "train_loss")] == list(range(1, 9))

    cluster.sync(local, local_id, fetch)  # nothing new: nothing doubled
    assert len(store.metric_series(local, local_id, "train_loss")) == 8
    assert len(store.events(local, local_id)) == 2


def test_the_bundle_carries_the_data_and_a_local_model_by_paths_inside_it(tmp_path, tiny_classify_config):
    bundle = cluster.make_bundle(tiny_classify_config, tmp_path / "bundle")
    config = json.loads((bundle / "config.json").read_text())
    assert not os.path.isabs(config["data"]) and not os.path.isabs(config["model"])
    assert (bundle / config["data"]).read_bytes() == open(tiny_classify_config["data"], "rb").read()
    assert (bundle / config["model"] / "config.json").exists()
    assert {k: v for k, v in config.items() if k not in ("data", "model")} == {
        k: v for k, v in tiny_classify_config.items() if k not in ("data", "model")
    }


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this computer")
def test_a_cluster_that_cannot_be_reached_keeps_the_local_rows_and_says_since_when(tmp_path, tunewright_home):
    local = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(local, kind="classify", config={"model": "m", "data": "d"})
    store.add_metric_steps(local, run_id, [(1, {"train_loss": 1.0})])
    cluster.SyncState(after_metric=1, last_contact=1_700_000_000.0).write(local, run_id)
    fetch = cluster.ssh_fetch(a_cluster(host="127.0.0.1", port=1), "~/tunewright/runs/00001")
    with pytest.raises(OSError):
        cluster.sync(local, run_id, fetch)
    assert store.metric_series(local, run_id, "train_loss") == [(1, 1.0)]
    assert cluster.SyncState.read(local, run_id).last_contact == 1_700_000_000.0


def local_transport(login: str):
    """ssh and rsync without the network: the remote command runs in a local shell, the copy is a local
    rsync. Everything else of a cluster run (the engine's `rows`, the folders) is real."""

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        if argv[0] == "ssh":
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            return subprocess.run(["bash", "-c", argv[-1]], capture_output=True, text=True, env=env)
        assert argv[0] == "rsync"
        at = argv.index("-e")
        local = [a.removeprefix(f"{login}:") for a in argv[:at] + argv[at + 2 :]]
        return subprocess.run(local, capture_output=True, text=True)

    return run


def a_finished_remote_run(folder) -> None:
    """A run folder as the batch script leaves it on the cluster: run_id, and the cluster's own data folder
    with the completed run and its trained model."""
    home = folder / "home"
    remote = store.open_db(store.database_path(home))
    remote_id = store.create_run(remote, kind="classify", config={"model": "m", "data": "d"})
    model = home / "runs" / f"{remote_id:05d}" / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights")
    (model / "config.json").write_text("{}")
    store.add_metric_steps(remote, remote_id, [(s, {"train_loss": 1.0 / s}) for s in range(1, 5)])
    store.add_artifact(remote, remote_id, "model", model, best_step=4)
    store.update_run(remote, remote_id, status="completed", step=4, total_steps=4, progress=1.0)
    (folder / "run_id").write_text(f"{remote_id}\n")


@pytest.mark.skipif(shutil.which("rsync") is None, reason="no rsync on this computer")
def test_the_finished_model_comes_back_into_the_local_data_folder(tmp_path, tunewright_home):
    remote_folder = tmp_path / "cluster" / "runs" / "host-00001"
    a_finished_remote_run(remote_folder)
    hpc = a_cluster(python=sys.executable, remote_folder=str(tmp_path / "cluster"))
    cluster.save_cluster(hpc, tunewright_home)
    local = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(local, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(local, run_id, run_dir=str(tunewright_home / "runs" / "00001"), status="running")
    cluster.SyncState(cluster="hpc", job_id="7", run_folder=str(remote_folder)).write(local, run_id)

    assert cluster.follow_once(local, tunewright_home, run=local_transport(hpc.login)) == [run_id]
    run = store.get_run(local, run_id)
    assert run["status"] == "completed" and [s for s, _ in store.metric_series(local, run_id, "train_loss")] == [1, 2, 3, 4]
    model = [a for a in store.artifacts(local, run_id) if a["kind"] == "model"]
    assert len(model) == 1 and (tunewright_home / "runs" / "00001" / "model" / "model.safetensors").read_bytes() == b"weights"
    assert "copied from hpc" in store.events(local, run_id)[-1]["message"]
    assert cluster.follow_once(local, tunewright_home, run=local_transport(hpc.login)) == []  # nothing left to follow


def test_a_preempted_job_checkpoints_and_waits_in_the_queue_instead_of_failing(tmp_path, tunewright_home, monkeypatch):
    script = cluster.batch_script(a_cluster(), "~/tunewright/runs/00007")
    assert "then touch preempted; else touch cancelled; fi' TERM" in script and "requeued \"$run\" --why preempted" in script
    assert cluster.CONTROL_SIGNALS["cancel"] != "TERM"  # a TERM under Slurm is the scheduler's

    # Under Slurm the engine takes TERM as "checkpoint and stop", as for a pause, not as a cancel.
    from engine import jobs

    db = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(db, kind="classify", config={"model": "m", "data": "d"})
    kept = {s: signal.getsignal(s) for s in (jobs.CANCEL_SIGNAL, jobs.PAUSE_SIGNAL, signal.SIGINT)}
    try:
        monkeypatch.setenv("SLURM_JOB_ID", "7")
        controls = jobs.Controls(db, run_id)
        os.kill(os.getpid(), jobs.CANCEL_SIGNAL)
        assert controls.requested() == "pause"
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)

    store.update_run(db, run_id, status="paused", checkpoint_step=12, step=12)
    done = subprocess.run([sys.executable, "-m", "engine", "requeued", str(run_id), "--why", "preempted"], cwd=ROOT,
                          env={**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert store.get_run(db, run_id)["status"] == "queued"
    assert store.events(db, run_id)[-1]["message"] == (
        "The cluster took the GPUs back: another job had priority. The run saved its work at step 12 and waits "
        "in Slurm's queue to continue from there."
    )


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this computer")
def test_a_pause_that_cannot_reach_the_cluster_is_not_left_pending(tunewright_home):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(db, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(db, run_id, status="running")
    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1), tunewright_home)
    cluster.SyncState(cluster="hpc", job_id="7", run_folder="~/tunewright/runs/x").write(db, run_id)
    with pytest.raises(OSError):
        cluster.request(db, tunewright_home, run_id, "pause")
    run = store.get_run(db, run_id)
    assert run["status"] == "running" and run["request"] is None  # the window offers Pause again
    assert cluster.SyncState.read(db, run_id).unreachable_since is not None


def answering_sbatch(job_id: str, said: list[str] | None = None):
    """ssh and rsync that succeed, with sbatch's answer (`--parsable`: the job id, then the cluster's name);
    what was run on the cluster (the command ssh was given) goes to `said`."""

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        if said is not None:
            said.append(argv[-1])
        answer = f"{job_id};hpc\n" if argv[0] == "ssh" and "sbatch" in argv[-1] else ""
        return subprocess.CompletedProcess(argv, 0, answer, "")

    return run


def a_run_for(hpc: cluster.Cluster, home: Path, config: dict) -> tuple[object, int]:
    """A run recorded for the saved cluster `hpc` (as the window's Train does), not yet sent: its database, id."""
    from engine.config import from_dict

    cluster.save_cluster(hpc, home)
    db = store.open_db(store.database_path(home))
    return db, cluster.take_run(hpc, db, home, from_dict(config))


def test_a_run_for_the_cluster_waits_in_its_queue_and_never_starts_here(tunewright_home, tiny_classify_config):
    from engine import jobs

    hpc = a_cluster(python=sys.executable)
    db, run_id = a_run_for(hpc, tunewright_home, tiny_classify_config)
    # Taken before anything is copied: no local start picks it up, no follower looks for it yet.
    assert jobs.start_next(db, home=tunewright_home) is None
    assert cluster.follow_once(db, tunewright_home, run=answering_sbatch("0")) == []

    assert cluster.send_run(hpc, db, tunewright_home, run_id, run=answering_sbatch("4242"))
    run, state = store.get_run(db, run_id), cluster.SyncState.read(db, run_id)
    assert (run["status"], run["pid"], state.job_id, state.cluster) == ("queued", None, "4242", "hpc")
    assert jobs.start_next(db, home=tunewright_home) is None and jobs.training_now(db) == []
    bundle = json.loads((tunewright_home / "runs" / f"{run_id:05d}" / "bundle" / "config.json").read_text())
    assert bundle["data"] == "data/data-intents.jsonl" and bundle["model"] == "model"


def test_a_run_that_cannot_be_sent_fails_in_one_sentence_and_keeps_its_settings(tunewright_home, tiny_classify_config):
    hpc = a_cluster(host="127.0.0.1", port=1)  # nothing listens there: ssh is refused
    db, run_id = a_run_for(hpc, tunewright_home, tiny_classify_config)
    assert not cluster.send_run(hpc, db, tunewright_home, run_id)
    run = store.get_run(db, run_id)
    assert run["status"] == "failed" and run["pid"] is None
    assert run["error"].startswith("The run could not be sent to hpc: ") and "Traceback" not in run["error"]
    assert run["error"].endswith("to start it again when the cluster answers (Cluster in the sidebar tests the connection).")
    assert run["config"]["data"] == tiny_classify_config["data"]  # nothing lost
    assert [e["code"] for e in store.events(db, run_id)][-1] == "cluster.not_sent"


def test_the_command_line_sends_a_run_to_a_cluster_by_its_name(tunewright_home, tiny_classify_config, tmp_path):
    from tests.engine.helpers import cli

    config = tmp_path / "job.json"
    config.write_text(json.dumps(tiny_classify_config))
    done = cli("run", str(config), "--cluster", "hpc", home=tunewright_home, timeout=120)
    assert done.returncode != 0 and "There is no cluster called 'hpc'. The clusters added: none yet." in done.stderr

    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1), tunewright_home)
    done = cli("run", str(config), "--cluster", "hpc", home=tunewright_home, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    run_id = int(done.stdout.split()[0])
    assert "The run could not be sent to hpc: " in done.stderr
    run = store.get_run(store.open_db(store.database_path(tunewright_home)), run_id)
    assert run["status"] == "failed" and run["error"] in done.stderr


def test_a_job_cancelled_on_the_cluster_by_hand_ends_cancelled_not_waiting_in_a_queue(tunewright_home):
    db = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(db, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(db, run_id, status="paused", checkpoint_step=12, step=13)
    done = subprocess.run([sys.executable, "-m", "engine", "cancelled-there", str(run_id)], cwd=ROOT,
                          env={**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = store.get_run(db, run_id)
    assert run["status"] == "cancelled" and run["finished_at"]
    assert store.events(db, run_id)[-1]["message"] == (
        "The job was cancelled on the cluster, not from this window (with scancel, or by the cluster's "
        "administrators). Its work up to step 12 is kept in its checkpoint."
    )


def test_a_stopped_remote_run_is_resumed_in_the_clusters_queue_never_here(tunewright_home, tiny_classify_config):
    from engine import jobs

    hpc = a_cluster(python=sys.executable)
    db, run_id = a_run_for(hpc, tunewright_home, tiny_classify_config)
    assert cluster.send_run(hpc, db, tunewright_home, run_id, run=answering_sbatch("4242"))
    store.update_run(db, run_id, status="paused", checkpoint_step=12)  # as the follower brings a pause back

    assert cluster.reopen_run(db, tunewright_home, run_id) == (hpc, "paused")
    assert store.get_run(db, run_id)["status"] == "preparing" and jobs.reconcile(db) == []  # being sent, by us
    said: list[str] = []
    assert cluster.resend(hpc, db, tunewright_home, run_id, "paused", run=answering_sbatch("4343", said))
    # The run there waits in the queue again (its job had started: it has a run_id), then its script is queued.
    assert len(said) == 1 and "queued-again" in said[0] and said[0].endswith("&& sbatch --parsable job.sh")
    run, state = store.get_run(db, run_id), cluster.SyncState.read(db, run_id)
    assert (run["status"], run["pid"], state.job_id) == ("queued", None, "4343")
    assert store.events(db, run_id)[-1]["message"].startswith("Resumed: the run waits in hpc's queue again, as Slurm job 4343")
    assert jobs.start_next(db, home=tunewright_home) is None and jobs.training_now(db) == []

    with pytest.raises(jobs.JobError, match="only a paused or stopped run can be resumed"):
        cluster.reopen_run(db, tunewright_home, run_id)  # queued already

    # Paused again, then resumed while the cluster does not answer: it stays paused, and says why.
    store.update_run(db, run_id, status="paused")
    where, was = cluster.reopen_run(db, tunewright_home, run_id)
    refused = lambda argv: subprocess.CompletedProcess(argv, 255, "", "ssh: connect to host hpc port 22: Connection refused")  # noqa: E731
    assert not cluster.resend(where, db, tunewright_home, run_id, was, run=refused)
    run = store.get_run(db, run_id)
    assert (run["status"], run["pid"], run["error"], cluster.SyncState.read(db, run_id).job_id) == ("paused", None, None, "4343")
    assert store.events(db, run_id)[-1]["message"] == (
        "The run could not be resumed on hpc: ssh: connect to host hpc port 22: Connection refused. It stays paused "
        "there, its work kept; Resume tries again (Cluster in the sidebar tests the connection)."
    )


def test_a_run_cut_off_while_it_was_sent_is_interrupted_and_resumes_by_being_sent_again(tunewright_home, tiny_classify_config):
    from engine import jobs

    hpc = a_cluster(python=sys.executable)
    db, run_id = a_run_for(hpc, tunewright_home, tiny_classify_config)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.update_run(db, run_id, pid=gone.pid)  # the window that was sending it was killed
    assert jobs.reconcile(db) == [run_id] and store.get_run(db, run_id)["status"] == "interrupted"

    said: list[str] = []
    where, was = cluster.reopen_run(db, tunewright_home, run_id)
    assert cluster.resend(where, db, tunewright_home, run_id, was, run=answering_sbatch("77", said))
    # Sent whole, as the first time: folder, bundle, then the script (nothing there to mark as queued again).
    assert said[0].startswith("mkdir -p ") and said[-1].endswith("&& sbatch --parsable job.sh") and "queued-again" not in said[-1]
    assert (store.get_run(db, run_id)["status"], cluster.SyncState.read(db, run_id).job_id) == ("queued", "77")

    # A cluster whose settings were removed meanwhile: said in a sentence, and the run stays as it was.
    store.update_run(db, run_id, status="failed")
    (tunewright_home / cluster.CLUSTERS).unlink()
    with pytest.raises(ConfigError, match="There is no cluster called 'hpc'"):
        cluster.reopen_run(db, tunewright_home, run_id)
    assert store.get_run(db, run_id)["status"] == "failed"


def test_a_job_requeued_after_its_run_ended_leaves_the_run_alone(tunewright_home, tiny_classify_config):
    """A preemption can race a run's last step: Slurm then requeues a job whose run has ended, and the batch
    script starts the engine on it again. It must not train the finished run again from step 0."""
    from engine.job import run_job
    from tests.engine.helpers import run_in_process

    db, run_id = run_in_process(tunewright_home, {**tiny_classify_config, "epochs": 1})
    before = store.get_run(db, run_id)
    assert before["status"] == "completed"
    events, metrics = len(store.events(db, run_id)), db["metrics"].count

    assert run_job(run_id, tunewright_home) == "completed"
    after = store.get_run(db, run_id)
    assert (after["status"], after["step"], after["finished_at"]) == ("completed", before["step"], before["finished_at"])
    assert len(store.events(db, run_id)) == events and db["metrics"].count == metrics

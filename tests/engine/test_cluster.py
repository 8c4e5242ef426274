"""A Slurm cluster over SSH (engine/cluster.py): its settings, the connection test's sentences, the batch
script, and a remote run's rows copied into the local database as the window would see them."""

import json
import os
import shutil
import stat
import subprocess
import sys

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
    folder = tmp_path / "local-run"
    folder.mkdir()
    fetch = rows_over_the_cli(remote_home)(remote_id)

    state = cluster.sync(local, local_id, fetch, folder)
    assert store.metric_series(local, local_id, "train_loss") == store.metric_series(remote, remote_id, "train_loss")
    assert store.get_run(local, local_id)["status"] == "running" and store.get_run(local, local_id)["total_steps"] == 10
    assert [e["message"] for e in store.events(local, local_id)] == ["Training started on NVIDIA H100."]
    assert state.lag_seconds is not None and state.last_contact is not None

    # The cluster resumed from its checkpoint at step 3: its steps 4 and 5 were dropped and trained again.
    store.drop_metrics_after(remote, remote_id, 3)
    store.add_metric_steps(remote, remote_id, [(s, {"train_loss": 1.0 / s}) for s in range(4, 9)])
    store.add_event(remote, remote_id, "run.resumed", step=3, total_steps=10)
    cluster.sync(local, local_id, fetch, folder)
    assert store.metric_series(local, local_id, "train_loss") == store.metric_series(remote, remote_id, "train_loss")
    assert [step for step, _ in store.metric_series(local, local_id, "train_loss")] == list(range(1, 9))

    cluster.sync(local, local_id, fetch, folder)  # nothing new: nothing doubled
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
    (tmp_path / "run").mkdir()
    cluster.SyncState(after_metric=1, last_contact=1_700_000_000.0).write(tmp_path / "run")
    fetch = cluster.ssh_fetch(a_cluster(host="127.0.0.1", port=1), "~/tunewright/runs/00001")
    with pytest.raises(OSError):
        cluster.sync(local, run_id, fetch, tmp_path / "run")
    assert store.metric_series(local, run_id, "train_loss") == [(1, 1.0)]
    assert cluster.SyncState.read(tmp_path / "run").last_contact == 1_700_000_000.0

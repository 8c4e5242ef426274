"""A run on a cluster in the Runs list: how old its news is, and since when the cluster cannot be reached
when the SSH connection fails (a real ssh to a port nothing listens on); its news arrives when it answers."""

from __future__ import annotations

import os
import re
import shutil
import sys

import pytest

from engine import cluster, store
from gui.pages.runs import RunsPage
from gui.state.runs import RunsModel
from tests.engine.test_cluster import a_cluster, a_finished_remote_run, local_transport

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None or shutil.which("rsync") is None, reason="no ssh or rsync")


def test_a_remote_run_says_how_old_its_news_is_and_since_when_the_cluster_is_out_of_reach(qtbot, client, home, tmp_path):
    remote_folder = tmp_path / "cluster" / "runs" / "host-00001"
    a_finished_remote_run(remote_folder)
    run_id = store.create_run(client.db, kind="classify", config={"model": "m", "data": "d"}, name="Sorting on the cluster")
    store.update_run(client.db, run_id, run_dir=str(home / "runs" / "00001"), status="running", step=2, total_steps=4)
    cluster.SyncState(cluster="hpc", job_id="7", run_folder=str(remote_folder)).write(client.db, run_id)
    # The saved cluster's login node does not answer: ssh to a port nothing listens on.
    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1, python=sys.executable), home)

    assert cluster.follow_once(client.db, home) == [run_id]
    runs = RunsModel(client)
    page = RunsPage(runs)
    qtbot.addWidget(page)
    page.resize(1500, 300)
    page.show()
    runs.refresh()
    row = page.visible_rows()[0]
    assert re.fullmatch(r"Sorting on the cluster · hpc unreachable since \d\d:\d\d", row["Name"]), row
    from gui.pages.run_view import RunView

    assert re.search(r"hpc unreachable since \d\d:\d\d$", RunView._summary(client.get_run(run_id), "running"))
    lost = [e["message"] for e in store.events(client.db, run_id) if e["code"] == "cluster.lost"]
    assert len(lost) == 1 and lost[0].startswith("Tunewright cannot reach hpc since ")
    cluster.follow_once(client.db, home)  # still out of reach: said once, the time it began kept
    assert len([e for e in store.events(client.db, run_id) if e["code"] == "cluster.lost"]) == 1
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        page.grab().save(os.path.join(folder, "runs-remote-unreachable.png"))

    # It answers again: the news arrives, the run says how old it is, then the model comes back.
    store.update_run(client.db, run_id, status="running")
    cluster.save_cluster(a_cluster(python=sys.executable), home)
    state_before = cluster.SyncState.read(client.db, run_id)
    assert state_before.unreachable_since is not None
    cluster.sync(client.db, run_id, cluster.ssh_fetch(a_cluster(python=sys.executable), str(remote_folder), local_transport("ada@login.hpc.example.org")))
    assert cluster.SyncState.read(client.db, run_id).unreachable_since is None
    assert store.events(client.db, run_id)[-1]["message"] == "hpc answers again: the run's news since then is here."
    store.update_run(client.db, run_id, status="running")  # still going there, for the look at its lag
    runs.refresh()
    row = page.visible_rows()[0]
    assert re.fullmatch(r"Sorting on the cluster · On hpc, news \d+ (s|min) old", row["Name"]), row
    assert re.search(r"On hpc, news \d+ (s|min) old$", RunView._summary(client.get_run(run_id), "running"))
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        page.grab().save(os.path.join(folder, "runs-remote-lag.png"))

    # The run view: the curve copied from the cluster, and how old its news is.
    view = RunView(client)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show_run(run_id)
    view.show()
    assert re.search(r"On hpc, news \d+ (s|min) old$", view.summary.text()), view.summary.text()
    assert len(view.watcher.series_for("train_loss")) > 0
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        qtbot.wait(100)
        view.grab().save(os.path.join(folder, "run-remote.png"))


def test_pause_of_a_remote_run_from_the_window_reaches_for_the_cluster_without_waiting_for_it(qtbot, client, home):
    run_id = store.create_run(client.db, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(client.db, run_id, status="running")
    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1), home)  # ssh is refused there
    cluster.SyncState(cluster="hpc", job_id="7", run_folder="~/tunewright/runs/x").write(client.db, run_id)
    client.pause(run_id)  # returns at once: ssh goes from a worker thread
    qtbot.waitUntil(lambda: cluster.SyncState.read(client.db, run_id).unreachable_since is not None, timeout=30_000)
    run = store.get_run(client.db, run_id)
    assert run["status"] == "running" and run["request"] is None  # Pause is offered again


def test_resume_of_a_remote_run_from_the_window_reaches_for_the_cluster_without_waiting_for_it(qtbot, client, home):
    run_id = store.create_run(client.db, kind="classify", config={"model": "m", "data": "d"})
    store.update_run(client.db, run_id, status="paused", checkpoint_step=5)
    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1), home)  # ssh is refused there
    cluster.SyncState(cluster="hpc", job_id="7", run_folder="~/tunewright/runs/x").write(client.db, run_id)
    client.resume(run_id)  # returns at once, the run taken back: ssh goes from a worker thread
    qtbot.waitUntil(lambda: store.events(client.db, run_id) != [], timeout=30_000)
    # Not reached: the run stays paused there, its work and settings kept, and Resume is offered again.
    run = store.get_run(client.db, run_id)
    assert (run["status"], run["pid"], run["checkpoint_step"], run["config"]["data"]) == ("paused", None, 5, "d")
    said = store.events(client.db, run_id)[-1]["message"]
    assert said.startswith("The run could not be resumed on hpc: ") and "It stays paused there, its work kept" in said

"""The data folder moved or restored elsewhere keeps its runs: a finished run still has its model, and an
interrupted one resumes at its step, inside the new folder, with the metrics it had."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from engine import jobs, store
from engine.config import from_dict
from tests.engine.helpers import train_steps, wait_for


def test_paths_inside_the_data_folder_are_stored_relative_to_it(tmp_path):
    db = store.open_db(store.database_path(tmp_path / "home"))
    run_id = store.create_run(db, kind="classify", config={})
    store.update_run(db, run_id, run_dir=str(tmp_path / "home" / "runs" / "00001"))
    store.add_artifact(db, run_id, "model", tmp_path / "home" / "runs" / "00001" / "model")
    store.add_artifact(db, run_id, "export", tmp_path / "elsewhere" / "model.gguf")
    assert db.execute("SELECT run_dir FROM runs").fetchone()[0] == "runs/00001"
    assert [row[0] for row in db.execute("SELECT path FROM artifacts")] == ["runs/00001/model", str(tmp_path / "elsewhere" / "model.gguf")]
    assert store.get_run(db, run_id)["run_dir"] == str(tmp_path / "home" / "runs" / "00001")


def test_a_database_from_before_finds_its_runs_after_a_move(tmp_path):
    old, new = tmp_path / "old-home", tmp_path / "new-home"
    db = store.open_db(store.database_path(old))
    run_id = store.create_run(db, kind="classify", config={})
    # As an older version stored them: absolute, in the folder's old place.
    db.execute("UPDATE runs SET run_dir = ?", [str(old / "runs" / "00001")])
    store.add_artifact(db, run_id, "model", "placeholder")
    db.execute("UPDATE artifacts SET path = ?", [str(old / "runs" / "00001" / "model")])
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm005_paths_inside_the_data_folder'")
    db.conn.commit()
    db.close()
    (old / "runs" / "00001" / "model").mkdir(parents=True)
    shutil.move(old, new)

    db = store.open_db(store.database_path(new))
    assert store.get_run(db, run_id)["run_dir"] == str(new / "runs" / "00001")
    assert store.artifacts(db, run_id)[0]["path"] == str(new / "runs" / "00001" / "model")


@pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")
def test_a_moved_home_keeps_finished_models_and_resumes_interrupted_runs(tunewright_home, tiny_classify_config, tmp_path, monkeypatch):
    db = store.open_db(store.database_path(tunewright_home))
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4, "checkpoint_minutes": 0.005})
    finished, killed = jobs.submit(db, config, home=tunewright_home), jobs.submit(db, config, home=tunewright_home)
    for run_id in (finished, killed):
        jobs.launch(db, run_id, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, killed)["checkpoint_step"] or 0) >= 3, timeout=180, every=0.05)
    os.kill(store.get_run(db, killed)["pid"], signal.SIGKILL)
    wait_for(lambda: store.get_run(db, finished)["status"] == "completed", timeout=300)
    wait_for(lambda: killed in jobs.reconcile(db) or store.get_run(db, killed)["status"] == "interrupted", timeout=10)
    kept_step = store.get_run(db, killed)["checkpoint_step"]
    kept_rows = [step for step in train_steps(db, killed) if step <= kept_step]
    db.close()

    new_home = tmp_path / "restored" / "Tunewright"
    new_home.parent.mkdir()
    shutil.move(tunewright_home, new_home)
    monkeypatch.setenv("TUNEWRIGHT_HOME", str(new_home))
    db = store.open_db(store.database_path(new_home))

    model = next(a for a in store.artifacts(db, finished) if a["kind"] == "model")
    assert Path(model["path"]).is_relative_to(new_home) and (Path(model["path"]) / "config.json").exists()

    jobs.resume(db, killed, home=new_home)
    wait_for(lambda: store.get_run(db, killed)["status"] not in ("queued", "preparing", "running"), timeout=300)
    run = store.get_run(db, killed)
    assert run["status"] == "completed", run["error"]
    assert Path(run["run_dir"]).is_relative_to(new_home)
    assert any(e["code"] == "run.resumed" and f"step {kept_step} " in e["message"] for e in store.events(db, killed))
    assert train_steps(db, killed)[: len(kept_rows)] == kept_rows == list(range(1, kept_step + 1))
    assert train_steps(db, killed) == list(range(1, run["total_steps"] + 1))
    assert not tunewright_home.exists()  # nothing was written to the old place

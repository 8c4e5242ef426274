"""A damaged checkpoint file is passed over: for the checkpoint before it, then the best weights so far, then
a fresh start, each said in one sentence; never torch's own message, never a silent start at step 0."""

from __future__ import annotations

import os
import signal

import pytest

from engine import jobs, store
from engine.checkpoints import save_best
from engine.config import from_dict
from tests.engine.helpers import train_steps, wait_for
from tests.reliability.test_checkpoint_crashes import Trainer, same, trainer_weights


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path):
    data = bytearray(path.read_bytes())
    data[40:240] = bytes(range(200))
    path.write_bytes(bytes(data))


DAMAGES = {
    "truncated weights": ("trainable.safetensors", truncate, "its file trainable.safetensors is damaged"),
    "garbled optimizer": ("optimizer.pt", garble, "its file optimizer.pt is damaged"),
    "cut state": ("state.json", truncate, "its file state.json is damaged"),
    "deleted state": ("state.json", lambda path: path.unlink(), "its file state.json is missing"),
}


@pytest.fixture
def saved(tmp_path):
    """A run that saved at steps 1 and 2, its best weights at step 1; and the weights of each step."""
    db = store.open_db(":memory:")
    run_id = store.create_run(db, kind="classify", config={})
    trainer = Trainer(tmp_path, db, run_id)
    weights = {}
    for _ in range(2):
        trainer.step()
        trainer.save()
        weights[trainer.state.step] = trainer_weights(trainer)
        if trainer.state.step == 1:
            save_best(tmp_path, trainer.model, trainer.state)
    return tmp_path, db, run_id, weights


def events(db, run_id):
    return [(e["code"], e["message"]) for e in store.events(db, run_id)]


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_last_checkpoint_falls_back_to_the_one_before(saved, damage):
    run_dir, db, run_id, weights = saved
    name, spoil, words = DAMAGES[damage]
    spoil(run_dir / "checkpoints" / "step-0000002" / name)

    resumed = Trainer(run_dir, db, run_id)
    assert resumed.load().step == 1
    assert same(trainer_weights(resumed), weights[1])
    assert events(db, run_id) == [(
        "checkpoint.used_previous",
        f"The last checkpoint could not be used ({words}), so training picked up from the one before it, at step 1.",
    )]


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_every_checkpoint_damaged_falls_back_to_the_best_weights(saved, damage):
    run_dir, db, run_id, weights = saved
    name, spoil, words = DAMAGES[damage]
    for step in (1, 2):
        spoil(run_dir / "checkpoints" / f"step-{step:07d}" / name)

    resumed = Trainer(run_dir, db, run_id)
    state = resumed.load()
    assert state.step == 1 and same(trainer_weights(resumed), weights[1])
    assert resumed.scheduler.last_epoch == 1  # the schedule goes on from that step, not from the warm-up
    assert events(db, run_id) == [(
        "checkpoint.used_best",
        f"No checkpoint could be used ({words}), so training picked up from the best model so far, at step 1; "
        "only the optimizer's running averages start afresh.",
    )]
    assert "weights_only" not in str(store.events(db, run_id))


def test_nothing_readable_starts_again_and_says_so(saved):
    run_dir, db, run_id, _ = saved
    for step in (1, 2):
        (run_dir / "checkpoints" / f"step-{step:07d}" / "state.json").unlink()
    truncate(run_dir / "best" / "trainable.safetensors")

    assert Trainer(run_dir, db, run_id).load().step == 0
    assert events(db, run_id) == [(
        "checkpoint.fresh_start",
        "No checkpoint and no best model so far could be used (its file state.json is missing), so training "
        "starts again from the beginning.",
    )]


def test_checkpoint_folder_deleted_is_not_a_silent_restart(saved):
    run_dir, db, run_id, _ = saved
    store.update_run(db, run_id, checkpoint_step=2)
    for path in (run_dir / "checkpoints").iterdir():
        if path.is_dir():
            for file in path.iterdir():
                file.unlink()
            path.rmdir()
    assert Trainer(run_dir, db, run_id).load().step == 1  # from the best weights
    assert [code for code, _ in events(db, run_id)] == ["checkpoint.used_best"]


@pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")
def test_a_run_whose_last_checkpoint_is_damaged_resumes_to_the_end(db, tunewright_home, tiny_classify_config, stop_jobs):
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4, "checkpoint_minutes": 0.005})
    run_id = jobs.start(db, config, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, run_id)["checkpoint_step"] or 0) >= 3, timeout=180, every=0.05)
    os.kill(store.get_run(db, run_id)["pid"], signal.SIGKILL)
    wait_for(lambda: store.get_run(db, run_id)["status"] == "interrupted" or run_id in jobs.reconcile(db), timeout=10)

    folder = tunewright_home / "runs" / f"{run_id:05d}" / "checkpoints"
    newest = max((path for path in folder.iterdir() if path.is_dir()), key=lambda path: path.name)
    garble(newest / "optimizer.pt")
    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] not in ("queued", "preparing", "running"), timeout=300)

    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))
    said = [e for e in store.events(db, run_id) if e["code"] == "checkpoint.used_previous"]
    assert len(said) == 1 and "optimizer.pt is damaged" in said[0]["message"]

"""A checkpoint save cut short at every one of its file operations, by an error or by the process ending
there, always leaves a run that resumes at a step it saved, with that step's weights, and saves again.

Deterministic: each file operation of a save is counted, and the save is stopped at the first, then the
second, ... until a save gets through untouched, so no point of the write is left untried.
"""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from transformers import get_cosine_schedule_with_warmup

from engine import checkpoints, store
from engine.checkpoints import TrainState, load_checkpoint, save_checkpoint, trainable_state
from engine.training import Job


class Killed(BaseException):
    """The process ends here: no `except Exception` clause runs, as after a kill -9."""


class Trainer:
    """A two-layer model with its optimizer and schedule, trained and saved as `fit` does."""

    def __init__(self, run_dir: Path, db, run_id: int) -> None:
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Linear(6, 2))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-2)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, 2, 20)
        self.job = Job(db, run_id, None, run_dir, run_dir, torch.device("cpu"), torch.float32, None)
        self.state = TrainState()

    def step(self) -> None:
        loss = self.model(torch.randn(4, 6)).square().mean()
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad()
        self.state.step += 1

    def save(self) -> None:
        save_checkpoint(self.job, self.model, self.optimizer, self.scheduler, self.state)

    def load(self) -> TrainState | None:
        self.state = load_checkpoint(self.job, self.model, self.optimizer, self.scheduler) or TrainState()
        return self.state


@pytest.fixture
def db():
    return store.open_db(":memory:")


@contextmanager
def stopped_at(monkeypatch, point: int, stop: type[BaseException]):
    """Every file operation a save makes is counted; the `point`-th raises `stop` instead of happening."""
    calls = {"count": 0}

    def counted(original):
        def operation(*args, **kwargs):
            calls["count"] += 1
            if calls["count"] == point:
                raise stop(errno.EIO, "stopped here") if stop is OSError else stop()
            return original(*args, **kwargs)
        return operation

    with monkeypatch.context() as patch:
        for module, name in [(os, "mkdir"), (os, "rename"), (os, "replace"), (os, "fsync"), (shutil, "rmtree"),
                             (checkpoints, "save_file"), (torch, "save"), (Path, "write_text")]:
            patch.setattr(module, name, counted(getattr(module, name)))
        patch.setattr(checkpoints, "open", counted(open), raising=False)
        yield calls


@pytest.mark.parametrize("stop", [OSError, Killed], ids=["error", "killed"])
def test_a_save_stopped_at_any_point_resumes_from_a_step_it_saved(tmp_path, db, monkeypatch, stop):
    point = 0
    while True:
        point += 1
        run_id = store.create_run(db, kind="classify", config={})
        run_dir = tmp_path / f"run-{point}"
        run_dir.mkdir()
        trainer = Trainer(run_dir, db, run_id)
        trainer.step()
        trainer.save()
        weights = {1: trainer_weights(trainer)}
        trainer.step()
        weights[2] = trainer_weights(trainer)
        with stopped_at(monkeypatch, point, stop) as calls:
            try:
                trainer.save()
            except (OSError, Killed):
                pass
        if calls["count"] < point:
            break  # this save ran to the end: every point before was tried

        resumed = Trainer(run_dir, db, run_id)
        step = resumed.load().step
        assert step in (1, 2), f"stopped at operation {point}: nothing to resume"
        assert same(trainer_weights(resumed), weights[step]), f"stopped at operation {point}: other weights"
        assert not any(e["code"].startswith("checkpoint.") for e in store.events(db, run_id))  # nothing was damaged
        resumed.step()
        resumed.save()
        again = Trainer(run_dir, db, run_id)
        assert again.load().step == step + 1
        left = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
        assert left == ["latest.json", f"step-{step:07d}", f"step-{step + 1:07d}"], (point, left)
    assert point > 12, f"only {point - 1} file operations in a save: the counting misses some"


def test_pausing_then_killed_while_saving_resumes_at_the_pause_or_the_save_before(tmp_path, db, monkeypatch):
    # A pause saves at the step it stopped at; a checkpoint of that same step may already exist (a periodic
    # save just before), so the pause replaces it in place: killed anywhere in that, the step is still there.
    run_id = store.create_run(db, kind="classify", config={})
    for point in range(1, 40):
        run_dir = tmp_path / f"run-{point}"
        run_dir.mkdir()
        trainer = Trainer(run_dir, db, run_id)
        trainer.step()
        trainer.save()
        with stopped_at(monkeypatch, point, Killed) as calls:
            try:
                trainer.save()  # the pause's save, of the same step
            except Killed:
                pass
        resumed = Trainer(run_dir, db, run_id)
        assert resumed.load().step == 1
        assert same(trainer_weights(resumed), trainer_weights(trainer))
        resumed.save()  # paused again at once, then trained on: whatever the kill left does not block a save
        resumed.step()
        resumed.save()
        assert Trainer(run_dir, db, run_id).load().step == 2
        if calls["count"] < point:
            return
    pytest.fail("a save took more than 40 file operations")


def trainer_weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return trainable_state(trainer.model)


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)

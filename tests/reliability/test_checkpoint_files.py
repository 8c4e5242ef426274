"""Saving is all or nothing: a full disk, whatever library was writing, is one sentence and leaves the last
good save in place; a process killed between the two renames of a save is recovered on the next start."""

from __future__ import annotations

import errno
import json

import pytest

from engine.checkpoints import DiskFull, saved_checkpoint_step, write_atomically


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "runs" / "00007"
    (folder / "checkpoints" / "step-0000040").mkdir(parents=True)
    (folder / "checkpoints" / "step-0000040" / "state.json").write_text(json.dumps({"step": 40}))
    (folder / "checkpoints" / "latest.json").write_text(json.dumps({"folder": "step-0000040"}))
    (folder / "model").mkdir()
    (folder / "model" / "model.safetensors").write_bytes(b"the model saved before")
    return folder


def fails_with(error: BaseException):
    def write(folder):
        (folder / "half-written.bin").write_bytes(b"x" * 1000)
        raise error
    return write


def torch_style() -> RuntimeError:
    """torch.save through a Python file: a RuntimeError whose context is the OSError."""
    try:
        try:
            raise OSError(errno.EFBIG, "File too large")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    except RuntimeError as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        Exception("Error while serializing: I/O error: No space left on device (os error 28)"),  # safetensors
        torch_style(),
    ],
    ids=["ENOSPC", "EDQUOT", "safetensors", "torch"],
)
def test_a_full_disk_is_one_sentence_and_the_last_save_is_kept(run_dir, error):
    with pytest.raises(DiskFull) as full:
        write_atomically(run_dir / "model", fails_with(error), "the trained model")
    assert str(full.value) == (
        f"There is not enough disk space to save the trained model in {run_dir}: free some space and resume; "
        "the previous checkpoint (step 40) is intact."
    )
    assert (run_dir / "model" / "model.safetensors").read_bytes() == b"the model saved before"
    assert not (run_dir / "model.partial").exists()  # the half-written copy gave its space back


def test_a_full_disk_before_any_checkpoint_says_training_starts_again(tmp_path):
    with pytest.raises(DiskFull, match="no checkpoint had been saved yet, so training starts again from the beginning"):
        write_atomically(tmp_path / "checkpoint", fails_with(OSError(errno.ENOSPC, "full")))


def test_other_errors_pass_through_and_leave_no_partial_copy(run_dir):
    with pytest.raises(ValueError, match="a bug"):
        write_atomically(run_dir / "checkpoints" / "step-0000050", fails_with(ValueError("a bug")))
    assert not (run_dir / "checkpoints" / "step-0000050.partial").exists() and saved_checkpoint_step(run_dir) == 40


def test_a_save_killed_between_its_two_renames_is_recovered(run_dir):
    # The kill came after the folder became ".old" and before the new one took its name.
    saved = run_dir / "checkpoints" / "step-0000040"
    saved.rename(saved.with_name(saved.name + ".old"))
    saved.with_name(saved.name + ".partial").mkdir()
    assert saved_checkpoint_step(run_dir) == 40
    assert (saved / "state.json").exists()


def test_a_checkpoint_saved_before_the_numbered_folders_is_still_read(tmp_path):
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.json").write_text(json.dumps({"step": 12}))
    assert saved_checkpoint_step(tmp_path) == 12

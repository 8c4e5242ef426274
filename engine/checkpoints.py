"""Checkpoints: what a run saves so that a kill at any moment, or a damaged file, costs at most the steps
since the last save.

A run's folder holds `checkpoints/step-0000040/` (a complete save: weights being trained, optimizer,
schedule, random state, `state.json`) and `checkpoints/latest.json`, which names the newest one. A save is
written under a temporary name, flushed to disk, renamed into place, and only then does `latest.json`
name it (`os.replace`, atomic); the save before it is kept, older ones are deleted after. So every crash
point leaves the previous save readable, and whatever an earlier crash left half-done is cleaned up by the
next save. Reading goes newest first and passes over a damaged save to the one before, then to the best
weights so far, then to a fresh start, and says in an event which it took.

With several processes rank 0 writes, and every rank calls the savers: the weights and optimizer state of a
model divided among the ranks (engine/sharding.py) are gathered from all of them first. What is written is the
same either way, so a save resumes on any number of processes.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from engine import distributed, sharding, store
from engine.protocol import CHECKPOINT_PROBLEMS, message

if TYPE_CHECKING:
    from engine.training import Job

CHECKPOINTS = "checkpoints"
POINTER = "latest.json"
BEST = "best"
LEGACY = "checkpoint"  # the one folder of runs saved before `checkpoints/`; read, never written


@dataclass
class TrainState:
    """Where training is; saved in every checkpoint so a resumed run continues at the exact step."""

    step: int = 0  # optimizer steps done
    epoch: int = 0
    batch_in_epoch: int = 0  # steps of `epoch` done
    best_metric: float | None = None
    best_step: int = 0
    best_loss: float | None = None  # the lowest held-out loss so far
    evals_without_improvement: int = 0  # checks in a row where neither the score nor the held-out loss improved
    lr_scale: float = 1.0  # halved each time the health monitor rolls a diverged run back


# ---------------------------------------------------------------- weights


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights training changes: those it trains, and the running statistics of batch norms (an image
    network's), which it moves without a gradient. Without them, the best step's weights would be read back
    beside the last step's statistics."""
    state = {name: p.detach().contiguous().clone() for name, p in model.named_parameters() if p.requires_grad}
    if state:
        state |= {name: b.detach().contiguous().clone() for name, b in _running_statistics(model).items()}
    return state


def _running_statistics(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}" if prefix else name: buffer
            for prefix, module in model.named_modules() if getattr(module, "track_running_stats", False)
            for name, buffer in module.named_buffers(recurse=False) if buffer is not None}


def load_trainable_state(model: torch.nn.Module, path: Path) -> None:
    _apply_weights(model, _read_weights(model, path))


def _read_weights(model: torch.nn.Module, path: Path) -> dict[str, torch.Tensor]:
    """The saved weights, checked against the model's before any is copied in."""
    state = load_file(str(path), device=str(_reading_device(model, next(model.parameters()).device)))
    params = dict(model.named_parameters()) | _running_statistics(model)
    for name, value in state.items():
        if name not in params or params[name].shape != value.shape:
            raise ValueError(f"{path.name} holds {name} {tuple(value.shape)}, which this model does not have")
    return state


def _reading_device(model: torch.nn.Module, device: torch.device) -> torch.device:
    """Where saved tensors are read to: the model's device, or the CPU for a model divided among GPUs, whose whole
    tensors may not fit one (each rank then copies its share over)."""
    return torch.device("cpu") if sharding.is_sharded(model) else device


def _apply_weights(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    if sharding.is_sharded(model):
        sharding.load_weights(model, state)
        return
    params = dict(model.named_parameters()) | _running_statistics(model)
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


# ---------------------------------------------------------------- writing a folder all or nothing


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class DiskFull(Exception):
    """Saving `what` into `folder` ran out of disk space (or hit a file-size limit). Whatever was saved
    there before is intact; `message_code` and `values` give the sentence the user reads."""

    def __init__(self, what: str, folder: Path) -> None:
        self.folder = folder
        run_dir = folder.parent.parent if folder.parent.name == CHECKPOINTS else folder.parent
        step = saved_checkpoint_step(run_dir)
        if step is None:
            self.message_code, self.values = "disk.full_first", {"what": what, "folder": run_dir}
        else:
            self.message_code, self.values = "disk.full", {"what": what, "folder": run_dir, "step": step}
        super().__init__(message(self.message_code, **self.values)[1])


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC, EFBIG or EDQUOT, however the library that was writing wrapped it: torch raises a RuntimeError
    whose context is the OSError; safetensors (Rust) only names the OS error in its text."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if any(f"(os error {number})" in str(seen) for number in DISK_FULL_ERRNOS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def write_atomically(folder: Path, write: Callable[[Path], None], what: str = "the checkpoint") -> None:
    """Write into a sibling folder, flush it to disk, then swap it in: a crash or full disk at any point
    keeps the old one (or, after the swap, the new one). A full disk removes the partial copy (giving its
    space back) and raises `DiskFull`."""
    partial = folder.with_name(folder.name + ".partial")
    old = folder.with_name(folder.name + ".old")
    recover_swap(folder)
    if partial.exists():
        shutil.rmtree(partial)
    try:
        os.mkdir(partial)
        write(partial)
        _flush_folder(partial)
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        if is_disk_full(error):
            raise DiskFull(what, folder) from error
        raise
    replacing = folder.exists()
    if replacing:
        os.rename(folder, old)
    os.rename(partial, folder)
    _flush(folder.parent)
    if replacing:
        shutil.rmtree(old)


def recover_swap(folder: Path) -> None:
    """Finish a swap an earlier process was killed in: put `.old` back if the new folder never took its
    name; delete it if it did."""
    old = folder.with_name(folder.name + ".old")
    if old.exists():
        if folder.exists():
            shutil.rmtree(old)
        else:
            os.rename(old, folder)


def _flush(path: Path) -> None:
    """Ask the OS to put `path` (a file, or a folder's list of names) on the disk itself, so a rename that
    follows cannot reach the disk before the data it names."""
    folder = path.is_dir()
    if os.name != "posix" and folder:
        return  # Windows cannot open a folder for flushing; NTFS journals renames itself
    handle = os.open(path, os.O_RDONLY if folder else os.O_RDWR)  # (Windows flushes only what it may write)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _flush_folder(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            _flush(path)
    _flush(folder)


# ---------------------------------------------------------------- saving


def _gathered(model, optimizer=None) -> tuple[dict[str, torch.Tensor], dict] | None:
    """The trained weights (and the optimizer's state) whole, on rank 0; None on the other ranks."""
    world = distributed.current()
    if sharding.is_sharded(model):  # every rank takes part in gathering
        weights = sharding.full_weights(model)
        optimizer_state = sharding.full_optimizer_state(model, optimizer) if optimizer is not None else {}
        return (weights, optimizer_state) if world.is_main else None
    if not world.is_main:
        return None
    return trainable_state(model), optimizer.state_dict() if optimizer is not None else {}


def save_checkpoint(job: Job, model, optimizer, scheduler, state: TrainState) -> None:
    """Every rank calls it; rank 0 writes."""
    if (gathered := _gathered(model, optimizer)) is None:
        return
    weights, optimizer_state = gathered

    def write(folder: Path) -> None:
        save_file(weights, str(folder / "trainable.safetensors"))
        saved = {
            "optimizer": optimizer_state,
            "scheduler": scheduler.state_dict(),
            # Dropout draws from torch's generators; data order is fixed by (seed, epoch) instead.
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }
        # Through a Python file, so a full disk surfaces as the OSError it is (torch's own writer says less).
        with open(folder / "optimizer.pt", "wb") as handle:
            torch.save(saved, handle)
        (folder / "state.json").write_text(json.dumps(asdict(state), indent=2))

    root = job.run_dir / CHECKPOINTS
    root.mkdir(exist_ok=True)
    name = f"step-{state.step:07d}"
    write_atomically(root / name, write)
    _point_to(root, name)
    _prune(job.run_dir)
    store.update_run(job.db, job.run_id, checkpoint_step=state.step)


def save_best(run_dir: Path, model, state: TrainState) -> None:
    """The best weights so far, with the state they were reached in, for the model and as a last fallback.
    Every rank calls it; rank 0 writes."""
    if (gathered := _gathered(model)) is None:
        return
    weights, _ = gathered

    def write(folder: Path) -> None:
        save_file(weights, str(folder / "trainable.safetensors"))
        (folder / "state.json").write_text(json.dumps(asdict(state), indent=2))

    write_atomically(run_dir / BEST, write, "the best model so far")


def _point_to(root: Path, name: str) -> None:
    temporary = root / (POINTER + ".partial")
    with open(temporary, "w") as handle:
        json.dump({"folder": name}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / POINTER)
    _flush(root)


def _prune(run_dir: Path) -> None:
    """Keep the newest save and the one before it; delete older ones and any half-written leftovers."""
    keep = {folder.name for folder in checkpoint_folders(run_dir)[:2]}
    root = run_dir / CHECKPOINTS
    for path in root.iterdir():
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path)
    if (run_dir / LEGACY).exists():
        shutil.rmtree(run_dir / LEGACY)


# ---------------------------------------------------------------- reading


def checkpoint_folders(run_dir: Path) -> list[Path]:
    """The complete saves, the one `latest.json` names first, then the others newest first; a run saved
    before `checkpoints/` existed has its one `checkpoint/` folder last."""
    root = run_dir / CHECKPOINTS
    recover_swap(run_dir / LEGACY)
    found = []
    if root.is_dir():
        for leftover in root.glob("*.old"):
            recover_swap(leftover.with_suffix(""))
        found = [path for path in root.iterdir() if path.name.startswith("step-") and path.name[5:].isdigit()]
    found.sort(key=lambda path: int(path.name[5:]), reverse=True)
    try:
        latest = root / json.loads((root / POINTER).read_text())["folder"]
    except (OSError, ValueError, KeyError, TypeError):
        latest = None
    if latest in found:  # after a crash between a save's rename and its pointer, the pointer's is trusted
        found.remove(latest)
        found.insert(0, latest)
    if (run_dir / LEGACY).is_dir():
        found.append(run_dir / LEGACY)
    return found


def saved_checkpoint_step(run_dir: Path) -> int | None:
    """The step of the newest readable checkpoint's state, if there is one."""
    for folder in checkpoint_folders(run_dir):
        try:
            return _read_state(folder).step
        except (OSError, ValueError, TypeError):
            continue
    return None


def _read_state(folder: Path) -> TrainState:
    values = json.loads((folder / "state.json").read_text())
    if not isinstance(values, dict) or not isinstance(values.get("step"), int):
        raise ValueError("state.json has no step")
    known = {field.name for field in fields(TrainState)}
    return TrainState(**{key: value for key, value in values.items() if key in known})


class _Damaged(Exception):
    """One file of a save could not be read or does not fit the model."""

    def __init__(self, folder: Path, name: str) -> None:
        problem = "damaged" if (folder / name).exists() else "missing"
        super().__init__(CHECKPOINT_PROBLEMS[problem].format(file=name))


def _read_checkpoint(folder: Path, model, device: torch.device) -> tuple[TrainState, dict[str, torch.Tensor], dict]:
    """Everything a save holds, read and checked before any of it touches the model or optimizer."""

    def reading(name: str, read: Callable[[], object]):
        try:
            return read()
        except Exception as error:  # noqa: BLE001 - any reader's failure means this save cannot be used
            raise _Damaged(folder, name) from error

    state = reading("state.json", lambda: _read_state(folder))
    weights = reading("trainable.safetensors", lambda: _read_weights(model, folder / "trainable.safetensors"))
    landing = _reading_device(model, device)
    saved = reading("optimizer.pt", lambda: torch.load(folder / "optimizer.pt", weights_only=True, map_location=landing))
    if not isinstance(saved, dict) or not {"optimizer", "scheduler", "rng"} <= saved.keys():
        raise _Damaged(folder, "optimizer.pt")
    return state, weights, saved


def load_checkpoint(job: Job, model, optimizer, scheduler) -> TrainState | None:
    """Restore the newest readable save into the model, optimizer and schedule, and return its state.
    A damaged save is passed over for the one before it, then for the best weights so far (with a fresh
    optimizer), each said in an event; None when nothing was saved, or nothing saved can be read (said too,
    so a run never silently starts again at step 0)."""
    recover_swap(job.run_dir / BEST)  # the best weights too may have been cut short mid-swap
    damaged: list[str] = []  # what was wrong with each save passed over, in words
    for folder in checkpoint_folders(job.run_dir):
        try:
            state, weights, saved = _read_checkpoint(folder, model, job.device)
            if sharding.is_sharded(model):
                sharding.load_optimizer_state(model, optimizer, saved["optimizer"])
            else:
                optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            _apply_weights(model, weights)  # last: a save passed over leaves the model as it was
        except _Damaged as error:
            damaged.append(str(error))
            continue
        except (ValueError, KeyError, TypeError, RuntimeError):  # the optimizer's or schedule's state is not this run's
            damaged.append(CHECKPOINT_PROBLEMS["damaged"].format(file="optimizer.pt"))
            continue
        torch.set_rng_state(saved["rng"]["torch"].cpu())
        if saved["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([value.cpu() for value in saved["rng"]["cuda"]])
        if damaged:
            job.event("checkpoint.used_previous", what=damaged[0], step=state.step)
        return state

    expected = bool(damaged) or (store.get_run(job.db, job.run_id)["checkpoint_step"] or 0) > 0
    if not expected:
        return None
    what = damaged[0] if damaged else CHECKPOINT_PROBLEMS["gone"]
    state = _restore_best(job, model, scheduler)
    if state is not None:
        job.event("checkpoint.used_best", what=what, step=state.step)
        return state
    job.event("checkpoint.fresh_start", what=what)
    return None


def _restore_best(job: Job, model, scheduler) -> TrainState | None:
    """The best weights so far and the state they were reached in; the schedule is moved to that step, the
    optimizer's running averages start afresh."""
    folder = job.run_dir / BEST
    recover_swap(folder)
    try:
        state = _read_state(folder)
        _apply_weights(model, _read_weights(model, folder / "trainable.safetensors"))
    except Exception:  # noqa: BLE001 - unreadable best weights leave only a fresh start
        return None
    scheduler.base_lrs = [lr * state.lr_scale for lr in scheduler.base_lrs]
    with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": deliberate here
        warnings.simplefilter("ignore")
        for _ in range(state.step):
            scheduler.step()
    return state


"""The pieces every recipe shares: the job's context, its controls, checkpoints, and the training loop.

A recipe (engine/recipes/) reads its data, builds its model, and hands `fit` four plain functions: which
examples make up each step of an epoch, how to turn them into micro-batches, the summed loss of a
micro-batch, and how to evaluate. `fit` owns what must be the same for every job: the exact, resumable data
order; the optimizer and schedule; metric rows; periodic evaluation with the best weights kept; early
stopping; checkpoints at least every few minutes; and pause/cancel at a step boundary.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sqlite_utils import Database

from engine import distributed, proven, sharding, store
from engine.checkpoints import (  # noqa: F401 - DiskFull and saved_checkpoint_step: the job reads them here
    DiskFull,
    TrainState,
    load_checkpoint,
    load_trainable_state,
    save_best,
    save_checkpoint,
    saved_checkpoint_step,
    write_atomically,
)
from engine.config import ConfigError, JobConfig
from engine.health import Monitor
from engine.hardware import memory_metrics
from engine.jobs import Controls
from engine.protocol import Status, message, metric_words

MicroBatch = dict[str, Any]  # tensors plus "count": the units (examples or trained tokens) its loss sums over


# ---------------------------------------------------------------- the job's context


@dataclass
class Job:
    """What a recipe is given: where to write, what to train, on what."""

    db: Database
    run_id: int
    config: JobConfig
    run_dir: Path
    home: Path
    device: torch.device
    dtype: torch.dtype
    controls: Controls

    def event(self, code: str, **values: Any) -> None:
        store.add_event(self.db, self.run_id, code, **values)

    def artifact(self, kind: str, path: Path, **metadata: Any) -> None:
        store.add_artifact(self.db, self.run_id, kind, path, **metadata)

    def save_config(self) -> None:
        """Store the settings the engine decided, so the run can be repeated exactly."""
        store.update_run(self.db, self.run_id, config=json.dumps(self.config.to_dict(), sort_keys=True))


@dataclass
class Loop:
    """What the recipe tells `fit`."""

    step_batches: Callable[[int], list[list[int]]]  # epoch -> example indices of each optimizer step
    # (example indices of one step, examples per micro-batch) -> the micro-batches to accumulate over;
    # `fit` chooses the size (the config's micro_batch_size, or the whole batch) so it can shrink it.
    micro_batches: Callable[[list[int], int], list[MicroBatch]]
    loss_sum: Callable[[torch.nn.Module, MicroBatch], torch.Tensor]
    evaluate: Callable[[torch.nn.Module], dict[str, float]]
    metric: str  # the evaluation metric that picks the best checkpoint, e.g. "eval_f1"
    higher_is_better: bool
    steps_per_epoch: int
    tokens_key: str = ""  # micro-batch key counting real tokens, for tokens/s
    fresh_parameters: tuple[str, ...] = ()  # names of newly initialised parts (a classification head)


# ---------------------------------------------------------------- the loop


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def shuffled_steps(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The examples of each step of an epoch: a fixed permutation per (seed, epoch), so a resumed run sees
    exactly the order the uninterrupted run would have seen."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def make_optimizer(model: torch.nn.Module, config: JobConfig, lr: float, device: torch.device, fresh: tuple[str, ...] = ()):
    """AdamW with no decay on biases and norms. Parameters whose names contain one of `fresh` (a newly
    initialised head) learn `FRESH_LR_FACTOR` times faster: they start from nothing, the body does not."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((p.ndim >= 2, any(part in name for part in fresh)), []).append(p)
    return torch.optim.AdamW(
        [
            {"params": params, "weight_decay": config.weight_decay if decays else 0.0, "lr": lr * (FRESH_LR_FACTOR if is_fresh else 1)}
            for (decays, is_fresh), params in groups.items()
        ],
        lr=lr, betas=(0.9, 0.999), fused=device.type == "cuda" and proven.passed("fused_adamw"),
    )


FRESH_LR_FACTOR = 20


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup: int, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The rate rises in a straight line to its full value over `warmup` steps, then falls along half a cosine
    to zero at `steps`: transformers' `get_cosine_schedule_with_warmup`, step for step (a test compares them).
    Written here because importing that function imports transformers' Trainer utilities, and with them peft
    and a language model's code: 3 s of every job's start on a 2-core machine, for a full-training run that
    never uses peft. Its checkpointed state is the same (a LambdaLR's)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, steps - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def total_steps(config: JobConfig, loop: Loop) -> int:
    """max_steps when given, else the epochs (a fraction of an epoch allowed) times the steps per epoch."""
    return config.max_steps or max(1, round(config.epochs * loop.steps_per_epoch))


def fit(job: Job, model: torch.nn.Module, loop: Loop, lr: float) -> tuple[TrainState, str]:
    """Train until done, stopped early, paused or cancelled. Returns the final state and how it stopped:
    "", "early", "pause" or "cancel" (not part of the state, which a resumed run starts from)."""
    config = job.config
    steps = total_steps(config, loop)
    world = distributed.current()  # several processes share each step (engine/distributed.py); usually one
    sharded = world.size > 1 and config.sharding == "fsdp"  # the model divided among them (engine/sharding.py)
    if sharded:
        # The ranks agree on the weights while each still holds them whole; the optimizer is made for the shares.
        world.same_start(model)
        sharding.shard(model)
    optimizer = make_optimizer(model, config, lr, job.device, loop.fresh_parameters)
    scheduler = cosine_with_warmup(optimizer, round(config.warmup_fraction * steps), steps)
    eval_every = config.eval_every or max(1, math.ceil(steps / 10))

    state = load_checkpoint(job, model, optimizer, scheduler)
    if not sharded:
        world.same_start(model)
    if state is None:
        state = TrainState()
        store.drop_metrics_after(job.db, job.run_id, 0)  # rows of a process killed before its first checkpoint
        if _trainable_count(model) <= START_CHECKPOINT_LIMIT:
            save_checkpoint(job, model, optimizer, scheduler, state)  # something to roll back to if it diverges
    else:
        store.drop_metrics_after(job.db, job.run_id, state.step)
        job.event("run.resumed", step=state.step, total_steps=steps)
    store.update_run(job.db, job.run_id, status=Status.RUNNING, total_steps=steps, started_at=time.time())
    job.event("run.started", device=_device_name(job.device))

    stopped = ""
    micro_size = config.micro_batch_size or config.batch_size
    meter = _Meter(job, steps, state)
    monitor = Monitor(
        job, steps, rows=loop.steps_per_epoch * config.batch_size, metric=loop.metric,
        higher_is_better=loop.higher_is_better, warmup_steps=round(config.warmup_fraction * steps),
    )
    if state.step:
        monitor.resumed(*_curves_so_far(job, loop.metric))
    monitor.started()
    rollbacks = 0
    last_checkpoint = time.monotonic()
    autocast = torch.autocast(job.device.type, dtype=job.dtype, enabled=job.dtype != torch.float32)
    model.train()

    remaining = _remaining_steps(loop, state, steps)
    while (item := next(remaining, None)) is not None:
        epoch, batch_index, indices = item
        # Rank 0's word on stopping, and on saving a checkpoint after this step (every rank takes part in a save).
        overdue = time.monotonic() - last_checkpoint > config.checkpoint_minutes * 60
        request, due_checkpoint = world.agree((job.controls.requested(), overdue))
        if request is not None:
            stopped = request
            break
        # Out of memory: drop the partial gradients, halve the micro-batch (the loss is normalised by the
        # step's count, so accumulation keeps the same effective batch) and retry the same step. With several
        # processes, one rank out of memory makes them all drop the step and retry it, each with the same
        # smaller micro-batch (computed from the largest share, so every rank agrees without asking).
        share = math.ceil(len(indices) / world.size)
        while world.anyone((done := _accumulate(model, loop, indices, micro_size, autocast, job.device)) is None, job.device):
            if min(micro_size, share) <= 1:
                raise torch.OutOfMemoryError("even one example at a time does not fit")
            optimizer.zero_grad(set_to_none=True)
            micro_size = min(micro_size, share) // 2
            _free_cached_memory(job.device)
            job.event("train.oom_recovered", pieces=math.ceil(share / micro_size), size=micro_size)
            config.micro_batch_size = micro_size  # a resumed run starts with the size that fits
            job.save_config()
        micro_batches, loss_total = done
        loss_total = world.reduce_gradients(model, loss_total)
        grad_norm = sharding.whole(torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        state.step += 1
        state.epoch, state.batch_in_epoch = epoch, batch_index + 1
        tokens = world.total(sum(int(mb.get(loop.tokens_key, 0)) for mb in micro_batches), job.device) if loop.tokens_key else 0
        meter.step_done(loss_total, grad_norm, scheduler.get_last_lr()[0], len(indices), tokens, epoch + (batch_index + 1) / loop.steps_per_epoch)

        due_eval = state.step % eval_every == 0 or state.step == steps
        if due_eval or due_checkpoint:
            meter.flush()
        found = monitor.losses_flushed(meter.take_flushed())
        if (problem := world.agree(None if found is None else (found, monitor.train_steps[-1]))) is not None:
            rollbacks += 1
            state = _roll_back(job, model, optimizer, scheduler, *problem, rollbacks, state.lr_scale)
            meter.restart(state)
            monitor.rolled_back(state.step)
            remaining = _remaining_steps(loop, state, steps)
            continue

        if due_eval:
            model.eval()
            with torch.no_grad(), autocast:
                # Rank 0 alone evaluates whole weights (the same on every rank); a divided model computes only
                # with every rank taking part.
                results = world.agree(loop.evaluate(model) if world.is_main or sharded else None)
            model.train()
            results |= world.peak_memory(job.device)
            store.add_metrics(job.db, job.run_id, state.step, results)
            monitor.evaluated(state.step, results, model, state.best_step, config.early_stopping_patience > 0)
            if book_check(state, results, loop.metric, loop.higher_is_better):
                save_best(job.run_dir, model, state)
                store.update_run(job.db, job.run_id, best_metric_name=loop.metric, best_metric=state.best_metric)
                words, value = metric_words(loop.metric, state.best_metric)
                job.event("eval.best", metric=words, value=value, step=state.step)
            else:
                patience_out = config.early_stopping_patience and state.evals_without_improvement >= config.early_stopping_patience
                if patience_out and state.step < steps:  # at the last step the run ends anyway: nothing was stopped
                    stopped = "early"
                    job.event("train.early_stop", metric=metric_words(loop.metric)[0], patience=config.early_stopping_patience, best_step=state.best_step)
                    break

        if due_checkpoint:
            save_checkpoint(job, model, optimizer, scheduler, state)
            last_checkpoint = time.monotonic()

    meter.flush()
    if stopped in ("pause", "cancel"):
        save_checkpoint(job, model, optimizer, scheduler, state)
    return state, stopped


# Runs with at most this many trained weights save a checkpoint at step 0, so a divergence before the first
# periodic checkpoint can still be rolled back (a few hundred MB at most; full training of big models skips it).
START_CHECKPOINT_LIMIT = 50_000_000
MAX_ROLLBACKS = 3


def _trainable_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _accumulate(model, loop: Loop, step: list[int], micro_size: int, autocast, device) -> tuple[list[MicroBatch], torch.Tensor] | None:
    """Forward and backward over this rank's micro-batches of the step; None when the GPU ran out of memory.
    Returns the micro-batches and their loss."""
    world = distributed.current()
    sharded = sharding.is_sharded(model)
    try:
        micro_batches = loop.micro_batches(world.shard(step), micro_size)
        count = world.total(sum(mb["count"] for mb in micro_batches), device)  # the whole step's
        weighted = [(mb, 1.0) for mb in micro_batches]
        if sharded:
            # Every rank makes as many passes as the rank with the largest share: a divided model's passes are
            # exchanges all ranks take part in. The missing ones repeat the step's first example, weighted 0.
            passes = math.ceil(math.ceil(len(step) / world.size) / micro_size)
            weighted += [(loop.micro_batches(step[:1], 1)[0], 0.0)] * (passes - len(micro_batches))
        loss_total = torch.zeros((), device=device)
        # FSDP sums a divided model's gradients across the ranks after each pass, keeping only this rank's share of
        # them between passes: more exchanges than once a step, but memory stays divided.
        for mb, weight in weighted:
            with autocast:
                loss = loop.loss_sum(model, mb) * weight / max(count, 1)
            loss.backward()
            loss_total += loss.detach()
        return micro_batches, loss_total
    except torch.OutOfMemoryError:
        if sharded:  # the other ranks are inside an exchange this one left: they cannot retry the step with it
            raise
        return None  # leaving the except block drops the traceback, and with it the step's tensors


def _curves_so_far(job: Job, metric: str) -> tuple[list[tuple[int, float]], list[float], list[float], set[str]]:
    """What the health monitor needs of a resumed run: its training losses, evaluation losses and scores so far,
    and the health findings it has already reported."""
    def values(name: str) -> list[float]:
        return [value for _, value in store.metric_series(job.db, job.run_id, name)]

    said = {e["code"] for e in store.events(job.db, job.run_id) if e["code"].startswith("health.")}
    return store.metric_series(job.db, job.run_id, "train_loss"), values("eval_loss"), values(metric), said


def _free_cached_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _roll_back(job: Job, model, optimizer, scheduler, problem: str, failing_step: int, rollbacks: int, current_scale: float) -> TrainState:
    """Back to the last checkpoint, with half the learning rate from there on; or a clear failure."""
    if rollbacks > MAX_ROLLBACKS:
        lowest = scheduler.base_lrs[0]
        job.event("health.gave_up", times=MAX_ROLLBACKS, learning_rate=lowest)
        raise ConfigError(message("health.gave_up", times=MAX_ROLLBACKS, learning_rate=lowest)[1])
    state = load_checkpoint(job, model, optimizer, scheduler)
    if state is None:
        words = message("health.diverged_no_checkpoint", step=failing_step, what=problem)[1]
        job.event("health.diverged_no_checkpoint", step=failing_step, what=problem)
        raise ConfigError(words)
    # The checkpoint's schedule already carries its own scale; go to half of the scale in use now.
    change = current_scale / 2 / state.lr_scale
    state.lr_scale = current_scale / 2
    scheduler.base_lrs = [lr * change for lr in scheduler.base_lrs]  # saved with the scheduler from here on
    for group in optimizer.param_groups:
        group["lr"] *= change
    store.drop_metrics_after(job.db, job.run_id, state.step)
    job.event("health.diverged", step=failing_step, what=problem, back_to=state.step, learning_rate=scheduler.base_lrs[0])
    return state


def _remaining_steps(loop: Loop, state: TrainState, steps: int) -> Iterator[tuple[int, int, list[int]]]:
    """(epoch, step index within the epoch, example indices) from where the state says, up to `steps`."""
    done = state.step
    epoch, start = state.epoch, state.batch_in_epoch
    while done < steps:
        batches = loop.step_batches(epoch)
        if start >= len(batches):
            epoch, start = epoch + 1, 0
            continue
        for index in range(start, len(batches)):
            if done >= steps:
                return
            yield epoch, index, batches[index]
            done += 1
        epoch, start = epoch + 1, 0


# A held-out loss this much below its lowest so far is a new low (smaller moves are its wandering).
LOSS_PROGRESS = 0.01


def book_check(state: TrainState, results: dict[str, float], metric: str, higher_is_better: bool) -> bool:
    """Record a check's results in `state`; True when `metric` reached a new best (the step is then the best).

    Only checks where neither the score nor the held-out loss improved count towards stopping early: the model
    is still learning while its loss reaches new lows, though the score may wander on a plateau (a tagger's
    F1 flat for three checks mid-schedule, then 3 points higher as the rate decays: bench/tagging.md)."""
    loss = results.get("eval_loss")
    learning = loss is not None and (state.best_loss is None or loss < state.best_loss * (1 - LOSS_PROGRESS))
    if loss is not None and (state.best_loss is None or loss < state.best_loss):
        state.best_loss = loss
    if _improved(results[metric], state.best_metric, higher_is_better):
        state.best_metric, state.best_step, state.evals_without_improvement = results[metric], state.step, 0
        return True
    state.evals_without_improvement = 0 if learning else state.evals_without_improvement + 1
    return False


def _improved(value: float, best: float | None, higher_is_better: bool) -> bool:
    if best is None:
        return not math.isnan(value)
    return value > best if higher_is_better else value < best


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return {"mps": "the Apple GPU", "cpu": "the CPU (no GPU found: this will be slow)"}[device.type]


class _Meter:
    """Per-step metric rows, written in batches at most twice a second so a fast GPU step never waits on
    a host sync or the database; and the run row's progress and time left."""

    def __init__(self, job: Job, total: int, state: TrainState) -> None:
        self.job, self.total, self.state = job, total, state
        self.pending: list[tuple[int, torch.Tensor, torch.Tensor, float, float]] = []
        self.window_start = self.session_start = time.monotonic()
        self.first_step = state.step
        self.samples = self.tokens = 0
        self.last_flush = 0.0
        self.flushed: list[tuple[int, float]] = []  # (step, train loss) written since the health monitor looked

    def take_flushed(self) -> list[tuple[int, float]]:
        rows, self.flushed = self.flushed, []
        return rows

    def restart(self, state: TrainState) -> None:
        """After a roll-back: forget unwritten steps, count speed from here."""
        self.state, self.first_step = state, state.step
        self.pending.clear()
        self.flushed.clear()
        self.samples = self.tokens = 0
        self.window_start = self.session_start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.session_start

    def step_done(self, loss, grad_norm, lr: float, samples: int, tokens: int, epoch: float) -> None:
        self.pending.append((self.state.step, loss, grad_norm, lr, epoch))
        self.samples += samples
        self.tokens += tokens
        if time.monotonic() - self.last_flush >= 0.5:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        now = time.monotonic()
        window = max(now - self.window_start, 1e-9)
        losses = torch.stack([p[1] for p in self.pending]).float().tolist()  # one host sync for the window
        norms = torch.stack([torch.as_tensor(p[2]) for p in self.pending]).float().tolist()
        rate = {"samples_per_second": self.samples / window}
        if self.tokens:
            rate["tokens_per_second"] = self.tokens / window
        memory = memory_metrics(self.job.device)
        rows = [
            (step, {"train_loss": loss, "grad_norm": norm, "learning_rate": lr, "epoch": epoch})
            for (step, _, _, lr, epoch), loss, norm in zip(self.pending, losses, norms)
        ]
        rows[-1][1].update(rate | memory)
        store.add_metric_steps(self.job.db, self.job.run_id, rows)
        self.flushed.extend((step, values["train_loss"]) for step, values in rows)
        done_here = self.state.step - self.first_step
        eta = self.elapsed() / done_here * (self.total - self.state.step) if done_here else None
        store.update_run(
            self.job.db, self.job.run_id,
            step=self.state.step, progress=self.state.step / self.total, epoch=self.pending[-1][4], eta_seconds=eta,
        )
        self.pending.clear()
        self.samples = self.tokens = 0
        self.window_start = self.last_flush = now


# ---------------------------------------------------------------- the end of a run


def finish(job: Job, model, tokenizer, state: TrainState, stopped: str, **model_metadata: Any) -> Status:
    """Record a pause or cancel; or save the best weights as the run's model, with its tokenizer, config and
    metrics, each as an artifact."""
    if stopped == "pause":
        job.event("run.paused", step=state.step)
        return Status.PAUSED
    if stopped == "cancel":
        job.event("run.cancelled", step=state.step)
        return Status.CANCELLED
    world = distributed.current()
    best = job.run_dir / "best" / "trainable.safetensors"
    use_best = world.agree(best.exists())  # rank 0's answer: it wrote the file, perhaps a moment ago
    sharded = sharding.is_sharded(model)
    if not (world.is_main or sharded):
        return Status.COMPLETED  # rank 0 saves the model
    # The ranks of a divided model load the best weights and gather them whole together; rank 0 writes them.
    if use_best:
        load_trainable_state(model, best)
    is_adapter = hasattr(model, "peft_config")
    weights = sharding.full_weights(model, trainable_only=is_adapter) if sharded else None  # None: the model's own
    if not world.is_main:
        return Status.COMPLETED
    model_dir = job.run_dir / "model"

    def write_model(folder: Path) -> None:
        model.save_pretrained(folder, safe_serialization=True, state_dict=weights)
        tokenizer.save_pretrained(folder)

    write_atomically(model_dir, write_model, "the trained model")
    job.artifact("adapter" if is_adapter else "model", model_dir, best_step=state.best_step, **model_metadata)
    job.artifact("tokenizer", model_dir)
    config_path = job.run_dir / "config.json"
    config_path.write_text(json.dumps(job.config.to_dict(), indent=2))
    job.artifact("config", config_path)
    metrics_path = job.run_dir / "metrics.csv"
    write_metrics_csv(job.db, job.run_id, metrics_path)
    job.artifact("metrics", metrics_path)
    job.event("run.completed", path=model_dir)
    return Status.COMPLETED


def write_metrics_csv(db: Database, run_id: int, path: Path) -> None:
    """One row per step, one column per metric: what a spreadsheet expects."""
    names = store.metric_names(db, run_id)
    by_step: dict[int, dict[str, float]] = {}
    for step, name, value in db.execute(
        "SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step", [run_id]
    ):
        by_step.setdefault(step, {})[name] = value
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", *names])
        writer.writeheader()
        for step, values in sorted(by_step.items()):
            writer.writerow({"step": step, **values})

"""A model divided among the ranks of a run (FSDP2, torch's `fully_shard`), for a model that does not fit one GPU.

Each rank keeps a share of every weight, of its gradient and of the optimizer's state. A block of the model
gathers its whole weights from all ranks just before it computes and drops them after; its gradients are
summed across the ranks as its backward pass ends, each rank keeping its share (a reduce-scatter). So every
forward and backward pass is an exchange all ranks take part in, in the same order: `fit` gives every rank the
same number of micro-batches in a step, evaluates on every rank, and saves on every rank; and a rank out of
memory cannot retry its step alone, so there the run stops, with the sentence that says so, and resumes from
its last checkpoint. The recipes' losses must call the model itself, as FSDP starts its exchanges from the
model's forward: the chat loss applies the output head there instead of in chunks (engine/lm_loss.py).

What leaves the ranks is whole: checkpoints and the trained model hold the same full tensors, keyed the same
way, as a run on one process writes (gathered with torch.distributed.checkpoint), so a run resumes on any
number of processes, divided or not.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor

from engine.compiling import repeated_blocks

# Whole tensors on rank 0's CPU, one at a time, so no GPU ever holds the whole model; other ranks get nothing.
GATHERED = StateDictOptions(full_state_dict=True, cpu_offload=True)


def is_sharded(model: torch.nn.Module) -> bool:
    return isinstance(model, FSDPModule)


def shard(model: torch.nn.Module) -> None:
    """Divide the model among the ranks, in place: each block of its stack of layers is one unit (gathered whole
    while it computes), and the rest (embeddings, output head) one more. A model without such a stack is one
    unit, which saves only the gradients' and optimizer's memory."""
    try:
        blocks = repeated_blocks(model)
    except ValueError:
        blocks = []
    for block in blocks:
        fully_shard(block)
    fully_shard(model)
    for unit in model.modules():
        if isinstance(unit, FSDPModule):
            # Each rank's loss is already divided by the whole step's count, so the ranks' gradients are summed,
            # not averaged (FSDP's default); only as a plain sum, which gloo can do too.
            unit.set_gradient_divide_factor(1.0)
            unit.set_force_sum_reduction_for_comms(True)


def whole(value: torch.Tensor) -> torch.Tensor:
    """A tensor gathered from the ranks' shares (every rank must ask); a plain tensor as it is."""
    return value.full_tensor() if isinstance(value, DTensor) else value


# ---------------------------------------------------------------- whole weights and optimizer state, in and out


def full_weights(model: torch.nn.Module, trainable_only: bool = True) -> dict[str, torch.Tensor]:
    """The model's weights whole (only those being trained, or every weight and buffer), on rank 0; every rank
    must call it."""
    _reshard(model)
    gathered = get_model_state_dict(model, options=replace(GATHERED, ignore_frozen_params=trainable_only))
    # Each weight once (a head tied to the embeddings comes back under both names, as two copies), as on one process
    wanted = {name for name, p in model.named_parameters() if p.requires_grad or not trainable_only}
    if not trainable_only:
        wanted |= {name for name, _ in model.named_buffers()}
    return {name: value for name, value in gathered.items() if name in wanted}


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Whole weights (some or all of the model's), which every rank has read, into each rank's shares."""
    _reshard(model)
    set_model_state_dict(model, weights, options=StateDictOptions(full_state_dict=True, strict=False))


def full_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state whole, keyed by position as `optimizer.state_dict()` keys it on one process, so the
    file is the same either way; on rank 0 (empty elsewhere). Every rank must call it."""
    if not optimizer.state:
        # Before the first step there is nothing to gather; torch would make the state by taking a step with
        # zero gradients, which AdamW counts, and the run would no longer match one process.
        return optimizer.state_dict()
    _reshard(model)
    by_name = get_optimizer_state_dict(model, optimizer, options=GATHERED)
    if not by_name:
        return {}
    position = {name: index for index, name in enumerate(_names_in_order(model, optimizer))}
    groups = [group | {"params": [position[name] for name in group["params"]]} for group in by_name["param_groups"]]
    return {"state": {position[name]: values for name, values in by_name["state"].items()}, "param_groups": groups}


def load_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """A whole optimizer state as `full_optimizer_state` gives it (or one process saves it), which every rank has
    read, into each rank's shares."""
    if not saved["state"]:
        optimizer.load_state_dict(saved)  # saved before the first step: settings only, nothing to divide
        return
    _reshard(model)
    names = _names_in_order(model, optimizer)
    if [len(group["params"]) for group in saved["param_groups"]] != [len(group["params"]) for group in optimizer.param_groups]:
        raise ValueError("the saved optimizer state belongs to other parameters")  # as `load_state_dict` says it
    groups = [group | {"params": [names[index] for index in group["params"]]} for group in saved["param_groups"]]
    by_name = {"state": {names[index]: values for index, values in saved["state"].items()}, "param_groups": groups}
    set_optimizer_state_dict(model, optimizer, by_name, options=StateDictOptions(full_state_dict=True))


def _reshard(model: torch.nn.Module) -> None:
    """Every unit back to its shares. The outermost one stays gathered after a forward pass that no backward
    pass follows (an evaluation), and its parameters are then whole tensors in place of the shares the optimizer
    and the state-dict functions know."""
    for unit in model.modules():
        if isinstance(unit, FSDPModule):
            unit.reshard()


def _names_in_order(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """The name of each parameter the optimizer updates, in the order `optimizer.state_dict()` numbers them."""
    names = {p: name for name, p in model.named_parameters()}
    return [names[p] for group in optimizer.param_groups for p in group["params"]]

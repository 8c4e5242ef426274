"""The summed next-token loss of a packed row, without ever holding the full-vocabulary logits in fp32.

A model's own forward returns logits for every position: tokens x vocabulary, e.g. 16k x 128k = 2 billion
numbers, 8 GiB in fp32 for the loss and as much again for its gradient, most of them for prompt tokens that
are not learned. Here the model runs up to its last hidden states, and the language-model head and the
cross-entropy are applied only to the learned positions, a chunk of tokens at a time. Each chunk is
checkpointed, so the backward pass recomputes one chunk's logits instead of keeping all of them.

On CUDA with Liger Kernel installed, its fused linear cross-entropy (a Triton kernel doing the same in one
pass) is used instead; the pure-PyTorch path below works everywhere and is what the tests check.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from engine import proven
from engine.data.chat import IGNORE
from engine.sharding import is_sharded
from engine.forecast import LOSS_CHUNK_ELEMENTS as CHUNK_ELEMENTS  # logits per chunk: 1365 tokens of a 49k vocabulary


def _liger_loss():
    try:
        from liger_kernel.transformers.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyLoss
    except ImportError:
        return None
    return LigerFusedLinearCrossEntropyLoss


def loss_kernel(device: torch.device) -> str:
    """Which cross-entropy the engine uses on `device`: "liger" or "chunked"."""
    usable = device.type == "cuda" and _liger_loss() is not None and proven.passed("liger_loss")
    return "liger" if usable else "chunked"


def language_model_parts(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(the decoder that returns hidden states, the output head) of a causal LM, LoRA-wrapped or not.

    LoRA adapters are injected into the decoder's own layers, so calling the decoder directly still trains
    them; peft's `all-linear` leaves the output head alone.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder(), base.get_output_embeddings()


def can_skip_logits(model: torch.nn.Module) -> bool:
    """False for the few models that change their logits after the head (Gemma 2's soft-capping, Cohere's
    scale): they take the plain path, through the model's own forward."""
    config = model.config
    return getattr(config, "final_logit_softcapping", None) is None and getattr(config, "logit_scale", None) is None


def packed_loss_sum(model: torch.nn.Module, batch: dict[str, Any], kernel: str = "chunked") -> torch.Tensor:
    """The summed cross-entropy of the learned tokens of one packed row (engine/data/packing.py)."""
    # No cache: besides wasting memory, a cache makes transformers ignore the packing in the position_ids and
    # let every example attend to the ones before it in the row.
    attention = {"cu_seq_lens_q": batch["cu_seq_lens"], "cu_seq_lens_k": batch["cu_seq_lens"],
                 "max_length_q": batch["max_length"], "max_length_k": batch["max_length"], "use_cache": False}
    if not can_skip_logits(model):
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], **attention).logits
        return F.cross_entropy(logits[0].float(), batch["targets"][0], ignore_index=IGNORE, reduction="sum")
    if is_sharded(model):
        # A model divided among GPUs gathers its embeddings and head only when the model itself is called, so
        # the head cannot be applied apart: the model's forward applies it to the learned positions, all at once.
        logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], logits_to_keep=batch["label_positions"], **attention
        ).logits
        return F.cross_entropy(logits[0].float(), batch["label_targets"], ignore_index=IGNORE, reduction="sum")
    decoder, head = language_model_parts(model)
    hidden = decoder(input_ids=batch["input_ids"], position_ids=batch["position_ids"], **attention).last_hidden_state
    learned = hidden[0].index_select(0, batch["label_positions"])
    if kernel == "liger":
        return liger_cross_entropy_sum(learned, head.weight, batch["label_targets"], head.bias)
    return chunked_cross_entropy_sum(learned, head.weight, batch["label_targets"], head.bias)


def chunked_cross_entropy_sum(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """sum over rows of cross_entropy(hidden @ weight.T + bias, targets), a chunk of rows at a time.

    hidden (N, H), weight (V, H), targets (N,). Only one chunk's logits exist at once, in the forward and,
    thanks to checkpointing, in the backward.
    """
    chunk = max(64, CHUNK_ELEMENTS // weight.shape[0])
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.shape[0], chunk):
        rows, wanted = hidden[start : start + chunk], targets[start : start + chunk]
        if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
            total = total + checkpoint(_chunk_loss, rows, weight, bias, wanted, use_reentrant=False)
        else:
            total = total + _chunk_loss(rows, weight, bias, wanted)
    return total


def _chunk_loss(hidden, weight, bias, targets) -> torch.Tensor:
    return F.cross_entropy(F.linear(hidden, weight, bias).float(), targets, ignore_index=IGNORE, reduction="sum")


def liger_cross_entropy_sum(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Liger Kernel's fused linear cross-entropy (CUDA). It is an autograd function autocast does not enter,
    so the inputs are given in the autocast type (fp32 master weights of a full fine-tune included)."""
    if torch.is_autocast_enabled(hidden.device.type):
        dtype = torch.get_autocast_dtype(hidden.device.type)
        hidden, weight = hidden.to(dtype), weight.to(dtype)
        bias = bias.to(dtype) if bias is not None else None
    loss = _liger_loss()(ignore_index=IGNORE, reduction="sum")
    return loss(weight, hidden, targets, bias).float()

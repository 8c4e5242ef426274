"""Padding-free micro-batches for causal language models: the examples of a micro-batch end to end in one row.

Padding a batch to its longest example wastes the compute of every pad token; on instruction data, whose
lengths are long-tailed, that is often more than half of the batch. Packed, a micro-batch of examples is one
row of exactly their tokens, and nothing is computed twice or for nothing.

Two things keep the examples apart, so a packed step computes exactly the per-example loss:

- attention: `position_ids` restart at 0 for each example. transformers reads that as packing (with no
  attention mask given) and builds the block-diagonal causal mask itself (masking_utils,
  `find_packed_sequence_indices`); on CUDA the engine's variable-length attention (engine/models/attention.py)
  uses `cu_seq_lens` instead and never builds a mask at all.
- the loss: the targets are shifted inside each example before the examples are joined, so the last token of
  one example is never asked to predict the first token of the next.

Only the positions whose target is learned are handed to the loss (`label_positions`), so the language-model
head is never applied to the prompt tokens (engine/lm_loss.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from engine.data.chat import IGNORE, TokenizedExample


def shifted_targets(labels: Sequence[int]) -> list[int]:
    """What each position must predict: the next token's label; the last position predicts nothing."""
    return [*labels[1:], IGNORE]


def pack(examples: Sequence[TokenizedExample], device: torch.device | str = "cpu") -> dict[str, Any]:
    """One packed row of `examples`, as the model and the loss take it.

    Keys: input_ids, position_ids, targets (already shifted; IGNORE where nothing is learned), all (1, T);
    label_positions and label_targets (the learned positions in the row and their tokens); cu_seq_lens and
    max_length (where each example starts, for variable-length attention); count (learned tokens) and
    tokens (real tokens, for tokens per second).
    """
    input_ids: list[int] = []
    positions: list[int] = []
    targets: list[int] = []
    starts = [0]
    for example in examples:
        input_ids.extend(example.input_ids)
        positions.extend(range(len(example.input_ids)))
        targets.extend(shifted_targets(example.labels))
        starts.append(len(input_ids))
    targets_tensor = torch.tensor(targets, dtype=torch.long)
    learned = (targets_tensor != IGNORE).nonzero().flatten()  # on the host: no device sync during the step
    return {
        "input_ids": torch.tensor([input_ids], dtype=torch.long).to(device, non_blocking=True),
        "position_ids": torch.tensor([positions], dtype=torch.long).to(device, non_blocking=True),
        "targets": targets_tensor.unsqueeze(0).to(device, non_blocking=True),
        "label_positions": learned.to(device, non_blocking=True),
        "label_targets": targets_tensor[learned].to(device, non_blocking=True),
        "cu_seq_lens": torch.tensor(starts, dtype=torch.int32).to(device, non_blocking=True),
        "max_length": max(len(e.input_ids) for e in examples),
        # The loss is averaged over the learned tokens of the whole optimizer step (not per sequence).
        "count": len(learned),
        "tokens": len(input_ids),
    }


def padding_fraction(lengths: Sequence[int], batch_size: int) -> float:
    """The share of a padded batch's tokens that would be padding, batching `lengths` in this order."""
    padded = sum(max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size]) for i in range(0, len(lengths), batch_size))
    return 1.0 - sum(lengths) / padded if padded else 0.0

"""Which examples go together in a step, so padded batches carry little padding.

A classifier's batch is padded to its longest text. Drawn at random, a batch of short texts usually holds one
long one and most of its tokens are padding. Grouping by length keeps batches of similar texts while the
training order stays random: the examples are shuffled, cut into mega-batches of many batches, sorted by
length inside each mega-batch, cut into batches, and the batches are shuffled (the same idea as
transformers' LengthGroupedSampler, written here because `fit` wants whole steps from a (seed, epoch) pair,
not a sampler).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: Batches per mega-batch: large enough to find texts of similar length, small enough to keep it random.
MEGA_BATCHES = 50


def length_grouped_steps(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, mega_batches: int = MEGA_BATCHES
) -> list[list[int]]:
    """The example indices of each step of an epoch, grouped by length; fixed for a (seed, epoch), so a
    resumed run continues with exactly the order the uninterrupted run would have had."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    mega = batch_size * mega_batches
    steps: list[list[int]] = []
    for start in range(0, len(order), mega):
        group = sorted(order[start : start + mega], key=lambda i: lengths[i], reverse=True)
        steps.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    shuffled = torch.randperm(len(steps), generator=generator).tolist()
    return [steps[i] for i in shuffled]

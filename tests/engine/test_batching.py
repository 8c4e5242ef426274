"""Length-grouped classification batches: far less padding, every text once, the same order on resume."""

import torch

from engine.data.batching import length_grouped_steps
from engine.training import shuffled_steps


def lengths(n=3000, seed=0) -> list[int]:
    """Long-tailed text lengths, as real data has them (median about 20 tokens)."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=generator) * 0.7 + 3.0).exp().clamp(3, 256).long().tolist()


def padded_share(steps, sizes) -> float:
    """The share of pad tokens when each step is padded to its own longest text."""
    padded = sum(max(sizes[i] for i in step) * len(step) for step in steps)
    return 1 - sum(sizes) / padded


def test_grouped_batches_carry_far_less_padding_than_random_ones():
    sizes = lengths()
    grouped = length_grouped_steps(sizes, 32, seed=3, epoch=0)
    random_order = shuffled_steps(len(sizes), 32, seed=3, epoch=0)
    assert padded_share(grouped, sizes) < 0.2 and padded_share(random_order, sizes) > 0.6


def test_every_text_once_per_epoch_in_the_same_number_of_steps():
    sizes = lengths(1001)
    steps = length_grouped_steps(sizes, 16, seed=0, epoch=2)
    assert sorted(i for step in steps for i in step) == list(range(1001))
    assert len(steps) == -(-1001 // 16) == len(shuffled_steps(1001, 16, 0, 2))


def test_the_order_is_fixed_by_seed_and_epoch_so_a_resumed_run_sees_the_same_steps():
    sizes = lengths(500)
    assert length_grouped_steps(sizes, 8, seed=1, epoch=4) == length_grouped_steps(sizes, 8, seed=1, epoch=4)
    assert length_grouped_steps(sizes, 8, seed=1, epoch=4) != length_grouped_steps(sizes, 8, seed=1, epoch=5)
    assert length_grouped_steps(sizes, 8, seed=1, epoch=4) != length_grouped_steps(sizes, 8, seed=2, epoch=4)


def test_the_step_order_is_random_not_sorted():
    """Long batches are spread over the epoch, not all at its start (which would skew the first steps)."""
    sizes = lengths(3200)
    longest = [max(sizes[i] for i in step) for step in length_grouped_steps(sizes, 16, seed=0, epoch=0)]
    assert longest != sorted(longest, reverse=True) and longest != sorted(longest)

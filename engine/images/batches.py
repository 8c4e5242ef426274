"""Pictures into batches of tensors: decoded, scaled and (for training) varied in worker processes, so the
model never waits for the next batch while the one before trains.

`StepFeeder` gives `fit` the batch of each optimizer step in the exact order `fit` asks for (the order of
`Loop.step_batches`, resumable): a DataLoader whose batch sampler is that order decodes the next steps ahead;
a step asked for out of turn (after a resume or a roll-back) restarts it from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, Dataset

from engine.images.collect import Example
from engine.images.pictures import read_picture


class Pictures(Dataset):
    def __init__(self, examples: list[Example], targets: torch.Tensor, transform) -> None:
        self.examples, self.targets, self.transform = examples, targets, transform

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int):
        example = self.examples[index]
        return self.transform(read_picture(example.path, example.shown).image), self.targets[index], index


def loader(dataset: Dataset, batch_sampler, workers: int) -> DataLoader:
    return DataLoader(dataset, batch_sampler=batch_sampler, num_workers=workers, pin_memory=torch.cuda.is_available(),
                      persistent_workers=False, prefetch_factor=4 if workers else None)


def eval_batches(dataset: Dataset, batch_size: int, workers: int) -> DataLoader:
    steps = [list(range(i, min(i + batch_size, len(dataset)))) for i in range(0, len(dataset), batch_size)]
    return loader(dataset, steps, workers)


class StepFeeder:
    """The micro-batches of each training step, decoded ahead by `workers` processes."""

    def __init__(self, dataset: Pictures, step_batches: Callable[[int], list[list[int]]], workers: int, device) -> None:
        self.dataset, self.step_batches, self.workers, self.device = dataset, step_batches, workers, device
        self.iterator = None
        self.expected: list[list[int]] = []
        self.numbers: list[int] = []  # the step number (from the start of training) of each expected step
        self.waited = 0.0  # seconds spent waiting for pictures since last asked (the data loader's share)

    def _start(self, indices: list[int]) -> None:
        number = 0
        for epoch in range(10_000):
            steps = self.step_batches(epoch)
            if indices in steps:
                at = steps.index(indices)
                upcoming = steps[at:] + [s for e in range(epoch + 1, epoch + 3) for s in self.step_batches(e)]
                self.expected = list(upcoming)
                self.numbers = list(range(number + at, number + at + len(upcoming)))
                self.iterator = iter(loader(self.dataset, upcoming, self.workers))
                return
            number += len(steps)
        raise ValueError("a step that is in no epoch")

    def next_step(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The pictures and targets of the step made of `indices`, and its number from the start of training."""
        if self.iterator is None or not self.expected or self.expected[0] != indices:
            self._start(indices)
        started = time.monotonic()
        try:
            pixels, targets, _ = next(self.iterator)
        except StopIteration:
            self._start(indices)
            pixels, targets, _ = next(self.iterator)
        self.waited += time.monotonic() - started
        self.expected.pop(0)
        number = self.numbers.pop(0)
        return pixels.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True), number

    def take_waited(self) -> float:
        waited, self.waited = self.waited, 0.0
        return waited

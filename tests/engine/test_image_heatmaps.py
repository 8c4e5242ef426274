"""Where the model looked: on pictures where the answer sits in one place (a square or a cross, in one
quarter of a noisy picture), the Grad-CAM heat map lands on that quarter, not elsewhere."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from engine.images.heatmap import heat_map, overlay
from engine.images.model import build

SIDE = 64


def shapes(count: int, seed: int) -> list[tuple[Image.Image, int, int]]:
    """(picture, category: 0 a square, 1 a cross, the quarter it is in)"""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        kind, quarter = i % 2, int(rng.integers(0, 4))
        pixels = rng.integers(0, 50, (SIDE, SIDE, 3), dtype=np.uint8)
        y, x = (quarter // 2) * 32 + int(rng.integers(4, 10)), (quarter % 2) * 32 + int(rng.integers(4, 10))
        if kind == 0:
            pixels[y : y + 18, x : x + 18] = 230
        else:
            pixels[y + 7 : y + 11, x : x + 18] = 230
            pixels[y : y + 18, x + 7 : x + 11] = 230
        made.append((Image.fromarray(pixels), kind, quarter))
    return made


def test_the_heat_map_lands_on_the_object_that_decides_the_answer():
    torch.manual_seed(0)
    model = build("timm:test_efficientnet", ["square", "cross"], False, SIDE)
    prepare = model.preparation.transform()
    pictures = shapes(64, seed=0)
    inputs = torch.stack([prepare(picture) for picture, _, _ in pictures])
    targets = torch.tensor([kind for _, kind, _ in pictures])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(15):
        chosen = torch.randperm(len(inputs))[:16]
        loss = torch.nn.functional.cross_entropy(model(inputs[chosen]), targets[chosen])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    right = on_the_object = 0
    tests = shapes(8, seed=7)
    for picture, kind, quarter in tests:
        probabilities, heat = heat_map(model, picture, torch.device("cpu"))
        assert heat.shape == (SIDE, SIDE) and 0 <= heat.min() and heat.max() <= 1
        right += int(probabilities.argmax()) == kind
        quarters = [heat[:32, :32].mean(), heat[:32, 32:].mean(), heat[32:, :32].mean(), heat[32:, 32:].mean()]
        on_the_object += int(np.argmax(quarters)) == quarter
    assert right >= 7 and on_the_object >= 7, (right, on_the_object)
    shown = overlay(tests[0][0], heat_map(model, tests[0][0], torch.device("cpu"))[1], SIDE)
    assert shown.size == (SIDE, SIDE) and shown.mode == "RGB"

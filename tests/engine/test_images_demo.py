"""The image demo as a first-time user runs it (`tunewright-engine example images`): the bundled
EfficientNet-Lite0 fine-tuned on the texture patches beats the majority baseline and a linear probe on the same
model's frozen features (60 of 60 held-out pictures against the probe's 59, with seeds 0 to 3 alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from engine import store
from engine.tasks import TASKS
from tests.engine.helpers import run_in_process


def linear_probe_accuracy(train, held, labels) -> float:
    """A logistic regression on EfficientNet-Lite0's frozen ImageNet features (what it already sees)."""
    from engine.images.batches import Pictures, eval_batches
    from engine.images.lite0 import imagenet_model
    from engine.images.model import Preparation

    model, index = imagenet_model(), {label: i for i, label in enumerate(labels)}
    prepare = Preparation(size=96).transform()

    def features(examples):
        targets = torch.tensor([index[e.labels[0]] for e in examples])
        found = []
        with torch.no_grad():
            for pixels, _, _ in eval_batches(Pictures(examples, targets, prepare), 64, 0):
                found.append(model.forward_head(model.forward_features(pixels), pre_logits=True))
        return torch.cat(found), targets

    x, y = features(train)
    x_held, y_held = features(held)
    mean, std = x.mean(0), x.std(0) + 1e-6
    probe = torch.nn.Linear(x.shape[1], len(labels))
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe((x - mean) / std), y) + 1e-3 * probe.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return float((probe((x_held - mean) / std).argmax(-1) == y_held).float().mean())


@pytest.mark.slow
def test_the_image_demo_beats_the_majority_baseline_and_a_linear_probe(tunewright_home):
    from engine.images.collect import read_image_set

    demo = TASKS["images"].demo()
    db, run_id = run_in_process(tunewright_home, demo.to_dict())
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    evaluation = store.child_runs(db, run_id, "evaluate")[0]
    report = json.loads(Path(next(a["path"] for a in store.artifacts(db, evaluation["id"]) if a["kind"] == "evaluation")).read_text())
    assert report["rows"] == 60 and report["baseline"]["accuracy"] < 0.4  # three even categories
    probe = linear_probe_accuracy(read_image_set(demo.data).examples, read_image_set(demo.eval_data).examples, report["labels"])
    assert report["accuracy"] > report["baseline"]["accuracy"] + 0.4
    right, probe_right = round(report["accuracy"] * 60), round(probe * 60)  # pictures, not float32 fractions
    assert right > probe_right, (right, probe_right)

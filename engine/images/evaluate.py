"""Score an image model on held-out pictures: accuracy, macro-F1, the per-category table, the confusion
matrix and the majority baseline, as for texts (engine/recipes/evaluate.py), plus a gallery of the pictures
it got wrong, each with its heat map, and a few it got right.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import store
from engine.images.batches import Pictures, eval_batches
from engine.images.checks import look_at_all
from engine.images.collect import read_image_set
from engine.recipes.evaluate import WRONG_EXAMPLES, classification_report, majority_baseline
from engine.recipes.finetune_images import EVAL_BATCH, probabilities, targets_of

#: Pictures it got right that are shown with their heat maps too (does it look at the right thing?).
RIGHT_EXAMPLES = 12


def evaluate_images(job, scored: dict[str, Any], config) -> dict[str, Any]:
    from engine.images.heatmap import explain

    model, labels, multi_label = scored["model"], scored["labels"], scored["multi_label"]
    run_config = scored["run_config"]
    data = read_image_set(config.data)
    looked = look_at_all([e for e in data.examples if e.labels])
    examples = [item.example for item in looked if not item.problem]  # an unreadable picture is said, not scored
    if len(examples) < len(looked):
        first = next(item.problem for item in looked if item.problem)
        job.event("images.skipped", count=len(looked) - len(examples), first=first)
    job.event("evaluate.images_started", model=scored["title"], rows=len(examples), data=Path(config.data).name)
    index = {label: i for i, label in enumerate(labels)}
    dataset = Pictures(examples, targets_of(examples, index, multi_label), model.preparation.transform())
    device = next(model.parameters()).device
    with torch.no_grad():
        probs, _ = probabilities(model, eval_batches(dataset, EVAL_BATCH, 0), multi_label, device)
    probs = probs.numpy()
    store.update_run(job.db, job.run_id, progress=0.7)
    threshold = getattr(run_config, "threshold", 0.5) if run_config else 0.5
    predicted = [[labels[i] for i in np.flatnonzero(row > threshold)] for row in probs] if multi_label else [[labels[int(row.argmax())]] for row in probs]
    truth = [e.labels for e in examples]
    report = classification_report(truth, predicted, labels, multi_label=multi_label)
    trained = read_image_set(run_config.data).examples if run_config is not None else examples
    baseline = majority_baseline(truth, [e.labels for e in trained], labels, multi_label)

    folder = job.run_dir / "heatmaps"
    wrong, right = [], []
    for example, guess, row in zip(examples, predicted, probs):
        is_wrong = sorted(example.labels) != sorted(guess)
        if (is_wrong and len(wrong) < WRONG_EXAMPLES) or (not is_wrong and len(right) < RIGHT_EXAMPLES):
            shown = explain(model, example.path, folder, device, example.shown)
            entry = {"picture": example.shown, "text": example.shown, "file": example.path, "expected": example.labels, "predicted": guess,
                     "confidence": round(float(row.max()), 4), "heatmap": shown["heatmap"],
                     "probabilities": {item["label"]: item["probability"] for item in shown["top"][:3]}}
            (wrong if is_wrong else right).append(entry)
    wrong_count = sum(sorted(t) != sorted(p) for t, p in zip(truth, predicted))
    metrics = {"eval_accuracy": report["accuracy"], "eval_macro_f1": report["macro_f1"], "baseline_accuracy": baseline["accuracy"]}
    headline = f"accuracy {report['accuracy']:.1%}, macro-F1 {report['macro_f1']:.1%} on {len(examples)} pictures"
    return {"headline": headline, "metrics": metrics, "rows": len(examples), "file_rows": len(data.examples), **report,
            "baseline": baseline, "overlap": None, "wrong": wrong, "wrong_count": wrong_count, "right": right}

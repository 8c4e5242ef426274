"""Sample data for an image model's pages: a finished run that sorts the bundled demo's texture patches, its
evaluation on the demo's held-out pictures (scored by the engine's own functions), each shown picture with a
heat map drawn here, and a Playground answer. No model is behind them; `python -m gui.pages.picture_results
--sample` opens the Results view on them.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter, QRadialGradient

from engine import store
from engine.protocol import Status
from gui.sample import SampleTrainer, _sample_evaluation, add_run

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "images" / "eval"
CATEGORIES = ["brick", "grass", "gravel"]
#: Which held-out pictures the sample model gets wrong, and what it says instead.
MISTAKES = {"gravel_019.png": "grass", "brick_011.png": "gravel", "grass_015.png": "gravel"}


def scores(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, the per-category table and the confusion matrix, as the engine's evaluation writes
    them (engine/recipes/evaluate.py `classification_report`, which imports torch with its module)."""
    per_class = []
    for name in CATEGORIES:
        tp = sum(t == p == name for t, p in zip(truth, predicted))
        found, there = predicted.count(name), truth.count(name)
        precision, recall = tp / max(found, 1), tp / max(there, 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"label": name, "precision": precision, "recall": recall, "f1": f1, "support": there})
    confusion = [[sum(t == a and p == b for t, p in zip(truth, predicted)) for b in CATEGORIES] for a in CATEGORIES]
    return {"accuracy": sum(t == p for t, p in zip(truth, predicted)) / len(truth),
            "macro_f1": sum(row["f1"] for row in per_class) / len(per_class), "per_class": per_class,
            "labels": CATEGORIES, "confusion": confusion + [[0] * len(CATEGORIES)]}


def heat_map(picture: Path, folder: Path, seed: int) -> str:
    """The picture with a made-up heat map over it, as the engine writes one: warm where it 'looked'."""
    image = QImage(str(picture)).scaled(96, 96).convertToFormat(QImage.Format.Format_RGB32)
    spot = random.Random(seed)
    painter = QPainter(image)
    painter.fillRect(image.rect(), QColor(40, 60, 200, 110))
    gradient = QRadialGradient(QPointF(spot.uniform(25, 70), spot.uniform(25, 70)), 40)
    for at, colour in ((0.0, QColor(220, 30, 30, 170)), (0.5, QColor(250, 220, 40, 110)), (1.0, QColor(0, 0, 0, 0))):
        gradient.setColorAt(at, colour)
    painter.fillRect(image.rect(), gradient)
    painter.end()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{picture.stem}.png"
    image.save(str(path))
    return str(path)


def add_sample_pictures(client: Any) -> dict[str, int]:
    """A finished image run with its held-out evaluation and a Playground answer; their ids by name."""
    db, home = client.db, Path(client.home)
    ids = {"sorter": add_run(db, home, "Facade textures", kind="images", method="full")}
    trainer = SampleTrainer(db, ids["sorter"], total_steps=120, eval_every=12, seed=4)
    trainer.train_steps(120)
    trainer.finish(started_at=time.time() - 600, created_at=time.time() - 700)
    pictures = sorted(DEMO.glob("*/*.png"))
    truth = [[picture.parent.name] for picture in pictures]
    predicted = [[MISTAKES.get(picture.name, picture.parent.name)] for picture in pictures]
    report = scores([t[0] for t in truth], [p[0] for p in predicted])
    folder = home / "runs" / "sample-heatmaps"
    wrong, right = [], []
    for index, (picture, expected, guess) in enumerate(zip(pictures, truth, predicted)):
        is_wrong = expected != guess
        if not is_wrong and len(right) >= 9:
            continue
        confidence = 0.55 + 0.4 * random.Random(index).random()
        others = [c for c in CATEGORIES if c != guess[0]]
        (wrong if is_wrong else right).append({
            "picture": f"eval/{picture.parent.name}/{picture.name}", "text": picture.name, "file": str(picture),
            "expected": expected, "predicted": guess, "confidence": round(confidence, 4),
            "heatmap": heat_map(picture, folder, index),
            "probabilities": {guess[0]: confidence, others[0]: (1 - confidence) * 0.7, others[1]: (1 - confidence) * 0.3},
        })
    result = {
        "headline": f"accuracy {report['accuracy']:.1%}, macro-F1 {report['macro_f1']:.1%} on {len(pictures)} pictures",
        "metrics": {"eval_accuracy": report["accuracy"], "eval_macro_f1": report["macro_f1"], "baseline_accuracy": 1 / 3},
        "rows": len(pictures), "file_rows": len(pictures), **report,
        "baseline": {"label": "brick", "accuracy": 1 / 3}, "overlap": None, "wrong": wrong, "wrong_count": len(wrong),
        "right": right, "task": "images", "title": "Facade textures", "data": str(DEMO),
    }
    ids["sorter_evaluation"] = _sample_evaluation(client, ids["sorter"], result)
    answered = right[0]
    ranked = [{"label": name, "probability": round(p, 4)} for name, p in answered["probabilities"].items()]
    now = time.time()
    db["playground"].insert({
        "run_id": ids["sorter"], "status": "done", "model": "tuned", "text": answered["file"],
        "settings": json.dumps({"paths": [answered["file"]], "save": ""}),
        "result": json.dumps({"pictures": [{"file": answered["file"], "heatmap": answered["heatmap"], "top": ranked, "all": ranked}]}),
        "updates": 1, "created_at": now, "updated_at": now,
    })
    store.update_run(db, ids["sorter"], status=Status.COMPLETED)
    return ids

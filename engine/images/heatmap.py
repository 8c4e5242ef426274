"""Where a model looked: Grad-CAM heat maps (the `grad-cam` library) over a picture, with the model's
probabilities for it. Used by the Results page's gallery of mistakes and by the Playground.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.images.pictures import read_picture
from engine.images.stack import grad_cam

TOP = 5
#: How strongly the heat map shows over the picture (0: only the picture, 1: only the map).
OVERLAY = 0.45


def heat_map(model, picture: Image.Image, device, category: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, heat map with values 0-1 at the model's input size) for one picture; the map is for
    `category`, or for the model's top answer."""
    grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model.eval()
    pixels = model.preparation.transform()(picture.convert("RGB"))[None].to(device)
    with torch.no_grad():
        logits = model(pixels).float()[0]
    probabilities = (logits.sigmoid() if model.multi_label else logits.softmax(-1)).cpu().numpy()
    chosen = int(probabilities.argmax()) if category is None else category
    target = ClassifierOutputTarget(chosen)  # the category's logit: for one or several categories alike
    with grad_cam().GradCAM(model=model, target_layers=[model.target_layer()]) as cam:
        with torch.enable_grad():
            found = cam(input_tensor=pixels, targets=[target])[0]
    return probabilities, np.nan_to_num(found)


def overlay(picture: Image.Image, heat: np.ndarray, size: int) -> Image.Image:
    """The picture as the model saw it (its middle, at its input size) with the heat map over it."""
    grad_cam()
    from pytorch_grad_cam.utils.image import show_cam_on_image

    shorter = min(picture.size)
    left, top = (picture.width - shorter) // 2, (picture.height - shorter) // 2
    square = picture.convert("RGB").crop((left, top, left + shorter, top + shorter)).resize((size, size))
    base = np.asarray(square, dtype=np.float32) / 255.0
    return Image.fromarray(show_cam_on_image(base, heat, use_rgb=True, image_weight=1 - OVERLAY))


def explain(model, path: str | Path, folder: Path, device, shown: str = "") -> dict[str, Any]:
    """A picture's top categories with their probabilities, and its heat map written as a PNG in `folder`."""
    picture = read_picture(path, shown).image
    probabilities, heat = heat_map(model, picture, device)
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16] + ".png"
    overlay(picture, heat, model.preparation.size).save(folder / name)
    ranked = [{"label": model.labels[i], "probability": round(float(probabilities[i]), 4)} for i in np.argsort(-probabilities)]
    return {"file": str(path), "heatmap": str(folder / name), "top": ranked[:TOP], "all": ranked}


def predict_files(model, paths: list[str], folder: Path, device, save: str = "") -> list[dict[str, Any]]:
    """`explain` for each picture (one that cannot be read gets its sentence instead); `save`: a CSV of the
    predictions (file, category, probability)."""
    from engine.data.errors import DataError

    results = []
    for path in paths:
        try:
            results.append(explain(model, path, folder, device))
        except DataError as error:
            results.append({"file": str(path), "problem": str(error)})
    if save:
        with open(save, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "category", "probability"])
            for result in results:
                best = (result.get("top") or [{"label": "", "probability": ""}])[0]
                writer.writerow([result["file"], best["label"], best["probability"]])
    return results

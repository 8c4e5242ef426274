"""Exports of an image model: its folder (weights as safetensors and image_model.json) or ONNX, each read back
by an independent reader (timm building the folder's model anew; ONNX Runtime) and compared with the run's
model on sample pictures: the same top category, probabilities within a tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.images.model import SETTINGS_FILE, load_folder

#: Largest difference in probability allowed between the model and its export.
TOLERANCE = {"merged": 1e-5, "onnx": 1e-3}
SAMPLES = 8


def write_images(source, fmt: str, folder: Path) -> list[Path]:
    model = source.model.float().eval()
    model.save_pretrained(folder)
    if fmt == "merged":
        return [folder / "model.safetensors"]
    import logging

    path = folder / "model.onnx"
    size = model.preparation.size
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    program = torch.onnx.export(
        model, (torch.zeros(2, 3, size, size),), input_names=["pixel_values"], output_names=["logits"],
        dynamic_shapes={"pixel_values": {0: torch.export.Dim("batch")}}, dynamo=True, external_data=False, verbose=False,
    )
    program.save(str(path))
    return [path]


def sample_pixels(source, count: int = SAMPLES) -> torch.Tensor:
    """Sample pictures as the model's input: the run's held-out pictures where they are still there, else
    made-up ones."""
    from engine.images.collect import read_image_set
    from engine.images.pictures import read_picture

    transform = source.model.preparation.transform()
    pictures = []
    held_out = Path(source.model_dir).parent / "held_out.csv"
    try:
        for example in read_image_set(held_out).examples[:count]:
            pictures.append(transform(read_picture(example.path).image))
    except Exception:  # noqa: BLE001 - the samples are only a check; made-up pictures do as well
        pictures = []
    generator = np.random.default_rng(0)
    while len(pictures) < count:
        noise = generator.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        pictures.append(transform(Image.fromarray(noise)))
    return torch.stack(pictures)


def verify_images(source, fmt: str, folder: Path) -> dict[str, Any]:
    from engine.protocol import message

    model = source.model.float().eval()
    pixels = sample_pixels(source)
    with torch.no_grad():
        ours = model(pixels).float()
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        theirs = torch.from_numpy(session.run(["logits"], {"pixel_values": pixels.numpy()})[0]).float()
        reader = "ONNX Runtime"
    else:
        copy = load_folder(folder)
        with torch.no_grad():
            theirs = copy(pixels).float()
        reader = "timm, from the exported folder"
    squash = torch.sigmoid if model.multi_label else (lambda logits: logits.softmax(-1))
    ours_p, theirs_p = squash(ours), squash(theirs)
    difference = float((ours_p - theirs_p).abs().max()) if ours_p.shape == theirs_p.shape else float("inf")
    same_top = int((ours_p.argmax(-1) == theirs_p.argmax(-1)).sum()) if ours_p.shape == theirs_p.shape else 0
    labels_there = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))["labels"] == model.labels
    passed = difference <= TOLERANCE[fmt] and same_top == len(pixels) and labels_there
    if passed:
        summary = message("export.images_same", reader=reader, pictures=len(pixels), difference=max(difference, 1e-12))[1]
        problems = []
    else:
        what = f"{len(pixels) - same_top} of {len(pixels)} pictures get another top category; probabilities differ by up to {difference:.2g}"
        if not labels_there:
            what += "; the category names in image_model.json are not the model's"
        summary = message("export.images_differs", reader=reader, difference=what)[1]
        problems = [summary]
    return {"passed": passed, "summary": summary, "problems": problems, "max_probability_difference": difference,
            "tolerance": TOLERANCE[fmt], "same_top": same_top, "pictures": len(pixels)}

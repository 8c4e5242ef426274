"""The Models page's words: a catalog entry, a Hub search result and a download as a person reads them.

Qt-free, like the rest of `gui.state`; the page only lays these out.
"""

from __future__ import annotations

from typing import Any

from engine.models.describe import COUNTED, ESTIMATED
from gui.engine_client import TASKS, Fit, Hardware, ModelInfo, weights_fit
from gui.state.format import size

TASK_WORDS = {name: task.words.model_short for name, task in TASKS.items()}
SOURCE_WORDS = {
    "bundled": "Bundled demo",
    "folder": "Folder you added",
    "hub cache": "Hugging Face cache",
    "hub download": "Downloaded here",
    "run": "Trained here",
}
WEIGHT_WORDS = {
    "safetensors": "safetensors: loading runs no code",
    "gguf": "GGUF: loading runs no code",
    "pickle": "pickle files, which can run code when loaded",
    "none": "no weight files",
}
# How the common licence identifiers of model cards are usually written.
LICENCE_WORDS = {
    "apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-3-clause": "BSD-3-Clause", "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0", "gpl-3.0": "GPL-3.0", "openrail": "OpenRAIL",
    "llama3": "Llama 3", "llama3.1": "Llama 3.1", "llama3.2": "Llama 3.2", "llama3.3": "Llama 3.3", "gemma": "Gemma",
}
PARAMETER_HOW = {COUNTED: " (exact, counted from the weight files)", ESTIMATED: " (estimated from config.json)"}
FIT_COLOURS = {"fits": "#15803d", "tight": "#b45309", "too big": "#b91c1c", "unknown": "#6b7280"}


def count(value: int | None) -> str:
    """135_000_000 -> '135 M', 7_615_616_512 -> '7.6 B'."""
    if not value:
        return ""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            shown = value / scale
            return f"{shown:.1f} {unit}" if shown < 10 else f"{shown:.0f} {unit}"
    return str(value)


def parameters_text(model: ModelInfo) -> str:
    """Exact counts as they are; an estimate from config.json with '≈' before it."""
    text = count(model.parameters)
    return f"≈ {text}" if text and model.parameters_how.startswith("estimated") else text


def context_text(tokens: int | None) -> str:
    if not tokens:
        return ""
    return f"{tokens // 1024}K tokens" if tokens >= 4096 and tokens % 1024 == 0 else f"{tokens:,} tokens"


def task_text(model: ModelInfo) -> str:
    """What the model can learn: "Sort texts or Tag names" for a bare encoder, the one task a trained model does."""
    words = [TASK_WORDS[name] for name in (model.tasks or (model.task,)) if name in TASK_WORDS]
    if not words:
        return "Not supported"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1].lower()


def licence_text(licence: str) -> str:
    return LICENCE_WORDS.get(licence.lower(), licence)


def source_text(source: str) -> str:
    return SOURCE_WORDS.get(source, source.capitalize())


def fit_for(model: ModelInfo, hardware: Hardware | None) -> Fit:
    """The fit column: for now the weights' memory against this machine's (see `engine.models.fit`)."""
    gpus = hardware.gpus if hardware else []
    gpu_memory = int(gpus[0].get("total_memory") or 0) if gpus else None
    return weights_fit(model.parameters, gpu_memory=gpu_memory, ram=hardware.ram_total if hardware else None)


def details(model: ModelInfo, hardware: Hardware | None) -> list[tuple[str, str]]:
    """The facts of the selected model, (label, words), in the order the details panel shows them."""
    how = model.parameters_how or ""
    rows = [
        ("Task", TASKS[model.task].words.model_kind if model.task in TASKS else "Not one Tunewright trains"),
        ("Architecture", model.architecture or "Unknown"),
        ("Reads up to", context_text(model.context_length) or "Unknown"),
        ("Licence", licence_text(model.licence) or "Not stated"),
        ("Size on disk", size(model.disk_size) if model.disk_size else "Unknown"),
        ("Use it as", model.ref),
        ("Parameters", f"{model.parameters:,}{PARAMETER_HOW.get(how, '')}" if model.parameters else "Unknown"),
        ("Weights", WEIGHT_WORDS.get(model.weights, model.weights) + ("; needs to run the model's own code" if model.custom_code else "")),
        ("Memory", fit_for(model, hardware).detail),
        ("Where", f"{source_text(model.source)}: {model.path}" if model.path else "Not installed"),
    ]
    return rows


def download_text(row: dict[str, Any]) -> str:
    """'1.2 GB of 3.4 GB' while it runs, and what it is when it does not."""
    done, total, status = row.get("bytes_done") or 0, row.get("bytes_total") or 0, row.get("status")
    if status == "completed":
        return f"Done, {size(total)}" if total else "Done"
    if status == "failed":
        return row.get("error") or "The download stopped."
    amount = f"{size(done)} of {size(total)}" if total else "Finding the files…"
    if status == "paused":
        return f"Paused at {amount}" if total else "Paused"
    if status == "queued":
        return "Waiting to start"
    return amount


def download_fraction(row: dict[str, Any]) -> float:
    total = row.get("bytes_total") or 0
    return min(1.0, (row.get("bytes_done") or 0) / total) if total else 0.0

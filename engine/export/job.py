"""The export job: load a finished run's model, write it in the chosen format, write its model card, and
check the export with an independent reader. Read top to bottom: load -> write -> card -> verify -> record.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine import store
from engine.config import ConfigError, ExportConfig, from_dict
from engine.data.errors import DataError
from engine.export.card import write_model_card
from engine.export.gguf import GGUF_TYPES, write_gguf, write_modelfile
from engine.export.verify import verify_export
from engine.models.catalog import ModelSource, resolve
from engine.models.loading import load_tokenizer, materialize
from engine.models.students import Teacher, find_teacher
from engine.protocol import makes_model, Status, message, model_task
from engine.quoting import shown
from engine.tasks import task as task_named
from engine.training import Job


@dataclass
class RunModel:
    """A finished training run's model as the app uses it (the LoRA applied, not merged)."""

    run: dict[str, Any]
    config: Any  # the run's ClassifyConfig or ChatConfig
    task: str  # its name in the table of tasks
    model: Any
    tokenizer: Any
    model_dir: Path
    base: ModelSource
    is_adapter: bool
    labels: list[str] = field(default_factory=list)
    multi_label: bool = False
    teacher: Teacher | None = None  # a distilled student's

    def merged(self):
        """A plain transformers model with the LoRA folded into its weights (a copy: `model` is kept)."""
        if not self.is_adapter:
            return self.model
        return copy.deepcopy(self.model).merge_and_unload().eval()


def load_run_model(db, run_id: int, home: Path) -> RunModel:
    run = store.get_run(db, run_id)
    model_dir = Path(run["run_dir"] or "") / "model"
    task = model_task(run)
    if not makes_model(run["kind"]):
        raise ConfigError(f"Run {run_id} is a {run['kind']} run; only a training run has a model to export.")
    if run["status"] != Status.COMPLETED or task is None or not model_dir.exists():
        raise ConfigError(f"Run {run_id} has no finished model yet (it is {run['status']}).")
    config = from_dict(run["config"])
    own = task_named(task).load_run
    if own is not None:  # a task whose models are not transformers' (a distilled student's folder is as any other)
        try:
            model, preparation, labels, multi_label = own(model_dir)
        except Exception as error:  # noqa: BLE001 - truncated weights, a garbled settings file
            raise ConfigError(message("model.damaged", run=run_id, folder=model_dir, detail=shown(f"{type(error).__name__}: {error}", 120))[1]) from error
        base = ModelSource(config.model, model_dir, config.model)
        return RunModel(run, config, task, model.eval(), preparation, model_dir, base, False, labels, multi_label)
    teacher = None
    if run["kind"] == "distill":  # a whole student model in its folder; its starting point is the teacher
        teacher = find_teacher(config.teacher, home, allow_unsafe=config.allow_unsafe_weights)
        base = materialize(teacher.source, home)
    else:
        base = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), home)
    is_adapter = (model_dir / "adapter_config.json").exists()
    try:
        tokenizer, model, labels, multi_label = _load_saved(db, run_id, config, task, base, model_dir, is_adapter)
    except (ConfigError, DataError):
        raise
    except Exception as error:  # noqa: BLE001 - truncated weights, a garbled config: each library says it its own way
        raise ConfigError(message("model.damaged", run=run_id, folder=model_dir, detail=shown(f"{type(error).__name__}: {error}", 120))[1]) from error
    return RunModel(run, config, task, model.eval(), tokenizer, model_dir, base, is_adapter, labels, multi_label, teacher)


def _load_saved(db, run_id: int, config, task: str, base: ModelSource, model_dir: Path, is_adapter: bool):
    """The tokenizer, model, labels and whether several labels apply, as the run saved them."""
    own = ModelSource(base.ref, model_dir, base.title)
    tokenizer = load_tokenizer(own)
    metadata = next((a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] in ("adapter", "model")), {})
    labels, multi_label = metadata.get("labels") or [], bool(metadata.get("multi_label"))
    model = task_named(task).load_model(base if is_adapter else own, labels, multi_label, config.allow_unsafe_weights)
    if is_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, model_dir)
    return tokenizer, model, labels, multi_label


# ---------------------------------------------------------------- the job


def run(job: Job) -> Status:
    config: ExportConfig = job.config  # type: ignore[assignment]
    db, started = job.db, time.monotonic()
    store.update_run(db, job.run_id, status=Status.RUNNING, started_at=time.time(), total_steps=4)
    job.event("export.started", format=config.format, run=config.run_id)

    folder = Path(config.to).expanduser() if config.to else job.run_dir / "export"
    try:
        source = load_run_model(db, config.run_id, job.home)
        check_format_fits(source, config.format)
        _progress(job, 1)
        folder.mkdir(parents=True, exist_ok=True)
        written = write_export(source, config.format, folder)
    except ConfigError as problem:  # a sentence for the person, not a training failure's wording
        job.event("export.failed", reason=str(problem))
        store.update_run(db, job.run_id, error=str(problem))
        return Status.FAILED
    _progress(job, 2)
    write_model_card(db, source, config.format, folder, written)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    job.artifact("export", folder, format=config.format, files=sorted(p.name for p in folder.iterdir()), bytes=size)
    job.event("export.written", format=config.format, path=folder, size=_megabytes(size))
    _progress(job, 3)

    verdict = verify_export(source, config.format, folder)
    verdict |= {"format": config.format, "folder": str(folder), "bytes": size, "seconds": round(time.monotonic() - started, 1)}
    verdict_path = job.run_dir / "verification.json"
    verdict_path.write_text(json.dumps(verdict, indent=2), encoding="utf-8")
    job.artifact("verification", verdict_path, passed=verdict["passed"], format=config.format, summary=verdict["summary"],
                 detail=verdict.get("detail", ""))
    _progress(job, 4)
    if verdict["passed"]:
        job.event("export.verified", summary=verdict["summary"])
        return Status.COMPLETED
    job.event("export.check_failed", summary=verdict["summary"])
    store.update_run(db, job.run_id, error=verdict["summary"])
    return Status.FAILED


#: The formats as the sentences name them.
FORMAT_NAMES = {"merged": "a merged folder", "adapter": "the adapter alone", "gguf-f16": "GGUF", "gguf-q8_0": "GGUF", "onnx": "ONNX"}


def check_format_fits(source: RunModel, fmt: str) -> None:
    """Refuse, in a sentence, a format that does not exist for this run's model."""
    if fmt == "adapter" and not source.is_adapter:
        raise ConfigError("This run trained every weight, so there is no separate adapter; export it as 'merged'.")
    task = task_named(source.task)
    if fmt not in task.export_formats:
        fits = list(dict.fromkeys(FORMAT_NAMES[name] for name in task.export_formats if name != "adapter"))
        raise ConfigError(message(
            "export.format_unfit", format=FORMAT_NAMES[fmt], task=task.words.short.lower(),
            fits=", ".join(fits[:-1]) + f" or {fits[-1]}" if len(fits) > 1 else fits[0],
        )[1])


def write_export(source: RunModel, fmt: str, folder: Path) -> list[Path]:
    """Write the format's files into `folder`; returns the main files written."""
    if task_named(source.task).write_export is not None:
        return task_named(source.task).write_export(source, fmt, folder)
    if fmt == "adapter":
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy2(source.model_dir / name, folder / name)
        source.tokenizer.save_pretrained(folder)
        return [folder / "adapter_model.safetensors"]
    merged = source.merged()
    if fmt == "merged":
        merged.save_pretrained(folder, safe_serialization=True)
        source.tokenizer.save_pretrained(folder)
        return sorted(folder.glob("*.safetensors"))
    if fmt in GGUF_TYPES:
        path = write_gguf(merged, source.tokenizer, folder, fmt, name=source.run["name"])
        try:
            write_modelfile(folder, path, source.tokenizer, getattr(source.config, "system_prompt", ""))
        except ConfigError as reason:
            (folder / "NO-MODELFILE.txt").write_text(str(reason) + "\n", encoding="utf-8")
        return [path]
    if fmt == "onnx":
        return [write_onnx(merged, source.tokenizer, folder)]
    raise ConfigError(f"'{fmt}' is not an export format Tunewright knows.")


class _LogitsOnly(torch.nn.Module):
    """The classifier with plain tensor inputs and one output, the form ONNX Runtime users expect."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def write_onnx(model, tokenizer, folder: Path) -> Path:
    """model.onnx with any batch size and text length, next to the tokenizer and the label names."""
    import logging

    path = folder / "model.onnx"
    example = tokenizer(["a short text", "and a somewhat longer one to pad against"], padding=True, return_tensors="pt")
    batch, length = torch.export.Dim("batch"), torch.export.Dim("sequence")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    program = torch.onnx.export(
        _LogitsOnly(model.float().eval()),
        (example["input_ids"], example["attention_mask"]),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}},
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    program.save(str(path))
    tokenizer.save_pretrained(folder)
    model.config.save_pretrained(folder)  # config.json: id2label, so the numbers out of ONNX have names
    return path


def _progress(job: Job, step: int) -> None:
    store.update_run(job.db, job.run_id, step=step, progress=step / 4)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"

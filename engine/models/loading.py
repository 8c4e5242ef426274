"""Loading models and tokenizers for training, from safetensors folders or a de-quantised GGUF."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
import transformers
from filelock import FileLock
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from engine.models.catalog import ModelSource
from engine.models.students import Teacher
from engine.models.tokenizers import load_tokenizer  # noqa: F401 - where the recipes find it
from engine.tasks import task as task_named

# The job writes its own plain-language events; library chatter and progress bars only fill the log.
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def materialize(source: ModelSource, home: Path) -> ModelSource:
    """A GGUF is de-quantised once into a safetensors folder under `home/models`, so later jobs load in
    a second instead of twenty; other sources are returned as they are."""
    if not source.gguf_file:
        return source
    folder = home / "models" / Path(source.gguf_file).stem
    with FileLock(str(folder) + ".lock"):
        if not (folder / "config.json").exists():
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            tokenizer = AutoTokenizer.from_pretrained(source.path, gguf_file=source.gguf_file)
            model = AutoModelForCausalLM.from_pretrained(source.path, gguf_file=source.gguf_file, dtype=torch.float32)
            # The weights are plain float32 after de-quantising; only the GGUF marker makes transformers
            # refuse to save them, so drop it.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(partial)
            tokenizer.save_pretrained(partial)
            partial.rename(folder)
    return ModelSource(source.ref, folder, source.title, bundled=source.bundled)


def load_classifier(
    source: ModelSource, labels: list[str], *, multi_label: bool, dtype: torch.dtype, allow_unsafe: bool = False
):
    return AutoModelForSequenceClassification.from_pretrained(
        source.path,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
        dtype=dtype,
        use_safetensors=None if allow_unsafe else True,
        trust_remote_code=allow_unsafe,
    )


def load_causal_lm(source: ModelSource, *, dtype: torch.dtype, allow_unsafe: bool = False):
    return AutoModelForCausalLM.from_pretrained(
        source.path,
        dtype=dtype,
        use_safetensors=None if allow_unsafe else True,
        trust_remote_code=allow_unsafe,
        attn_implementation="sdpa",
    )


def load_teacher(teacher: Teacher, home: Path, *, allow_unsafe: bool = False):
    """A distillation teacher in fp32, in eval mode, learning nothing, and the folder it was loaded from
    (a LoRA run's adapters merged into its starting model)."""
    source = materialize(teacher.source, home)
    task = task_named(teacher.task)
    if teacher.adapter is not None:  # the run's starting model, given the run's head and then its adapters
        model = task.load_model(source, list(teacher.labels), teacher.multi_label, allow_unsafe)
    else:
        model = task.load_folder(source, allow_unsafe)["model"]
    if teacher.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, teacher.adapter).merge_and_unload()
    model.eval().requires_grad_(False)
    return model, source

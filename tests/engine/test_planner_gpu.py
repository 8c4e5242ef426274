"""On a CUDA GPU: the memory forecast against the measured peak for the BENCHMARKS.md model shapes, and a
too-large batch that runs out of memory and still finishes.

Run on an H100 (prints the forecast-vs-measured table):
    QT_QPA_PLATFORM=offscreen python -m pytest -q -s -p no:cacheprovider -m gpu tests/engine/test_planner_gpu.py
Without a GPU, `python -m tests.engine.test_planner_gpu` prints the forecasts alone.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.forecast import GiB, ModelShape, forecast_memory

# BENCHMARKS.md's shapes (random weights: memory does not depend on their values).
SHAPES = {
    "135M": dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                 intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True, max_position_embeddings=8192),
    "1.2B": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                 intermediate_size=8192, vocab_size=128256, tie_word_embeddings=True, max_position_embeddings=8192),
    "7.6B": dict(hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                 intermediate_size=18944, vocab_size=152064, tie_word_embeddings=False, max_position_embeddings=8192),
}


@dataclass(frozen=True)
class Case:
    model: str
    method: str
    micro_batch: int
    seq_len: int
    checkpointing: bool

    @property
    def label(self) -> str:
        return f"{self.model} {self.method} b{self.micro_batch}x{self.seq_len}{' ckpt' if self.checkpointing else ''}"


# The benchmark's models and methods, at a fixed width (a padded batch of the length limit is the
# worst case the planner guards against), each small enough for an 80 GB GPU.
CASES = [
    Case("135M", "lora", 8, 1024, False),
    Case("135M", "lora", 8, 2048, True),
    Case("135M", "full", 8, 1024, False),
    Case("1.2B", "lora", 4, 1024, False),
    Case("1.2B", "lora", 8, 2048, True),
    Case("1.2B", "full", 8, 1024, True),
    Case("1.2B", "full", 4, 1024, False),
    Case("7.6B", "lora", 4, 1024, True),
    Case("7.6B", "lora", 2, 1024, False),
]


def llama_config(name: str):
    from transformers import LlamaConfig

    extra = {"attention_bias": False, "head_dim": SHAPES[name]["hidden_size"] // SHAPES[name]["num_attention_heads"]}
    return LlamaConfig(**SHAPES[name], **extra)


def shape_of(name: str) -> ModelShape:
    from engine.forecast import shape_from_config

    return shape_from_config(llama_config(name))


def forecast(case: Case):
    return forecast_memory(shape_of(case.model), case.method, case.micro_batch, case.seq_len, checkpointing=case.checkpointing)


def forecast_table() -> str:
    rows = ["| case | forecast peak (GiB) | parts (GiB) |", "| --- | --- | --- |"]
    for case in CASES:
        f = forecast(case)
        parts = ", ".join(f"{k} {v / GiB:.1f}" for k, v in f.parts.items() if v)
        rows.append(f"| {case.label} | {f.allocated / GiB:.1f} | {parts} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- on the GPU


def _train_a_few_steps(case: Case, home: Path, steps: int = 4, device_type: str = "cuda") -> float:
    """Build the case's model as the chat recipe does, run `fit` for a few steps on random tokens, and
    return torch.cuda.max_memory_allocated (device_type "cpu" only walks the code path, for a dry run)."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    from engine import store
    from engine.config import ChatConfig
    from engine.jobs import submit
    from engine.recipes.distill import _token_loss_sum
    from engine.training import Controls, Job, Loop, fit

    device = torch.device(device_type)
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    dtype = torch.bfloat16 if case.method == "lora" else torch.float32  # as finetune_lm._load_model
    with device:
        model = AutoModelForCausalLM.from_config(llama_config(case.model), dtype=dtype, attn_implementation="sdpa")
    if case.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if case.method == "lora":
        model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear"))
    vocab = SHAPES[case.model]["vocab_size"]

    config = ChatConfig(
        model="gpu-test", data="random", method=case.method, batch_size=case.micro_batch, micro_batch_size=case.micro_batch,
        max_steps=steps, max_length=case.seq_len, early_stopping_patience=0, checkpoint_minutes=10_000,
        gradient_checkpointing="on" if case.checkpointing else "off", learning_rate=1e-5, eval_every=10_000,
    )
    db = store.open_db(store.database_path(home))
    run_id = submit(db, config, home=home)
    job = Job(db, run_id, config, home / "runs" / str(run_id), home, device, torch.bfloat16, Controls(db, run_id))
    job.run_dir.mkdir(parents=True, exist_ok=True)

    def micro_batches(indices, size):
        out = []
        for start in range(0, len(indices), size):
            n = len(indices[start : start + size])
            ids = torch.randint(0, vocab, (n, case.seq_len), device=device)
            mask = torch.ones_like(ids)
            mask[0, -7:] = 0  # one padded row, so attention takes the masked path a real padded batch takes
            labels = ids.masked_fill(mask == 0, -100)
            out.append({"input_ids": ids, "attention_mask": mask, "labels": labels, "count": int((labels[:, 1:] != -100).sum()), "tokens": int(mask.sum())})
        return out

    def loss_sum(model, batch):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return _token_loss_sum(logits, batch["labels"])

    loop = Loop(
        step_batches=lambda epoch: [list(range(case.micro_batch))] * steps, micro_batches=micro_batches,
        loss_sum=loss_sum, evaluate=lambda model: {"eval_loss": 0.0}, metric="eval_loss", higher_is_better=False,
        steps_per_epoch=steps, tokens_key="tokens",
    )
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    fit(job, model, loop, 1e-5)
    peak = torch.cuda.max_memory_allocated() if cuda else 0.0
    del model, loop
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return float(peak)


@pytest.mark.gpu
def test_memory_forecast_is_within_15_percent_of_the_measured_peak(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    rows, misses = [], []
    for index, case in enumerate(CASES):
        predicted = forecast(case).allocated
        try:
            measured = _train_a_few_steps(case, tmp_path / f"case{index}")
        except torch.OutOfMemoryError:
            rows.append(f"| {case.label} | {predicted / GiB:.1f} | out of memory | |")
            misses.append(case.label)
            continue
        error = (predicted - measured) / measured
        rows.append(f"| {case.label} | {predicted / GiB:.1f} | {measured / GiB:.1f} | {error:+.0%} |")
        if abs(error) > 0.15:
            misses.append(f"{case.label} ({error:+.0%})")
    print("\n| case | forecast (GiB) | measured max_memory_allocated (GiB) | error |\n| --- | --- | --- | --- |")
    print("\n".join(rows))
    assert not misses, f"forecast off by more than 15% for: {', '.join(misses)}"


@pytest.mark.gpu
def test_a_batch_too_large_for_the_gpu_is_split_and_the_run_finishes(tunewright_home, tiny_chat_config):
    """Cap this process to 2 GiB of GPU memory; a whole batch of 64 conversations with SmolLM2's 49k
    vocabulary needs several times that for its logits alone, so the run must halve its micro-batch."""
    import torch

    from engine import store
    from tests.engine.helpers import run_in_process, train_steps

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(2 * GiB / total)
    try:
        db, run_id = run_in_process(tunewright_home, {
            **tiny_chat_config, "batch_size": 64, "micro_batch_size": 64, "max_steps": 3, "max_length": 256,
            "gradient_checkpointing": "off", "learning_rate": 1e-4, "early_stopping_patience": 0,
        })
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    messages = [e["message"] for e in store.events(db, run_id)]
    assert any(m.startswith("The batch did not fit in the GPU's memory; it is now processed in") for m in messages)
    assert train_steps(db, run_id) == [1, 2, 3]
    assert math.isfinite(store.latest_metrics(db, run_id)["train_loss"])


if __name__ == "__main__":
    print(forecast_table())

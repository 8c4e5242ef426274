"""How long a whole run takes, from the moment it is started to its saved model: start-up, data preparation,
the training steps, every evaluation pass (the checks during training and the final one on the held-out
examples) and the saving of the best model each time it improves.

The training part alone (`engine.forecast.forecast_time`, FLOPs over a sustained rate) misjudges small
models on a processor, where each step's many small operations cost more than their arithmetic: the demo
classifier's 16 x 32-token steps ran three times slower than the FLOP count said. So on a CPU the planner
times two real steps of the model, built from its config with random weights (no weights are read), at
the planned batch shape, in the same process and under the same machine load as the estimate is made
(`measure_steps`). Where that cannot be done (a GPU, a model too large to build here) the FLOP estimate
stands, and the other parts are added to it all the same.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.forecast import (
    ModelShape, describe_duration, flops_per_token, forecast_time, lora_parameter_count, model_config, parameter_counts,
    sustained_flops,
)

# Starting a job process: Python, torch and transformers imported, the database opened (measured 5-9 s on
# a 2-core machine, 2-3 s on a workstation; the larger is kept, being on the safe side).
PROCESS_START_SECONDS = 6.0
# Reading weights from disk into memory (a warm page cache reads faster; a cold disk slower).
READ_BYTES_PER_SECOND = 200e6
# Tokenizing, splitting and checking the examples: per example, with a fast (Rust) tokenizer.
PREPARE_SECONDS_PER_ROW = 2e-4
# Writing a best checkpoint (the weights, in safetensors, into the page cache): per byte. Measured on a
# 2-core machine: 18 MB of weights in 0.05 s, 53 MB of weights and optimizer state in 0.06 s.
WRITE_BYTES_PER_SECOND = 400e6
# The evaluation recipes score this many examples at once (engine/recipes/finetune_classifier.EVAL_BATCH).
EVAL_BATCH = 64
# The timed step is kept to about this many seconds (at this assumed CPU speed), so that a plan stays quick.
MEASURE_SECONDS, ASSUMED_CPU_FLOPS = 2.0, 2e10
# A model is built and timed on the CPU only below this size: larger ones take longer to build than the
# FLOP estimate is off by.
MEASURE_LIMIT = 400_000_000


@dataclass
class Measured:
    """Seconds for one training step and one evaluation batch, timed on this machine just now."""

    train_step: float
    eval_batch: float  # seconds for `eval_tokens` tokens read without learning
    micro_batch: int
    seq_len: int
    eval_tokens: int = 0


@dataclass
class RunTime:
    """The forecast of a whole run, in seconds, by part."""

    seconds: float
    parts: dict[str, float]  # start_up, preparation, training, evaluation, saving
    tokens: float
    source: str  # how the speed was found, in an engineer's words
    place: str = "this computer"
    evaluations: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def sentence(self) -> str:
        return f"About {describe_duration(self.seconds)} of training on {self.place}, checks and start-up included."

    def detail(self) -> str:
        shown = ", ".join(f"{name.replace('_', ' ')} {describe_duration(value)}" for name, value in self.parts.items() if value >= 0.5)
        return (f"{shown}; {self.evaluations} evaluation passes; {self.tokens / 1e6:.2g} million tokens (word pieces) "
                f"to train on; {self.source}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"sentence": self.sentence(), "detail": self.detail()}


def evaluation_passes(steps: int, eval_every: int, final_check: bool = True) -> int:
    """The checks during training (every `eval_every` steps and at the last step) and the final one."""
    during = math.ceil(steps / max(eval_every, 1))
    return during + (1 if final_check else 0)


def padded_length(lengths: list[int], limit: int, batch: int) -> float:
    """The mean width of batches of `batch` examples taken in file order, each padded to its longest."""
    if not lengths:
        return float(limit)
    cut = [min(n, limit) for n in lengths]
    widths = [max(cut[i : i + batch]) for i in range(0, len(cut), batch)]
    return sum(widths) / len(widths)


def forecast_run_time(
    shape: ModelShape, method: str, *, device_type: str, device_name: str = "", steps: int, batch: int, micro: int,
    seq_len: int, mean_length: float, rows: int, eval_rows: int, eval_length: float, evaluations: int,
    weights_bytes: float, measured: Measured | None = None, start_up: float | None = None, lora_rank: int = 16,
) -> RunTime:
    """Seconds for the whole run. `mean_length` is the mean padded width of a training micro-batch (the
    recipes group similar lengths, so it is near the mean length); `eval_length` that of an evaluation batch."""
    tokens = steps * batch * min(mean_length or seq_len, seq_len)
    pieces = math.ceil(batch / max(micro, 1))
    eval_batches = math.ceil(eval_rows / EVAL_BATCH) if eval_rows else 0
    if measured is not None:
        # Step time grows with the tokens in it; the measurement was made at `measured.seq_len`.
        width = min(mean_length or seq_len, seq_len) / max(measured.seq_len, 1)
        training = steps * pieces * measured.train_step * width * (micro / max(measured.micro_batch, 1))
        evaluation = evaluations * eval_batches * measured.eval_batch * (EVAL_BATCH * eval_length / max(measured.eval_tokens, 1))
        source = (f"two training steps and an evaluation batch timed on this computer just now "
                  f"({measured.train_step:.2f} s and {measured.eval_batch:.2f} s)")
    else:
        estimate = forecast_time(shape, method, tokens, seq_len, device_type, device_name)
        training = estimate.seconds
        # Evaluation is a forward pass only: a third of a full training step's work per token.
        rate, _ = sustained_flops(device_type, device_name) if device_type != "cpu" else (estimate.sustained_flops, "")
        per_token = flops_per_token(shape, "full", seq_len) / 3
        evaluation = evaluations * eval_rows * eval_length * per_token / rate
        source = estimate.source
    saves = max(evaluations - 1, 0)  # at most one best checkpoint per check during training
    # LoRA saves only its adapters: their share of the weights.
    written = weights_bytes * (1.0 if method == "full" else lora_parameter_count(shape, lora_rank) / max(parameter_counts(shape).total, 1))
    parts = {
        "start_up": (PROCESS_START_SECONDS if start_up is None else start_up) + weights_bytes / READ_BYTES_PER_SECOND,
        "preparation": (rows + eval_rows) * PREPARE_SECONDS_PER_ROW,
        "training": training,
        "evaluation": evaluation,
        "saving": saves * written / WRITE_BYTES_PER_SECOND,
    }
    place = {"cuda": "the GPU", "mps": "the Mac's GPU"}.get(device_type, "this computer's processor")
    return RunTime(sum(parts.values()), parts, tokens, source, place, evaluations,
                   {"eval_batches_per_pass": eval_batches, "pieces_per_step": pieces})


def process_start_seconds(after_imports: bool = True) -> float | None:
    """How long this engine process took to start and import torch and transformers: its own age, when it
    is a fresh command (`tunewright-engine plan`) rather than a long-lived process (None then). A job
    process starts the same way, under the same machine load."""
    import psutil

    age = time.time() - psutil.Process().create_time()
    return age if after_imports and age < 120 else None


def weights_bytes(folder: str | Path) -> float:
    """Bytes of the weight files in a model folder (what is read at start-up and written at each save)."""
    folder = Path(folder)
    found = [p for pattern in ("*.safetensors", "*.gguf", "*.bin") for p in folder.glob(pattern)]
    return float(sum(p.stat().st_size for p in found))


def measure_steps(model_folder: str | Path, method: str, micro: int, seq_len: int, eval_length: float,
                  *, classifier: bool, num_labels: int = 2, gguf_file: str = "", layers: int | None = None) -> Measured | None:
    """Time a training step (forward, backward, optimizer) and an evaluation batch of the model built from
    its config with random weights, on the CPU; None when it cannot be built here or is too large. The random
    numbers it draws are its own: a run that times its steps at its start trains exactly as one that does not."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _measure_steps(model_folder, method, micro, seq_len, eval_length, classifier=classifier,
                              num_labels=num_labels, gguf_file=gguf_file, layers=layers)


def _measure_steps(model_folder, method, micro, seq_len, eval_length, *, classifier, num_labels, gguf_file, layers):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    try:
        config = model_config(model_folder, gguf_file)
        config.num_labels = max(num_labels, 2)
        config.problem_type = "single_label_classification"  # the loss's kind costs the same either way
        if layers:  # a student that keeps some of the layers
            config.num_hidden_layers = layers
        build = AutoModelForSequenceClassification if classifier else AutoModelForCausalLM
        with torch.device("meta"):
            size = sum(p.numel() for p in build.from_config(config).parameters())
        if size > MEASURE_LIMIT:
            return None
        model = build.from_config(config)
        # A large model's step on a CPU takes many seconds: it is timed on fewer tokens (one example, then a
        # shorter one) and scaled up by the forecast, which large models' compute-bound steps allow.
        while 6.0 * size * micro * seq_len / ASSUMED_CPU_FLOPS > MEASURE_SECONDS and (micro > 1 or seq_len > 32):
            micro, seq_len = (max(1, micro // 2), seq_len) if micro > 1 else (micro, max(32, seq_len // 2))
        eval_rows, eval_width = EVAL_BATCH, max(2, round(eval_length))
        while 2.0 * size * eval_rows * eval_width / ASSUMED_CPU_FLOPS > MEASURE_SECONDS and eval_rows > 1:
            eval_rows = max(1, eval_rows // 2)
    except (OSError, ValueError, KeyError, RuntimeError):
        return None
    if config.pad_token_id is None:
        config.pad_token_id = 0
    vocab = getattr(config, "vocab_size", 1000)
    trained = list(model.parameters())
    if method != "full":
        # LoRA: the frozen weights need no gradients of their own, but the backward pass still runs through
        # every layer to reach the adapters; a trainable input embedding makes it do so (the adapters'
        # own small cost is left out).
        for p in trained:
            p.requires_grad_(False)
        trained = [model.get_input_embeddings().weight]
        trained[0].requires_grad_(True)
    optimizer = torch.optim.AdamW(trained, lr=1e-5)
    generator = torch.Generator().manual_seed(0)

    def batch(size: int, length: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(5, vocab, (size, max(length, 2)), generator=generator)
        out = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        out["labels"] = torch.zeros(size, dtype=torch.long) if classifier else ids
        return out

    def train_step() -> None:
        model(**batch(micro, seq_len)).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def eval_batch() -> None:
        with torch.no_grad():
            model(**batch(eval_rows, eval_width))

    try:
        model.train()
        # The first step is never timed: it allocates, picks kernels and pays the library's lazy imports (about
        # 10 s on a busy 2-core machine, against 0.1 s for a demo step).
        train_step()
        first = _timed(train_step, 1, budget=0)
        # A step that takes this long even when timed small means a slow or busy machine: that one timing
        # stands, so that the plan does not keep the person waiting.
        train = first if first > 3 * MEASURE_SECONDS else _timed(train_step, 2)
        model.eval()
        evaluate = _timed(eval_batch, 1)
    except Exception:  # noqa: BLE001 - a model that will not run here is timed by its FLOPs instead
        return None
    return Measured(train, evaluate, micro, seq_len, eval_rows * eval_width)


def _timed(work, repeats: int, budget: float = 1.0, most: int = 20) -> float:
    """The median time of `work`: at least `repeats` runs, more while they take under `budget` seconds in
    all (a step of a small model takes milliseconds, and a busy machine scatters single timings widely)."""
    times: list[float] = []
    while len(times) < repeats or (sum(times) < budget and len(times) < most):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]

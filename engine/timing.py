"""How long a whole run takes, from the moment it is started to its saved model: start-up, data preparation,
the training steps, every evaluation pass (the checks during training and the final one on the held-out
examples) and the saving of the best model each time it improves.

The training part alone (`engine.forecast.forecast_time`, FLOPs over a sustained rate) misjudges small
models on a processor, where each step's many small operations cost more than their arithmetic: the demo
classifier's 16 x 32-token steps ran three times slower than the FLOP count said. So on a CPU the planner
times real steps of the model, built from its config with random weights (no weights are read), at the
planned batch shape and at half of it, in the same process and under the same machine load as the estimate
is made (`measure_steps`): the line through the two is a step's fixed cost and its cost per token, which
carries the timing to batches of other sizes (a partial last evaluation batch, a large model timed small).
Where that cannot be done (a GPU, a model too large to build here) the FLOP estimate stands, and the other
parts are added to it all the same.

An image run (`forecast_picture_run_time`) is forecast the same way, counted in pictures rather than tokens:
its steps are timed at the planned batch and picture size and half the batch (engine/images/timing.py), and
the work a text run does not have is added: each picture decoded and varied for every step it is in (by the
training process itself, or by worker processes meanwhile), decoded for every evaluation, checked before
training, and the final evaluation's heat maps. A small image model's step on a CPU is far slower than its
FLOPs say (EfficientNet-Lite0's depthwise convolutions: 16 pictures at 96 pixels in about 1.5 s on a busy
2-core machine, against 0.1 s by FLOPs), so there the timing is all the more needed.
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
# A GGUF file is parsed and its weights unpacked to float32 as they are read (transformers, through the gguf
# package's Python code): far slower than reading. Measured on a 2-core machine: SmolLM2-135M's 98 MB Q4_1
# file loaded in 15 s.
GGUF_READ_BYTES_PER_SECOND = 6.5e6
# Tokenizing, splitting and checking the examples: per example, with a fast (Rust) tokenizer.
PREPARE_SECONDS_PER_ROW = 2e-4
# Writing a best checkpoint (the weights, in safetensors, into the page cache): per byte. Measured on a
# 2-core machine: 18 MB of weights in 0.05 s, 53 MB of weights and optimizer state in 0.06 s.
WRITE_BYTES_PER_SECOND = 400e6
# The evaluation recipes score this many examples at once (engine/recipes/finetune_classifier.EVAL_BATCH).
EVAL_BATCH = 64
# A timed step is kept to about this many seconds (by its FLOPs at this CPU's speed), so that a plan stays quick.
MEASURE_SECONDS = 2.0
# A model is built and timed on the CPU only below this size: larger ones take longer to build than the
# FLOP estimate is off by.
MEASURE_LIMIT = 400_000_000


@dataclass
class StepCost:
    """A step's seconds as a line in the tokens it carries: a fixed part (the many small operations of each
    layer, the optimizer's pass over the weights) and a part per token. Timed at two sizes, so a step timed
    small, as a large model's must be, is scaled up without charging the fixed part again for every token."""

    fixed: float
    per_token: float

    def seconds(self, tokens: float) -> float:
        return self.fixed + self.per_token * tokens

    @classmethod
    def through(cls, small: tuple[float, float], large: tuple[float, float]) -> StepCost:
        """The line through two timings, each (tokens, seconds). Timings too noisy to give a line with both
        parts positive (the smaller step timed as long as the larger) are read as proportional to tokens."""
        (n_small, t_small), (n_large, t_large) = small, large
        per_token = (t_large - t_small) / max(n_large - n_small, 1)
        if not 0 < per_token <= t_large / n_large:
            return cls(0.0, t_large / n_large)
        return cls(t_large - per_token * n_large, per_token)


@dataclass
class Measured:
    """A training step of one micro-batch and an evaluation batch, timed on this machine just now."""

    train: StepCost
    evaluate: StepCost
    train_tokens: int  # the tokens of the largest training step timed
    train_seconds: float  # and its time, for the plan's detail
    first_step: float = 0.0  # what the run's first full training step takes beyond the others (allocating, picking kernels)


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
    unit: str = "tokens"  # what `tokens` counts: "tokens" (word pieces) or "pictures"

    def sentence(self) -> str:
        return f"About {describe_duration(self.seconds)} of training on {self.place}, checks and start-up included."

    def detail(self) -> str:
        shown = ", ".join(f"{name.replace('_', ' ')} {describe_duration(value)}" for name, value in self.parts.items() if value >= 0.5)
        amount = (f"{self.tokens:,.0f} pictures" if self.unit == "pictures"
                  else f"{self.tokens / 1e6:.2g} million tokens (word pieces)")
        return f"{shown}; {self.evaluations} evaluation passes; {amount} to train on; {self.source}."

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
    read_seconds: float | None = None,
) -> RunTime:
    """Seconds for the whole run. `mean_length` is the mean padded width of a training micro-batch (the
    recipes group similar lengths, so it is near the mean length); `eval_length` that of an evaluation batch."""
    width = min(mean_length or seq_len, seq_len)
    tokens = steps * batch * width
    pieces = math.ceil(batch / max(micro, 1))
    eval_batches = math.ceil(eval_rows / EVAL_BATCH) if eval_rows else 0
    if measured is not None:
        training = steps * pieces * measured.train.seconds(micro * width)
        # A pass reads every evaluation example once, in batches of EVAL_BATCH (the last one partial).
        evaluation = evaluations * (eval_batches * measured.evaluate.fixed + measured.evaluate.per_token * eval_rows * eval_length)
        source = (f"training steps and evaluation batches timed on this computer just now "
                  f"({measured.train_seconds:.2f} s for {measured.train_tokens:,} tokens)")
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
        "start_up": (PROCESS_START_SECONDS if start_up is None else start_up)
        + (weights_bytes / READ_BYTES_PER_SECOND if read_seconds is None else read_seconds),
        "preparation": (rows + eval_rows) * PREPARE_SECONDS_PER_ROW,
        "training": training,
        "evaluation": evaluation,
        "saving": saves * written / WRITE_BYTES_PER_SECOND,
    }
    place = {"cuda": "the GPU", "mps": "the Mac's GPU"}.get(device_type, "this computer's processor")
    return RunTime(sum(parts.values()), parts, tokens, source, place, evaluations,
                   {"eval_batches_per_pass": eval_batches, "pieces_per_step": pieces})


@dataclass
class PictureCosts:
    """An image run's work around the model's steps, in seconds per picture, timed on this machine (the
    pictures are decoded on its processor whatever trains): checking a picture once before training and again
    before the final evaluation (decoded, measured, hashed: engine/images/checks.py), decoding and varying it
    for a training step, decoding it for an evaluation, and one heat map of the final evaluation's gallery (a
    forward and a backward pass of one picture, written as a PNG); and two costs paid once: building the model
    (its weights read) and importing the heat maps' library."""

    look: float
    train: float
    evaluate: float
    heat_map: float
    build: float = 0.0
    heat_map_import: float = 0.0


def forecast_picture_run_time(
    *, device_type: str, device_name: str = "", steps: int, batch: int, head_steps: int, workers: int, checked: int,
    eval_rows: int, evaluations: int, heat_maps: int, weights_bytes: float, pictures: PictureCosts,
    measured: Measured | None = None, flops_per_picture: float = 0.0, start_up: float | None = None,
) -> RunTime:
    """Seconds for a whole image run: `measured` is in pictures (a step's fixed part and its part per picture,
    at the planned picture size); without it, `flops_per_picture` (a forward pass of one picture) at the
    device's sustained rate. `head_steps`: the first steps, in which only the new last layer learns (a forward
    pass through the rest, without gradients); `checked`: the pictures checked before training and before the
    final evaluation, all told; `evaluations`: the checks during training and the final one, which also draws
    `heat_maps` heat maps."""
    eval_batches = math.ceil(eval_rows / EVAL_BATCH) if eval_rows else 0
    if measured is not None:
        step, head_step = measured.train.seconds(batch), measured.evaluate.seconds(batch)
        eval_pass = eval_batches * measured.evaluate.fixed + measured.evaluate.per_token * eval_rows
        source = (f"training steps and evaluation batches timed on this computer just now "
                  f"({measured.train_seconds:.2f} s for {measured.train_tokens:,} pictures)")
    else:
        rate, source = sustained_flops(device_type, device_name)
        # A training step is a forward pass and a backward pass of twice its work.
        step, head_step = 3 * flops_per_picture * batch / rate, flops_per_picture * batch / rate
        eval_pass = flops_per_picture * eval_rows / rate

    def with_pictures(model_seconds: float) -> float:
        decoding = batch * pictures.train
        # Worker processes decode the next steps while this one trains; without them, the step waits for its own.
        return max(model_seconds, decoding / workers) if workers else model_seconds + decoding

    head_steps = min(head_steps, steps)
    saves = max(evaluations - 1, 0)  # at most one best checkpoint per check during training
    parts = {
        "start_up": (PROCESS_START_SECONDS if start_up is None else start_up) + pictures.build,
        "preparation": checked * pictures.look,
        "training": head_steps * with_pictures(head_step) + (steps - head_steps) * with_pictures(step)
        + (measured.first_step if measured is not None and steps > head_steps else 0.0),
        "evaluation": evaluations * (eval_pass + eval_rows * pictures.evaluate)
        + pictures.heat_map_import + heat_maps * pictures.heat_map,
        "saving": saves * weights_bytes / WRITE_BYTES_PER_SECOND,
    }
    place = {"cuda": "the GPU", "mps": "the Mac's GPU"}.get(device_type, "this computer's processor")
    return RunTime(sum(parts.values()), parts, steps * batch, source, place, evaluations,
                   {"eval_batches_per_pass": eval_batches, "heat_maps": heat_maps, "head_steps": head_steps},
                   unit="pictures")


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


def read_seconds(folder: str | Path) -> float:
    """Seconds to read a model folder's weights into memory at a job's start."""
    folder = Path(folder)
    gguf = sum(p.stat().st_size for p in folder.glob("*.gguf"))
    return (weights_bytes(folder) - gguf) / READ_BYTES_PER_SECOND + gguf / GGUF_READ_BYTES_PER_SECOND


def grouped_width(lengths: list[int], limit: int, batch: int) -> float:
    """The mean width of a training batch when the recipes group examples of similar length
    (engine/data/batching.py): about that of batches cut from the lengths in order."""
    return padded_length(sorted(lengths), limit, batch)


def measure_steps(model_folder: str | Path, method: str, micro: int, width: int, eval_length: float,
                  *, classifier: bool, num_labels: int = 2, gguf_file: str = "", layers: int | None = None) -> Measured | None:
    """Time training steps (forward, backward, optimizer) of `micro` examples of `width` tokens and evaluation
    batches of the model built from its config with random weights, on the CPU, each at two sizes; None when it
    cannot be built here or is too large. The random numbers it draws are its own: a run that times its steps
    at its start trains exactly as one that does not."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _measure_steps(model_folder, method, micro, width, eval_length, classifier=classifier,
                              num_labels=num_labels, gguf_file=gguf_file, layers=layers)


def _halved(rows: int, width: int, least_width: int = 16) -> tuple[int, int]:
    """A shape of about half the tokens: fewer rows while there are several, else fewer tokens."""
    return (rows // 2, width) if rows > 1 else (1, max(least_width, width // 2))


def _measure_steps(model_folder, method, micro, width, eval_length, *, classifier, num_labels, gguf_file, layers):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    from engine.forecast import measure_cpu_flops

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
    except (OSError, ValueError, KeyError, RuntimeError):
        return None
    if config.pad_token_id is None:
        config.pad_token_id = 0
    # A large model's step on a CPU takes many seconds: it is timed on fewer tokens, as the FLOPs at this
    # CPU's matrix-product speed say, and the line through the two timings scales it up.
    rate = measure_cpu_flops()
    train_shape = (micro, max(2, round(width)))
    while 6.0 * size * train_shape[0] * train_shape[1] / rate > MEASURE_SECONDS and train_shape != _halved(*train_shape):
        train_shape = _halved(*train_shape)
    eval_shape = (EVAL_BATCH, max(2, round(eval_length)))
    while 2.0 * size * eval_shape[0] * eval_shape[1] / rate > MEASURE_SECONDS and eval_shape != _halved(*eval_shape):
        eval_shape = _halved(*eval_shape)
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

    def batch(rows: int, length: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(5, vocab, (rows, length), generator=generator)
        out = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        out["labels"] = torch.zeros(rows, dtype=torch.long) if classifier else ids
        return out

    def train_step(rows: int, length: int) -> None:
        model(**batch(rows, length)).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def eval_batch(rows: int, length: int) -> None:
        with torch.no_grad():
            model(**batch(rows, length))

    try:
        model.train()
        # The first step is never timed: it allocates, picks kernels and pays the library's lazy imports (about
        # 10 s on a busy 2-core machine, against 0.1 s for a demo step).
        train_step(*_halved(*train_shape))
        train_step(*train_shape)
        train, train_seconds = timed_line(train_step, train_shape, _halved(*train_shape), 2)
        model.eval()
        eval_batch(*eval_shape)
        evaluate, _ = timed_line(eval_batch, eval_shape, _halved(*eval_shape), 1)
    except Exception:  # noqa: BLE001 - a model that will not run here is timed by its FLOPs instead
        return None
    return Measured(train, evaluate, train_shape[0] * train_shape[1], train_seconds)


def timed_line(work, shape: tuple[int, int], small: tuple[int, int], repeats: int) -> tuple[StepCost, float]:
    """The cost of `work(rows, width)` as a line in rows x width, through timings at `shape` and `small`; and
    the time at `shape`."""
    if small == shape:
        seconds = timed([lambda: work(*shape)], repeats)[0]
        return StepCost(0.0, seconds / (shape[0] * shape[1])), seconds
    # The two sizes take turns, so that a neighbour slowing the machine for a moment slows both alike and
    # leaves the line's slope alone.
    small_seconds, large_seconds = timed([lambda: work(*small), lambda: work(*shape)], repeats)
    return StepCost.through((small[0] * small[1], small_seconds), (shape[0] * shape[1], large_seconds)), large_seconds


def timed(works: list, repeats: int, budget: float = 1.5, most: int = 20) -> list[float]:
    """The typical time of each of `works`, run in turns: at least `repeats` rounds, more while they take
    under `budget` seconds in all (a step of a small model takes milliseconds). Typical is the lower
    quartile: a shared machine's other work only ever adds to a timing, in bursts that a run of minutes
    averages out and a second's timing does not."""
    times: list[list[float]] = [[] for _ in works]
    while len(times[0]) < repeats or (sum(map(sum, times)) < budget and len(times[0]) < most):
        for work, kept in zip(works, times):
            start = time.perf_counter()
            work()
            kept.append(time.perf_counter() - start)
    return [sorted(kept)[len(kept) // 4] for kept in times]

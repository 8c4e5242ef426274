"""The speed and memory benchmark of ../shared/BENCHMARKS.md: the engine's training path against plain
Hugging Face training, in one process, on one GPU, with the same model, data, LoRA rank, learning rate and seed.

Paths, run in alternating order per case:
- engine: what the chat recipe does (engine/recipes/finetune_lm.py): packed rows (engine/data/packing.py),
  variable-length attention (engine/models/attention.py), the chunked or Liger loss (engine/lm_loss.py),
  compiled decoder layers (engine/compiling.py), the engine's fused AdamW (engine/training.make_optimizer).
- stock: transformers.Trainer + peft: bf16, fused AdamW, SDPA, padding to the longest, gradient checkpointing.
- tuned: the same Trainer with padding-free batches (DataCollatorWithFlattening) and torch_compile=True.

Figures: real (non-padding) tokens per second after the warm-up steps, compile time apart, peak GPU memory,
MFU (6N per token for full training, 4N for LoRA, N = non-embedding matmul parameters plus the output head,
989 TFLOP/s for an H100's dense bf16), and the per-step loss of each path against the engine's.

    python bench/run.py --smoke                      # CPU, a tiny shape, seconds: the benchmark still works
    python bench/run.py --readme bench/README.md     # the GPU run; see bench/README.md for the exact command
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from peft import LoraConfig, TaskType, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from engine import compiling  # noqa: E402
from engine.config import ChatConfig  # noqa: E402
from engine.data.chat import IGNORE, TokenizedExample  # noqa: E402
from engine.data.packing import pack  # noqa: E402
from engine.lm_loss import loss_kernel, packed_loss_sum  # noqa: E402
from engine.models.attention import use_packed_attention  # noqa: E402
from engine.training import make_optimizer  # noqa: E402

H100_BF16_FLOPS = 989e12
LEARNING_RATE = {"lora": 2e-4, "full": 2e-5}
LORA_RANK = 16

SHAPES = {  # random-initialised Llama configs: speed does not depend on the weights' values
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=2048, tie_word_embeddings=True),
    "135M": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True),
    "1.2B": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                 num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=True),
    "8B": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False),
}


@dataclass
class Case:
    name: str
    shape: str
    method: str  # "lora" or "full"
    lengths: str  # "varlen" (log-normal, median ~300, cap 2048) or "fixed" (2048)
    batch: int
    steps: int  # total steps; the first WARMUP are not timed
    paths: tuple[str, ...] = ("engine", "stock", "tuned")
    warmup: int = 5  # steps not timed (compiling, allocator warm-up)
    engine_checkpointing: bool = False  # activation checkpointing in the engine path, where memory needs it


CASES = [  # in priority order: a run out of time skips the last ones and says so
    Case("135M LoRA", "135M", "lora", "varlen", 8, 50),
    Case("1.2B LoRA", "1.2B", "lora", "varlen", 8, 25),
    # The 8B targets are MFU and memory against the stock Trainer, so the tuned one is left out there.
    Case("8B LoRA", "8B", "lora", "varlen", 4, 25, paths=("engine", "stock"), engine_checkpointing=True),
    Case("1.2B full", "1.2B", "full", "varlen", 8, 25),
    # 4 x 2,048 tokens: 8 would not fit a 1.2B full fine-tune without checkpointing in 80 GB.
    Case("1.2B full, fixed 2048", "1.2B", "full", "fixed", 4, 25, paths=("engine", "stock")),
    Case("8B LoRA, fixed 2048", "8B", "lora", "fixed", 4, 25, paths=("engine", "stock"), engine_checkpointing=True),
]
SMOKE = Case("smoke", "tiny", "lora", "varlen", 4, 4, warmup=1)


@dataclass
class Result:
    case: str
    path: str
    shape: str
    method: str
    lengths: str
    batch: int
    steps: int
    tokens_per_second: float = 0.0
    padded_tokens_per_second: float = 0.0  # what the GPU computed, padding included
    compile_seconds: float = 0.0  # the engine's trial compile; for the tuned Trainer, its warm-up's excess time
    peak_memory_gib: float | None = None
    mfu: float | None = None
    losses: list[float] = field(default_factory=list)
    note: str = ""


# ---------------------------------------------------------------- models and data


def matmul_parameters(config: LlamaConfig) -> int:
    """N of the MFU convention: the non-embedding matmul weights plus the output head."""
    h, kv = config.hidden_size, config.num_key_value_heads * (config.hidden_size // config.num_attention_heads)
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * config.intermediate_size
    return config.num_hidden_layers * per_layer + config.vocab_size * h


def build_model(case: Case, device: torch.device, seed: int):
    """The same random weights and LoRA adapters for every path (same seed, built on the device)."""
    config = LlamaConfig(**SHAPES[case.shape], max_position_embeddings=4096, use_cache=False)
    dtype = torch.bfloat16 if case.method == "lora" and device.type == "cuda" else torch.float32
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=dtype, attn_implementation="sdpa")
    if case.method == "lora":
        model = get_peft_model(
            model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=LORA_RANK, lora_alpha=2 * LORA_RANK, lora_dropout=0.0,
                              target_modules="all-linear"),
        )
    return model


def synthetic_examples(case: Case, vocab: int, seed: int) -> list[TokenizedExample]:
    """Instruction-like data: a prompt that is not learned, then an answer that is. Lengths log-normal with a
    median of ~300 tokens capped at 2,048, as real SFT data; or all 2,048."""
    generator = torch.Generator().manual_seed(seed)
    n = case.batch * case.steps
    if case.lengths == "fixed":
        lengths = [2048] * n
    else:
        median = 300 if case.shape != "tiny" else 24
        lengths = (torch.randn(n, generator=generator) * 0.9 + math.log(median)).exp().clamp(16, 2048).long().tolist()
    examples = []
    for length in lengths:
        ids = torch.randint(10, vocab, (length,), generator=generator).tolist()
        prompt = int(length * (0.2 + 0.4 * torch.rand((), generator=generator).item()))
        examples.append(TokenizedExample(ids, [IGNORE] * max(prompt, 1) + ids[max(prompt, 1):], 0))
    return examples


# ---------------------------------------------------------------- the engine's path


def run_engine(case: Case, examples: list[TokenizedExample], device: torch.device, seed: int, compile_: bool) -> Result:
    result = _result(case, "engine")
    model = build_model(case, device, seed)
    attention = use_packed_attention(model, device)
    kernel = loss_kernel(device)
    if case.engine_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    steps = [pack(examples[i : i + case.batch], device) for i in range(0, len(examples), case.batch)]
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def forward_backward(batch) -> torch.Tensor:
        with autocast:
            loss = packed_loss_sum(model, batch, kernel) / max(batch["count"], 1)
        loss.backward()
        return loss.detach()

    if compile_:
        seconds, reason = compiling.trial_compile(model, compiling.repeated_blocks(model), lambda: [forward_backward(b) for b in steps[:2]])
        result.compile_seconds = round(seconds, 1)
        result.note = f"compile failed: {reason}" if reason else ""
    config = ChatConfig(model="bench", data="synthetic", weight_decay=0.0)
    optimizer = make_optimizer(model, config, LEARNING_RATE[case.method], device)
    losses, marks = [], []
    for index, batch in enumerate(steps):
        if index == case.warmup:
            marks.append(_now(device))
        losses.append(forward_backward(batch))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    marks.append(_now(device))
    result.losses = [round(v, 5) for v in torch.stack(losses).float().tolist()]
    result.note = "; ".join(filter(None, [result.note, f"attention {attention}, loss {kernel}"]))
    _finish(result, case, model, examples, marks, device, padded=False)
    return result


# ---------------------------------------------------------------- the baselines: transformers.Trainer + peft


def run_trainer(case: Case, examples: list[TokenizedExample], device: torch.device, seed: int, tuned: bool, workdir: Path) -> Result:
    from transformers import DataCollatorWithFlattening, Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    result = _result(case, "tuned" if tuned else "stock")
    model = build_model(case, device, seed)
    cuda = device.type == "cuda"
    marks: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step in (0, case.warmup):
                marks.append(_now(device))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(round(float(logs["loss"]), 5))

    args = TrainingArguments(
        output_dir=str(workdir / result.path), per_device_train_batch_size=case.batch, max_steps=case.steps,
        learning_rate=LEARNING_RATE[case.method], lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        max_grad_norm=1.0, bf16=cuda, use_cpu=not cuda, optim="adamw_torch_fused" if cuda else "adamw_torch",
        gradient_checkpointing=not tuned, gradient_checkpointing_kwargs={"use_reentrant": False},
        torch_compile=tuned and cuda, logging_steps=1, save_strategy="no", report_to=[], seed=seed,
        train_sampling_strategy="sequential", dataloader_num_workers=0, remove_unused_columns=False,
        disable_tqdm=True,
    )
    dataset = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]
    collator = DataCollatorWithFlattening() if tuned else _pad_to_longest
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[Clock()])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    marks.append(_now(device))
    result.losses = losses
    begin = marks.pop(0)
    _finish(result, case, model, examples, marks, device, padded=not tuned)
    if args.torch_compile and len(marks) == 2:  # compiling happens inside the first steps: what they took extra
        per_step = (marks[1] - marks[0]) / max(case.steps - case.warmup, 1)
        result.compile_seconds = round(max(0.0, marks[0] - begin - case.warmup * per_step), 1)
    return result


def _pad_to_longest(features: list[dict]) -> dict[str, torch.Tensor]:
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.zeros((len(features), width), dtype=torch.long)
    labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for row, f in enumerate(features):
        ids[row, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
        labels[row, : len(f["labels"])] = torch.tensor(f["labels"])
        mask[row, : len(f["input_ids"])] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


# ---------------------------------------------------------------- measuring


def _result(case: Case, path: str) -> Result:
    return Result(case.name, path, case.shape, case.method, case.lengths, case.batch, case.steps)


def _now(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _finish(result: Result, case: Case, model, examples, marks: list[float], device, padded: bool) -> None:
    timed = examples[case.warmup * case.batch :]
    seconds = marks[-1] - marks[0] if len(marks) >= 2 else float("nan")
    real = sum(len(e.input_ids) for e in timed)
    computed = sum(
        max(len(e.input_ids) for e in timed[i : i + case.batch]) * len(timed[i : i + case.batch])
        for i in range(0, len(timed), case.batch)
    ) if padded else real
    result.tokens_per_second = round(real / seconds, 1)
    result.padded_tokens_per_second = round(computed / seconds, 1)
    if device.type == "cuda":
        result.peak_memory_gib = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
        flops_per_token = (4 if case.method == "lora" else 6) * matmul_parameters(LlamaConfig(**SHAPES[case.shape]))
        result.mfu = round(result.tokens_per_second * flops_per_token / H100_BF16_FLOPS, 4)


def _clear(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    torch._dynamo.reset()


def loss_agreement(engine: Result, other: Result) -> float | None:
    """The largest relative difference of the per-step losses over the steps both ran."""
    pairs = list(zip(engine.losses, other.losses))
    if not pairs:
        return None
    return round(max(abs(a - b) / max(abs(a), 1e-9) for a, b in pairs), 5)


# ---------------------------------------------------------------- running and reporting


def run_case(case: Case, device: torch.device, seed: int, compile_: bool, order: int, workdir: Path) -> list[Result]:
    config = LlamaConfig(**SHAPES[case.shape])
    examples = synthetic_examples(case, config.vocab_size, seed)
    paths = list(case.paths) if order % 2 == 0 else list(reversed(case.paths))  # alternate who goes first
    results = {}
    for path in paths:
        _clear(device)
        try:
            if path == "engine":
                results[path] = run_engine(case, examples, device, seed, compile_)
            else:
                results[path] = run_trainer(case, examples, device, seed, path == "tuned", workdir)
        except torch.OutOfMemoryError:
            results[path] = _result(case, path)
            results[path].note = "out of GPU memory"
        except Exception as error:  # noqa: BLE001 - one broken path must not cost the other measurements
            results[path] = _result(case, path)
            results[path].note = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}"
        _clear(device)
    return [results[path] for path in case.paths]


def environment(device: torch.device) -> dict[str, str]:
    import peft

    try:
        import liger_kernel  # noqa: F401

        liger = getattr(liger_kernel, "__version__", "installed")
    except ImportError:
        liger = "not installed"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU",
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "liger_kernel": liger, "python": platform.python_version(),
    }


def table(rows: list[dict], env: dict[str, str]) -> str:
    lines = [
        f"Measured {env['date']} on {env['device']}: torch {env['torch']}, transformers {env['transformers']}, "
        f"peft {env['peft']}, Liger Kernel {env['liger_kernel']}, Python {env['python']}.",
        "",
        "| case | path | real tok/s | engine / this | peak GiB | MFU | compile s | max loss diff vs engine | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio, peak, mfu, diff = row.get("engine_ratio"), row["peak_memory_gib"], row["mfu"], row.get("loss_diff")
        cells = [
            row["case"], row["path"], f"{row['tokens_per_second']:,.0f}", "" if ratio is None else f"{ratio:.2f}x",
            "" if peak is None else f"{peak}", "" if mfu is None else f"{mfu:.1%}", f"{row['compile_seconds'] or ''}",
            "" if diff is None else f"{diff:.2%}", row["note"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_readme(path: Path, text: str) -> None:
    start, end = "<!-- bench:table -->", "<!-- /bench:table -->"
    readme = path.read_text()
    before, _, rest = readme.partition(start)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{start}\n{text}\n{end}{after}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny shape for a few steps, on the CPU")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all, in order)")
    parser.add_argument("--out", default="bench/results.jsonl", help="one JSON line per case and path")
    parser.add_argument("--readme", default="", help="write the table into this markdown file")
    parser.add_argument("--budget-seconds", type=float, default=320, help="start no case after this many seconds")
    parser.add_argument("--no-compile", action="store_true", help="run the engine path without compiling")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    cases = [SMOKE] if args.smoke else [c for c in CASES if not args.cases or c.name in args.cases.split(",")]
    compile_ = compiling.wanted("auto", device) and not args.no_compile
    # Sequence lengths change every step on packed data: compile for any length at once rather than once for
    # the first length and again for the rest (both the engine and the tuned Trainer gain; it halves the
    # compile time that the 9-minute run can spend).
    if compile_:
        torch._dynamo.config.assume_static_by_default = False
    env = environment(device)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as workdir, out.open("a") as sink:
        for order, case in enumerate(cases):
            if time.monotonic() - started > args.budget_seconds:
                rows.append({**asdict(_result(case, "all")), "note": "skipped: the time budget was spent",
                             "engine_ratio": None, "loss_diff": None})
                continue
            results = run_case(case, device, args.seed, compile_, order, Path(workdir))
            engine = next((r for r in results if r.path == "engine"), None)
            for result in results:
                row = asdict(result)
                row["engine_ratio"] = (
                    round(engine.tokens_per_second / result.tokens_per_second, 3)
                    if engine and result.path != "engine" and result.tokens_per_second else None
                )
                row["loss_diff"] = loss_agreement(engine, result) if engine and result.path != "engine" else None
                row |= env
                rows.append(row)
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(f"{case.name:24} {result.path:7} {result.tokens_per_second:>10,.0f} tok/s  "
                      f"peak {result.peak_memory_gib} GiB  mfu {result.mfu}  compile {result.compile_seconds}s  "
                      f"loss diff {row['loss_diff']}  {result.note}", flush=True)
            if args.readme:  # after every case, so a run stopped by its time limit keeps what it measured
                write_readme(Path(args.readme), table(rows, env))
    return rows


if __name__ == "__main__":
    main()

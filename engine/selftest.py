"""The GPU fast paths prove themselves on this computer before the planner uses them.

No GPU runs in this project's tests, so each fast path takes one training step on a tiny random model beside
the plain path it replaces, here, the first time the engine sees this GPU (and again after a driver or library
change): the losses and the gradients (or, for the optimizer, the updated weights) must agree within the
path's stated tolerance. A path that fails or disagrees is turned off for this computer (engine/proven.py
remembers it) and the Home page says so in a sentence. `tunewright-engine selftest --json` runs it on demand.

The paths a CPU can run (packed rows, the chunked loss, fused AdamW, bf16) run on a CPU too, which is how the
tests check this module; the others say why they cannot run here and count as not proven.
"""

from __future__ import annotations

import importlib.metadata
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.data.chat import IGNORE, TokenizedExample
from engine.data.packing import pack
from engine.proven import Outcome, Record, read, write

# A step's loss and the gradients of the trained weights (or the weights after an optimizer step).
Step = tuple[torch.Tensor, list[torch.Tensor]]


@dataclass(frozen=True)
class Check:
    path: str
    tolerance: float  # largest relative difference accepted, for the loss and for every gradient
    unavailable: Callable[[torch.device], str]  # why it cannot run on this device; "" when it can
    fast: Callable[[torch.device], Step]
    reference: Callable[[torch.device], Step]


# ---------------------------------------------------------------- the tiny model and its step


def tiny_model(device: torch.device, dtype: torch.dtype = torch.float32, attention: str = "sdpa"):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, attn_implementation=attention,
    )
    return LlamaForCausalLM(config).to(device=device, dtype=dtype)


def tiny_examples() -> list[TokenizedExample]:
    """Three examples of different lengths, the second half of each learned."""
    generator = torch.Generator().manual_seed(1)
    examples = []
    for length in (9, 17, 12):
        ids = torch.randint(3, 256, (length,), generator=generator).tolist()
        examples.append(TokenizedExample(ids, [IGNORE] * (length // 2) + ids[length // 2 :], 0))
    return examples


def _grads(model) -> list[torch.Tensor]:
    """The gradients, whole (a divided model's are gathered: every rank must ask)."""
    from engine.sharding import whole

    return [whole(p.grad.detach()).float().clone() for p in model.parameters() if p.grad is not None]


def _packed_step(device: torch.device, kernel: str = "chunked", dtype: torch.dtype = torch.float32, compiled: bool = False) -> Step:
    """One forward and backward of the packed row, as the chat recipe takes it."""
    from engine.lm_loss import packed_loss_sum
    from engine.models.attention import use_packed_attention

    model = tiny_model(device)
    use_packed_attention(model, device)
    if compiled:
        from engine.compiling import repeated_blocks

        for block in repeated_blocks(model):
            block.compile()
    batch = pack(tiny_examples(), device)
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        loss = packed_loss_sum(model, batch, kernel) / batch["count"]
    loss.backward()
    return loss.detach().float(), _grads(model)


def _separate_step(device: torch.device) -> Step:
    """The plain path: each example alone through the model, full logits, one cross-entropy."""
    model = tiny_model(device)
    total, count = torch.zeros((), device=device), 0
    for example in tiny_examples():
        ids = torch.tensor([example.input_ids], device=device)
        targets = torch.tensor([example.labels[1:] + [IGNORE]], device=device)
        logits = model(input_ids=ids, use_cache=False).logits
        total = total + F.cross_entropy(logits[0].float(), targets[0], ignore_index=IGNORE, reduction="sum")
        count += int((targets != IGNORE).sum())
    loss = total / count
    loss.backward()
    return loss.detach(), _grads(model)


def _adamw_step(device: torch.device, fused: bool) -> Step:
    model = tiny_model(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01, fused=fused, foreach=False if not fused else None)
    batch = pack(tiny_examples(), device)
    loss = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits.float().mean()
    loss.backward()
    for _ in range(2):  # the second step uses the moments the first stored
        optimizer.step()
    return loss.detach(), [p.detach().float().clone() for p in model.parameters()]


def _qlora_step(device: torch.device, quantized: bool) -> Step:
    """LoRA on the 4-bit model, against LoRA on the same weights rounded to 4 bits and back (so only the
    4-bit kernels differ, not the rounding)."""
    import bitsandbytes.functional as bnb
    from peft import LoraConfig, get_peft_model

    model = tiny_model(device, torch.bfloat16)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module is not model.lm_head:
                packed, state = bnb.quantize_4bit(module.weight.data, quant_type="nf4")
                if quantized:
                    import bitsandbytes as bitsandbytes_module

                    module.weight = bitsandbytes_module.nn.Params4bit(packed, requires_grad=False, quant_state=state, quant_type="nf4")
                    module.__class__ = bitsandbytes_module.nn.Linear4bit
                    module.compute_dtype = torch.bfloat16
                    module.quant_state = state
                else:
                    module.weight.data = bnb.dequantize_4bit(packed, state).to(torch.bfloat16)
    torch.manual_seed(2)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear"))
    batch = pack(tiny_examples(), device)
    from engine.lm_loss import packed_loss_sum

    loss = packed_loss_sum(model, batch, "chunked") / batch["count"]
    loss.backward()
    return loss.detach().float(), _grads(model)


# ---------------------------------------------------------------- the checks


def _needs_cuda(device: torch.device) -> str:
    return "" if device.type == "cuda" else "needs an NVIDIA GPU"


def _needs_package(*names: str) -> Callable[[torch.device], str]:
    def unavailable(device: torch.device) -> str:
        if reason := _needs_cuda(device):
            return reason
        missing = [name for name in names if not _installed(name)]
        return f"needs the {', '.join(missing)} package" if missing else ""

    return unavailable


def _packed_attention_unavailable(device: torch.device) -> str:
    return ""  # on a CPU the packed row uses SDPA with its own mask: still worth proving equal


def _bf16_unavailable(device: torch.device) -> str:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return "this GPU has no bf16"
    return ""


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


CHECKS: list[Check] = [
    Check("packed_attention", 1e-4, _packed_attention_unavailable, lambda d: _packed_step(d, "chunked"), _separate_step),
    Check("chunked_loss", 1e-5, lambda d: "", lambda d: _packed_step(d, "chunked"), lambda d: _packed_step_full_logits(d)),
    Check("liger_loss", 1e-3, _needs_package("liger-kernel"), lambda d: _packed_step(d, "liger"), lambda d: _packed_step(d, "chunked")),
    Check("fused_adamw", 1e-5, lambda d: "", lambda d: _adamw_step(d, True), lambda d: _adamw_step(d, False)),
    Check("bf16", 5e-2, _bf16_unavailable, lambda d: _packed_step(d, dtype=torch.bfloat16), lambda d: _packed_step(d)),
    Check("compile", 1e-3, _needs_cuda, lambda d: _packed_step(d, compiled=True), lambda d: _packed_step(d)),
    Check("qlora", 5e-2, _needs_package("bitsandbytes"), lambda d: _qlora_step(d, True), lambda d: _qlora_step(d, False)),
]


def _packed_step_full_logits(device: torch.device) -> Step:
    """The packed row with the model's full logits and one cross-entropy (what the chunked loss avoids)."""
    from engine.models.attention import use_packed_attention

    model = tiny_model(device)
    use_packed_attention(model, device)
    batch = pack(tiny_examples(), device)
    attention = {"cu_seq_lens_q": batch["cu_seq_lens"], "cu_seq_lens_k": batch["cu_seq_lens"],
                 "max_length_q": batch["max_length"], "max_length_k": batch["max_length"]}
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False, **attention).logits
    loss = F.cross_entropy(logits[0].float(), batch["targets"][0], ignore_index=IGNORE, reduction="sum") / batch["count"]
    loss.backward()
    return loss.detach(), _grads(model)


def _ranks_step(device: torch.device, sharded: bool = False) -> Step:
    """The packed step shared by two processes (engine/distributed.py), one per GPU (gloo on a CPU), each with a
    whole copy of the model or its share of it (engine/sharding.py)."""
    import tempfile

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_rank_step, args=(device.type, folder, sharded), nprocs=2, join=True)
        saved = torch.load(Path(folder) / "rank0.pt", weights_only=True)
    return saved["loss"], saved["grads"]


def _rank_step(rank: int, device_type: str, folder: str, sharded: bool) -> None:
    import torch.distributed as dist

    from engine.distributed import World
    from engine.lm_loss import packed_loss_sum
    from engine.models.attention import use_packed_attention
    from engine.sharding import shard

    device = torch.device("cuda", rank) if device_type == "cuda" else torch.device("cpu")
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(device)  # a divided model's exchanges run on the current GPU
    dist.init_process_group(backend, init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    try:
        world = World(rank=rank, size=2)
        model = tiny_model(device)
        use_packed_attention(model, device)
        if sharded:
            shard(model)
        mine = [tiny_examples()[i] for i in world.shard([0, 1, 2])]
        batch = pack(mine, device)
        loss = packed_loss_sum(model, batch, "chunked") / world.total(batch["count"], device)
        loss.backward()
        loss = world.reduce_gradients(model, loss.detach())
        grads = _grads(model)
        if world.is_main:
            torch.save({"loss": loss.float().cpu(), "grads": [g.cpu() for g in grads]}, Path(folder) / "rank0.pt")
    finally:
        dist.destroy_process_group()


# Several GPUs: the gradient of each half of the row, summed across the GPUs, equals the whole row's; with the
# model divided among them too (each GPU's share of the gradient, gathered).
MULTI_GPU = Check("multi_gpu", 1e-4, lambda d: "", _ranks_step, lambda d: _packed_step(d, "chunked"))
SHARDED = Check("sharded", 1e-4, lambda d: "", lambda d: _ranks_step(d, sharded=True), lambda d: _packed_step(d, "chunked"))


def relative_error(fast: torch.Tensor, reference: torch.Tensor) -> float:
    """|fast - reference| / |reference| in the norm of the whole tensor (a small tensor near 0 is compared
    against 1e-6 instead, so round-off there does not count as a disagreement)."""
    fast, reference = fast.double().cpu(), reference.double().cpu()
    if fast.shape != reference.shape:
        return math.inf
    return float((fast - reference).norm() / reference.norm().clamp_min(1e-6))


def try_check(check: Check, device: torch.device) -> Outcome:
    if reason := check.unavailable(device):
        return Outcome(check.path, ok=False, reason=reason, tried=False)
    started = time.monotonic()
    try:
        fast_loss, fast_grads = check.fast(device)
        ref_loss, ref_grads = check.reference(device)
    except Exception as error:  # noqa: BLE001 - a fast path that crashes is a fast path turned off
        return Outcome(check.path, ok=False, reason=_last_line(error), seconds=time.monotonic() - started,
                       tolerance=check.tolerance)
    loss_error = relative_error(fast_loss, ref_loss)
    grad_error = max((relative_error(f, r) for f, r in zip(fast_grads, ref_grads)), default=math.inf)
    if len(fast_grads) != len(ref_grads):
        grad_error = math.inf
    finite = bool(torch.isfinite(fast_loss).all())
    ok = finite and loss_error <= check.tolerance and grad_error <= check.tolerance
    reason = "" if ok else f"differs from the plain path: loss by {loss_error:.2g}, gradients by {grad_error:.2g} (tolerance {check.tolerance:g})"
    return Outcome(check.path, ok, loss_error, grad_error, check.tolerance, reason, time.monotonic() - started)


def _last_line(error: Exception) -> str:
    lines = [line for line in traceback.format_exception_only(error) if line.strip()]
    return lines[-1].strip()[:300] if lines else type(error).__name__


def fingerprint(device: torch.device) -> dict:
    """What a change of makes the record stale: the GPUs, the driver and the libraries the paths use."""
    found = {"device": device.type, "torch": torch.__version__, "cuda": torch.version.cuda or ""}
    if device.type == "cuda":
        found["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        try:
            found["driver"] = torch._C._cuda_getDriverVersion()
        except AttributeError:
            pass
    for name in ("transformers", "peft", "bitsandbytes", "liger-kernel"):
        found[name] = importlib.metadata.version(name) if _installed(name) else ""
    return found


def run(device: torch.device, home: Path | None = None, checks: list[Check] | None = None) -> Record:
    """Try every fast path on `device`, remember the outcomes for this machine, and return them."""
    record = Record(fingerprint(device), [try_check(check, device) for check in (checks or CHECKS)])
    if device.type == "cuda" and torch.cuda.device_count() >= 2:
        record.outcomes += [try_check(MULTI_GPU, device), try_check(SHARDED, device)]
    write(record, home)
    return record


def ensure(device: torch.device, home: Path | None = None) -> Record:
    """The record for this machine, running the self-test first when there is none or it is stale."""
    record = read(home)
    if record is not None and record.fingerprint == fingerprint(device):
        return record
    return run(device, home)

"""torch.compile for training, tried once before the first step, and never the reason a run fails.

Compiling fuses the many small operations of a transformer layer (norms, rotary embeddings, activations,
LoRA's extra matmuls) into fewer GPU kernels and drops most of the Python overhead per step, which is where
small and medium models lose their time. Each transformer block (a decoder layer, an encoder layer) is
compiled on its own (as torchtune does): the blocks are identical, so one compiled block serves them all and
compiling takes seconds, not minutes; the loss stays outside, so its chunking needs no tracing.

Compilation happens lazily, at the first forward and backward, so `compile_for_training` runs two
micro-batches of different lengths right away (the second makes the sequence length dynamic, so later steps do not compile
again). If that fails (no C compiler, an unsupported model or a compiler bug), the layers are put back as
they were, the run says so in a sentence, and training goes on without compiling. The trial leaves no trace:
the random state is restored and the gradients are cleared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from engine import proven

if TYPE_CHECKING:  # type hints only: the training loop itself uses `repeated_blocks` (engine/sharding.py)
    from engine.training import Job, Loop

#: The torch.compile backend (a module setting so a test can put a failing compiler in its place).
BACKEND = "inductor"


def wanted(setting: str, device: torch.device) -> bool:
    """compile = "auto" compiles on CUDA only: on a CPU or Apple GPU compiling costs more than it saves."""
    return setting == "on" or (setting == "auto" and device.type == "cuda" and proven.passed("compile"))


def repeated_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's stack of identical blocks: the longest list of modules that are all of one class
    (Llama's `model.layers`, BERT's `encoder.layer`), LoRA-wrapped or not."""
    stacks = [
        list(module) for module in model.modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) > 1 and len({type(m) for m in module}) == 1
    ]
    if not stacks:
        raise ValueError("the model has no stack of identical layers to compile")
    return max(stacks, key=len)


def compile_for_training(job: Job, model: torch.nn.Module, loop: Loop, micro_size: int) -> bool:
    """Compile the model's blocks with a trial forward and backward on the first micro-batch of the first two
    steps (two lengths), under the autocast `fit` uses; say how long it took, or why it failed. Returns
    whether the model is compiled."""
    steps = loop.step_batches(0)
    trial_batches = [loop.micro_batches(step, micro_size)[0] for step in steps[:2]]
    autocast = torch.autocast(job.device.type, dtype=job.dtype, enabled=job.dtype != torch.float32)

    def trial() -> None:
        model.train()
        for batch in trial_batches:
            with autocast:
                loss = loop.loss_sum(model, batch)
            loss.backward()

    try:
        blocks = repeated_blocks(model)
    except ValueError as error:
        job.event("compile.failed", reason=str(error))
        return False
    seconds, reason = trial_compile(model, blocks, trial)
    if reason:
        job.event("compile.failed", reason=reason)
        return False
    job.event("plan.compile", seconds=f"{seconds:.0f}")
    return True


def trial_compile(
    model: torch.nn.Module, layers: list[torch.nn.Module], trial: Callable[[], None], backend: str | None = None
) -> tuple[float, str]:
    """Compile `layers` and run `trial` (forward and backward passes); returns (seconds, "") when it worked,
    or (seconds, the reason) after undoing it."""
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    start = time.monotonic()
    reason = ""
    try:
        # Identical layers share compiled code; allow one entry per layer in case a guard tells them apart.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 2 * len(layers) + 8)
        for layer in layers:
            layer.compile(backend=backend or BACKEND)
        trial()
    except Exception as error:  # noqa: BLE001 - any compiler failure means: train without compiling
        for layer in layers:
            layer._compiled_call_impl = None  # what Module.compile set; eager again
        if isinstance(error, torch.OutOfMemoryError):
            raise  # not the compiler's fault: the step itself does not fit, which `fit` and the job handle
        reason = _first_line(error)
    finally:
        model.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
        if cuda_rng:
            torch.cuda.set_rng_state_all(cuda_rng)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.monotonic() - start, reason


def _first_line(error: Exception) -> str:
    """The first line of the innermost error: the compiler's own words, not Dynamo's wrapper around them."""
    while (inner := getattr(error, "inner_exception", None) or error.__cause__) is not None:
        error = inner
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(error).__name__}: {line[:200]}" if line else type(error).__name__

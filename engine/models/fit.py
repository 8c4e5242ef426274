"""Whether a model fits this computer's memory, in a few words for the Models page.

For now this is the one fact that needs no forecast: the memory the weights alone take at bf16 (two bytes
a parameter), against the GPU's memory (or the computer's, without a GPU). Training needs more than that
(gradients, optimiser state, activations); `engine.planner`'s memory forecast will replace `weights_fit`
with a verdict per method ("fits this GPU for LoRA", "too big for full training here").
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.protocol import message

BF16_BYTES = 2
# Weights that take more than this share of the memory leave too little for training them, even with LoRA.
ROOMY_SHARE = 0.5
# A 4-bit model (QLoRA) keeps about a quarter of the bf16 weights' bytes.
FOUR_BIT_SHARE = 0.25


@dataclass(frozen=True)
class Fit:
    level: str  # "fits", "tight", "too big" or "unknown"
    words: str  # the Models page's fit column
    detail: str  # one sentence that says what the words mean
    needed: int = 0  # bytes
    available: int = 0


def weights_fit(parameters: int | None, *, gpu_memory: int | None, ram: int | None) -> Fit:
    """The weights' memory at bf16 against the GPU's (or, without a GPU, the computer's) memory."""
    where, available = ("GPU", gpu_memory) if gpu_memory else ("RAM", ram)
    if not parameters or not available:
        return Fit("unknown", "", message("fit.unknown")[1])
    needed = parameters * BF16_BYTES
    values = {"needed": gigabytes(needed), "available": gigabytes(available),
              "where": "GPU memory" if where == "GPU" else "the computer's memory (there is no GPU)"}
    level = "fits" if needed <= ROOMY_SHARE * available else "tight" if needed <= available else "too big"
    code = {"fits": "fit.weights_fit", "tight": "fit.weights_tight", "too big": "fit.weights_too_big"}[level]
    if level == "too big" and where == "GPU" and needed * FOUR_BIT_SHARE <= ROOMY_SHARE * available:
        code = "fit.weights_too_big_but_4bit"
    words = f"{values['needed']} of {values['available']} {where}"
    return Fit(level, words, message(code, **values)[1], needed, available)


def gigabytes(num_bytes: float) -> str:
    """'15.2 GB' (powers of 1024, as the operating systems show memory)."""
    gb = num_bytes / 2**30
    return f"{gb:.0f} GB" if gb >= 100 else f"{gb:.1f} GB" if gb >= 0.95 else f"{num_bytes / 2**20:.0f} MB"

"""How much GPU memory and time a training run will take, from the model's config alone (no weights loaded).

The memory forecast adds up what is alive at the busiest moment of a training step, part by part, the way
engine/recipes/finetune_lm.py and engine/training.py `fit` hold it:

- weights at their dtype: fp32 master weights for full training (run under bf16 autocast), a bf16 frozen
  base for LoRA, 4-bit NF4 with double quantisation for QLoRA (embeddings, norms and the LM head stay in
  fp32 there, as `prepare_model_for_kbit_training` leaves them);
- the trained parameters' gradients and AdamW's two fp32 moments (LoRA adapters are fp32: peft upcasts them);
- autocast's bf16 copies of fp32 weights, saved by autograd from the forward pass until their backward;
- activations: what autograd saves per token per decoder layer (see `layer_activation_bytes`), or with
  gradient checkpointing only each layer's input plus one layer recomputed during the backward pass;
- the logits and the loss (`logits_bytes`), the largest single term for big vocabularies;
- outside `max_memory_allocated`: the CUDA context and the caching allocator's slack, for the fit verdict.

Peak = what stays (weights, optimizer state, autocast copies) + the larger of the two busy phases: the
turn from forward to backward (all activations and the logits alive) and the optimizer step (all gradients).

A model divided among GPUs (FSDP2, engine/sharding.py) keeps on each its share of the weights, gradients and
optimizer state, plus what is gathered whole: the parts outside the blocks (embeddings, head) for the whole step,
two blocks at a time (the one computing and the next), and one block's gradients before they are summed.
Autocast's copies and the activations are each GPU's own, as before; the chat loss applies the head to all
learned tokens at once there (engine/lm_loss.py), so its logits are not chunked.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GiB = 2**30
GB = 1e9

# Outside torch.cuda.max_memory_allocated: the CUDA context with torch's kernels loaded lazily (~0.5 GB on
# an H100 with CUDA 12/13), and the caching allocator's rounding and fragmentation (a few percent of the peak).
CUDA_CONTEXT_BYTES = 0.55 * GB
ALLOCATOR_SLACK = 0.06

ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert", "mpnet", "deberta-v2"}


@dataclass(frozen=True)
class ModelShape:
    """The few numbers of a transformer's config that decide its size and cost."""

    model_type: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    tied: bool
    encoder: bool
    context: int  # longest sequence the model was built for
    qkv_bias: bool = False
    extra_embeddings: int = 0  # encoders: position and token-type embedding rows
    num_labels: int = 2

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim


def shape_from_config(config: Any) -> ModelShape:
    """A ModelShape from a transformers config object (AutoConfig.from_pretrained on a folder)."""
    text = getattr(config, "text_config", None) or config
    get = lambda *names, default=None: next((getattr(text, n) for n in names if getattr(text, n, None) is not None), default)  # noqa: E731
    hidden = get("hidden_size", "d_model", "dim")
    heads = get("num_attention_heads", "n_heads")
    model_type = getattr(text, "model_type", "")
    if not all(isinstance(v, int) for v in (hidden, heads, get("num_hidden_layers", "n_layers"), get("vocab_size"))):
        raise ValueError(f"its config ({model_type or 'unknown type'}) does not give the usual transformer sizes")
    encoder = model_type in ENCODER_TYPES
    return ModelShape(
        model_type=model_type,
        hidden=hidden,
        layers=get("num_hidden_layers", "n_layers"),
        heads=heads,
        kv_heads=get("num_key_value_heads", default=heads),
        head_dim=get("head_dim", default=hidden // heads),
        ffn=get("intermediate_size", "hidden_dim", default=4 * hidden),
        vocab=get("vocab_size"),
        tied=bool(getattr(config, "tie_word_embeddings", not encoder)) and not encoder,
        encoder=encoder,
        context=get("max_position_embeddings", "n_positions", default=2048),
        qkv_bias=bool(get("attention_bias", default=model_type in ("qwen2", "qwen2_moe"))),
        extra_embeddings=(get("max_position_embeddings", default=512) + get("type_vocab_size", default=0)) if encoder else 0,
        num_labels=getattr(config, "num_labels", 2),
    )


def load_shape(model_folder: str | Path, gguf_file: str = "") -> ModelShape:
    """Read only the config (config.json, or a GGUF file's header), never the weights."""
    return shape_from_config(model_config(model_folder, gguf_file))


def model_config(model_folder: str | Path, gguf_file: str = ""):
    """A model's transformers config, read once per process (a GGUF file's header takes seconds to parse, and
    a plan reads it for the shape and again to time steps); a copy, which the caller may change."""
    import copy

    file = Path(model_folder) / (gguf_file or "config.json")
    changed = file.stat().st_mtime_ns if file.exists() else 0  # a folder written again is read again
    return copy.deepcopy(_read_config(str(model_folder), gguf_file, changed))


@functools.lru_cache(maxsize=8)
def _read_config(model_folder: str, gguf_file: str, changed: int):
    from transformers import AutoConfig

    extra = {"gguf_file": gguf_file} if gguf_file else {}
    return AutoConfig.from_pretrained(model_folder, **extra)


# ---------------------------------------------------------------- parameters


@dataclass
class ParameterCounts:
    embeddings: int
    attention: int  # all layers
    mlp: int
    norms: int
    lm_head: int  # 0 when tied to the embeddings; an encoder's pooler and classification head
    tied_head: bool = False
    total: int = 0

    def __post_init__(self) -> None:
        self.total = self.embeddings + self.attention + self.mlp + self.norms + self.lm_head

    @property
    def matmul(self) -> int:
        """Weights multiplied with every token (BENCHMARKS.md's N): layers' linears plus the LM head."""
        return self.attention + self.mlp + (self.embeddings if self.tied_head else self.lm_head)


def parameter_counts(shape: ModelShape) -> ParameterCounts:
    """Exact for Llama-style decoders (Llama, Mistral, Qwen2, SmolLM) and BERT-style encoders; tests check
    these against the sum of `numel` of models built from the same config."""
    h, f, L = shape.hidden, shape.ffn, shape.layers
    if shape.encoder:
        # Q, K, V, output with biases; two MLP linears with biases; two LayerNorms (weight and bias) a layer.
        attention = L * 4 * (h * h + h)
        mlp = L * (h * f + f + f * h + h)
        norms = L * 2 * 2 * h + 2 * h  # + the embeddings' LayerNorm
        embeddings = (shape.vocab + shape.extra_embeddings) * h
        head = (h * h + h) + (h * shape.num_labels + shape.num_labels)  # pooler + classifier
        return ParameterCounts(embeddings, attention, mlp, norms, head)
    q, kv = shape.q_dim, shape.kv_dim
    attention = L * (h * q + 2 * h * kv + q * h + ((q + 2 * kv) if shape.qkv_bias else 0))
    mlp = L * 3 * h * f  # gate, up, down (SwiGLU)
    norms = L * 2 * h + h  # RMSNorm weights, plus the final norm
    embeddings = shape.vocab * h
    head = 0 if shape.tied else shape.vocab * h
    return ParameterCounts(embeddings, attention, mlp, norms, head, tied_head=shape.tied)


def lora_parameter_count(shape: ModelShape, rank: int) -> int:
    """LoRA on every linear layer of the blocks ('all-linear'; peft leaves the output head out): r x (in + out)
    per linear."""
    h, f, L = shape.hidden, shape.ffn, shape.layers
    if shape.encoder:
        return L * rank * (4 * 2 * h + 2 * (h + f)) + rank * 2 * h  # + the pooler's linear
    q, kv = shape.q_dim, shape.kv_dim
    return L * rank * ((h + q) + 2 * (h + kv) + (q + h) + 3 * (h + f))


# ---------------------------------------------------------------- activations and logits


def layer_activation_bytes(shape: ModelShape, method: str, lora_rank: int = 16) -> float:
    """Bytes autograd keeps per token for one layer's backward pass, under bf16 autocast.

    Decoders: counted from the tensors a transformers Llama decoder layer saves (RMSNorm's fp32 input and
    normalised output, the shared input of q/k/v and of gate/up, q and k/v after RoPE and `repeat_kv`,
    attention output and log-sum-exp, SwiGLU's gate, up, SiLU output and product); measured with
    `torch.autograd.graph.saved_tensors_hooks` on models of different widths and fitted exactly (the test
    tests/engine/test_planner.py measures it again on another shape):
      full (fp32 residual stream): 26 h + 8 f + 8.125 q_dim bytes
      LoRA (bf16 base): 38 h + 12 f + 14.125 q_dim + 14 r bytes (peft adds, per adapted linear, the
      dropout mask, the dropped input cast for lora_A, and lora_A's output)
    The 0.125 q_dim is the attention's fp32 log-sum-exp (4 bytes per head, head_dim 32 in the fit; scaled
    here by the real head_dim). Memory-efficient attention never stores the s x s score matrix.
    Encoders: Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models",
    eq. 1 with flash attention, so no 5as/h term): 34 h per token for a 4h MLP, written for any FFN width as
    15 h + 4.75 f bytes.
    """
    h, f, q = shape.hidden, shape.ffn, shape.q_dim
    if shape.encoder:
        value = 15 * h + 4.75 * f
        return value * (1.6 if method == "full" else 1.0)  # fp32 residual and LayerNorm inputs under autocast
    lse = 4 * shape.heads
    if method == "full":
        return 26 * h + 8 * f + 8 * q + lse
    value = 38 * h + 12 * f + 14 * q + lse + 14 * lora_rank
    if method == "qlora":
        value += 12 * h  # the residual stream and norms run in fp32 (prepare_model_for_kbit_training)
    return value


def checkpointed_layer_bytes(shape: ModelShape, method: str) -> float:
    """With gradient checkpointing each layer keeps only its input: the residual stream, fp32 when the
    residual runs in fp32 (full training's fp32 weights, QLoRA's fp32 norms), else bf16."""
    return (4 if method in ("full", "qlora") else 2) * shape.hidden


def logits_bytes(tokens: int, vocab: int, chunk_elements: int | None = None) -> float:
    """Memory for the logits and the cross-entropy at their busiest, beyond the activations.

    The chat recipe's loss (engine/lm_loss.py) applies the output head to chunks of at most `chunk_elements`
    logits and recomputes each chunk in the backward pass, so only one chunk's work is alive at a time:
    its bf16 logits (2 bytes per element), their fp32 upcast (4), log-softmax's fp32 output (4) and the fp32
    gradient (2 at bf16 once cast back): about 12 bytes per element of one chunk. Without chunking (a model
    whose logits are changed after the head takes its own forward) all of them are alive at once.
    """
    elements = tokens * vocab
    return 12.0 * (elements if chunk_elements is None else min(elements, chunk_elements))


# The chat recipe's cross-entropy chunk in logit elements (a 2^26-element fp32 chunk is 256 MiB); the loss in
# engine/lm_loss.py takes it from here, so the forecast follows it.
LOSS_CHUNK_ELEMENTS = 1 << 26


# ---------------------------------------------------------------- the forecast


@dataclass
class MemoryForecast:
    """Peak GPU memory of a training step, in bytes, with its parts."""

    parts: dict[str, float]  # what is alive at the peak; their sum is `allocated`
    allocated: float  # comparable to torch.cuda.max_memory_allocated
    total: float  # plus the CUDA context and the allocator's slack: what the GPU must have
    available: float | None = None  # the device's memory, when known
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fits(self) -> bool | None:
        return None if self.available is None else self.total <= self.available * (1 - FIT_MARGIN)

    def sentence(self) -> str:
        """'7.1 of 8 GB: fits with 0.9 GB to spare.'"""
        need = self.total / GB
        if self.available is None:
            return f"About {need:.1f} GB of GPU memory."
        have = self.available / GB
        spare = have - need
        if self.fits:
            return f"{need:.1f} of {have:.0f} GB: fits with {spare:.1f} GB to spare."
        if spare > 0:
            return f"{need:.1f} of {have:.0f} GB: too close to the limit (less than {FIT_MARGIN:.0%} left)."
        return f"{need:.1f} of {have:.0f} GB: does not fit ({-spare:.1f} GB short)."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"sentence": self.sentence(), "fits": self.fits}


# Keep this share of the GPU free: the forecast's error (within 15%) and other programs' use.
FIT_MARGIN = 0.10


def forecast_memory(
    shape: ModelShape, method: str, micro_batch: int, seq_len: int, *, checkpointing: bool = False,
    precision: str = "bf16", lora_rank: int = 16, accumulation: int = 1, available: float | None = None,
    loss_chunk_elements: int | None = LOSS_CHUNK_ELEMENTS, shards: int = 1,
) -> MemoryForecast:
    """Peak GPU memory for one training configuration (see the module docstring for what is counted).

    `seq_len` is the padded width of a micro-batch: the length limit is the safe choice, since a batch can
    hold the longest example. `accumulation` > 1 keeps the previous micro-batches' gradients alive. `shards`:
    the number of GPUs the model is divided among (1: a whole copy on each).
    """
    if shards > 1:
        loss_chunk_elements = None
    counts = parameter_counts(shape)
    tokens = micro_batch * seq_len
    autocast = precision in ("bf16", "fp16")
    n, n_head_weights = counts.total, shape.vocab * shape.hidden
    # Weights, and which of them are trained.
    if method == "full":
        trained = n
        weights = 4.0 * n
        # bf16 copies of every matmul weight, made by autocast and saved for the backward pass.
        copies = 2.0 * counts.matmul if autocast else 0.0
    else:
        trained = lora_parameter_count(shape, lora_rank)
        if method == "qlora":
            quantized = counts.attention + counts.mlp
            # NF4 packs two weights a byte; double quantisation adds an 8-bit absmax per 64 weights and an
            # fp32 scale per 256 of those.
            weights = quantized * (0.5 + 1 / 64 + 4 / (64 * 256)) + 4.0 * (n - quantized)
            copies = 2.0 * n_head_weights if autocast else 0.0  # the fp32 LM head cast to bf16
        else:
            weights = (2.0 if autocast else 4.0) * n
            copies = 0.0
        weights += 4.0 * trained  # the adapters themselves, fp32
    optimizer_states = 8.0 * trained  # AdamW's two moments, fp32, from the first step on
    gradients = 4.0 * trained
    model_state = weights + gradients + optimizer_states
    gathered = 0.0
    if shards > 1:
        block = (counts.total - _outside_blocks(shape, counts)) / shape.layers
        gathered = weights / n * (_outside_blocks(shape, counts) + 2 * block) + 4.0 * trained / n * block
        weights, gradients, optimizer_states = weights / shards, gradients / shards, optimizer_states / shards

    # Activations of one micro-batch.
    scale = 1.0 if autocast else 2.0  # fp32 activations are twice as large
    per_layer = layer_activation_bytes(shape, method, lora_rank) * scale
    outside_layers = 14.0 * shape.hidden * scale  # final norm, the LM head's input, embeddings' output
    if checkpointing:
        activations = tokens * (shape.layers * checkpointed_layer_bytes(shape, method) * scale + outside_layers)
        recompute = tokens * per_layer  # one layer recomputed at a time during backward
    else:
        activations = tokens * (shape.layers * per_layer + outside_layers)
        recompute = 0.0
    logits = 0.0 if shape.encoder else logits_bytes(tokens, shape.vocab, loss_chunk_elements)  # a classifier's are tiny
    if method == "qlora":
        recompute += 2.0 * shape.hidden * max(shape.ffn, shape.q_dim)  # one weight dequantised at a time

    # The turn from forward to backward: everything of the micro-batch alive, and gradients only if earlier
    # micro-batches of the step left some (the head's gradient is the first made, for full training).
    # The logits are freed by the time backward reaches the layers, where one layer is recomputed.
    turn = activations + max(logits, recompute)
    head_gradient = 4.0 * n_head_weights if method == "full" and not shape.encoder else 0.0
    held_gradients = gradients if accumulation > 1 else head_gradient
    # The optimizer step: every gradient, plus the clip's and fused AdamW's per-tensor temporaries.
    step = gradients + 4.0 * _largest_tensor(shape, method, lora_rank)
    busy = max(turn + held_gradients, step)
    parts = {
        "weights": weights,
        "gathered_weights": gathered,
        "optimizer_states": optimizer_states,
        "autocast_copies": copies,
    }
    if turn + held_gradients >= step:
        parts["activations"] = activations
        if logits >= recompute:
            parts["logits_and_loss"] = logits
        else:
            parts["recomputed_layer" if checkpointing else "dequantized_weight"] = recompute
        parts["gradients"] = held_gradients
    else:
        parts |= {"gradients": gradients, "optimizer_step_temporaries": step - gradients}
    allocated = weights + gathered + optimizer_states + copies + busy
    total = allocated * (1 + ALLOCATOR_SLACK) + CUDA_CONTEXT_BYTES
    details = {
        "parameters": asdict(counts),
        "trained_parameters": trained,
        "model_state": model_state,  # weights, gradients and optimizer state, undivided
        "activation_bytes_per_token_per_layer": per_layer,
        "tokens_per_micro_batch": tokens,
        "peak_phase": "forward-to-backward" if turn + held_gradients >= step else "optimizer step",
        "cuda_context": CUDA_CONTEXT_BYTES,
        "allocator_slack": allocated * ALLOCATOR_SLACK,
    }
    return MemoryForecast(parts=parts, allocated=allocated, total=total, available=available, details=details)


def _outside_blocks(shape: ModelShape, counts: ParameterCounts) -> float:
    """Weights outside the stack of blocks: embeddings, the final norm, the head (an encoder's pooler too)."""
    final_norm = 2 * shape.hidden if shape.encoder else shape.hidden
    return counts.embeddings + counts.lm_head + final_norm


def _largest_tensor(shape: ModelShape, method: str, rank: int) -> float:
    if method == "full":
        return float(max(shape.vocab * shape.hidden, shape.hidden * shape.ffn))
    return float(rank * max(shape.ffn, shape.hidden))


# ---------------------------------------------------------------- time


def flops_per_token(shape: ModelShape, method: str, seq_len: int) -> float:
    """Training FLOPs per token: 6N for full fine-tuning, 4N for (Q)LoRA (frozen weights need no weight
    gradients), N = matmul weights (layers and head), as in BENCHMARKS.md; plus causal attention's
    scores, 6 x layers x q_dim x seq_len (half the square is masked)."""
    counts = parameter_counts(shape)
    per_weight = 6.0 if method == "full" else 4.0
    return per_weight * counts.matmul + 6.0 * shape.layers * shape.q_dim * seq_len


# Dense bf16 peak TFLOP/s of common GPUs, matched by a substring of the device's name.
PEAK_TFLOPS = {
    "H200": 989, "H100": 989, "GH200": 989, "B200": 2250, "A100": 312, "A10": 125, "L40": 181, "L4": 121,
    "A6000": 155, "6000 Ada": 364, "4090": 165, "4080": 97, "4070": 58, "4060": 30, "3090": 71, "3080": 60,
    "3070": 40, "3060": 25, "T4": 65, "V100": 125,
}
# Share of the peak a fine-tuning run sustains (BENCHMARKS.md measured 6-47% on an H100; padding and small
# models sit low): a deliberately modest figure, corrected by the measured speed after the first steps.
SUSTAINED_SHARE = 0.25


def sustained_flops(device_type: str, device_name: str = "") -> tuple[float, str]:
    """FLOP/s a training run sustains on this device, and where the figure comes from."""
    if device_type == "cuda":
        for key, tflops in PEAK_TFLOPS.items():
            if key.lower() in device_name.lower():
                return tflops * 1e12 * SUSTAINED_SHARE, f"{key}: {tflops} TFLOP/s peak, {SUSTAINED_SHARE:.0%} sustained"
        return 50e12 * SUSTAINED_SHARE, "an unknown NVIDIA GPU, assumed 50 TFLOP/s peak"
    if device_type == "mps":
        return 5e12 * SUSTAINED_SHARE, "an Apple GPU, assumed 5 TFLOP/s peak"
    measured = measure_cpu_flops()
    return measured * CPU_SUSTAINED_SHARE, f"this CPU, measured at {measured / 1e9:.0f} GFLOP/s on a matrix product"


# A CPU runs a training step's matrix products at nearly its matrix-product speed (the demo chat run
# sustains about 3/4 of it); half keeps the estimate on the safe side on a busy machine.
CPU_SUSTAINED_SHARE = 0.5


def measure_cpu_flops(size: int = 1024, seconds: float = 0.3) -> float:
    """A quick fp32 matrix-product benchmark of this CPU (a fifth of a second)."""
    import time

    import torch

    # Its own random numbers: a run that plans at its start must train as one that does not.
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=generator), torch.randn(size, size, generator=generator)
    a @ b  # warm up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        done += 1
    return 2.0 * size**3 * done / (time.perf_counter() - start)


@dataclass
class TimeForecast:
    seconds: float
    tokens: float
    flops_per_token: float
    sustained_flops: float
    source: str  # how the speed was found, in an engineer's words (the detail)
    place: str = "this computer"  # where it trains, in anyone's words

    def sentence(self) -> str:
        return f"About {describe_duration(self.seconds)} of training on {self.place}."

    def detail(self) -> str:
        """How the estimate was made, for those who ask (a tooltip, the CLI's plan)."""
        return f"{self.tokens / 1e6:.2g} million tokens (word pieces) to process; {self.source}."


def forecast_time(shape: ModelShape, method: str, tokens: float, seq_len: int, device_type: str, device_name: str = "") -> TimeForecast:
    per_token = flops_per_token(shape, method, seq_len)
    rate, source = sustained_flops(device_type, device_name)
    place = {"cuda": "the GPU", "mps": "the Mac's GPU"}.get(device_type, "this computer's processor")
    return TimeForecast(tokens * per_token / rate, tokens, per_token, rate, source, place)


def describe_duration(seconds: float) -> str:
    if seconds < 90:
        return "1 second" if seconds <= 1 else f"{math.ceil(seconds)} seconds"
    if seconds < 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"

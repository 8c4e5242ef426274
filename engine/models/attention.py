"""Attention for packed rows: variable-length flash attention on CUDA, transformers' own masks elsewhere.

A packed row (engine/data/packing.py) holds several examples, and attention must stay inside each. With
`sdpa`, transformers builds a block-diagonal causal mask from the restarting position_ids; that is exact and
is what the CPU uses, but a mask makes SDPA fall back to a kernel that computes the whole row-by-row score
matrix, most of it thrown away (8 examples of 300 tokens: 8x the attention work).

On CUDA the engine registers `tunewright_varlen` with transformers' AttentionInterface: PyTorch's own
variable-length flash attention (`torch.nn.attention.varlen.varlen_attn`, no extra package), given where each
example starts (`cu_seq_lens_q`), computes only the blocks on the diagonal. transformers builds no mask for an
attention it does not know, so no mask is made at all. The flash-attn package would do the same through
transformers' `flash_attention_2`, but it is a large compiled download that most machines do not have.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from transformers import AttentionInterface

from engine import proven

VARLEN = "tunewright_varlen"


try:
    from torch.nn.attention.varlen import varlen_attn as _varlen
except ImportError:  # PyTorch before 2.9
    _varlen = None
# Read once, not inside a compiled layer: the arguments changed between PyTorch versions.
_VARLEN_PARAMETERS = set(inspect.signature(_varlen).parameters) if _varlen is not None else set()


def packed_attention_for(device: torch.device) -> str:
    """The attention implementation to train packed rows with on `device`."""
    if device.type == "cuda" and _varlen is not None and proven.passed("packed_attention"):
        return VARLEN
    return "sdpa"


def use_packed_attention(model: torch.nn.Module, device: torch.device) -> str:
    """Switch a loaded transformers model to the packed-row attention for `device`; returns its name."""
    name = packed_attention_for(device)
    config = model.config
    if name != getattr(config, "_attn_implementation", None):
        model.set_attn_implementation(name)
    return name


def varlen_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    cu_seq_lens_q: torch.Tensor | None = None,
    max_length_q: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Causal attention within each example of one packed row.

    query (1, Hq, T, D), key and value (1, Hkv, T, D) as transformers passes them; returns (1, T, Hq, D).
    `cu_seq_lens_q` (int32, the start of each example and the total) and `max_length_q` come from the packed
    batch through the model's keyword arguments (the names transformers' own flash attention uses). Without CUDA (tests), each example gets its own SDPA call: the same result.
    """
    if cu_seq_lens_q is None or query.shape[0] != 1:
        raise ValueError("Packed attention needs one packed row and its cu_seq_lens.")
    heads, kv_heads = query.shape[1], key.shape[1]
    q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # (T, H, D)
    if query.is_cuda and _varlen is not None:
        if q.dtype == torch.float32:
            # Full training keeps fp32 weights under autocast, and the rotary embedding hands back fp32 queries
            # and keys; flash attention takes 16-bit only (SDPA would be cast by autocast the same way).
            dtype = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else torch.bfloat16
            q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
        out = _call_varlen(q, k, v, cu_seq_lens_q, max_length_q or q.shape[0], scaling, heads != kv_heads)
    else:
        out = _per_example_sdpa(q, k, v, cu_seq_lens_q.tolist(), scaling)
    return out.unsqueeze(0), None


def _call_varlen(q, k, v, cu, max_length: int, scaling, grouped: bool) -> torch.Tensor:
    params = _VARLEN_PARAMETERS
    if grouped and "enable_gqa" not in params:  # earlier versions took equal head counts only
        repeat = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
        grouped = False
    causal = {"window_size": (-1, 0)} if "window_size" in params else {"is_causal": True}
    gqa = {"enable_gqa": True} if grouped else {}
    return _varlen(q, k, v, cu, cu, max_length, max_length, scale=scaling, **causal, **gqa)


def _per_example_sdpa(q, k, v, starts: list[int], scaling) -> torch.Tensor:
    outputs = []
    for start, end in zip(starts[:-1], starts[1:]):
        qi, ki, vi = (t[start:end].transpose(0, 1) for t in (q, k, v))  # (H, L, D)
        outputs.append(
            F.scaled_dot_product_attention(
                qi, ki, vi, is_causal=True, scale=scaling, enable_gqa=qi.shape[0] != ki.shape[0]
            ).transpose(0, 1)
        )
    return torch.cat(outputs)


AttentionInterface.register(VARLEN, varlen_attention_forward)

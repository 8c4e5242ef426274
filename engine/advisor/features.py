"""Frozen features: what a pretrained model makes of each text before any training, one vector per text.

Encoders are mean-pooled over the text's tokens (what sentence-embedding models such as MiniLM are trained
for); decoders (a chat model used to read) take the mean of their last layer as well. No weights change.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from engine.models.catalog import ModelSource

BATCH = 32


def load_reader(source: ModelSource, *, allow_unsafe: bool = False):
    """The model without its head, in eval mode, and its tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    extra = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(str(source.path), trust_remote_code=allow_unsafe, **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModel.from_pretrained(str(source.path), dtype=torch.float32, trust_remote_code=allow_unsafe, **extra)
    return model.eval(), tokenizer


@torch.no_grad()
def frozen_features(model, tokenizer, texts: list[str], *, max_length: int = 128,
                    progress: Callable[[int], None] = lambda done: None) -> np.ndarray:
    """One mean-pooled vector per text (float32, texts x hidden). Texts are read in order of length, so
    each batch pads little; the rows come back in the texts' own order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(texts), BATCH):
        rows = order[start : start + BATCH]
        batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out[rows] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()
        progress(min(start + BATCH, len(texts)))
    return out


def token_lengths(tokenizer, texts: list[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]

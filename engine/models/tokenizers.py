"""A model's tokenizer alone, without its weights (torch-free: the planner and the data doctor use it)."""

from __future__ import annotations

from typing import Any


def load_tokenizer(source: Any, *, allow_unsafe: bool = False):
    """The tokenizer of a catalog source (a GGUF's is read from the GGUF file itself), with a padding token:
    the end-of-text one where the model has none."""
    from transformers import AutoTokenizer

    extra = {"gguf_file": source.gguf_file} if getattr(source, "gguf_file", "") else {}
    tokenizer = AutoTokenizer.from_pretrained(source.path, trust_remote_code=allow_unsafe, **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer

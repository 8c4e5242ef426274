"""Texts into token ids without letting one huge text cost gigabytes.

A spreadsheet cell can hold a whole book (50 MB among 80 short rows); tokenized whole it becomes millions
of ids, held several times over, for a model that reads a few hundred. So a text longer than
``HEAD_CHARS`` is tokenized by its head alone, which already holds far more tokens than any length limit,
and its full length is estimated from the head's characters per token, to say how much is cut.
Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any

#: Texts are tokenized by at most this many characters: a token is rarely more than a dozen characters,
#: so the head of a longer text still fills any length limit (up to about 20,000 tokens).
HEAD_CHARS = 200_000


def token_ids(tokenizer: Any, texts: list[str]) -> tuple[list[list[int]], list[int]]:
    """The ids of each text (of its head, for a huge one) and each text's full length in tokens (counted,
    or for a huge text estimated from its head)."""
    heads = [text if len(text) <= HEAD_CHARS else text[:HEAD_CHARS] for text in texts]
    ids = tokenizer(heads, truncation=False)["input_ids"] if heads else []
    lengths = [
        len(tokens) if len(text) <= HEAD_CHARS else round(len(tokens) * len(text) / HEAD_CHARS)
        for text, tokens in zip(texts, ids)
    ]
    return ids, lengths

"""Turning a tagged file's bytes into text without moving any character position."""

from __future__ import annotations

import codecs

from engine.data.errors import DataError


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (with or without a byte-order mark) or UTF-16/32 with one. Anything else is refused rather than
    guessed: spans count characters, and a wrong guess would shift every one of them."""
    for mark, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(mark):
            break
    else:
        encoding = "utf-8"
    if b"\0" in raw[:4096] and encoding == "utf-8":
        raise DataError("spans.not_utf8", file=name)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise DataError("spans.not_utf8", file=name) from None

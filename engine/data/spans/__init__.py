"""Reading tagged text (names marked in texts) from whatever file a person brings, without being told its
format: `read_tagged(path)` gives documents with character spans (engine/data/spans/model.py)."""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from pathlib import Path

from engine.data.errors import DataError
from engine.data.spans.conll import looks_like_conll, read_conll
from engine.data.spans.model import Document, ScoredSpan, Span, entity_types, without_overlaps
from engine.data.spans.records import (
    looks_like_bioc_json, parse_json_records, read_bioc_json, read_bioc_xml, read_records,
)
from engine.data.spans.standoff import looks_like_pubtator, read_brat_archive, read_brat_folder, read_pubtator
from engine.data.spans.text import decode

__all__ = ["Document", "ScoredSpan", "Span", "TaggedData", "entity_types", "looks_tagged", "read_tagged", "without_overlaps"]

#: A tagged-text file larger than this is refused before it is read (a corpus this size is split first).
SIZE_LIMIT = 2 * 1024**3
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


@dataclass
class TaggedData:
    documents: list[Document]
    format: str  # "conll", "brat", "pubtator", "bioc", "json": what the file was read as
    scheme: str = ""  # token-per-line files: "BIO", "BIOES", "BILOU", "IO"
    inside_without_begin: list[str] = field(default_factory=list)  # document ids (token-per-line files)


def read_tagged(path: str | Path) -> TaggedData:
    path = Path(path)
    if path.is_dir():
        return TaggedData(_nonempty(read_brat_folder(path), path.name), "brat")
    if not path.exists():
        raise DataError("file.missing", file=path.name)
    try:
        size = path.stat().st_size
        if size == 0:
            raise DataError("file.empty", file=path.name)
        if size > SIZE_LIMIT:
            raise DataError("file.too_big", file=path.name)
        if path.name.lower().endswith(ARCHIVES):
            return TaggedData(_nonempty(read_brat_archive(path), path.name), "brat")
        raw = path.read_bytes()
    except OSError:
        raise DataError("file.cannot_open", file=path.name) from None
    if raw.startswith((b"PK\x03\x04", b"\x1f\x8b", b"%PDF")):
        raise DataError("file.binary", file=path.name, kind="a compressed file or a PDF")
    text = decode(raw, path.name)
    if not text.strip():
        raise DataError("file.empty", file=path.name)
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return TaggedData(_nonempty(read_bioc_xml(text, path.name), path.name), "bioc")
    if head.startswith(("{", "[")):
        lines = head.startswith("{") and _several_objects(text)
        records = parse_json_records(text, path.name, lines)
        if looks_like_bioc_json(records):
            return TaggedData(_nonempty(read_bioc_json(records, path.name), path.name), "bioc")
        return TaggedData(_nonempty(read_records(records, path.name), path.name), "json")
    first_lines = text.splitlines()[:200]
    if looks_like_pubtator(first_lines):
        return TaggedData(_nonempty(read_pubtator(text, path.name), path.name), "pubtator")
    if looks_like_conll(first_lines):
        tagged = read_conll(text, path.name)
        return TaggedData(tagged.documents, "conll", tagged.scheme, tagged.inside_without_begin)
    raise DataError("spans.unknown_format", file=path.name)


#: How much of a file `looks_tagged` reads: enough for a few hundred lines.
HEAD_BYTES = 64 * 1024


def looks_tagged(path: str | Path) -> bool:
    """Whether a file (or folder) holds tagged text rather than a table, from its head alone: a brat folder
    or archive, BioC, PubTator, one word per line with tags, or JSON records whose marks are character
    spans (a table's list of categories is not: its items are words, not [start, end, type])."""
    path = Path(path)
    if path.is_dir():
        return any(path.glob("*.ann"))
    if not path.is_file():  # a pipe or a device: opening it could wait forever
        return False
    if path.name.lower().endswith(ARCHIVES):
        return True
    try:
        with path.open("rb") as file:
            raw = file.read(HEAD_BYTES)
    except OSError:
        return False
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "<collection" in text[:2000] or "<document" in text[:2000]
    if text.startswith(("{", "[")):
        first = text.split("\n", 1)[0]
        try:
            records = json.loads(first) if text.startswith("{") else json.loads(text)
        except json.JSONDecodeError:
            return False
        record = records[0] if isinstance(records, list) and records else records
        return _has_spans(record)
    lines = text.splitlines()[:200]
    return looks_like_pubtator(lines) or looks_like_conll(lines)


def _has_spans(record) -> bool:
    from engine.data.spans.records import SPAN_KEYS

    if isinstance(record, list) and len(record) == 2 and isinstance(record[1], dict):  # spaCy's (text, {...})
        record = record[1]
    if not isinstance(record, dict):
        return False
    if "passages" in record or "annotations" in record:
        return True
    for key in SPAN_KEYS:
        for item in record.get(key) or [] if isinstance(record.get(key), list) else []:
            if isinstance(item, (list, tuple)) and len(item) >= 3 and all(isinstance(v, int) for v in item[:2]):
                return True
            if isinstance(item, dict) and any(k in item for k in ("start", "start_offset", "start_char")):
                return True
    return False


def _several_objects(text: str) -> bool:
    """JSON Lines rather than one JSON document: the whole text is not one value, but its first line is."""
    try:
        json.loads(text)
        return False
    except json.JSONDecodeError:
        try:
            json.loads(text.lstrip("\ufeff").split("\n", 1)[0])
            return True
        except json.JSONDecodeError:
            return False


def _nonempty(documents: list[Document], name: str) -> list[Document]:
    if not any(document.text.strip() for document in documents):
        raise DataError("spans.no_documents", file=name)
    return documents

"""Saving tagged texts (marked by hand or by a model) in the forms other tools read back.

- JSON Lines, one text per line with its spans as doccano and Prodigy read them:
  {"id", "text", "spans": [{"start", "end", "label", "text", "confidence"}]}
- CSV, one row per marked name: document, start, end, type, the words, confidence (a spreadsheet's view)
- brat: a folder with a .txt and a .ann per text
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from engine.data.spans.model import Document, ScoredSpan


def write_jsonl(documents: list[Document], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for document in documents:
            spans = [_span_record(document, span) for span in document.spans]
            handle.write(json.dumps({"id": document.id, "text": document.text, "spans": spans}, ensure_ascii=False) + "\n")


def write_csv(documents: list[Document], path: Path) -> None:
    # utf-8-sig: spreadsheet programs then read the accents right
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document", "start", "end", "type", "text", "confidence"])
        for document in documents:
            for span in document.spans:
                record = _span_record(document, span)
                writer.writerow([document.id, span.start, span.end, span.type, _cell(record["text"]), record.get("confidence", "")])


def write_brat(documents: list[Document], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for number, document in enumerate(documents, start=1):
        stem = _file_stem(document.id, number, used)
        (folder / f"{stem}.txt").write_text(document.text, encoding="utf-8", newline="")
        lines = []
        for index, span in enumerate(document.spans, start=1):
            # brat's third column is one line: a name broken over lines keeps its offsets, its text is joined
            covered = " ".join(document.covered(span).split())
            kind = re.sub(r"[^\w-]", "_", span.type)  # brat types are single words
            lines.append(f"T{index}\t{kind} {span.start} {span.end}\t{covered}")
        (folder / f"{stem}.ann").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8", newline="")


def _span_record(document: Document, span) -> dict:
    record = {"start": span.start, "end": span.end, "label": span.type, "text": document.covered(span)}
    if isinstance(span, ScoredSpan):
        record["confidence"] = round(span.confidence, 4)
    return record


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting with =, +, - or @ would be run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _file_stem(identifier: str, number: int, used: set[str]) -> str:
    stem = re.sub(r"[^\w.-]", "_", identifier).strip("._") or f"text{number}"
    if stem in used:
        stem = f"{stem}_{number}"
    used.add(stem)
    return stem

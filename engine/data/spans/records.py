"""Tagged text as JSON records, the way annotation tools export it, and BioC.

- doccano: {"text": ..., "label": [[start, end, "TYPE"], ...]} (older) or "entities": [{"start_offset",
  "end_offset", "label"}] (newer)
- Label Studio: {"data": {"text": ...}, "annotations": [{"result": [{"value": {"start", "end", "labels"}}]}]}
- Prodigy: {"text": ..., "spans": [{"start", "end", "label"}], "answer": "accept"}; rejected examples skipped
- spaCy's training tuples: ["text", {"entities": [[start, end, "TYPE"]]}]
- BioC, as XML or JSON: documents of passages, each placed at its offset, with located annotations
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

from engine.data.errors import DataError, describe
from engine.data.spans.model import Document, Span
from engine.data.spans.standoff import _check_covered, _check_span

SPAN_KEYS = ("spans", "entities", "label", "labels", "ents")
TEXT_KEYS = ("text", "content", "sentence")


def parse_json_records(text: str, name: str, lines: bool) -> list[Any]:
    if not lines:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError("json.invalid", file=name, line=error.lineno, column=error.colno, reason=error.msg) from None
        if isinstance(data, dict):
            for key in ("documents", "examples", "data", "tasks"):
                if isinstance(data.get(key), list):
                    return data[key]
            return [data]
        if not isinstance(data, list):
            raise DataError("json.not_a_list", file=name, found=describe(data))
        return data
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise DataError("jsonl.bad_line", file=name, line=number, reason=error.msg) from None
    return records


def looks_like_bioc_json(records: list[Any]) -> bool:
    return bool(records) and isinstance(records[0], dict) and "passages" in records[0]


def read_records(records: list[Any], name: str, row_word: str = "Row") -> list[Document]:
    documents = []
    for number, record in enumerate(records, start=1):
        where = f"{row_word} {number} of {name}"
        if isinstance(record, list) and len(record) == 2 and isinstance(record[0], str) and isinstance(record[1], dict):
            record = {"text": record[0], **record[1]}  # spaCy's (text, {"entities": ...})
        if not isinstance(record, dict):
            raise DataError("row.not_an_object", row=number, file=name)
        if record.get("answer") in ("reject", "ignore"):
            continue
        text = _text_of(record)
        if text is None:
            raise DataError("spans.no_text", where=where, available=", ".join(map(str, record)) or "nothing")
        spans = []
        for item in _span_items(record):
            start, end, kind = _span_parts(item)
            _valid(where, text, start, end, kind)
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                _check_covered(where, text, [(start, end)], item["text"])
            spans.append(Span(start, end, kind))
        identifier = str(record.get("id", record.get("meta", {}).get("id", "") if isinstance(record.get("meta"), dict) else "") or f"row {number}")
        documents.append(Document(identifier, text, sorted(set(spans))))
    return documents


def _text_of(record: dict[str, Any]) -> str | None:
    for holder in (record, record.get("data"), record.get("task")):
        if isinstance(holder, dict):
            for key in TEXT_KEYS:
                if isinstance(holder.get(key), str):
                    return holder[key]
    return None


def _span_items(record: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    for key in SPAN_KEYS:
        value = record.get(key)
        if isinstance(value, list):
            items.extend(value)
    # Label Studio: every annotator's result (and predictions when there is no annotation)
    results = record.get("annotations") or record.get("completions") or record.get("predictions") or []
    for annotation in results if isinstance(results, list) else []:
        for result in annotation.get("result", []) if isinstance(annotation, dict) else []:
            value = result.get("value") if isinstance(result, dict) else None
            if isinstance(value, dict) and "start" in value:
                items.append(value)
    return items


def _span_parts(item: Any) -> tuple[Any, Any, Any]:
    if isinstance(item, (list, tuple)) and len(item) >= 3:
        return item[0], item[1], item[2]
    if isinstance(item, dict):
        start = item.get("start", item.get("start_offset", item.get("start_char")))
        end = item.get("end", item.get("end_offset", item.get("end_char")))
        kind = item.get("label", item.get("type", item.get("labels")))
        if isinstance(kind, list):
            kind = kind[0] if kind else None
        return start, end, kind
    return None, None, None


def _valid(where: str, text: str, start: Any, end: Any, kind: Any) -> None:
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise DataError("spans.bad_offsets", where=where, start=start, end=end)
    _check_span(where, text, start, end)
    if not isinstance(kind, str) or not kind.strip():
        raise DataError("spans.no_type", where=where, start=start, end=end)


# ---------------------------------------------------------------- BioC


def read_bioc_xml(text: str, name: str) -> list[Document]:
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as error:
        raise DataError("spans.bad_xml", file=name, line=error.position[0], reason=str(error).split(":")[0]) from None
    documents = []
    for number, node in enumerate(root.iter("document"), start=1):
        passages = []
        for passage in node.iter("passage"):
            annotations = []
            for annotation in passage.iter("annotation"):
                kind = next((i.text for i in annotation.iter("infon") if i.get("key") == "type"), None)
                locations = [(loc.get("offset"), loc.get("length")) for loc in annotation.iter("location")]
                annotations.append({"type": kind, "locations": locations, "text": annotation.findtext("text")})
            passages.append({"offset": passage.findtext("offset"), "text": passage.findtext("text") or "", "annotations": annotations})
        documents.append(_bioc_document(node.findtext("id") or f"document {number}", passages, name))
    return documents


def read_bioc_json(records: list[Any], name: str) -> list[Document]:
    documents = []
    for number, record in enumerate(records, start=1):
        passages = []
        for passage in record.get("passages") or []:
            annotations = [
                {
                    "type": (a.get("infons") or {}).get("type"),
                    "locations": [(loc.get("offset"), loc.get("length")) for loc in a.get("locations") or []],
                    "text": a.get("text"),
                }
                for a in passage.get("annotations") or []
            ]
            passages.append({"offset": passage.get("offset"), "text": passage.get("text") or "", "annotations": annotations})
        documents.append(_bioc_document(str(record.get("id") or f"document {number}"), passages, name))
    return documents


def _bioc_document(identifier: str, passages: list[dict[str, Any]], name: str) -> Document:
    """Passages placed at their offsets (BioC's offsets count from the document's start), gaps as spaces."""
    text = ""
    spans = []
    where = f"Document {identifier} of {name}"
    for passage in passages:
        offset = _number(passage["offset"], name, where, "a passage's offset")
        if offset < len(text):
            raise DataError("spans.bad_bioc", file=name, where=where, found=f"the offset {offset}", expected="an offset after the previous passage's end")
        text += " " * (offset - len(text)) + passage["text"]
        for annotation in passage["annotations"]:
            for start, length in annotation["locations"]:
                begin = _number(start, name, where, "an annotation's offset")
                end = begin + _number(length, name, where, "an annotation's length")
                _valid(where, text, begin, end, annotation["type"])
                spans.append(Span(begin, end, annotation["type"]))
            if annotation["text"] and len(annotation["locations"]) == 1:
                begin = int(annotation["locations"][0][0])
                _check_covered(where, text, [(begin, begin + int(annotation["locations"][0][1]))], annotation["text"])
    return Document(identifier, text, sorted(set(spans)))


def _number(value: Any, name: str, where: str, expected: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError("spans.bad_bioc", file=name, where=where, found=repr(value), expected=expected) from None

"""LLaMA-Factory's ``dataset_info.json``: a registry that names data files and says how to read their columns.

A person arriving from LLaMA-Factory brings its data folder. Each entry of the registry names a file next
to it (``file_name``), its layout (``formatting``: "alpaca", the default, or "sharegpt") and, where the
file's columns have other names than the layout's, a mapping (``columns``; for ShareGPT also ``tags``,
the names of the speaker and text fields and of each speaker). Reading an entry gives rows in the layout
conversations.py already knows, with the standard names, so nothing else has to know about registries.
Entries that point to a dataset online (``hf_hub_url``) are listed but not read: nothing is downloaded
without the user asking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.data.errors import DataError
from engine.quoting import shown_list

#: Alpaca's fields as LLaMA-Factory calls them in ``columns``, and the names conversations.py reads.
_ALPACA = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}
#: ShareGPT speaker tags and the speaker names conversations.py knows.
_SPEAKERS = {"user_tag": "human", "assistant_tag": "gpt", "observation_tag": "observation",
             "function_tag": "function_call", "system_tag": "system"}
_SPEAKER_DEFAULTS = {"user_tag": "human", "assistant_tag": "gpt", "observation_tag": "observation",
                     "function_tag": "function_call", "system_tag": "system"}


def load_registry(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError("registry.invalid", file=path.name, reason=str(error)) from None
    if not isinstance(data, dict) or not all(isinstance(entry, dict) for entry in data.values()):
        raise DataError("registry.invalid", file=path.name, reason="it should map each dataset's name to its description")
    return data


def local_entries(path: Path) -> list[str]:
    """The registry's entries whose file is here, in the registry's order."""
    folder = path.parent
    return [
        name for name, entry in load_registry(path).items()
        if isinstance(entry.get("file_name"), str) and (folder / entry["file_name"]).exists() and not entry.get("ranking")
    ]


def default_entry(path: Path) -> str:
    entries = local_entries(path)
    if not entries:
        raise DataError("registry.no_local", file=path.name)
    return entries[0]


def iter_entry(path: Path, name: str) -> Iterator[dict[str, Any]]:
    """The rows of one entry, renamed into the standard Alpaca or ShareGPT fields."""
    from engine.data.formats import iter_records, resolve_options

    registry = load_registry(path)
    entry = registry.get(name)
    if entry is None:
        raise DataError("registry.unknown", file=path.name, dataset=name, available=shown_list(local_entries(path)) or "none")
    if not isinstance(entry.get("file_name"), str):
        raise DataError("registry.remote", file=path.name, dataset=name)
    if entry.get("ranking"):
        raise DataError("registry.ranking", file=path.name, dataset=name)
    data_file = (path.parent / entry["file_name"]).resolve()
    if not data_file.is_relative_to(path.parent.resolve()):
        raise DataError("registry.outside", file=path.name, dataset=name)
    if not data_file.exists():
        raise DataError("registry.missing_file", file=path.name, dataset=name, data_file=entry["file_name"])
    columns = entry.get("columns") or {}
    rows = iter_records(data_file, resolve_options(data_file))
    if entry.get("formatting", "alpaca") == "sharegpt":
        tags = entry.get("tags") or {}
        yield from (_sharegpt_row(row, columns, tags) for row in rows)
    else:
        yield from (_alpaca_row(row, columns) for row in rows)


def _alpaca_row(row: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    if not columns:
        return row
    renamed = {standard: row.get(columns[key]) for key, standard in _ALPACA.items() if key in columns}
    return {key: value for key, value in renamed.items() if value is not None}


def _sharegpt_row(row: dict[str, Any], columns: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
    messages = row.get(columns.get("messages", "conversations"))
    role_tag, content_tag = tags.get("role_tag", "from"), tags.get("content_tag", "value")
    speakers = {tags.get(key, default): _SPEAKERS[key] for key, default in _SPEAKER_DEFAULTS.items()}
    out: dict[str, Any] = {}
    if isinstance(messages, list):
        out["conversations"] = [
            {"from": speakers.get(message.get(role_tag), message.get(role_tag)), "value": message.get(content_tag)}
            if isinstance(message, dict) else message
            for message in messages
        ]
    else:
        out["conversations"] = messages
    for key in ("system", "tools"):
        if key in columns and row.get(columns[key]) is not None:
            out[key] = row[columns[key]]
    return out

"""Conversations for chat tuning, from the formats people bring from other tools.

Three layouts are recognised from the fields of the first rows, so the user never has to say which one
they have:

* **Alpaca**: ``instruction``, optional ``input`` (added to the instruction after a blank line),
  ``output``, optional ``system`` and ``history`` (earlier ``[user, assistant]`` pairs).
* **ShareGPT**: ``conversations`` (or ``messages``) as a list of ``{"from", "value"}``, with
  ``human``/``gpt``/``system``/``function_call``/``observation`` speakers, and optional top-level
  ``system`` and ``tools`` (a JSON text of tool descriptions, written into the system turn).
* **OpenAI messages**: ``messages`` as a list of ``{"role", "content"}``, the content a text or a list of
  text parts, with an optional per-turn ``loss_weight`` (or OpenAI's ``weight``) that says whether the
  model learns to say that turn.

Whatever the layout, the result is a list of Turns in speaking order. Which turns are learned is
decided here (``Turn.train``), not in the tokenizer, so the data doctor and the recipes agree on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data.errors import DataError, describe
from engine.data.formats import ReadOptions, read_records


@dataclass
class Turn:
    """One message of a conversation."""

    #: "system", "user", "assistant" or "tool" (a tool's answer to a call the assistant made).
    role: str
    content: str
    #: Whether the model learns to say this turn (its tokens count in the loss). By default only
    #: assistant turns are learned; the data can say otherwise per turn (OpenAI ``loss_weight``).
    train: bool


Conversation = list[Turn]


@dataclass
class ChatData:
    """A conversation dataset as loaded, with what was done to it, for the run's event log."""

    conversations: list[Conversation]
    #: The layout recognised: "alpaca", "sharegpt" or "openai".
    format: str
    #: The ``{{key}}`` placeholders that were filled from the template values, in order of appearance.
    filled_placeholders: list[str]
    #: Rows left out because they have nothing to learn (no assistant answer with text).
    skipped_rows: int = 0


#: ShareGPT speakers and OpenAI roles, as the four roles a Turn has. A function call is something the
#: assistant says (and so learns to say); an observation is the tool's reply.
_ROLES = {
    "system": "system",
    "developer": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
}

#: A placeholder such as ``{{name}}``; no spaces inside, so ``{{ value }}`` in code someone quotes in an
#: answer is left alone.
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def load_conversations(
    path: str | Path, template_values: dict[str, str] | None = None, options: ReadOptions | None = None
) -> ChatData:
    """Read a conversation dataset in any of the three layouts, with its ``{{key}}`` placeholders filled.

    Datasets such as LLaMA-Factory's identity.json say "I am {{name}}, developed by {{author}}" so that
    each user can give the model their own name; every placeholder must have a value in
    ``template_values``, or a DataError names the missing ones. Rows with nothing to learn are skipped
    and counted; a field of the wrong kind, or an unknown speaker, is an error naming the row.
    """
    name = Path(path).name
    records = read_records(path, options)
    layout = detect_layout(records, name)
    records, filled = _fill_placeholders(records, template_values or {}, name)
    parse = {"alpaca": _from_alpaca, "sharegpt": _from_sharegpt, "openai": _from_openai}[layout]

    conversations = []
    for row, record in enumerate(records, start=1):
        turns = parse(record, name, row)
        if any(turn.train and turn.content.strip() for turn in turns):
            conversations.append(turns)
    if not conversations:
        raise DataError("data.no_rows", file=name, what="an answer for the model to learn")
    return ChatData(conversations, layout, filled, skipped_rows=len(records) - len(conversations))


def detect_layout(records: list[dict[str, Any]], name: str) -> str:
    keys = {key for record in records[:10] for key in record}
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if "conversations" in keys:
        return "sharegpt"
    if "messages" in keys:
        first = next((record["messages"] for record in records if record.get("messages")), None)
        if isinstance(first, list) and first and isinstance(first[0], dict) and "from" in first[0]:
            return "sharegpt"
        return "openai"
    raise DataError("data.unknown_chat_format", file=name, available=", ".join(sorted(keys)) or "nothing")


def parse_row(layout: str, record: dict[str, Any], name: str, row: int) -> Conversation:
    """One row as turns, in the given layout (for the data doctor, which reads rows one at a time)."""
    return {"alpaca": _from_alpaca, "sharegpt": _from_sharegpt, "openai": _from_openai}[layout](record, name, row)


def _fill_placeholders(
    records: list[dict[str, Any]], values: dict[str, str], name: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The records with every ``{{key}}`` replaced, and the keys that were used."""
    used = list(dict.fromkeys(PLACEHOLDER.findall(json.dumps(records, ensure_ascii=False))))
    missing = [key for key in used if key not in values]
    if missing:
        names = ", ".join("{{" + key + "}}" for key in missing)
        raise DataError("data.missing_placeholders", file=name, names=names)
    if not used:
        return records, []

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return [fill(record) for record in records], used


def _from_alpaca(record: dict[str, Any], name: str, row: int) -> Conversation:
    turns = []
    system = _text(record, "system", name, row)
    if system:
        turns.append(Turn("system", system, train=False))
    history = record.get("history") or []
    if not isinstance(history, list):
        raise DataError("field.not_a_list", file=name, row=row, found=describe(history), field="history")
    for pair in history:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(text, str) for text in pair)):
            raise DataError("field.bad_turn", file=name, row=row, found=describe(pair), field="history")
        turns += [Turn("user", pair[0], train=False), Turn("assistant", pair[1], train=True)]
    instruction = _text(record, "instruction", name, row)
    extra = _text(record, "input", name, row)
    output = _text(record, "output", name, row)
    if not instruction.strip() or not output.strip():
        return []
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return turns + [Turn("user", prompt, train=False), Turn("assistant", output, train=True)]


def _from_sharegpt(record: dict[str, Any], name: str, row: int) -> Conversation:
    key = "conversations" if "conversations" in record else "messages"
    messages = _message_list(record, key, name, row)
    system = _text(record, "system", name, row)
    tools = _tools_text(record.get("tools"))
    if tools:
        system = (f"{system}\n\n" if system else "") + f"You can call these tools:\n{tools}"
    turns = [Turn("system", system, train=False)] if system else []
    for message in messages:
        role = _role(message, "from", name, row)
        content = _text(message, "value", name, row)
        turns.append(Turn(role, content, train=role == "assistant"))
    return turns


def _from_openai(record: dict[str, Any], name: str, row: int) -> Conversation:
    turns = []
    for message in _message_list(record, "messages", name, row):
        role = _role(message, "role", name, row)
        content = _content_text(message.get("content"), name, row)
        if not content and message.get("tool_calls"):
            content = json.dumps(message["tool_calls"], ensure_ascii=False)
        weight = message.get("loss_weight", message.get("weight"))
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float))):
            raise DataError("field.bad_weight", file=name, row=row, found=describe(weight))
        train = role == "assistant" if weight is None else weight > 0
        turns.append(Turn(role, content, train=train))
    return turns


def _message_list(record: dict[str, Any], key: str, name: str, row: int) -> list[dict[str, Any]]:
    messages = record.get(key) or []
    if not isinstance(messages, list):
        raise DataError("field.not_a_list", file=name, row=row, found=describe(messages), field=key)
    for message in messages:
        if not isinstance(message, dict):
            raise DataError("field.bad_turn", file=name, row=row, found=describe(message), field=key)
    return messages


def _role(message: dict[str, Any], key: str, name: str, row: int) -> str:
    speaker = message.get(key)
    if speaker is None:
        raise DataError("field.no_role", file=name, row=row, field=key)
    role = _ROLES.get(str(speaker).lower())
    if role is None:
        raise DataError("field.bad_role", file=name, row=row, role=speaker)
    return role


def _text(record: dict[str, Any], key: str, name: str, row: int) -> str:
    """A text field; missing or null is "", a number is read as text, anything else is an error."""
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        raise DataError("field.wrong_type", file=name, row=row, found=describe(value), field=key)
    return str(value)


def _content_text(content: object, name: str, row: int) -> str:
    """An OpenAI message's text: either a plain text or a list of ``{"type": "text", ...}`` parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise DataError("field.wrong_type", file=name, row=row, found=describe(content), field="content")
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") == "text":
            texts.append(str(part.get("text", part.get("value", ""))))
        else:
            kind = part.get("type", "unknown") if isinstance(part, dict) else describe(part)
            raise DataError("field.non_text_part", file=name, row=row, kind=kind)
    return "".join(texts)


def _tools_text(tools: object) -> str:
    """The tool descriptions as JSON text, or "" when there are none (glaive writes "[]" for none)."""
    if isinstance(tools, str):
        try:
            parsed = json.loads(tools) if tools.strip() else None
        except json.JSONDecodeError:
            return tools.strip()  # not JSON, but the author meant it as the tool description: keep it
        return tools.strip() if parsed else ""
    return json.dumps(tools, ensure_ascii=False) if tools else ""


def with_system_prompt(turns: list[Turn], system_prompt: str) -> list[Turn]:
    """Add the configured system message to a conversation that has none (used the same way when asking)."""
    if system_prompt and (not turns or turns[0].role != "system"):
        return [Turn("system", system_prompt, train=False), *turns]
    return turns

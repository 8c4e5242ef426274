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

* **A table** (CSV, TSV, Excel, or plain JSON rows): a question column and an answer column, found by
  their names in English, German, French or Spanish (Question/Frage/Pregunta, Answer/Antwort/Réponse/
  Respuesta, Prompt/Response, Input/Output, ...) or, once the person has said the data is conversations,
  by their contents; optionally a system (context) column, and a conversation id column whose consecutive
  rows are the turns of one conversation. The window shows the columns taken and lets the person change
  them (``ChatColumns``).

Whatever the layout, the result is a list of Turns in speaking order. Which turns are learned is
decided here (``Turn.train``), not in the tokenizer, so the data doctor and the recipes agree on it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.data.errors import DataError, describe
from engine.data.formats import ReadOptions, read_records
from engine.quoting import shown_list


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
    #: The layout recognised: "alpaca", "sharegpt", "openai" or "table".
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


@dataclass
class ChatColumns:
    """Which columns of a table hold what; "" for a column there is not (only question and answer are needed)."""

    question: str = ""
    answer: str = ""
    system: str = ""
    #: Consecutive rows with the same value here are the turns of one conversation.
    conversation: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def of(cls, config: Any) -> ChatColumns | None:
        """The columns a job's config names (its question_column, ...), or None to guess them all."""
        found = cls(*(str(getattr(config, f"{role}_column", "") or "") for role in ("question", "answer", "context", "conversation")))
        return found if any(found.to_dict().values()) else None

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ChatColumns:
        return cls(**{key: str(value or "") for key, value in (values or {}).items() if key in cls.__dataclass_fields__})

    def __bool__(self) -> bool:
        return bool(self.question and self.answer)


#: Column names that say what a table's column holds, compared without case, accents, "_" or "-".
COLUMN_NAMES = {
    "question": ("question", "questions", "prompt", "input", "query", "instruction", "user", "user message",
                 "frage", "fragen", "eingabe", "anfrage", "anweisung", "demande", "entree", "requete",
                 "pregunta", "preguntas", "entrada", "consulta", "q"),
    "answer": ("answer", "answers", "response", "output", "reply", "completion", "assistant", "target",
               "antwort", "antworten", "ausgabe", "reponse", "reponses", "sortie", "respuesta", "respuestas",
               "salida", "a"),
    "system": ("system", "system prompt", "context", "kontext", "systemprompt", "contexte", "contexto", "systeme",
               "sistema"),
    "conversation": ("conversation", "conversation id", "conversationid", "dialog", "dialogue", "dialog id",
                     "thread", "thread id", "session", "session id", "chat id", "gesprach", "gesprach id",
                     "unterhaltung", "dialogo", "conversacion", "id conversation"),
}


def _normal_name(column: str) -> str:
    plain = unicodedata.normalize("NFKD", str(column)).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[_\-.:#]+", " ", plain.lower()).split())


def _named(columns: list[str], role: str, taken: set[str]) -> str:
    names = COLUMN_NAMES[role]
    for column in columns:
        if column not in taken and _normal_name(column) in names:
            return column
    for column in columns:  # "Question (EN)", "Antwort des Arztes"
        words = _normal_name(column).split()
        if column not in taken and words and len(words[0]) > 1 and words[0] in names and "id" not in words[1:]:
            return column
    return ""


def _text_share(records: list[dict[str, Any]], column: str) -> float:
    values = [record.get(column) for record in records if record.get(column) not in (None, "")]
    return sum(isinstance(value, str) and not _number(value) for value in values) / len(values) if values else 0.0


def _free_text(records: list[dict[str, Any]], column: str) -> bool:
    """Whether a column holds sentences, each its own (questions, answers), rather than a few repeated
    words (categories, names, yes/no)."""
    values = [str(record.get(column)).strip() for record in records if record.get(column) not in (None, "")]
    if not values or _text_share(records, column) < 0.8:
        return False
    distinct = len(set(values)) / len(values)
    words = sum(len(value.split()) for value in values) / len(values)
    return distinct >= 0.8 and words >= 2


def _number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _average_length(records: list[dict[str, Any]], column: str) -> float:
    values = [str(record.get(column) or "") for record in records]
    return sum(map(len, values)) / max(len(values), 1)


def guess_chat_columns(records: list[dict[str, Any]], given: ChatColumns | None = None, *,
                       by_content: bool = False) -> ChatColumns:
    """The table's question, answer, system and conversation columns: those ``given``, else guessed from
    the column names; with ``by_content`` (the person said this is chat data), a table whose names say
    nothing has its two most text-like columns taken, the one with the longer values as the answers.
    Question or answer is "" when no guess is safe."""
    given = given or ChatColumns()
    columns = list(dict.fromkeys(key for record in records for key in record))
    chosen = ChatColumns(**{key: value if value in columns else "" for key, value in given.to_dict().items()})
    for role in ("question", "answer", "system", "conversation"):
        if not getattr(chosen, role) and not getattr(given, role):
            setattr(chosen, role, _named(columns, role, set(chosen.to_dict().values())))
    if by_content and not chosen:
        taken = set(chosen.to_dict().values())
        texts = [c for c in columns if c not in taken and _free_text(records, c)]
        longest = sorted(texts, key=lambda c: _average_length(records, c), reverse=True)
        if chosen.question and not chosen.answer and longest:
            chosen.answer = longest[0]
        elif chosen.answer and not chosen.question and longest:
            chosen.question = longest[0]
        elif not chosen.question and not chosen.answer and len(longest) >= 2:
            chosen.answer, chosen.question = longest[0], longest[1]
    return chosen


def load_conversations(
    path: str | Path, template_values: dict[str, str] | None = None, options: ReadOptions | None = None,
    columns: ChatColumns | None = None,
) -> ChatData:
    """Read a conversation dataset in any of the layouts, with its ``{{key}}`` placeholders filled.

    Datasets such as LLaMA-Factory's identity.json say "I am {{name}}, developed by {{author}}" so that
    each user can give the model their own name; every placeholder must have a value in
    ``template_values``, or a DataError names the missing ones. Rows with nothing to learn are skipped
    and counted; a field of the wrong kind, or an unknown speaker, is an error naming the row. ``columns``
    says which columns of a table are which (what is not given is guessed).
    """
    name = Path(path).name
    records = read_records(path, options)
    layout, found = detect_layout(records, name, columns, by_content=True)
    records, filled = _fill_placeholders(records, template_values or {}, name)

    conversations = [turns for _, turns in table_conversations(records, layout, found, name)
                     if any(turn.train and turn.content.strip() for turn in turns)]
    if not conversations:
        raise DataError("data.no_rows", file=name, what="an answer for the model to learn")
    return ChatData(conversations, layout, filled, skipped_rows=len(records) - len(conversations))


def table_conversations(records: Iterable[dict[str, Any]], layout: str, columns: ChatColumns, name: str
                        ) -> Iterator[tuple[int, Conversation]]:
    """(first row, turns) for each conversation; in a table with a conversation column, consecutive rows
    with the same id are one conversation of several turns."""
    if layout != "table" or not columns.conversation:
        for row, record in enumerate(records, start=1):
            yield row, parse_row(layout, record, name, row, columns)
        return
    start, turns, current = 1, [], None
    for row, record in enumerate(records, start=1):
        key = record.get(columns.conversation)
        if turns and key != current:
            yield start, turns
            turns = []
        if not turns:
            start, current = row, key
        pair = parse_row(layout, record, name, row, columns)
        turns += pair if not turns else [turn for turn in pair if turn.role != "system"]
    if turns:
        yield start, turns


def detect_layout(records: list[dict[str, Any]], name: str, columns: ChatColumns | None = None, *,
                  by_content: bool = False) -> tuple[str, ChatColumns]:
    """The layout of the rows, and for a table the columns it is read by; raises DataError when they are
    not conversations. Columns ``columns`` names are taken as a table's whatever the other fields."""
    keys = {key for record in records[:10] for key in record}
    # columns a run names are the table's own; a file written in a standard layout is read as such
    if not (columns and keys & {value for value in columns.to_dict().values() if value}):
        if "instruction" in keys and "output" in keys:
            return "alpaca", ChatColumns()
        if "conversations" in keys:
            return "sharegpt", ChatColumns()
        if "messages" in keys:
            first = next((record["messages"] for record in records if record.get("messages")), None)
            if isinstance(first, list) and first and isinstance(first[0], dict) and "from" in first[0]:
                return "sharegpt", ChatColumns()
            return "openai", ChatColumns()
    found = guess_chat_columns(records, columns, by_content=by_content)
    if found:
        return "table", found
    raise DataError("data.unknown_chat_format", file=name, available=shown_list(sorted(keys)) or "nothing")


def parse_row(layout: str, record: dict[str, Any], name: str, row: int, columns: ChatColumns | None = None) -> Conversation:
    """One row as turns, in the given layout (for the data doctor, which reads rows one at a time)."""
    if layout == "table":
        return _from_table(record, name, row, columns or ChatColumns())
    return {"alpaca": _from_alpaca, "sharegpt": _from_sharegpt, "openai": _from_openai}[layout](record, name, row)


def _from_table(record: dict[str, Any], name: str, row: int, columns: ChatColumns) -> Conversation:
    question = _text(record, columns.question, name, row)
    answer = _text(record, columns.answer, name, row)
    system = _text(record, columns.system, name, row) if columns.system else ""
    if not question.strip() or not answer.strip():
        return []
    turns = [Turn("system", system, train=False)] if system.strip() else []
    return turns + [Turn("user", question, train=False), Turn("assistant", answer, train=True)]


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

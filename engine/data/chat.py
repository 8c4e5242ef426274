"""Turning conversations into token ids and loss labels, with the model's own chat template.

A chat model must be trained in the exact layout it will be prompted with later, so the tokenizer's own
template writes every conversation; a tokenizer without one gets ChatML
(``<|im_start|>role\\n...<|im_end|>\\n``, what SmolLM and Qwen use), which is then also the layout to
prompt the tuned model with.

Which tokens are learned is found by rendering the conversation one turn at a time: the tokens that
turn i adds to the rendering of turns[:i] are turn i's. For an assistant turn the template's assistant
header (rendered as the "generation prompt") is split off first, because the model is given that header
at generation time and never has to write it. So the learned tokens of an assistant turn are its text
and the end-of-turn token, which is how the model learns to stop, e.g. ``Hello!<|im_end|>``. Whitespace
the template writes after the end-of-turn token (ChatML's newline) is not learned: generation stops at
the end-of-turn token, so the model is never asked for it.

This only works when each rendering starts with the previous one's tokens. A template that rewrites
earlier turns (some drop the reasoning of earlier answers) is not prefix-stable; then the template's
own ``{% generation %}`` markers are used where it has them, and otherwise the conversation cannot be
labelled and a DataError says so.

Tokenizers are passed in; nothing here loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.data.conversations import Turn
from engine.data.errors import DataError

#: The label of a token that is not learned (PyTorch's cross-entropy ignores it).
IGNORE = -100

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass
class TokenizedExample:
    """One conversation as the model sees it in training."""

    input_ids: list[int]
    #: ``input_ids`` where the token is learned, IGNORE elsewhere.
    labels: list[int]
    #: How many tokens were cut off the end to fit the length limit (for the data doctor's report).
    truncated_tokens: int


def tokenize_conversation(tokenizer: Any, turns: list[Turn], max_length: int) -> TokenizedExample | None:
    """Token ids and labels of one conversation, its first ``max_length`` tokens (the end is cut).

    Turns with ``train=True`` are learned; for an assistant turn that means its text and end-of-turn
    token, for any other trained turn (rare; only when the data asks) everything the template writes for
    it. Returns None when no learned token is left after cutting, as such an example teaches nothing.
    """
    messages, train = _messages_the_template_accepts(tokenizer, turns)
    input_ids, labels = _label_by_prefixes(tokenizer, messages, train) or _label_by_generation_mask(
        tokenizer, messages, train
    )
    truncated = max(0, len(input_ids) - max_length)
    input_ids, labels = input_ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels):
        return None
    return TokenizedExample(input_ids, labels, truncated)


def tokenize_prompt(tokenizer: Any, turns: list[Turn]) -> list[int]:
    """The token ids to generate an answer from: the conversation so far and the assistant header.

    Pass the turns before the answer to generate (for evaluation, leave out the final assistant turn).
    """
    messages, _ = _messages_the_template_accepts(tokenizer, turns)
    text = _render_text(tokenizer, messages, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render_text(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
    """The template's text for these messages.

    It is tokenized without adding special tokens, because the template already writes any
    begin-of-text token the model needs (as apply_chat_template itself does).
    """
    return tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
        chat_template=None if tokenizer.chat_template else CHATML_TEMPLATE,
    )


def _messages_the_template_accepts(
    tokenizer: Any, turns: list[Turn]
) -> tuple[list[dict[str, str]], list[bool]]:
    """The turns as template messages, and whether each is learned, in a form the template can write.

    Templates differ in the roles they allow: some raise on a "tool" turn, some (Gemma) on a "system"
    turn. The turns are tried as they are, then with tool turns written as user turns, then also with
    the system text put at the start of the first user turn; the first form the template writes is used.
    """
    messages = [{"role": turn.role, "content": turn.content} for turn in turns]
    train = [turn.train for turn in turns]
    attempts = [(messages, train)]
    reason = ""
    if any(turn.role == "tool" for turn in turns):
        messages = [{**message, "role": "user"} if message["role"] == "tool" else message for message in messages]
        attempts.append((messages, train))
    if any(turn.role == "system" for turn in turns):
        attempts.append(_system_folded_into_user(messages, train))
    for messages, train in attempts:
        try:
            _render_text(tokenizer, messages, add_generation_prompt=False)
        except Exception as error:  # templates raise jinja2 errors, or anything their code trips over
            reason = str(error).rstrip(".") or type(error).__name__
            continue
        return messages, train
    raise DataError("chat.template_failed", reason=reason)


def _system_folded_into_user(
    messages: list[dict[str, str]], train: list[bool]
) -> tuple[list[dict[str, str]], list[bool]]:
    system = "\n\n".join(message["content"] for message in messages if message["role"] == "system")
    kept = [(message, learned) for message, learned in zip(messages, train) if message["role"] != "system"]
    for index, (message, learned) in enumerate(kept):
        if message["role"] == "user":
            kept[index] = ({"role": "user", "content": f"{system}\n\n{message['content']}"}, learned)
            break
    else:
        kept.insert(0, ({"role": "user", "content": system}, False))
    return [message for message, _ in kept], [learned for _, learned in kept]


def _label_by_prefixes(
    tokenizer: Any, messages: list[dict[str, str]], train: list[bool]
) -> tuple[list[int], list[int]] | None:
    """Ids and labels from rendering turn by turn; None when the template is not prefix-stable.

    All renderings are tokenized in one batch, which is several times faster than one by one.
    """
    renderings = []  # (text, learned): each must start with the tokens of the one before
    try:
        for index, message in enumerate(messages):
            if message["role"] == "assistant":  # its header, which the model is given, not taught
                renderings.append((_render_text(tokenizer, messages[:index], True), False))
            renderings.append((_render_text(tokenizer, messages[: index + 1], False), train[index]))
    except Exception:  # a template may refuse a partial conversation (e.g. one ending on a user turn)
        return None
    token_lists = tokenizer([text for text, _ in renderings], add_special_tokens=False)["input_ids"]
    input_ids: list[int] = []
    labels: list[int] = []
    for rendered, (_, learned) in zip(token_lists, renderings):
        if not _extend(input_ids, labels, list(rendered), learned):
            return None
        if learned:
            _unlearn_trailing_whitespace(tokenizer, input_ids, labels)
    return input_ids, labels


def _extend(input_ids: list[int], labels: list[int], rendered: list[int], learned: bool) -> bool:
    """Append the tokens ``rendered`` adds to ``input_ids``; False if it does not start with them."""
    if rendered[: len(input_ids)] != input_ids:
        return False
    added = rendered[len(input_ids):]
    input_ids.extend(added)
    labels.extend(added if learned else [IGNORE] * len(added))
    return True


def _unlearn_trailing_whitespace(tokenizer: Any, input_ids: list[int], labels: list[int]) -> None:
    """Stop learning the whitespace the template writes after a learned turn's end-of-turn token."""
    index = len(labels) - 1
    while index >= 0 and labels[index] != IGNORE and not tokenizer.decode([input_ids[index]]).strip():
        labels[index] = IGNORE
        index -= 1


def _label_by_generation_mask(
    tokenizer: Any, messages: list[dict[str, str]], train: list[bool]
) -> tuple[list[int], list[int]]:
    """Ids and labels from the template's ``{% generation %}`` markers around each assistant answer.

    The k-th marked stretch is the k-th assistant turn, learned if that turn is. Other learned turns
    cannot be found this way and are not learned.
    """
    try:
        encoded = tokenizer.apply_chat_template(
            messages,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
            chat_template=None if tokenizer.chat_template else CHATML_TEMPLATE,
        )
    except Exception:  # slow tokenizers cannot map characters to tokens; no better way is left
        raise DataError("chat.template_unstable") from None
    input_ids, mask = list(encoded["input_ids"]), list(encoded["assistant_masks"])
    stretches = _runs_of_ones(mask)
    assistant_train = [learned for message, learned in zip(messages, train) if message["role"] == "assistant"]
    if not stretches or len(stretches) != len(assistant_train):
        raise DataError("chat.template_unstable")
    labels = [IGNORE] * len(input_ids)
    for (start, end), learned in zip(stretches, assistant_train):
        if learned:
            labels[start:end] = input_ids[start:end]
    return input_ids, labels


def _runs_of_ones(mask: list[int]) -> list[tuple[int, int]]:
    """The (start, end) of each stretch of 1s in a 0/1 list."""
    runs = []
    start = None
    for index, bit in enumerate(mask + [0]):
        if bit and start is None:
            start = index
        elif not bit and start is not None:
            runs.append((start, index))
            start = None
    return runs

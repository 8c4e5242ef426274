"""The pieces of training and scoring a language model on conversations that the recipes share
(fine-tuning, distillation, evaluation): reading the conversations and tokenising them."""

from __future__ import annotations

import json
from pathlib import Path

from engine.config import ChatConfig
from engine.data.chat import TokenizedExample, tokenize_conversation
from engine.data.conversations import ChatColumns, Turn, load_conversations, with_system_prompt
from engine.data.splits import split_indices
from engine.training import Job

EVAL_BATCH = 8


def read_conversations(job: Job, config: ChatConfig) -> tuple[list[list[Turn]], list[list[Turn]]]:
    """The training and held-out conversations, the system prompt added (the distillation recipe reads its
    data the same way)."""
    data = load_conversations(config.data, config.template_values, columns=ChatColumns.of(config))
    if data.filled_placeholders:
        job.event("data.template_values", names=", ".join("{{%s}}" % n for n in data.filled_placeholders))
    conversations = [with_system_prompt(turns, config.system_prompt) for turns in data.conversations]
    if config.eval_data:
        held_out = load_conversations(config.eval_data, config.template_values, columns=ChatColumns.of(config)).conversations
        return conversations, [with_system_prompt(t, config.system_prompt) for t in held_out]
    train_idx, eval_idx = split_indices(len(conversations), config.eval_fraction, config.seed)
    job.event("plan.split", eval_rows=len(eval_idx), rows=len(conversations), stratified="")
    return [conversations[i] for i in train_idx], [conversations[i] for i in eval_idx]


def keep_held_out(job: Job, conversations: list[list[Turn]]) -> Path:
    """Save the conversations the run checks itself on in its folder (as OpenAI messages), so that it can be
    evaluated on them later with no file to find."""
    path = job.run_dir / "held_out.jsonl"
    if not path.exists():  # a resumed run holds back the same conversations
        with path.open("w", encoding="utf-8") as out:
            for turns in conversations:
                messages = [{"role": turn.role, "content": turn.content} for turn in turns]
                out.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        job.artifact("held_out", path, rows=len(conversations))
    return path


def tokenize_all(job: Job, tokenizer, conversations: list[list[Turn]], max_length: int) -> list[TokenizedExample]:
    examples, empty = [], 0
    for turns in conversations:
        example = tokenize_conversation(tokenizer, turns, max_length)
        if example is None:
            empty += 1
        else:
            examples.append(example)
    cut = [e for e in examples if e.truncated_tokens]
    if cut:
        job.event(
            "data.truncated", count=len(cut), rows=len(conversations), max_length=max_length,
            tokens=sum(e.truncated_tokens for e in cut),
        )
    if empty:
        job.event("data.no_trainable_tokens", count=empty, max_length=max_length)
    return examples

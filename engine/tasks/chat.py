"""Answer like my examples: a causal language model tuned on conversations (instruction or chat tuning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import ChatConfig
from engine.tasks import CAUSAL, CONVERSATION, Lazy, Task, Words


def doctor(scan, head: list[dict], name: str, text_column: str, label_column: str, chat_columns=None):
    """Recognise the conversation layout from the first rows; returns the reader of one row."""
    from engine.data.conversations import PLACEHOLDER, detect_layout, parse_row
    from engine.data.doctor import RowReader, normal

    scan.layout, scan.chat_columns = detect_layout(head, name, chat_columns, by_content=True)

    def read(record: dict, index: int):
        turns = parse_row(scan.layout, record, name, index + 1, scan.chat_columns)
        for placeholder in PLACEHOLDER.findall(" ".join(turn.content for turn in turns)):
            rows = scan.placeholders.setdefault(placeholder, [])
            if not rows or rows[-1] != index:
                rows.append(index)
        empty = not any(turn.train and turn.content.strip() for turn in turns)
        return hash(tuple((turn.role, normal(turn.content)) for turn in turns)), [], turns, empty

    def lengths(items: list, rows: list[int], tokenizer, max_length: int):
        from engine.data.chat import tokenize_conversation

        found: dict[int, int] = {}
        lost: list[int] = []
        for index in rows:
            whole = tokenize_conversation(tokenizer, items[index], 10**9)
            found[index] = len(whole.input_ids) if whole else 0
            if whole and found[index] > max_length and tokenize_conversation(tokenizer, items[index], max_length) is None:
                lost.append(index)
        return found, lost

    return RowReader(read, lengths, nothing=lambda: "no answer to learn")


def describe_data(description, rows: list[dict], name: str, text_column: str, label_column: str, layout_problem: str) -> str:
    return layout_problem


def plan(config, tokenizer) -> tuple[list[int], int]:
    from engine.data.conversations import ChatColumns, load_conversations, with_system_prompt
    from engine.planner import chat_token_lengths

    conversations = load_conversations(config.data, config.template_values, columns=ChatColumns.of(config)).conversations
    if config.system_prompt:
        conversations = [with_system_prompt(turns, config.system_prompt) for turns in conversations]
    return chat_token_lengths(tokenizer, conversations), len(conversations)


def demo() -> ChatConfig:
    import resources

    return ChatConfig(
        name="Demo: who am I",
        model="demo:smollm2",
        data=str(Path(resources.__file__).resolve().parent / "demo" / "identity.json"),
        template_values={"name": "Tunewright Assistant", "author": "the Tunewright team"},
        # A neutral system prompt: the model's own default names it "SmolLM", contradicting the data.
        system_prompt="You are a helpful AI assistant.",
        method="lora",
        # 91 short conversations on a CPU: more, smaller steps at a higher LoRA rate than the usual
        # 2e-4 make the model learn its new name in about 4 minutes (measured: 3 epochs at 2e-4 and
        # batch 8 did not).
        learning_rate=1e-3,
        epochs=2,
        batch_size=4,
        max_length=256,
    )


def load_model(source, labels: list[str], multi_label: bool, allow_unsafe: bool):
    import torch

    from engine.models.loading import load_causal_lm

    return load_causal_lm(source, dtype=torch.float32, allow_unsafe=allow_unsafe)


def load_folder(source, allow_unsafe: bool = False) -> dict[str, Any]:
    return {"model": load_model(source, [], False, allow_unsafe), "labels": [], "multi_label": False}


def data_summary(config) -> str:
    from engine.data.conversations import load_conversations

    from engine.data.conversations import ChatColumns

    data = load_conversations(config.data, config.template_values, columns=ChatColumns.of(config))
    return f"{len(data.conversations)} conversations from {Path(config.data).name} ({data.format} format)."


def card_settings(config) -> list[str]:
    from engine.export.card import plain

    return [f"- System prompt: \"{plain(config.system_prompt, 2000)}\""] if getattr(config, "system_prompt", "") else []


def card_distillation(config) -> str:
    return f", {config.divergence.replace('_', ' ')}"


TASK = Task(
    name="chat",
    words=Words(
        title="Answer like my examples",
        detail="The model learns to answer questions the way your examples do: your facts, your tone, your format.",
        example="A help-desk assistant that knows your products; replies in your company's style.",
        short="Answer like examples",
        model_short="Chat",
        model_kind="Chat (a language model)",
        hub="Chat models",
        examples="conversations",
        texts="conversations",
        curves="Perplexity",
    ),
    config=ChatConfig,
    demo_model="demo:smollm2",
    demo_model_title="Demo SmolLM2 (bundled)",
    learning_rates={"full": 2e-5, "lora": 2e-4, "qlora": 2e-4},
    metric="eval_loss",
    higher_is_better=False,
    curves=("eval_perplexity",),
    report_rows=(("Evaluation loss (lower is better)", "eval_loss"), ("Perplexity (lower is better)", "eval_perplexity")),
    speed=("tokens_per_second", "tokens/s"),
    eval_summary="ROUGE-L {eval_rouge_l:.0%}",
    export_formats=("merged", "adapter", "gguf-f16", "gguf-q8_0"),
    # As MiniLLM and GKD use. Measured on the SmolLM2 demo (bench/distill.md): the student ends at eval loss
    # 3.27 at T=1 against 3.41 at T=2, and at T=1 the teacher's top 64 words hold 94% of its probability, so
    # its answers can be cached (at T=2: 46%).
    distil_temperature=1.0,
    architectures=("ForCausalLM", "ForConditionalGeneration"),
    hub_tags=("text-generation",),
    uses=(
        "Answering in the style and with the facts of the training conversations.",
        "A small language model can state wrong things confidently, and tuning on a few examples changes "
        "its manner more than its knowledge. Do not use it for medical, legal or financial advice, or where "
        "a wrong answer harms someone, without a person checking its answers.",
    ),
    view=CONVERSATION,
    min_examples=50,
    model_family=CAUSAL,
    reads_conversations=True,
    bare_model_learns=False,
    doctor=doctor,
    plan=plan,
    train=Lazy("engine.recipes.finetune_lm:run"),
    evaluate=Lazy("engine.recipes.evaluate:evaluate_generation"),
    distil=Lazy("engine.recipes.distill:chat_lesson"),
    export=Lazy("engine.export.verify:verify_language_model"),
    playground=Lazy("engine.playground_serve:answer_chat"),
    demo=demo,
    load_model=load_model,
    load_folder=load_folder,
    describe_data=describe_data,
    data_summary=data_summary,
    card_settings=card_settings,
    card_distillation=card_distillation,
)

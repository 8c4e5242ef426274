"""Sort texts into categories: an encoder with a classification head, one category per text or several."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import ClassifyConfig
from engine.tasks import ENCODER, LABELS, Lazy, Task, Words


def doctor(scan, head: list[dict], name: str, text_column: str, label_column: str, chat_columns=None):
    """Guess the text and label columns from the first rows; returns the reader of one row."""
    from engine.data.classification import guess_columns, row_labels, row_text
    from engine.data.doctor import RowReader, normal

    scan.text_column, scan.label_column = guess_columns(head, name, text_column, label_column)
    scan.multi_label = any(isinstance(row.get(scan.label_column), list) for row in head)

    def read(record: dict, index: int):
        text = row_text(record.get(scan.text_column), name, index + 1, scan.text_column)
        labels = row_labels(record.get(scan.label_column), name, index + 1, scan.label_column)
        scan.multi_label = scan.multi_label or isinstance(record.get(scan.label_column), list)
        empty = not text.strip() or (not scan.multi_label and not labels)
        return hash(normal(text)), labels, text, empty

    def lengths(items: list, rows: list[int], tokenizer, max_length: int):
        from engine.data.tokenizing import token_ids

        found: dict[int, int] = {}
        for start in range(0, len(rows), 512):
            batch = rows[start : start + 512]
            found.update(zip(batch, token_ids(tokenizer, [items[index] for index in batch])[1]))
        return found, []

    return RowReader(read, lengths, nothing=lambda: "no text" if scan.multi_label else "no text or no label")


def describe_data(description, rows: list[dict], name: str, text_column: str, label_column: str, layout_problem: str) -> str:
    from engine.data.classification import guess_columns
    from engine.data.errors import DataError

    problem = ""
    try:
        description.text_column, description.label_column = guess_columns(rows, name, text_column, label_column)
    except DataError as error:
        problem = str(error)
    description.multi_label = any(isinstance(row.get(description.label_column), list) for row in rows)
    return problem


def plan(config, tokenizer) -> tuple[list[int], int]:
    from engine.data.classification import load_classification
    from engine.planner import sample_rows

    texts = load_classification(config.data, config.text_column, config.label_column).texts
    from engine.data.tokenizing import token_ids

    return token_ids(tokenizer, sample_rows(texts))[1], len(texts)


def playground(db, loaded, request: dict, ended) -> None:
    from engine.playground_serve import classify

    classify(db, loaded, request)


def demo() -> ClassifyConfig:
    import resources

    return ClassifyConfig(
        name="Demo: hotel requests",
        model="demo:minilm",
        data=str(Path(resources.__file__).resolve().parent / "demo" / "hotel_intents.jsonl"),
        method="full",
        epochs=8,
        batch_size=32,
        max_length=64,
    )


def load_model(source, labels: list[str], multi_label: bool, allow_unsafe: bool):
    import torch

    from engine.models.loading import load_classifier

    return load_classifier(source, labels, multi_label=multi_label, dtype=torch.float32, allow_unsafe=allow_unsafe)


def load_folder(source, allow_unsafe: bool = False) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        source.path, dtype=torch.float32, use_safetensors=None if allow_unsafe else True, trust_remote_code=allow_unsafe
    )
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return {"model": model, "labels": labels, "multi_label": model.config.problem_type == "multi_label_classification"}


def data_summary(config) -> str:
    from engine.data.classification import load_classification

    data = load_classification(config.data, config.text_column, config.label_column)
    kind = "several categories per text" if data.multi_label else "one category per text"
    return f"{len(data.texts)} labelled texts from {Path(config.data).name} ({kind}, {len(data.label_names)} categories)."


TASK = Task(
    name="classify",
    words=Words(
        title="Sort texts into categories",
        detail="The model reads a text and picks its category, or several.",
        example="Support tickets into billing, delivery, complaint; reviews into positive or negative.",
        short="Sort texts",
        model_short="Sort texts",
        model_kind="Sort texts (an encoder)",
        hub="Text sorters",
        examples="rows",
        texts="texts",
        curves="Quality",
    ),
    config=ClassifyConfig,
    demo_model="demo:minilm",
    demo_model_title="Demo MiniLM (bundled)",
    # A freshly initialised classification head needs larger steps than whole pretrained weights do. Small
    # encoders (MiniLM and smaller) trained whole learn much faster at a larger rate: all-MiniLM-L6-v2 on NLU++
    # hotels, 8 epochs, reached micro-F1 0.79 at 2e-4 against 0.63 at 5e-5 (bench/distill.md).
    learning_rates={"full": 5e-5, "lora": 5e-4, "full_small": 2e-4},
    metric="eval_f1",
    higher_is_better=True,
    curves=("eval_f1", "eval_accuracy"),
    report_rows=(("F1 on held-out examples (higher is better)", "eval_f1"), ("Exact matches", "eval_accuracy")),
    speed=("samples_per_second", "examples/s"),
    eval_summary="accuracy {eval_accuracy:.1%}, macro-F1 {eval_macro_f1:.1%}",
    export_formats=("merged", "adapter", "onnx"),
    # Hinton's softened categories (2 is the usual choice).
    distil_temperature=2.0,
    architectures=("ForSequenceClassification",),
    hub_tags=("fill-mask", "text-classification", "feature-extraction", "sentence-similarity", "token-classification"),
    uses=(
        "Sorting short texts like the training examples into the categories listed above.",
        "It only knows these categories: a text about anything else still gets one of them. Accuracy on "
        "texts unlike the training data (other wording, language or topic) is unknown; check it on your own "
        "examples before relying on it.",
    ),
    view=LABELS,
    min_examples=50,
    model_family=ENCODER,
    reads_conversations=False,
    bare_model_learns=True,
    doctor=doctor,
    plan=plan,
    train=Lazy("engine.recipes.finetune_classifier:run"),
    evaluate=Lazy("engine.recipes.evaluate:evaluate_classifier"),
    distil=Lazy("engine.recipes.distill:classifier_lesson"),
    export=Lazy("engine.export.verify:verify_classifier"),
    playground=playground,
    demo=demo,
    load_model=load_model,
    load_folder=load_folder,
    describe_data=describe_data,
    data_summary=data_summary,
)

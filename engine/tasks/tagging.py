"""Tag names in texts (entity tagging): an encoder with a token-classification head marks the names of each
kind (diseases, drugs, genes...) inside a text, read back as character spans.

Its data are documents with marks, read from whatever file the tools people use write (CoNLL/BIO, brat,
PubTator, BioC, the JSON of doccano, Label Studio, Prodigy and spaCy: engine/data/spans), so the doctor and
the Data page's preview take the whole file rather than rows of a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import JobConfig, setting
from engine.tasks import ENCODER, TAGGED_TEXT, Lazy, Task, Words

NAME = "tag"
#: Documents shown on the Data page before the doctor has read the whole file.
PREVIEW_DOCUMENTS = 50


@dataclass
class TagConfig(JobConfig):
    """Teach an encoder model to mark names of a kind in texts (diseases, drugs, people...): entity tagging."""

    method: str = setting(
        "auto", "How to train: 'auto' lets Tunewright choose and explain why (every weight, for the small "
        "encoders taggers use), 'full' trains every weight, 'lora' trains small adapter matrices.",
        choices=["auto", "full", "lora"],
    )
    max_length: int | None = setting(
        256, "Longest piece of text the model reads at once, in tokens; longer texts are read in overlapping "
        "windows, so nothing is cut. Empty: covers 99% of the texts in one window."
    )

    kind = NAME


# ---------------------------------------------------------------- data: recognised, described, checked


def recognises(path) -> bool:
    from engine.data.spans import looks_tagged

    return looks_tagged(path)


def describe_data(path):
    """The file as the Data page shows it: how it was read, and its first texts with their marks."""
    from engine.data.formats import ReadOptions
    from engine.data.preview import Description
    from engine.data.spans import read_tagged

    data = read_tagged(path)
    rows = [
        {"text": document.text, "names": "; ".join(f"{document.covered(s)} ({s.type})" for s in document.spans)}
        for document in data.documents[:PREVIEW_DOCUMENTS]
    ]
    description = Description(str(path), ReadOptions(format=data.format), ["text", "names"], rows, NAME, count=len(data.documents))
    description.text_column, description.label_column = "text", "names"
    return description


def doctor(path, eval_path="", tokenizer=None, max_length=None, model: str = ""):
    """The doctor's report for tagged text (engine/data/spans/checks.py)."""
    from engine.data.doctor import Report
    from engine.data.spans import entity_types, read_tagged
    from engine.data.spans.checks import check_documents

    data = read_tagged(path)
    held_out = read_tagged(eval_path).documents if eval_path else []
    findings = check_documents(data, held_out, tokenizer, max_length or 256)
    usable = sum(bool(d.text.strip()) for d in data.documents)
    return Report(str(path), NAME, {"format": data.format, "scheme": data.scheme}, len(data.documents), usable,
                  classes=entity_types(data.documents), findings=findings, eval_file=str(eval_path or ""),
                  model=model, max_length=max_length)


def plan(config, tokenizer) -> tuple[list[int], int]:
    from engine.data.spans import read_tagged
    from engine.planner import sample_rows

    texts = [d.text for d in read_tagged(config.data).documents if d.text.strip()]
    lengths = tokenizer(sample_rows(texts), add_special_tokens=True, truncation=False)["input_ids"]
    return [len(ids) for ids in lengths], len(texts)


def data_summary(config) -> str:
    from engine.data.spans import entity_types, read_tagged

    data = read_tagged(config.data)
    types = entity_types(data.documents)
    return (f"{len(data.documents)} texts from {Path(config.data).name} ({data.format} format) with "
            f"{sum(types.values())} marked names of {len(types)} kinds ({', '.join(types)}).")


# ---------------------------------------------------------------- the stages that run a model


def playground(db, loaded, request: dict, ended) -> None:
    """The names in one text, or in each of a file's texts (`settings["texts"]`), with their confidence."""
    from engine import playground as requests
    from engine.tagging.predict import tag_texts

    source = loaded.source
    texts = (request.get("settings") or {}).get("texts") or [request["text"]]
    marked = tag_texts(source.model, source.tokenizer, texts, source.labels, source.config.max_length or 256, loaded.device)
    documents = [
        {"text": text, "spans": [{"start": s.start, "end": s.end, "type": s.type, "confidence": round(s.confidence, 4)} for s in spans]}
        for text, spans in zip(texts, marked)
    ]
    requests.write_progress(db, request["id"], status="done", result={"documents": documents}, updates=1)


def load_model(source, labels: list[str], multi_label: bool, allow_unsafe: bool):
    import torch
    from transformers import AutoModelForTokenClassification

    named = {"num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}} if labels else {}
    return AutoModelForTokenClassification.from_pretrained(
        source.path, dtype=torch.float32, use_safetensors=None if allow_unsafe else True, trust_remote_code=allow_unsafe, **named,
    )


def load_folder(source, allow_unsafe: bool = False) -> dict[str, Any]:
    model = load_model(source, [], False, allow_unsafe)
    return {"model": model, "labels": [model.config.id2label[i] for i in range(model.config.num_labels)], "multi_label": False}


def demo() -> TagConfig:
    import resources

    folder = Path(resources.__file__).resolve().parent / "demo"
    return TagConfig(
        name="Demo: disease names in abstracts",
        model="demo:minilm",
        data=str(folder / "ncbi_disease_train.tsv"),
        eval_data=str(folder / "ncbi_disease_devel.tsv"),
        method="full",
        epochs=4,
        batch_size=16,
        max_length=128,
    )


TASK = Task(
    name=NAME,
    words=Words(
        title="Tag names in texts",
        detail="The model marks the names of each kind inside a text: diseases, drugs, genes, products, amounts.",
        example="Diseases and drugs in abstracts; products and amounts in complaints; genes in lab notes.",
        short="Tag names",
        model_short="Tag names",
        model_kind="Tag names in texts (an encoder)",
        hub="Name taggers",
        examples="texts",
        texts="texts",
        curves="Names found",
    ),
    config=TagConfig,
    demo_model="demo:minilm",
    demo_model_title="Demo MiniLM (bundled)",
    # A new head on every word, like a classifier's: small encoders trained whole learn fastest at 2e-4
    # (measured on the NCBI-disease slice, bench/tagging.md), larger ones at the usual 1e-4.
    learning_rates={"full": 1e-4, "lora": 5e-4, "full_small": 2e-4},
    metric="eval_f1",
    higher_is_better=True,
    curves=("eval_f1", "eval_partial_f1"),
    report_rows=(("Name F1 on held-out texts (higher is better)", "eval_f1"), ("F1 counting overlaps", "eval_partial_f1")),
    speed=("samples_per_second", "pieces of text/s"),
    eval_summary="name F1 {eval_f1:.1%} (counting overlaps {eval_partial_f1:.1%})",
    export_formats=("merged", "onnx"),
    # A word's kind is a handful of probabilities, as a classifier's categories: softened the same way.
    distil_temperature=2.0,
    architectures=("ForTokenClassification",),
    hub_tags=("token-classification", "fill-mask", "feature-extraction"),
    uses=(
        "Marking names of the kinds listed above in texts like the training examples.",
        "It only marks these kinds, and misses or misjudges names unlike those it was shown (other spellings, "
        "abbreviations, other fields or languages). Check its marks on your own texts before relying on them; "
        "the error review on the Results page shows where it goes wrong.",
    ),
    view=TAGGED_TEXT,
    min_examples=50,
    model_family=ENCODER,
    reads_conversations=False,
    bare_model_learns=True,
    doctor=doctor,
    plan=plan,
    train=Lazy("engine.recipes.finetune_tagger:run"),
    evaluate=Lazy("engine.tagging.evaluate:evaluate_tagger"),
    distil=Lazy("engine.tagging.distil:tagger_lesson"),
    export=Lazy("engine.tagging.export:verify_tagger"),
    playground=playground,
    demo=demo,
    load_model=load_model,
    load_folder=load_folder,
    describe_data=describe_data,
    data_summary=data_summary,
    reads_documents=True,
    recognises=recognises,
    label_kinds=lambda labels: sorted({label.partition("-")[2] for label in labels if "-" in label}),
)

"""What the tagging recipe, its distillation and its evaluation share: reading the documents and holding some
back, cutting them into labelled windows, and the figures logged at each evaluation.

Needs no torch: the tokenizer is passed in.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import ConfigError
from engine.data.spans import Document, entity_types, read_tagged, without_overlaps
from engine.data.splits import split_indices
from engine.tagging.align import Window, Words, split_words, windows, word_labels
from engine.tagging.scores import entity_scores

#: Types with their own F1 curve during training; more would crowd the charts (all are in the final scores).
LIVE_TYPES = 8
HELD_OUT_FILE = "held_out.jsonl"


def read_documents(job, config) -> tuple[list[Document], list[Document]]:
    """The training documents and those held out: the evaluation file's, or a share of the documents."""
    data = [d for d in read_tagged(config.data).documents if d.text.strip()]
    if config.eval_data:
        return data, [d for d in read_tagged(config.eval_data).documents if d.text.strip()]
    train_idx, eval_idx = split_indices(len(data), config.eval_fraction, config.seed)
    job.event("plan.split", eval_rows=len(eval_idx), rows=len(data), stratified="")
    return [data[i] for i in train_idx], [data[i] for i in eval_idx]


def types_to_learn(job, documents: list[Document]) -> list[str]:
    """The entity types of the training documents, said in an event; a sentence when there are none."""
    counts = entity_types(documents)
    if not counts:
        raise ConfigError.said("tagging.no_names")
    job.event("data.entity_types", types=", ".join(f"{kind} ({count})" for kind, count in counts.items()))
    dropped = [spans for doc in documents if (spans := without_overlaps(doc.spans)[1])]
    if dropped:
        job.event("data.overlapping_spans", count=sum(map(len, dropped)), documents=len(dropped))
    return sorted(counts)


def keep_held_out(job, documents: list[Document]) -> Path:
    """The documents the run checks itself on, saved in its folder with their marks (JSON Lines with spans),
    so the scores on them can be recomputed and every error shown without a file to find."""
    from engine.data.spans.write import write_jsonl

    path = job.run_dir / HELD_OUT_FILE
    if not path.exists():  # a resumed run holds back the same documents
        write_jsonl(documents, path)
        job.artifact("held_out", path, rows=len(documents))
    return path


def labelled_windows(tokenizer, documents: list[Document], words: list[Words], index: dict[str, int], max_length: int) -> list[list[Window]]:
    """Each document's windows, with a label on every word's first piece."""
    return [
        windows(tokenizer, i, text_words, word_labels(text_words, doc.spans, index), max_length)
        for i, (doc, text_words) in enumerate(zip(documents, words))
    ]


def pieces(tokenizer, documents: list[Document]) -> list[Words]:
    return split_words(tokenizer, [d.text for d in documents])


def tagging_metrics(gold, predicted, loss: float) -> dict[str, float]:
    scores = entity_scores(gold, predicted)
    metrics = {
        "eval_loss": loss, "eval_f1": scores["f1"], "eval_precision": scores["precision"],
        "eval_recall": scores["recall"], "eval_partial_f1": scores["partial_f1"],
    }
    per_type = sorted(scores["per_type"].items(), key=lambda item: -item[1]["support"])
    if len(per_type) > 1:
        metrics.update({f"eval_f1_{kind}": values["f1"] for kind, values in per_type[:LIVE_TYPES]})
    return metrics

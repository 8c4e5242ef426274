"""The pieces of training and scoring a text classifier that the recipes share (fine-tuning, distillation,
evaluation): reading the examples, tokens, targets, batches, the loss and the scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.config import ClassifyConfig
from engine.data.classification import ClassificationData, load_classification
from engine.data.splits import split_indices
from engine.data.tokenizing import token_ids
from engine.training import Job

EVAL_BATCH = 64


Rows = tuple[list[str], list[list[str]]]  # texts and their labels


def read_examples(job: Job, config: ClassifyConfig) -> tuple[ClassificationData, Rows, Rows]:
    """The data, and its training and held-out rows: the evaluation file's, or a stratified share of the data
    (the distillation recipe reads its data the same way)."""
    data = load_classification(config.data, config.text_column, config.label_column)
    if config.eval_data:
        held_out = load_classification(config.eval_data, data.text_column, data.label_column)
        return data, (data.texts, data.labels), (held_out.texts, held_out.labels)
    strata = [labels[0] if labels else "" for labels in data.labels]
    train_idx, eval_idx = split_indices(len(data.texts), config.eval_fraction, config.seed, strata=strata)
    job.event("plan.split", eval_rows=len(eval_idx), rows=len(data.texts), stratified=", keeping each category's share")
    return (
        data,
        ([data.texts[i] for i in train_idx], [data.labels[i] for i in train_idx]),
        ([data.texts[i] for i in eval_idx], [data.labels[i] for i in eval_idx]),
    )


def keep_held_out(job: Job, data: ClassificationData, texts: list[str], labels: list[list[str]]) -> Path:
    """Save the examples the run checks itself on in its folder, in the training file's own columns, so
    that the scores on them can be recomputed and shown (and nobody has to find a test file)."""
    path = job.run_dir / "held_out.jsonl"
    if not path.exists():  # a resumed run holds back the same rows
        with path.open("w", encoding="utf-8") as out:
            for text, names in zip(texts, labels):
                label = names if data.multi_label else (names[0] if names else "")
                out.write(json.dumps({data.text_column: text, data.label_column: label}, ensure_ascii=False) + "\n")
        job.artifact("held_out", path, rows=len(texts))
    return path


def start_at_label_prior(model, labels: list[list[str]], index: dict[str, int], multi_label: bool) -> None:
    """Set the new head's bias to the log-odds of each category's share of the data, so training begins at
    "predict how common each category is" instead of spending its first epochs learning that rare
    categories are rare (the usual stall of multi-label training)."""
    counts = torch.zeros(len(index))
    for names in labels:
        for name in names:
            counts[index[name]] += 1
    share = ((counts + 0.5) / (len(labels) + 1)).clamp(1e-4, 1 - 1e-4)
    prior = torch.log(share / (1 - share)) if multi_label else torch.log(share / share.sum())
    head = next(m for name, m in model.named_modules() if name.endswith(("classifier", "score")) and hasattr(m, "bias"))
    with torch.no_grad():
        head.bias.copy_(prior)


def tokenize_texts(job: Job, tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    full, lengths = token_ids(tokenizer, texts)
    long = [length for length in lengths if length > max_length]
    if long:
        job.event(
            "data.truncated", count=len(long), rows=len(texts), max_length=max_length,
            tokens=sum(length - max_length for length in long),
        )
    # Keep the final [SEP]-style token when cutting, as the tokenizer's own truncation would.
    return [ids if len(ids) <= max_length else ids[: max_length - 1] + ids[-1:] for ids in full]


def targets_of(labels: list[list[str]], index: dict[str, int], multi_label: bool) -> torch.Tensor:
    if multi_label:
        hot = torch.zeros(len(labels), len(index))
        for row, names in enumerate(labels):
            hot[row, [index[n] for n in names if n in index]] = 1.0
        return hot
    return torch.tensor([index.get(names[0], -100) if names else -100 for names in labels])


def batch_of(tokenizer, ids: list[list[int]], targets: torch.Tensor, rows: list[int], device) -> dict:
    padded = tokenizer.pad({"input_ids": [ids[r] for r in rows]}, return_tensors="pt")
    return {
        "input_ids": padded["input_ids"].to(device, non_blocking=True),
        "attention_mask": padded["attention_mask"].to(device, non_blocking=True),
        "targets": targets[rows].to(device, non_blocking=True),
        "count": len(rows),
    }


def loss_sum(logits: torch.Tensor, targets: torch.Tensor, multi_label: bool) -> torch.Tensor:
    if multi_label:
        # Mean over categories, summed over texts: the scale does not grow with the number of categories.
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1).sum()
    return F.cross_entropy(logits, targets, reduction="sum", ignore_index=-100)


def evaluate(model, tokenizer, ids, targets, multi_label: bool, threshold: float, device) -> dict[str, float]:
    losses, predictions = [], []
    for start in range(0, len(ids), EVAL_BATCH):
        rows = list(range(start, min(start + EVAL_BATCH, len(ids))))
        batch = batch_of(tokenizer, ids, targets, rows, device)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        losses.append(loss_sum(logits, batch["targets"], multi_label))
        predictions.append((logits.sigmoid() > threshold) if multi_label else logits.argmax(dim=-1))
    predicted = torch.cat(predictions).cpu().numpy()
    truth = targets.numpy()
    loss = float(torch.stack(losses).sum()) / len(ids)
    return {"eval_loss": loss, **classification_scores(truth, predicted, multi_label)}


def classification_scores(truth: np.ndarray, predicted: np.ndarray, multi_label: bool) -> dict[str, float]:
    """eval_f1 is micro-F1 for several categories per text (the usual figure for intent sets such as
    NLU++) and macro-F1 for one category per text (every category counts the same, however rare).
    Written out here (a dozen lines) rather than adding scikit-learn to the engine."""
    if multi_label:
        truth, predicted = truth.astype(bool), predicted.astype(bool)
        tp = (truth & predicted).sum(axis=0)
        fp = (~truth & predicted).sum(axis=0)
        fn = (truth & ~predicted).sum(axis=0)
        micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
        exact = (truth == predicted).all(axis=1).mean()
        return {"eval_f1": float(micro), "eval_macro_f1": _macro(tp, fp, fn), "eval_accuracy": float(exact)}
    keep = truth >= 0
    truth, predicted = truth[keep], predicted[keep]
    classes = np.arange(max(truth.max(initial=0), predicted.max(initial=0)) + 1)
    tp = np.array([((truth == c) & (predicted == c)).sum() for c in classes])
    fp = np.array([((truth != c) & (predicted == c)).sum() for c in classes])
    fn = np.array([((truth == c) & (predicted != c)).sum() for c in classes])
    present = (tp + fn) > 0
    macro = _macro(tp[present], fp[present], fn[present])
    return {"eval_f1": macro, "eval_macro_f1": macro, "eval_accuracy": float((truth == predicted).mean())}


def _macro(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
    denominator = 2 * tp + fp + fn
    scores = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return float(scores.mean()) if len(scores) else 0.0

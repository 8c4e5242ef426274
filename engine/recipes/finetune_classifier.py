"""Fine-tune an encoder to sort texts into categories: one per text, or several (multi-label).

Read top to bottom: data -> model -> tokens -> the four functions `fit` needs -> train -> save.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from peft import LoraConfig, TaskType, get_peft_model

from engine import compiling, planner
from engine.config import ClassifyConfig, ConfigError
from engine.data.batching import length_grouped_steps
from engine.data.classification import ClassificationData, load_classification
from engine.data.splits import split_indices
from engine.models.catalog import resolve
from engine.models.loading import load_classifier, load_tokenizer, materialize
from engine.models.surgery import parameter_count
from engine.protocol import Status
from engine.training import Job, Loop, finish, fit, seed_everything, total_steps

EVAL_BATCH = 64


def run(job: Job) -> Status:
    config: ClassifyConfig = job.config  # type: ignore[assignment]
    seed_everything(config.seed)

    # ---- data: the training rows, and rows held out to check the model on
    data, (train_texts, train_labels), (eval_texts, eval_labels) = read_examples(job, config)
    label_names = data.label_names
    index = {label: i for i, label in enumerate(label_names)}

    # ---- model
    if config.method == "qlora":
        raise ConfigError("QLoRA is for large language models; for a text classifier choose LoRA or full training.")
    source = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), job.home)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    if planner.needs_planning(config):  # method, batch layout, length limit...: decided and explained
        sample = planner.sample_rows(train_texts)
        planner.settle(job, source.path, [len(ids) for ids in tokenizer(sample)["input_ids"]], len(train_texts))
    # Encoders are small: keep fp32 master weights and let autocast run the matmuls in bf16 where it can.
    model = load_classifier(
        source, label_names, multi_label=data.multi_label, dtype=torch.float32,
        allow_unsafe=config.allow_unsafe_weights,
    )
    if config.gradient_checkpointing == "on":  # decided by the planner when "auto"
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.method == "lora":
        model = get_peft_model(
            model,
            LoraConfig(
                task_type=TaskType.SEQ_CLS, r=config.lora_rank, lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout, target_modules="all-linear",
            ),
        )
    _start_at_label_prior(model, train_labels, index, data.multi_label)
    model.to(job.device)

    # ---- tokens: tokenised once; each micro-batch is padded only to its own longest text, and the texts of a
    # step have similar lengths (engine/data/batching.py), so there is little padding to compute
    train_ids = _tokenize(job, tokenizer, train_texts, config.max_length)
    eval_ids = _tokenize(job, tokenizer, eval_texts, config.max_length)
    train_targets = _targets(train_labels, index, data.multi_label)
    eval_targets = _targets(eval_labels, index, data.multi_label)

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [_batch(tokenizer, train_ids, train_targets, indices[i : i + size], job.device) for i in range(0, len(indices), size)]

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        return _loss_sum(logits, batch["targets"], data.multi_label)

    def evaluate(model) -> dict[str, float]:
        return _evaluate(model, tokenizer, eval_ids, eval_targets, data.multi_label, config.threshold, job.device)

    lr = config.learning_rate
    if lr is None:
        lr, reason = planner.learning_rate(config.kind, config.method, parameter_count(model))
        job.event("plan.learning_rate", reason=reason)
        config.learning_rate = lr
        job.save_config()
    steps_per_epoch = -(-len(train_ids) // config.batch_size)
    lengths = [len(ids) for ids in train_ids]
    loop = Loop(
        step_batches=lambda epoch: length_grouped_steps(lengths, config.batch_size, config.seed, epoch),
        micro_batches=micro_batches,
        loss_sum=loss_sum,
        evaluate=evaluate,
        metric="eval_f1",
        higher_is_better=True,
        steps_per_epoch=steps_per_epoch,
        fresh_parameters=("classifier", "score"),
    )
    job.event(
        "plan.steps", train_rows=len(train_ids), batch_size=config.batch_size, steps_per_epoch=steps_per_epoch,
        total_steps=total_steps(config, loop),
    )
    if compiling.wanted(config.compile, job.device):
        compiling.compile_for_training(job, model, loop, config.micro_batch_size or config.batch_size)
    state, stopped = fit(job, model, loop, lr)
    return finish(job, model, tokenizer, state, stopped, labels=label_names, multi_label=data.multi_label)


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


def _start_at_label_prior(model, labels: list[list[str]], index: dict[str, int], multi_label: bool) -> None:
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


def _tokenize(job: Job, tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    full = tokenizer(texts, truncation=False)["input_ids"]
    long = [ids for ids in full if len(ids) > max_length]
    if long:
        job.event(
            "data.truncated", count=len(long), rows=len(texts), max_length=max_length,
            tokens=sum(len(ids) - max_length for ids in long),
        )
    # Keep the final [SEP]-style token when cutting, as the tokenizer's own truncation would.
    return [ids if len(ids) <= max_length else ids[: max_length - 1] + ids[-1:] for ids in full]


def _targets(labels: list[list[str]], index: dict[str, int], multi_label: bool) -> torch.Tensor:
    if multi_label:
        hot = torch.zeros(len(labels), len(index))
        for row, names in enumerate(labels):
            hot[row, [index[n] for n in names if n in index]] = 1.0
        return hot
    return torch.tensor([index.get(names[0], -100) if names else -100 for names in labels])


def _batch(tokenizer, ids: list[list[int]], targets: torch.Tensor, rows: list[int], device) -> dict:
    padded = tokenizer.pad({"input_ids": [ids[r] for r in rows]}, return_tensors="pt")
    return {
        "input_ids": padded["input_ids"].to(device, non_blocking=True),
        "attention_mask": padded["attention_mask"].to(device, non_blocking=True),
        "targets": targets[rows].to(device, non_blocking=True),
        "count": len(rows),
    }


def _loss_sum(logits: torch.Tensor, targets: torch.Tensor, multi_label: bool) -> torch.Tensor:
    if multi_label:
        # Mean over categories, summed over texts: the scale does not grow with the number of categories.
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1).sum()
    return F.cross_entropy(logits, targets, reduction="sum", ignore_index=-100)


def _evaluate(model, tokenizer, ids, targets, multi_label: bool, threshold: float, device) -> dict[str, float]:
    losses, predictions = [], []
    for start in range(0, len(ids), EVAL_BATCH):
        rows = list(range(start, min(start + EVAL_BATCH, len(ids))))
        batch = _batch(tokenizer, ids, targets, rows, device)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        losses.append(_loss_sum(logits, batch["targets"], multi_label))
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

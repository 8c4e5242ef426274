"""Fine-tune an encoder to mark names of a kind in texts (entity tagging): a label per word, B- where a name
begins and I- inside it, read back as character spans.

Read top to bottom: documents -> entity types -> model -> pieces and windows -> the four functions `fit`
needs -> train -> save.
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForTokenClassification

from engine import compiling, planner
from engine.config import ConfigError, TagConfig
from engine.data.batching import length_grouped_steps
from engine.data.spans import Document, entity_types, read_tagged, without_overlaps
from engine.data.splits import split_indices
from engine.models.catalog import resolve
from engine.models.loading import load_tokenizer, materialize
from engine.models.surgery import parameter_count
from engine.protocol import Status
from engine.tagging.align import gold_spans, label_names, special_tokens, split_words, windows, word_labels
from engine.tagging.predict import LABELS_FILE, pad, spans_from, window_probabilities
from engine.tagging.scores import entity_scores
from engine.training import Job, Loop, finish, fit, seed_everything, total_steps

#: Types with their own F1 curve during training; more would crowd the charts (all are in the final scores).
LIVE_TYPES = 8


def run(job: Job) -> Status:
    config: TagConfig = job.config  # type: ignore[assignment]
    seed_everything(config.seed)

    # ---- data: documents with marked names, and those held out to check the model on
    train_docs, eval_docs = read_documents(job, config)
    types = sorted(entity_types(train_docs))
    if not types:
        raise ConfigError("The training texts have no marked names, so there is nothing to learn; mark some names first.")
    names = label_names(types)
    index = {name: i for i, name in enumerate(names)}
    job.event("data.entity_types", types=", ".join(f"{kind} ({count})" for kind, count in entity_types(train_docs).items()))
    _report_overlaps(job, train_docs)

    # ---- model
    if config.method == "qlora":
        raise ConfigError("QLoRA is for large language models; for a tagger choose LoRA or full training.")
    source = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), job.home)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    if not tokenizer.is_fast:
        raise ConfigError("This model's tokenizer cannot say where each word is in the text, which tagging needs; choose another model.")
    train_words = split_words(tokenizer, [d.text for d in train_docs])
    eval_words = split_words(tokenizer, [d.text for d in eval_docs])
    if planner.needs_planning(config):  # method, batch layout, window length...: decided and explained
        lengths = [len(w.ids) + sum(map(len, special_tokens(tokenizer))) for w in planner.sample_rows(train_words)]
        planner.settle(job, source.path, lengths, len(train_docs))
    model = AutoModelForTokenClassification.from_pretrained(
        source.path, num_labels=len(names), id2label=dict(enumerate(names)), label2id=index, dtype=torch.float32,
        use_safetensors=None if config.allow_unsafe_weights else True, trust_remote_code=config.allow_unsafe_weights,
    )
    if config.gradient_checkpointing == "on":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.method == "lora":
        model = get_peft_model(
            model,
            LoraConfig(
                task_type=TaskType.TOKEN_CLS, r=config.lora_rank, lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout, target_modules="all-linear",
                # the new head is trained whole (peft's modules_to_save for token classification), not adapted
                exclude_modules=["classifier"],
            ),
        )
    model.to(job.device)

    # ---- pieces: every text in windows the model can read (overlapping where a text is longer)
    train_groups = [
        windows(tokenizer, i, words, word_labels(words, doc.spans, index), config.max_length)
        for i, (doc, words) in enumerate(zip(train_docs, train_words))
    ]
    train_windows = [window for group in train_groups for window in group]
    eval_windows = [windows(tokenizer, i, words, None, config.max_length) for i, words in enumerate(eval_words)]
    long_texts = sum(len(group) > 1 for group in train_groups + eval_windows)
    if long_texts:
        job.event("data.windows", count=long_texts, rows=len(train_docs) + len(eval_docs), max_length=config.max_length)
    eval_gold = [gold_spans(doc) for doc in eval_docs]
    eval_labelled = [
        window
        for i, (doc, words) in enumerate(zip(eval_docs, eval_words))
        for window in windows(tokenizer, i, words, word_labels(words, doc.spans, index), config.max_length)
    ]
    pad_id = tokenizer.pad_token_id or 0

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [pad([train_windows[i] for i in indices[s : s + size]], pad_id, job.device) for s in range(0, len(indices), size)]

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100, reduction="sum")

    def evaluate(model) -> dict[str, float]:
        probabilities, loss, count = window_probabilities(model, eval_labelled, pad_id, job.device)
        predicted, at = [], 0
        for words, group in zip(eval_words, eval_windows):
            predicted.append(spans_from(words, group, probabilities[at : at + len(group)], names))
            at += len(group)
        return tagging_metrics(eval_gold, predicted, loss / max(count, 1))

    lr = config.learning_rate
    if lr is None:
        lr, reason = planner.learning_rate(config.kind, config.method, parameter_count(model))
        job.event("plan.learning_rate", reason=reason)
        config.learning_rate = lr
        job.save_config()
    steps_per_epoch = -(-len(train_windows) // config.batch_size)
    lengths = [len(w.input_ids) for w in train_windows]
    loop = Loop(
        step_batches=lambda epoch: length_grouped_steps(lengths, config.batch_size, config.seed, epoch),
        micro_batches=micro_batches,
        loss_sum=loss_sum,
        evaluate=evaluate,
        metric="eval_f1",
        higher_is_better=True,
        steps_per_epoch=steps_per_epoch,
        fresh_parameters=("classifier",),
    )
    job.event(
        "plan.steps", train_rows=len(train_windows), batch_size=config.batch_size, steps_per_epoch=steps_per_epoch,
        total_steps=total_steps(config, loop),
    )
    if compiling.wanted(config.compile, job.device):
        compiling.compile_for_training(job, model, loop, config.micro_batch_size or config.batch_size)
    state, stopped = fit(job, model, loop, lr)
    outcome = finish(job, model, tokenizer, state, stopped, labels=names, entity_types=types)
    if outcome == Status.COMPLETED and hasattr(model, "peft_config"):
        (job.run_dir / "model" / LABELS_FILE).write_text(json.dumps(names), encoding="utf-8")
    return outcome


def read_documents(job: Job, config: TagConfig) -> tuple[list[Document], list[Document]]:
    """The training documents and those held out: the evaluation file's, or a share of the documents."""
    data = read_tagged(config.data).documents
    data = [d for d in data if d.text.strip()]
    if config.eval_data:
        return data, [d for d in read_tagged(config.eval_data).documents if d.text.strip()]
    train_idx, eval_idx = split_indices(len(data), config.eval_fraction, config.seed)
    job.event("plan.split", eval_rows=len(eval_idx), rows=len(data), stratified="")
    return [data[i] for i in train_idx], [data[i] for i in eval_idx]


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


def _report_overlaps(job: Job, documents: list[Document]) -> None:
    dropped = [(doc, without_overlaps(doc.spans)[1]) for doc in documents]
    dropped = [(doc, spans) for doc, spans in dropped if spans]
    if dropped:
        job.event("data.overlapping_spans", count=sum(len(s) for _, s in dropped), documents=len(dropped))

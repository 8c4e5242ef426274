"""Fine-tune an encoder to mark names of a kind in texts (entity tagging): a label per word, B- where a name
begins and I- inside it, read back as character spans.

Read top to bottom: documents -> entity types -> model -> pieces and windows -> the four functions `fit`
needs -> train -> save.
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F
from transformers import AutoModelForTokenClassification

from engine import compiling, planner
from engine.config import ConfigError
from engine.data.batching import length_grouped_steps
from engine.models.catalog import resolve
from engine.models.loading import load_tokenizer, materialize
from engine.models.surgery import parameter_count
from engine.protocol import Status
from engine.tagging.align import gold_spans, label_names, special_tokens, windows
from engine.tagging.predict import LABELS_FILE, pad, spans_from, window_probabilities
from engine.tagging.steps import keep_held_out, labelled_windows, pieces, read_documents, tagging_metrics, types_to_learn
from engine.training import Job, Loop, finish, fit, seed_everything, total_steps


def run(job: Job) -> Status:
    config = job.config
    seed_everything(config.seed)

    # ---- data: documents with marked names, and those held out to check the model on
    train_docs, eval_docs = read_documents(job, config)
    types = types_to_learn(job, train_docs)
    names = label_names(types)
    index = {name: i for i, name in enumerate(names)}
    held_out = keep_held_out(job, eval_docs)

    # ---- model
    if config.method == "qlora":
        raise ConfigError.said("tagging.no_qlora")
    source = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), job.home)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    if not tokenizer.is_fast:
        raise ConfigError.said("tagging.slow_tokenizer")
    train_words, eval_words = pieces(tokenizer, train_docs), pieces(tokenizer, eval_docs)
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
        from peft import LoraConfig, TaskType, get_peft_model  # here: importing peft takes seconds

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
    train_groups = labelled_windows(tokenizer, train_docs, train_words, index, config.max_length)
    train_windows = [window for group in train_groups for window in group]
    eval_windows = [windows(tokenizer, i, words, None, config.max_length) for i, words in enumerate(eval_words)]
    long_texts = sum(len(group) > 1 for group in train_groups + eval_windows)
    if long_texts:
        job.event("data.windows", count=long_texts, rows=len(train_docs) + len(eval_docs), max_length=config.max_length)
    eval_gold = [gold_spans(doc) for doc in eval_docs]
    eval_labelled = [w for group in labelled_windows(tokenizer, eval_docs, eval_words, index, config.max_length) for w in group]
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
    if outcome == Status.COMPLETED:
        if hasattr(model, "peft_config"):
            (job.run_dir / "model" / LABELS_FILE).write_text(json.dumps(names), encoding="utf-8")
        # imported here: the evaluation recipe reads this run's model
        from engine.recipes.evaluate import score_held_out

        score_held_out(job, model, tokenizer, held_out, labels=names, multi_label=False, split=not config.eval_data)
    return outcome

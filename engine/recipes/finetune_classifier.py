"""Fine-tune an encoder to sort texts into categories: one per text, or several (multi-label).

Read top to bottom: data -> model -> tokens -> the four functions `fit` needs -> train -> save.
"""

from __future__ import annotations

import torch

from engine import classifier_steps as steps
from engine import compiling, planner
from engine.config import ClassifyConfig, ConfigError
from engine.data.batching import length_grouped_steps
from engine.models.catalog import resolve
from engine.models.loading import load_classifier, load_tokenizer, materialize
from engine.models.surgery import parameter_count
from engine.protocol import Status
from engine.training import Job, Loop, finish, fit, seed_everything, total_steps


def run(job: Job) -> Status:
    config: ClassifyConfig = job.config  # type: ignore[assignment]
    seed_everything(config.seed)

    # ---- data: the training rows, and rows held out to check the model on
    data, (train_texts, train_labels), (eval_texts, eval_labels) = steps.read_examples(job, config)
    label_names = data.label_names
    held_out = steps.keep_held_out(job, data, eval_texts, eval_labels)
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
        from peft import LoraConfig, TaskType, get_peft_model  # here: importing peft takes seconds

        model = get_peft_model(
            model,
            LoraConfig(
                task_type=TaskType.SEQ_CLS, r=config.lora_rank, lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout, target_modules="all-linear",
            ),
        )
    steps.start_at_label_prior(model, train_labels, index, data.multi_label)
    model.to(job.device)

    # ---- tokens: tokenised once; each micro-batch is padded only to its own longest text, and the texts of a
    # step have similar lengths (engine/data/batching.py), so there is little padding to compute
    train_ids = steps.tokenize_texts(job, tokenizer, train_texts, config.max_length)
    eval_ids = steps.tokenize_texts(job, tokenizer, eval_texts, config.max_length)
    train_targets = steps.targets_of(train_labels, index, data.multi_label)
    eval_targets = steps.targets_of(eval_labels, index, data.multi_label)

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [steps.batch_of(tokenizer, train_ids, train_targets, indices[i : i + size], job.device) for i in range(0, len(indices), size)]

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        return steps.loss_sum(logits, batch["targets"], data.multi_label)

    def evaluate(model) -> dict[str, float]:
        return steps.evaluate(model, tokenizer, eval_ids, eval_targets, data.multi_label, config.threshold, job.device)

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
    status = finish(job, model, tokenizer, state, stopped, labels=label_names, multi_label=data.multi_label)
    if status == Status.COMPLETED:
        # imported here: the evaluation recipe reads the shared classifier steps and this run's model
        from engine.recipes.evaluate import score_held_out

        score_held_out(job, model, tokenizer, held_out, labels=label_names, multi_label=data.multi_label,
                       split=not config.eval_data)
    return status

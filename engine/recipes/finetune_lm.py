"""Instruction / chat tuning of a causal language model, full or LoRA (QLoRA on CUDA with bitsandbytes).

The conversations are rendered with the model's own chat template and the loss is taken on the assistant's
tokens only. Read top to bottom: data -> model -> tokens -> the four functions `fit` needs -> train -> save.

Speed: the examples of a micro-batch are packed into one row without padding (engine/data/packing.py), with
attention kept inside each example (engine/models/attention.py); the loss applies the output head only to the
learned tokens, in chunks (engine/lm_loss.py); on a GPU the decoder layers are compiled (engine/compiling.py).
"""

from __future__ import annotations

import math

import torch
from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

from engine import compiling, planner
from engine.chat_steps import EVAL_BATCH, keep_held_out, read_conversations, tokenize_all
from engine.config import ChatConfig, ConfigError
from engine.data.errors import DataError
from engine.data.packing import pack, padding_fraction
from engine.lm_loss import loss_kernel, packed_loss_sum
from engine.models.attention import use_packed_attention
from engine.models.catalog import resolve
from engine.models.loading import load_causal_lm, load_tokenizer, materialize
from engine.protocol import Status
from engine.training import Job, Loop, finish, fit, seed_everything, shuffled_steps, total_steps


def run(job: Job) -> Status:
    config: ChatConfig = job.config  # type: ignore[assignment]
    seed_everything(config.seed)

    # ---- data: conversations in any of the usual formats, placeholders filled in
    train_convs, eval_convs = read_conversations(job, config)
    keep_held_out(job, eval_convs)

    # ---- model
    source = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), job.home)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    if planner.needs_planning(config):  # method, batch layout, length limit...: decided and explained
        planner.settle(job, source.path, planner.chat_token_lengths(tokenizer, train_convs), len(train_convs))
    model = _load_model(job, source)
    use_packed_attention(model, job.device)
    kernel = loss_kernel(job.device)

    # ---- tokens: each conversation once; the examples of a micro-batch are packed into one row, no padding
    train = tokenize_all(job, tokenizer, train_convs, config.max_length)
    held = tokenize_all(job, tokenizer, eval_convs, config.max_length)
    if not train or not held:
        raise DataError("split.too_few", rows=len(train) + len(held))

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [pack([train[i] for i in indices[s : s + size]], job.device) for s in range(0, len(indices), size)]

    def loss_sum(model, batch) -> torch.Tensor:
        return packed_loss_sum(model, batch, kernel)

    def evaluate(model) -> dict[str, float]:
        total, count = torch.zeros((), device=job.device), 0
        for start in range(0, len(held), EVAL_BATCH):
            batch = pack(held[start : start + EVAL_BATCH], job.device)
            total += packed_loss_sum(model, batch, kernel).detach()
            count += batch["count"]
        loss = float(total) / max(count, 1)
        return {"eval_loss": loss, "eval_perplexity": math.exp(min(loss, 50.0))}

    lr = config.learning_rate
    if lr is None:
        lr, reason = planner.learning_rate(config.kind, config.method)
        job.event("plan.learning_rate", reason=reason)
        config.learning_rate = lr
        job.save_config()
    steps_per_epoch = -(-len(train) // config.batch_size)
    loop = Loop(
        step_batches=lambda epoch: shuffled_steps(len(train), config.batch_size, config.seed, epoch),
        micro_batches=micro_batches,
        loss_sum=loss_sum,
        evaluate=evaluate,
        metric="eval_loss",
        higher_is_better=False,
        steps_per_epoch=steps_per_epoch,
        tokens_key="tokens",
    )
    job.event(
        "plan.steps", train_rows=len(train), batch_size=config.batch_size, steps_per_epoch=steps_per_epoch,
        total_steps=total_steps(config, loop),
    )
    micro_size = config.micro_batch_size or config.batch_size  # as `fit` starts
    order = [len(train[i].input_ids) for step in loop.step_batches(0) for i in step]
    job.event("plan.packing", padding=f"{padding_fraction(order, micro_size):.0%}")
    if compiling.wanted(config.compile, job.device):
        compiling.compile_for_training(job, model, loop, micro_size)
    state, stopped = fit(job, model, loop, lr)
    return finish(job, model, tokenizer, state, stopped, system_prompt=config.system_prompt)


def _load_model(job: Job, source):
    config: ChatConfig = job.config  # type: ignore[assignment]
    if config.method == "qlora":
        if job.device.type != "cuda":
            raise ConfigError("QLoRA needs an NVIDIA GPU; on this computer choose LoRA or full training.")
        try:
            from transformers import BitsAndBytesConfig
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ConfigError("QLoRA needs the bitsandbytes package, which is not installed; choose LoRA.") from None
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(
            source.path, dtype=job.dtype,
            quantization_config=BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=job.dtype,
                bnb_4bit_use_double_quant=True,
            ),
        )
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        # LoRA freezes the base, so it can sit in bf16; full training keeps fp32 master weights under autocast.
        dtype = job.dtype if config.method == "lora" else torch.float32
        model = load_causal_lm(source, dtype=dtype, allow_unsafe=config.allow_unsafe_weights)
    if config.gradient_checkpointing == "on":  # decided by the planner when "auto"
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.method in ("lora", "qlora"):
        model = get_peft_model(
            model,
            LoraConfig(
                task_type=TaskType.CAUSAL_LM, r=config.lora_rank, lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout, target_modules="all-linear",
            ),
        )
    return model.to(job.device) if config.method != "qlora" else model

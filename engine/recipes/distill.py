"""Distillation: a teacher teaches a smaller, faster student on the user's data; a report says what was kept.

Both task families. For a text classifier the student copies the teacher's category probabilities; for a
chat model, the teacher's next-word probabilities on the assistant's tokens. Per example the loss is

    alpha * T^2 * divergence(teacher at temperature T, student at T) + (1 - alpha) * the usual loss,

where T^2 keeps the soft part's gradients the size of the hard part's whatever the temperature (Hinton et
al. 2015). A classifier may also learn from altered copies of its training texts (`augment_copies`),
which have no correct answer, only the teacher's: for them the loss is the divergence alone. The data,
tokens, losses and evaluation are the fine-tuning recipes' own (imported), and `fit` trains, so a
distillation run pauses, resumes and reports progress like any other.

Read top to bottom: run -> the teacher -> the student -> the classifier lesson -> the chat lesson -> the
divergences -> the plain comparison -> the report.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from engine import jobs, planner, store
from engine.config import ConfigError, DistillConfig, from_dict
from engine.data.chat import IGNORE, TokenizedExample
from engine.data.errors import DataError
from engine.models.catalog import resolve
from engine.models.loading import load_causal_lm, load_classifier, load_teacher, load_tokenizer, materialize
from engine.chat_steps import EVAL_BATCH as CHAT_EVAL_BATCH
from engine.chat_steps import read_conversations, tokenize_all
from engine.classifier_steps import batch_of as classifier_batch
from engine.classifier_steps import evaluate as evaluate_classifier
from engine.classifier_steps import loss_sum as classifier_loss_sum
from engine.classifier_steps import read_examples, start_at_label_prior, targets_of, tokenize_texts
from engine.models.students import Cut, Teacher, find_teacher, task_of
from engine.models.surgery import cut_layers, keep_layers, layer_count, matmul_work, parameter_count
from engine.protocol import Status, metric_words
from engine.tasks import task as task_named
from engine.training import Job, Loop, finish, fit, load_trainable_state, seed_everything, shuffled_steps, total_steps


@dataclass
class Lesson:
    """What either task family prepares: the two models, the loop `fit` runs, and how to measure both."""

    task: str
    teacher: torch.nn.Module
    teacher_folder: Path  # for the disk size of the teacher
    student: torch.nn.Module
    tokenizer: object  # saved with the student
    loop: Loop
    evaluate_teacher: Callable[[], dict[str, float]]
    # "teacher" or "student", examples per batch -> input batches over the held-out examples (for speed)
    speed_batches: Callable[[str, int], list[dict]]
    train_rows: int
    finish_metadata: dict = field(default_factory=dict)
    #: the student's layers (or blocks, `student_unit`): a student trained without the teacher, to compare,
    #: is cut the same
    student_layers: int = 0
    student_unit: str = "layers"


def run(job: Job) -> Status:
    config: DistillConfig = job.config  # type: ignore[assignment]
    seed_everything(config.seed)
    teacher = find_teacher(config.teacher, job.home, allow_unsafe=config.allow_unsafe_weights)
    if config.task != teacher.task:  # what the student will do, for the pages that list models by task
        config.task = teacher.task
        job.save_config()
    if config.temperature is None:
        config.temperature = task_named(teacher.task).distil_temperature  # when the user sets none
        job.event(f"plan.temperature_{teacher.task}", temperature=config.temperature)
        job.save_config()
    lesson = task_named(teacher.task).distil(job, teacher)

    best = job.run_dir / "best" / "trainable.safetensors"
    if any(a["kind"] == "model" for a in store.artifacts(job.db, job.run_id)) and best.exists():
        load_trainable_state(lesson.student, best)  # resumed after the student was done: only what follows
    else:
        lr = config.learning_rate
        if lr is None:
            lr, reason = planner.learning_rate(teacher.task, "full", parameter_count(lesson.student))
            job.event("plan.learning_rate", reason=reason)
            config.learning_rate = lr
            job.save_config()
        job.event(
            "plan.steps", train_rows=lesson.train_rows, batch_size=config.batch_size,
            steps_per_epoch=lesson.loop.steps_per_epoch, total_steps=total_steps(config, lesson.loop),
        )
        state, stopped = fit(job, lesson.student, lesson.loop, lr)
        outcome = finish(job, lesson.student, lesson.tokenizer, state, stopped, **lesson.finish_metadata)
        if outcome != Status.COMPLETED or config.alpha == 0:
            return outcome  # alpha 0 is the plain comparison itself: no report of its own

    plain = None
    if config.compare_with_plain:
        plain, outcome = train_plain(job, teacher, lesson.student_layers or layer_count(lesson.student), lesson.student_unit)
        if outcome != Status.COMPLETED:
            return outcome
    write_report(job, lesson, plain)
    return Status.COMPLETED


# ---------------------------------------------------------------- the teacher


def teacher_on_device(job: Job, teacher: torch.nn.Module) -> torch.nn.Module:
    """After the student is copied: the teacher only predicts, so bf16 on a GPU halves its memory and time."""
    return teacher.to(job.device, dtype=job.dtype if job.device.type == "cuda" else torch.float32)


# ---------------------------------------------------------------- the student


def make_student(job: Job, teacher_model, teacher: Teacher, load_catalog_student: Callable):
    """A transformers teacher's student, whether its output layer is new, and its own tokenizer (None: the
    teacher's): the teacher's own layers (a subset), or a smaller compatible model that the caller loads and
    checks."""
    config: DistillConfig = job.config  # type: ignore[assignment]
    if config.student:
        source = materialize(resolve(config.student, allow_unsafe=config.allow_unsafe_weights), job.home)
        # A classifier's student may be a bare encoder (it is given the teacher's categories); a chat
        # model's student must already be a language model.
        accepted = (teacher.task, None) if task_named(teacher.task).bare_model_learns else (teacher.task,)
        if task_of(source) not in accepted:
            raise ConfigError(
                f"The student {source.title} does a different kind of task from the teacher, so it cannot learn "
                "from it; choose a student of the same kind, or make the student from the teacher's layers."
            )
        student, title, fresh, tokenizer = load_catalog_student(source)
        title = f"based on {title}"
        if config.student_layers:
            student, kept = keep_layers(student, config.student_layers)
            title = f"made of layers {', '.join(str(i + 1) for i in kept)} of {source.title}"
        cut = Cut(student, layer_count(student), layer_count(teacher_model), "layers", title, matmul_work(teacher_model) / matmul_work(student))
    else:
        cut, fresh, tokenizer = cut_layers(teacher_model, config.student_layers or None), False, None
    announce_student(job, teacher, teacher_model, cut)
    return cut.student.to(job.device), fresh, tokenizer


def announce_student(job: Job, teacher: Teacher, teacher_model: torch.nn.Module, cut: Cut) -> None:
    """The run's first sentence: who teaches whom, their sizes and the speed-up expected; then what was cut
    and why, where the way of cutting has more to say."""
    job.event(
        "distill.plan", teacher=teacher.source.title, teacher_parameters=_count(parameter_count(teacher_model)),
        teacher_layers=cut.teacher_parts, student=cut.title,
        student_parameters=_count(parameter_count(cut.student)), student_layers=cut.kept, unit=cut.unit, speedup=cut.speedup,
    )
    code, fields = cut.said
    if code:
        job.event(code, **fields)


# ---------------------------------------------------------------- classifiers


def classifier_lesson(job: Job, teacher: Teacher) -> Lesson:
    config: DistillConfig = job.config  # type: ignore[assignment]

    # ---- data: as the classifier recipe reads and splits it
    data, (train_texts, train_labels), (eval_texts, eval_labels) = read_examples(job, config)

    # ---- teacher: its categories are the student's
    teacher_model, source = load_teacher(teacher, job.home, allow_unsafe=config.allow_unsafe_weights)
    teacher_tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    labels = [teacher_model.config.id2label[i] for i in range(teacher_model.config.num_labels)]
    multi_label = teacher_model.config.problem_type == "multi_label_classification"
    unknown = sorted({name for row in train_labels + eval_labels for name in row} - set(labels))
    if unknown:
        raise ConfigError(
            f"The teacher was not trained on the categories {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} "
            "that your data has, so it cannot teach them; use data with the teacher's categories."
        )
    if multi_label != data.multi_label:
        raise ConfigError(
            "The teacher gives " + ("several categories" if multi_label else "one category") + " per text, but your "
            "data has " + ("several" if data.multi_label else "one") + "; use data of the same kind as the teacher's."
        )
    index = {name: i for i, name in enumerate(labels)}

    def catalog_student(student_source):
        student_config = json.loads((student_source.path / "config.json").read_text())
        theirs = student_config.get("id2label") or {}
        if task_of(student_source) is not None and sorted(theirs.values()) != sorted(labels):
            raise ConfigError(
                f"The student {student_source.title} already sorts texts into other categories than the teacher's; "
                "choose a plain encoder (or one trained on the same categories) as the student."
            )
        model = load_classifier(student_source, labels, multi_label=multi_label, dtype=torch.float32, allow_unsafe=config.allow_unsafe_weights)
        start_at_label_prior(model, train_labels, index, multi_label)
        return model, student_source.title, True, load_tokenizer(student_source, allow_unsafe=config.allow_unsafe_weights)

    student, fresh, tokenizer = make_student(job, teacher_model, teacher, catalog_student)
    tokenizer = tokenizer or teacher_tokenizer
    teacher_model = teacher_on_device(job, teacher_model)

    # ---- tokens, for the student and (when its tokenizer differs) for the teacher
    train_ids, eval_ids = tokenize_texts(job, tokenizer, train_texts, config.max_length), tokenize_texts(job, tokenizer, eval_texts, config.max_length)
    teacher_train_ids, teacher_eval_ids = (train_ids, eval_ids) if tokenizer is teacher_tokenizer else (
        teacher_tokenizer(train_texts, truncation=True, max_length=config.max_length)["input_ids"],
        teacher_tokenizer(eval_texts, truncation=True, max_length=config.max_length)["input_ids"],
    )
    train_targets, eval_targets = targets_of(train_labels, index, multi_label), targets_of(eval_labels, index, multi_label)
    labelled_rows = len(train_ids)

    # ---- altered copies of the training texts, which only the teacher labels (TinyBERT's augmentation)
    if config.alpha > 0 and config.augment_copies:
        copies = altered_copies(train_texts, config.augment_copies, config.seed)
        train_ids = train_ids + tokenize_texts(job, tokenizer, copies, config.max_length)
        teacher_train_ids = train_ids if tokenizer is teacher_tokenizer else (
            teacher_train_ids + teacher_tokenizer(copies, truncation=True, max_length=config.max_length)["input_ids"]
        )
        train_targets = torch.cat([train_targets, torch.zeros((len(copies), *train_targets.shape[1:]), dtype=train_targets.dtype)])
        job.event("distill.augmented", copies=len(copies), rows=labelled_rows)
    # A classifier's answer is a few numbers per text: worked out once for all epochs and kept on disk.
    soft_targets = cached_class_logits(job, teacher_model, teacher_tokenizer, teacher_train_ids, train_targets) if config.alpha > 0 else None

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        batches = []
        for start in range(0, len(indices), size):
            rows = indices[start : start + size]
            batch = classifier_batch(tokenizer, train_ids, train_targets, rows, job.device)
            batch["labelled"] = torch.tensor([r < labelled_rows for r in rows], device=job.device)
            if soft_targets is not None:
                batch["teacher_logits"] = soft_targets[rows].to(job.device, non_blocking=True)
            batches.append(batch)
        return batches

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        if soft_targets is None:
            return classifier_loss_sum(logits, batch["targets"], multi_label)
        labelled = batch["labelled"]
        # The correct answers count where there are any (the user's rows); an altered copy is learned from
        # the teacher alone, with the full weight of a lesson.
        hard = classifier_loss_sum(logits[labelled], batch["targets"][labelled], multi_label) if labelled.any() else logits.sum() * 0
        soft = class_divergence_sum(logits, batch["teacher_logits"], config.temperature, multi_label, weights=torch.where(labelled, config.alpha, 1.0))
        return config.temperature**2 * soft + (1 - config.alpha) * hard

    def evaluate(model) -> dict[str, float]:
        return evaluate_classifier(model, tokenizer, eval_ids, eval_targets, multi_label, config.threshold, job.device)

    def evaluate_teacher() -> dict[str, float]:
        return evaluate_classifier(teacher_model, teacher_tokenizer, teacher_eval_ids, eval_targets, multi_label, config.threshold, job.device)

    def speed_batches(which: str, size: int) -> list[dict]:
        ids, tok = (teacher_eval_ids, teacher_tokenizer) if which == "teacher" else (eval_ids, tokenizer)
        return [
            {k: v for k, v in classifier_batch(tok, ids, eval_targets, list(range(s, min(s + size, len(ids)))), job.device).items() if k in ("input_ids", "attention_mask")}
            for s in range(0, len(ids), size)
        ]

    # An epoch is as many steps as the user's own rows fill, so a run with altered copies takes the same steps
    # as the plain comparison; its batches are drawn from the user's rows and the copies together.
    steps_per_epoch = -(-labelled_rows // config.batch_size)
    loop = Loop(
        step_batches=lambda epoch: shuffled_steps(len(train_ids), config.batch_size, config.seed, epoch)[:steps_per_epoch],
        micro_batches=micro_batches, loss_sum=loss_sum, evaluate=evaluate, metric="eval_f1", higher_is_better=True,
        steps_per_epoch=steps_per_epoch,
        fresh_parameters=("classifier", "score") if fresh else (),
    )
    return Lesson(
        teacher.task, teacher_model, source.path, student, tokenizer, loop, evaluate_teacher, speed_batches,
        labelled_rows, {"labels": labels, "multi_label": multi_label},
    )


def cached_class_logits(job: Job, teacher, tokenizer, ids: list[list[int]], targets: torch.Tensor) -> torch.Tensor:
    """The teacher's logits for every training text, computed once per run (a resumed run reads them back)."""
    path = job.run_dir / "teacher_logits.safetensors"
    if path.exists():
        return load_file(str(path))["logits"]
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(ids), 64):
            batch = classifier_batch(tokenizer, ids, targets, list(range(start, min(start + 64, len(ids)))), job.device)
            outputs.append(teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float().cpu())
    logits = torch.cat(outputs)
    save_file({"logits": logits}, str(path))
    job.event("distill.teacher_cached", rows=len(ids))
    return logits


# ---------------------------------------------------------------- chat models


def chat_lesson(job: Job, teacher: Teacher) -> Lesson:
    config: DistillConfig = job.config  # type: ignore[assignment]

    # ---- data: as the chat recipe reads and splits it
    train_convs, eval_convs = read_conversations(job, config)

    # ---- teacher and student: the student reads and writes with the teacher's tokenizer and template
    teacher_model, source = load_teacher(teacher, job.home, allow_unsafe=config.allow_unsafe_weights)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)

    def catalog_student(student_source):
        theirs = load_tokenizer(student_source, allow_unsafe=config.allow_unsafe_weights)
        if theirs.get_vocab() != tokenizer.get_vocab():
            raise ConfigError(
                f"The student {student_source.title} splits text into different word pieces from the teacher, so it "
                "cannot learn the teacher's next-word probabilities; choose a smaller model of the same family, or "
                "make the student from the teacher's layers."
            )
        model = load_causal_lm(student_source, dtype=torch.float32, allow_unsafe=config.allow_unsafe_weights)
        return model, student_source.title, False, None

    student, _, _ = make_student(job, teacher_model, teacher, catalog_student)
    teacher_model = teacher_on_device(job, teacher_model)
    vocab = len(tokenizer)  # models may pad their output layer beyond the vocabulary; compare real words only

    # ---- tokens
    train = tokenize_all(job, tokenizer, train_convs, config.max_length)
    held = tokenize_all(job, tokenizer, eval_convs, config.max_length)
    if not train or not held:
        raise DataError("split.too_few", rows=len(train) + len(held))
    pad_id = tokenizer.pad_token_id

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [
            chat_batch([train[i] for i in indices[s : s + size]], pad_id, job.device) | {"rows": indices[s : s + size]}
            for s in range(0, len(indices), size)
        ]

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        hard = _token_loss_sum(logits, batch["labels"])
        if config.alpha == 0:
            return hard
        learned = batch["labels"][:, 1:] != IGNORE  # the assistant's tokens only, as the hard loss
        student_t = logits[:, :-1][learned][:, :vocab].float() / config.temperature
        if cached is not None:  # (decided below, once the loop knows how many epochs there are)
            soft = cached.divergence_sum(student_t, batch["rows"], config.divergence)
        else:
            with torch.no_grad():  # teacher outputs on the fly; `fit` already runs under autocast
                teacher_logits = teacher_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            teacher_t = teacher_logits[:, :-1][learned][:, :vocab].float() / config.temperature
            soft = token_divergence_sum(student_t, teacher_t, config.divergence)
        return config.alpha * config.temperature**2 * soft + (1 - config.alpha) * hard

    def evaluate(model) -> dict[str, float]:
        total, count = 0.0, 0
        for start in range(0, len(held), CHAT_EVAL_BATCH):
            batch = chat_batch(held[start : start + CHAT_EVAL_BATCH], pad_id, job.device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            total += float(_token_loss_sum(logits, batch["labels"]))
            count += batch["count"]
        loss = total / max(count, 1)
        return {"eval_loss": loss, "eval_perplexity": float(torch.tensor(min(loss, 50.0)).exp())}

    def speed_batches(which: str, size: int) -> list[dict]:
        return [
            {k: v for k, v in chat_batch(held[s : s + size], pad_id, job.device).items() if k in ("input_ids", "attention_mask")}
            for s in range(0, len(held), size)
        ]

    loop = Loop(
        step_batches=lambda epoch: shuffled_steps(len(train), config.batch_size, config.seed, epoch),
        micro_batches=micro_batches, loss_sum=loss_sum, evaluate=evaluate, metric="eval_loss", higher_is_better=False,
        steps_per_epoch=-(-len(train) // config.batch_size), tokens_key="tokens",
    )
    several_epochs = total_steps(config, loop) > 1.5 * loop.steps_per_epoch
    cached = cached_top_words(job, teacher_model, train, pad_id, vocab) if config.alpha > 0 and several_epochs else None
    return Lesson(
        teacher.task, teacher_model, source.path, student, tokenizer, loop, lambda: evaluate(teacher_model), speed_batches,
        len(train), {"system_prompt": config.system_prompt},
    )


#: The teacher's likeliest next words kept per learned token when its answers are cached: with the rest of
#: its probability as one more "any other word" bin, the divergence over these 65 bins is what the student
#: learns (Arcee's DistillKit and MiniLLM's offline mode keep a top-k in the same way).
TOP_WORDS = 64
#: Above this the cache would crowd the disk; the teacher then answers on the fly, step by step.
TOP_WORDS_MAX_BYTES = 2 * 2**30
#: The share of the teacher's probability its top words must hold, over all the training tokens, for the
#: cache to stand for it. Measured on the SmolLM2 demo at T=1 (bench/distill.md): 94% held, and the cached
#: run ended at eval loss 3.270 against 3.267 on the fly, 38% sooner. At a high temperature over a large
#: vocabulary they hold far less (SmolLM2 at T=2: 46%) and one bin for the rest would lose most of what the
#: student should copy; the teacher then answers on the fly. A first batch far below the bar stops the pass.
TOP_WORDS_MIN_SHARE, TOP_WORDS_HOPELESS = 0.9, 0.75


@dataclass
class TopWords:
    """The teacher's top words for every learned token of the training conversations, at the run's
    temperature: log-probabilities (fp16) and word ids, the tokens of conversation i at offsets[i]:offsets[i+1]."""

    log_probs: torch.Tensor  # [tokens, TOP_WORDS]
    ids: torch.Tensor  # [tokens, TOP_WORDS], int32
    rest: torch.Tensor  # [tokens, 1]: the log-probability of all the other words (fp32: it can be tiny)
    offsets: torch.Tensor  # [conversations + 1]

    def divergence_sum(self, student_t: torch.Tensor, rows: list[int], divergence: str) -> torch.Tensor:
        """The divergence of `student_t` (its learned tokens' logits at the temperature, in batch order) from
        the teacher's cached answers, over the top words and one bin for all the others."""
        take = torch.cat([torch.arange(int(self.offsets[r]), int(self.offsets[r + 1])) for r in rows])
        teacher_top = self.log_probs[take].to(student_t.device, torch.float32)
        ids = self.ids[take].to(student_t.device).long()
        log_s = F.log_softmax(student_t, -1)
        student_top = log_s.gather(-1, ids)
        # The "any other word" bins; floored so that an empty one (the top words hold it all) adds ~0, not inf.
        student_rest = torch.logsumexp(log_s.scatter(-1, ids, float("-inf")), -1, keepdim=True).clamp(min=-80.0)
        teacher_rest = self.rest[take].to(student_t.device).clamp(min=-80.0)
        return divergence_sum(torch.cat([student_top, student_rest], -1), torch.cat([teacher_top, teacher_rest], -1), divergence)


def cached_top_words(job: Job, teacher, train: list[TokenizedExample], pad_id: int, vocab: int) -> TopWords | None:
    """The teacher's top words for every learned token, computed once per run (a resumed run reads them
    back) when the student sees its data more than once: one teacher pass instead of one per epoch. None
    (answers on the fly) when the cache would be too large for the disk, or the top words hold too little of
    the teacher's probability to stand for it."""
    config: DistillConfig = job.config  # type: ignore[assignment]
    counts = [sum(1 for label in e.labels[1:] if label != IGNORE) for e in train]
    words = min(TOP_WORDS, vocab)
    size = sum(counts) * (words * (2 + 4) + 4)  # on disk and in memory
    if size > TOP_WORDS_MAX_BYTES:
        job.event("distill.teacher_live", size=f"{size / 2**30:.1f} GB")
        return None
    path = job.run_dir / "teacher_top_words.safetensors"
    if path.exists():
        saved = load_file(str(path))
        return TopWords(saved["log_probs"], saved["ids"], saved["rest"], saved["offsets"])
    log_probs, ids, rests = [], [], []
    with torch.inference_mode():
        for start in range(0, len(train), CHAT_EVAL_BATCH):
            batch = chat_batch(train[start : start + CHAT_EVAL_BATCH], pad_id, job.device)
            logits = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            learned = batch["labels"][:, 1:] != IGNORE
            every = F.log_softmax(logits[:, :-1][learned][:, :vocab].float() / config.temperature, -1)
            top = every.topk(words, -1)
            if start == 0 and (share := float(top.values.exp().sum(-1).mean())) < TOP_WORDS_HOPELESS:
                job.event("distill.teacher_spread", words=words, share=share, temperature=config.temperature)
                return None  # clear from the first conversations: the whole pass is not spent
            log_probs.append(top.values.half().cpu())
            ids.append(top.indices.int().cpu())
            rests.append(torch.logsumexp(every.scatter(-1, top.indices, float("-inf")), -1, keepdim=True).cpu())
    offsets = torch.tensor([0, *counts]).cumsum(0)
    cache = TopWords(torch.cat(log_probs), torch.cat(ids), torch.cat(rests), offsets)
    kept = 1 - float(cache.rest.exp().mean())
    if kept < TOP_WORDS_MIN_SHARE:
        job.event("distill.teacher_spread", words=words, share=kept, temperature=config.temperature)
        return None
    save_file({"log_probs": cache.log_probs, "ids": cache.ids, "rest": cache.rest, "offsets": offsets}, str(path))
    job.event("distill.teacher_top_words", tokens=sum(counts), words=words, kept=kept, size=f"{path.stat().st_size / 2**20:.1f} MB")
    return cache


def chat_batch(examples: list[TokenizedExample], pad_id: int, device) -> dict:
    """Conversations padded side by side (not packed into one row as the chat recipe does): teacher and
    student then see the same positions, and the teacher needs no packed-attention set-up of its own."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return {
        "input_ids": ids.to(device, non_blocking=True),
        "attention_mask": mask.to(device, non_blocking=True),
        "labels": labels.to(device, non_blocking=True),
        "count": int((labels[:, 1:] != IGNORE).sum()),  # the loss is averaged over the step's learned tokens
        "tokens": int(mask.sum()),
    }


def _token_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each next token the model learns (the assistant's), summed."""
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=IGNORE, reduction="sum")


# ---------------------------------------------------------------- the divergences (summed over examples)


def class_divergence_sum(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, multi_label: bool, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """KL(teacher || student) at the temperature, summed over texts (each times its weight, if given).
    Several categories per text: each category is its own yes/no question, so a binary KL per category,
    averaged over categories as the hard loss is."""
    student_t, teacher_t = student_logits.float() / temperature, teacher_logits.float() / temperature
    if multi_label:
        p = torch.sigmoid(teacher_t)
        # KL(p || q) = cross-entropy(p, q) - entropy(p), both as stable logit forms.
        cross = F.binary_cross_entropy_with_logits(student_t, p, reduction="none")
        entropy = F.binary_cross_entropy_with_logits(teacher_t, p, reduction="none")
        per_text = (cross - entropy).mean(dim=1)
    else:
        per_text = F.kl_div(F.log_softmax(student_t, -1), F.log_softmax(teacher_t, -1), log_target=True, reduction="none").sum(dim=1)
    return (per_text if weights is None else per_text * weights).sum()


def altered_copies(texts: list[str], copies: int, seed: int) -> list[str]:
    """`copies` altered versions of every text, for the teacher to label: some words dropped, some
    replaced by words of other texts, or the start of the text joined to the end of another. Cheap
    stand-ins for TinyBERT's augmentation (which asks a masked language model for replacement words): they
    show the student many texts near the user's own, with the teacher's answer for each. Seeded, so a
    resumed run makes the same copies."""
    rng = random.Random(seed)
    vocabulary = [word for text in texts for word in text.split()]
    altered = []
    for _ in range(copies):
        for i, text in enumerate(texts):
            words = text.split() or [text]
            # About one word in five changes, and always at least one.
            changed = {j for j in range(len(words)) if rng.random() < 0.2} or {rng.randrange(len(words))}
            kind = rng.randrange(3) if len(words) > 1 else 1
            if kind == 0:
                new = [w for j, w in enumerate(words) if j not in changed] or words[:1]
            elif kind == 1:
                new = [rng.choice(vocabulary) if j in changed else w for j, w in enumerate(words)]
            else:
                other = texts[(i + rng.randrange(1, len(texts))) % len(texts)].split() if len(texts) > 1 else words
                new = words[: max(1, len(words) // 2)] + other[len(other) // 2 :]
            altered.append(" ".join(new))
    return altered


def token_divergence_sum(student_t: torch.Tensor, teacher_t: torch.Tensor, divergence: str) -> torch.Tensor:
    """Per learned token (rows), how far the student's next-word distribution is from the teacher's,
    summed. Forward KL(teacher || student) makes the student spread over all the teacher considers;
    reverse KL(student || teacher) makes it pick the teacher's likeliest words; JSD averages both against
    their mixture (bounded, and gentle when the two are far apart)."""
    return divergence_sum(F.log_softmax(student_t, -1), F.log_softmax(teacher_t, -1), divergence)


def divergence_sum(log_s: torch.Tensor, log_t: torch.Tensor, divergence: str) -> torch.Tensor:
    """`token_divergence_sum` on log-probabilities (over the vocabulary, or over the cached top words)."""
    if divergence == "forward_kl":
        return F.kl_div(log_s, log_t, log_target=True, reduction="sum")
    if divergence == "reverse_kl":
        return F.kl_div(log_t, log_s, log_target=True, reduction="sum")
    log_mixture = torch.logsumexp(torch.stack([log_s, log_t]), dim=0) - torch.log(torch.tensor(2.0, device=log_s.device))
    return 0.5 * (F.kl_div(log_mixture, log_t, log_target=True, reduction="sum") + F.kl_div(log_mixture, log_s, log_target=True, reduction="sum"))


# ---------------------------------------------------------------- the plain comparison


def train_plain(job: Job, teacher: Teacher, layers: int, unit: str = "layers") -> tuple[dict[str, float], Status]:
    """The same student, data, steps and settings without the teacher (alpha 0), as a run of its own under
    this one, so its curves can be shown beside the distilled student's. Its best evaluation is returned.

    Without the teacher means without its weights too: a student made of the teacher's layers is, here, made
    of the same layers of the model the teacher started from (all-MiniLM-L6-v2 before your fine-tuning), since
    a copy of the fine-tuned layers has already learned from the teacher. A catalog teacher, or a catalog
    student, has no such earlier state, so the same student is trained as it is."""
    config: DistillConfig = job.config  # type: ignore[assignment]
    existing = list(job.db["runs"].rows_where("parent_id = ?", [job.run_id], order_by="id", limit=1))
    untaught = {"student": teacher.starting, "student_layers": layers} if teacher.starting and not config.student else {}
    plain_config = from_dict({
        **config.to_dict(), **untaught, "alpha": 0.0, "compare_with_plain": False,
        "name": f"{store.get_run(job.db, job.run_id)['name']} (without the teacher)",
    })
    if existing:
        child_id = existing[0]["id"]
    else:
        child_id = store.create_run(job.db, kind=plain_config.kind, config=plain_config.to_dict(), name=plain_config.name, parent_id=job.run_id, status=Status.PREPARING)
        store.update_run(job.db, child_id, run_dir=str(jobs.run_dir(job.home, child_id)))
    child = store.get_run(job.db, child_id)
    if child["status"] != Status.COMPLETED:
        student = (
            f"the same {layers} {unit if layers > 1 else unit.removesuffix('s')} of {_title(teacher.starting)} as it was before fine-tuning"
            if untaught else "the same student"
        )
        job.event("distill.plain_started", student=student)
        store.update_run(job.db, child_id, pid=os.getpid(), pid_started=psutil.Process().create_time(), error=None)
        child_job = Job(
            db=job.db, run_id=child_id, config=plain_config, run_dir=Path(child["run_dir"]), home=job.home,
            device=job.device, dtype=job.dtype, controls=job.controls,  # a pause or cancel of this run stops it too
        )
        child_job.run_dir.mkdir(parents=True, exist_ok=True)
        outcome = run(child_job)
        finished = {"finished_at": time.time(), "progress": 1.0} if outcome == Status.COMPLETED else {}
        store.update_run(job.db, child_id, status=outcome, pid=None, request=None, **finished)
        if outcome != Status.COMPLETED:
            return {}, outcome
    return _best_evaluation(job.db, child_id), Status.COMPLETED


def _title(ref: str) -> str:
    """A model's name as the catalog gives it; a reference the catalog does not hold (an image model's
    'timm:NAME') as it is."""
    try:
        return resolve(ref).title
    except ConfigError:
        return ref


def _best_evaluation(db, run_id: int) -> dict[str, float]:
    run = store.get_run(db, run_id)
    step = db.execute("SELECT step FROM metrics WHERE run_id = ? AND name = ? AND value = ? ORDER BY step LIMIT 1", [run_id, run["best_metric_name"], run["best_metric"]]).fetchone()[0]
    return {name: value for name, value in db.execute("SELECT name, value FROM metrics WHERE run_id = ? AND step = ? AND name LIKE 'eval_%'", [run_id, step])}


# ---------------------------------------------------------------- the report


def write_report(job: Job, lesson: Lesson, plain: dict[str, float] | None) -> dict:
    """Teacher against student on the held-out examples: quality, size, speed on this machine; stored as
    `distill_report.json` (an artifact) and as metric rows at the last step."""
    autocast = torch.autocast(job.device.type, dtype=job.dtype, enabled=job.dtype != torch.float32)
    lesson.student.eval()
    with torch.no_grad(), autocast:
        teacher_scores, student_scores = lesson.evaluate_teacher(), lesson.loop.evaluate(lesson.student)
    models = {"teacher": lesson.teacher, "student": lesson.student}
    speed = measure_speed(
        job, models, {w: lesson.speed_batches(w, 1) for w in models}, {w: lesson.speed_batches(w, 16) for w in models}, autocast
    )
    sides = {}
    for which, scores, folder in (
        ("teacher", teacher_scores, lesson.teacher_folder), ("student", student_scores, job.run_dir / "model")
    ):
        sides[which] = {
            **scores, "parameters": parameter_count(models[which]), "disk_bytes": weights_size(folder),
            "latency_ms": speed[which][0] * 1000, "examples_per_second": speed[which][1],
        }
    report = {
        "task": lesson.task, "metric": lesson.loop.metric, "device": str(job.device), **sides, "plain": plain,
        "speedup": sides["teacher"]["latency_ms"] / sides["student"]["latency_ms"],
    }
    path = job.run_dir / "distill_report.json"
    path.write_text(json.dumps(report, indent=2))
    job.artifact("distill_report", path)
    rows = {f"{side}_{name}": value for side in ("teacher", "student") for name, value in sides[side].items()}
    rows |= {f"plain_{name}": value for name, value in (plain or {}).items()}
    store.add_metrics(job.db, job.run_id, store.get_run(job.db, job.run_id)["step"], rows)

    metric = lesson.loop.metric
    teacher, student = sides["teacher"], sides["student"]
    if lesson.loop.higher_is_better:
        job.event(
            "distill.report_kept", kept=student[metric] / max(teacher[metric], 1e-9), metric=metric_words(metric)[0],
            student_value=metric_words(metric, student[metric])[1], teacher_value=metric_words(metric, teacher[metric])[1],
        )
    else:
        job.event("distill.report_loss", student_value=f"{student[metric]:.4g}", teacher_value=f"{teacher[metric]:.4g}")
    job.event(
        "distill.report_size", share=student["parameters"] / teacher["parameters"],
        student_parameters=_count(student["parameters"]), teacher_parameters=_count(teacher["parameters"]),
        student_disk=_bytes(student["disk_bytes"]), teacher_disk=_bytes(teacher["disk_bytes"]),
        speedup=teacher["latency_ms"] / student["latency_ms"],
        student_latency=f"{student['latency_ms']:.1f} ms", teacher_latency=f"{teacher['latency_ms']:.1f} ms",
    )
    if plain:
        job.event(
            "distill.report_plain", metric=metric_words(metric)[0],
            plain_value=metric_words(metric, plain[metric])[1], student_value=metric_words(metric, student[metric])[1],
        )
    return report


def measure_speed(job: Job, models: dict, one_by_one: dict, batched: dict, autocast, examples: int = 16) -> dict:
    """Per model: the median seconds to answer one held-out example, and held-out examples answered per
    second in batches. The models take turns on each example and batch, so a computer that is busy with
    something else slows both alike and the ratio stays fair."""

    def timed(model, batch) -> float:
        start = time.perf_counter()
        model(**batch)
        if job.device.type == "cuda":
            torch.cuda.synchronize(job.device)
        return time.perf_counter() - start

    latencies: dict[str, list[float]] = {name: [] for name in models}
    batch_time = dict.fromkeys(models, 0.0)
    answered = dict.fromkeys(models, 0)
    with torch.inference_mode(), autocast:
        for name, model in models.items():
            model.eval()
            for batch in one_by_one[name][:3]:  # warm-up: first calls pay for kernel selection and allocation
                timed(model, batch)
        for i in range(min(examples, len(next(iter(one_by_one.values()))))):
            for name, model in models.items():
                latencies[name].append(timed(model, one_by_one[name][i]))
        for i in range(min(8, len(next(iter(batched.values()))))):  # up to 128 examples
            for name, model in models.items():
                batch_time[name] += timed(model, batched[name][i])
                answered[name] += len(next(iter(batched[name][i].values())))  # rows of its input
    return {name: (statistics.median(latencies[name]), answered[name] / batch_time[name]) for name in models}


def weights_size(folder: Path) -> int:
    """Bytes of the weight files in a model folder (what copying the model to another computer costs)."""
    return sum(p.stat().st_size for pattern in ("*.safetensors", "*.gguf", "*.bin") for p in folder.glob(pattern))


def _count(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}"


def _bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB" if n >= 10 * 2**20 else f"{n / 2**20:.1f} MB"

"""A smaller tagger taught by a trained one: the student copies the teacher's probabilities for each word's
kind of name (B-/I-/O per word, softened by the temperature), as a classifier's student copies its
categories, plus the correct marks of the user's data. The distillation recipe (engine/recipes/distill.py)
runs the lesson: `fit`, the report, the plain comparison.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.config import ConfigError
from engine.models.loading import load_teacher, load_tokenizer
from engine.models.students import Teacher, task_of
from engine.recipes.distill import Lesson, class_divergence_sum, make_student, teacher_on_device
from engine.tagging.align import IGNORED, gold_spans
from engine.tagging.predict import pad, spans_from, window_probabilities
from engine.tagging.steps import labelled_windows, pieces, read_documents, tagging_metrics, types_to_learn
from engine.training import Job, Loop, shuffled_steps


def tagger_lesson(job: Job, teacher: Teacher) -> Lesson:
    config = job.config

    # ---- data: as the tagging recipe reads and splits it
    train_docs, eval_docs = read_documents(job, config)
    types = types_to_learn(job, train_docs)

    # ---- teacher: its kinds of names are the student's
    teacher_model, source = load_teacher(teacher, job.home, allow_unsafe=config.allow_unsafe_weights)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    names = [teacher_model.config.id2label[i] for i in range(teacher_model.config.num_labels)]
    unknown = sorted({f"{prefix}-{kind}" for kind in types for prefix in "BI"} - set(names))
    if unknown:
        raise ConfigError.said("tagging.other_types", types=", ".join(sorted({n[2:] for n in unknown})[:5]))
    index = {name: i for i, name in enumerate(names)}

    def catalog_student(student_source):
        from engine.tasks.tagging import load_model

        if task_of(student_source) is not None:
            raise ConfigError.said("tagging.student_other_task", student=student_source.title)
        model = load_model(student_source, names, False, config.allow_unsafe_weights)
        return model, student_source.title, True, load_tokenizer(student_source, allow_unsafe=config.allow_unsafe_weights)

    student, fresh, own_tokenizer = make_student(job, teacher_model, teacher, catalog_student)
    if own_tokenizer is not None and own_tokenizer.get_vocab() != tokenizer.get_vocab():
        # teacher and student must read the same pieces for the teacher's answer per piece to fit the student's
        raise ConfigError.said("tagging.student_other_task", student=str(config.student))
    teacher_model = teacher_on_device(job, teacher_model)

    # ---- pieces and windows, labelled for the student's own loss; the teacher answers for the same positions
    train_words, eval_words = pieces(tokenizer, train_docs), pieces(tokenizer, eval_docs)
    train_windows = [w for group in labelled_windows(tokenizer, train_docs, train_words, index, config.max_length) for w in group]
    eval_groups = labelled_windows(tokenizer, eval_docs, eval_words, index, config.max_length)
    eval_windows = [w for group in eval_groups for w in group]
    eval_gold = [gold_spans(doc) for doc in eval_docs]
    pad_id = tokenizer.pad_token_id or 0

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        return [pad([train_windows[i] for i in indices[s : s + size]], pad_id, job.device) for s in range(0, len(indices), size)]

    def loss_sum(model, batch) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        learned = batch["labels"] != IGNORED  # each word's first piece, as in the tagging recipe
        hard = F.cross_entropy(logits[learned], batch["labels"][learned], reduction="sum")
        if config.alpha == 0:
            return hard
        with torch.no_grad():
            teacher_logits = teacher_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        soft = class_divergence_sum(logits[learned], teacher_logits[learned], config.temperature, False)
        return config.alpha * config.temperature**2 * soft + (1 - config.alpha) * hard

    def scores(model) -> dict[str, float]:
        with torch.no_grad():
            probabilities, loss, count = window_probabilities(model, eval_windows, pad_id, job.device)
        predicted, at = [], 0
        for words, group in zip(eval_words, eval_groups):
            predicted.append(spans_from(words, group, probabilities[at : at + len(group)], names))
            at += len(group)
        return tagging_metrics(eval_gold, predicted, loss / max(count, 1))

    def speed_batches(which: str, size: int) -> list[dict]:
        return [
            {k: v for k, v in pad(eval_windows[s : s + size], pad_id, job.device).items() if k in ("input_ids", "attention_mask")}
            for s in range(0, len(eval_windows), size)
        ]

    loop = Loop(
        step_batches=lambda epoch: shuffled_steps(len(train_windows), config.batch_size, config.seed, epoch),
        micro_batches=micro_batches, loss_sum=loss_sum, evaluate=scores, metric="eval_f1", higher_is_better=True,
        steps_per_epoch=-(-len(train_windows) // config.batch_size),
        fresh_parameters=("classifier",) if fresh else (),
    )
    return Lesson(
        teacher.task, teacher_model, source.path, student, tokenizer, loop, lambda: scores(teacher_model), speed_batches,
        len(train_windows), {"labels": names, "entity_types": types},
    )

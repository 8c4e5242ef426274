"""A smaller, faster image model taught by a trained one: the student is the teacher's network with fewer
blocks (engine/images/cut.py), and copies the teacher's category probabilities for each picture, softened by
the temperature, plus the correct categories of the person's pictures. The distillation recipe
(engine/recipes/distill.py) runs the lesson: `fit`, the report, the plain comparison.

Read top to bottom: pictures -> the teacher -> the student cut from it (its batch norms measured afresh) ->
batches, varied as the teacher's training varied them -> the loss -> scores and speed.
"""

from __future__ import annotations

import torch
from torch.optim.swa_utils import update_bn

from engine import store
from engine.config import ConfigError
from engine.images import steps
from engine.images.batches import Pictures, StepFeeder, eval_batches
from engine.images.cut import cut_student
from engine.images.model import build, load_folder
from engine.models.students import Teacher
from engine.recipes.distill import Lesson, announce_student, class_divergence_sum
from engine.recipes.finetune_images import EVAL_BATCH, held_out_scores, loss_sum, probabilities, targets_of
from engine.training import Job, Loop, shuffled_steps

#: Pictures the student's batch norm statistics are measured on once its blocks are cut (a few batches).
BATCH_NORM_PICTURES = 512
#: Held-out pictures decoded once for the speed measurement (it times at most 128).
SPEED_PICTURES = 128


def image_lesson(job: Job, teacher: Teacher) -> Lesson:
    config = job.config

    # ---- pictures: as the image recipe reads and splits them
    data, train, held = steps.read_pictures(job, config)

    # ---- teacher: its categories, and its way of preparing a picture, are the student's
    teacher_model = load_folder(teacher.source.path)
    labels, multi_label = teacher_model.labels, teacher_model.multi_label
    unknown = sorted({label for e in train + held for label in e.labels} - set(labels))
    if unknown:
        raise ConfigError.said("distill.images_other_categories", categories=", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""))
    if multi_label != data.multi_label:
        kinds = {True: "several categories", False: "one category"}
        raise ConfigError.said("distill.images_other_kind", teacher=kinds[multi_label], data=kinds[data.multi_label])
    index = {label: i for i, label in enumerate(labels)}
    preparation = teacher_model.preparation

    # ---- student: fewer of the teacher's blocks; for the plain comparison, of the model the teacher started from
    starting = build(config.student, labels, multi_label, preparation.size) if config.student else None
    cut = cut_student(teacher_model, config.student_layers or None, starting)
    announce_student(job, teacher, teacher_model, cut)
    student = cut.student.to(job.device)
    # Kept in float32 on every device: it only answers, and an image network this size costs little.
    teacher_model = teacher_model.to(job.device).eval()

    # Leaving blocks out changes what every later layer sees, so the batch norms' running statistics (the
    # teacher's) no longer fit: they are measured afresh on the pictures as the model is shown them, once
    # (torch's `update_bn`, made for averaged weights, does exactly this). Training then moves them as usual.
    measured = train[:BATCH_NORM_PICTURES]
    update_bn(eval_batches(Pictures(measured, targets_of(measured, index, multi_label), preparation.transform()), EVAL_BATCH, 0),
              student, device=job.device)
    job.event("distill.batch_norm", pictures=len(measured))

    # ---- batches: varied as the teacher's own training varied them (mirrored or not), decoded ahead
    workers, _ = steps.workers_for(len(train))
    train_set = Pictures(train, targets_of(train, index, multi_label), preparation.transform(training=True, mirror=_mirrored(job, teacher)))
    eval_set = Pictures(held, targets_of(held, index, multi_label), preparation.transform())
    weights, why = steps.class_weights(train, labels)  # rare categories weigh as they did for the teacher
    if weights is not None:
        job.event("plan.class_weights", reason=why)
    class_weights = torch.tensor(weights, device=job.device) if weights is not None else None

    def step_batches(epoch: int) -> list[list[int]]:
        return shuffled_steps(len(train), config.batch_size, config.seed, epoch)

    feeder = StepFeeder(train_set, step_batches, workers, job.device)

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        pixels, targets, _ = feeder.next_step(indices)
        return [{"pixels": pixels[i : i + size], "targets": targets[i : i + size], "count": len(pixels[i : i + size])}
                for i in range(0, len(pixels), size)]

    def lesson_loss_sum(model, batch) -> torch.Tensor:
        logits = model(batch["pixels"]).float()
        hard = loss_sum(logits, batch["targets"], multi_label, class_weights)
        if config.alpha == 0:
            return hard
        # The teacher answers for the very same varied picture the student sees, step by step ("a good teacher
        # is patient and consistent", Beyer et al. 2022): its answers for the plain pictures would not fit them.
        with torch.no_grad():
            teacher_logits = teacher_model(batch["pixels"]).float()
        soft = class_divergence_sum(logits, teacher_logits, config.temperature, multi_label)
        return config.alpha * config.temperature**2 * soft + (1 - config.alpha) * hard

    def scores(model) -> dict[str, float]:
        found, truth = probabilities(model, eval_batches(eval_set, EVAL_BATCH, workers), multi_label, job.device)
        return held_out_scores(found, truth, multi_label, config.threshold)

    decoded: list[torch.Tensor] = []  # the held-out pictures for the speed measurement, decoded once

    def speed_batches(which: str, size: int) -> list[dict]:
        if not decoded:
            shown = held[:SPEED_PICTURES]
            decoded.extend(p for p, _, _ in eval_batches(Pictures(shown, targets_of(shown, index, multi_label), preparation.transform()), EVAL_BATCH, 0))
        pixels = torch.cat(decoded)
        return [{"pixel_values": pixels[s : s + size].to(job.device)} for s in range(0, len(pixels), size)]

    fresh = ("net.classifier", "net.fc", "net.head") if starting is not None else ()
    if any(not blocks for blocks in student.blocks):  # whole stages left out: the head's first layer is new
        fresh += ("net.conv_head",)
    loop = Loop(
        step_batches=step_batches, micro_batches=micro_batches, loss_sum=lesson_loss_sum, evaluate=scores,
        metric="eval_f1", higher_is_better=True, steps_per_epoch=-(-len(train) // config.batch_size), fresh_parameters=fresh,
    )
    return Lesson(
        teacher.task, teacher_model, teacher.source.path, student, preparation, loop, lambda: scores(teacher_model),
        speed_batches, len(train), {"labels": labels, "multi_label": multi_label}, student_layers=cut.kept,
        student_unit=cut.unit,
    )


def _mirrored(job: Job, teacher: Teacher) -> bool:
    """Whether the teacher's training mirrored its pictures (the person said whether left and right matter)."""
    if teacher.run_id is None:
        return True
    return bool(store.get_run(job.db, teacher.run_id)["config"].get("mirror", True))

"""What the image recipe, its evaluation and the planner share: reading the pictures and holding some back,
the settings decided for the person (each with its sentence), class weights and the scores logged at each
evaluation. Torch is imported only by the functions that need it.
"""

from __future__ import annotations

import csv
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from engine.images.collect import Example, ImageSet, read_image_set

HELD_OUT_FILE = "held_out.csv"
#: The largest category this many times the smallest or more: the loss weighs the rare ones up.
WEIGHT_FROM = 1.5
#: Fewer training pictures than this: batch normalisation keeps the pretrained model's statistics.
KEEP_STATISTICS_BELOW = 5_000
#: The longest class weight given (a category of 3 pictures among 3,000 would otherwise swamp the rest).
MAX_WEIGHT = 10.0


@dataclass
class Decision:
    setting: str
    value: object
    code: str  # the event it is recorded as
    reason: str


def read_pictures(job, config) -> tuple[ImageSet, list[Example], list[Example]]:
    """The training pictures and those held out (the evaluation data's, or a share, each category kept in
    proportion). Every picture is decoded once first: one that cannot be read is left out and said, with
    the entries that are not pictures of a category, so that the rest trains; exact copies count once."""
    from engine.data.splits import split_indices

    data = read_image_set(config.data)
    examples = _readable(job, data)
    if config.eval_data:
        return data, examples, _readable(job, read_image_set(config.eval_data))
    strata = [";".join(sorted(e.labels)) for e in examples]
    train_idx, eval_idx = split_indices(len(examples), config.eval_fraction, config.seed, strata=strata)
    job.event("images.split", eval_rows=len(eval_idx), rows=len(examples))
    return data, [examples[i] for i in train_idx], [examples[i] for i in eval_idx]


def _readable(job, data: ImageSet) -> list[Example]:
    from engine.images.checks import look_at_all, usable

    looked = look_at_all([e for e in data.examples if e.labels])
    left_out = list(data.left_out) + [(item.example.shown, item.problem) for item in looked if item.problem]
    if left_out:
        job.event("images.skipped", count=len(left_out), first=left_out[0][1])
    return usable(looked)


def check_categories(examples: list[Example]) -> list[str]:
    labels = sorted({label for e in examples for label in e.labels})
    if len(labels) < 2:
        raise ConfigError.said("images.too_few", count=len(examples), categories=len(labels))
    return labels


def keep_held_out(job, examples: list[Example]) -> Path:
    """The held-out pictures as a table (file, categories) in the run's folder, for the evaluation to read."""
    path = job.run_dir / HELD_OUT_FILE
    if not path.exists():
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "label", "shown"])  # "shown": the picture as the person knows it
            for example in examples:
                writer.writerow([str(Path(example.path).resolve()), ";".join(example.labels), example.shown])
        job.artifact("held_out", path, rows=len(examples))
    return path


def decide(config, rows: int, native_size: int) -> list[Decision]:
    """Every image setting the person left empty, decided, with its sentence."""
    from engine.planner import learning_rate

    decisions = []
    if config.method == "auto":
        decisions.append(Decision("method", "full", "plan.method", "Full training: an image model this small learns best when every weight is trained."))
    if config.image_size is None:
        decisions.append(Decision("image_size", native_size, "plan.image_size",
                                  f"Pictures are shown to the model at {native_size} x {native_size} pixels, the size it was made for."))
    mirror = "mirrored left to right at random, so the model does not learn which way things face" if config.mirror else (
        "never mirrored, as you said left and right matter")
    decisions.append(Decision("mirror", config.mirror, "plan.mirror",
                              f"While training, pictures are cropped and scaled a little differently each time and {mirror}."))
    if config.epochs is None:
        decisions.append(epochs_decision(rows))
    if config.learning_rate is None:
        value, reason = learning_rate(config.kind, "full", 5_000_000)
        decisions.append(Decision("learning_rate", value, "plan.learning_rate", reason))
    if config.micro_batch_size is None:
        decisions.append(Decision("micro_batch_size", config.batch_size, "plan.batch_layout",
                                  f"The whole batch of {config.batch_size} pictures goes through the model at once."))
    if config.statistics == "auto":
        from engine.images.model import has_learned_weights

        value, reason = statistics_for(rows, has_learned_weights(config.model))
        decisions.append(Decision("statistics", value, "plan.statistics", reason))
    if config.workers is None:
        value, reason = workers_for(rows)
        decisions.append(Decision("workers", value, "plan.workers", reason))
    if config.gradient_checkpointing == "auto":
        decisions.append(Decision("gradient_checkpointing", "off", "plan.checkpointing", "Memory saving off: an image model this small fits without it."))
    return decisions


def epochs_decision(rows: int) -> Decision:
    """How many passes over `rows` training pictures (a student's too), with its sentence."""
    from engine.planner import epochs_for

    value = epochs_for(rows)[0]
    reason = (f"{value:g} epochs: with {rows} pictures, several passes are needed to learn; the best checkpoint is kept if "
              "it starts to memorise them." if rows < 1000 else f"{value:g} epochs: the usual number of passes for {rows:,} pictures.")
    return Decision("epochs", value, "plan.epochs", reason)


def statistics_for(rows: int, learned: bool = True) -> tuple[str, str]:
    """Whether batch normalisation keeps the pretrained model's statistics of pictures (its running means and
    variances) or learns them again from the training batches, and the sentence saying so. `learned`: the
    model starts from weights that learned something (a fresh network's statistics are placeholders).

    Kept for small sets: a batch of 32 measures them noisily, and the running averages drift towards the
    augmented training pictures, away from both what the pretrained layers expect and the plain pictures the
    model is checked and used on. Measured (bench/images.md): kept, the bench set's ten textures (387 pictures)
    were sorted 1.4 points better on average over 4 seeds, and the demo's 60 held-out pictures all right on
    4 seeds (relearned: 59 or 60; the frozen-features probe 59). Relearned for
    large sets, where the batches' statistics are many and a new kind of picture (X-rays, micrographs) may
    differ from ImageNet's; the threshold between the two is a judgement, not yet measured."""
    if not learned:
        return "relearned", ("The model learns its statistics of what pictures look like (batch normalisation) from your "
                             "pictures: it starts from untrained weights, which have none worth keeping.")
    if rows < KEEP_STATISTICS_BELOW:
        return "kept", (f"The model keeps its pretrained statistics of what pictures look like (batch normalisation): "
                        f"{rows:,} pictures are too few to measure them again well; the layers still learn.")
    return "relearned", (f"The model learns its statistics of what pictures look like (batch normalisation) again from "
                         f"your {rows:,} pictures, enough to measure them well.")


def workers_for(rows: int) -> tuple[int, str]:
    """Processes that decode pictures beside training, and the sentence saying so."""
    cores = os.cpu_count() or 1
    value = 0 if rows < 200 or cores < 3 else min(8, cores - 1)
    return value, (f"{value} processes decode and prepare the pictures while the model trains, so it does not wait for them."
                   if value else "The pictures are prepared in the training process itself: they are few, or this computer has few cores.")


def apply(job, decisions: list[Decision]) -> None:
    """Set each decision and say it, unless the run already holds its sentence (from the plan the window made
    and recorded with the run: the mirroring sentence is said whoever planned)."""
    from engine import store

    said = {event["message"] for event in store.events(job.db, job.run_id)}
    for decision in decisions:
        setattr(job.config, decision.setting, decision.value)
        if decision.reason not in said:
            job.event(decision.code, reason=decision.reason)
    if decisions:
        job.save_config()


def class_weights(examples: list[Example], labels: list[str]) -> tuple[list[float] | None, str]:
    """Loss weights that count each category as much as the others (capped), when they are uneven."""
    counts = Counter(label for e in examples for label in e.labels)
    present = [counts.get(label, 0) for label in labels]
    if not present or min(present) == 0 or max(present) < WEIGHT_FROM * min(present):
        return None, ""
    mean = sum(present) / len(present)
    weights = [min(MAX_WEIGHT, mean / n) for n in present]
    rare = labels[present.index(min(present))]
    return weights, (f"The categories are uneven ({max(present)} pictures in the largest, {min(present)} in {rare}), "
                     "so mistakes on rare categories count more in training, and the model does not just learn to say the common ones.")


def head_steps(config, steps: int) -> int:
    """The first steps in which only the new last layer learns (the rest of the model is held still), so a
    freshly made layer's first wild guesses do not disturb what the model already sees."""
    return min(steps // 2, max(1, math.ceil(config.head_warmup * steps))) if config.head_warmup > 0 else 0


"""The words the engine and the window share: run statuses, job kinds, and every message a person reads.

Messages are declared here, once, with their plain-language text (the Orange3 habit), so that the engine
never improvises a sentence at the point of failure and the window can show any event it finds in the
database without knowing where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    QUEUED = "queued"
    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value


#: A process is (or should be) working on these; if it is gone, the run was interrupted.
LIVE = frozenset({Status.PREPARING, Status.RUNNING})
#: Nothing more will happen to these unless the user resumes them.
RESUMABLE = frozenset({Status.PAUSED, Status.INTERRUPTED, Status.FAILED, Status.CANCELLED})
FINISHED = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


class JobKind(str, Enum):
    CLASSIFY = "classify"
    CHAT = "chat"
    DISTILL = "distill"

    def __str__(self) -> str:
        return self.value


class Level(str, Enum):
    INFO = "info"
    ADVICE = "advice"
    WARNING = "warning"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Message:
    level: Level
    text: str

    def format(self, **values: object) -> str:
        return self.text.format(**values)


MESSAGES: dict[str, Message] = {
    # Life of a run
    "run.started": Message(Level.INFO, "Training started on {device}."),
    "run.resumed": Message(Level.INFO, "Picked up again at step {step} of {total_steps}."),
    "run.completed": Message(Level.INFO, "Training finished. The model is saved in {path}."),
    "run.paused": Message(Level.INFO, "Paused at step {step}. Resume whenever you like; nothing is lost."),
    "run.cancelled": Message(Level.INFO, "Cancelled at step {step}. The last checkpoint is kept."),
    "run.interrupted": Message(
        Level.WARNING,
        "The training process stopped unexpectedly (the computer may have slept, or the process was ended). "
        "You can resume from the last checkpoint at step {step}.",
    ),
    "run.failed": Message(Level.ERROR, "Training stopped because of a problem: {reason}"),
    # Decisions the engine made for the user
    "plan.device": Message(Level.INFO, "{reason}"),
    "plan.precision": Message(Level.INFO, "{reason}"),
    "plan.split": Message(
        Level.INFO,
        "No evaluation data was given, so {eval_rows} of {rows} examples were set aside to check the model "
        "on text it has not seen{stratified}.",
    ),
    "plan.steps": Message(
        Level.INFO, "{train_rows} training examples, batch {batch_size}: {steps_per_epoch} steps per epoch, "
        "{total_steps} steps in all."
    ),
    "data.truncated": Message(
        Level.ADVICE,
        "{count} of {rows} examples are longer than {max_length} tokens and were shortened "
        "({tokens} tokens cut in all). Raise the length limit if the end of these texts matters.",
    ),
    "data.no_trainable_tokens": Message(
        Level.WARNING,
        "{count} conversations have no answer left to learn from after shortening to {max_length} tokens, "
        "and were left out.",
    ),
    "data.template_values": Message(
        Level.INFO, "Filled in the placeholders {names} in the data with the values you gave."
    ),
    # Progress worth a sentence
    "eval.best": Message(Level.INFO, "New best {metric}: {value} at step {step}; this checkpoint is kept."),
    "train.early_stop": Message(
        Level.ADVICE,
        "The evaluation {metric} has not improved for {patience} evaluations, so training stopped early "
        "to avoid overfitting. The best checkpoint (step {best_step}) is the saved model.",
    ),
    "checkpoint.saved": Message(Level.INFO, "Checkpoint saved at step {step}."),
}


#: How an evaluation metric is named in a sentence, and how its value is written.
METRIC_WORDS: dict[str, tuple[str, str]] = {
    "eval_f1": ("F1", "{:.1%}"),
    "eval_macro_f1": ("macro F1", "{:.1%}"),
    "eval_accuracy": ("accuracy", "{:.1%}"),
    "eval_loss": ("evaluation loss", "{:.4g}"),
    "eval_perplexity": ("perplexity", "{:.3g}"),
}


def metric_words(name: str, value: float | None = None) -> tuple[str, str]:
    """("F1", "65.4%") for ("eval_f1", 0.654): a metric as a person reads it."""
    words, form = METRIC_WORDS.get(name, (name, "{:.4g}"))
    return words, "" if value is None else form.format(value)


def message(code: str, **values: object) -> tuple[Level, str]:
    """The level and the finished sentence for an event code."""
    declared = MESSAGES[code]
    return declared.level, declared.format(**values)
MESSAGES["plan.learning_rate"] = Message(Level.INFO, "{reason}")
MESSAGES["plan.method"] = Message(Level.INFO, "{reason}")


# ---- Distillation (engine/recipes/distill.py)
MESSAGES["distill.plan"] = Message(
    Level.INFO,
    "The teacher {teacher} ({teacher_parameters} parameters, {teacher_layers} layers) teaches a student "
    "{student} ({student_parameters} parameters, {student_layers} layers, about {speedup:.1f}x as fast).",
)
MESSAGES["distill.teacher_cached"] = Message(
    Level.INFO,
    "The teacher's answers for all {rows} training examples were worked out once and kept, so each epoch "
    "only trains the student.",
)
MESSAGES["distill.plain_started"] = Message(
    Level.INFO,
    "Now training the same student without the teacher (plain fine-tuning, same steps), to show what the "
    "teacher added.",
)
MESSAGES["distill.report_kept"] = Message(
    Level.INFO, "The student keeps {kept:.0%} of the teacher's {metric} ({student_value} against {teacher_value})."
)
MESSAGES["distill.report_loss"] = Message(
    Level.INFO,
    "The student's evaluation loss on the held-out examples is {student_value}; the teacher's is "
    "{teacher_value} (lower is better: how surprised the model is by the right answers).",
)
MESSAGES["distill.report_size"] = Message(
    Level.INFO,
    "The student has {share:.0%} of the teacher's parameters ({student_parameters} against "
    "{teacher_parameters}), takes {student_disk} on disk instead of {teacher_disk}, and answers "
    "{speedup:.1f}x as fast on this computer ({student_latency} per example against {teacher_latency}).",
)
MESSAGES["distill.report_plain"] = Message(
    Level.INFO,
    "Trained the same way without the teacher, the same student reaches {metric} {plain_value}; with the "
    "teacher it reached {student_value}.",
)

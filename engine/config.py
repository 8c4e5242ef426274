"""What a job does, as one documented dataclass per job kind.

Every field carries its help text in `metadata["help"]` (not only a docstring: a frozen app has no source to
read docstrings from), so the window's expert form, `tunewright-engine example`, and the stored run config
all come from the same place. `__post_init__` checks each value and says, in a sentence, what is wrong.

Settings left at `None` are decided by the engine (see `engine.planner`) and the decision is written back into
the run's stored config, so a run can always be repeated exactly.
"""

from __future__ import annotations

import difflib
import json
import math
import types
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from engine.protocol import JobKind


class ConfigError(ValueError):
    """A setting a person has to change; the message is one plain sentence."""


def setting(default: Any, help: str, **choices: Any) -> Any:
    """A config field with its help text (and, optionally, `choices=[...]`)."""
    metadata = {"help": help, **choices}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class JobConfig:
    """Settings every training job has."""

    model: str = setting(
        "", "The model to start from: 'demo:minilm', 'demo:smollm2', a folder on this computer, "
        "or a Hugging Face model name (downloaded once, only when you ask)."
    )
    data: str = setting("", "The file with your training examples.")
    eval_data: str = setting(
        "", "A separate file of examples to check the model on. Empty: set some training examples aside."
    )
    eval_fraction: float = setting(
        0.1, "When there is no evaluation file, the share of examples set aside to check the model (0.1 = 10%)."
    )
    name: str = setting("", "A name for this run, shown in the list of runs.")
    method: str = setting(
        "lora", "How to train: 'lora' trains small adapter matrices (fast, light, the usual choice), "
        "'full' trains every weight, 'qlora' is LoRA on a 4-bit model (needs an NVIDIA GPU), "
        "'auto' lets Tunewright choose and explain why.",
        choices=["lora", "full", "qlora", "auto"],
    )
    lora_rank: int = setting(16, "LoRA: the size of the adapter matrices; larger learns more, uses more memory.")
    lora_alpha: int = setting(32, "LoRA: the scale of the adapter's contribution (usually twice the rank).")
    lora_dropout: float = setting(0.05, "LoRA: dropout on the adapter's input, against overfitting.")
    learning_rate: float | None = setting(
        None, "How big each update is. Empty: chosen for the task and method, and the choice explained."
    )
    epochs: float | None = setting(
        3.0, "How many times to go through the training examples. Empty: chosen for the size of the data."
    )
    max_steps: int = setting(0, "Stop after this many optimizer steps (0: decided by the epochs).")
    batch_size: int = setting(16, "Examples per optimizer step.")
    micro_batch_size: int | None = setting(
        None, "Examples per forward pass; smaller saves memory, the batch is accumulated. Empty: automatic."
    )
    max_length: int | None = setting(
        256, "Longest example in tokens; longer ones are shortened (and counted). Empty: covers 99% of the data."
    )
    warmup_fraction: float = setting(0.05, "Share of the steps over which the learning rate rises from zero.")
    weight_decay: float = setting(0.01, "Pull of the weights towards zero, against overfitting.")
    max_grad_norm: float = setting(1.0, "Largest gradient norm; larger updates are scaled down.")
    eval_every: int = setting(0, "Check the model every this many steps (0: about ten times per run).")
    early_stopping_patience: int = setting(
        3, "Stop when the evaluation has not improved this many times in a row (0: never stop early)."
    )
    checkpoint_minutes: float = setting(
        5.0, "Save a checkpoint at least this often, so an interruption loses at most these minutes."
    )
    seed: int = setting(0, "Random seed: the same seed, data and settings give the same run.")
    precision: str = setting(
        "auto", "Number format for training: 'auto' picks bf16 on GPUs that have it, else fp32.",
        choices=["auto", "bf16", "fp16", "fp32"],
    )
    device: str = setting("auto", "Where to train: 'auto', 'cuda', 'mps' or 'cpu'.", choices=["auto", "cuda", "mps", "cpu"])
    allow_unsafe_weights: bool = setting(
        False, "Allow pickle weight files and code shipped with the model. Only for models you trust."
    )
    compile: str = setting(
        "auto", "Compile the model for faster steps (torch.compile): 'auto' on NVIDIA GPUs only, 'on', or 'off'. "
        "Compiling takes a little time at the start; if it fails, training goes on without it.",
        choices=["auto", "on", "off"],
    )
    # ---- planner (engine/planner.py)
    gradient_checkpointing: str = setting(
        "auto", "Recompute parts of the model during the backward pass to save memory (about a third slower). "
        "'auto': only when the model would not fit otherwise.", choices=["auto", "on", "off"],
    )

    kind = ""  # set by each job kind (a class attribute, not a setting)

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("Choose a model to start from (for example 'demo:minilm').")
        if not self.data:
            raise ConfigError("Choose the file with your training examples.")
        _check(0.0 < self.eval_fraction < 0.9, "eval_fraction", "a share between 0 and 0.9, such as 0.1", self.eval_fraction)
        for name in ("lora_rank", "lora_alpha", "batch_size", "max_length"):
            _check(getattr(self, name) is None and name == "max_length" or getattr(self, name) >= 1, name, "a whole number of at least 1", getattr(self, name))
        _check(0.0 <= self.lora_dropout < 1.0, "lora_dropout", "a number from 0 up to 1", self.lora_dropout)
        if self.learning_rate is not None:
            _check(0.0 < self.learning_rate < 1.0, "learning_rate", "a small positive number, such as 0.0002", self.learning_rate)
        _check(self.epochs is None or self.epochs > 0 or self.max_steps > 0, "epochs", "more than 0 (or set max_steps)", self.epochs)
        _check(self.max_steps >= 0, "max_steps", "0 or more", self.max_steps)
        if self.micro_batch_size is not None:
            _check(1 <= self.micro_batch_size <= self.batch_size, "micro_batch_size", f"between 1 and the batch size ({self.batch_size})", self.micro_batch_size)
        _check(0.0 <= self.warmup_fraction < 1.0, "warmup_fraction", "a share from 0 up to 1", self.warmup_fraction)
        _check(self.weight_decay >= 0, "weight_decay", "0 or more", self.weight_decay)
        _check(self.max_grad_norm > 0, "max_grad_norm", "more than 0", self.max_grad_norm)
        _check(self.eval_every >= 0, "eval_every", "0 or more", self.eval_every)
        _check(self.early_stopping_patience >= 0, "early_stopping_patience", "0 or more", self.early_stopping_patience)
        _check(self.checkpoint_minutes > 0, "checkpoint_minutes", "more than 0", self.checkpoint_minutes)
        for f in fields(self):
            options = f.metadata.get("choices")
            if options and getattr(self, f.name) not in options:
                raise ConfigError(
                    f"The setting '{f.name}' must be one of {', '.join(map(repr, options))} "
                    f"(it is {getattr(self, f.name)!r})."
                )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass
class ClassifyConfig(JobConfig):
    """Teach an encoder model to sort texts into categories (one per text, or several)."""

    text_column: str = setting("", "The column that holds the text. Empty: guessed from the data.")
    label_column: str = setting("", "The column that holds the category (or a list of them). Empty: guessed.")
    threshold: float = setting(0.5, "Several categories per text: the probability above which a category is given.")

    kind = JobKind.CLASSIFY.value

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(0.0 < self.threshold < 1.0, "threshold", "a probability between 0 and 1", self.threshold)


@dataclass
class ChatConfig(JobConfig):
    """Teach a language model to answer like the examples (instruction or chat tuning)."""

    template_values: dict[str, str] = setting(
        {}, "Values for placeholders such as {{name}} in the examples, e.g. {\"name\": \"Ada\"}."
    )
    system_prompt: str = setting("", "A system message added to every conversation that has none.")
    max_length: int | None = setting(
        512, "Longest conversation in tokens; longer ones are shortened (and counted). Empty: covers 99% of the data."
    )
    batch_size: int = setting(8, "Conversations per optimizer step.")

    kind = JobKind.CHAT.value


@dataclass
class TagConfig(JobConfig):
    """Teach an encoder model to mark names of a kind in texts (diseases, drugs, people...): entity tagging."""

    method: str = setting(
        "auto", "How to train: 'auto' lets Tunewright choose and explain why (every weight, for the small "
        "encoders taggers use), 'full' trains every weight, 'lora' trains small adapter matrices.",
        choices=["auto", "full", "lora"],
    )
    max_length: int | None = setting(
        256, "Longest piece of text the model reads at once, in tokens; longer texts are read in overlapping "
        "windows, so nothing is cut. Empty: covers 99% of the texts in one window."
    )

    kind = JobKind.TAG.value


@dataclass
class DistillConfig(JobConfig):
    """Teach a smaller, faster student model to answer like a larger teacher, on your data (distillation)."""

    model: str = setting("", "Filled in with the teacher, so the list of runs shows it; leave it empty.")
    task: str = setting(
        "", "Filled in with the teacher's task when the run starts ('classify' or 'chat'); leave it empty.",
        choices=["", "classify", "chat"],
    )
    method: str = setting("full", "A student learns with all its weights ('full'), the only choice here.", choices=["full"])
    teacher: str = setting(
        "", "The model that teaches: a finished run ('run:12'), or a model or folder that already does the "
        "task (a text classifier trained on your categories, or a chat model such as 'demo:smollm2')."
    )
    student: str = setting(
        "", "The student. Empty: made from the teacher by keeping some of its layers (see student_layers). "
        "Or a smaller model or folder: for chat models it must use the teacher's vocabulary (same model "
        "family); for classifiers any text encoder works and is given the teacher's categories."
    )
    student_layers: int = setting(
        0, "How many layers the student keeps, evenly spread, first and last included: of the teacher's, or of "
        "the student model when one is named. Fewer layers: smaller and faster, but it keeps less. 0: half of "
        "the teacher's; all of a named student's."
    )
    temperature: float | None = setting(
        None, "How much the teacher's probabilities are softened before the student copies them. Above 1 "
        "also shows the student which wrong answers the teacher thought nearly right (usual: 1 to 4). Empty: "
        "2 for classifiers; 1 for chat models, whose tens of thousands of words would spread too thinly."
    )
    alpha: float = setting(
        0.5, "The share of the lesson that is copying the teacher; the rest is learning the correct answers "
        "in your data. 1: only the teacher; 0: plain fine-tuning of the student."
    )
    divergence: str = setting(
        "forward_kl", "Chat models: how the student's next-word probabilities are compared with the "
        "teacher's. 'forward_kl' (the usual choice) makes the student cover every word the teacher "
        "considers; 'reverse_kl' makes it focus on the teacher's likeliest words; 'jsd' is in between.",
        choices=["forward_kl", "reverse_kl", "jsd"],
    )
    compare_with_plain: bool = setting(
        False, "Also train a student of the same size without the teacher (plain fine-tuning, same steps; "
        "made of the same layers of the model the teacher started from, not of the teacher) and show both in "
        "the report, so you can see what the teacher added. Takes about twice as long."
    )
    text_column: str = setting("", "Classifiers: the column that holds the text. Empty: guessed from the data.")
    label_column: str = setting("", "Classifiers: the column that holds the category (or a list of them). Empty: guessed.")
    threshold: float = setting(0.5, "Classifiers with several categories per text: the probability above which a category is given.")
    template_values: dict[str, str] = setting(
        {}, "Chat models: values for placeholders such as {{name}} in the examples, e.g. {\"name\": \"Ada\"}."
    )
    system_prompt: str = setting("", "Chat models: a system message added to every conversation that has none.")
    augment_copies: int = setting(
        0, "Classifiers: how many altered copies of each training text (some words dropped, swapped in from "
        "other texts, or two texts joined) the teacher answers for the student to learn from as well. The "
        "run takes the same steps; they are drawn from your texts and the copies together. 0: none."
    )

    kind = JobKind.DISTILL.value

    def __post_init__(self) -> None:
        if not self.teacher:
            raise ConfigError("Choose the teacher: a finished run (such as 'run:12') or a model that already does the task.")
        self.model = self.teacher  # a mirror of the teacher: the run list and queue show `model`
        super().__post_init__()
        _check(self.student_layers >= 0, "student_layers", "0 (half) or a whole number of layers", self.student_layers)
        if self.temperature is not None:
            _check(0.0 < self.temperature <= 20.0, "temperature", "a number above 0 and at most 20, such as 2", self.temperature)
        _check(0.0 <= self.alpha <= 1.0, "alpha", "a share from 0 to 1, such as 0.5", self.alpha)
        _check(0.0 < self.threshold < 1.0, "threshold", "a probability between 0 and 1", self.threshold)
        _check(0 <= self.augment_copies <= 20, "augment_copies", "a whole number from 0 to 20", self.augment_copies)


CONFIG_TYPES: dict[str, type[JobConfig]] = {
    JobKind.CLASSIFY.value: ClassifyConfig,
    JobKind.CHAT.value: ChatConfig,
    JobKind.DISTILL.value: DistillConfig,
    JobKind.TAG.value: TagConfig,
}


# ---- Export and evaluate (issue 7): jobs that use a finished run rather than train one. They are not
# JobConfigs (no training data or optimizer), but carry `name`, `device` and `precision` so the job process
# runs them like any other job.

EXPORT_FORMATS = ["merged", "adapter", "gguf-f16", "gguf-q8_0", "onnx"]


@dataclass
class ExportConfig:
    """Write a finished run's model in a format other tools read, and prove it loads back the same."""

    run_id: int = setting(0, "The finished run whose model is exported.")
    format: str = setting(
        "merged", "'merged': a Hugging Face folder with the LoRA folded in; 'adapter': the LoRA alone; "
        "'gguf-f16' / 'gguf-q8_0': one file for llama.cpp and Ollama (16-bit, or 8-bit and half the size); "
        "'onnx': a classifier for ONNX Runtime.",
        choices=EXPORT_FORMATS,
    )
    to: str = setting("", "The folder to write into. Empty: an 'export' folder inside this export's run folder.")
    name: str = setting("", "A name for this export, shown in the list of runs.")
    device: str = setting("cpu", "Where to load the model for checking: 'cpu' compares in full precision.", choices=["auto", "cuda", "mps", "cpu"])
    precision: str = setting("fp32", "Number format for the check (fp32: the in-app model at full precision).", choices=["auto", "bf16", "fp16", "fp32"])

    kind = "export"

    def __post_init__(self) -> None:
        _check(self.run_id >= 1, "run_id", "the number of a finished run", self.run_id)
        if self.format not in EXPORT_FORMATS:
            raise ConfigError(f"The format must be one of {', '.join(EXPORT_FORMATS)} (it is {self.format!r}).")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass
class EvaluateConfig:
    """Score a model on held-out examples: a run's model, a model folder, or a catalog model."""

    model: str = setting("", "What to score: a run number, a model folder, or a catalog model such as 'demo:minilm'.")
    data: str = setting("", "The file of held-out examples, with the right answers.")
    task: str = setting("", "'classify' or 'chat'. Empty: the run's task, or guessed from the model.", choices=["", "classify", "chat"])
    max_examples: int = setting(200, "Score at most this many examples (the first ones in the file).")
    side_by_side: int = setting(8, "Chat: how many answers to show next to the starting model's answers.")
    max_new_tokens: int = setting(64, "Chat: the longest answer generated, in tokens.")
    name: str = setting("", "A name for this evaluation, shown in the list of runs.")
    device: str = setting("auto", "Where to run the model: 'auto', 'cuda', 'mps' or 'cpu'.", choices=["auto", "cuda", "mps", "cpu"])
    precision: str = setting("fp32", "Number format while scoring.", choices=["auto", "bf16", "fp16", "fp32"])

    kind = "evaluate"

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("Choose what to evaluate: a run number, a model folder or a catalog model.")
        if not self.data:
            raise ConfigError("Choose the file of held-out examples to evaluate on.")
        _check(self.max_examples >= 1, "max_examples", "a whole number of at least 1", self.max_examples)
        _check(self.side_by_side >= 0, "side_by_side", "0 or more", self.side_by_side)
        _check(self.max_new_tokens >= 1, "max_new_tokens", "a whole number of at least 1", self.max_new_tokens)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


CONFIG_TYPES[ExportConfig.kind] = ExportConfig  # type: ignore[assignment]
CONFIG_TYPES[EvaluateConfig.kind] = EvaluateConfig  # type: ignore[assignment]


def _check(ok: bool, name: str, expected: str, got: Any) -> None:
    if not ok:
        raise ConfigError(f"The setting '{name}' must be {expected} (it is {got!r}).")


def config_type(kind: str) -> type[JobConfig]:
    try:
        return CONFIG_TYPES[kind]
    except KeyError:
        raise ConfigError(
            f"'{kind}' is not a kind of job Tunewright knows; use one of {', '.join(CONFIG_TYPES)}."
        ) from None


def from_dict(values: dict[str, Any], kind: str | None = None) -> JobConfig:
    """Build and validate a config; unknown settings are refused with the nearest known name."""
    values = dict(values)
    kind = kind or values.pop("kind", None) or ""
    values.pop("kind", None)
    cls = config_type(kind)
    known = {f.name for f in fields(cls)}
    for name in values:
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean '{near[0]}'?" if near else ""
            raise ConfigError(f"'{name}' is not a setting of a {kind} job.{hint}")
    hints = get_type_hints(cls)
    return cls(**{name: _coerce(name, value, hints[name]) for name, value in values.items()})


def load(path: Path | str, overrides: list[str] = ()) -> JobConfig:
    """Read a config JSON file and apply `key=value` overrides (as from `--set`)."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"There is no config file at {path}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name} is not a valid JSON config file ({error}).") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path.name} must hold one JSON object of settings.")
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep:
            raise ConfigError(f"'{override}' should be written as setting=value.")
        values[key.strip()] = _parse_raw(raw)
    return from_dict(values)


def help_for(cls: type[JobConfig]) -> dict[str, dict[str, Any]]:
    """Each setting's default, type and help text: what the expert form and the docs show."""
    hints = get_type_hints(cls)
    out = {}
    for f in fields(cls):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        out[f.name] = {"default": default, "type": str(hints[f.name]), **f.metadata}
    return out


def _parse_raw(raw: str) -> Any:
    """`--set` values: JSON where it parses (numbers, true, {...}), else the plain string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Turn a value from a form or `--set` (often text) into the setting's type, or say what is expected."""
    optional = isinstance(hint, types.UnionType)
    base = next(arg for arg in get_args(hint) if arg is not type(None)) if optional else hint  # `float | None` -> float
    text = getattr(get_origin(base) or base, "__name__", str(base))
    if value is None and optional:
        return None
    try:
        if text == "bool":
            if isinstance(value, str):
                return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}[value.lower()]
            return bool(value)
        if text.startswith("int"):
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if text.startswith("float"):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        if text.startswith("dict"):
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError
            return {str(k): str(v) for k, v in value.items()}
        if text.startswith("str"):
            return str(value)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        kind = {"int": "a whole number", "float": "a number", "bool": "true or false", "dict": "a JSON object"}
        expected = next((v for k, v in kind.items() if text.startswith(k)), text)
        raise ConfigError(f"The setting '{name}' must be {expected} (it is {value!r}).") from None
    return value

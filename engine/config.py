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

from engine.protocol import JobKind, message
from engine.quoting import shown

#: The longest text any setting may hold (a system prompt is the longest anyone writes) and the largest
#: config file read: past these it is no config a person wrote.
MAX_TEXT_SETTING = 100_000
MAX_CONFIG_BYTES = 2**20
#: Whole-number settings: each has a ceiling well past any real run, so that a typo such as 1e308 or a
#: seed of 2**70 is a sentence here rather than an overflow deep inside the training loop.
LIMITS = {
    "lora_rank": 1024, "lora_alpha": 8192, "batch_size": 65_536, "micro_batch_size": 65_536,
    "max_length": 2**20, "max_steps": 10**8, "eval_every": 10**8, "early_stopping_patience": 10_000,
    "seed": 2**32 - 1, "student_layers": 1000, "augment_copies": 20, "max_examples": 10**7,
    "side_by_side": 1000, "max_new_tokens": 65_536, "run_id": 2**62,
}
MAX_EPOCHS = 10_000
MAX_CHECKPOINT_MINUTES = 100_000


class ConfigError(ValueError):
    """A setting a person has to change; the message is one plain sentence."""

    def __init__(self, sentence: str = "") -> None:
        # A sentence quotes what the person gave (a model name, a path); whatever that held, it stays one
        # printable line of reasonable length.
        if len(sentence) > 400 or not sentence.isprintable():
            sentence = shown(sentence, 400)
        super().__init__(sentence)

    @classmethod
    def said(cls, code: str, **values: object) -> ConfigError:
        """The error with its sentence declared in the message catalogue (engine/protocol.py)."""
        return cls(message(code, **values)[1])


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
        3, "Stop when neither the evaluation score nor the loss on held-out examples has improved this many "
        "times in a row (0: never stop early)."
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
    gpus: int = setting(
        0, "How many GPUs train at once, each on a share of every batch: 0 uses all of this computer's GPUs "
        "that help, and says why; 1 keeps the run on one GPU. Without a GPU, more than 1 runs that many "
        "processes on the CPU, which checks the multi-GPU path but is not faster."
    )
    sharding: str = setting(
        "auto", "With several GPUs: 'off' gives each GPU a whole copy of the model (the fastest, when it fits one "
        "GPU); 'fsdp' divides the model, its gradients and its optimizer's state among them (FSDP2), for a model "
        "too large for one GPU; 'auto' lets Tunewright choose and explain why. With one GPU nothing is divided.",
        choices=["auto", "off", "fsdp"],
    )
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
            raise ConfigError.said("config.no_model")
        if not self.data:
            raise ConfigError.said("config.no_data")
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
        _check(self.gpus >= 0, "gpus", "0 (all that help) or more", self.gpus)
        if self.sharding == "fsdp" and self.method == "qlora":
            raise ConfigError.said("config.sharding_qlora")
        _check(0 < self.checkpoint_minutes <= MAX_CHECKPOINT_MINUTES, "checkpoint_minutes", "more than 0", self.checkpoint_minutes)
        _check(self.epochs is None or self.epochs <= MAX_EPOCHS, "epochs", f"at most {MAX_EPOCHS:,}", self.epochs)
        _check(self.seed >= 0, "seed", "a whole number of 0 or more", self.seed)
        for f in fields(self):
            options = f.metadata.get("choices")
            if options and getattr(self, f.name) not in options:
                raise ConfigError.said("config.not_a_choice", name=f.name, choices=", ".join(map(repr, options)),
                                       value=repr(getattr(self, f.name)))

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
    question_column: str = setting("", "A table's column with the questions (prompts). Empty: guessed from the data.")
    answer_column: str = setting("", "A table's column with the answers to learn. Empty: guessed from the data.")
    context_column: str = setting("", "A table's column with context or instructions for each answer (a system "
                                  "message). Empty: guessed, or none.")
    conversation_column: str = setting("", "A table's column with a conversation id: consecutive rows with the same "
                                       "id are the turns of one conversation. Empty: guessed, or each row is one.")
    max_length: int | None = setting(
        512, "Longest conversation in tokens; longer ones are shortened (and counted). Empty: covers 99% of the data."
    )
    batch_size: int = setting(8, "Conversations per optimizer step.")

    kind = JobKind.CHAT.value


@dataclass
class DistillConfig(JobConfig):
    """Teach a smaller, faster student model to answer like a larger teacher, on your data (distillation)."""

    model: str = setting("", "Filled in with the teacher, so the list of runs shows it; leave it empty.")
    task: str = setting("", "Filled in with the teacher's task when the run starts; leave it empty.")
    method: str = setting("full", "A student learns with all its weights ('full'), the only choice here.", choices=["full"])
    sharding: str = setting(
        "auto", "A student is small by design, so each GPU trains a whole copy of it ('auto' or 'off').",
        choices=["auto", "off"],
    )
    teacher: str = setting(
        "", "The model that teaches: a finished run ('run:12'), or a model or folder that already does the "
        "task (a text classifier trained on your categories, or a chat model such as 'demo:smollm2')."
    )
    student: str = setting(
        "", "The student. Empty: made from the teacher by keeping some of its layers (see student_layers). "
        "Or a smaller model or folder: for chat models it must use the teacher's vocabulary (same model "
        "family); for classifiers any text encoder works and is given the teacher's categories; for image "
        "models, one of the same family ('demo:efficientnet-lite0'), cut to student_layers blocks."
    )
    student_layers: int = setting(
        0, "How many layers the student keeps, evenly spread, first and last included: of the teacher's, or of "
        "the student model when one is named. Fewer layers: smaller and faster, but it keeps less. 0: half of "
        "the teacher's; all of a named student's. Image models: how many blocks (the first of each stage and "
        "an even share of the others; 0: half)."
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
            raise ConfigError.said("config.no_teacher")
        self.model = self.teacher  # a mirror of the teacher: the run list and queue show `model`
        super().__post_init__()
        _check(self.student_layers >= 0, "student_layers", "0 (half) or a whole number of layers", self.student_layers)
        if self.temperature is not None:
            _check(0.0 < self.temperature <= 20.0, "temperature", "a number above 0 and at most 20, such as 2", self.temperature)
        _check(0.0 <= self.alpha <= 1.0, "alpha", "a share from 0 to 1, such as 0.5", self.alpha)
        _check(0.0 < self.threshold < 1.0, "threshold", "a probability between 0 and 1", self.threshold)
        _check(0 <= self.augment_copies <= 20, "augment_copies", "a whole number from 0 to 20", self.augment_copies)
        _check_task(self.task)




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
            raise ConfigError.said("config.not_a_choice", name="format", choices=", ".join(map(repr, EXPORT_FORMATS)), value=repr(self.format))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass
class EvaluateConfig:
    """Score a model on held-out examples: a run's model, a model folder, or a catalog model."""

    model: str = setting("", "What to score: a run number, a model folder, or a catalog model such as 'demo:minilm'.")
    data: str = setting("", "The file of held-out examples, with the right answers.")
    task: str = setting("", "The task the model does (see `tunewright-engine example`). Empty: the run's task, or guessed from the model.")
    max_examples: int = setting(200, "Chat models: answer at most this many examples (the first ones in the file; "
                                "the results say how many of how many). A classifier scores every row.")
    held_out: bool = setting(False, "The data is the examples the run held back from training (kept with the run).")
    side_by_side: int = setting(8, "Chat: how many answers to show next to the starting model's answers.")
    max_new_tokens: int = setting(64, "Chat: the longest answer generated, in tokens.")
    name: str = setting("", "A name for this evaluation, shown in the list of runs.")
    device: str = setting("auto", "Where to run the model: 'auto', 'cuda', 'mps' or 'cpu'.", choices=["auto", "cuda", "mps", "cpu"])
    precision: str = setting("fp32", "Number format while scoring.", choices=["auto", "bf16", "fp16", "fp32"])

    kind = "evaluate"

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError.said("config.nothing_to_evaluate")
        if not self.data:
            raise ConfigError.said("config.no_held_out_data")
        _check(self.max_examples >= 1, "max_examples", "a whole number of at least 1", self.max_examples)
        _check(self.side_by_side >= 0, "side_by_side", "0 or more", self.side_by_side)
        _check(self.max_new_tokens >= 1, "max_new_tokens", "a whole number of at least 1", self.max_new_tokens)
        _check_task(self.task)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def config_types() -> dict[str, type]:
    """Every kind of job and its settings: one per task in the table of tasks, and the jobs all tasks share."""
    from engine.advisor.settings import AdviseConfig  # the advisor's questions: jobs that train nothing
    from engine.tasks import TASKS  # the task modules import their config types from here

    return {
        **{name: task.config for name, task in TASKS.items()},
        DistillConfig.kind: DistillConfig, ExportConfig.kind: ExportConfig, EvaluateConfig.kind: EvaluateConfig,
        AdviseConfig.kind: AdviseConfig,
    }


def _check_task(name: str) -> None:
    from engine.tasks import TASKS

    _check(not name or name in TASKS, "task", f"empty or one of {', '.join(map(repr, TASKS))}", name)


def _check(ok: bool, name: str, expected: str, got: Any) -> None:
    if not ok:
        raise ConfigError.said("config.must_be", name=name, expected=expected, value=shown(repr(got)))


def _check_limits(config: Any) -> None:
    """Every whole-number setting below its ceiling (LIMITS), and every text one below MAX_TEXT_SETTING."""
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in LIMITS and isinstance(value, int) and value > LIMITS[f.name]:
            raise ConfigError.said("config.too_large", name=f.name, limit=LIMITS[f.name], value=shown(value))
        if isinstance(value, str) and len(value) > MAX_TEXT_SETTING:
            raise ConfigError.said("config.too_long", name=f.name, length=len(value))


def config_type(kind: str) -> type[JobConfig]:
    known = config_types()
    if isinstance(kind, str) and kind in known:
        return known[kind]
    raise ConfigError.said("config.unknown_kind", kind=shown(kind), kinds=", ".join(known))


def from_dict(values: dict[str, Any], kind: str | None = None) -> JobConfig:
    """Build and validate a config; unknown settings are refused with the nearest known name."""
    values = dict(values)
    kind = kind or values.pop("kind", None) or ""
    values.pop("kind", None)
    cls = config_type(kind)
    known = {f.name for f in fields(cls)}
    for name in values:
        if name not in known:
            near = difflib.get_close_matches(name[:100], known, n=1)
            if near:
                raise ConfigError.said("config.unknown_setting_near", name=shown(name), kind=kind, near=near[0])
            raise ConfigError.said("config.unknown_setting", name=shown(name), kind=kind)
    hints = get_type_hints(cls)
    config = cls(**{name: _coerce(name, value, hints[name]) for name, value in values.items()})
    _check_limits(config)
    return config


def load(path: Path | str, overrides: list[str] = ()) -> JobConfig:
    """Read a config JSON file and apply `key=value` overrides (as from `--set`)."""
    path = Path(path)
    name = shown(path.name)
    try:
        if path.is_dir():
            raise ConfigError.said("config.is_folder", file=name)
        if path.exists() and not path.is_file():
            raise ConfigError.said("config.not_a_file", file=name)
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError.said("config.file_too_large", file=name)
        values = json.loads(raw.decode("utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError.said("config.no_file", path=shown(path, 200)) from None
    except OSError as error:
        raise ConfigError.said("config.unreadable", file=name, reason=shown(error.strerror or error)) from None
    except UnicodeDecodeError:
        raise ConfigError.said("config.not_text", file=name) from None
    except json.JSONDecodeError as error:
        raise ConfigError.said("config.not_json", file=name, error=f"{error.msg} at line {error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise ConfigError.said("config.too_deep", file=name) from None
    if not isinstance(values, dict):
        raise ConfigError.said("config.not_an_object", file=name)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep:
            raise ConfigError.said("config.bad_override", override=shown(override))
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
    except (json.JSONDecodeError, RecursionError):
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
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                return value  # exact, however large; LIMITS says when it is too large
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
            if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
                raise ValueError
            return {str(k): str(v) for k, v in value.items()}
        if text.startswith("str"):
            if isinstance(value, (list, dict, bool)):
                raise ValueError
            return str(value)
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError, json.JSONDecodeError):
        kind = {"int": "a whole number", "float": "a number", "bool": "true or false",
                "dict": "a JSON object of names and texts", "str": "a text"}
        expected = next((v for k, v in kind.items() if text.startswith(k)), text)
        raise ConfigError.said("config.must_be", name=name, expected=expected, value=shown(repr(value))) from None
    return value


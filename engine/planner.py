"""Settings the engine decides for the user, each with the sentence that explains it.

`plan(config, machine, data)` fills in what the user left empty (method "auto", sharding "auto" with several
GPUs, micro_batch_size None, gradient_checkpointing "auto", max_length None, epochs None, learning_rate None,
eval_every 0) from the model's config, the data's token lengths and the memory there is, using
engine/forecast.py; the recipes call `settle` when a run starts and record each decision as a `plan.*` event;
`tunewright-engine plan` prints it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine import proven
from engine.config import JobConfig
from engine.protocol import message
from engine.tasks import task as task_named
from engine.forecast import (
    GB, MemoryForecast, ModelShape, forecast_memory, load_shape, parameter_counts,
)
from engine.timing import Measured, RunTime, evaluation_passes, forecast_run_time

# Below this size a task may learn best at its own "full_small" rate (see engine/tasks).
SMALL_ENCODER = 50_000_000
# Encoders below this size train every weight: fast, and the best results for text classification.
FULL_TRAINING_LIMIT = 400_000_000
# The length limit covers this share of the examples; the rest are shortened (and counted).
LENGTH_COVERAGE = 0.99


def learning_rate(kind: str, method: str, parameters: int = 0) -> tuple[float, str]:
    task = task_named(kind)
    value = task.learning_rate(method)
    why = {
        "full": "every weight is trained, so small steps keep what the model already knows",
        "lora": "only the small adapters learn, and they need larger steps",
        "qlora": "only the small adapters learn, and they need larger steps",
    }[method]
    if method == "full" and task.learning_rates.get("full_small", value) != value and 0 < parameters <= SMALL_ENCODER:
        value = task.learning_rates["full_small"]
        why = f"a small {task.model_family} ({parameters / 1e6:.0f} million weights) learns best with larger steps"
    return value, f"Learning rate {value:g}: {why}."


@dataclass
class Machine:
    """What the planner needs to know about where training runs."""

    device_type: str  # "cuda", "mps" or "cpu"
    name: str
    memory: float | None  # bytes the model may use: the GPU's memory; None on a CPU (RAM is rarely the limit)
    bitsandbytes: bool = False
    processes: int = 1  # how many train the run together, one per GPU (engine/distributed.py)
    can_shard: bool = False  # dividing a model among the GPUs proved itself here (engine/selftest.py)
    start_up: float | None = None  # seconds a job process takes to start here, when measured

    @classmethod
    def from_probe(cls, probe) -> "Machine":
        best = probe.devices[0]
        memory = float(best.total_memory) if best.type == "cuda" else None
        return cls(best.type, best.name, memory, "bitsandbytes" in probe.versions)


def machine_for(device) -> Machine:
    """The machine a job runs on (a torch.device)."""
    import torch

    from engine import distributed

    processes = distributed.current().size
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        # QLoRA and dividing the model only where they proved themselves on this GPU (engine/selftest.py)
        return Machine(
            "cuda", torch.cuda.get_device_name(device), float(total), proven.passed("qlora"), processes, proven.passed("sharded")
        )
    return Machine(device.type, device.type, None, processes=processes)


@dataclass
class DataStats:
    rows: int  # training examples
    token_lengths: list[int]  # of all examples, or of a sample of them
    eval_rows: int = 0  # examples checked at each evaluation
    weights_bytes: float = 0.0  # the model's weight files: read at start-up, written at each best checkpoint
    read_seconds: float | None = None  # to read them at start-up, when known (a GGUF file is unpacked as read)
    eval_lengths: list[int] = field(default_factory=list)  # of an evaluation file's examples; empty: as training's

    def length_covering(self, share: float) -> int:
        ordered = sorted(self.token_lengths)
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else 0

    @property
    def mean_length(self) -> float:
        return sum(self.token_lengths) / len(self.token_lengths) if self.token_lengths else 0.0


@dataclass
class Decision:
    setting: str
    value: Any
    reason: str  # one plain sentence


@dataclass
class Plan:
    config: JobConfig  # with every automatic setting filled in
    decisions: list[Decision] = field(default_factory=list)
    memory: MemoryForecast | None = None
    time: RunTime | None = None
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "decisions": [asdict(d) for d in self.decisions],
            "memory": self.memory.to_dict() if self.memory else None,
            "time": self.time.to_dict() if self.time else None,
            "steps": self.steps,
        }


def plan(config: JobConfig, machine: Machine, data: DataStats, shape: ModelShape | None, *, task: str = "",
         timer: Callable[[str, int, int, float], Measured | None] | None = None) -> Plan:
    """Decide every automatic setting of `config` (a copy is returned inside the Plan). Without a shape (a
    model whose config gives no sizes) the settings get plain defaults and there is no forecast. `task` is
    what the model learns when it differs from the job's kind (a distillation's teacher's task); `timer`
    times real steps at the planned shape (method, micro-batch, batch width, evaluation width) where it can."""
    from engine.config import from_dict

    config = from_dict(config.to_dict())  # decide on a copy; the caller's config stays as the user wrote it
    result = Plan(config)

    def decide(setting: str, value: Any, reason: str) -> None:
        setattr(config, setting, value)
        result.decisions.append(Decision(setting, value, reason))

    precision = "bf16" if machine.device_type == "cuda" and config.precision in ("auto", "bf16") else (
        "fp32" if config.precision == "auto" else config.precision
    )
    parameters = parameter_counts(shape).total if shape else 0
    context = shape.context if shape else 2048
    can_forecast = shape is not None and machine.memory is not None

    # Length limit: cover nearly all examples, never beyond what the model was built for.
    if config.max_length is None:
        covering = data.length_covering(LENGTH_COVERAGE) or 128
        value = min(_round_up(covering, 8), context)
        longer = sum(1 for n in data.token_lengths if n > value)
        share = longer / max(len(data.token_lengths), 1)
        if value == context and longer:
            why = f"the model reads at most {value} tokens, so {share:.0%} of your examples are shortened."
        elif longer:
            why = f"it covers {1 - share:.0%} of your examples; the few longer ones are shortened."
        else:
            why = "it covers all of your examples, without padding every batch to a larger size."
        decide("max_length", value, f"Length limit {value} tokens: {why}")
    seq_len = config.max_length

    def memory(method: str, micro: int, checkpointing: bool, shards: int = 1) -> MemoryForecast:
        return forecast_memory(
            shape, method, micro, seq_len, checkpointing=checkpointing, precision=precision,
            lora_rank=config.lora_rank, accumulation=math.ceil(config.batch_size / micro), available=machine.memory,
            shards=shards,
        )

    # Several GPUs may divide the model among them (FSDP2) where that proved itself and the settings allow it.
    divisible = machine.processes > 1 and machine.can_shard and config.sharding != "off"

    # Method: full for small encoders, LoRA for language models, QLoRA when LoRA would not fit, even divided.
    if config.method == "auto":
        if shape and shape.encoder and parameters < FULL_TRAINING_LIMIT:
            decide("method", "full", f"Full training: the model is small ({parameters / 1e6:.0f} million weights), so training every weight is fast and gives the best results.")
        elif (can_forecast and not shape.encoder and machine.bitsandbytes and config.sharding != "fsdp"
              and not memory("lora", 1, True).fits and not (divisible and memory("lora", 1, True, machine.processes).fits)):
            decide("method", "qlora", "QLoRA: even with the smallest batch the model does not fit in this GPU's memory in 16-bit, so it is loaded in 4-bit and small adapters are trained.")
        else:
            frozen = f" ({parameters / 1e6:.0f} million weights stay frozen)" if parameters else ""
            decide("method", "lora", f"LoRA: only small adapter matrices are trained{frozen}, which is fast, light and nearly as good as training every weight.")
    method = config.method

    # With several GPUs: a whole copy of the model on each, or the model divided among them.
    if config.sharding == "auto" and machine.processes > 1:
        value, code, values = _sharding(machine, method, memory(method, 1, True) if can_forecast else None)
        decide("sharding", value, message(code, **values)[1])
    shards = machine.processes if config.sharding == "fsdp" else 1

    # Batch layout: the largest micro-batch that fits, without gradient checkpointing when possible.
    checkpointing = {"on": True, "off": False}.get(config.gradient_checkpointing)
    micro = config.micro_batch_size
    if not can_forecast:
        micro = micro or config.batch_size
        checkpointing = bool(checkpointing)
    else:
        options = [False, True] if checkpointing is None else [checkpointing]
        for candidate in options:
            choice = micro or _largest_fitting(config.batch_size, lambda m: memory(method, m, candidate, shards).fits)
            if choice and memory(method, choice, candidate, shards).fits:
                micro, checkpointing = choice, candidate
                break
        else:
            micro, checkpointing = micro or 1, options[-1]
    if config.micro_batch_size is None:
        pieces = math.ceil(config.batch_size / micro)
        decide("micro_batch_size", micro, (
            f"The whole batch of {config.batch_size} goes through the model at once."
            if pieces == 1 else
            f"Each step's {config.batch_size} examples go through the model in {pieces} pieces of {micro}, so they fit in memory; the update is the same as one batch of {config.batch_size}."
        ))
    if config.gradient_checkpointing == "auto":
        decide("gradient_checkpointing", "on" if checkpointing else "off", (
            "Memory saving on: the model only fits by working parts of it out again when it learns from each batch, instead of keeping them (about a third slower)."
            if checkpointing else "Memory saving off: the model fits in memory without it, so training runs at full speed."
        ))
    if can_forecast:
        result.memory = memory(method, config.micro_batch_size, config.gradient_checkpointing == "on", shards)

    # Learning rate, epochs and evaluation.
    if config.learning_rate is None:
        value, reason = learning_rate(task or config.kind, method, parameters)
        decide("learning_rate", value, reason)
    if config.epochs is None:
        value, reason = epochs_for(data.rows)
        decide("epochs", value, reason)
    steps = config.max_steps or max(1, round(config.epochs * math.ceil(data.rows / config.batch_size)))
    result.steps = steps
    if config.eval_every == 0:
        value = max(1, math.ceil(steps / 10))
        decide("eval_every", value, f"The model is checked on held-out examples every {value} steps, about ten times in the run, to keep the best version and notice overfitting.")

    if shape is not None:
        from engine.timing import grouped_width, padded_length

        eval_length = padded_length(data.eval_lengths or data.token_lengths, seq_len, EVAL_BATCH)
        # The fine-tuning recipes put examples of similar length together; a distillation draws its batches
        # at random, each padded to its longest example.
        widths = padded_length if getattr(config, "teacher", "") else grouped_width
        width = widths(data.token_lengths, seq_len, config.micro_batch_size) if data.token_lengths else seq_len
        measured = timer(method, config.micro_batch_size, round(width), eval_length) if timer else None
        result.time = forecast_run_time(
            shape, method, device_type=machine.device_type, device_name=machine.name, steps=steps,
            batch=config.batch_size, micro=config.micro_batch_size, seq_len=seq_len, mean_length=width,
            rows=data.rows, eval_rows=data.eval_rows, eval_length=eval_length,
            evaluations=evaluation_passes(steps, config.eval_every), weights_bytes=data.weights_bytes, measured=measured,
            start_up=machine.start_up, lora_rank=config.lora_rank, read_seconds=data.read_seconds,
        )
    return result


def _sharding(machine: Machine, method: str, least: MemoryForecast | None) -> tuple[str, str, dict[str, Any]]:
    """With several GPUs: 'off' (a whole copy of the model on each) or 'fsdp' (the model divided among them),
    with the message code and values that say why. `least`: the forecast of the smallest layout (one example at
    a time, with memory saving) on one GPU; None when there is none."""
    if machine.device_type != "cuda":
        return "off", "plan.sharding_processor", {}
    if method == "qlora":
        return "off", "plan.sharding_4bit", {}
    if least is None:
        return "off", "plan.sharding_unknown", {}
    need, have = least.details["model_state"] / GB, machine.memory / GB
    if least.fits:
        return "off", "plan.sharding_whole", {"need": need, "have": have}
    if not machine.can_shard:
        return "off", "plan.sharding_unproven", {"need": need, "have": have}
    count = machine.processes
    return "fsdp", "plan.sharding_divided", {"need": need, "have": have, "count": count, "share": need / count}


EVAL_BATCH = 64  # examples per evaluation batch in the recipes


def epochs_for(rows: int) -> tuple[float, str]:
    """Small data sets need more passes to learn from; large ones learn in one or two and overfit beyond."""
    if rows >= 50_000:
        return 1.0, f"1 epoch: {rows:,} examples are plenty to learn from in one pass."
    if rows >= 10_000:
        return 2.0, f"2 epochs: {rows:,} examples learn well in two passes."
    if rows >= 1_000:
        return 3.0, f"3 epochs: the usual number of passes for {rows:,} examples."
    value = float(min(10, max(3, math.ceil(3_000 / max(rows, 1)))))
    return value, f"{value:g} epochs: with only {rows} examples, more passes are needed to learn; the best checkpoint is kept if it starts to overfit."


def _largest_fitting(batch: int, fits) -> int:
    """The largest micro-batch size (the batch halved step by step) that fits, or 0."""
    micro = batch
    while micro >= 1:
        if fits(micro):
            return micro
        micro //= 2
    return 0


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


# ---------------------------------------------------------------- at the start of a run


def settle(job, model_folder, token_lengths: list[int], rows: int, gguf_file: str = "") -> Plan:
    """Decide the job's automatic settings, write them into its config, and record each as an event."""
    try:
        shape = load_shape(model_folder, gguf_file)
    except (OSError, ValueError) as problem:
        shape = None
        job.event("plan.setting", reason=f"The model's size could not be read ({problem}), so the settings left empty get plain defaults and there is no memory forecast.")
    config = job.config
    # The recipes hold out `eval_fraction` of the data when there is no evaluation file: about this many rows.
    eval_rows = 0 if config.eval_data else round(rows * config.eval_fraction / (1 - config.eval_fraction))
    from engine import store
    from engine.timing import read_seconds, weights_bytes

    # A run the window planned (or one resumed) has its forecasts among its events already: they are not made
    # again, and no steps are timed for them.
    forecast = not any(event["code"] == "plan.time" for event in store.events(job.db, job.run_id))
    data = DataStats(rows, token_lengths, eval_rows, weights_bytes(model_folder), read_seconds(model_folder))
    timer = cpu_timer(model_folder, job.config, gguf_file) if job.device.type == "cpu" and forecast else None
    result = plan(job.config, machine_for(job.device), data, shape, timer=timer)
    for decision in result.decisions:
        setattr(job.config, decision.setting, decision.value)
    for code, reason in plan_events(result.to_dict(), job.config.to_dict(), forecasts=forecast):
        job.event(code, reason=reason)
    if result.decisions:
        job.save_config()
    return result


def plan_events(plan: dict[str, Any], config: dict[str, Any], forecasts: bool = True) -> list[tuple[str, str]]:
    """(event code, sentence) for each decision of a plan (as `Plan.to_dict` gives it) that the run's config
    kept, then (with `forecasts`) the memory and the time forecasts: what a run records, whoever made the plan."""
    events = [
        (PLAN_EVENTS.get(decision["setting"], "plan.setting"), decision["reason"])
        for decision in plan.get("decisions") or []
        if config.get(decision["setting"]) == decision["value"]  # not one the person changed afterwards
    ]
    if not forecasts:
        return events
    if plan.get("memory"):
        events.append(("plan.memory" if plan["memory"]["fits"] else "plan.memory_short", plan["memory"]["sentence"]))
    if plan.get("time"):
        events.append(("plan.time", plan["time"]["sentence"]))
    return events


def record_plan(db, run_id: int, plan: dict[str, Any]) -> None:
    """Store the sentences of a plan made before the run was submitted (the window's Plan step) as the run's
    events, as `settle` does for a plan the job process makes."""
    from engine import store

    for code, reason in plan_events(plan, store.get_run(db, run_id)["config"]):
        store.add_event(db, run_id, code, reason=reason)


PLAN_EVENTS = {
    "method": "plan.method",
    "learning_rate": "plan.learning_rate",
    "max_length": "plan.max_length",
    "micro_batch_size": "plan.batch_layout",
    "sharding": "plan.sharding",
    "gradient_checkpointing": "plan.checkpointing",
    "epochs": "plan.epochs",
    "eval_every": "plan.eval_every",
}


# Token lengths are measured on at most this many examples: enough for the 99th percentile.
LENGTH_SAMPLE = 2_000


def sample_rows(rows: list, limit: int = LENGTH_SAMPLE) -> list:
    """A fixed random sample of the rows (all of them when there are few)."""
    import random

    return rows if len(rows) <= limit else random.Random(0).sample(rows, limit)


def chat_token_lengths(tokenizer, conversations: list, limit: int = LENGTH_SAMPLE) -> list[int]:
    """Full token length (before any shortening) of a sample of conversations, rendered as for training."""
    from engine.data.chat import tokenize_conversation

    lengths = []
    for turns in sample_rows(conversations, limit):
        example = tokenize_conversation(tokenizer, turns, 1_000_000)
        if example is not None:
            lengths.append(len(example.input_ids))
    return lengths


def needs_planning(config: JobConfig) -> bool:
    from engine import distributed

    return (
        config.method == "auto" or config.micro_batch_size is None or config.gradient_checkpointing == "auto"
        or config.max_length is None or config.epochs is None or config.learning_rate is None or config.eval_every == 0
        or (config.sharding == "auto" and distributed.current().size > 1)
    )


def describe_memory(forecast: MemoryForecast) -> str:
    parts = ", ".join(f"{name.replace('_', ' ')} {value / GB:.2f}" for name, value in forecast.parts.items() if value)
    return f"{forecast.sentence()} Peak {forecast.allocated / GB:.2f} GB: {parts} GB."


# ---------------------------------------------------------------- without training (`tunewright-engine plan`)


def plan_without_training(config: JobConfig) -> Plan:
    """The plan a run of `config` would start with: reads the data and the model's config and tokenizer,
    never the weights."""
    from engine.hardware import pick_device, probe
    from engine.models.catalog import resolve
    from engine.models.tokenizers import load_tokenizer

    device = pick_device(config.device)  # a device this computer does not have is refused here, as a run would be
    task, teacher_shape = "", None
    if getattr(config, "teacher", ""):  # a distillation: the student is what trains, on the teacher's task
        from engine import store
        from engine.models.students import find_teacher

        teacher = find_teacher(config.teacher, store.default_home(), allow_unsafe=config.allow_unsafe_weights)
        if task_named(teacher.task).plan_alone is not None:  # its models are not transformers': it plans their students
            return task_named(teacher.task).plan_alone(config)
        source, shape, task, teacher_shape = _distillation_student(config, teacher)
    elif task_named(config.kind).plan_alone is not None:  # its models are not transformers'
        return task_named(config.kind).plan_alone(config)
    else:
        source = resolve(config.model, allow_unsafe=config.allow_unsafe_weights)
        shape = load_shape(source.path, source.gguf_file)
    tokenizer = load_tokenizer(source, allow_unsafe=config.allow_unsafe_weights)
    from engine.timing import process_start_seconds

    _import_as_a_job_does(config.kind)
    start_up = process_start_seconds()  # this process has started as a job process does, so far
    lengths, rows = task_named(task or config.kind).plan(config, tokenizer)
    eval_lengths: list[int] = []
    if config.eval_data:
        # Read as the task reads it: a tagged file's examples are its texts, not its lines.
        eval_lengths, eval_rows = task_named(task or config.kind).plan(replace(config, data=config.eval_data), tokenizer)
    else:
        eval_rows = round(rows * config.eval_fraction)  # the share set aside for evaluation
        rows -= eval_rows
    found = probe()
    machine = Machine.from_probe(found)
    if config.device == "cpu" or device.type == "cpu":
        machine = Machine("cpu", "cpu", None)
    if machine.device_type == "cuda":  # as many processes as the run would start (engine/job.py)
        from engine import distributed

        gpus = sum(each.type == "cuda" for each in found.devices)
        machine.processes = distributed.plan(config, gpus, proven.passed("multi_gpu"))[0]
        machine.can_shard = proven.passed("sharded")
    machine.start_up = start_up
    from engine.timing import read_seconds, weights_bytes

    data = DataStats(rows, lengths, eval_rows, eval_lengths=eval_lengths, weights_bytes=weights_bytes(source.path),
                     read_seconds=read_seconds(source.path))
    timer = cpu_timer(source.path, config, source.gguf_file, task=task, shape=shape) if machine.device_type == "cpu" else None
    result = plan(config, machine, data, shape, task=task, timer=timer)
    if teacher_shape is not None and result.time is not None:
        add_teacher_time(result, teacher_shape, data, machine)
        if getattr(config, "compare_with_plain", False):  # a second student of the same size, without the teacher
            again = result.time.parts["training"] + result.time.parts["evaluation"]
            result.time.parts["plain_student"] = again
            result.time.seconds += again
    return result


def _import_as_a_job_does(kind: str) -> None:
    """Import what a job process imports before it trains (the training loop and the kind's recipe), so that
    this process's age measures a job's start-up on this machine as it is now."""
    import engine.training  # noqa: F401 - imported for its cost
    from engine.job import recipe_for
    from engine.tasks import Lazy

    recipe = recipe_for(kind)
    if isinstance(recipe, Lazy):
        recipe.resolve()


def cpu_timer(model_folder, config: JobConfig, gguf_file: str = "", *, labels: int = 2, task: str = "",
              shape: ModelShape | None = None):
    """A timer for `plan`: two real steps of the model at the planned shape, on this CPU (engine/timing.py).
    `shape` is the student's when it keeps fewer layers than the model in `model_folder`."""
    from engine.timing import measure_steps

    from engine.tasks import CAUSAL

    classifier = task_named(task or config.kind).model_family != CAUSAL  # a tagger times like a classifier
    layers = shape.layers if shape is not None else None

    def timer(method: str, micro: int, width: int, eval_length: float):
        return measure_steps(model_folder, method, micro, width, eval_length, classifier=classifier,
                             num_labels=labels, gguf_file=gguf_file, layers=layers)

    return timer


def _distillation_student(config, teacher):
    """The student a distillation trains, as the planner needs it: the folder its tokenizer and config come
    from, its shape (the teacher's, or the named student's, with the layers it keeps), the teacher's task and
    the teacher's shape (its forward passes are part of the run's time)."""
    teacher_shape = load_shape(teacher.source.path, teacher.source.gguf_file)
    if config.student:
        source = resolve(config.student, allow_unsafe=config.allow_unsafe_weights)
        shape = load_shape(source.path, source.gguf_file)
        layers = config.student_layers or shape.layers
    else:
        source, shape = teacher.source, teacher_shape
        layers = config.student_layers or max(1, shape.layers // 2)
    return source, replace(shape, layers=min(layers, shape.layers)), teacher.task, teacher_shape


def add_teacher_time(result: Plan, teacher: ModelShape, data: DataStats, machine: Machine) -> None:
    """The teacher answers every training and evaluation example once (the recipes keep its answers for
    the epochs that follow) and is scored once on the evaluation examples."""
    from engine.forecast import flops_per_token, sustained_flops

    rate, _ = sustained_flops(machine.device_type, machine.name)
    tokens = (data.rows + 2 * data.eval_rows) * (data.mean_length or 64)
    seconds = tokens * flops_per_token(teacher, "full", result.config.max_length or 128) / 3 / rate
    result.time.parts["teacher"] = seconds
    result.time.seconds += seconds


def describe(result: Plan) -> str:
    """The plan as a person reads it: each decision, the memory and the time."""
    lines = [f"- {d.reason}" for d in result.decisions]
    if result.memory is not None:
        lines.append(f"- Memory: {describe_memory(result.memory)}")
    if result.time is not None:
        lines.append(f"- Time: {result.time.sentence()} ({result.time.detail()})")
    return "\n".join(lines)

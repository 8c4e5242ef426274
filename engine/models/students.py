"""Teachers and students for distillation, without loading a model: torch-free, so the window's size slider
can use it too.

- `find_teacher` turns what the user named ('run:12', a catalog model, a folder) into a folder to load,
  and says which task it does (sorting texts into categories, or answering).
- `spread_layers` picks the teacher layers a student keeps: evenly spread, the first and last included.
- `student_size` says how many parameters such a student has and how much faster it should answer; it
  reads only the tensor shapes stored in the weight files (safetensors or GGUF headers), so it is exact
  for any architecture and costs milliseconds.
- `Cut` is a student once made: what every task's way of cutting a model (a transformer's layers, an image
  network's blocks) hands the distillation recipe, which says it and trains it without knowing how it was cut.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import safe_open

from engine import store
from engine.config import ConfigError
from engine.models.catalog import ModelSource, resolve
from engine.tasks import TASKS, task_of_architectures

#: A tensor that belongs to transformer layer N: "bert.encoder.layer.N.", "model.layers.N.", GGUF's "blk.N.".
LAYER_TENSOR = re.compile(r"(?:^|\.)(?:layer|layers|blk|h|block|blocks)\.(\d+)\.")
#: A tensor of block B of stage S of an image network (timm's EfficientNet and MobileNet): "blocks.S.B.".
BLOCK_TENSOR = re.compile(r"^blocks\.(\d+)\.(\d+)\.")
BATCH_NORM_STATISTICS = (".running_mean", ".running_var", ".num_batches_tracked")


@dataclass(frozen=True)
class Teacher:
    """A teacher ready to load. `adapter` is set when a run trained LoRA adapters on top of `source`."""

    ref: str
    source: ModelSource
    task: str  # its name in the table of tasks (engine/tasks)
    adapter: Path | None = None
    run_id: int | None = None
    labels: tuple[str, ...] = ()  # a LoRA classifier run's categories (its adapters hold no names)
    multi_label: bool = False
    starting: str = ""  # a fine-tuning run's starting model ('demo:minilm'): the untaught student is cut from it


def find_teacher(ref: str, home: Path, *, allow_unsafe: bool = False) -> Teacher:
    """The teacher a config names, or a sentence saying why it cannot teach."""
    if ref.startswith("run:"):
        return _teacher_from_run(ref, home, allow_unsafe=allow_unsafe)
    folder = Path(ref).expanduser()
    if (owner := _task_of_folder(folder)) is not None:  # a model folder of a task whose models are not transformers'
        return Teacher(ref, ModelSource(ref, folder, folder.name), owner)
    source = resolve(ref, allow_unsafe=allow_unsafe)
    task = task_of(source)
    if task is None:
        raise ConfigError(
            f"{source.title} has not learned a task yet (it neither sorts texts into categories nor answers "
            "questions), so it has nothing to teach. Fine-tune it on your data first, then distil that run."
        )
    return Teacher(ref, source, task)


def _teacher_from_run(ref: str, home: Path, *, allow_unsafe: bool) -> Teacher:
    try:
        run_id = int(ref[4:])
    except ValueError:
        raise ConfigError(f"'{ref}' should name a run by its number, such as 'run:12'.") from None
    db = store.open_db(store.database_path(home))
    try:
        run = store.get_run(db, run_id)
    except KeyError:
        raise ConfigError(f"There is no run {run_id} to use as the teacher.") from None
    model_dir = Path(run["run_dir"] or "") / "model"
    if run["status"] != "completed":
        raise ConfigError(f"Run {run_id} has not finished (it is {run['status']}), so it has no model to teach with yet.")
    if not model_dir.is_dir():
        raise ConfigError(f"The model of run {run_id} is no longer in {model_dir}, so it cannot teach.")
    task = run["kind"] if run["kind"] in TASKS else None  # a distilled teacher's task is its own student's
    if (model_dir / "adapter_config.json").exists():
        # LoRA runs keep only the adapters; the teacher is the run's starting model with them merged in.
        base = resolve(run["config"]["model"], allow_unsafe=allow_unsafe)
        made = next(a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] == "adapter")
        source = ModelSource(ref, base.path, run["name"], base.gguf_file, base.bundled)
        labels = tuple(made.get("labels") or ())
        return Teacher(ref, source, run["kind"], model_dir, run_id, labels, bool(made.get("multi_label")), run["config"]["model"])
    source = ModelSource(ref, model_dir, run["name"])
    starting = run["config"]["model"] if task else ""  # a distilled teacher's own start was a teacher
    return Teacher(ref, source, task or task_of(source) or "", None, run_id, starting=starting)


def task_of(source: ModelSource) -> str | None:
    """The name of the task a model already does, from the architecture its config names (or, for a task
    whose models are not transformers', from the files of its folder); None for a bare encoder, which does
    none yet."""
    if (owner := _task_of_folder(source.path)) is not None:
        return owner
    if source.gguf_file:
        architectures = ["ForCausalLM"]  # GGUF files hold language models
    else:
        architectures = json.loads((source.path / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    found = task_of_architectures(architectures)
    return found.name if found else None


def _task_of_folder(folder: Path) -> str | None:
    """The task whose own kind of model folder this is (an image model's), or None."""
    try:
        return next((task.name for task in TASKS.values() if task.model_folder(folder)), None)
    except OSError:  # a name longer than the file system allows: no such folder
        return None


def spread_layers(total: int, keep: int) -> list[int]:
    """Which of `total` layers a student of `keep` layers takes: evenly spread, first and last included
    (6 -> 3 keeps 0, 2, 5; 30 -> 15 keeps every other one and the last)."""
    if not 1 <= keep <= total:
        raise ConfigError(f"A student made from a {total}-layer teacher can keep 1 to {total} layers (not {keep}).")
    if keep == 1:
        return [0]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def choose_blocks(depths: list[int], keep: int) -> list[list[int]]:
    """The blocks of each stage an image student of `keep` blocks keeps (engine/images/cut.py): every stage's
    first, then an evenly spread share of the others; fewer than one a stage: the first stages' first blocks."""
    total = sum(depths)
    if not 1 <= keep <= total:
        raise ConfigError.said("distill.student_blocks_range", total=total, keep=keep)
    if keep < len(depths):
        return [[0] if stage < keep else [] for stage in range(len(depths))]
    skippable = [(stage, block) for stage, depth in enumerate(depths) for block in range(1, depth)]
    extra = keep - len(depths)
    chosen = {skippable[i] for i in spread_layers(len(skippable), extra)} if extra else set()
    return [[0] + [b for b in range(1, depth) if (stage, b) in chosen] for stage, depth in enumerate(depths)]


@dataclass(frozen=True)
class Cut:
    """A student cut from a teacher by keeping some of its parts, each with the teacher's weights."""

    student: Any  # the smaller model
    kept: int  # parts it has
    teacher_parts: int  # parts the teacher has
    unit: str  # what the parts are called: "layers", "blocks"
    title: str  # how the distillation's first sentence names the student: "made of its layers 1, 3, 6"
    speedup: float  # expected: the teacher's work per example over the student's
    #: the event (code, fields) saying what was cut and why, where the first sentence is not enough
    said: tuple[str, dict] = field(default=("", {}))


@dataclass(frozen=True)
class StudentSize:
    """What the size slider shows for a student of `layers` layers."""

    layers: int
    teacher_layers: int
    parameters: int
    teacher_parameters: int
    speedup: float  # expected answers per second, student / teacher
    unit: str = "layers"  # what is kept: a transformer's layers, an image network's blocks

    @property
    def share(self) -> float:
        return self.parameters / self.teacher_parameters


def student_size(folder: Path, layers: int, gguf_file: str = "") -> StudentSize:
    """The parameters of a student keeping `layers` of the teacher's layers, and its expected speed-up.

    Speed follows the work per token: the kept layers plus the output layer (a language model's vocabulary
    projection is a large share of a small model's work); embedding look-ups cost next to nothing.
    """
    shapes = _tensor_shapes(folder, gguf_file)
    if _task_of_folder(folder) is not None and any(BLOCK_TENSOR.match(name) for name in shapes):
        return _image_student_size(shapes, layers)
    per_layer: dict[int, int] = {}
    outside = 0
    for name, shape in shapes.items():
        count = _numel(shape)
        match = LAYER_TENSOR.search(name)
        if match:
            per_layer[int(match.group(1))] = per_layer.get(int(match.group(1)), 0) + count
        else:
            outside += count
    if not per_layer:
        raise ConfigError(f"Tunewright cannot find the layers of the model in {folder.name}, so it cannot make a student from it.")
    total = max(per_layer) + 1
    kept = spread_layers(total, layers)
    head = _output_layer_size(shapes)
    teacher_work = sum(per_layer.values()) + head
    student_work = sum(per_layer.get(i, 0) for i in kept) + head
    return StudentSize(
        layers=len(kept),
        teacher_layers=total,
        parameters=outside + sum(per_layer.get(i, 0) for i in kept),
        teacher_parameters=outside + sum(per_layer.values()),
        speedup=teacher_work / student_work,
    )


def _image_student_size(shapes: dict[str, list[int]], blocks: int) -> StudentSize:
    """An image network's student keeping `blocks` of its blocks (engine/images/cut.py). The speed-up is
    estimated from the weights, as for text; a convolution's work also grows with the size of the picture at
    its stage, so the first, larger stages cost more per weight and the measured speed-up comes out lower."""
    per_block: dict[tuple[int, int], int] = {}
    outside = 0
    for name, shape in shapes.items():
        if name.endswith(BATCH_NORM_STATISTICS):  # kept beside the weights, but no parameters
            continue
        match = BLOCK_TENSOR.match(name)
        if match:
            key = (int(match.group(1)), int(match.group(2)))
            per_block[key] = per_block.get(key, 0) + _numel(shape)
        else:
            outside += _numel(shape)
    depths = [1 + max(b for s, b in per_block if s == stage) for stage in range(1 + max(s for s, _ in per_block))]
    kept = choose_blocks(depths, blocks)
    body = sum(per_block.values())
    student = sum(per_block.get((stage, b), 0) for stage, chosen in enumerate(kept) for b in chosen)
    return StudentSize(layers=sum(map(len, kept)), teacher_layers=sum(depths), parameters=outside + student,
                       teacher_parameters=outside + body, speedup=(outside + body) / (outside + student), unit="blocks")


def _output_layer_size(shapes: dict[str, list[int]]) -> int:
    """The vocabulary projection of a language model (tied to the embeddings when there is no lm_head)."""
    for name in ("lm_head.weight", "output.weight"):
        if name in shapes:
            return _numel(shapes[name])
    if any(name.startswith(("bert.", "roberta.", "classifier.")) for name in shapes):
        return 0  # an encoder's classification head is a few thousand multiplications
    for name in ("model.embed_tokens.weight", "token_embd.weight"):
        if name in shapes:
            return _numel(shapes[name])  # tied: the embedding matrix is also the output layer
    return 0


@functools.lru_cache(maxsize=8)  # the slider asks again at every move
def _tensor_shapes(folder: Path, gguf_file: str) -> dict[str, list[int]]:
    """Every tensor's shape, read from the weight files' headers (no weights are loaded)."""
    if gguf_file:
        from gguf import GGUFReader

        reader = GGUFReader(str(folder / gguf_file))
        return {tensor.name: [int(n) for n in tensor.shape] for tensor in reader.tensors}
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ConfigError(f"{folder.name} has no safetensors weight files to measure.")
    shapes: dict[str, list[int]] = {}
    for path in files:
        with safe_open(str(path), framework="numpy") as weights:  # reads the header only
            shapes |= {name: list(weights.get_slice(name).get_shape()) for name in weights.keys()}
    return shapes


def _numel(shape: list[int]) -> int:
    count = 1
    for n in shape:
        count *= n
    return count

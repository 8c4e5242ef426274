"""Sort pictures into categories: an image model (the bundled EfficientNet-Lite0, or a timm architecture) with
a new last layer learns the person's categories, one per picture or several, and shows where it looked.

Its data are pictures, read from a folder of category folders, a table of picture files, or a zip of either
(engine/images/collect.py), so, like tagged text, the doctor and the Data page's preview take the whole data
set rather than rows of a table. Its models are timm networks, not transformers', so it plans, loads and
exports them itself (`plan_alone`, `load_run`, `write_export`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import JobConfig, _check, setting
from engine.tasks import IMAGE, PICTURES, Lazy, Task, Words

NAME = "images"
PREVIEW_PICTURES = 50
DEMO_MODEL = "demo:efficientnet-lite0"


@dataclass
class ImageConfig(JobConfig):
    """Teach an image model to sort pictures into categories (one per picture, or several)."""

    method: str = setting(
        "auto", "How to train: 'auto' lets Tunewright choose and explain why; an image model this small is "
        "trained whole ('full').", choices=["auto", "full"],
    )
    epochs: float | None = setting(
        None, "How many times to go through the training pictures. Empty: chosen for the number of pictures."
    )
    batch_size: int = setting(32, "Pictures per optimizer step.")
    max_length: int | None = setting(None, "Not used for pictures (their size is 'image_size').")
    image_size: int | None = setting(
        None, "The size in pixels (width and height) pictures are shown to the model at. Empty: the size the model "
        "was made for (224 for EfficientNet-Lite0)."
    )
    mirror: bool = setting(
        True, "May a picture be mirrored (left and right swapped) and still be the same category? Yes for most "
        "photos; no for many medical views, where left and right matter, and for writing or signs."
    )
    head_warmup: float = setting(
        0.1, "Share of the first steps in which only the new last layer learns, the rest of the model held "
        "still (0: every weight learns from the start)."
    )
    statistics: str = setting(
        "auto", "Batch normalisation's statistics of what pictures look like: 'kept' as the pretrained model "
        "learned them (its scales still learn), or 'relearned' from your training batches. 'auto': kept for "
        "fewer than 5,000 pictures.", choices=["auto", "kept", "relearned"],
    )
    workers: int | None = setting(
        None, "Processes that decode and prepare pictures while the model trains. Empty: chosen for this computer."
    )
    threshold: float = setting(0.5, "Several categories per picture: the probability above which a category is given.")

    kind = NAME

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size is not None:
            _check(32 <= self.image_size <= 1024, "image_size", "a size in pixels from 32 to 1024, such as 224", self.image_size)
        _check(0.0 <= self.head_warmup < 1.0, "head_warmup", "a share from 0 up to 1", self.head_warmup)
        _check(self.workers is None or 0 <= self.workers <= 64, "workers", "a number of processes from 0 to 64", self.workers)
        _check(0.0 < self.threshold < 1.0, "threshold", "a probability between 0 and 1", self.threshold)


# ---------------------------------------------------------------- data: recognised, described, checked


def recognises(path) -> bool:
    from engine.images.collect import looks_like_images

    return looks_like_images(path)


def describe_data(path):
    """The data set as the Data page shows it: how it was read, and its first pictures with their categories."""
    from engine.data.formats import ReadOptions
    from engine.data.preview import Description
    from engine.images.collect import read_image_set

    data = read_image_set(path)
    rows = [{"picture": e.shown, "file": e.path, "category": "; ".join(e.labels)} for e in data.examples[:PREVIEW_PICTURES]]
    description = Description(str(path), ReadOptions(format=data.format), ["picture", "category"], rows, NAME, count=len(data.examples))
    description.text_column, description.label_column, description.multi_label = "picture", "category", data.multi_label
    return description


def doctor(path, eval_path="", tokenizer=None, max_length=None, model: str = ""):
    """The doctor's report for pictures (engine/images/checks.py)."""
    from engine.data.doctor import Report
    from engine.images.checks import check_pictures, usable
    from engine.images.collect import read_image_set

    data = read_image_set(path)
    held_out = read_image_set(eval_path) if eval_path else None
    findings, looked = check_pictures(data, held_out, max_length or 224)
    return Report(str(path), NAME, {"format": data.format}, len(data.examples), len(usable(looked)),
                  text_column="picture", label_column="category", classes=data.counts(), findings=findings,
                  eval_file=str(eval_path or ""), model=model, max_length=max_length)


def plan(config, tokenizer) -> tuple[list[int], int]:
    """Pictures have no token lengths: none, and the number of pictures. (The planner asks `plan_alone`
    instead, which decides the image settings themselves.)"""
    from engine.images.collect import read_image_set

    return [], len(read_image_set(config.data).examples)


def plan_alone(config):
    """The plan a run would start with, decided as the recipe decides it (engine/images/steps.py), and how long
    the run takes (engine/images/timing.py); for a distillation taught by an image model, the student's too."""
    from engine.config import from_dict
    from engine.hardware import pick_device
    from engine.images.collect import read_image_set
    from engine.images.model import native_size
    from engine.images.steps import decide
    from engine.images.timing import forecast_run
    from engine.planner import Decision, Plan

    config = from_dict(config.to_dict())
    data = read_image_set(config.data)
    held_out = read_image_set(config.eval_data) if config.eval_data else None
    rows = len(data.examples)
    eval_rows = len(held_out.examples) if held_out is not None else round(rows * config.eval_fraction)
    if held_out is None:
        rows -= eval_rows
    if getattr(config, "teacher", ""):
        return _plan_student(config, rows)
    result = Plan(config)
    for decision in decide(config, rows, native_size(config.model)):
        setattr(config, decision.setting, decision.value)
        result.decisions.append(Decision(decision.setting, decision.value, decision.reason))
    _plan_evaluations(result, rows)
    result.time = forecast_run(config, data, held_out, eval_rows, result.steps, pick_device(config.device))
    return result


def _plan_student(config, rows: int):
    """A distillation's plan: which blocks of the teacher the student keeps and why, the temperature, the
    learning rate and the evaluations, as the run decides them (engine/images/distil.py)."""
    from engine import store
    from engine.images.cut import cut_student
    from engine.images.model import build, load_folder
    from engine.images.steps import epochs_decision
    from engine.models.students import find_teacher
    from engine.models.surgery import parameter_count
    from engine.planner import Decision, Plan, learning_rate
    from engine.protocol import message

    teacher = find_teacher(config.teacher, store.default_home(), allow_unsafe=config.allow_unsafe_weights)
    model = load_folder(teacher.source.path)
    starting = build(config.student, model.labels, model.multi_label, model.preparation.size) if config.student else None
    cut = cut_student(model, config.student_layers or None, starting)
    result = Plan(config)
    code, fields = cut.said
    config.student_layers = cut.kept
    result.decisions.append(Decision("student_layers", cut.kept, message(code, **fields)[1]))
    if config.temperature is None:
        config.temperature = TASK.distil_temperature
        result.decisions.append(Decision("temperature", config.temperature, message(f"plan.temperature_{NAME}", temperature=config.temperature)[1]))
    if config.epochs is None:
        config.epochs = (epochs := epochs_decision(rows)).value
        result.decisions.append(Decision("epochs", epochs.value, epochs.reason))
    if config.learning_rate is None:
        config.learning_rate, reason = learning_rate(NAME, "full", parameter_count(cut.student))
        result.decisions.append(Decision("learning_rate", config.learning_rate, reason))
    _plan_evaluations(result, rows)
    return result


def _plan_evaluations(result, rows: int) -> None:
    from engine.planner import Decision

    config = result.config
    result.steps = config.max_steps or max(1, round(config.epochs * -(-rows // config.batch_size)))
    if config.eval_every == 0:
        value = max(1, -(-result.steps // 10))
        config.eval_every = value
        result.decisions.append(Decision("eval_every", value, f"The model is checked on held-out pictures every {value} steps, about ten times in the run."))


def card_settings(config) -> list[str]:
    """The model card's line on pictures; a distilled student's are shown as its teacher's were (its run's
    settings do not repeat them)."""
    if not hasattr(config, "image_size"):
        return []
    return [f"- Pictures shown at {config.image_size} x {config.image_size} pixels; "
            + ("mirrored at random while training" if config.mirror else "never mirrored (left and right matter)")]


def data_summary(config) -> str:
    from engine.images.collect import read_image_set

    data = read_image_set(config.data)
    kind = "several categories per picture" if data.multi_label else "one category per picture"
    return f"{len(data.examples)} labelled pictures from {Path(config.data).name} ({data.format}; {kind}, {len(data.label_names)} categories)."


# ---------------------------------------------------------------- the stages that run a model


def playground(db, loaded, request: dict, ended) -> None:
    """The top categories of one picture (its file in `text`) or of several (`settings["paths"]`), each with
    its heat map; `settings["save"]` writes the predictions of all of them to a CSV file."""
    from engine import playground as requests
    from engine.images.heatmap import predict_files

    settings = request.get("settings") or {}
    paths = settings.get("paths") or [request["text"]]
    folder = Path(settings.get("heatmaps") or Path(loaded.source.model_dir).parent / "playground")
    model = loaded.source.model
    results = predict_files(model, paths, folder, loaded.device, settings.get("save", ""))
    result: dict[str, Any] = {"pictures": results}
    first = results[0]
    if "problem" in first and len(results) == 1:
        raise ValueError(first["problem"])  # the Playground says the picture's sentence
    if "top" in first:  # the first picture's categories as a classifier's answer, for the categories panel
        ranked = first["all"]
        threshold = getattr(loaded.source.config, "threshold", 0.5)
        chosen = [item["label"] for item in ranked if item["probability"] > threshold] if model.multi_label else [ranked[0]["label"]]
        result |= {"labels": ranked, "multi_label": model.multi_label, "threshold": threshold, "chosen": chosen,
                   "truncated": False, "heatmap": first["heatmap"]}
    requests.write_progress(db, request["id"], status="done", result=result, updates=1)


def load_model(source, labels: list[str], multi_label: bool, allow_unsafe: bool):
    from engine.images.model import load_folder as load_image_folder

    return load_image_folder(source.path)


def load_folder(source, allow_unsafe: bool = False) -> dict[str, Any]:
    from engine.images.model import load_folder as load_image_folder

    model = load_image_folder(source.path)
    return {"model": model, "labels": model.labels, "multi_label": model.multi_label, "tokenizer": model.preparation}


def load_run(model_dir: Path):
    """(model, preparation, labels, multi label) of a finished run's model folder."""
    from engine.images.model import load_folder as load_image_folder

    model = load_image_folder(model_dir)
    return model, model.preparation, model.labels, model.multi_label


def demo() -> ImageConfig:
    import resources

    folder = Path(resources.__file__).resolve().parent / "demo" / "images"
    return ImageConfig(
        name="Demo: textures of sample photos",
        model=DEMO_MODEL,
        data=str(folder / "train"),
        eval_data=str(folder / "eval"),
        method="full",
        epochs=3,
        batch_size=16,
        # the patches are 64 pixels: shown at 96 rather than the model's 224, the demo trains in a minute or two
        # on a CPU and loses nothing
        image_size=96,
        workers=0,
    )


TASK = Task(
    name=NAME,
    words=Words(
        title="Sort pictures into categories",
        detail="The model looks at a picture and picks its category, or several, and shows where it looked.",
        example="Ultrasound views; tissue patches; photos of damage on facades; products on a shelf.",
        short="Sort pictures",
        model_short="Sort pictures",
        model_kind="Sort pictures (an image model)",
        hub="Image sorters",
        examples="pictures",
        texts="pictures",
        curves="Quality",
    ),
    config=ImageConfig,
    demo_model=DEMO_MODEL,
    demo_model_title="Demo EfficientNet-Lite0 (bundled)",
    # AdamW on a small convolutional network: 3e-4 for the pretrained body; the new last layer learns
    # FRESH_LR_FACTOR times faster (engine/training.py).
    learning_rates={"full": 3e-4, "full_small": 3e-4},
    metric="eval_f1",
    higher_is_better=True,
    curves=("eval_f1", "eval_accuracy"),
    report_rows=(("F1 on held-out pictures (higher is better)", "eval_f1"), ("Exact matches", "eval_accuracy")),
    speed=("samples_per_second", "pictures/s"),
    eval_summary="accuracy {eval_accuracy:.1%}, macro-F1 {eval_macro_f1:.1%}",
    export_formats=("merged", "onnx"),
    distil_temperature=2.0,
    architectures=("ForImageClassification",),
    hub_tags=("image-classification",),
    uses=(
        "Sorting pictures like the training pictures into the categories listed above.",
        "It only knows these categories: a picture of anything else still gets one of them. Pictures taken "
        "differently (another camera, scanner, lighting or place) may be sorted worse; check it on your own "
        "pictures, and look at the heat maps of its mistakes, before relying on it.",
    ),
    view=PICTURES,
    min_examples=20,
    model_family=IMAGE,
    reads_conversations=False,
    bare_model_learns=True,
    doctor=doctor,
    plan=plan,
    train=Lazy("engine.recipes.finetune_images:run"),
    evaluate=Lazy("engine.images.evaluate:evaluate_images"),
    distil=Lazy("engine.images.distil:image_lesson"),
    export=Lazy("engine.images.export:verify_images"),
    playground=playground,
    demo=demo,
    load_model=load_model,
    load_folder=load_folder,
    describe_data=describe_data,
    data_summary=data_summary,
    reads_documents=True,
    recognises=recognises,
    card_settings=card_settings,
    how_to_use={
        "merged": "image_model.json names the timm architecture, the categories and how a picture is prepared (size, "
                  "crop, mean and std); build it with `timm.create_model(architecture, num_classes=len(labels))` and "
                  "load model.safetensors into it.",
        "onnx": "Run model.onnx with ONNX Runtime: its input 'pixel_values' is a batch of pictures prepared as "
                "image_model.json says (3 x size x size); its output 'logits', one per category in the order listed there.",
    },
    plan_alone=plan_alone,
    load_run=load_run,
    # engine/images/model.py's SETTINGS_FILE, named here so that reading the table imports no torch
    model_folder=lambda folder: (Path(folder) / "image_model.json").is_file(),
    write_export=Lazy("engine.images.export:write_images"),
)

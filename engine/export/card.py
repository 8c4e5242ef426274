"""The model card: a README.md in every export, written from what the database knows about the run."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from engine import store
from engine.protocol import metric_words
from engine.quoting import shown
from engine.tasks import task as task_named

# Characters that start Markdown's inline markup (emphasis, code, links, images, tables, strikethrough);
# with line breaks gone, block markup (headings, lists, quotes) cannot start inside a line either.
_MARKUP = re.compile(r"([\\`*_\[\]|~!])")


def plain(text: object, limit: int = 200) -> str:
    """User text (a run name, a category, a file name, a system prompt) as Markdown that renders as exactly
    that text: on one line, HTML and Markdown markup escaped, so a name such as ``<script>`` or
    ``[click](javascript:...)`` shows as those characters and does nothing."""
    return _MARKUP.sub(r"\\\1", html.escape(shown(text, limit), quote=False))


HOW_TO_USE = {
    "merged": "Load the folder with transformers: `AutoModelFor...from_pretrained(\"{folder}\")`.",
    "adapter": "Load the base model named in adapter_config.json, then `PeftModel.from_pretrained(base, \"{folder}\")`.",
    "gguf-f16": "Run the .gguf file with llama.cpp, or `ollama create my-model -f Modelfile` in this folder.",
    "gguf-q8_0": "Run the .gguf file with llama.cpp, or `ollama create my-model -f Modelfile` in this folder.",
    "onnx": "Run model.onnx with ONNX Runtime; tokenizer.json gives the token ids, config.json the category names.",
}


def data_summary(source) -> str:
    config = source.config
    name = plain(Path(config.data).name)
    try:
        # the task's sentence names the user's file: escaped as any user text
        return plain(task_named(source.task).data_summary(config), 400)
    except Exception:  # noqa: BLE001 - the file may have moved since training; say what is known
        return f"The file {name} (no longer readable at {plain(config.data)}, so its rows are not counted here)."


def base_model(source) -> str:
    if source.run["kind"] != "distill":
        return f"## Base model\n{plain(source.base.title)} ({plain(source.config.model)})."
    layers = getattr(getattr(source.model, "config", None), "num_hidden_layers", None)
    blocks = getattr(source.model, "blocks", None)  # an image student's kept blocks, per stage
    size = f" ({layers} layers)" if layers else f" ({sum(map(len, blocks))} blocks)" if blocks else ""
    return (
        f"## Distilled from\n{plain(source.base.title)} ({plain(source.config.teacher)}), which taught this smaller student"
        + size + " to answer as it does."
    )


def write_model_card(db, source, fmt: str, folder: Path, written: list[Path]) -> Path:
    run, config = source.run, source.config
    method = {"lora": "LoRA (small adapter matrices; the base weights unchanged)", "full": "every weight trained", "qlora": "QLoRA (LoRA on a 4-bit base)"}[config.method]
    settings = [
        f"- Method: {method}" + (f", rank {config.lora_rank}, alpha {config.lora_alpha}" if config.method != "full" else ""),
        f"- Learning rate {config.learning_rate}, batch {config.batch_size}, "
        + (f"{config.max_steps} steps" if config.max_steps else f"{config.epochs:g} epochs")
        + f" ({run['step']} steps done)" + (f", length limit {config.max_length} tokens" if config.max_length else "")
        + f", seed {config.seed}",
    ]
    task = task_named(source.task)
    if source.run["kind"] == "distill":
        settings.append(f"- Distillation: {config.alpha:.0%} of the lesson copying the teacher at temperature {config.temperature:g}"
                        + task.card_distillation(config))
    settings += task.card_settings(config)
    metrics = {name: value for name, value in store.latest_metrics(db, run["id"]).items() if name.startswith("eval_")}
    results = [f"- {metric_words(name, value)[0]}: {metric_words(name, value)[1]}" for name, value in sorted(metrics.items())]
    if run["best_metric_name"]:
        words, value = metric_words(run["best_metric_name"], run["best_metric"])
        results.insert(0, f"- Best {words}: {value} (the saved model is that checkpoint)")
    for evaluation in db["runs"].rows_where("parent_id = ? AND kind = 'evaluate' AND status = 'completed'", [run["id"]], order_by="id"):
        for artifact in store.artifacts(db, evaluation["id"]):
            if artifact["kind"] == "evaluation":  # a held-out evaluation the user ran on this model
                data = Path(json.loads(evaluation["config"])["data"]).name
                results.append(f"- On {plain(data)}: {plain(artifact['metadata']['headline'], 400)}")
    use, limits = task.uses
    labels = f"\n\nCategories: {', '.join(plain(label, 80) for label in source.labels)}." if source.labels else ""
    evaluation = f"the file {plain(Path(config.eval_data).name)}" if config.eval_data else (
        f"{config.eval_fraction:.0%} of the examples, set aside and never trained on")
    text = f"""# {plain(run['name'])}

Exported by Tunewright from run {run['id']} as **{fmt}** ({', '.join(p.name for p in written)}).

{base_model(source)}{labels}

## Training data
{data_summary(source)} Evaluation: {evaluation}.

## Settings
{chr(10).join(settings)}

## Evaluation results
{chr(10).join(results) or "- No evaluation was recorded."}

## Intended use
{use}

## Limits
{limits}

## How to use
{(task.how_to_use.get(fmt) or HOW_TO_USE[fmt]).format(folder=folder.name)}
The file verification.json in the export's run folder records how this export was checked against the model in Tunewright.
"""
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path

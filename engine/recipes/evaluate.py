"""Score a model on held-out examples: a run's model, a model folder, or a catalog model.

Classification: accuracy, macro-F1, a per-category table, a confusion matrix and the examples it got
wrong with its probabilities. Generation: loss and perplexity on the reference answers, exact match,
token-F1 and ROUGE-L of its greedy answers, and answers side by side with the starting model's (a
distilled student's: its teacher's).

The results are metric rows of the evaluation run (kind "evaluate", parent: the run scored) and a JSON
artifact, evaluation.json, that the Results page reads. Read top to bottom: what to score -> data ->
classification or generation -> record.
"""

from __future__ import annotations

import json
import math
import re
import string
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import store
from engine.config import ConfigError, EvaluateConfig
from engine.data.chat import tokenize_prompt
from engine.data.classification import load_classification
from engine.data.conversations import ChatColumns, load_conversations, with_system_prompt
from engine.data.errors import DataError
from engine.data.packing import pack
from engine.lm_loss import packed_loss_sum
from engine.models.catalog import ModelSource, resolve
from engine.models.loading import load_causal_lm, load_teacher, load_tokenizer, materialize
from engine import chat_steps, classifier_steps
from engine.protocol import Status, message
from engine.quoting import shown
from engine.tasks import Task
from engine.tasks import task as task_named
from engine.training import Job

WRONG_EXAMPLES = 50  # the wrong answers kept for the Results page (the worst first would need a model of "worst")


def run(job: Job) -> Status:
    config: EvaluateConfig = job.config  # type: ignore[assignment]
    store.update_run(job.db, job.run_id, status=Status.RUNNING, started_at=time.time(), total_steps=1)
    try:
        scored = load_what_to_score(job.db, config, job.home)
        scored["model"].to(job.device).eval()
        results = task_named(scored["task"]).evaluate(job, scored, config)
    except (ConfigError, DataError) as problem:  # a sentence for the person, not a training failure's wording
        job.event("evaluate.failed", reason=str(problem))
        store.update_run(job.db, job.run_id, error=str(problem))
        return Status.FAILED
    _record(job, config, scored, results)
    return Status.COMPLETED


def score_held_out(job: Job, model, tokenizer, path: Path, *, labels: list[str], multi_label: bool, split: bool) -> None:
    """Score a run that just finished on the examples it held back (``path``, kept in its folder), as an
    evaluation run of its own: Results shows it as soon as training ends, with no file to choose.
    ``split``: the examples were set aside from the training file (else they are the run's evaluation file).
    A failure here is an event of the run, never a failed training."""
    from engine.jobs import run_dir

    task = task_named(job.config.kind)
    config = EvaluateConfig(model=str(job.run_id), data=str(path), task=task.name, held_out=split,
                            name=f"{store.get_run(job.db, job.run_id)['name']}: held-back examples")
    # created running, never queued: no one else may start it
    evaluation_id = store.create_run(job.db, kind=config.kind, config=config.to_dict(), name=config.name,
                                     parent_id=job.run_id, status=Status.RUNNING)
    folder = store.private_folder(run_dir(job.home, evaluation_id))
    store.update_run(job.db, evaluation_id, run_dir=str(folder), started_at=time.time(), total_steps=1)
    evaluation = replace(job, run_id=evaluation_id, config=config, run_dir=folder)
    scored = {"task": task.name, "model": model.eval(), "tokenizer": tokenizer, "title": config.name,
              "labels": labels, "multi_label": multi_label, "run_config": job.config}
    try:
        results = task.evaluate(evaluation, scored, config)
    except (ConfigError, DataError) as problem:
        job.event("evaluate.failed", reason=str(problem))
        store.update_run(job.db, evaluation_id, status=Status.FAILED, error=str(problem), finished_at=time.time())
        return
    _record(evaluation, config, scored, results)
    store.update_run(job.db, evaluation_id, status=Status.COMPLETED, finished_at=time.time())


def _record(job: Job, config: EvaluateConfig, scored: dict[str, Any], results: dict[str, Any]) -> None:
    """The results as metric rows of the evaluation run and its evaluation.json artifact."""
    results |= {"model": config.model, "title": scored["title"], "task": scored["task"], "data": config.data,
                "held_out": config.held_out}
    store.add_metrics(job.db, job.run_id, 0, results["metrics"])
    path = job.run_dir / "evaluation.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    job.artifact("evaluation", path, task=scored["task"], headline=results["headline"], **results["metrics"])
    job.event("evaluate.finished", headline=results["headline"])
    store.update_run(job.db, job.run_id, step=1, progress=1.0)


def evaluate_in_process(db, config: EvaluateConfig, *, home: Path) -> dict[str, Any]:
    """Run an evaluation job here (as `tunewright-engine evaluate` does); its results, or {"error": ...}."""
    from engine.job import run_job
    from engine.jobs import submit

    if not config.name:
        what = f"run {config.model}" if config.model.isdigit() else Path(config.model).name
        config.name = f"Evaluation of {what} on {Path(config.data).name}"
    parent = int(config.model) if config.model.isdigit() else None
    if parent is not None:
        store.get_run(db, parent)  # an unknown run is a KeyError the CLI words
    run_id = submit(db, config, home=home, parent_id=parent)  # type: ignore[arg-type]
    run_job(run_id, home)
    for artifact in store.artifacts(db, run_id):
        if artifact["kind"] == "evaluation":
            return {**json.loads(Path(artifact["path"]).read_text(encoding="utf-8")), "evaluation_run": run_id}
    return {"error": store.get_run(db, run_id)["error"], "evaluation_run": run_id}


# ---------------------------------------------------------------- what to score


def load_what_to_score(db, config: EvaluateConfig, home: Path) -> dict[str, Any]:
    """{"task", "model", "tokenizer", "title", ...}: a run's model as the app uses it, or a model folder."""
    if config.model.isdigit():
        from engine.export.job import load_run_model

        source = load_run_model(db, int(config.model), home)
        if config.task and config.task != source.task:
            raise ConfigError(f"Run {config.model} is a {source.task} run, so it cannot be scored as {config.task}.")
        return {
            "task": source.task, "model": source.model, "tokenizer": source.tokenizer, "title": source.run["name"],
            "labels": source.labels, "multi_label": source.multi_label, "run_config": source.config,
            "is_adapter": source.is_adapter, "base": source.base, "teacher": source.teacher,
        }
    source = materialize(resolve(config.model), home)
    task = task_named(config.task) if config.task else _guess_task(source)
    loaded = task.load_folder(source)
    return {"task": task.name, "tokenizer": load_tokenizer(source), "title": source.title, "run_config": None, **loaded}


def _guess_task(source: ModelSource) -> Task:
    """The task a model folder already does: a bundled model's, or the one its architecture names."""
    from engine.models.students import task_of

    found = task_of(source)
    if found is not None:
        return task_named(found)
    raise ConfigError(
        f"{source.title} has no trained categories and is not a chat model, so there is nothing to score; "
        "evaluate a classification run trained from it instead."
    )


# ---------------------------------------------------------------- classification


def evaluate_classifier(job: Job, scored: dict[str, Any], config: EvaluateConfig) -> dict[str, Any]:
    run_config = scored["run_config"]
    columns = (run_config.text_column, run_config.label_column) if run_config else ("", "")
    data = load_classification(config.data, *columns)
    # every row: a classifier scores thousands a second, and a sample would leave the score to chance
    texts, truth_names = data.texts, data.labels
    labels, multi_label = scored["labels"], scored["multi_label"]
    if data.multi_label and not multi_label:
        raise ConfigError(message("evaluate.several_labels", model=shown(scored["title"]), file=shown(Path(config.data).name))[1])
    job.event("evaluate.started", model=scored["title"], rows=len(texts), data=Path(config.data).name)
    unknown = sorted({name for names in truth_names for name in names} - set(labels))
    if unknown:
        count = sum(any(name in unknown for name in names) for names in truth_names)
        job.event("evaluate.unknown_labels", count=count, labels=", ".join(unknown[:10]))

    # The recipe's own tokenising and batching, so a text is cut and padded exactly as in training.
    max_length = run_config.max_length if run_config else 256
    ids = classifier_steps.tokenize_texts(job, scored["tokenizer"], texts, max_length)
    placeholder = torch.zeros(len(ids))  # targets are scored below, including categories the model lacks
    probabilities = []
    with torch.no_grad():
        for start in range(0, len(ids), classifier_steps.EVAL_BATCH):
            rows = list(range(start, min(start + classifier_steps.EVAL_BATCH, len(ids))))
            batch = classifier_steps.batch_of(scored["tokenizer"], ids, placeholder, rows, job.device)
            logits = scored["model"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            probabilities.append(logits.sigmoid() if multi_label else logits.softmax(dim=-1))
            store.update_run(job.db, job.run_id, progress=0.9 * rows[-1] / len(ids))
    probs = torch.cat(probabilities).cpu().numpy()

    threshold = run_config.threshold if run_config else 0.5
    if multi_label:
        predicted = [[labels[i] for i in np.flatnonzero(row > threshold)] for row in probs]
    else:
        predicted = [[labels[int(row.argmax())]] for row in probs]
    report = classification_report(truth_names, predicted, labels, multi_label=multi_label)
    wrong = [
        {
            "text": text, "expected": truth, "predicted": guess,
            "probabilities": {labels[i]: round(float(row[i]), 4) for i in np.argsort(-row)[:3]},
        }
        for text, truth, guess, row in zip(texts, truth_names, predicted, probs)
        if sorted(truth) != sorted(guess)
    ]
    metrics = {"eval_accuracy": report["accuracy"], "eval_macro_f1": report["macro_f1"]}
    training = _training_rows(run_config, config)
    baseline = majority_baseline(truth_names, training[1] if training else truth_names, labels, multi_label)
    metrics["baseline_accuracy"] = baseline["accuracy"]
    headline = f"accuracy {report['accuracy']:.1%}, macro-F1 {report['macro_f1']:.1%} on {len(texts)} examples"
    return {"headline": headline, "metrics": metrics, "rows": len(texts), "file_rows": len(texts), **report,
            "baseline": baseline, "overlap": overlap(texts, training[0]) if training else None,
            "wrong": wrong[:WRONG_EXAMPLES], "wrong_count": len(wrong)}


def _training_rows(run_config: Any, config: EvaluateConfig) -> tuple[list[str], list[list[str]]] | None:
    """The texts and labels the run trained on (its whole file: held-back rows of a split are in it too, so
    the overlap is counted by text), or None when the model is not a run or its file is gone."""
    if run_config is None or not getattr(run_config, "data", ""):
        return None
    try:
        trained = load_classification(run_config.data, run_config.text_column, run_config.label_column)
    except (DataError, OSError):
        return None
    if config.held_out:  # the run's own held-back rows: the rest of its file is what it learned from
        held = Counter(_normal(text) for text in load_classification(config.data, trained.text_column, trained.label_column).texts)
        kept = [(t, l) for t, l in zip(trained.texts, trained.labels) if not _take(held, _normal(t))]
        return [t for t, _ in kept], [l for _, l in kept]
    return trained.texts, trained.labels


def _take(counter: Counter, key: str) -> bool:
    if counter[key] > 0:
        counter[key] -= 1
        return True
    return False


def _normal(text: str) -> str:
    return " ".join(text.split())


def overlap(texts: list[str], trained: list[str]) -> dict[str, Any]:
    """How many evaluation texts the model also learned from (spacing aside): scores on those say what it
    remembers, not how it does on new text."""
    known = {_normal(text) for text in trained}
    count = sum(_normal(text) in known for text in texts)
    return {"count": count, "rows": len(texts), "share": count / max(len(texts), 1)}


def majority_baseline(truth: list[list[str]], trained: list[list[str]], labels: list[str], multi_label: bool) -> dict[str, Any]:
    """What always answering the training data's most common category would score on these examples: the
    score a model has to beat to have learned anything (with several categories per text: the most common
    set of categories)."""
    common = Counter(tuple(sorted(names)) for names in trained).most_common(1)
    guess = list(common[0][0]) if common else []
    report = classification_report(truth, [guess] * len(truth), labels or guess, multi_label=multi_label) if guess else None
    return {"label": ", ".join(guess), "accuracy": report["accuracy"] if report else 0.0,
            "macro_f1": report["macro_f1"] if report else 0.0}


def classification_report(truth: list[list[str]], predicted: list[list[str]], labels: list[str], *, multi_label: bool) -> dict[str, Any]:
    """Accuracy (exact set match), macro-F1 over the model's categories, precision/recall/F1/support per
    category, and (one category per text) the confusion matrix, rows the true category, columns the
    predicted one, with an extra row for true categories the model does not know. Written out here, as the
    recipe's own scores are, rather than adding scikit-learn for a few sums."""
    per_class = []
    for label in labels:
        tp = sum(label in t and label in p for t, p in zip(truth, predicted))
        fp = sum(label not in t and label in p for t, p in zip(truth, predicted))
        fn = sum(label in t and label not in p for t, p in zip(truth, predicted))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"label": label, "precision": precision, "recall": recall, "f1": f1, "support": tp + fn})
    present = [row for row in per_class if row["support"] or any(row["label"] in p for p in predicted)]
    report: dict[str, Any] = {
        "accuracy": sum(sorted(t) == sorted(p) for t, p in zip(truth, predicted)) / max(len(truth), 1),
        "macro_f1": sum(row["f1"] for row in present) / max(len(present), 1),
        "per_class": per_class,
        "labels": labels,
        "confusion": None,
    }
    if not multi_label:
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in range(len(labels) + 1)]  # last row: a category the model lacks
        for t, p in zip(truth, predicted):
            matrix[index.get(t[0], len(labels))][index[p[0]]] += 1
        report["confusion"] = matrix
    return report


# ---------------------------------------------------------------- generation


def evaluate_generation(job: Job, scored: dict[str, Any], config: EvaluateConfig) -> dict[str, Any]:
    run_config = scored["run_config"]
    data = load_conversations(config.data, run_config.template_values if run_config else {},
                              columns=ChatColumns.of(run_config))
    system_prompt = run_config.system_prompt if run_config else ""
    conversations = [with_system_prompt(turns, system_prompt) for turns in data.conversations]
    answered = [turns for turns in conversations if any(t.role == "assistant" for t in turns)]
    conversations = answered[: config.max_examples]  # each answer is generated, so a sample: stated below
    if not conversations:
        raise ConfigError(f"{Path(config.data).name} has no conversations with an answer to compare against.")
    job.event("evaluate.started", model=scored["title"], rows=len(conversations), data=Path(config.data).name)
    model, tokenizer = scored["model"], scored["tokenizer"]

    # Loss on the reference answers, with the recipe's own tokenising and loss. One conversation per packed
    # row: the recipe packs several into a row, which needs its packed attention switched on, and that
    # attention is for training, not for the generation below.
    max_length = run_config.max_length if run_config else 512
    examples = chat_steps.tokenize_all(job, tokenizer, conversations, max_length)
    total, count = 0.0, 0
    with torch.no_grad():
        for example in examples:
            batch = pack([example], job.device)
            total += float(packed_loss_sum(model, batch))
            count += batch["count"]
    loss = total / max(count, 1)

    # Greedy answers to each prompt (the conversation up to its last answer), against that answer.
    rows = []
    for number, turns in enumerate(conversations):
        last = max(i for i, turn in enumerate(turns) if turn.role == "assistant")
        prompt, reference = turns[:last], turns[last].content
        row = {"prompt": prompt[-1].content if prompt else "", "reference": reference, "answer": generate(model, tokenizer, prompt, config.max_new_tokens, job.device)}
        row |= {"exact_match": exact_match(row["answer"], reference), "token_f1": token_f1(row["answer"], reference), "rouge_l": rouge_l(row["answer"], reference)}
        if number < config.side_by_side and scored.get("is_adapter"):
            with model.disable_adapter():  # the starting model is the same weights without the LoRA
                row["base_answer"] = generate(model, tokenizer, prompt, config.max_new_tokens, job.device)
        rows.append(row)
        store.update_run(job.db, job.run_id, progress=0.9 * (number + 1) / len(conversations))
    if config.side_by_side and scored.get("teacher") is not None:
        teacher, _ = load_teacher(scored["teacher"], job.home, allow_unsafe=run_config.allow_unsafe_weights)
        _add_answers("teacher_answer", teacher.to(job.device), rows[: config.side_by_side], conversations, scored, config, job)
    elif config.side_by_side and run_config is not None and not scored.get("is_adapter"):
        base = load_causal_lm(scored["base"], dtype=torch.float32).to(job.device).eval()
        _add_answers("base_answer", base, rows[: config.side_by_side], conversations, scored, config, job)

    metrics = {
        "eval_loss": loss, "eval_perplexity": math.exp(min(loss, 50.0)),
        "eval_exact_match": float(np.mean([r["exact_match"] for r in rows])),
        "eval_token_f1": float(np.mean([r["token_f1"] for r in rows])),
        "eval_rouge_l": float(np.mean([r["rouge_l"] for r in rows])),
    }
    headline = (
        f"perplexity {metrics['eval_perplexity']:.3g}, exact match {metrics['eval_exact_match']:.0%}, "
        f"token-F1 {metrics['eval_token_f1']:.0%}, ROUGE-L {metrics['eval_rouge_l']:.0%} on "
        + (f"{len(rows)} conversations" if len(rows) == len(answered) else
           f"the first {len(rows)} of {len(answered)} conversations")
    )
    return {"headline": headline, "metrics": metrics, "rows": len(rows), "file_rows": len(answered), "answers": rows}


def _add_answers(key: str, other, rows, conversations, scored, config: EvaluateConfig, job: Job) -> None:
    """Another model's answers to the same prompts, beside the run's: the model a fully trained run started
    from ("base_answer"), or a distilled student's teacher ("teacher_answer")."""
    for row, turns in zip(rows, conversations):
        last = max(i for i, turn in enumerate(turns) if turn.role == "assistant")
        row[key] = generate(other, scored["tokenizer"], turns[:last], config.max_new_tokens, job.device)


def generate(model, tokenizer, turns, max_new_tokens: int, device) -> str:
    """The model's greedy answer (the same every time) to a conversation so far."""
    ids = torch.tensor([tokenize_prompt(tokenizer, turns)], device=device)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()


# The answer metrics of reading-comprehension benchmarks (SQuAD's normalisation: lower case, no punctuation,
# no articles). A dozen lines each, written here rather than adding a metrics library to the engine.


def normalize_words(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def exact_match(answer: str, reference: str) -> float:
    return float(normalize_words(answer) == normalize_words(reference))


def token_f1(answer: str, reference: str) -> float:
    ours, theirs = normalize_words(answer), normalize_words(reference)
    if not ours or not theirs:
        return float(ours == theirs)
    common = sum((Counter(ours) & Counter(theirs)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F1: the longest common subsequence of words, as a share of each text's length."""
    ours, theirs = normalize_words(answer), normalize_words(reference)
    if not ours or not theirs:
        return float(ours == theirs)
    previous = [0] * (len(theirs) + 1)
    for word in ours:
        current = [0]
        for j, other in enumerate(theirs):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(ours), lcs / len(theirs)
    return 2 * precision * recall / (precision + recall)

"""The `advise` job: one of the advisor's questions answered in a job process, its progress in the run's
row and its sentences as events, like every other job; the answer is an artifact whose metadata the window
reads (`advice`, `learning_curve` or `label_next`), and a JSON file in the run's folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine import store
from engine.advisor import curve as curves
from engine.advisor.features import frozen_features, load_reader
from engine.advisor.probes import Targets
from engine.advisor.settings import AdviseConfig
from engine.config import ConfigError
from engine.data.classification import ClassificationData, load_classification
from engine.models.catalog import ModelSource, list_models, resolve
from engine.protocol import VERDICTS, Status
from engine.training import Job

# Fewer usable examples than this say nothing sure about a model or a curve.
MINIMUM_ROWS = 30
# The learning curve reads at most this many examples (its probes train many times).
CURVE_ROWS = 3000
FRACTIONS = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]


def run(job: Job) -> Status:
    config: AdviseConfig = job.config  # type: ignore[assignment]
    store.update_run(job.db, job.run_id, status=Status.RUNNING, started_at=time.time(), progress=0.0)
    data, data_path, run = read_data(job, config)
    answer = {"models": which_model, "more_data": more_data, "label_next": label_next}[config.question]
    result = answer(job, config, data, data_path, run)
    if result is None:
        return Status.CANCELLED
    path = job.run_dir / f"{config.question}.json"
    path.write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    job.artifact({"models": "advice", "more_data": "learning_curve", "label_next": "label_next"}[config.question], path, **result)
    return Status.COMPLETED


def read_data(job: Job, config: AdviseConfig) -> tuple[ClassificationData, str, dict | None]:
    run = store.get_run(job.db, config.run_id) if config.run_id else None
    settings = (run or {}).get("config") or {}
    path = config.data or settings.get("data", "")
    data = load_classification(path, config.text_column or settings.get("text_column", ""),
                               config.label_column or settings.get("label_column", ""))
    usable = len(data.texts)
    if usable < MINIMUM_ROWS:
        raise ConfigError(job_message("advice.too_few", rows=usable, minimum=MINIMUM_ROWS))
    return data, path, run


def job_message(code: str, **values: Any) -> str:
    from engine.protocol import message

    return message(code, **values)[1]


def progress(job: Job, share: float) -> None:
    store.update_run(job.db, job.run_id, progress=float(min(max(share, 0.0), 1.0)))


def cancelled(job: Job) -> bool:
    return job.controls.requested() is not None


def reader_source(config: AdviseConfig, run: dict | None) -> ModelSource:
    """The model whose features are read: the one named, a finished run's own model (a whole fine-tuned
    encoder reads its task best), the run's starting model (a LoRA run keeps only adapters), or MiniLM."""
    if config.model:
        return resolve(config.model)
    if run is not None:
        folder = Path(run["run_dir"] or "") / "model"
        if (folder / "config.json").exists() and not (folder / "adapter_config.json").exists():
            return ModelSource(f"run:{run['id']}", folder, run["name"] or f"run {run['id']}")
        return resolve(run["config"]["model"])
    return resolve("demo:minilm")


# ---------------------------------------------------------------- which model


def which_model(job: Job, config: AdviseConfig, data: ClassificationData, data_path: str, run: dict | None) -> dict | None:
    from engine.advisor.which_model import fine_tuning_forecast, rank, sample_rows, score_candidate

    from engine.tasks import LABELS, TASKS

    # models that sort texts into categories (LABELS; picture sorters, PICTURES, read no texts)
    sorting = {name for name, task in TASKS.items() if task.view == LABELS}
    refs = [r.strip() for r in config.models.split(",") if r.strip()] or [
        m.ref for m in list_models(job.db) if m.task in sorting and m.usable]
    if not refs:
        raise ConfigError(job_message("advice.no_models"))
    rows = sample_rows(len(data.texts), config.sample, config.seed)
    texts = [data.texts[i] for i in rows]
    targets = Targets.of([data.labels[i] for i in rows], data.label_names, data.multi_label)
    job.event("advice.started", what="Scoring the models", models=len(refs), rows=len(texts))
    candidates, skipped = [], []
    for number, ref in enumerate(refs):
        if cancelled(job):
            return None
        try:
            source = resolve(ref)
            job.event("advice.reading", model=source.title, rows=len(texts))
            share = lambda done, n=number: progress(job, (n + 0.8 * done / len(texts)) / len(refs))  # noqa: E731
            candidate, lengths = score_candidate(source, texts, targets, seed=config.seed, progress=share)
            fine_tuning_forecast(candidate, source, data_path, len(data.texts), lengths, len(data.label_names), job.device)
        except (ConfigError, OSError, ValueError, RuntimeError) as problem:
            job.event("advice.model_failed", model=ref, reason=str(problem)[:300])
            skipped.append({"ref": ref, "reason": str(problem)[:300]})
            continue
        candidates.append(candidate)
        job.event("advice.model_scored", model=candidate.name, score=f"{candidate.score:.0%}",
                  low=f"{candidate.low:.0%}", high=f"{candidate.high:.0%}")
        progress(job, (number + 1) / len(refs))
    choice, reason = rank(candidates)
    if choice is not None:
        job.event("advice.recommended", model=choice.name, reason=reason)
    return {
        "question": "models", "rows": len(texts), "data_rows": len(data.texts), "multi_label": data.multi_label,
        "metric": "micro-F1" if data.multi_label else "macro-F1",
        "candidates": [c.to_dict() for c in candidates], "skipped": skipped,
        "recommended": choice.ref if choice else "", "reason": reason,
    }


# ---------------------------------------------------------------- would more data help


def more_data(job: Job, config: AdviseConfig, data: ClassificationData, data_path: str, run: dict | None) -> dict | None:
    source = reader_source(config, run)
    rng = np.random.default_rng(config.seed)
    rows = np.sort(rng.permutation(len(data.texts))[:CURVE_ROWS])
    texts = [data.texts[i] for i in rows]
    targets = Targets.of([data.labels[i] for i in rows], data.label_names, data.multi_label)
    job.event("advice.started", what="Working out whether more examples would help", models=source.title, rows=len(texts))
    model, tokenizer = load_reader(source)
    features = frozen_features(model, tokenizer, texts, progress=lambda done: progress(job, 0.6 * done / len(texts)))
    if cancelled(job):
        return None
    sizes, scores = curves.nested_scores(features, targets, fractions=FRACTIONS, seed=config.seed)
    progress(job, 0.9)
    # The probes see 3/4 of the examples (the rest score them): "twice as many" is twice the run's data.
    full = len(data.texts)
    scale = full / sizes[-1]
    curve = curves.learning_curve(sizes, scores)
    best = (run or {}).get("best_metric")
    now = best if best is not None else curve.now_score
    low, high = curves.shifted(curve, now)
    sentence = (f"With twice as many examples ({2 * full:,}), expect {curves.percent(low)}-{curves.percent(high)} "
                f"(now {curves.percent(now)}).")
    verdict = VERDICTS[curve.verdict]
    job.event("advice.more_data", sentence=sentence, verdict=verdict)
    result = curve.to_dict() | {
        "question": "more_data", "model": source.title, "data_rows": full, "scale": scale, "now": now,
        "expected_low": low, "expected_high": high, "sentence": sentence, "verdict_sentence": verdict,
        "run_score": best, "metric": "micro-F1" if data.multi_label else "macro-F1",
    }
    return result


# ---------------------------------------------------------------- what to label next


def label_next(job: Job, config: AdviseConfig, data: ClassificationData, data_path: str, run: dict | None) -> dict | None:
    from engine.advisor.label_next import Pick, choose, read_unlabelled, reason, write_csv

    source = reader_source(config, run)
    pool = read_unlabelled(config.unlabelled)
    known = set(data.texts)
    pool = [t for t in pool if t not in known]
    job.event("advice.started", what="Choosing what to label next", models=source.title, rows=len(pool))
    model, tokenizer = load_reader(source)
    everything = data.texts + pool
    features = frozen_features(model, tokenizer, everything, progress=lambda done: progress(job, 0.8 * done / len(everything)))
    if cancelled(job):
        return None
    targets = Targets.of(data.labels, data.label_names, data.multi_label)
    picked, probabilities, unsure = choose(features[: len(data.texts)], targets, features[len(data.texts):], config.count)
    picks = []
    for row in picked:
        guess, why = reason(probabilities[row], data.label_names, data.multi_label)
        picks.append(Pick(row, pool[row], float(unsure[row]), guess, why))
    path = write_csv(job.run_dir / "label_next.csv", picks)
    job.event("advice.label_next", count=len(picks), path=path)
    return {
        "question": "label_next", "csv": str(path), "pool": len(pool), "model": source.title,
        "labels": data.label_names, "multi_label": data.multi_label, "data": data_path,
        "text_column": data.text_column, "label_column": data.label_column,
        "picks": [{"text": p.text, "uncertainty": p.uncertainty, "guess": p.guess, "why": p.why} for p in picks],
    }

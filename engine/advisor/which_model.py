"""Which model to start from: each candidate reads a sample of the user's examples, frozen, and two probes
(k nearest neighbours, a linear classifier) say how well its features already sort them; LogME gives a
second opinion. With the planner's time and memory for fine-tuning each, the ranking and its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.advisor.features import frozen_features, load_reader, token_lengths
from engine.advisor.probes import Targets, cross_validate

# Probe scores closer than this are a tie: the folds of a few hundred examples scatter about this much.
TIE = 0.02


@dataclass
class Candidate:
    ref: str
    name: str
    parameters: int
    knn: float  # mean over the folds
    linear: float
    low: float  # the better probe's range over the folds
    high: float
    logme: float
    probe_seconds: float
    train_seconds: float | None = None  # the planner's forecast for fine-tuning it on all the data
    train_sentence: str = ""
    memory_sentence: str = ""
    fits: bool | None = None
    rank: int = 0
    logme_rank: int = 0
    reason: str = ""

    @property
    def score(self) -> float:
        return max(self.knn, self.linear)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"score": self.score}


def sample_rows(count: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(count)[:size]) if count > size else np.arange(count)


def score_candidate(source, texts: list[str], targets: Targets, *, seed: int, allow_unsafe: bool = False,
                    progress: Callable[[int], None] = lambda done: None) -> tuple[Candidate, list[int]]:
    started = time.perf_counter()
    model, tokenizer = load_reader(source, allow_unsafe=allow_unsafe)
    features = frozen_features(model, tokenizer, texts, progress=progress)
    scores = cross_validate(features, targets, seed=seed)
    low, high = scores.low_high
    parameters = sum(p.numel() for p in model.parameters())
    candidate = Candidate(
        ref=source.ref, name=source.title, parameters=parameters, knn=float(np.mean(scores.knn)),
        linear=float(np.mean(scores.linear)), low=low, high=high, logme=scores.logme,
        probe_seconds=time.perf_counter() - started,
    )
    return candidate, token_lengths(tokenizer, texts)


def fine_tuning_forecast(candidate: Candidate, source, data_path: str, rows: int, lengths: list[int], labels: int, device) -> None:
    """The planner's time and memory for fine-tuning the candidate on all the data, as a run would be planned."""
    from engine.config import ClassifyConfig
    from engine.forecast import load_shape
    from engine.planner import DataStats, cpu_timer, machine_for, plan
    from engine.timing import weights_bytes

    config = ClassifyConfig(model=candidate.ref, data=data_path, method="auto", epochs=None, max_length=None)
    eval_rows = round(rows * config.eval_fraction)
    try:
        shape = load_shape(source.path, source.gguf_file)
    except (OSError, ValueError):
        return
    timer = cpu_timer(source.path, config, source.gguf_file, labels=labels) if device.type == "cpu" else None
    result = plan(config, machine_for(device), DataStats(rows - eval_rows, lengths, eval_rows, weights_bytes(source.path)), shape, timer=timer)
    if result.time is not None:
        candidate.train_seconds, candidate.train_sentence = result.time.seconds, result.time.sentence()
    if result.memory is not None:
        candidate.memory_sentence, candidate.fits = result.memory.sentence(), result.memory.fits
    else:
        candidate.memory_sentence = "Trains on the processor: memory is not the limit."


def rank(candidates: list[Candidate]) -> tuple[Candidate | None, str]:
    """Order the candidates (best probe score first), give each its reason, and pick the recommendation:
    the best, or a faster one whose score is within a tie of it."""
    candidates.sort(key=lambda c: -c.score)
    for position, c in enumerate(sorted(candidates, key=lambda c: -c.logme), start=1):
        c.logme_rank = position
    for position, c in enumerate(candidates, start=1):
        c.rank = position
    if not candidates:
        return None, ""
    best = candidates[0]
    usable = [c for c in candidates if c.fits is not False]
    choice = best if best in usable or not usable else usable[0]
    faster = [c for c in usable if choice.score - c.score <= TIE and (c.train_seconds or 1e18) < 0.67 * (choice.train_seconds or 1e18)]
    if faster:
        quick = min(faster, key=lambda c: c.train_seconds or 1e18)
        reason = (f"it scores about as well as {choice.name} on your examples ({_pct(quick.score)} against "
                  f"{_pct(choice.score)}, within the probes' spread) and trains {choice.train_seconds / quick.train_seconds:.1f} times as fast.")
        choice = quick
    elif len(candidates) == 1:
        reason = "it is the only model here for this task."
    else:
        second = next(c for c in candidates if c is not choice)
        gap = choice.score - second.score
        agree = "LogME, a second measure, agrees." if choice.logme_rank == 1 else (
            "LogME, a second measure, ranks another model first, so the lead is less sure.")
        reason = (f"its features already sort your examples best ({_pct(choice.score)}, {gap * 100:.0f} points ahead of "
                  f"{second.name}). {agree}")
    for c in candidates:
        if c is choice:
            c.reason = "Recommended: " + reason
        elif c.fits is False:
            c.reason = "Does not fit this computer's memory for fine-tuning."
        else:
            c.reason = (f"{(choice.score - c.score) * 100:.0f} points below {choice.name} before training."
                        if choice.score - c.score > TIE else f"About as good as {choice.name} (within the probes' spread).")
    return choice, reason


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"

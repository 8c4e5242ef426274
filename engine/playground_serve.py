"""The Playground's model process (`python -m engine playground RUN`): load a finished run's model once, then
answer that run's `playground` rows until nobody has asked anything for a while.

A chat answer is generated on a worker thread with transformers' TextIteratorStreamer, and this thread
writes the text so far into the request's row every few tokens, so the window shows it as it grows. A
stopping criterion counts the tokens and ends generation as soon as the window sets the row's stop flag.
Read top to bottom: serve (the loop) -> load -> chat -> classify.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from sqlite_utils import Database
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from engine import playground, store
from engine.config import ConfigError
from engine.data.chat import tokenize_prompt
from engine.data.conversations import Turn
from engine.export.job import RunModel, load_run_model
from engine.hardware import pick_device
from engine.inference import REPETITION_GUARD
from engine.models.loading import load_causal_lm
from engine.protocol import message
from engine.tasks import task as task_named
from engine.data.conversations import with_system_prompt

POLL_SECONDS = 0.05  # how often an idle process looks for a new question (a read: the window sees no change)
WRITE_EVERY_TOKENS = 4  # the answer so far is written at least this often...
WRITE_EVERY_SECONDS = 0.25  # ...or this often on a slow machine, whichever comes first


def serve(db: Database, run_id: int, *, home: Path | None = None, idle_minutes: float = playground.IDLE_MINUTES) -> int:
    """Load the run's model and answer its questions until idle, asked to stop, or sent SIGTERM."""
    home = home or store.default_home()
    ended = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: ended.set())
    playground.register_server(db, run_id)
    try:
        source = load_run_model(db, run_id, home)
        loaded = Loaded(source, pick_device(source.config.device))
    except ConfigError as problem:
        playground.mark_server(db, run_id, "failed", error=message("playground.failed", reason=problem)[1])
        return 1
    except Exception as error:  # noqa: BLE001 - any failure to load becomes the row's sentence
        reason = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        playground.mark_server(db, run_id, "failed", error=message("playground.failed", reason=reason)[1],
                               error_detail=traceback.format_exc())
        return 1
    playground.mark_server(db, run_id, "ready")
    last_asked = time.monotonic()
    while not ended.is_set() and not playground.stop_asked(db, run_id):
        request = playground.next_request(db, run_id)
        if request is None:
            if time.monotonic() - last_asked > idle_minutes * 60:
                playground.mark_server(db, run_id, "stopped", error=message("playground.idle", minutes=idle_minutes)[1])
                return 0
            time.sleep(POLL_SECONDS)
            continue
        try:
            task_named(loaded.source.task).playground(db, loaded, request, ended)
        except Exception as error:  # noqa: BLE001 - one bad question must not end the process
            reason = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
            playground.write_progress(db, request["id"], status="failed",
                                      error=message("playground.answer_failed", reason=reason)[1])
        last_asked = time.monotonic()
    playground.mark_server(db, run_id, "stopped", error=message("playground.stopped")[1])
    return 0


class Loaded:
    """The run's model, and the model it started from, loaded the first time a base answer is asked for."""

    def __init__(self, source: RunModel, device: torch.device) -> None:
        self.source, self.device = source, device
        source.model.to(device)  # float32, as loaded: the answers match the run's own evaluation
        self._base = None

    @contextlib.contextmanager
    def model(self, which: str):
        if which != "base":
            yield self.source.model
        elif self.source.is_adapter:  # the base is inside: switch the LoRA off for this answer
            with self.source.model.disable_adapter():
                yield self.source.model
        else:
            if self._base is None:
                self._base = load_causal_lm(self.source.base, dtype=torch.float32).to(self.device).eval()
            yield self._base


# ---------------------------------------------------------------- chat


class _CountAndStop(StoppingCriteria):
    """Called once per generated token: counts them, and ends generation when the window asked."""

    def __init__(self, prompt_length: int, stop: threading.Event) -> None:
        self.prompt_length, self.stop, self.tokens = prompt_length, stop, 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        self.tokens = input_ids.shape[1] - self.prompt_length
        return torch.full((input_ids.shape[0],), self.stop.is_set(), dtype=torch.bool)


def answer_chat(db: Database, loaded: Loaded, request: dict[str, Any], ended: threading.Event) -> None:
    source, settings = loaded.source, request["settings"] or playground.DEFAULT_SETTINGS
    tokenizer = source.tokenizer
    turns = [Turn(m["role"], m["content"], train=False) for m in request["conversation"]]
    ids, dropped = prompt_that_fits(tokenizer, with_system_prompt(turns, source.config.system_prompt),
                                    context_length(source), settings["max_new_tokens"])
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    stop = threading.Event()
    counter = _CountAndStop(len(ids), stop)
    temperature = float(settings["temperature"])
    sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.95} if temperature > 0 else {"do_sample": False}
    failure: list[BaseException] = []

    def generate() -> None:
        try:
            with loaded.model(request["model"] or "tuned") as model, torch.no_grad():
                input_ids = torch.tensor([ids], device=model.device)
                model.generate(
                    input_ids=input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer,
                    max_new_tokens=int(settings["max_new_tokens"]), stopping_criteria=StoppingCriteriaList([counter]),
                    pad_token_id=tokenizer.pad_token_id, **sampling, **REPETITION_GUARD,
                )
        except BaseException as error:  # noqa: BLE001 - handed to the serving thread, which words it
            failure.append(error)
            streamer.on_finalized_text("", stream_end=True)  # let the reading loop end

    started = time.monotonic()
    worker = threading.Thread(target=generate, name="playground-generate", daemon=True)
    worker.start()
    text, first_token, written_tokens, written_at, updates = "", None, 0, started, 0
    notes = message("playground.trimmed", count=dropped)[1] if dropped else None
    for piece in streamer:
        text += piece
        now = time.monotonic()
        if first_token is None and piece:
            first_token = now - started
        if counter.tokens - written_tokens >= WRITE_EVERY_TOKENS or now - written_at >= WRITE_EVERY_SECONDS:
            updates += 1
            playground.write_progress(db, request["id"], output=text, tokens=counter.tokens, updates=updates,
                                      first_token_seconds=first_token, error=notes)
            written_tokens, written_at = counter.tokens, now
            if playground.stop_wanted(db, request["id"]) or ended.is_set():
                stop.set()
    worker.join()
    if failure:
        raise failure[0]
    elapsed = time.monotonic() - started
    after_first = elapsed - (first_token or 0.0)
    speed = (counter.tokens - 1) / after_first if counter.tokens > 1 and after_first > 0 else None
    playground.write_progress(
        db, request["id"], status="stopped" if stop.is_set() else "done", output=text.strip(), tokens=counter.tokens,
        updates=updates + 1, first_token_seconds=first_token, tokens_per_second=speed, error=notes,
    )


def context_length(source: RunModel) -> int:
    """How many tokens the model can read at once (its position limit; the tokenizer's if it has none)."""
    configured = getattr(source.model.config, "max_position_embeddings", None)
    return int(configured or min(source.tokenizer.model_max_length, 32768))


def prompt_that_fits(tokenizer, turns: list[Turn], limit: int, max_new_tokens: int) -> tuple[list[int], int]:
    """The prompt's token ids, the oldest messages left out (the system message kept) until it and the answer
    fit in the model's context; returns the ids and how many messages were left out."""
    room = max(1, limit - max_new_tokens)
    dropped = 0
    while True:
        ids = tokenize_prompt(tokenizer, turns)
        if len(ids) <= room:
            return ids, dropped
        first = 1 if turns and turns[0].role == "system" else 0
        if len(turns) - first <= 1:  # only the user's own message is left, and it is too long on its own
            raise ConfigError(message("playground.too_long", tokens=len(ids), limit=room)[1])
        # Drop the oldest exchange (a user message and the answer to it), so the model still sees turns in order.
        cut = 2 if len(turns) - first > 2 else 1
        turns = turns[:first] + turns[first + cut:]
        dropped += cut


# ---------------------------------------------------------------- classification


def classify(db: Database, loaded: Loaded, request: dict[str, Any]) -> None:
    """Every label with its probability, likeliest first, and the labels given (above the threshold for a
    run with several labels per text; the likeliest one otherwise)."""
    source = loaded.source
    model, tokenizer = source.model, source.tokenizer
    batch = tokenizer([request["text"]], truncation=True, max_length=source.config.max_length, return_tensors="pt")
    with torch.no_grad():
        logits = model(**{k: v.to(model.device) for k, v in batch.items()}).logits[0].float()
    probabilities = (logits.sigmoid() if source.multi_label else logits.softmax(dim=-1)).tolist()
    ranked = sorted(zip(source.labels, probabilities), key=lambda pair: -pair[1])
    threshold = source.config.threshold
    chosen = [name for name, p in ranked if p > threshold] if source.multi_label else [ranked[0][0]]
    result = {
        "labels": [{"label": name, "probability": p} for name, p in ranked],
        "multi_label": source.multi_label, "threshold": threshold, "chosen": chosen,
        "truncated": int(batch["input_ids"].shape[1]) >= source.config.max_length,
    }
    playground.write_progress(db, request["id"], status="done", result=result, updates=1)

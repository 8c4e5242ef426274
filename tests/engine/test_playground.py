"""The Playground's model process answers through the database: a chat answer streamed in several writes
(the same text as the model's own greedy answer), the base model's answer, a classifier's probabilities; Stop,
putting the process away, idle exit. (A crashed process is found by the window: tests/gui/test_playground_page.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from engine import playground, store
from engine.inference import answer
from engine.playground_serve import serve
from tests.conftest import DEMO_DATA
from tests.engine.helpers import ROOT, run_in_process, wait_for


@pytest.fixture(scope="module")
def play_home(tmp_path_factory):
    return tmp_path_factory.mktemp("playground-home")


@pytest.fixture(scope="module")
def finished_runs(play_home, tiny_llama, tiny_encoder, intents_file):
    """A finished tiny chat run (LoRA, with a system prompt) and a finished tiny classifier run, one home."""
    _, chat = run_in_process(play_home, {
        "kind": "chat", "name": "Tiny chat", "model": str(tiny_llama), "data": str(DEMO_DATA / "identity.json"),
        "template_values": {"name": "Tuney", "author": "Ada Lab"}, "method": "lora", "max_steps": 2, "learning_rate": 0.01,
        "batch_size": 8, "max_length": 128, "system_prompt": "You are Tuney.", "early_stopping_patience": 0,
    })
    db, classify = run_in_process(play_home, {
        "kind": "classify", "name": "Tiny classifier", "model": str(tiny_encoder), "data": str(intents_file),
        "method": "full", "max_steps": 2, "batch_size": 16, "max_length": 32, "early_stopping_patience": 0,
    })
    assert store.get_run(db, chat)["status"] == "completed" and store.get_run(db, classify)["status"] == "completed"
    return db, chat, classify


def _server(home, run_id: int, idle_minutes: float = 5.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "playground", str(run_id), "--idle-minutes", str(idle_minutes)],
        cwd=ROOT, env={**os.environ, "TUNEWRIGHT_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _done(db, request_id: int) -> bool:
    return playground.get_request(db, request_id)["status"] in ("done", "stopped", "failed")


def test_the_model_processes_answer_a_chat_and_a_classifier_through_the_database(finished_runs, play_home, tiny_llama):
    db, chat, classify = finished_runs
    # The chat model in its own process, as the window starts it; the classifier's served on a thread here
    # (the same loop, through the same rows), which spares a second torch import on CI's two cores.
    chat_process = _server(play_home, chat)
    classify_thread = threading.Thread(
        target=lambda: serve(store.open_db(store.database_path(play_home)), classify, home=play_home), daemon=True
    )
    classify_thread.start()
    try:
        conversation = [{"role": "user", "content": "Who are you?"}]
        question = playground.ask_chat(db, chat, conversation, temperature=0.0, max_new_tokens=40)
        text = playground.ask_classifier(db, classify, "Where is my parcel? The tracking number does not work.")
        wait_for(lambda: _done(db, question), timeout=90, every=0.01)
        row = playground.get_request(db, question)
        assert row["status"] == "done", row["error"]
        assert row["tokens"] == 40 and row["updates"] >= 40 // 4  # written every few tokens as it grew
        assert row["first_token_seconds"] is not None and row["tokens_per_second"] > 0
        # The streamed text is the model's own greedy answer, with the run's system prompt in front.
        from engine.export.job import load_run_model

        source = load_run_model(db, chat, play_home)
        assert row["output"] == answer(source.model, source.tokenizer, "Who are you?", system_prompt="You are Tuney.",
                                       max_new_tokens=40)

        # The same question put to the model the run started from: its own greedy answer, not the tuned one's.
        base = playground.ask_chat(db, chat, conversation, model="base", temperature=0.0, max_new_tokens=40)
        wait_for(lambda: _done(db, base), timeout=60)
        from transformers import AutoModelForCausalLM

        untuned = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
        expected = answer(untuned, source.tokenizer, "Who are you?", system_prompt="You are Tuney.", max_new_tokens=40)
        assert playground.get_request(db, base)["output"] == expected != row["output"]

        wait_for(lambda: _done(db, text), timeout=90)
        result = playground.get_request(db, text)["result"]
        assert [entry["label"] for entry in result["labels"]] and len(result["labels"]) == 4
        assert sum(entry["probability"] for entry in result["labels"]) == pytest.approx(1.0, abs=1e-5)
        assert result["chosen"] == [result["labels"][0]["label"]] and not result["multi_label"]

        # A second turn keeps the conversation; Stop ends an answer early and keeps what was written.
        conversation += [{"role": "assistant", "content": row["output"]}, {"role": "user", "content": "And who made you?"}]
        long_one = playground.ask_chat(db, chat, conversation, temperature=0.8, max_new_tokens=400)
        wait_for(lambda: playground.get_request(db, long_one)["tokens"] > 0, timeout=30, every=0.01)
        playground.stop(db, long_one)
        wait_for(lambda: _done(db, long_one), timeout=30)
        stopped = playground.get_request(db, long_one)
        assert stopped["status"] == "stopped" and 0 < stopped["tokens"] < 400 and stopped["output"]

        # The window closing the page: the process exits and says so.
        playground.stop_server(db, chat)
        assert chat_process.wait(timeout=30) == 0
        assert playground.check_server(db, chat)["status"] == "stopped"
        playground._set_server(db, classify, request="stop")  # what stop_server writes, without the signal to us
        classify_thread.join(timeout=30)
        assert playground.check_server(db, classify)["status"] == "stopped"
    finally:
        if chat_process.poll() is None:
            chat_process.kill()
            chat_process.wait()


def test_an_idle_model_process_exits_by_itself_and_bad_questions_get_a_sentence(finished_runs, play_home):
    db, chat, classify = finished_runs
    with pytest.raises(Exception, match="Type a message first"):
        playground.ask_classifier(db, classify, "   ")
    with pytest.raises(Exception, match="between 0"):
        playground.ask_chat(db, chat, [{"role": "user", "content": "hi"}], temperature=5.0)
    assert serve(db, classify, home=play_home, idle_minutes=0.01) == 0  # here, not in a process of its own: no torch import to wait for
    row = playground.check_server(db, classify)
    assert row["status"] == "stopped" and "without a question" in row["error"]


def test_a_model_that_cannot_load_says_why_and_answers_its_waiting_questions_with_it(tunewright_home):
    db = store.open_db(store.database_path(tunewright_home))
    config = {"kind": "chat", "model": "demo:smollm2", "data": str(DEMO_DATA / "identity.json")}
    run_id = store.create_run(db, kind="chat", config=config, name="Lost model", status="completed")
    store.update_run(db, run_id, run_dir=str(tunewright_home / "runs" / "gone"))  # its model folder was deleted
    question = playground.ask_chat(db, run_id, [{"role": "user", "content": "Hello"}])
    assert serve(db, run_id, home=tunewright_home) == 1
    server = playground.check_server(db, run_id)
    assert server["status"] == "failed" and server["error"].startswith("The model could not be loaded: Run")
    waiting = playground.get_request(db, question)
    assert waiting["status"] == "failed" and waiting["error"] == server["error"]


def test_generation_is_guarded_against_repetition(tiny_llama):
    """A tiny random model loops at once; with the guard the Playground and `ask` use, no six tokens
    come twice in its answer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.inference import REPETITION_GUARD

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    ids = torch.tensor([tokenizer("Who is the head physician?")["input_ids"]])

    def answer(**guard) -> list[int]:
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=80,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id, **guard)
        return out[0, ids.shape[1]:].tolist()

    def repeated_sixes(tokens: list[int]) -> int:
        sixes = [tuple(tokens[i : i + 6]) for i in range(len(tokens) - 5)]
        return len(sixes) - len(set(sixes))

    assert repeated_sixes(answer()) > 0  # unguarded, it loops
    assert repeated_sixes(answer(**REPETITION_GUARD)) == 0

"""What a user sees of the chat recipe's speed work: the padding it saved, and a compiler failure that costs
nothing but the speed-up."""

import torch

from engine import compiling, store
from tests.engine.helpers import run_in_process


def test_a_failing_compiler_is_reported_plainly_and_training_completes_without_it(tunewright_home, tiny_chat_config, monkeypatch):
    @torch._dynamo.register_backend
    def broken_compiler(graph, example_inputs):
        raise RuntimeError("no C compiler was found")

    monkeypatch.setattr(compiling, "BACKEND", "broken_compiler")
    db, run_id = run_in_process(tunewright_home, {**tiny_chat_config, "compile": "on", "max_steps": 3})
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    messages = [e["message"] for e in store.events(db, run_id)]
    failed = [m for m in messages if m.startswith("Compiling the model for faster steps did not work here")]
    assert len(failed) == 1 and "no C compiler was found" in failed[0] and "training goes on without it" in failed[0]
    padding = [m for m in messages if m.startswith("The examples of each batch are put end to end without padding")]
    assert len(padding) == 1 and "% of the tokens would have been padding" in padding[0]
    # Every step trained with a finite loss after the failed attempt.
    losses = [value for _, value in store.metric_series(db, run_id, "train_loss")]
    assert len(losses) == 3 and all(value == value and value < 20 for value in losses)

"""The tagging recipe, run for real: a tiny random encoder for the mechanics (windows, LoRA, what a run writes),
test_tagging_learns.py has the bundled MiniLM learning for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import store
from engine.tagging.predict import Tagger
from tests.engine.helpers import run_in_process
from tests.engine.test_recipes import assert_completed_with_artifacts


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["full", "lora"])
def test_a_tagger_trains_reads_long_texts_in_windows_and_saves_a_model(tunewright_home, tiny_encoder, tmp_path, method):
    sentence = "The patient had cystic fibrosis and mild asthma since birth ."
    records = []
    for copies in (1, 2, 12):
        text = " ".join([sentence] * copies)
        spans = []
        for i in range(copies):
            base = i * (len(sentence) + 1)
            spans += [[base + 16, base + 31, "Disease"], [base + 41, base + 47, "Disease"]]
        records.append({"text": text, "label": spans})
    data = _jsonl(tmp_path / "train.jsonl", records * 4)
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "tag", "model": str(tiny_encoder), "data": str(data), "eval_data": str(data), "method": method,
         "epochs": 2, "batch_size": 4, "max_length": 48, "learning_rate": 1e-3, "early_stopping_patience": 0},
    )
    run = assert_completed_with_artifacts(db, run_id)
    assert run["best_metric_name"] == "eval_f1"
    assert {"eval_f1", "eval_precision", "eval_recall", "eval_partial_f1", "eval_loss"} <= set(store.metric_names(db, run_id))
    messages = [e["message"] for e in store.events(db, run_id)]
    assert "Kinds of names to learn: Disease (120)." in messages
    # the 12-sentence texts, in the training and the evaluation data (the same file here)
    assert "8 of 24 texts are longer than 48 tokens; they are read in windows that overlap by half, so no word is cut off." in messages
    # the saved model (a LoRA adapter, or the whole model) loads as the Playground loads it
    tagger = Tagger.load(Path(run["run_dir"]) / "model")
    assert tagger.names == ["O", "B-Disease", "I-Disease"]
    assert len(tagger(["The patient had cystic fibrosis ."])) == 1


def test_a_file_without_any_marked_name_stops_with_a_sentence(tunewright_home, tiny_encoder, tmp_path):
    data = _jsonl(tmp_path / "plain.jsonl", [{"text": "Nothing is marked here.", "label": []}] * 10)
    db, run_id = run_in_process(tunewright_home, {"kind": "tag", "model": str(tiny_encoder), "data": str(data)})
    run = store.get_run(db, run_id)
    assert run["status"] == "failed"
    assert run["error"] == "The training texts have no marked names, so there is nothing to learn; mark some names first."

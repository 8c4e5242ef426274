"""Honest scores: a classifier run keeps the examples it held back and is scored on them when it ends; an
evaluation on data it learned from says so with the share; every score comes with the majority baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import store
from engine.recipes.evaluate import majority_baseline, overlap
from tests.engine.helpers import cli, run_in_process
from tests.engine.test_export import chat_run, export_home  # noqa: F401 - the shared tiny chat run


def held_out_evaluation(db, run_id: int) -> dict:
    children = [r for r in store.list_runs(db) if r["parent_id"] == run_id and r["kind"] == "evaluate"]
    assert children, "the run has no evaluation of its own"
    evaluation = children[-1]
    artifact = next(a for a in store.artifacts(db, evaluation["id"]) if a["kind"] == "evaluation")
    return {**evaluation, "result": json.loads(Path(artifact["path"]).read_text(encoding="utf-8"))}


def test_a_finished_classifier_is_scored_on_the_examples_it_held_back(tmp_path, tiny_classify_config, intents_file):
    home = tmp_path / "home"
    db, run_id = run_in_process(home, tiny_classify_config)
    assert store.get_run(db, run_id)["status"] == "completed"
    kept = next(a for a in store.artifacts(db, run_id) if a["kind"] == "held_out")
    rows = [json.loads(line) for line in Path(kept["path"]).read_text(encoding="utf-8").splitlines()]
    assert Path(kept["path"]).parent == Path(store.get_run(db, run_id)["run_dir"])
    assert 0 < len(rows) < 120 and set(rows[0]) == {"text", "label"}

    evaluation = held_out_evaluation(db, run_id)
    result = evaluation["result"]
    assert evaluation["status"] == "completed" and result["held_out"] is True
    assert result["rows"] == len(rows) == sum(map(sum, result["confusion"]))
    assert result["overlap"]["count"] == 0  # none of them was learned from
    assert result["baseline"]["accuracy"] == pytest.approx(0.25, abs=0.1)  # four equal intents


def test_evaluating_on_the_training_file_reports_the_overlap_and_scores_every_row(tmp_path, tiny_classify_config,
                                                                                 intents_file):
    home = tmp_path / "home"
    _, run_id = run_in_process(home, tiny_classify_config)
    done = cli("evaluate", str(run_id), "--data", str(intents_file), "--json", home=home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rows"] == result["file_rows"] == 120
    assert result["overlap"] == {"count": 120, "rows": 120, "share": 1.0}


def test_the_baseline_is_always_answering_the_most_common_training_category():
    truth = [["a"], ["b"], ["b"], ["c"]]
    baseline = majority_baseline(truth, [["b"], ["b"], ["a"]], ["a", "b", "c"], multi_label=False)
    assert (baseline["label"], baseline["accuracy"]) == ("b", 0.5)
    assert overlap(["x  y", "z"], ["x y"]) == {"count": 1, "rows": 2, "share": 0.5}


def test_a_chat_run_keeps_the_conversations_it_held_back(export_home, chat_run):
    from engine.data.conversations import load_conversations

    db, run_id = chat_run
    kept = next(a for a in store.artifacts(db, run_id) if a["kind"] == "held_out")
    held = load_conversations(kept["path"]).conversations
    assert len(held) == kept["metadata"]["rows"] > 0
    assert held[0][0].role == "system" and held[0][0].content == "You are Tuney."  # as the run saw them

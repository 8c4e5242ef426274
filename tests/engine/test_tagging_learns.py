"""The bundled MiniLM learns disease names from a slice of NCBI-disease in about a minute on a CPU."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine import store
from engine.data.spans import read_tagged
from engine.tagging.align import gold_spans
from engine.tagging.predict import Tagger
from engine.tagging.scores import entity_scores
from tests.engine.helpers import run_in_process
from tests.engine.test_recipes import assert_completed_with_artifacts

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def test_minilm_learns_disease_names_from_a_slice_of_ncbi_disease(tunewright_home, tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("\n\n".join((DEMO / "ncbi_disease_train.tsv").read_text().split("\n\n")[:240]) + "\n")
    held_out = tmp_path / "devel.tsv"
    held_out.write_text("\n\n".join((DEMO / "ncbi_disease_devel.tsv").read_text().split("\n\n")[:80]) + "\n")
    started = time.monotonic()
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "tag", "model": "demo:minilm", "data": str(train), "eval_data": str(held_out), "method": "full",
         "epochs": 3, "batch_size": 16, "max_length": 96, "learning_rate": 2e-4, "eval_every": 15},
    )
    run = assert_completed_with_artifacts(db, run_id)
    curve = [value for _, value in store.metric_series(db, run_id, "eval_f1")]
    assert curve[0] < run["best_metric"] and run["best_metric"] > 0.35, curve
    # The saved model, loaded as the Playground loads it, finds the names it was scored on.
    tagger = Tagger.load(Path(run["run_dir"]) / "model")
    documents = read_tagged(held_out).documents
    predicted = tagger([d.text for d in documents])
    assert entity_scores([gold_spans(d) for d in documents], predicted)["f1"] == pytest.approx(run["best_metric"], abs=0.02)
    assert all(0.0 < span.confidence <= 1.0 for spans in predicted for span in spans)
    print(f"trained and checked in {time.monotonic() - started:.0f} s, F1 curve {curve}")

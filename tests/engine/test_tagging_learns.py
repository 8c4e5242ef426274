"""The bundled MiniLM learns disease names from a slice of NCBI-disease in about a minute on a CPU: 120
sentences, 30 steps of 8. The edges of names are what a short run learns last, so the overlap F1 carries the
"it learned" bar (measured: 0 at the first check, above 0.5 by the last), the strict F1 only has to rise above
an untrained tagger's 0 (measured: 0.095). A larger rate (5e-4), or 16 steps of 16, left every word unmarked."""

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
    train.write_text("\n\n".join((DEMO / "ncbi_disease_train.tsv").read_text().split("\n\n")[:120]) + "\n")
    held_out = tmp_path / "devel.tsv"
    held_out.write_text("\n\n".join((DEMO / "ncbi_disease_devel.tsv").read_text().split("\n\n")[:40]) + "\n")
    started = time.monotonic()
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "tag", "model": "demo:minilm", "data": str(train), "eval_data": str(held_out), "method": "full",
         "epochs": 2, "batch_size": 8, "max_length": 64, "learning_rate": 3e-4, "eval_every": 10},
    )
    run = assert_completed_with_artifacts(db, run_id)
    curve = [value for _, value in store.metric_series(db, run_id, "eval_f1")]
    overlap = [value for _, value in store.metric_series(db, run_id, "eval_partial_f1")]
    assert max(overlap) > 0.5 and overlap[-1] > overlap[0], overlap
    assert run["best_metric"] > max(0.05, curve[0]), curve
    # The saved model, loaded as the Playground loads it, finds the names it was scored on.
    tagger = Tagger.load(Path(run["run_dir"]) / "model")
    tagger.max_length = 64  # in the run's windows
    documents = read_tagged(held_out).documents
    predicted = tagger([d.text for d in documents])
    assert entity_scores([gold_spans(d) for d in documents], predicted)["f1"] == pytest.approx(run["best_metric"], abs=0.02)
    assert all(0.0 < span.confidence <= 1.0 for spans in predicted for span in spans)
    print(f"trained and checked in {time.monotonic() - started:.0f} s, F1 curve {curve}, overlap F1 {overlap}")

"""A finished run's model that is damaged on disk, or scored on data of another kind: evaluating or exporting
it is a sentence about the model or the data, never "An unexpected error stopped training"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import store
from engine.__main__ import main
from tests.engine.helpers import run_in_process


@pytest.fixture
def finished_classifier(tunewright_home, tiny_encoder, intents_file):
    db, run_id = run_in_process(tunewright_home, {
        "kind": "classify", "name": "Tiny classifier", "model": str(tiny_encoder), "data": str(intents_file),
        "method": "full", "max_steps": 2, "batch_size": 8, "max_length": 32, "early_stopping_patience": 0,
    })
    assert store.get_run(db, run_id)["status"] == "completed", store.get_run(db, run_id)["error_detail"]
    return db, run_id


def _said(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out + captured.err


def test_a_damaged_model_is_said_so_by_evaluate_and_export(finished_classifier, intents_file, capsys):
    db, run_id = finished_classifier
    model_dir = Path(store.get_run(db, run_id)["run_dir"]) / "model"
    weights = next(model_dir.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])  # cut short, as by a full disk or a broken copy

    assert main(["evaluate", str(run_id), "--data", str(intents_file)]) == 1
    said = _said(capsys)
    assert said.startswith(f"The model of run {run_id} could not be loaded: its files in {model_dir} may be damaged"), said
    assert "unexpected error" not in said

    assert main(["export", str(run_id), "--format", "merged"]) != 0
    said = _said(capsys)
    assert f"The model of run {run_id} could not be loaded" in said and "unexpected error" not in said


def test_a_single_label_model_on_a_file_with_several_labels_per_text(finished_classifier, tmp_path, capsys):
    db, run_id = finished_classifier
    several = tmp_path / "several.jsonl"
    several.write_text("\n".join(json.dumps({"text": f"my invoice and parcel {i}", "label": ["billing", "shipping"]})
                                 for i in range(10)) + "\n")
    assert main(["evaluate", str(run_id), "--data", str(several)]) == 1
    said = _said(capsys).strip()
    assert said == ("Tiny classifier gives each text one category, but several.jsonl gives several categories to some "
                    "texts, so it cannot be scored on that file; choose a file with one category per text."), said

"""The tagging task through the stages the table gives it, on a tiny random encoder: the held-out evaluation
with its errors sorted, the export job's HF folder and ONNX read back, distillation into a smaller tagger,
the Playground's answer, the doctor and the Data page's description of a tagged file, and the marks an expert
leaves on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine import store
from engine.data.spans import Document, ScoredSpan, Span, looks_tagged
from engine.tagging.evaluate import span_errors
from tests.engine.helpers import run_in_process

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def slice_of(folder: Path, sentences: int) -> Path:
    blocks = (DEMO / "ncbi_disease_train.tsv").read_text(encoding="utf-8").split("\n\n")[:sentences]
    path = folder / "train.tsv"
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tiny_encoder, tmp_path_factory):
    """A tagger trained for one short epoch on 48 sentences, with its held-back evaluation."""
    home = tmp_path_factory.mktemp("tw-home")
    data = slice_of(tmp_path_factory.mktemp("data"), 48)
    db, run_id = run_in_process(home, {
        "kind": "tag", "model": str(tiny_encoder), "data": str(data), "method": "full", "epochs": 1,
        "batch_size": 16, "max_length": 48, "learning_rate": 1e-3,
    })
    return home, db, run_id, data


def test_a_finished_tagger_is_scored_on_its_held_back_texts_with_every_error_sorted(trained):
    home, db, run_id, _ = trained
    assert store.get_run(db, run_id)["status"] == "completed"
    (evaluation,) = db["runs"].rows_where("parent_id = ? AND kind = 'evaluate'", [run_id])
    assert evaluation["status"] == "completed"
    artifact = next(a for a in store.artifacts(db, evaluation["id"]) if a["kind"] == "evaluation")
    result = json.loads(Path(artifact["path"]).read_text(encoding="utf-8"))
    assert result["task"] == "tag" and result["rows"] == 5  # 10% of 48, held back
    assert set(result["scores"]["per_type"]) <= {"Disease"}
    assert {"eval_f1", "eval_partial_f1"} <= set(result["metrics"])
    assert result["error_count"] == len(result["errors"]) == sum(result["error_counts"].values())


def test_errors_are_sorted_into_missed_spurious_wrong_kind_and_wrong_edges():
    text = "Aspirin eases headache but not migraine in BRCA1 carriers."
    document = Document("d", text, [Span(0, 7, "Drug"), Span(14, 22, "Symptom"), Span(31, 39, "Disease")])
    truth = [document.spans]
    guess = [[ScoredSpan(0, 7, "Drug", 0.9), ScoredSpan(14, 17, "Symptom", 0.6), ScoredSpan(31, 39, "Drug", 0.5),
              ScoredSpan(43, 48, "Gene", 0.7)]]
    errors = span_errors([document], truth, guess)
    assert [(e["kind"], e["type"]) for e in errors] == [
        ("wrong_boundary", "Symptom"), ("wrong_type", "Disease"), ("spurious", "Gene")]
    missed = span_errors([document], truth, [[]])
    assert {e["kind"] for e in missed} == {"missed"} and len(missed) == 3
    shown = errors[0]
    assert shown["context"][shown["truth"]["start"]:shown["truth"]["end"]] == "headache"
    assert shown["predicted"]["confidence"] == 0.6


@pytest.mark.parametrize("fmt", ["merged", "onnx"])
def test_the_export_job_writes_a_tagger_and_reads_it_back(trained, tmp_path, fmt):
    pytest.importorskip("onnxruntime")
    from engine.export import export

    home, db, run_id, _ = trained
    verdict = export(db, run_id, fmt, home=home, to=tmp_path / fmt)
    assert verdict["passed"], verdict["summary"]
    assert "marks the same" in verdict["summary"]
    assert "names" in (tmp_path / fmt / "README.md").read_text(encoding="utf-8")


def test_the_gguf_format_is_refused_for_a_tagger_in_a_sentence(trained):
    from engine.export import export

    home, db, run_id, _ = trained
    verdict = export(db, run_id, "gguf-f16", home=home)
    assert not verdict["passed"]
    assert "GGUF does not fit a model made to tag names; choose a merged folder or ONNX." in verdict["summary"]


def test_a_tagger_is_distilled_into_a_smaller_one(trained):
    home, db, run_id, data = trained
    db, distill_id = run_in_process(home, {
        "kind": "distill", "teacher": f"run:{run_id}", "data": str(data), "student_layers": 1, "epochs": 1,
        "batch_size": 16, "max_length": 48, "learning_rate": 1e-3,
    })
    run = store.get_run(db, distill_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["config"]["task"] == "tag" and run["config"]["temperature"] == 2.0
    assert "eval_f1" in store.metric_names(db, distill_id)
    messages = [e["message"] for e in store.events(db, distill_id)]
    assert any("1 layers" in m or "1 layer" in m for m in messages)


def test_the_playground_marks_names_in_each_text(trained):
    from engine import playground
    from engine.export.job import load_run_model
    from engine.playground_serve import Loaded
    from engine.tasks import TASKS
    import torch

    home, db, run_id, _ = trained
    loaded = Loaded(load_run_model(db, run_id, home), torch.device("cpu"))
    request_id = playground.ask_texts(db, run_id, ["Cystic fibrosis is common .", "", "No names here ."])
    TASKS["tag"].playground(db, loaded, playground.get_request(db, request_id), None)
    answer = playground.get_request(db, request_id)
    assert answer["status"] == "done"
    documents = answer["result"]["documents"]
    assert [d["text"] for d in documents] == ["Cystic fibrosis is common .", "No names here ."]
    for document in documents:
        for span in document["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(document["text"]) and 0 < span["confidence"] <= 1


def test_tagged_files_are_recognised_described_and_checked(tmp_path):
    from engine.data.doctor import examine
    from engine.data.preview import describe_file

    conll = slice_of(tmp_path, 30)
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text(json.dumps({"text": "Aspirin eases headache.", "label": [[0, 7, "Drug"]]}) + "\n", encoding="utf-8")
    table = tmp_path / "table.jsonl"
    table.write_text(json.dumps({"text": "Refund please", "label": ["billing", "urgent"]}) + "\n", encoding="utf-8")
    assert looks_tagged(conll) and looks_tagged(doccano) and not looks_tagged(table)
    assert describe_file(table).task != "tag"
    description = describe_file(conll)
    assert description.task == "tag" and description.count == 30 and "CoNLL" in description.summary()
    report = examine(conll, "tag")
    assert report.rows == 30 and report.classes["Disease"] > 0
    assert report.findings[0].code == "doctor.spans.types"


def test_labelling_mistakes_are_kept_with_the_evaluation():
    db = store.open_db(":memory:")
    run_id = store.create_run(db, kind="evaluate", config={}, name="e")
    store.mark_label_mistake(db, run_id, "0:missed:1:5:1:5")
    store.mark_label_mistake(db, run_id, "0:missed:1:5:1:5")  # twice: one mark
    store.mark_label_mistake(db, run_id, "2:spurious:3:4:3:4")
    assert store.label_mistakes(db, run_id) == {"0:missed:1:5:1:5", "2:spurious:3:4:3:4"}
    store.mark_label_mistake(db, run_id, "2:spurious:3:4:3:4", marked=False)
    assert store.label_mistakes(db, run_id) == {"0:missed:1:5:1:5"}

"""The data doctor's checks for tagged text: each finding counts what it is about and shows where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.spans.checks import examine_tagged

NCBI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ncbi-disease"


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _by_code(findings) -> dict:
    return {f.code.removeprefix("doctor.spans."): f for f in findings}


def test_each_problem_of_a_tagged_file_is_counted_with_examples(tmp_path):
    records = [
        # a mark cutting through a word, and a nested one
        {"id": "a", "text": "Cystic fibrosis patients", "label": [[0, 14, "Disease"], [0, 6, "Modifier"]]},
        # "asthma" marked here ...
        {"id": "b", "text": "Severe asthma in children", "label": [[7, 13, "Disease"]]},
        # ... and not here
        {"id": "c", "text": "No asthma was seen", "label": []},
        {"id": "d", "text": "", "label": []},
    ]
    findings = _by_code(examine_tagged(_jsonl(tmp_path / "t.jsonl", records), _jsonl(tmp_path / "e.jsonl", records[1:2])))
    assert findings["types"].message == "Kinds of names marked: 2 (Disease 2, Modifier 1), in 4 texts."
    assert findings["cut_words"].count == 1
    assert "'Cystic fibrosi' in 'Cystic fibrosis' (a)" in findings["cut_words"].message
    assert findings["overlapping"].count == 1 and "'Cystic' (a)" in findings["overlapping"].message
    assert "the longest of each group is learned" in findings["overlapping"].message
    assert findings["inconsistent"].values["examples"] == ["'asthma' (c)"]
    assert findings["empty"].count == 1
    assert findings["no_entities"].count == 2
    assert findings["overlap"].count == 1 and findings["overlap"].values["examples"] == ["b"]
    assert findings["rare_type"].severity == "warning"


def test_i_without_b_and_long_texts(tmp_path, tiny_encoder):
    from transformers import AutoTokenizer

    path = tmp_path / "iob1.tsv"
    long = "\n".join(f"word{i}\tO" for i in range(80))
    path.write_text(f"Aspirin\tI-Drug\neases\tO\n\n{long}\n", encoding="utf-8")
    findings = _by_code(examine_tagged(path, tokenizer=AutoTokenizer.from_pretrained(tiny_encoder), max_length=64))
    assert findings["inside_without_begin"].values["examples"] == ["line 1"]
    assert findings["windows"].count == 1 and "line 4" in findings["windows"].message
    assert "nothing is cut off" in findings["windows"].message


@pytest.mark.skipif(not (NCBI / "train.conll.tsv").exists(), reason="the NCBI disease corpus is not in ../shared/data")
def test_ncbi_disease_findings():
    findings = _by_code(examine_tagged(NCBI / "train.conll.tsv", NCBI / "test.conll.tsv"))
    assert findings["types"].message == "Kinds of names marked: 1 (Disease 5145), in 5432 texts."
    assert findings["no_entities"].count == 2502
    assert findings["overlap"].count == 1  # the corpus has one sentence in both files
    assert findings["inconsistent"].count > 10

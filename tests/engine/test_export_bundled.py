"""The bundled demo models, briefly tuned, exported and read back by independent readers (marked slow: they
load real models)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import store
from engine.demo import example
from engine.export import export
from tests.engine.helpers import run_in_process

pytestmark = pytest.mark.slow


def finished(home: Path, kind: str, **changes):
    db, run_id = run_in_process(home, {**example(kind).to_dict(), "max_steps": 2, "early_stopping_patience": 0, **changes})
    assert store.get_run(db, run_id)["status"] == "completed", store.get_run(db, run_id)["error_detail"]
    return db, run_id


def test_minilm_classifier_exports_to_every_format(tunewright_home):
    db, run_id = finished(tunewright_home, "classify", method="lora", batch_size=16, learning_rate=1e-3)
    for fmt in ("merged", "adapter", "onnx"):
        verdict = export(db, run_id, fmt, home=tunewright_home)
        print(f"MiniLM {fmt}: {verdict['summary']} {verdict.get('bytes', 0) / 2**20:.1f} MB, {verdict.get('seconds')} s")
        assert verdict["passed"], verdict["summary"]
        assert verdict["same_labels"] == verdict["texts"] and verdict["max_logit_difference"] < 1e-3


# SmolLM2 in all four formats takes several CPU minutes (each GGUF read back parses 49k tokens and merges in
# Python), beyond the suite's budget on a 2-core CI machine; the tiny Llama with SmolLM2's tokenizer covers
# every format in test_export.py. Set TUNEWRIGHT_EXPORT_SMOLLM2=1 to run it (measured numbers: the report
# of the commit that added it).
@pytest.mark.skipif(not os.environ.get("TUNEWRIGHT_EXPORT_SMOLLM2"), reason="several CPU minutes; set TUNEWRIGHT_EXPORT_SMOLLM2=1")
@pytest.mark.parametrize("fmt", ["adapter", "merged", "gguf-f16", "gguf-q8_0"])
def test_smollm2_chat_lora_exports_and_reads_back_the_same(tunewright_home, fmt):
    db, run_id = finished(tunewright_home, "chat", batch_size=4, max_length=128)
    verdict = export(db, run_id, fmt, home=tunewright_home)
    print(f"SmolLM2 {fmt}: {verdict['summary']} {verdict.get('bytes', 0) / 2**20:.1f} MB, {verdict.get('seconds')} s")
    assert verdict["passed"], verdict["summary"]
    assert verdict["greedy_same"] >= 2  # Q8_0 may part at a near tie (measured: 'creative' vs 'helpful', 0.12 apart)
    if fmt.startswith("gguf"):
        assert 'SYSTEM """You are a helpful AI assistant."""' in (Path(verdict["folder"]) / "Modelfile").read_text()

"""Exports of tiny finished runs, each read back by an independent reader and compared with the app's model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gguf import GGUFReader

from engine import store
from engine.export import export
from tests.engine.helpers import cli, run_in_process


# Tiny finished runs, built once per test session and shared with test_evaluate.py (module- or
# session-scoped fixtures would be built again for each module that imports them).
_SHARED: dict[str, object] = {}


def _once(key: str, make):
    if key not in _SHARED:
        _SHARED[key] = make()
    return _SHARED[key]


def _finished(home: Path, values: dict):
    db, run_id = run_in_process(home, values)
    assert store.get_run(db, run_id)["status"] == "completed", store.get_run(db, run_id)["error_detail"]
    return db, run_id


@pytest.fixture
def export_home(tmp_path_factory) -> Path:
    return _once("home", lambda: tmp_path_factory.mktemp("export-home"))


@pytest.fixture
def chat_run(export_home, tiny_llama):
    from tests.conftest import DEMO_DATA

    return _once("chat", lambda: _finished(
        export_home,
        {"kind": "chat", "name": "Tiny chat", "model": str(tiny_llama), "data": str(DEMO_DATA / "identity.json"),
         "template_values": {"name": "Tuney", "author": "Ada Lab"}, "method": "lora", "max_steps": 2,
         "batch_size": 8, "max_length": 128, "system_prompt": "You are Tuney.", "early_stopping_patience": 0},
    ))


@pytest.fixture
def classify_run(export_home, tiny_encoder, intents_file):
    return _once("classify", lambda: _finished(
        export_home,
        {"kind": "classify", "name": "Tiny classifier", "model": str(tiny_encoder), "data": str(intents_file),
         "method": "lora", "max_steps": 3, "batch_size": 16, "max_length": 32, "learning_rate": 1e-3,
         "early_stopping_patience": 0},
    ))


def assert_verified(db, run_id, verdict, fmt):
    assert verdict["passed"], verdict["summary"]
    export_run = store.get_run(db, verdict["export_run"])
    assert export_run["status"] == "completed" and export_run["parent_id"] == run_id and export_run["progress"] == 1.0
    messages = [e["message"] for e in store.events(db, verdict["export_run"])]
    assert any(m.startswith("The export works. Checked with") for m in messages), messages
    kinds = {a["kind"]: a for a in store.artifacts(db, verdict["export_run"])}
    assert kinds["verification"]["metadata"]["passed"] is True and kinds["export"]["metadata"]["format"] == fmt
    folder = Path(verdict["folder"])
    card = (folder / "README.md").read_text()
    assert "## Base model" in card and "## Evaluation results" in card and "## Limits" in card
    print(f"{fmt}: {verdict['summary']} ({verdict['bytes'] / 2**20:.2f} MB, {verdict['seconds']} s)")
    return folder, card


@pytest.mark.parametrize("fmt", ["merged", "adapter"])
def test_a_chat_lora_run_exports_as_a_folder_and_reads_back_the_same(export_home, chat_run, fmt):
    db, run_id = chat_run
    verdict = export(db, run_id, fmt, home=export_home)
    folder, card = assert_verified(db, run_id, verdict, fmt)
    assert verdict["greedy_same"] == verdict["greedy_total"] == 3 and verdict["max_logit_difference"] < 1e-4
    assert "conversations from identity.json" in card and 'System prompt: "You are Tuney."' in card
    if fmt == "merged":
        assert (folder / "model.safetensors").exists() and not (folder / "adapter_config.json").exists()
    else:
        assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}


def test_a_chat_lora_run_exports_as_gguf_that_transformers_reads_back_the_same(export_home, chat_run):
    db, run_id = chat_run
    sizes = {}
    for fmt in ("gguf-f16", "gguf-q8_0"):
        verdict = export(db, run_id, fmt, home=export_home)
        folder, card = assert_verified(db, run_id, verdict, fmt)
        assert verdict["greedy_total"] == 3 and verdict["max_logit_difference"] <= verdict["tolerance"]
        assert "ollama create my-model -f Modelfile" in card
        modelfile = (folder / "Modelfile").read_text()
        assert modelfile.startswith(f"FROM ./model-{fmt[5:]}.gguf")
        assert 'PARAMETER stop "<|im_end|>"' in modelfile and 'SYSTEM """You are Tuney."""' in modelfile
        assert "{{ .Role }}" in modelfile and "<|im_start|>assistant" in modelfile
        sizes[fmt] = sum(int(t.n_bytes) for t in GGUFReader(folder / f"model-{fmt[5:]}.gguf").tensors)
    # The weights: 8.5 bits each (8 plus a 16-bit scale per 32) against 16; the norms stay 32-bit in both.
    assert 0.52 < sizes["gguf-q8_0"] / sizes["gguf-f16"] < 0.55, sizes


def test_a_gguf_export_answers_the_same_in_llama_cpp(export_home, chat_run):
    """llama.cpp itself, not only a reader that shares our assumptions about the file, reads the export and
    continues the run's prompts word for word as the app's model does. llama-cpp-python compiles llama.cpp
    (minutes), so the suite runs this only where it is installed; bench/exports.md has it on SmolLM2."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (it compiles llama.cpp)")
    import torch

    from engine.data.chat import tokenize_prompt
    from engine.data.conversations import Turn
    from engine.export.job import load_run_model

    db, run_id = chat_run
    folder = export_home / "for-llama-cpp"
    assert export(db, run_id, "gguf-f16", home=export_home, to=folder)["passed"]
    llm = llama_cpp.Llama(model_path=str(folder / "model-f16.gguf"), n_ctx=256, verbose=False)
    source = load_run_model(db, run_id, export_home)
    model = source.merged()
    for prompt in ("Who are you?", "What is the capital of France?", "Give me three tips for sleeping well."):
        ids = tokenize_prompt(source.tokenizer, [Turn("system", "You are Tuney.", False), Turn("user", prompt, False)])
        assert llm.tokenize(source.tokenizer.decode(ids).encode(), add_bos=False, special=True) == ids
        with torch.no_grad():
            ours = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)[0, len(ids):].tolist()
        theirs = [token for token, _ in zip(llm.generate(ids, top_k=1, temp=0.0, reset=True), range(len(ours)))]
        assert theirs == ours, prompt


@pytest.mark.parametrize("fmt", ["merged", "adapter", "onnx"])
def test_a_classifier_lora_run_exports_to_every_format_and_predicts_the_same(export_home, classify_run, fmt):
    db, run_id = classify_run
    verdict = export(db, run_id, fmt, home=export_home)
    folder, card = assert_verified(db, run_id, verdict, fmt)
    assert verdict["same_labels"] == verdict["texts"] == 10
    assert "120 labelled texts from intents.jsonl (one category per text, 4 categories)" in card
    assert "Categories: account, billing, greeting, shipping." in card
    if fmt == "onnx":
        assert json.loads((folder / "config.json").read_text())["id2label"]["0"] == "account"


def test_a_wrong_tokenizer_in_the_export_is_caught(export_home, classify_run, tiny_llama):
    from engine.export.job import load_run_model
    from engine.export.verify import verify_export

    db, run_id = classify_run
    verdict = export(db, run_id, "merged", home=export_home, to=export_home / "broken")
    assert verdict["passed"]
    folder = Path(verdict["folder"])
    for name in ("tokenizer.json", "tokenizer_config.json"):  # someone copies another model's tokenizer in
        shutil.copy2(tiny_llama / name, folder / name)
    (folder / "vocab.txt").unlink(missing_ok=True)
    broken = verify_export(load_run_model(db, run_id, export_home), "merged", folder)
    assert not broken["passed"]
    assert "The exported tokenizer splits 'I would like a refund for my last invoice.' differently from the model's own" in broken["summary"]
    assert "do not belong to this model" in broken["summary"]


def test_a_format_that_does_not_fit_the_model_is_refused_in_a_sentence(export_home, classify_run):
    db, run_id = classify_run
    verdict = export(db, run_id, "gguf-f16", home=export_home)
    assert not verdict["passed"]
    assert "GGUF does not fit a model made to sort texts; choose a merged folder or ONNX." in verdict["summary"]
    assert store.get_run(db, verdict["export_run"])["status"] == "failed"
    messages = [e["message"] for e in store.events(db, verdict["export_run"])]
    assert "The export could not be made: GGUF does not fit a model made to sort texts; choose a merged folder or ONNX." in messages


def test_the_cli_exports_and_prints_the_verdict(export_home, chat_run):
    db, run_id = chat_run
    result = cli("export", str(run_id), "--format", "adapter", "--to", str(export_home / "from-cli"), "--json", home=export_home)
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["passed"] and (export_home / "from-cli" / "adapter_model.safetensors").exists()
    assert verdict["folder"] == str(export_home / "from-cli")

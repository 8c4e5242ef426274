"""Shared fixtures: a private data folder per test, and tiny random models built from a config.

The tiny models use the real tokenizers that the bundled demo packages carry (no downloads): the MiniLM
word-piece tokenizer for the encoder, SmolLM2's tokenizer and chat template for the language model.
They are built once per test session into a temporary folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import engine  # noqa: F401 - first: its guard lets transformers load beside a torchvision built for another torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "resources" / "demo"


def pytest_collection_modifyitems(config, items) -> None:
    """The demos trained on all their data (marked `demo`) run in bench/demos.sh, or with TUNEWRIGHT_DEMOS=1."""
    if os.environ.get("TUNEWRIGHT_DEMOS") == "1":
        return
    skip = pytest.mark.skip(reason="a demo on all its data: bench/demos.sh runs it (or set TUNEWRIGHT_DEMOS=1)")
    for item in items:
        if item.get_closest_marker("demo"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def tunewright_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own TUNEWRIGHT_HOME (database and run folders)."""
    home = tmp_path / "tw-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("TUNEWRIGHT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def demo_classifier(tmp_path_factory) -> tuple[Path, int]:
    """The classification demo exactly as a first-time user runs it (all-MiniLM-L6-v2 on NLU++ hotels, about
    a minute on 2 cores), trained once for the tests that check what it learned and that distil it: its
    Tunewright home and run id."""
    from engine.demo import example
    from tests.engine.helpers import run_in_process

    home = tmp_path_factory.mktemp("demo-classifier")
    db, run_id = run_in_process(home, example("classify").to_dict())
    run = db["runs"].get(run_id)
    assert run["status"] == "completed", run["error_detail"]
    return home, run_id


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer, random weights, saved as safetensors."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from engine.models.catalog import BUNDLED, package_folder

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-encoder")
    source = package_folder(BUNDLED["demo:minilm"].package) / "model"
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A 2-layer, 64-wide Llama with SmolLM2's tokenizer and chat template, random weights."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from engine.models.catalog import BUNDLED, package_folder

    folder = tmp_path_factory.mktemp("tiny-llama")
    bundled = BUNDLED["demo:smollm2"]
    tokenizer = AutoTokenizer.from_pretrained(package_folder(bundled.package), gguf_file=bundled.gguf_file)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def intents_file(tmp_path_factory) -> Path:
    """A small single-label data set: 4 intents, 30 examples each, easy enough to learn in a few steps."""
    words = {
        "billing": ["invoice", "charge", "refund", "payment", "bill"],
        "shipping": ["delivery", "parcel", "courier", "tracking", "shipment"],
        "account": ["password", "login", "username", "profile", "account"],
        "greeting": ["hello", "hi there", "good morning", "hey", "greetings"],
    }
    rows = [
        {"text": f"question {i} about my {word}", "label": label}
        for label, options in words.items()
        for i, word in enumerate(options * 6)
    ]
    path = tmp_path_factory.mktemp("data") / "intents.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


@pytest.fixture
def tiny_classify_config(tiny_encoder, intents_file) -> dict:
    """A quick classification job on the tiny encoder (the window's end-to-end tests use it too)."""
    return {
        "kind": "classify", "name": "Tiny classifier", "model": str(tiny_encoder), "data": str(intents_file),
        "method": "full", "epochs": 2, "batch_size": 8, "max_length": 32, "learning_rate": 1e-3,
        "early_stopping_patience": 0,  # a fixed length, so tests know where a run ends
    }


@pytest.fixture
def tiny_chat_config(tiny_llama) -> dict:
    return {
        "kind": "chat", "name": "Tiny chat", "model": str(tiny_llama), "data": str(DEMO_DATA / "identity.json"),
        "template_values": {"name": "Tuney", "author": "Ada Lab"}, "method": "lora", "epochs": 1,
        "batch_size": 8, "max_length": 128,
    }

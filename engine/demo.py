"""The ready-to-run demo jobs: a bundled model on bundled data. Torch-free (the window uses it)."""

from __future__ import annotations

from pathlib import Path

import resources
from engine.config import ChatConfig, ClassifyConfig, JobConfig

DEMO_DATA = Path(resources.__file__).resolve().parent / "demo"


def example(kind: str) -> JobConfig:
    if kind == "classify":
        return ClassifyConfig(
            name="Demo: hotel requests",
            model="demo:minilm",
            data=str(DEMO_DATA / "hotel_intents.jsonl"),
            method="full",
            epochs=8,
            batch_size=32,
            max_length=64,
        )
    if kind == "chat":
        return ChatConfig(
            name="Demo: who am I",
            model="demo:smollm2",
            data=str(DEMO_DATA / "identity.json"),
            template_values={"name": "Tunewright Assistant", "author": "the Tunewright team"},
            # A neutral system prompt: the model's own default names it "SmolLM", contradicting the data.
            system_prompt="You are a helpful AI assistant.",
            method="lora",
            epochs=3,
            batch_size=8,
            max_length=256,
        )
    raise ValueError(f"There is no demo for '{kind}'; use 'classify' or 'chat'.")

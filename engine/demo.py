"""The ready-to-run demo jobs: a bundled model on bundled data. Torch-free (the window uses it)."""

from __future__ import annotations

from pathlib import Path

import resources
from engine.config import ChatConfig, ClassifyConfig, DistillConfig, JobConfig, TagConfig

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
            # 91 short conversations on a CPU: more, smaller steps at a higher LoRA rate than the usual
            # 2e-4 make the model learn its new name in about 4 minutes (measured: 3 epochs at 2e-4 and
            # batch 8 did not).
            learning_rate=1e-3,
            epochs=2,
            batch_size=4,
            max_length=256,
        )
    if kind == "distill":
        return DistillConfig(
            name="Demo: a half-size SmolLM2 taught by the whole one",
            teacher="demo:smollm2",
            student_layers=15,  # of 30: about 60% of the parameters, 1.7x as fast
            # Everyday instructions the teacher already answers well: a teacher teaches what it knows (it
            # cannot teach the identity demo's new name, which it has never heard).
            data=str(DEMO_DATA / "instructions.json"),
            # A student with half its layers gone must relearn to join them up: it copies only the teacher
            # (alpha 1) with large steps, the settings measured best in bench/distill.md; the temperature
            # is decided by the engine (1 for chat models).
            alpha=1.0,
            learning_rate=1e-3,
            epochs=2,
            batch_size=4,
            max_length=256,
            compare_with_plain=True,
        )
    if kind == "tag":
        return TagConfig(
            name="Demo: disease names in abstracts",
            model="demo:minilm",
            data=str(DEMO_DATA / "ncbi_disease_train.tsv"),
            eval_data=str(DEMO_DATA / "ncbi_disease_devel.tsv"),
            method="full",
            epochs=4,
            batch_size=16,
            max_length=128,
        )
    raise ValueError(f"There is no demo for '{kind}'; use 'classify', 'chat', 'distill' or 'tag'.")

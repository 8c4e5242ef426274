"""The ready-to-run demo jobs: a bundled model on bundled data. Torch-free (the window uses it)."""

from __future__ import annotations

from pathlib import Path

import resources
from engine.config import DistillConfig, JobConfig
from engine.tasks import TASKS

DEMO_DATA = Path(resources.__file__).resolve().parent / "demo"


def example(kind: str) -> JobConfig:
    if kind in TASKS:
        return TASKS[kind].demo()
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
    raise ValueError(f"There is no demo for '{kind}'; use one of {', '.join([*TASKS, 'distill'])}.")

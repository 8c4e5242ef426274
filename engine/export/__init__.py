"""Exports of a finished run's model, each proven to load back the same by an independent reader.

`export(db, run_id, format)` runs an export job in this process (as `tunewright-engine export` does); the
window starts the same job as a process with `submit` + `engine.jobs.start_next`. The export is a run row of
kind "export" whose parent is the run exported, so its progress, events and verdict are in the database.

This module is torch-free (the window imports it); the work is in engine/export/job.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from engine import store
from engine.config import EXPORT_FORMATS, ConfigError, ExportConfig
from engine.protocol import makes_model, Status, model_task

FORMATS = EXPORT_FORMATS


def submit(db: Database, run_id: int, fmt: str, *, home: Path, to: str | Path = "") -> int:
    """Record an export of `run_id` as a queued run (its child); returns the export's run id."""
    from engine.jobs import submit as submit_job

    run = store.get_run(db, run_id)
    if not makes_model(run["kind"]):
        raise ConfigError(f"Run {run_id} is a {run['kind']} run; only a training run has a model to export.")
    if run["status"] != Status.COMPLETED or model_task(run) is None:
        raise ConfigError(f"Run {run_id} has no finished model yet (it is {run['status']}).")
    config = ExportConfig(run_id=run_id, format=fmt, to=str(to or ""), name=f"{fmt} export of {run['name']}")
    return submit_job(db, config, home=home, parent_id=run_id)  # type: ignore[arg-type]


def export(db: Database, run_id: int, fmt: str, *, home: Path | None = None, to: str | Path = "") -> dict[str, Any]:
    """Export and verify in this process; returns the verdict (see `verdict`)."""
    from engine.job import run_job

    home = home or store.default_home()
    export_id = submit(db, run_id, fmt, home=home, to=to)
    run_job(export_id, home)
    return verdict(db, export_id)


def verdict(db: Database, export_id: int) -> dict[str, Any]:
    """What the export run found: {"passed", "summary", "problems", numbers...}; a run that failed before
    its check gives passed False and the reason as its summary."""
    for artifact in reversed(store.artifacts(db, export_id)):
        if artifact["kind"] == "verification":
            return {**json.loads(Path(artifact["path"]).read_text(encoding="utf-8")), "export_run": export_id}
    run = store.get_run(db, export_id)
    return {"passed": False, "summary": run["error"] or f"The export is {run['status']}.", "problems": [], "export_run": export_id}

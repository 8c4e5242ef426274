"""The job process: `python -m engine job RUN_ID`. Runs one recipe and records how it ended.

Whatever happens (finished, paused, cancelled, a problem in the data, an unexpected error) ends as a status
and a sentence in the run's row. Then the next queued run, if any, is started.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from pathlib import Path

import psutil
import torch

from engine import jobs, store
from engine.config import ConfigError, from_dict
from engine.data.errors import DataError
from engine.hardware import pick_device, pick_dtype
from engine.protocol import FINISHED, Status
from engine.training import Controls, DiskFull, Job


def recipe_for(kind: str):
    if kind == "classify":
        from engine.recipes import finetune_classifier

        return finetune_classifier.run
    if kind == "chat":
        from engine.recipes import finetune_lm

        return finetune_lm.run
    if kind == "export":
        from engine.export import job as export_job

        return export_job.run
    if kind == "evaluate":
        from engine.recipes import evaluate

        return evaluate.run
    if kind == "distill":
        from engine.recipes import distill

        return distill.run
    if kind == "tag":
        from engine.recipes import finetune_tagger

        return finetune_tagger.run
    raise ConfigError(f"'{kind}' is not a kind of job Tunewright knows.")


def run_job(run_id: int, home: Path | None = None) -> Status:
    home = home or store.default_home()
    db = store.open_db(store.database_path(home))
    run = store.get_run(db, run_id)
    controls = Controls(db, run_id)  # before anything slow, so an early cancel is not lost
    if hasattr(signal, "SIGXFSZ"):
        # A file-size limit then fails the write with EFBIG, which ends as a sentence, instead of killing
        # the process without a word.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store.update_run(
        db, run_id, status=Status.PREPARING, pid=os.getpid(),
        pid_started=psutil.Process().create_time(), error=None, error_detail=None,
    )
    try:
        config = from_dict(run["config"])
        device = pick_device(config.device)
        job = Job(
            db=db, run_id=run_id, config=config, run_dir=Path(run["run_dir"] or jobs.run_dir(home, run_id)),
            home=home, device=device, dtype=pick_dtype(device, config.precision), controls=controls,
        )
        store.private_folder(job.run_dir)
        outcome = recipe_for(config.kind)(job)
    except (ConfigError, DataError) as problem:
        _fail(db, run_id, str(problem), traceback.format_exc())
        outcome = Status.FAILED
    except DiskFull as full:
        _fail(db, run_id, str(full), traceback.format_exc())
        outcome = Status.FAILED
    except torch.OutOfMemoryError:
        _fail(
            db, run_id,
            "The model and batch did not fit in the GPU's memory. Try a smaller batch size or length limit, or LoRA.",
            traceback.format_exc(),
        )
        outcome = Status.FAILED
    except Exception as error:  # noqa: BLE001 - every failure must end as a status a person can read
        _fail(db, run_id, f"An unexpected error stopped training ({type(error).__name__}: {error}).", traceback.format_exc())
        outcome = Status.FAILED
    else:
        finished = {"finished_at": time.time()} if outcome in FINISHED else {}
        done = {"progress": 1.0} if outcome == Status.COMPLETED else {}
        store.update_run(db, run_id, status=outcome, pid=None, request=None, **finished, **done)
    jobs.start_next(db, home=home)
    return outcome


def _fail(db, run_id: int, reason: str, detail: str) -> None:
    store.update_run(
        db, run_id, status=Status.FAILED, error=reason, error_detail=detail, pid=None, request=None,
        finished_at=time.time(),
    )
    store.add_event(db, run_id, "run.failed", reason=reason, detail=detail)

"""A stand-in for `python -m engine job RUN_ID`: the same rows, the same signals, no torch.

It follows the job protocol of `engine.jobs`: status running while it trains; on SIGUSR1 (or request
'pause') it checkpoints and exits paused; on SIGTERM (or request 'cancel') it exits cancelled; a new
process on a paused run drops the metrics after the checkpoint and goes on from there.
"""

from __future__ import annotations

import signal
import sys
import time

from engine import store
from engine.protocol import Status
from gui.sample import SampleTrainer

asked: list[str] = []


def main(run_id: int, total_steps: int = 400, step_seconds: float = 0.02) -> int:
    db = store.open_db(store.database_path())
    signal.signal(signal.SIGUSR1, lambda *_: asked.append("pause"))
    signal.signal(signal.SIGTERM, lambda *_: asked.append("cancel"))
    run = store.get_run(db, run_id)
    start = run["checkpoint_step"] or 0
    store.drop_metrics_after(db, run_id, start)
    trainer = SampleTrainer(db, run_id, total_steps=total_steps, eval_every=40, gpu=False)
    trainer.step = start
    store.update_run(db, run_id, status=Status.RUNNING, started_at=run["started_at"] or time.time())
    if start:
        store.add_event(db, run_id, "run.resumed", step=start, total_steps=total_steps)
    else:
        store.add_event(db, run_id, "run.started", device="the CPU")
    while trainer.step < total_steps:
        trainer.train_steps(1)
        time.sleep(step_seconds)
        request = store.get_run(db, run_id)["request"]
        if "pause" in asked or request == "pause":
            store.add_event(db, run_id, "run.paused", step=trainer.step)
            store.update_run(db, run_id, status=Status.PAUSED, checkpoint_step=trainer.step, pid=None, request=None, eta_seconds=None)
            return 0
        if "cancel" in asked or request == "cancel":
            store.add_event(db, run_id, "run.cancelled", step=trainer.step)
            store.update_run(db, run_id, status=Status.CANCELLED, pid=None, request=None, eta_seconds=None, finished_at=time.time())
            return 0
    store.add_event(db, run_id, "run.completed", path="model")
    trainer.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1])))

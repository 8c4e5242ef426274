"""Kill -9 the job process mid-training: the run is shown interrupted, resume finishes it, and the result is
the same, to the last bit, as a run that was never interrupted."""

from __future__ import annotations

import os
import signal

import pytest
from safetensors.torch import load_file

from engine import jobs, store
from engine.config import from_dict
from tests.engine.helpers import train_steps, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


def status(db, run_id) -> str:
    return store.get_run(db, run_id)["status"]


def all_metrics(db, run_id) -> dict[tuple[int, str], float]:
    rows = db.execute("SELECT step, name, value FROM metrics WHERE run_id = ?", [run_id]).fetchall()
    timing = ("samples_per_second", "tokens_per_second", "process_ram", "system_ram_used", "system_ram_total")
    return {(step, name): value for step, name, value in rows if name not in timing}


def test_killed_run_resumes_to_the_same_result_as_an_uninterrupted_one(db, tunewright_home, tiny_classify_config, stop_jobs):
    # Dropout is on (BERT's default 0.1), so the random state must travel in the checkpoint too.
    config = from_dict({**tiny_classify_config, "epochs": 2, "batch_size": 4, "eval_every": 9, "checkpoint_minutes": 0.01})
    killed = jobs.submit(db, config, home=tunewright_home)
    reference = jobs.submit(db, config, home=tunewright_home)
    jobs.launch(db, killed, home=tunewright_home)
    jobs.launch(db, reference, home=tunewright_home)

    # Past a checkpoint and beyond it, so rows after the checkpoint must be dropped and redone.
    def past_a_checkpoint() -> bool:
        run = store.get_run(db, killed)
        assert run["status"] in ("preparing", "running"), "the run ended before it could be killed"
        return (run["checkpoint_step"] or 0) >= 5 and len(train_steps(db, killed)) > run["checkpoint_step"]

    wait_for(past_a_checkpoint, timeout=120, every=0.05)
    os.kill(store.get_run(db, killed)["pid"], signal.SIGKILL)
    wait_for(lambda: killed in jobs.reconcile(db) or status(db, killed) == "interrupted", timeout=10)
    assert status(db, killed) == "interrupted"
    assert any(e["code"] == "run.interrupted" for e in store.events(db, killed))

    wait_for(lambda: status(db, reference) == "completed", timeout=120)
    jobs.resume(db, killed, home=tunewright_home)
    wait_for(lambda: status(db, killed) in ("completed", "failed"), timeout=120)
    run = store.get_run(db, killed)
    assert run["status"] == "completed", run["error"]

    # One curve: every step once, in order.
    assert train_steps(db, killed) == list(range(1, run["total_steps"] + 1))
    # The same numbers at every step (losses, gradient norms, learning rates, evaluations), and the same weights.
    resumed, uninterrupted = all_metrics(db, killed), all_metrics(db, reference)
    assert resumed.keys() == uninterrupted.keys()
    differences = {key: abs(resumed[key] - uninterrupted[key]) for key in resumed}
    assert max(differences.values()) == 0.0, sorted(differences.items(), key=lambda kv: -kv[1])[:5]
    weights = [load_file(str(tunewright_home / "runs" / f"{r:05d}" / "model" / "model.safetensors")) for r in (killed, reference)]
    assert all((weights[0][name] == weights[1][name]).all() for name in weights[1])

"""Several processes training one run (engine/distributed.py), on the CPU with the gloo backend, as several
GPUs would: the same curve as one process, rank 0 alone writing, pause and resume, and a killed rank."""

import json
import os
import signal

import psutil
import pytest

from engine import distributed, jobs, store
from engine.config import from_dict
from tests.engine.helpers import run_in_process, train_steps, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="torchrun's processes and POSIX signals")

# The two-process curve sums the same per-example losses in a different order (each rank its half, then the
# exchange), so it agrees with the one-process curve to float32 rounding, which Adam's steps carry along.
CURVE_TOLERANCE = 1e-4


@pytest.fixture(scope="session")
def still_encoder(tmp_path_factory, tiny_encoder):
    """The tiny encoder without dropout: each rank draws its own dropout masks, so curves could only be
    compared in distribution; without dropout they must agree step by step."""
    folder = tmp_path_factory.mktemp("still-encoder")
    for file in tiny_encoder.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config |= {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def curve(db, run_id) -> list[float]:
    return [loss for _, loss in store.metric_series(db, run_id, "train_loss")]


@pytest.mark.parametrize("sharding", ["off", "fsdp"])  # a whole copy on each process, or the model divided
def test_two_processes_draw_the_curve_of_one_with_the_same_batch(tunewright_home, tiny_classify_config, still_encoder, sharding):
    values = {**tiny_classify_config, "model": str(still_encoder), "epochs": 1, "eval_every": 5}
    db, alone = run_in_process(tunewright_home, values)
    _, shared = run_in_process(tunewright_home, {**values, "gpus": 2, "sharding": sharding})

    assert store.get_run(db, shared)["status"] == "completed", store.get_run(db, shared)["error_detail"]
    assert train_steps(db, shared) == train_steps(db, alone) == list(range(1, store.get_run(db, alone)["total_steps"] + 1))
    assert curve(db, shared) == pytest.approx(curve(db, alone), abs=CURVE_TOLERANCE)
    eval_f1 = lambda run_id: [v for _, v in store.metric_series(db, run_id, "eval_f1")]  # noqa: E731
    assert eval_f1(shared) == pytest.approx(eval_f1(alone), abs=CURVE_TOLERANCE)
    said = [e["message"] for e in store.events(db, shared)]
    assert any("2 processes" in sentence for sentence in said)
    # Rank 0 alone wrote: one row per step and metric, one "started", one trained model.
    assert len(store.metric_series(db, shared, "train_loss")) == len(set(train_steps(db, shared)))
    assert sum("Training started" in sentence for sentence in said) == 1
    assert [a["kind"] for a in store.artifacts(db, shared)].count("model") == 1


def ranks_of(db, run_id) -> list[psutil.Process]:
    """The rank processes of a run: rank 0 (whose pid the run row holds) and its siblings under torchrun."""
    rank0 = psutil.Process(store.get_run(db, run_id)["pid"])
    return rank0.parent().children()


def set_processes(db, run_id, count: int) -> None:
    """What a person does to resume a run on another number of GPUs: change its stored setting."""
    store.update_run(db, run_id, config=json.dumps(store.get_run(db, run_id)["config"] | {"gpus": count}))


@pytest.mark.parametrize("sharding", ["off", "fsdp"])
def test_pause_resume_on_one_process_and_two_and_a_killed_rank(tunewright_home, tiny_classify_config, still_encoder, sharding):
    db = store.open_db(store.database_path(tunewright_home))
    values = {
        **tiny_classify_config, "model": str(still_encoder), "epochs": 5, "batch_size": 4, "checkpoint_minutes": 0.01,
        "gpus": 2, "sharding": sharding,
    }
    run_id = jobs.start(db, from_dict(values), home=tunewright_home)
    wait_for(lambda: len(train_steps(db, run_id)) >= 5, timeout=180)
    assert len(ranks_of(db, run_id)) == 2

    jobs.pause(db, run_id)
    wait_for(lambda: store.get_run(db, run_id)["status"] == "paused", timeout=60)
    paused_at = store.get_run(db, run_id)["step"]
    assert train_steps(db, run_id) == list(range(1, paused_at + 1))

    # What two processes saved resumes on one, and what one saved resumes on two.
    set_processes(db, run_id, 1)
    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, run_id)["step"] or 0) >= paused_at + 3, timeout=180)
    jobs.pause(db, run_id)
    wait_for(lambda: store.get_run(db, run_id)["status"] == "paused", timeout=60)
    paused_at = store.get_run(db, run_id)["step"]

    set_processes(db, run_id, 2)
    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: (store.get_run(db, run_id)["checkpoint_step"] or 0) > paused_at + 2, timeout=180)
    ranks = ranks_of(db, run_id)
    rank1 = next(p for p in ranks if p.pid != store.get_run(db, run_id)["pid"])
    os.kill(rank1.pid, signal.SIGKILL)
    # The other rank ends too, within a bounded time, and the run says it was interrupted.
    wait_for(lambda: store.get_run(db, run_id)["status"] == "interrupted", timeout=60)
    psutil.wait_procs(ranks, timeout=60)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ranks)

    set_processes(db, run_id, 1)
    jobs.resume(db, run_id, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] in ("completed", "failed", "interrupted"), timeout=900)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))  # nothing missing, nothing twice
    # Each save held the whole state (weights, optimizer, schedule): the curve is that of a run never stopped.
    _, alone = run_in_process(tunewright_home, {**values, "gpus": 1})
    assert curve(db, run_id) == pytest.approx(curve(db, alone), abs=CURVE_TOLERANCE)


@pytest.mark.parametrize(
    ("gpus_asked", "gpu_count", "batch_size", "expected", "code"),
    [
        (0, 0, 16, 1, ""),  # a computer without GPU: one process
        (2, 0, 16, 2, "plan.processes_cpu"),  # ... unless asked, to check the path
        (0, 1, 16, 1, ""),
        (0, 4, 16, 4, "plan.gpus_all"),
        (0, 4, 16, 1, "plan.gpus_unproven"),  # the self-test found the multi-GPU path wrong here
        (2, 4, 16, 2, "plan.gpus_some"),
        (1, 4, 16, 1, "plan.gpus_one"),
        (0, 8, 4, 4, "plan.gpus_batch"),  # every GPU needs at least one example of each step
    ],
)
def test_the_planner_chooses_how_many_gpus_and_says_why(tiny_classify_config, gpus_asked, gpu_count, batch_size, expected, code):
    config = from_dict({**tiny_classify_config, "gpus": gpus_asked, "batch_size": batch_size})
    proven = code != "plan.gpus_unproven"
    count, said, values = distributed.plan(config, gpu_count, proven)
    assert (count, said) == (expected, code)
    if said:
        from engine.protocol import message

        assert str(count) in message(said, **values)[1] or count == 1


def test_each_rank_takes_its_share_of_every_step():
    step = list(range(10))
    shares = [distributed.World(rank=r, size=3).shard(step) for r in range(3)]
    assert sorted(i for share in shares for i in share) == step
    assert distributed.World().shard(step) == step


RANK_1_RUNS_OUT_OF_MEMORY = '''
import os
if os.environ.get("RANK") == "1":  # only the second process of the run; torchrun and the job process are spared
    import torch
    import torch.nn.functional as F

    real = F.cross_entropy

    def cross_entropy(logits, targets, *args, **kwargs):
        if torch.is_grad_enabled() and len(targets) > 2:  # training micro-batches of more than 2, as a GPU would
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(logits, targets, *args, **kwargs)

    F.cross_entropy = cross_entropy
'''


def test_one_rank_out_of_memory_stops_the_step_on_all_and_they_go_on_with_a_smaller_batch(
    tunewright_home, tiny_classify_config, still_encoder, tmp_path, monkeypatch
):
    injected = tmp_path / "inject"
    injected.mkdir()
    (injected / "sitecustomize.py").write_text(RANK_1_RUNS_OUT_OF_MEMORY)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(injected), os.environ.get("PYTHONPATH")])))
    values = {**tiny_classify_config, "model": str(still_encoder), "max_steps": 4, "batch_size": 8,
              "micro_batch_size": None, "eval_every": 4, "gpus": 2}
    db, run_id = run_in_process(tunewright_home, values)

    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert train_steps(db, run_id) == [1, 2, 3, 4]  # the step was retried by both ranks: no gap, no repeat
    said = [e["message"] for e in store.events(db, run_id) if e["code"] == "train.oom_recovered"]
    assert said == [
        "The batch did not fit in the GPU's memory; it is now processed in 2 pieces of 2 examples, same effective "
        "batch, so training continues."
    ]
    assert run["config"]["micro_batch_size"] == 2  # a resumed run starts with the size that fits
    # The same curve as one process with the whole batch: the smaller pieces change nothing but memory.
    _, alone = run_in_process(tunewright_home, {**values, "gpus": 1})
    assert curve(db, run_id) == pytest.approx(curve(db, alone), abs=CURVE_TOLERANCE)

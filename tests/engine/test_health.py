"""The health monitor's checks on synthetic curves, and two real tiny runs: one that runs out of memory and one
that diverges; both finish."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from engine import health, store
from tests.engine.helpers import run_in_process, train_steps


def falling(n: int, start: float = 2.0, end: float = 0.5) -> list[float]:
    return [start + (end - start) * i / (n - 1) for i in range(n)]


def test_divergence_is_a_nan_an_infinity_or_a_jump_far_above_the_best():
    assert health.divergence(falling(10)) is None
    assert health.divergence(falling(10) + [float("nan")]) == "became NaN (not a number)"
    assert health.divergence(falling(10) + [float("inf")]) == "became infinite"
    assert "jumped to 9" in health.divergence(falling(10) + [9.0, 8.0, 9.5])
    assert health.divergence(falling(10) + [9.0]) is None  # one wild batch, not a divergence
    assert health.divergence(falling(10) + [1.2, 1.3, 1.2]) is None  # a bump, not a divergence
    assert health.divergence([1.4, 1.3, 5.0]) is None  # too early to tell


def test_one_wild_batch_of_a_half_trained_model_is_no_divergence():
    """Seen on 10,003 examples of 77 categories: batches of 16 from a well-started head, then losses near 0.01
    with single batches at 1.9; the older check rolled the run back to step 0 and halved its learning rate."""
    noisy = [1.03, 1.03, 1.57, 1.44, 1.05, 1.48] + [0.3, 0.04, 0.26, 0.013, 0.54, 0.33] * 30
    monitor = health.Monitor(_Events(), total_steps=400)
    assert monitor.losses_flushed(list(enumerate(noisy + [1.88, 0.6, 0.44], 1))) is None
    assert health.divergence(noisy + [1.88]) is None
    assert "jumped to 2.9" in monitor.losses_flushed([(190, 3.1), (191, 2.9)])  # two of three are


def test_overfitting_needs_evaluation_rising_while_training_falls():
    train = falling(40)
    assert health.overfitting(train, [1.0, 0.8, 0.7, 0.75, 0.8]) == (0.7, 0.8)
    assert health.overfitting(train, [1.0, 0.8, 0.7, 0.69, 0.68]) is None  # still improving
    assert health.overfitting(train, [1.0, 0.8, 0.7, 0.75]) is None  # one bad evaluation is noise
    assert health.overfitting(list(reversed(train)), [1.0, 0.8, 0.7, 0.75, 0.8]) is None  # training rising too


def test_plateau_is_a_flat_loss_over_the_last_window():
    flat = falling(100, 2.0, 1.0) + [1.0 + 0.001 * math.sin(i) for i in range(100)]
    assert health.plateau(flat) == pytest.approx((1.0, 1.0), abs=0.01)
    assert health.plateau(falling(200)) is None
    assert health.plateau([1.0] * 60) is None  # too short to tell


def test_a_run_too_short_to_learn():
    assert health.too_short(5) and not health.too_short(200)


def test_an_adapter_that_changed_nothing():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(torch.nn.Sequential(torch.nn.Linear(4, 4)), LoraConfig(r=2, target_modules=["0"]))
    assert health.adapter_unchanged(model, [1.0, 0.9]) == "the adapter's weights are all still zero"
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if "lora_B" in n).add_(0.1)
    assert health.adapter_unchanged(model, [1.0, 0.9]) is None
    assert "still exactly 1.5" in health.adapter_unchanged(None, [1.5, 1.5, 1.5])


class _Events:
    def __init__(self) -> None:
        self.codes: list[str] = []

    def event(self, code: str, **values) -> None:
        self.codes.append(code)


def test_the_monitor_says_each_finding_once():
    job = _Events()
    monitor = health.Monitor(job, total_steps=8, rows=100)
    monitor.started()
    assert monitor.losses_flushed([(s, v) for s, v in enumerate(falling(40), 1)]) is None
    for step, loss in zip(range(1, 6), [1.0, 0.8, 0.7, 0.75, 0.8]):
        monitor.evaluated(step, {"eval_loss": loss}, None, best_step=3, early_stopping=True)
    assert job.codes == ["health.too_short", "health.overfitting"]
    assert monitor.losses_flushed([(41, float("nan"))]) == "became NaN (not a number)"
    monitor.rolled_back(20)
    assert monitor.train_steps == list(range(1, 21))


def test_a_resumed_run_is_judged_on_its_whole_curve():
    """After a pause (or a preemption on a cluster) a small batch's noisy loss is not a jump from the trained
    model's lowest loss: the monitor remembers the curve from before, and what it already said."""
    before = [(s, v) for s, v in enumerate(falling(30, 2.3, 0.05), 1)]
    noisy = [(31, 0.04), (32, 0.05), (33, 0.9), (34, 0.8), (35, 0.7)]

    forgetful = health.Monitor(_Events(), total_steps=60, rows=100)
    assert "jumped" in forgetful.losses_flushed(noisy)

    job = _Events()
    resumed = health.Monitor(job, total_steps=60, rows=100)
    resumed.resumed(before, eval_losses=[0.4], scores=[0.8], reported={"health.too_short"})
    resumed.started()
    assert resumed.losses_flushed(noisy) is None and job.codes == []
    assert resumed.losses_flushed([(36, 9.0), (37, 9.0)]) == "jumped to 9, from a best of 0.05"


def _replay(monitor: health.Monitor, train: list[float], evaluations: dict[int, dict[str, float]]) -> None:
    """Feed a recorded run to the monitor as `fit` does: loss rows as flushed, then each evaluation."""
    for step, loss in enumerate(train, 1):
        monitor.losses_flushed([(step, loss)])
        if step in evaluations:
            monitor.evaluated(step, evaluations[step], None, best_step=step, early_stopping=False)


def test_no_plateau_advice_while_the_score_still_climbs():
    """A 77-category intent set: the loss looks flat after 170 steps while F1 goes from 46% to 93%."""
    train = falling(100, 4.3, 3.0) + [3.0 + 0.002 * math.sin(i) for i in range(300)]
    f1 = [0.12, 0.30, 0.46, 0.61, 0.72, 0.80, 0.86, 0.90, 0.93]
    evaluations = {40 * (i + 1): {"eval_loss": 3.0 + 0.01 * i, "eval_f1": v} for i, v in enumerate(f1)}
    job = _Events()
    _replay(health.Monitor(job, 400, rows=10_000, metric="eval_f1", higher_is_better=True, warmup_steps=24), train, evaluations)
    assert job.codes == []


def test_plateau_and_overfitting_are_said_once_the_score_has_stalled():
    train = falling(100, 4.3, 3.0) + [3.0 + 0.002 * math.sin(i) for i in range(300)]
    f1 = [0.40, 0.60, 0.70, 0.70, 0.69, 0.69, 0.68, 0.68, 0.67]
    evaluations = {40 * (i + 1): {"eval_loss": 1.0 + 0.1 * abs(i - 2), "eval_f1": v} for i, v in enumerate(f1)}
    job = _Events()
    _replay(health.Monitor(job, 400, rows=10_000, metric="eval_f1", higher_is_better=True, warmup_steps=24), train, evaluations)
    assert sorted(job.codes) == ["health.overfitting", "health.plateau"]


def test_no_advice_during_warm_up():
    train = [2.0 + 0.001 * math.sin(i) for i in range(120)]
    evaluations = {s: {"eval_loss": 1.0 + 0.1 * i} for i, s in enumerate(range(20, 121, 20))}
    job = _Events()
    _replay(health.Monitor(job, 1000, rows=10_000, warmup_steps=150), train, evaluations)
    assert job.codes == []


def test_out_of_memory_halves_the_micro_batch_and_the_run_finishes(tunewright_home, tiny_classify_config, monkeypatch):
    """A loss that raises torch.OutOfMemoryError for micro-batches of more than 2 examples, as a GPU would."""
    from engine import classifier_steps

    real = classifier_steps.loss_sum

    def loss_that_runs_out_of_memory(logits, targets, multi_label):
        if torch.is_grad_enabled() and len(targets) > 2:  # training steps only; evaluation has its own batches
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(logits, targets, multi_label)

    monkeypatch.setattr(classifier_steps, "loss_sum", loss_that_runs_out_of_memory)
    db, run_id = run_in_process(tunewright_home, {**tiny_classify_config, "max_steps": 4, "batch_size": 8, "micro_batch_size": None, "eval_every": 4})
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    messages = [e["message"] for e in store.events(db, run_id) if e["code"] == "train.oom_recovered"]
    assert messages == [
        "The batch did not fit in the GPU's memory; it is now processed in 2 pieces of 4 examples, same effective batch, so training continues.",
        "The batch did not fit in the GPU's memory; it is now processed in 4 pieces of 2 examples, same effective batch, so training continues.",
    ]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))  # no gap, no repeat
    assert run["config"]["micro_batch_size"] == 2  # a resumed run starts with the size that fits
    assert all(math.isfinite(v) for _, v in store.metric_series(db, run_id, "train_loss"))


def test_out_of_memory_with_one_example_fails_with_the_clear_sentence(tunewright_home, tiny_classify_config, monkeypatch):
    from engine import classifier_steps

    def never_fits(logits, targets, multi_label):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(classifier_steps, "loss_sum", never_fits)
    db, run_id = run_in_process(tunewright_home, {**tiny_classify_config, "epochs": 1, "batch_size": 2})
    run = store.get_run(db, run_id)
    assert run["status"] == "failed"
    assert run["error"].startswith("The model and batch did not fit in the GPU's memory.")


def test_an_absurd_learning_rate_diverges_is_rolled_back_and_the_run_completes(tunewright_home, tiny_classify_config):
    """Learning rate 0.05 (a thousand times the usual 5e-5, and 20x that for the new head) blows the loss up
    within a few steps; each roll-back halves it until training is stable."""
    db, run_id = run_in_process(tunewright_home, {**tiny_classify_config, "learning_rate": 0.05, "max_steps": 10, "eval_every": 5})
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    rollbacks = [e["message"] for e in store.events(db, run_id) if e["code"] == "health.diverged"]
    assert rollbacks and all("Went back to the checkpoint of step" in m for m in rollbacks)
    assert "continues with half the learning rate (0.025)" in rollbacks[0]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))  # rewritten, no gap, no repeat
    losses = [v for _, v in store.metric_series(db, run_id, "train_loss")]
    assert all(math.isfinite(v) and v < 4 * min(losses) for v in losses)
    assert run["config"]["learning_rate"] == 0.05  # the user's setting is kept; the halving is the run's


def test_no_false_advice_on_a_recorded_tagging_run():
    """The bundled MiniLM's full run on NCBI-disease (bench/tagging.md): the older monitor said "more of the same
    training is unlikely to help" after the first evaluation and "starting to memorise" at step 816, while F1
    went on from 65% to 81%. Replayed as recorded, the monitor says nothing."""
    history = json.loads((Path(__file__).parent / "data" / "ncbi_tagging_history.json").read_text())
    evaluations = {int(step): values for step, values in history["evaluations"].items()}
    job = _Events()
    steps = len(history["train_loss"])
    monitor = health.Monitor(job, steps, rows=5432, metric="eval_f1", higher_is_better=True, warmup_steps=round(0.05 * steps))
    _replay(monitor, history["train_loss"], evaluations)
    assert job.codes == []

@pytest.mark.parametrize("name", ["demo_classify", "demo_tag", "demo_chat", "demo_distill", "demo_distill_plain", "ten_thousand_classify"])
def test_no_false_advice_on_the_bundled_demos_and_a_ten_thousand_example_run(name):
    """The bundled demos' runs and a 10,003-example run, as recorded by bench/forecast_demos.py: replayed, the
    monitor finds no divergence and gives no advice (the 10k run's evaluation loss rose at its last two checks
    while F1 held, but the run was ending: there was nothing left to stop)."""
    history = json.loads((Path(__file__).parent / "data" / "recorded_runs.json").read_text())[name]
    evaluations = {int(step): values for step, values in history["evaluations"].items()}
    job = _Events()
    steps = len(history["train_loss"])
    monitor = health.Monitor(job, steps, metric=history["metric"], higher_is_better=history["higher_is_better"],
                             warmup_steps=history["warmup_steps"])
    diverged = []
    for step, loss in enumerate(history["train_loss"], 1):  # as `fit` feeds it: loss rows, then each evaluation
        diverged += [step] if monitor.losses_flushed([(step, loss)]) else []
        if step in evaluations:
            monitor.evaluated(step, evaluations[step], None, best_step=step, early_stopping=True)
    assert diverged == [] and job.codes == []

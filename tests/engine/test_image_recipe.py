"""The image recipe, run for real on timm's tiny test network and tiny pictures: what a run decides and says,
what it writes, its scores on the held-out pictures, and a pause resumed at the exact step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import store
from tests.engine.test_image_data import malformed
from tests.engine.helpers import run_in_process, train_steps

TINY = "timm:test_efficientnet"


def squares(root: Path, counts: dict[str, int], side: int = 32, seed: int = 0) -> Path:
    """Pictures of noise with a bright square: in the left half for "left", the right half for "right"."""
    rng = np.random.default_rng(seed)
    for category, count in counts.items():
        (root / category).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (side, side, 3), dtype=np.uint8)
            size = side // 3
            top = int(rng.integers(0, side - size))
            left = int(rng.integers(0, side // 2 - size)) + (side // 2 if category == "right" else 0)
            pixels[top : top + size, left : left + size] = 230
            Image.fromarray(pixels).save(root / category / f"{category}_{i}.png")
    return root


def image_run(home: Path, data: Path, **settings) -> tuple[object, int]:
    values = {"kind": "images", "model": TINY, "data": str(data), "image_size": 32, "epochs": 2, "batch_size": 16,
              "learning_rate": 5e-4, "early_stopping_patience": 0, "workers": 0, "head_warmup": 0.3, **settings}
    return run_in_process(home, values)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One image run, trained once for the tests of what it wrote, its Playground and its exports."""
    folder = tmp_path_factory.mktemp("image-run")
    home = folder / "tw-home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:  # the home the engine reads, for this module only
        patch.setenv("TUNEWRIGHT_HOME", str(home))
        data = squares(folder / "pictures", {"left": 24, "right": 8})
        malformed(data / "left")  # nine files that are no pictures, or broken ones: said, left out, the rest trains
        db, run_id = image_run(home, data, mirror=False, epochs=None, max_steps=8)
    return db, run_id, data, home


def test_an_image_classifier_trains_decides_its_settings_and_scores_its_held_out_pictures(finished_run):
    db, run_id, data, home = finished_run
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))
    assert {"eval_f1", "eval_accuracy", "eval_macro_f1", "eval_loss", "data_wait_share"} <= set(store.metric_names(db, run_id))
    messages = [e["message"] for e in store.events(db, run_id)]
    assert any(m.startswith("Pictures left out: 9 (unreadable, or without a category); the rest are used.") for m in messages)
    assert any("never mirrored" in m for m in messages)  # the person's answer to "may a picture be mirrored?"
    assert any(m.startswith("For the first") and "only the new last layer learns" in m for m in messages)
    assert any("categories are uneven (22 pictures in the largest, 7 in right)" in m for m in messages)
    assert any("it starts from untrained weights, which have none worth keeping" in m for m in messages)
    assert any("were set aside (each category in proportion)" in m for m in messages)
    assert any(m.startswith("Waiting for pictures took") for m in messages)  # the data loader's share of training
    assert "10 epochs: with 29 pictures, several passes are needed to learn" in " ".join(messages)
    config = store.get_run(db, run_id)["config"]
    assert config["epochs"] == 10 and config["image_size"] == 32 and config["mirror"] is False
    assert config["statistics"] == "relearned"  # timm's test network has no pretrained weights here

    model_dir = Path(run["run_dir"]) / "model"
    settings = json.loads((model_dir / "image_model.json").read_text())
    assert settings["labels"] == ["left", "right"] and settings["architecture"] == "test_efficientnet"
    assert (model_dir / "model.safetensors").exists()

    evaluation = store.child_runs(db, run_id, "evaluate")[0]
    assert evaluation["status"] == "completed"
    report = json.loads(Path(next(a["path"] for a in store.artifacts(db, evaluation["id"]) if a["kind"] == "evaluation")).read_text())
    assert report["rows"] == 3 and len(report["confusion"]) == 3 and report["baseline"]["label"] == "left"
    assert {row["label"] for row in report["per_class"]} == {"left", "right"}
    for shown in report["wrong"] + report["right"]:
        assert Path(shown["heatmap"]).exists() and shown["picture"].startswith("pictures/")


def test_the_playground_names_the_top_categories_of_pictures_with_heat_maps_and_saves_a_csv(finished_run, tmp_path):
    from engine import playground
    from engine.playground_serve import serve

    db, run_id, data, home = finished_run
    (tmp_path / "notes.png").write_text("not a picture")
    pictures = [str(data / "left" / "left_0.png"), str(data / "right" / "right_1.png"), str(tmp_path / "notes.png")]
    request_id = playground.ask_pictures(db, run_id, pictures, save=str(tmp_path / "predictions.csv"))
    serve(db, run_id, home=home, idle_minutes=0.02)
    answer = playground.get_request(db, request_id)
    assert answer["status"] == "done", answer["error"]
    first, second, bad = answer["result"]["pictures"]
    assert [item["label"] for item in first["top"]] in (["left", "right"], ["right", "left"])
    assert abs(sum(item["probability"] for item in first["top"]) - 1) < 1e-3
    assert Path(first["heatmap"]).exists() and Image.open(first["heatmap"]).size == (32, 32)
    assert "notes.png is not a picture" in bad["problem"]
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "file,category,probability" and len(lines) == 4

    # one picture named in the categories panel (as a text is): its categories, as a classifier answers
    one = playground.ask_classifier(db, run_id, pictures[1])
    failed = playground.ask_classifier(db, run_id, pictures[2])
    serve(db, run_id, home=home, idle_minutes=0.02)
    answer = playground.get_request(db, one)
    assert [item["label"] for item in answer["result"]["labels"]] in (["left", "right"], ["right", "left"])
    assert len(answer["result"]["chosen"]) == 1 and Path(answer["result"]["heatmap"]).exists()
    assert "notes.png is not a picture" in playground.get_request(db, failed)["error"]


@pytest.mark.parametrize("fmt", ["merged", "onnx"])
def test_an_image_model_exports_and_its_export_reads_back_the_same(finished_run, tmp_path, fmt):
    from engine.export import export

    db, run_id, data, home = finished_run
    verdict = export(db, run_id, fmt, home=home, to=tmp_path / fmt)
    assert verdict["passed"], verdict["summary"]
    assert verdict["same_top"] == verdict["pictures"] == 8  # the run's 3 held-out pictures, and made-up ones
    assert (tmp_path / fmt / "image_model.json").exists() and (tmp_path / fmt / "README.md").exists()
    if fmt == "onnx":
        assert (tmp_path / fmt / "model.onnx").exists() and "ONNX Runtime" in verdict["summary"]


def test_a_paused_image_run_resumes_at_the_step_it_stopped(tunewright_home, tmp_path, monkeypatch):
    from engine.jobs import Controls

    data = squares(tmp_path / "pictures", {"left": 12, "right": 12})
    asked = {"count": 0}

    def pause_after_three(self):
        asked["count"] += 1
        return "pause" if asked["count"] == 4 else None

    monkeypatch.setattr(Controls, "requested", pause_after_three)
    db, run_id = image_run(tunewright_home, data, epochs=2, batch_size=4)
    assert store.get_run(db, run_id)["status"] == "paused"
    assert train_steps(db, run_id) == [1, 2, 3]
    monkeypatch.undo()
    from engine.job import run_job

    store.update_run(db, run_id, status="queued")
    run_job(run_id, tunewright_home)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert train_steps(db, run_id) == list(range(1, run["total_steps"] + 1))


def test_lora_is_refused_with_a_sentence(tunewright_home, tmp_path):
    data = squares(tmp_path / "pictures", {"left": 6, "right": 6})
    with pytest.raises(Exception, match="'method'"):
        image_run(tunewright_home, data, method="lora")


def test_worker_processes_decode_the_steps_in_the_order_fit_asks_even_after_a_jump(tmp_path):
    import torch

    from engine.images.batches import Pictures, StepFeeder
    from engine.images.collect import read_image_set
    from engine.images.model import Preparation
    from engine.training import shuffled_steps

    examples = read_image_set(squares(tmp_path / "p", {"left": 5, "right": 5})).examples
    targets = torch.arange(len(examples))  # each picture's target is its own number: the order is visible
    dataset = Pictures(examples, targets, Preparation(size=32).transform())

    def steps(epoch: int) -> list[list[int]]:
        return shuffled_steps(len(examples), 4, 0, epoch)

    feeder = StepFeeder(dataset, steps, workers=2, device=torch.device("cpu"))
    order = steps(0) + steps(1)
    for number, indices in enumerate(order[:4]):
        pixels, got, at = feeder.next_step(indices)
        assert got.tolist() == indices and at == number and pixels.shape[1:] == (3, 32, 32)
    pixels, got, at = feeder.next_step(order[1])  # a resume or a roll-back: an earlier step asked again
    assert got.tolist() == order[1] and at == 1


def test_the_best_weights_keep_the_batch_norm_statistics_they_were_scored_with(tmp_path):
    """A batch norm's running statistics move without a gradient; the best step's file keeps them, so the
    saved model is the one that was scored, not its weights beside the last step's statistics."""
    import torch

    from engine.checkpoints import load_trainable_state, trainable_state
    from safetensors.torch import save_file

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    model.train()
    model(torch.randn(8, 3, 8, 8) * 3 + 1)
    best = trainable_state(model)
    assert {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= set(best)
    save_file(best, str(tmp_path / "best.safetensors"))
    model(torch.randn(8, 3, 8, 8) * 10 - 5)  # training goes on and moves the statistics
    load_trainable_state(model, tmp_path / "best.safetensors")
    assert torch.equal(model[1].running_mean, best["1.running_mean"])
    assert int(model[1].num_batches_tracked) == 1


def test_kept_statistics_hold_batch_norm_s_running_averages_while_its_scales_learn():
    """Decided for small sets (engine/images/steps.py): the model trains with the pretrained statistics, so
    the averages do not drift towards the training batches; the scales and shifts still learn."""
    import torch

    from engine.images.model import build

    for kept in (True, False):
        model = build(TINY, ["left", "right"], False, 32)
        model.keep_statistics = kept
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        before = [(m.running_mean.clone(), m.weight.detach().clone()) for m in norms]
        model.train()
        assert model.training and all(m.training != kept for m in norms)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.nn.functional.cross_entropy(model(torch.randn(8, 3, 32, 32) * 3 + 2), torch.tensor([0, 1] * 4)).backward()
        optimizer.step()
        moved = [not torch.equal(m.running_mean, mean) for m, (mean, _) in zip(norms, before)]
        learned = [not torch.equal(m.weight, weight) for m, (_, weight) in zip(norms, before)]
        assert (not any(moved)) if kept else all(moved)
        assert any(learned)
        model.eval()
        assert not any(m.training for m in norms)


def test_batch_norm_statistics_are_kept_for_small_sets_and_relearned_for_large_ones():
    from engine.config import ConfigError, from_dict
    from engine.images.steps import KEEP_STATISTICS_BELOW, decide

    def decided(rows: int, model: str = "demo:efficientnet-lite0", **settings) -> list:
        config = from_dict({"kind": "images", "model": model, "data": "pictures", **settings})
        return [(d.value, d.reason) for d in decide(config, rows, 224) if d.setting == "statistics"]

    [(value, reason)] = decided(400)
    assert value == "kept" and "400 pictures are too few to measure them again well" in reason
    [(value, reason)] = decided(KEEP_STATISTICS_BELOW)
    assert value == "relearned" and "5,000 pictures" in reason
    [(value, reason)] = decided(400, model=TINY)  # no pretrained weights on this computer: nothing to keep
    assert value == "relearned" and "untrained weights" in reason
    assert decided(400, statistics="relearned") == []  # the person's choice stands, and is not explained away
    with pytest.raises(ConfigError, match="statistics"):
        from_dict({"kind": "images", "model": TINY, "data": "pictures", "statistics": "frozen"})

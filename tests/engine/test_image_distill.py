"""Distillation of an image model, run for real on timm's tiny test network and tiny pictures: the student is
the teacher's network with fewer blocks, learns from it, is a normal image model folder that evaluation, the
Playground and export load, and the report holds sizes, speed and quality as for text. The measured figures
on the bundled demo (EfficientNet-Lite0) are in bench/distill_images.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import store
from engine.config import ConfigError
from tests.engine.helpers import run_in_process
from tests.engine.test_image_recipe import image_run, squares


@pytest.fixture(scope="module")
def image_teacher(tmp_path_factory):
    """A tiny image classifier trained briefly (timm's test_efficientnet at 32 pixels), and its pictures."""
    folder = tmp_path_factory.mktemp("image-teacher")
    home = folder / "tw-home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:  # the home the engine reads, for this module only
        patch.setenv("TUNEWRIGHT_HOME", str(home))
        data = squares(folder / "pictures", {"left": 16, "right": 16})
        db, run_id = image_run(home, data, max_steps=6, mirror=False)
        yield db, run_id, data, home


# ---------------------------------------------------------------- which blocks a student keeps


def test_a_student_keeps_each_stage_s_first_block_and_an_even_share_of_the_rest():
    from engine.models.students import choose_blocks

    lite0 = [1, 2, 2, 3, 3, 4, 1]  # EfficientNet-Lite0's 16 blocks in 7 stages
    assert choose_blocks(lite0, 16) == [[0], [0, 1], [0, 1], [0, 1, 2], [0, 1, 2], [0, 1, 2, 3], [0]]
    assert choose_blocks(lite0, 7) == [[0], [0], [0], [0], [0], [0], [0]]
    assert choose_blocks(lite0, 8) == [[0], [0, 1], [0], [0], [0], [0], [0]]
    assert sum(map(len, choose_blocks(lite0, 11))) == 11
    assert choose_blocks([1, 1, 1, 1, 1], 3) == [[0], [0], [0], [], []]  # single-block stages: the deepest go
    with pytest.raises(ConfigError, match="1 to 16 of its blocks"):
        choose_blocks(lite0, 17)


def test_a_cut_lite0_computes_with_the_teacher_s_weights_and_loads_back_the_same(tmp_path):
    import torch

    import engine  # noqa: F401 - installs the torchvision guard before timm is imported
    from engine.images.cut import cut_student
    from engine.images.model import ImageClassifier, Preparation, load_folder
    from engine.images.stack import timm
    from engine.models.students import student_size
    from engine.models.surgery import parameter_count

    torch.manual_seed(0)
    net = timm().create_model("tf_efficientnet_lite0", num_classes=3)
    teacher = ImageClassifier(net, "tf_efficientnet_lite0", ["a", "b", "c"], False, Preparation(size=64)).eval()
    cut = cut_student(teacher, None, None)
    student = cut.student.eval()
    assert (cut.kept, cut.teacher_parts, cut.unit) == (8, 16, "blocks") and cut.speedup > 1.2
    assert sum(p.numel() for p in student.parameters()) < 0.5 * sum(p.numel() for p in teacher.parameters())
    # the kept blocks are the teacher's own: stage 1's second block is there, stage 5's later ones are not
    torch.testing.assert_close(student.net.blocks[1][1].state_dict(), teacher.net.blocks[1][1].state_dict())
    assert len(student.net.blocks[5]) == 1
    code, fields = cut.said
    assert code == "distill.student_blocks" and fields["before"] == "3.37M"

    # what the window's size slider shows, read from the weight files' headers alone, is the real student's size
    teacher.save_pretrained(tmp_path / "teacher")
    size = student_size(tmp_path / "teacher", 8)
    assert (size.layers, size.teacher_layers, size.unit) == (8, 16, "blocks")
    assert (size.parameters, size.teacher_parameters) == (parameter_count(student), parameter_count(teacher))

    student.save_pretrained(tmp_path / "student")
    assert json.loads((tmp_path / "student" / "image_model.json").read_text())["blocks"][1] == [0, 1]
    pixels = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(load_folder(tmp_path / "student")(pixels), student(pixels))


# ---------------------------------------------------------------- a whole run


def test_an_image_classifier_distils_into_fewer_blocks_and_reports_as_for_text(image_teacher, monkeypatch):
    from engine.config import EvaluateConfig
    from engine.export import export
    from engine.config import from_dict
    from engine.planner import describe, plan_without_training
    from engine.recipes.evaluate import evaluate_in_process

    db, teacher_run, data, home = image_teacher
    monkeypatch.setenv("TUNEWRIGHT_HOME", str(home))  # where the planner finds the teacher run
    assert store.get_run(db, teacher_run)["status"] == "completed"
    distil = {"kind": "distill", "teacher": f"run:{teacher_run}", "data": str(data), "max_steps": 4, "batch_size": 8,
              "early_stopping_patience": 0, "compare_with_plain": True}

    # `tunewright-engine plan`: what the run would decide, the student's cut among it
    plan = plan_without_training(from_dict(distil))
    said = describe(plan)
    assert "first 3 of the teacher's 5 stages" in said and "Temperature 2" in said, said

    db, run_id = run_in_process(home, distil)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["config"]["task"] == "images"
    messages = " ".join(e["message"] for e in store.events(db, run_id))
    assert "teaches a student made of its first 3 stages" in messages and "blocks, about" in messages, messages
    assert "batch norm statistics were measured afresh on 28 of your pictures" in messages, messages
    assert "Temperature 2: the teacher's category probabilities are softened" in messages

    # the report: sizes, speed and quality of both, as for text
    kinds = {a["kind"]: Path(a["path"]) for a in store.artifacts(db, run_id)}
    report = json.loads(kinds["distill_report"].read_text())
    teacher, student = report["teacher"], report["student"]
    assert student["parameters"] < teacher["parameters"] and student["disk_bytes"] < teacher["disk_bytes"]
    assert student["examples_per_second"] > 0 and teacher["examples_per_second"] > 0 and report["speedup"] > 0
    for side in (teacher, student):
        assert {"eval_f1", "eval_accuracy", "eval_macro_f1"} <= set(side)
    assert "of the teacher's" in messages and "answers" in messages and "parameters" in messages
    # without the teacher: the same 3 blocks of the network as it was before it learned, same steps
    assert set(report["plain"]) >= {"eval_f1", "eval_accuracy"}
    assert "the same 3 blocks of timm:test_efficientnet as it was before fine-tuning" in messages

    # the student is a normal image model folder: evaluation, the Playground's loading and export take it
    settings = json.loads((kinds["model"] / "image_model.json").read_text())
    assert settings["architecture"] == "test_efficientnet" and settings["blocks"] == [[0], [0], [0], [], []]
    results = evaluate_in_process(db, EvaluateConfig(model=str(run_id), data=str(data)), home=home)
    assert "error" not in results, results
    assert results["rows"] == 32 and 0 <= results["accuracy"] <= 1
    verdict = export(db, run_id, "onnx", home=home, to=home / "student-onnx")
    assert verdict["passed"], verdict
    card = (home / "student-onnx" / "README.md").read_text()
    assert "## Distilled from" in card and "(3 blocks)" in card


def test_an_image_teacher_refuses_pictures_of_other_categories_plainly(image_teacher, tmp_path):
    db, teacher_run, _, home = image_teacher
    other = squares(tmp_path / "other", {"up": 6, "down": 6})
    db, run_id = run_in_process(home, {"kind": "distill", "teacher": f"run:{teacher_run}", "data": str(other), "max_steps": 1})
    assert store.get_run(db, run_id)["status"] == "failed"
    assert "not trained on the categories down, up" in store.get_run(db, run_id)["error"]

"""A run that learned nothing (one category, or no better than always giving the most common one) is named
and never picked: not by Compare's "Pick the best", the Playground, Export, Results, nor as the distillation
teacher."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine import store
from gui.app import save_screenshot
from engine.protocol import Status
from gui.pages.compare import ComparePage
from gui.pages.export import ExportPage
from gui.pages.playground import PlaygroundPage
from gui.sample import add_sample_evaluations
from gui.state.results import weak_reason
from gui.state.wizard import recommend_teacher, teacher_runs
from tests.gui.test_results_pages import open_page

SHOTS = os.environ.get("TUNEWRIGHT_SHOTS")  # a folder: save screenshots there


def single_category_run(client, name: str = "Everything is 'Lost card'") -> int:
    """What training on a file with one category leaves behind: a finished run whose model knows one
    category, with a perfect F1 on its own held-out examples."""
    config = {"kind": "classify", "name": name, "model": "demo:minilm", "data": "lost.csv", "method": "lora"}
    run_id = store.create_run(client.db, kind="classify", config=config, name=name, status=Status.COMPLETED)
    folder = client.home / "runs" / f"{run_id:05d}"
    (folder / "model").mkdir(parents=True)
    store.update_run(client.db, run_id, run_dir=str(folder), step=20, progress=1.0)
    for step in (10, 20):
        store.add_metrics(client.db, run_id, step, {"train_loss": 0.01, "eval_loss": 0.0, "eval_f1": 1.0, "eval_accuracy": 1.0})
    store.add_artifact(client.db, run_id, "model", folder / "model", labels=["Lost card"], multi_label=False)
    return run_id


@pytest.fixture
def with_useless_run(sample_client):
    sample_client.sample_ids |= add_sample_evaluations(sample_client)
    sample_client.sample_ids["useless"] = single_category_run(sample_client)
    return sample_client


def test_compare_does_not_pick_a_single_category_run_and_says_why(with_useless_run, qtbot):
    ids = with_useless_run.sample_ids
    page, _ = open_page(ComparePage, with_useless_run, qtbot)
    page.set_chosen([ids["tickets"], ids["useless"]])
    page.best_button.click()
    assert page.best_id == ids["tickets"]
    assert "Everything is 'Lost card' is left out: it knows only one category ('Lost card')" in page.verdict.text()
    if SHOTS:
        save_screenshot(page, Path(SHOTS) / "compare-left-out.png")


def test_the_playground_and_export_choose_another_run_and_mark_it(with_useless_run, qtbot):
    useless = with_useless_run.sample_ids["useless"]
    playground, _ = open_page(PlaygroundPage, with_useless_run, qtbot)
    assert playground.run_id != useless
    index = playground.run_box.findData(useless)
    assert playground.run_box.itemText(index).endswith("· not recommended")
    export, _ = open_page(ExportPage, with_useless_run, qtbot)
    assert export.run_box.currentData() != useless
    assert export.run_box.itemText(export.run_box.findData(useless)).endswith("· not recommended")


def test_the_distillation_wizard_does_not_recommend_it_and_cannot_take_it(with_useless_run):
    useless = with_useless_run.sample_ids["useless"]
    teachers = teacher_runs(with_useless_run, "classify")
    weak = next(t for t in teachers if t.ref == f"run:{useless}")
    assert not weak.usable and weak.problem.startswith("It cannot teach: it knows only one category")
    chosen, reason = recommend_teacher(teachers)
    assert chosen is None or chosen.ref != f"run:{useless}"


def test_a_run_no_better_than_the_majority_is_weak(with_useless_run, tmp_path):
    client = with_useless_run
    run = store.get_run(client.db, client.sample_ids["tickets"])
    assert weak_reason(client.db, run) == ""
    result = {"task": "classify", "accuracy": 0.5, "labels": ["a", "b"], "baseline": {"label": "a", "accuracy": 0.5},
              "rows": 10, "metrics": {}}
    evaluation = store.create_run(client.db, kind="evaluate", name="held back", status=Status.COMPLETED,
                                  config={"model": str(run["id"]), "data": "held_out.jsonl", "held_out": True},
                                  parent_id=run["id"])
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(result))
    store.add_artifact(client.db, evaluation, "evaluation", path)
    assert weak_reason(client.db, run) == "on its held-back examples it does no better than always answering 'a' (50%)"

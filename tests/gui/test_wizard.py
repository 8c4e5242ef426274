"""The guided New run, clicked through as a person would: from a raw CSV file to a training run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine import store
from gui.pages.wizard import WizardPage
from gui.state.wizard import recommend

SHOTS = os.environ.get("TUNEWRIGHT_SHOTS")  # a folder: save a screenshot of each step there


def shot(page, name: str) -> None:
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        from gui.app import save_screenshot
        from gui.theme import apply_theme

        apply_theme(QApplication.instance())  # as the app looks (tests otherwise run unstyled)
        save_screenshot(page.window(), Path(SHOTS) / f"wizard-{name}.png")


def write_csv(folder: Path) -> Path:
    """What a person exports from a spreadsheet: semicolons, a header, a repeated row."""
    lines = ["message;team"]
    words = {"billing": ["invoice", "refund", "charge"], "delivery": ["parcel", "courier", "tracking"],
             "account": ["password", "login", "email"]}
    for team, topics in words.items():
        for i in range(12):
            lines.append(f"Question {i} about my {topics[i % 3]};{team}")
    lines.append(lines[1])  # a repeat, which the doctor reports
    path = folder / "requests.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def wizard_window(qtbot, client, tiny_encoder):
    """A window on an empty data folder, with the tiny encoder added as a model folder (as the Models page
    does), so a run started here trains at once."""
    from gui.main_window import MainWindow

    window = MainWindow(client, probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: "keep"
    window.show()
    client.add_model_folder(tiny_encoder)
    window.show_page("new")
    yield window
    for run in client.list_runs():
        if run["status"] in ("preparing", "running"):
            client.cancel(run["id"])


def test_from_a_raw_csv_to_a_running_job(qtbot, wizard_window, tmp_path, tiny_encoder):
    window = wizard_window
    page: WizardPage = window.page("new")
    wizard = page.wizard
    assert not page.next_button.isEnabled()
    assert page.blocker.text() == "Choose what the model should learn to do."
    shot(page, "1-task")

    # Task
    page.task_buttons["classify"].clicked.emit()
    assert page.next_button.isEnabled()
    page.next_button.click()
    assert wizard.step == "data"

    # Data: the raw CSV is read, guessed and checked by the doctor on its own
    csv = write_csv(tmp_path)
    page.data_page.open_path(str(csv))
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=60_000)
    assert (page.data_page.description.text_column, page.data_page.description.label_column) == ("message", "team")
    assert any(f.code == "doctor.duplicates" and f.count == 1 for f in page.data_page.report().findings)
    shot(page, "2-data")
    page.next_button.click()
    qtbot.waitUntil(lambda: wizard.step == "model", timeout=10_000)
    assert wizard.data["data"] == str(csv) and wizard.data["label_column"] == "team"

    # Model: the catalog for this task, with a recommendation that gives its reason
    qtbot.waitUntil(lambda: page.model_table.rowCount() >= 2, timeout=30_000)
    assert "Recommended" in page.recommendation.text()
    names = [page.model_table.item(row, 0).text() for row in range(page.model_table.rowCount())]
    page.model_table.selectRow(names.index(tiny_encoder.name))
    assert wizard.model_ref == str(tiny_encoder)
    shot(page, "3-model")
    page.next_button.click()

    # Plan: the engine decides what was left open, and says why
    assert wizard.step == "plan"
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert not wizard.plan.error, wizard.plan.error
    decided = {d["setting"] for d in wizard.plan.decisions}
    assert "learning_rate" in decided
    assert "Learning rate" in page.decisions.text()
    page.expert.setChecked(True)
    shot(page, "4-plan")
    # The Expert view: a bad value is refused with a sentence that names it, and kept as typed
    form = page.expert_forms["classify"]
    form.inputs["epochs"].setText("lots")
    form.inputs["epochs"].editingFinished.emit()
    assert "'epochs'" in page.blocker.text() and not page.next_button.isEnabled()
    assert form.inputs["epochs"].text() == "lots" and form.inputs["epochs"].property("invalid") is True
    form.inputs["epochs"].setText("2")
    form.inputs["epochs"].editingFinished.emit()
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=120_000)
    page.next_button.click()

    # Train: the summary, then Start
    assert wizard.step == "train"
    assert "requests.csv" in page.summary.text() and "2" in page.summary.text()
    page.name.setText("From a CSV")
    shot(page, "5-train")
    planned = wizard.plan.config["learning_rate"]
    page.next_button.click()
    qtbot.waitUntil(lambda: window.current == "run", timeout=5_000)
    run = store.get_run(window.client.db, window.page("run").run_id)
    config = run["config"]
    assert (run["name"], config["data"], config["model"]) == ("From a CSV", str(csv), str(tiny_encoder))
    assert (config["text_column"], config["label_column"], config["epochs"]) == ("message", "team", 2.0)
    assert config["learning_rate"] == planned  # the plan's decision is the run's
    qtbot.waitUntil(lambda: store.get_run(window.client.db, run["id"])["status"] in ("running", "completed"),
                    timeout=120_000)

    # New run again: a fresh start at step 1, never this run's Start button, name or model
    window.show_page("new")
    assert wizard.step == "task" and page.next_button.text() != "Start training" and not page.next_button.isEnabled()
    assert page.blocker.text() == "Choose what the model should learn to do."
    assert (page.name.text(), page.model_detail.text(), wizard.model_ref, wizard.data) == ("", "", "", {})
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()
    assert wizard.step == "data" and page.next_button.text() == "Next: the model"


def test_the_data_step_stops_a_file_that_is_not_examples(qtbot, wizard_window, tmp_path):
    page = wizard_window.page("new")
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()
    picture = tmp_path / "photo.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.data_page.open_path(str(picture))
    assert not page.next_button.isEnabled()
    assert "not a text file" in page.blocker.text()


def test_the_data_step_stops_chat_data_for_a_classifier(qtbot, wizard_window, tmp_path):
    page = wizard_window.page("new")
    page.task_buttons["classify"].clicked.emit()
    page.next_button.click()
    chats = tmp_path / "answers.jsonl"
    chats.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(5)))
    page.data_page.open_path(str(chats))
    assert not page.next_button.isEnabled()
    assert "Answer like my examples" in page.blocker.text() and "go back and change the task" in page.blocker.text()


def test_later_steps_open_only_when_the_earlier_ones_are_done(wizard_window):
    page = wizard_window.page("new")
    page.go("plan")
    assert page.wizard.step == "task"
    assert not page.step_buttons["plan"].isEnabled()


def test_recommendation_explains_itself():
    class Model:
        def __init__(self, name, parameters, task="classify"):
            self.name, self.parameters, self.task, self.usable, self.ref = name, parameters, task, True, name

    small, large = Model("small", 20_000_000), Model("large", 300_000_000)
    chosen, reason = recommend([large, small], hardware=None)
    assert chosen is small and "no GPU" in reason


def test_chat_examples_with_blanks_are_filled_in_before_the_plan(qtbot, client, tiny_llama, wizard_window):
    """LLaMA-Factory's identity.json has {{name}} and {{author}} in its answers: the plan stops and asks for
    them in fields of their own, and goes on once they are given."""
    from tests.conftest import DEMO_DATA

    client.add_model_folder(tiny_llama)
    page = wizard_window.page("new")
    page.load_config({"kind": "chat", "data": str(DEMO_DATA / "identity.json"), "model": str(tiny_llama)})
    wizard = page.wizard
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert "{{name}}, {{author}}" in page.blocker.text() and not page.next_button.isEnabled()
    assert list(page.placeholder_edits) == ["name", "author"] and page.placeholders_box.isVisible()
    page.placeholder_edits["name"].setText("Tuney")
    page.placeholder_edits["author"].setText("Ada Lab")
    page.placeholder_edits["author"].editingFinished.emit()
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=120_000)
    assert wizard.config().template_values == {"name": "Tuney", "author": "Ada Lab"}
    shot(page, "4-plan-chat")


def distil_up_to_the_teacher(qtbot, page, data, teacher_id: int, checked_within_ms: int = 60_000) -> None:
    """A distillation's first steps, clicked: the task, the data (checked by the doctor), then the Model step
    until it has chosen the finished run `teacher_id` as the teacher."""
    page.task_buttons["distill"].clicked.emit()
    page.next_button.click()
    page.data_page.open_path(str(data))
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=checked_within_ms)
    page.next_button.click()
    qtbot.waitUntil(lambda: page.wizard.model_ref == f"run:{teacher_id}", timeout=30_000)


def test_make_a_trained_model_smaller_with_the_wizard(qtbot, home, client, wizard_window, tiny_classify_config,
                                                      intents_file):
    """Distil a finished run: the teacher is chosen among the user's runs, the student's size with a slider
    that says what it means."""
    from tests.engine.helpers import run_in_process

    # long enough to beat always answering the commonest intent: a teacher that learned nothing is not offered
    _, teacher_id = run_in_process(home, {**tiny_classify_config, "epochs": 10})
    page = wizard_window.page("new")
    wizard = page.wizard
    distil_up_to_the_teacher(qtbot, page, intents_file, teacher_id)
    assert "your latest finished run" in page.recommendation.text()
    assert page.student.isVisible() and page.student.slider.maximum() == 1  # a 2-layer teacher keeps 1
    assert page.student.text.text().startswith("Keeps 1 of the teacher's 2 layers")
    shot(page, "distill-model")
    page.next_button.click()
    # Plan: the planner's, as for any run: what it decided for the student and why, and how long it takes
    assert wizard.step == "plan" and page.distill_note.isVisible()
    qtbot.waitUntil(lambda: not wizard.planning and wizard.plan is not None, timeout=120_000)
    assert not wizard.plan.error, wizard.plan.error
    decided = {d["setting"]: d["value"] for d in wizard.plan.decisions}
    assert {"epochs", "max_length", "learning_rate"} <= set(decided)
    assert "Learning rate" in page.decisions.text() and page.decisions_box.isVisible()
    assert page.time_text.text().startswith("About ") and wizard.plan.time["parts"]["teacher"] > 0  # its answers are timed too
    assert page.next_button.isEnabled() and not page.expert.isChecked()
    shot(page, "distill-plan")
    page.next_button.click()
    page.next_button.click()  # Start training
    qtbot.waitUntil(lambda: wizard_window.current == "run", timeout=5_000)
    run = store.get_run(client.db, wizard_window.page("run").run_id)
    assert run["kind"] == "distill"
    assert (run["config"]["teacher"], run["config"]["student_layers"]) == (f"run:{teacher_id}", 1)
    assert (run["config"]["epochs"], run["config"]["max_length"]) == (decided["epochs"], decided["max_length"])
    codes = [event["code"] for event in store.events(client.db, run["id"])]
    assert "plan.time" in codes and codes.count("plan.time") == 1  # the plan's sentences, kept with the run


def test_a_run_started_for_a_cluster_out_of_reach_fails_in_a_sentence_and_nothing_trains_here(
        qtbot, wizard_window, tiny_classify_config, home):
    import sys

    from engine import cluster
    from tests.engine.test_cluster import a_cluster

    page: WizardPage = wizard_window.page("new")
    settings = {k: v for k, v in tiny_classify_config.items() if k != "learning_rate"}  # left to the plan
    page.load_config(settings)
    qtbot.waitUntil(lambda: page.wizard.step == "plan" and page.next_button.isEnabled(), timeout=120_000)
    page.next_button.click()
    assert page.wizard.step == "train"
    assert not page.where.isVisible()  # no cluster added: nothing to choose

    # A cluster is added (the Cluster page), whose login node does not answer: ssh to a port nothing listens on.
    cluster.save_cluster(a_cluster(host="127.0.0.1", port=1, python=sys.executable), home)
    page.go("plan")
    qtbot.waitUntil(lambda: page.next_button.isEnabled(), timeout=120_000)
    page.next_button.click()
    assert page.where.isVisible() and not page.where_note.isVisible()
    assert [page.where.itemText(i) for i in range(page.where.count())] == [
        "This computer", "hpc: Slurm cluster at 127.0.0.1 (2 GPUs per run)"]
    page.where.setCurrentIndex(1)
    assert page.where_note.isVisible() and "plans it again for the cluster's GPUs" in page.where_note.text()
    shot(page, "5-train-cluster")
    page.next_button.click()
    qtbot.waitUntil(lambda: wizard_window.current == "run", timeout=5_000)
    run_id = wizard_window.page("run").run_id
    db = wizard_window.client.db
    qtbot.waitUntil(lambda: store.get_run(db, run_id)["status"] == "failed", timeout=60_000)
    run = store.get_run(db, run_id)
    assert run["error"].startswith("The run could not be sent to hpc: ") and "Nothing is lost" in run["error"]
    assert run["config"].get("learning_rate") is None  # planned on the cluster, for its GPUs, not here
    assert wizard_window.client.list_runs() and not [r for r in wizard_window.client.list_runs() if r["pid"]]

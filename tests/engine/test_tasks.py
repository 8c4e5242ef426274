"""The table of tasks: every task handles every stage (or says it does not, on purpose), a new task is a
module and one line, and nothing outside the task modules compares against a task's name."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from engine import tasks
from engine.config import EXPORT_FORMATS, ConfigError, JobConfig, from_dict, setting
from engine.protocol import MESSAGES
from engine.tasks import STAGES, TASKS, Lazy, NotOffered, Task, Words

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_handles_every_stage_or_says_it_does_not(name):
    task = TASKS[name]
    for stage in STAGES:
        handler = getattr(task, stage)
        assert callable(handler), f"the task '{name}' does not handle the stage '{stage}'"
        if isinstance(handler, NotOffered):
            assert handler.reason.strip(), f"'{name}' leaves '{stage}' out without a sentence saying so"
            continue
        if isinstance(handler, Lazy):
            assert callable(handler.resolve()), f"'{name}' names a function for '{stage}' that is not there"
    # What the stages read from the declaration is there and consistent.
    assert issubclass(task.config, JobConfig) and task.config.kind == name
    assert set(task.export_formats) <= set(EXPORT_FORMATS)
    assert task.metric and task.curves and task.speed[0]
    assert all(value for value in dataclasses.asdict(task.words).values())
    if not isinstance(task.distil, NotOffered):
        assert f"plan.temperature_{name}" in MESSAGES  # the distillation says which temperature it chose
    demo = task.demo()
    assert demo.kind == name and Path(demo.data).exists()


def example_from_cli(name: str, capsys) -> dict:
    from engine.__main__ import main

    assert main(["example", name]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_is_offered_by_the_job_process_the_cli_and_the_planner(name, capsys):
    from engine.job import recipe_for
    from engine.planner import learning_rate

    assert recipe_for(name) is TASKS[name].train
    assert from_dict({"kind": name, "model": "demo:x", "data": "x.csv"}).kind == name
    assert example_from_cli(name, capsys)["kind"] == name
    for method in TASKS[name].learning_rates:
        if method in ("full", "lora", "qlora"):
            assert learning_rate(name, method)[0] > 0


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_reads_and_checks_its_demo_data(name, tmp_path):
    from engine.data.doctor import examine
    from engine.data.preview import describe_file

    demo = TASKS[name].demo()
    description = describe_file(demo.data, task=name)
    assert description.task == name and not description.problem
    report = examine(demo.data, name)
    assert report.usable_rows > 0 and report.findings


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_is_planned_from_its_data_and_model(name):
    from engine.planner import plan_without_training

    demo = TASKS[name].demo()
    demo.method, demo.max_length, demo.device = "auto", None, "cpu"
    plan = plan_without_training(demo)
    size = plan.config.max_length or getattr(plan.config, "image_size", None)  # of a text, or of a picture
    assert size and plan.config.method in TASKS[name].learning_rates


# ---------------------------------------------------------------- a fourth task, through the table alone


@dataclasses.dataclass
class ToyConfig(JobConfig):
    """Count the words of a text (a toy task for this test)."""

    words_column: str = setting("", "The column whose words are counted.")

    kind = "count_words"


def toy_task() -> Task:
    chat = TASKS["chat"]
    return dataclasses.replace(
        chat, name="count_words", config=ToyConfig,
        words=Words("Count the words", "The model counts the words of a text.", "How long each review is.",
                    "Count words", "Count words", "Counts words", "Word counters", "texts", "texts", "Quality"),
        distil=NotOffered("A word counter cannot be made smaller."),
        demo=lambda: ToyConfig(model="demo:minilm", data=chat.demo().data),
    )


@pytest.fixture
def with_toy_task(monkeypatch):
    monkeypatch.setitem(TASKS, "count_words", toy_task())


def test_a_fourth_task_added_to_the_table_is_offered_by_the_cli(with_toy_task, capsys):
    assert example_from_cli("count_words", capsys)["words_column"] == ""
    assert from_dict({"kind": "count_words", "model": "demo:minilm", "data": "x.csv"}).kind == "count_words"
    from engine.job import recipe_for

    assert recipe_for("count_words") is TASKS["count_words"].train


def test_a_fourth_task_added_to_the_table_is_offered_by_the_wizard(with_toy_task):
    from gui.state.wizard import task_choices

    titles = [choice.title for choice in task_choices()]
    assert "Count the words" in titles
    assert titles[-1] == "Make a model smaller and faster"  # distillation stays last


def test_a_stage_a_task_does_not_offer_says_so_in_a_sentence(with_toy_task):
    with pytest.raises(ConfigError, match="cannot be made smaller"):
        TASKS["count_words"].distil(None, None)


def test_an_unknown_task_is_a_sentence_naming_the_known_ones():
    with pytest.raises(ConfigError, match="classify"):
        tasks.task("summarise")
    with pytest.raises(ConfigError, match="'task'"):
        from_dict({"kind": "evaluate", "model": "1", "data": "x.csv", "task": "summarise"})


# ---------------------------------------------------------------- no task names outside the task modules


def _comparisons_with_task_names(path: Path) -> list[str]:
    names = set(TASKS)
    found = []

    def named(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and node.value in names:
            return True
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(named(element) for element in node.elts)
        return False

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and any(named(part) for part in (node.left, *node.comparators)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.Dict) and any(key is not None and named(key) for key in node.keys):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.keyword) and node.arg == "choices" and isinstance(node.value, (ast.List, ast.Tuple)) and named(node.value):
            found.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    return found


def test_no_code_outside_the_task_modules_compares_against_a_task_name():
    files = [path for folder in ("engine", "gui") for path in sorted((ROOT / folder).rglob("*.py"))
             if "tasks" not in path.relative_to(ROOT).parts]
    found = [place for path in files for place in _comparisons_with_task_names(path)]
    assert not found, "task names compared outside engine/tasks (look the task up in the table): " + ", ".join(found)


def test_the_name_check_finds_a_comparison(tmp_path):
    sample = ROOT / "tests" / "engine" / "_sample_compare.py"
    try:
        sample.write_text('def f(kind):\n    return kind == "chat" or kind in ("classify",)\n', encoding="utf-8")
        assert len(_comparisons_with_task_names(sample)) == 2
    finally:
        sample.unlink()

"""A distillation is checked before it starts: it is offered the teacher's own data, a teacher that never
learned the data's categories stops the wizard with the reason and the fix, and a run that failed on its
data or settings is changed, not repeated."""

from __future__ import annotations

from engine import store
from engine.protocol import Status
from gui.state.format import retry_would_fail
from gui.state.wizard import default_teacher_data, teacher_mismatch
from tests.gui.test_wizard import shot


def finished_classifier(client, data: str, labels: list[str], name: str = "Card questions") -> int:
    config = {"kind": "classify", "name": name, "model": "demo:minilm", "data": data}
    run_id = store.create_run(client.db, kind="classify", config=config, name=name, status=Status.COMPLETED)
    folder = client.home / "runs" / f"{run_id:05d}"
    (folder / "model").mkdir(parents=True)
    store.update_run(client.db, run_id, run_dir=str(folder), step=10, progress=1.0)
    store.add_artifact(client.db, run_id, "model", folder / "model", labels=labels, multi_label=False)
    return run_id


def test_the_teachers_own_data_is_offered_and_other_categories_are_stopped(client, tmp_path):
    own = tmp_path / "cards.csv"
    own.write_text("text,label\nmy card is gone,Lost card\nwhat is my pin,PIN\n")
    teacher = finished_classifier(client, str(own), ["Lost card", "PIN"])
    assert default_teacher_data(client) == str(own)
    assert teacher_mismatch(client, f"run:{teacher}", {"Lost card": 30, "PIN": 20}, str(own)) == ""
    other = tmp_path / "hotel.csv"
    problem = teacher_mismatch(client, f"run:{teacher}", {"Lost card": 3, "Late checkout": 40, "Towels": 9}, str(other))
    assert problem.startswith("The teacher was not trained on the categories 'Late checkout', 'Towels' that hotel.csv has")
    assert "use the teacher's own data (cards.csv)" in problem


def test_a_wizard_with_a_mismatched_teacher_keeps_next_disabled_with_the_reason(qtbot, client, tmp_path):
    from gui.pages.wizard import WizardPage

    own = tmp_path / "cards.csv"
    own.write_text("text,label\n" + "".join(f"card question {i},{'Lost card' if i % 2 else 'PIN'}\n" for i in range(60)))
    teacher = finished_classifier(client, str(own), ["Lost card", "PIN"])
    page = WizardPage(client)
    qtbot.addWidget(page)
    page.task_buttons["distill"].clicked.emit()
    page.next_button.click()
    assert page.data_page.path == str(own.resolve())  # the teacher's own data, offered first
    hotel = tmp_path / "hotel.csv"
    hotel.write_text("text,label\n" + "".join(f"hotel request {i},{'Towels' if i % 2 else 'Late checkout'}\n" for i in range(60)))
    page.data_page.open_path(str(hotel))
    qtbot.waitUntil(lambda: page.data_page.report() is not None and page.next_button.isEnabled(), timeout=60_000)
    page.next_button.click()
    qtbot.waitUntil(lambda: page.wizard.model_ref == f"run:{teacher}" or "teacher was not trained" in page.blocker.text(),
                    timeout=30_000)
    page._choose_model(next(m for m in page.models if m.ref == f"run:{teacher}"))
    assert not page.next_button.isEnabled()
    assert "The teacher was not trained on the categories" in page.blocker.text()
    shot(page, "distill-mismatch")


def test_trying_again_is_offered_only_where_it_can_end_differently():
    settled = {"status": "failed", "error_detail": "Traceback ...\nengine.config.ConfigError: The teacher was not trained"}
    passing = {"status": "failed", "error_detail": "Traceback ...\ntorch.OutOfMemoryError: CUDA out of memory"}
    assert retry_would_fail(settled) and not retry_would_fail(passing)
    assert not retry_would_fail({"status": "interrupted", "error_detail": ""})

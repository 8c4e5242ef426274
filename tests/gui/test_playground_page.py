"""The Playground page, clicked through: type a prompt, see the answer grow, press Stop; a crashed model process.

A stand-in model process (a thread with its own connection) writes the rows the way engine/playground_serve.py
does, with the same engine.playground functions, a word every few hundredths of a second.
"""

from __future__ import annotations

import subprocess
import threading
import time

import psutil
from PySide6.QtCore import Qt

from engine import playground, store
from gui.sample import SampleTrainer, add_run


def fake_model_process(home, run_id: int, done: threading.Event) -> threading.Thread:
    """Answers every question of `run_id` with "word1 word2 ...", stopping when asked, until told to exit."""

    def work() -> None:
        db = store.open_db(store.database_path(home))
        playground.register_server(db, run_id)
        playground.mark_server(db, run_id, "ready")
        # The pid the window checks and signals: a stand-in process that lives as long as the thread.
        playground._set_server(db, run_id, pid=stand_in.pid, pid_started=psutil.Process(stand_in.pid).create_time())
        while not playground.stop_asked(db, run_id):
            request = playground.next_request(db, run_id)
            if request is None:
                time.sleep(0.02)
                continue
            words = []
            while len(words) < 500 and not playground.stop_wanted(db, request["id"]):
                words.append(f"word{len(words) + 1}")
                playground.write_progress(db, request["id"], output=" ".join(words), tokens=len(words), updates=len(words))
                time.sleep(0.03)
            status = "stopped" if len(words) < 500 else "done"
            playground.write_progress(db, request["id"], status=status, output=" ".join(words))
        playground.mark_server(db, run_id, "stopped", error="The model was put away.")
        stand_in.kill()
        stand_in.wait()
        done.set()

    stand_in = subprocess.Popen(["sleep", "120"])

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def finished_chat_run(client, home) -> int:
    run_id = add_run(client.db, home, "Support answers", kind="chat")
    trainer = SampleTrainer(client.db, run_id, total_steps=20, eval_every=10, chat=True)
    trainer.train_steps(20)
    trainer.finish()
    return run_id


def test_a_prompt_streams_into_the_window_and_stop_ends_the_answer(qtbot, client, home):
    from gui.main_window import MainWindow

    run_id = finished_chat_run(client, home)
    window = MainWindow(client, probe=False)
    qtbot.addWidget(window)
    window.ask_on_close = lambda box: "keep"
    window.show()
    window.nav_buttons["playground"].click()
    page = window.page("playground")
    assert page.run_id == run_id and "loads when you ask" in page.state.text()
    assert page.made_up_note.isVisible() and "small ones often invent names" in page.made_up_note.text()
    exited = threading.Event()
    page.launch = lambda run: fake_model_process(home, run, exited)

    qtbot.keyClicks(page.prompt, "My order arrived damaged.")
    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    pane = page.panes["tuned"]
    assert "My order arrived damaged." in pane.text() and not page.send_button.isEnabled()
    qtbot.waitUntil(lambda: "word3" in pane.text(), timeout=10_000)  # the answer appears as it is written
    assert page.state.text() == "The model is loaded and ready."
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.busy(), timeout=10_000)
    assert "Stopped." in pane.text() and page.send_button.isEnabled()
    kept = pane.turns[-1]["content"]
    assert pane.turns[-1]["role"] == "assistant" and kept.startswith("word1 word2 word3") and "word500" not in kept

    # The next message carries the conversation so far to the model.
    qtbot.keyClicks(page.prompt, "Do I send it back?")
    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    request = playground.get_request(client.db, pane.request_id)
    assert [turn["role"] for turn in request["conversation"]] == ["user", "assistant", "user"]
    assert request["conversation"][1]["content"] == kept
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.busy(), timeout=10_000)

    window.close()  # closing the window puts the model process away
    assert exited.wait(10)
    assert playground.check_server(client.db, run_id)["status"] == "stopped"


def test_a_crashed_model_process_is_said_in_a_sentence_and_can_be_started_again(qtbot, client, home):
    from gui.pages.playground import PlaygroundPage
    from gui.state.runs import RunsModel

    run_id = finished_chat_run(client, home)
    runs = RunsModel(client)
    runs.refresh()
    page = PlaygroundPage(client, runs)
    qtbot.addWidget(page)
    started = []
    page.launch = lambda run: started.append(run)
    dead = psutil.Popen(["true"])
    dead.wait()
    playground._set_server(client.db, run_id, status="ready", pid=dead.pid, pid_started=time.time() - 5)
    page.refresh()
    assert "stopped unexpectedly" in page.state.text() and page.restart_button.isVisibleTo(page)
    qtbot.mouseClick(page.restart_button, Qt.MouseButton.LeftButton)
    assert started == [run_id]


def test_a_multi_label_classifier_shows_every_label_above_its_threshold(qtbot, client, home):
    from gui.pages.playground import PlaygroundPage
    from gui.state.runs import RunsModel

    run_id = add_run(client.db, home, "Ticket tags", threshold=0.4)
    SampleTrainer(client.db, run_id, total_steps=10, eval_every=5).finish()
    runs = RunsModel(client)
    runs.refresh()
    page = PlaygroundPage(client, runs)
    qtbot.addWidget(page)
    page.launch = lambda run: None
    page.show()
    assert page.stack.currentIndex() == 2  # the classifier's side of the page
    qtbot.mouseClick(page.classify_button, Qt.MouseButton.LeftButton)
    assert page.classify_note.text() == "Type a message first."  # nothing typed: said, nothing sent
    page.text_input.setPlainText("Charged twice and the parcel never came")
    qtbot.mouseClick(page.classify_button, Qt.MouseButton.LeftButton)
    # What the model process writes for a run with several labels per text (sigmoid probabilities).
    result = {"labels": [{"label": "billing", "probability": 0.91}, {"label": "delivery", "probability": 0.62},
                         {"label": "account", "probability": 0.08}],
              "multi_label": True, "threshold": 0.4, "chosen": ["billing", "delivery"], "truncated": False}
    playground.write_progress(client.db, page.classify_request, status="done", result=result)
    page.refresh()
    assert page.result_title.text() == "Categories above 40%: billing, delivery"
    assert page.bars.rows == [("billing", 0.91), ("delivery", 0.62), ("account", 0.08)]


def test_a_model_that_cannot_start_says_why_and_keeps_the_message(qtbot, sample_client):
    from gui.pages.playground import PlaygroundPage
    from gui.state.runs import RunsModel

    runs = RunsModel(sample_client)
    runs.refresh()
    page = PlaygroundPage(sample_client, runs)  # sample data: no model process can be started
    qtbot.addWidget(page)
    page.show()
    qtbot.keyClicks(page.prompt, "Hello?")
    qtbot.keyClick(page.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "sample data" in page.chat_note.text() and page.chat_note.isVisible()
    assert page.prompt.toPlainText() == "Hello?" and not page.busy() and page.send_button.isEnabled()
    assert "Hello?" not in page.panes["tuned"].text()

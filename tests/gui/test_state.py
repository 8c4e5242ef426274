"""The Qt-free view models: what the pages show comes from here."""

from __future__ import annotations

import numpy as np
import pytest

from engine import store
from gui.sample import SampleTrainer, add_run
from gui.state import format as fmt
from gui.state.runs import GB, Poller, RunsModel, RunWatcher, matches
from gui.state.series import Series


def test_series_grows_and_rewrites_resumed_steps():
    series = Series("loss", capacity=4)
    series.append([1, 2, 3], [1.0, 0.9, 0.8])
    series.append(np.arange(4, 11), np.full(7, 0.5))
    assert len(series) == 10 and series.x[-1] == 10
    series.append([6, 7], [0.1, 0.2])  # a resumed run recomputes the steps after its checkpoint
    assert list(series.x) == [1, 2, 3, 4, 5, 6, 7]
    assert series.y[-1] == pytest.approx(0.2)


def test_watcher_reads_only_new_rows_and_follows_a_resume(client, job_db, home):
    run_id = add_run(job_db, home, "watched")
    trainer = SampleTrainer(job_db, run_id, total_steps=100, eval_every=10)
    trainer.train_steps(20)
    watcher = RunWatcher(client, run_id)
    seen = []
    watcher.metrics_changed.connect(seen.append)
    watcher.refresh()
    assert len(watcher.series["train_loss"]) == 20
    assert len(watcher.series["eval_loss"]) == 2
    assert watcher.series["gpu_total"].y[0] == pytest.approx(8.0)  # bytes shown in GB
    watcher.refresh()
    assert len(seen) == 1  # nothing new, nothing announced

    trainer.train_steps(5)
    watcher.refresh()
    assert len(watcher.series["train_loss"]) == 25

    # paused at 25 with a checkpoint at 22; the resumed job drops 23..25 and writes them again
    store.update_run(job_db, run_id, status="paused")
    watcher.refresh()
    store.drop_metrics_after(job_db, run_id, 22)
    store.update_run(job_db, run_id, status="preparing")
    trainer.step = 22
    trainer.train_steps(6)
    watcher.refresh()
    assert list(watcher.series["train_loss"].x) == list(range(1, 29))


def test_runs_model_announces_finished_runs(client, job_db, home):
    run_id = add_run(job_db, home, "soon done")
    store.update_run(job_db, run_id, status="running")
    runs = RunsModel(client)
    finished = []
    runs.finished.connect(finished.append)
    runs.refresh()
    assert runs.has_active()
    store.update_run(job_db, run_id, status="completed")
    runs.refresh()
    assert [run["id"] for run in finished] == [run_id]


def test_poller_notices_another_connections_write(client, job_db, home):
    poller = Poller(client)
    poller.watch_for_jobs = lambda: False
    poller.tick()
    assert not poller.tick()
    add_run(job_db, home, "new")
    assert poller.tick()


def test_filter_matches_words_and_status(sample_client):
    runs = sample_client.list_runs()
    active = [run["name"] for run in runs if matches(run, "Active", "")]
    assert active == ["Email routing", "Demo: hotel requests"]
    assert [run["name"] for run in runs if matches(run, "All runs", "Requests")] == ["Demo: hotel requests"]
    assert [run["name"] for run in runs if matches(run, "Stopped or failed", "")] == ["Contract clauses", "Ticket urgency, full training"]


@pytest.mark.parametrize(
    "seconds, words",
    [(None, ""), (20, "less than a minute left"), (170, "about 3 min left"), (3 * 3600 + 600, "about 3 h 10 min left")],
)
def test_time_left_in_words(seconds, words):
    assert fmt.time_left(seconds) == words


def test_status_words_and_best_metric():
    run = {"status": "running", "request": "pause", "best_metric_name": "eval_f1", "best_metric": 0.912}
    assert fmt.status_word(fmt.shown_status(run)) == "Pausing…"
    assert fmt.best_metric(run) == "F1 91.2%"
    assert fmt.size(8 * GB) == "8.0 GB"


# Time left as the engine wrote it for a CPU run, one reading every 20 seconds, in minutes: each evaluation
# and slow batch made it leap, and read raw it jumped between 4 and 31 minutes.
JUMPY_MINUTES = [31, 4, 29, 5, 27, 28, 4, 26, 25, 4, 24, 23, 5, 22, 4, 21, 20, 4, 19, 18, 3, 17, 16, 3]


def test_time_left_is_steady_on_a_jumpy_series_of_estimates():
    from gui.state.eta import SteadyTimeLeft

    clock = [0.0]
    steady = SteadyTimeLeft(clock=lambda: clock[0])
    shown = []
    for minutes in JUMPY_MINUTES:
        shown.append(steady.seconds({"id": 7, "eta_seconds": minutes * 60.0}) / 60)
        for _ in range(4):  # the window reads it several times between two estimates: it counts down
            clock[0] += 5.0
            steady.seconds({"id": 7, "eta_seconds": minutes * 60.0})
    words = [fmt.time_left(minutes * 60) for minutes in shown]
    assert len(set(words)) > 5  # it moves ...
    assert all(abs(after - before) <= 3 for before, after in zip(shown[1:], shown[2:]))  # ... never by leaps (raw: up to 27)
    assert shown[-1] < shown[1] and all(4 <= minutes <= 31 for minutes in shown)
    assert steady.seconds({"id": 7, "eta_seconds": None}) is None  # a run with no estimate shows none


def test_settings_typed_while_a_plan_is_made_wait_for_it_and_are_planned_next(client, tmp_path, monkeypatch):
    """Each plan is an engine process that loads torch and a tokenizer: four Expert settings typed in a row
    ask for two plans (the first choices, then the newest), not four side by side; only the newest is used."""
    from gui.state import wizard as wizard_state

    asked: list[tuple[dict, object]] = []
    monkeypatch.setattr(wizard_state, "run_plan", lambda client, values, on_done: asked.append((values, on_done)))
    wizard = wizard_state.Wizard(client)
    wizard.changed.connect(lambda: wizard.needs_plan() and wizard.make_plan(wizard.plan_done))  # as the page does
    wizard.choose_task("classify")
    wizard.set_data({"data": str(tmp_path / "examples.csv")})
    wizard.set_model(str(tmp_path / "model"))
    wizard.go("plan")
    assert len(asked) == 1

    for name, value in (("epochs", 1), ("max_length", 64), ("batch_size", 16), ("learning_rate", 0.001)):
        wizard.set_setting(name, value)
    assert len(asked) == 1 and wizard.blocker("plan").startswith("Planning the run")

    first, answer = asked[0]
    answer(wizard_state.PlanResult(config={"batch_size": 32}))  # the stale plan comes back: the newest is asked for
    assert len(asked) == 2 and wizard.plan is None and wizard.blocker("plan").startswith("Planning the run")
    newest, answer = asked[1]
    assert newest["batch_size"] == 16 and newest["epochs"] == 1
    answer(wizard_state.PlanResult(config={"batch_size": 16}))
    assert wizard.plan.config == {"batch_size": 16} and wizard.blocker("plan") == ""

"""A run started from a plan the window asked for keeps that plan's sentences, as a run the engine plans does."""

from __future__ import annotations

from engine import jobs, store
from engine.config import from_dict
from engine.demo import example
from engine.planner import plan_without_training, record_plan


def test_the_windows_plan_is_stored_with_the_run_as_its_events(tmp_path):
    config = example("classify")
    config.method, config.epochs, config.max_length, config.device = "auto", None, None, "cpu"
    plan = plan_without_training(config).to_dict()
    assert plan["decisions"]

    chosen = dict(plan["config"])
    changed = next(d for d in plan["decisions"] if d["setting"] == "max_length")
    chosen["max_length"] = changed["value"] + 32  # the person's own choice over the plan's
    db = store.open_db(store.database_path(tmp_path))
    run_id = jobs.submit(db, from_dict(chosen), home=tmp_path)
    record_plan(db, run_id, plan)

    said = [event["message"] for event in store.events(db, run_id)]
    kept = [d["reason"] for d in plan["decisions"] if d is not changed]
    assert all(reason in said for reason in kept)
    assert changed["reason"] not in said  # a decision the person overrode is not claimed as the run's
    forecasts = [forecast["sentence"] for forecast in (plan["memory"], plan["time"]) if forecast]
    assert forecasts and all(sentence in said for sentence in forecasts)


def test_a_picture_run_planned_by_the_window_says_each_sentence_once(tmp_path, tunewright_home):
    """The plan's sentences recorded at submission are not said again by the run (the mirroring sentence is
    part of every picture plan, whoever made it)."""
    from engine.job import run_job
    from tests.engine.test_image_recipe import TINY, squares

    data = squares(tmp_path / "pictures", {"left": 10, "right": 10})
    config = from_dict({"kind": "images", "model": TINY, "data": str(data), "image_size": 32, "max_steps": 2,
                        "batch_size": 8, "workers": 0, "device": "cpu"})
    plan = plan_without_training(config).to_dict()
    db = store.open_db(store.database_path(tunewright_home))
    run_id = jobs.submit(db, from_dict(plan["config"]), home=tunewright_home)
    record_plan(db, run_id, plan)
    run_job(run_id, tunewright_home)

    assert store.get_run(db, run_id)["status"] == "completed"
    said = [event["message"] for event in store.events(db, run_id)]
    mirror = next(d["reason"] for d in plan["decisions"] if d["setting"] == "mirror")
    assert said.count(mirror) == 1
    planned = [reason for reason in (d["reason"] for d in plan["decisions"]) if reason in said]
    assert all(said.count(reason) == 1 for reason in planned)

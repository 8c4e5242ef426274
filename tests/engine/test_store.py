import pytest

from engine import store
from engine.protocol import MESSAGES, Status


@pytest.fixture
def db():
    return store.open_db(":memory:")


def test_a_new_database_has_every_table_and_its_migration_recorded(db):
    assert {"runs", "metrics", "events", "artifacts", "datasets", "models"} <= set(db.table_names())
    applied = [m.name for m in store.migrations.applied(db)]
    assert applied[0] == "m001_initial" and "m002_model_downloads" in applied
    store.migrations.apply(db)  # applying again changes nothing
    assert len(store.migrations.applied(db)) == len(applied)


def test_a_file_database_uses_wal(tmp_path):
    db = store.open_db(tmp_path / "t.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_run_life(db):
    run_id = store.create_run(db, kind="classify", config={"model": "m", "name": "first"})
    assert store.get_run(db, run_id)["status"] == Status.QUEUED
    store.update_run(db, run_id, status=Status.RUNNING, step=3)
    run = store.get_run(db, run_id)
    assert (run["status"], run["step"], run["config"]["model"], run["name"]) == ("running", 3, "m", "first")
    with pytest.raises(KeyError):
        store.get_run(db, 999)


def test_metrics_after_a_checkpoint_are_dropped_so_none_repeats(db):
    run_id = store.create_run(db, kind="chat", config={})
    store.add_metric_steps(db, run_id, [(step, {"train_loss": 1 / step, "lr": 0.1}) for step in range(1, 11)])
    assert store.drop_metrics_after(db, run_id, 6) == 8
    store.add_metric_steps(db, run_id, [(step, {"train_loss": 0.5}) for step in range(7, 9)])
    assert [s for s, _ in store.metric_series(db, run_id, "train_loss")] == list(range(1, 9))
    assert store.latest_metrics(db, run_id) == {"train_loss": 0.5, "lr": 0.1}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_declared_message_is_a_sentence(code):
    # a sentence may open with a value or with the quoted name the person gave ("'epoch' is not a setting")
    assert MESSAGES[code].text[0].isupper() or MESSAGES[code].text.startswith(("{", "'"))


def test_events_are_plain_sentences(db):
    run_id = store.create_run(db, kind="chat", config={})
    store.add_event(db, run_id, "run.paused", step=12)
    (event,) = store.events(db, run_id)
    assert event["message"] == "Paused at step 12. Resume whenever you like; nothing is lost."
    assert event["level"] == "info"


def test_models_and_datasets_are_remembered_once_per_path(db):
    first = store.remember_model(db, "/models/a", name="A", metadata={"licence": "MIT"})
    again = store.remember_model(db, "/models/a", name="A2")
    assert first == again and db["models"].count == 1
    store.remember_dataset(db, "/data/x.csv", rows=10)
    assert db["datasets"].count == 1

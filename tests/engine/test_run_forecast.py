"""Planning every job kind, and the whole-run time forecast against a real run on this machine."""

from __future__ import annotations

import json
import os
import time

import pytest

from engine import store
from tests.engine.helpers import cli, wait_for


@pytest.fixture(scope="module")
def small_encoder(tmp_path_factory, tiny_encoder):
    """A 2-layer, 128-wide BERT (random weights, MiniLM's tokenizer): big enough that its steps take a
    measurable share of a short run on a CPU, small enough that the run takes seconds."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("small-encoder")
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=512, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_time_forecast_of_a_small_classification_run_is_within_a_fifth(tmp_path, tunewright_home, small_encoder, intents_file):
    """The run is planned and started as the window does it: the plan asked for by `tunewright-engine plan`
    (a process of its own) just before, so that the start-up and steps it times see the machine as the run
    will; the run submitted with the plan's settings and sentences, and its job process launched. It is timed
    as its person waits for it: from the moment it is recorded to its saved model.

    Skipped on an oversubscribed machine (more than 1.5 runnable processes per core): there torch's worker
    threads wait on each other and a step's time swings threefold from one minute to the next (measured on a
    2-core machine at a load of 12), which no forecast made a minute earlier can know."""
    from engine import jobs
    from engine.config import from_dict
    from engine.planner import record_plan

    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    if busy > 1.5:
        pytest.skip(f"the machine is oversubscribed ({busy:.1f} runnable processes per core)")
    values = {"kind": "classify", "model": str(small_encoder), "data": str(intents_file), "method": "full",
              "epochs": 8, "batch_size": 8, "max_length": None, "device": "cpu", "early_stopping_patience": 0}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(values))
    planned = cli("plan", str(path), "--json", home=tunewright_home)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    db = store.open_db(store.database_path(tunewright_home))
    run_id = jobs.submit(db, from_dict(plan["config"]), home=tunewright_home)
    record_plan(db, run_id, plan)
    jobs.start_next(db, home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["finished_at"], timeout=300)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error"]
    took = run["finished_at"] - run["created_at"]
    forecast = plan["time"]
    error = forecast["seconds"] / took - 1
    assert abs(error) <= 0.20, f"forecast {forecast['seconds']:.1f} s ({forecast['parts']}), took {took:.1f} s: {error:+.0%}"
    codes = [event["code"] for event in store.events(db, run_id)]
    assert codes.count("plan.time") == 1  # the plan's forecast, not made again by the job


def test_a_distillation_whose_teacher_is_a_finished_run_is_planned(tmp_path, tunewright_home, tiny_encoder, intents_file):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from engine.__main__ import main

    db = store.open_db(store.database_path(tunewright_home))
    run_id = store.create_run(db, kind="classify", config={"kind": "classify", "model": str(tiny_encoder), "data": str(intents_file)})
    folder = tunewright_home / "runs" / f"{run_id:05d}"
    labels = ["account", "billing", "greeting", "shipping"]
    config = BertConfig.from_pretrained(tiny_encoder, num_labels=4, id2label=dict(enumerate(labels)),
                                        label2id={name: i for i, name in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(folder / "model")
    AutoTokenizer.from_pretrained(tiny_encoder).save_pretrained(folder / "model")
    store.update_run(db, run_id, status="completed", run_dir=str(folder))

    path = tmp_path / "distill.json"
    path.write_text(json.dumps({"kind": "distill", "teacher": f"run:{run_id}", "data": str(intents_file),
                                "student_layers": 1, "epochs": None, "max_length": None, "device": "cpu"}))
    assert main(["plan", str(path), "--json"]) == 0


def test_the_plan_of_a_distillation_says_what_the_student_takes(tmp_path, tunewright_home, tiny_encoder, intents_file, capsys):
    test_a_distillation_whose_teacher_is_a_finished_run_is_planned(tmp_path, tunewright_home, tiny_encoder, intents_file)
    shown = json.loads(capsys.readouterr().out)
    decided = {d["setting"]: d["value"] for d in shown["decisions"]}
    assert decided["max_length"] <= 32 and decided["epochs"] == 10.0  # 108 training rows: more passes
    assert shown["time"]["parts"]["teacher"] > 0 and shown["time"]["parts"]["training"] > 0
    assert "evaluation passes" in shown["time"]["detail"]

"""The bundled demo models really learn, on the CPU, in a few minutes: each demo exactly as a first-time user
runs it, on all its data. Ten minutes together on two cores, so they run in `bench/demos.sh`, which records
their figures in bench/demos.md, and not in every test run (TUNEWRIGHT_DEMOS=1 runs them here too)."""

from collections import Counter

import numpy as np
import pytest

from engine import store
from engine.data.classification import load_classification
from engine.data.splits import split_indices
from engine.demo import example
from engine.classifier_steps import classification_scores
from tests.engine.helpers import run_in_process

pytestmark = [pytest.mark.slow, pytest.mark.demo]


def test_minilm_learns_hotel_intents_far_beyond_the_majority_baseline(demo_classifier):
    config = example("classify").to_dict()  # the demo exactly as a first-time user runs it
    home, run_id = demo_classifier
    db = store.open_db(store.database_path(home))
    run = store.get_run(db, run_id)

    # The baseline on the same held-out rows: every text gets the most common intent.
    data = load_classification(config["data"])
    strata = [labels[0] if labels else "" for labels in data.labels]
    train, held_out = split_indices(len(data.texts), config["eval_fraction"], config["seed"], strata=strata)
    majority = Counter(label for i in train for label in data.labels[i]).most_common(1)[0][0]
    column = data.label_names.index(majority)
    truth = np.zeros((len(held_out), len(data.label_names)), dtype=bool)
    for row, i in enumerate(held_out):
        truth[row, [data.label_names.index(label) for label in data.labels[i]]] = True
    always_majority = np.zeros_like(truth)
    always_majority[:, column] = True
    baseline = classification_scores(truth, always_majority, multi_label=True)["eval_f1"]

    print(f"micro-F1 {run['best_metric']:.3f} vs always-'{majority}' {baseline:.3f}")
    assert run["best_metric"] >= 2 * baseline and run["best_metric"] >= baseline + 0.25
    # Its F1 climbs to the end: the health monitor must not have called it a plateau or overfitting.
    said = {event["code"] for event in store.events(db, run_id)}
    assert not said & {"health.plateau", "health.overfitting"}, said


def test_smollm2_learns_who_it_is_from_identity_json(tunewright_home):
    from engine.inference import answer, ask, load_chat_model

    config = example("chat").to_dict()
    name, author = config["template_values"]["name"], config["template_values"]["author"]
    db = store.open_db(store.database_path(tunewright_home))
    base, tokenizer, _ = load_chat_model(db, None, base=config["model"], home=tunewright_home)
    before = answer(base, tokenizer, "Who are you?", system_prompt=config["system_prompt"])
    assert name not in before and author not in before
    del base

    db, run_id = run_in_process(tunewright_home, config)
    assert store.get_run(db, run_id)["status"] == "completed", store.get_run(db, run_id)["error_detail"]
    after = ask(db, run_id, "Who are you?")
    print(f"before: {before!r}\nafter:  {after!r}")
    assert name in after and author in after

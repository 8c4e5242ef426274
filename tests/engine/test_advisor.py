"""The advisor: probes, the learning curve, what to label next, and the `advise` job end to end on a tiny
encoder."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from engine import store
from engine.advisor.curve import learning_curve, pooled_scatter, shifted, verdict
from engine.advisor.probes import Targets, cross_validate, f1, knn_predict, linear_predict, logme
from tests.engine.helpers import run_in_process


def _clusters(rows: int, informative: bool, seed: int = 0) -> tuple[np.ndarray, Targets]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, rows)
    centres = rng.normal(size=(3, 16)) * 3
    features = rng.normal(size=(rows, 16)) + (centres[labels] if informative else 0)
    return features, Targets(single=labels)


def test_probes_tell_features_that_separate_the_categories_from_noise():
    good, targets = _clusters(240, informative=True)
    noise, _ = _clusters(240, informative=False)
    on_good, on_noise = cross_validate(good, targets), cross_validate(noise, targets)
    assert on_good.score > 0.9 and on_noise.score < 0.5
    assert on_good.logme > on_noise.logme  # the second opinion agrees
    low, high = on_good.low_high
    assert low <= on_good.score <= high + 1e-9


def test_probes_handle_several_categories_per_text():
    features, single = _clusters(200, informative=True)
    hot = np.stack([single.single == 0, single.single != 2], axis=1).astype(np.float32)
    targets = Targets(multi=hot)
    predicted, votes = knn_predict(features[:150], targets.take(np.arange(150)), features[150:])
    assert predicted.shape == (50, 2) and votes.max() <= 1.0 + 1e-9
    assert f1(targets.take(np.arange(150, 200)), linear_predict(features[:150], targets.take(np.arange(150)), features[150:])[0]) > 0.9
    assert np.isfinite(logme(features, targets))


def test_the_curve_band_holds_the_score_reached_with_more_data_and_the_verdicts_read_it():
    sizes = [25, 50, 100, 200]
    rng = np.random.default_rng(0)
    truth = lambda n: 0.95 - 1.2 * n ** -0.5  # noqa: E731
    scores = [[truth(n) + rng.normal(0, 0.01) for _ in range(3)] for n in sizes]
    curve = learning_curve(sizes, scores)
    assert curve.target_size == 400 and curve.low <= truth(400) <= curve.high
    assert curve.low <= curve.expected <= curve.high and curve.verdict == "keep labelling"
    flat = learning_curve(sizes, [[0.9 + rng.normal(0, 0.002) for _ in range(3)] for _ in sizes])
    assert flat.verdict == "enough"
    low = learning_curve(sizes, [[0.4 + rng.normal(0, 0.002) for _ in range(3)] for _ in sizes])
    assert verdict(low) == "inconsistent labels"


def test_the_band_is_for_one_new_score_whose_scatter_is_pooled_over_the_two_largest_sizes():
    """Three scores that happen to agree at the largest size do not make the band as narrow as the curve's
    own: the scatter of single scores is pooled with the size before, each size about its own mean."""
    assert pooled_scatter([[0.5, 0.6, 0.7], [0.8, 0.8, 0.8]]) == pytest.approx((0.02 / 4) ** 0.5)
    assert pooled_scatter([[0.5]]) == 0.0
    sizes = [25, 50, 100, 200]
    truth = lambda n: 0.95 - 1.2 * n ** -0.5  # noqa: E731
    spread = [-0.02, 0.0, 0.02]
    agreeing = [[truth(n) + d for d in spread] for n in sizes[:-1]] + [[truth(200)] * 3]
    curve, smooth = learning_curve(sizes, agreeing), learning_curve(sizes, [[truth(n)] * 3 for n in sizes])
    assert curve.high - curve.low >= smooth.high - smooth.low + 2 * pooled_scatter(agreeing[-2:]) - 1e-9


def test_the_sentence_says_the_band_that_is_plotted_and_measured_moved_to_a_run_s_score():
    """"With twice as many examples, expect A-B": with no run, A-B is the curve's band at twice the examples
    (the one drawn, and the one whose coverage bench/advisor.md measures); after a run, the same band moved by
    as much as the run's score differs from the probe's, as wide."""
    sizes = [25, 50, 100, 200]
    rng = np.random.default_rng(0)
    curve = learning_curve(sizes, [[0.95 - 1.2 * n ** -0.5 + rng.normal(0, 0.01) for _ in range(3)] for n in sizes])
    assert shifted(curve, curve.now_score) == pytest.approx((curve.low, curve.high))
    assert shifted(curve, curve.now_score - 0.1) == pytest.approx((curve.low - 0.1, curve.high - 0.1))
    assert shifted(curve, 0.995)[1] == 1.0  # a score cannot pass 100%


def test_label_next_prefers_unsure_texts_and_no_two_alike():
    from engine.advisor.label_next import choose

    labelled, targets = _clusters(90, informative=True)
    rng = np.random.default_rng(1)
    between = (labelled[targets.single == 0].mean(0) + labelled[targets.single == 1].mean(0)) / 2
    # Ten copies of one text halfway between two categories, and twenty texts anywhere.
    pool = np.concatenate([np.repeat(between[None], 10, 0) + rng.normal(0, 0.01, (10, 16)), rng.normal(0, 3, (20, 16))])
    picked, _, unsure = choose(labelled, targets, pool, 5)
    assert sum(p < 10 for p in picked) == 1  # the unsure text once, not its copies
    assert unsure[picked].mean() > unsure.mean()


def test_the_advise_job_answers_all_three_questions(tmp_path, tunewright_home, tiny_encoder, intents_file):
    db, run_id = run_in_process(tunewright_home, {"kind": "advise", "question": "models", "data": str(intents_file),
                                                  "models": f"{tiny_encoder},demo:missing", "sample": 80})
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["progress"] == 1.0
    advice = next(a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] == "advice")
    (candidate,) = advice["candidates"]
    assert candidate["rank"] == 1 and 0 <= candidate["low"] <= candidate["score"] <= 1
    assert candidate["train_sentence"].startswith("About ") and advice["recommended"] == str(tiny_encoder)
    assert [s["ref"] for s in advice["skipped"]] == ["demo:missing"]
    codes = [e["code"] for e in store.events(db, run_id)]
    assert {"advice.started", "advice.model_scored", "advice.model_failed", "advice.recommended"} <= set(codes)

    db, run_id = run_in_process(tunewright_home, {"kind": "advise", "question": "more_data", "data": str(intents_file),
                                                  "model": str(tiny_encoder)})
    curve = next(a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] == "learning_curve")
    assert curve["sentence"].startswith("With twice as many examples (240), expect ")
    assert curve["expected_low"] <= curve["expected_high"] and len(curve["band_low"]) == len(curve["band_sizes"])

    unlabelled = tmp_path / "new.txt"
    unlabelled.write_text("\n".join([f"a question about my refund number {i}" for i in range(20)] + ["hello again", ""]))
    db, run_id = run_in_process(tunewright_home, {"kind": "advise", "question": "label_next", "data": str(intents_file),
                                                  "model": str(tiny_encoder), "unlabelled": str(unlabelled), "count": 5})
    listed = next(a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] == "label_next")
    with open(listed["csv"], encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5 and all(r["label"] == "" and r["why"] for r in rows)

    # Filled in and brought back: merged into a copy of the training data, which the doctor checks.
    rows[0]["label"], rows[1]["label"] = "billing", "nonsense-category"
    filled = tmp_path / "filled.csv"
    with filled.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from engine.advisor.merge import merge_and_check

    outcome = merge_and_check(db, tunewright_home, filled, intents_file, "text", "label", False)
    assert outcome["added"] == 2 and "report" in outcome
    merged = [json.loads(line) for line in open(outcome["merged"], encoding="utf-8")]
    assert len(merged) == 122 and merged[-1] == {"text": rows[1]["text"], "label": "nonsense-category"}
    findings = " ".join(f["message"] for f in outcome["report"]["findings"])
    assert "nonsense-category" in findings  # a category with one example: the doctor says so


def test_advise_settings_are_checked():
    from engine.config import ConfigError, from_dict

    with pytest.raises(ConfigError, match="not labelled yet"):
        from_dict({"kind": "advise", "question": "label_next", "data": "x.csv"})
    with pytest.raises(ConfigError, match="labelled examples, or a finished run"):
        from_dict({"kind": "advise", "question": "models"})

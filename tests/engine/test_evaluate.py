"""Evaluation: the small metrics against hand-computed values, and whole evaluations of tiny finished runs."""

from __future__ import annotations

import json

import pytest

from engine import store
from engine.recipes.evaluate import classification_report, exact_match, rouge_l, token_f1
from tests.engine.helpers import cli
from tests.engine.test_export import chat_run, classify_run, export_home  # noqa: F401 - shared tiny runs


def test_classification_report_matches_hand_computed_values():
    truth = [["a"], ["a"], ["b"], ["b"], ["c"], ["d"]]  # "d": a category the model was never taught
    predicted = [["a"], ["b"], ["b"], ["b"], ["a"], ["a"]]
    report = classification_report(truth, predicted, ["a", "b", "c"], multi_label=False)
    rows = {row["label"]: row for row in report["per_class"]}
    # a: 1 right, wrongly given to rows 4 and 5, missed once -> precision 1/3, recall 1/2, F1 0.4
    assert rows["a"]["precision"] == pytest.approx(1 / 3) and rows["a"]["recall"] == 0.5 and rows["a"]["f1"] == pytest.approx(0.4)
    # b: 2 right, once wrongly -> precision 2/3, recall 1, F1 0.8
    assert rows["b"]["precision"] == pytest.approx(2 / 3) and rows["b"]["recall"] == 1.0 and rows["b"]["f1"] == pytest.approx(0.8)
    assert rows["c"] == {"label": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["accuracy"] == pytest.approx(3 / 6)
    assert report["macro_f1"] == pytest.approx((0.4 + 0.8 + 0.0) / 3)
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0], [1, 0, 0]]  # last row: the unknown "d"


def test_multi_label_report_counts_a_text_right_only_when_all_its_categories_are():
    report = classification_report([["x", "y"], ["y"]], [["x"], ["y"]], ["x", "y"], multi_label=True)
    assert report["accuracy"] == 0.5 and report["confusion"] is None
    rows = {row["label"]: row for row in report["per_class"]}
    assert rows["y"]["recall"] == 0.5 and rows["y"]["precision"] == 1.0 and rows["x"]["f1"] == 1.0


def test_answer_metrics_match_hand_computed_values():
    assert exact_match("Paris.", "paris") == 1.0 and exact_match("Paris, France", "Paris") == 0.0
    # normalised: [cat, sat, on, mat] vs [cat, sat]: 2 shared words -> precision 1/2, recall 1 -> F1 2/3
    assert token_f1("The cat sat on the mat", "a cat sat") == pytest.approx(2 / 3)
    # longest common subsequence of [cat, sat, on, mat] and [mat, cat, sat] is "cat sat" -> P 2/4, R 2/3
    assert rouge_l("cat sat on mat", "mat cat sat") == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert token_f1("", "") == 1.0 and rouge_l("something", "") == 0.0


def test_evaluating_a_classifier_run_stores_its_scores_and_mistakes(export_home, classify_run, intents_file):
    db, run_id = classify_run
    result = cli("evaluate", str(run_id), "--data", str(intents_file), "--json", home=export_home)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results["rows"] == 120 and len(results["per_class"]) == 4
    assert sum(map(sum, results["confusion"])) == 120 and results["confusion"][-1] == [0, 0, 0, 0]
    assert results["wrong_count"] == round(120 * (1 - results["accuracy"]))
    for wrong in results["wrong"]:
        assert wrong["expected"] != wrong["predicted"] and 0.75 <= sum(wrong["probabilities"].values()) <= 1.0001  # the top 3 of 4
    evaluation = store.get_run(db, results["evaluation_run"])
    assert evaluation["status"] == "completed" and evaluation["parent_id"] == run_id and evaluation["kind"] == "evaluate"
    assert store.latest_metrics(db, results["evaluation_run"])["eval_accuracy"] == pytest.approx(results["accuracy"])

    from engine.export import export  # the model card of a later export quotes this evaluation

    verdict = export(db, run_id, "adapter", home=export_home, to=export_home / "with-evaluation")
    card = (export_home / "with-evaluation" / "README.md").read_text()
    assert verdict["passed"] and f"- On intents.jsonl: accuracy {results['accuracy']:.1%}" in card


def test_evaluating_a_chat_run_puts_answers_next_to_the_base_models(export_home, chat_run):
    from engine.config import EvaluateConfig
    from engine.recipes.evaluate import evaluate_in_process
    from tests.conftest import DEMO_DATA

    db, run_id = chat_run
    config = EvaluateConfig(model=str(run_id), data=str(DEMO_DATA / "identity.json"), max_examples=3, side_by_side=2, max_new_tokens=8)
    results = evaluate_in_process(db, config, home=export_home)
    assert "error" not in results, results
    assert results["rows"] == 3 and results["metrics"]["eval_perplexity"] == pytest.approx(2.718281828 ** results["metrics"]["eval_loss"])
    assert "Tuney" in results["answers"][0]["reference"]  # the run's placeholder values were filled in
    assert ["base_answer" in row for row in results["answers"]] == [True, True, False]
    for row in results["answers"]:
        assert row["token_f1"] == pytest.approx(token_f1(row["answer"], row["reference"]))
    assert set(results["metrics"]) <= set(store.latest_metrics(db, results["evaluation_run"]))

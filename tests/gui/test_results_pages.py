"""The Results page (a classifier's heat map and per-category table, starting an evaluation and showing it),
the blind review (verdicts stored, win rate shown, the order kept on reopening) and Compare (curves overlaid,
settings diff, the best picked), clicked through on sample data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from engine import store
from gui.app import save_screenshot
from gui.pages.compare import ComparePage
from gui.pages.results import ResultsPage
from gui.sample import SAMPLE_CONFUSION, SAMPLE_LABELS, add_sample_evaluations
from gui.state.results import review_order, wilson_interval
from gui.state.runs import RunsModel


@pytest.fixture
def evaluated(sample_client):
    sample_client.sample_ids |= add_sample_evaluations(sample_client)
    return sample_client


def open_page(cls, client, qtbot):
    runs = RunsModel(client)
    runs.refresh()
    page = cls(client, runs)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page, runs


def test_results_page_draws_the_confusion_matrix_as_a_heat_map_with_the_per_category_table(evaluated, qtbot, tmp_path):
    page, _ = open_page(ResultsPage, evaluated, qtbot)
    assert page.run_box.currentData() == evaluated.sample_ids["tickets"]  # opens on the run with results
    heat = page.heat_map
    assert heat is not None and heat.isVisible()
    assert [heat.horizontalHeaderItem(c).text() for c in range(heat.columnCount())] == SAMPLE_LABELS
    assert heat.rowCount() == len(SAMPLE_LABELS)  # no row for unknown categories: the sample has none
    assert [[int(heat.item(r, c).text()) for c in range(5)] for r in range(5)] == SAMPLE_CONFUSION[:5]
    # The right answers (the diagonal) are darker than any mistake in their row.
    for r in range(5):
        diagonal = heat.cell_colour(r, r).lightness()
        assert all(diagonal < heat.cell_colour(r, c).lightness() for c in range(5) if c != r)
    rows = [[page.per_class.item(r, c).text() for c in range(5)] for r in range(page.per_class.rowCount())]
    assert [row[0] for row in rows] == SAMPLE_LABELS
    # billing: 46 right of 52 true billing texts, 46 of the 54 texts sorted as billing.
    assert rows[0] == ["billing", f"{46 / 54:.1%}", f"{46 / 52:.1%}", f"{2 * 46 / (54 + 52):.1%}", "52"]
    assert save_screenshot(page, tmp_path / "results.png")


def test_evaluate_on_other_data_starts_an_evaluation_and_shows_its_result_once_written(home, client, qtbot, job_db, monkeypatch, tmp_path):
    from engine import jobs
    from gui.sample import add_run

    run_id = add_run(client.db, home, "Tickets", kind="classify")
    store.update_run(client.db, run_id, status="completed")
    page, runs = open_page(ResultsPage, client, qtbot)
    assert page.offer_button.isVisible()  # no evaluation yet: one is offered
    monkeypatch.setattr(jobs, "start_next", lambda db, home: None)  # no engine process in this test
    data = tmp_path / "held_out.csv"
    data.write_text("text,label\nhi,greeting\n")
    page.choose_file = lambda: str(data)
    page.other_button.click()
    child = next(r for r in store.list_runs(client.db) if r["kind"] == "evaluate")
    assert child["config"]["model"] == str(run_id) and child["config"]["data"] == str(data) and child["status"] == "queued"
    assert "Evaluating on held_out.csv" in page.message.text() and page.heat_map is None

    # The job writes its results as evaluate.py does; the page shows them on its next refresh.
    result = {"task": "classify", "headline": "", "metrics": {"eval_accuracy": 0.5, "eval_macro_f1": 0.5}, "rows": 2,
              "accuracy": 0.5, "macro_f1": 0.5, "labels": ["greeting", "bye"], "confusion": [[1, 1], [0, 0], [0, 0]],
              "per_class": [{"label": "greeting", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
                            {"label": "bye", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}],
              "wrong": [{"text": "hello", "expected": ["greeting"], "predicted": ["bye"], "probabilities": {"bye": 0.6, "greeting": 0.4}}],
              "wrong_count": 1, "data": str(data)}
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(result))
    store.add_artifact(job_db, child["id"], "evaluation", path, task="classify")
    store.update_run(job_db, child["id"], status="completed", progress=1.0)
    runs.refresh()
    assert page.heat_map is not None and page.heat_map.item(0, 1).text() == "1" and page.message.isHidden()
    assert page.per_class.item(0, 0).text() == "greeting"


def test_blind_review_stores_each_verdict_shows_the_win_rate_and_continues_where_it_stopped(evaluated, qtbot):
    evaluation_id = evaluated.sample_ids["chat_evaluation"]
    page, runs = open_page(ResultsPage, evaluated, qtbot)
    page.show_run(next(r["id"] for r in runs.runs if r["name"] == "Support answers, LoRA"))
    review = page.review
    assert review is not None
    assert review.position == 3  # the sample has three verdicts: it opens at the fourth pair
    assert review.order == review_order(evaluation_id, 8)  # the same seeded order every time
    assert {side for _, side in review.order} == {"A", "B"}  # the tuned answer is not always on one side

    artifact = store.artifacts(evaluated.db, evaluation_id)[0]
    answers = json.loads(Path(artifact["path"]).read_text(encoding="utf-8"))["answers"]
    # Always pick the tuned model's answer, wherever it is shown (its text tells it apart here).
    while (pair := review.current_pair()) is not None:
        index, tuned_side = pair
        assert review.answer_views[tuned_side].toPlainText() == answers[index]["answer"]
        review.buttons[tuned_side].click()
    verdicts = store.reviews(evaluated.db, evaluation_id)
    assert len(verdicts) == 8 and sum(v["verdict"] == "tie" for v in verdicts) == 1
    assert all(v["verdict"] in (v["tuned_side"], "tie") for v in verdicts)
    low, high = wilson_interval(7.5, 8)
    assert review.score.text().startswith(f"The tuned model wins {7.5 / 8:.0%} of 8 comparisons (95% range {low:.0%} to {high:.0%}")
    assert "better than the starting model" in review.score.text()  # the whole range is above one half
    stored = store.latest_metrics(evaluated.db, evaluation_id)
    assert stored["review_win_rate"] == pytest.approx(7.5 / 8) and stored["review_win_low"] == pytest.approx(low)

    again, _ = open_page(ResultsPage, evaluated, qtbot)  # reopened: every pair judged, nothing asked again
    again.show_run(page.run_box.currentData())
    assert again.review.counter.text() == "All 8 pairs judged" and not again.review.buttons["A"].isEnabled()


def test_wilson_interval_matches_the_published_values():
    # Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662; 0 of 10 -> 0 to 0.2775.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)


def test_the_review_order_is_the_same_on_every_opening_and_differs_between_evaluations():
    first = review_order(7, 20)
    assert first == review_order(7, 20) and sorted(i for i, _ in first) == list(range(20))
    assert first != review_order(8, 20)
    assert 5 <= sum(side == "A" for _, side in first) <= 15  # both sides used, not a fixed pattern


def test_compare_overlays_the_curves_shows_the_settings_that_differ_and_picks_the_best(evaluated, qtbot, tmp_path):
    ids = evaluated.sample_ids
    page, _ = open_page(ComparePage, evaluated, qtbot)
    page.set_chosen([ids["tickets"], ids["tickets_full"]])
    assert sorted(page.chosen_ids()) == sorted([ids["tickets"], ids["tickets_full"]])
    loss, task = page.charts["loss"], page.charts["task"]
    drawn = [len(curve.series) for curve in loss.curves]
    assert len(drawn) == 4 and all(drawn)  # training and evaluation loss of each run, on one chart
    assert [len(curve.series) for curve in task.curves] == [10, 10] and task.title.text() == "F1"
    columns = [page.diff_table.horizontalHeaderItem(c).text() for c in range(2, page.diff_table.columnCount())]
    lora = columns.index(f"run {ids['tickets']}")  # the list's order (newest first) sets the columns'
    diff = {row[0]: (row[2:][lora], row[2:][1 - lora]) for row in page.diff_rows()}
    assert diff == {"method": ("lora", "full"), "learning rate": ("automatic", "3e-05"), "batch size": ("16", "32")}
    assert page.diff_table.item(0, 1).text().startswith("How to train")  # the setting's own help, in words

    page.best_button.click()
    assert page.best_id == ids["tickets"]
    assert page.verdict.text().startswith("Ticket routing, LoRA is the best: it reached the highest F1")
    best_row = next(r for r in range(page.metric_table.rowCount()) if f"run {ids['tickets']})" in page.metric_table.item(r, 0).text())
    assert page.metric_table.item(best_row, 0).font().bold()
    assert save_screenshot(page, tmp_path / "compare.png")

    page.kind_box.setCurrentIndex(1)  # chat runs: a different kind, compared among themselves
    assert all(evaluated.get_run(i)["kind"] == "chat" for i in page.chosen_ids()) and len(page.chosen_ids()) == 2
    table = page.metric_table
    summaries = [table.item(r, table.columnCount() - 1).text() for r in range(table.rowCount())]
    assert table.horizontalHeaderItem(table.columnCount() - 1).text() == "held-out evaluation"
    assert "not evaluated" in summaries and any("blind review: wins 83% (31%–98%) of 3" in s for s in summaries)


def test_a_distilled_student_is_set_beside_its_teacher_and_offered_for_export_and_the_playground(evaluated, qtbot, tmp_path):
    """A distillation run's model is a model like any other: Results, Export and the Playground list it, and
    its answers stand beside its teacher's (not a starting model's) in the table and the blind review."""
    from engine.config import from_dict
    from gui.pages.export import ExportPage, formats_for
    from gui.pages.playground import playable_runs
    from gui.sample import _sample_evaluation

    db = evaluated.db
    config = from_dict({"kind": "distill", "teacher": "demo:smollm2", "task": "chat", "data": "/home/ada/chats.jsonl", "student_layers": 15})
    run_id = store.create_run(db, kind="distill", config=config.to_dict(), name="Half-size assistant", status="completed")
    answers = [{"prompt": f"Question {i}?", "reference": f"Answer {i}.", "answer": f"Student says {i}.",
                "teacher_answer": f"Teacher says {i}.", "exact_match": 0.0} for i in range(4)]
    _sample_evaluation(evaluated, run_id, {
        "headline": "perplexity 4.1 on 4 conversations", "rows": 4, "answers": answers, "task": "chat",
        "metrics": {"eval_loss": 1.4, "eval_perplexity": 4.1, "eval_exact_match": 0.0, "eval_token_f1": 0.5, "eval_rouge_l": 0.4},
        "title": "Half-size assistant", "data": "/home/ada/held_out.jsonl",
    })

    page, runs = open_page(ResultsPage, evaluated, qtbot)
    page.show_run(run_id)
    side_by_side = page.tabs.widget(0)
    headers = [side_by_side.horizontalHeaderItem(c).text() for c in range(4)]
    assert headers == ["Prompt", "Right answer", "Student", "Teacher"]
    assert side_by_side.item(0, 3).text() == "Teacher says 0."
    review = page.review
    assert len(review.order) == 4
    assert any("one from the student, one from the teacher" in text.text() for text in review.findChildren(QLabel))
    while (pair := review.current_pair()) is not None:  # the student's answer wins every time
        review.buttons[pair[1]].click()
    assert review.score.text().startswith("The student wins 100% of 4 comparisons")
    assert review.score.text().endswith("than the teacher so far.")
    page.tabs.setCurrentIndex(1)
    save_screenshot(page, tmp_path / "results-distilled.png")

    assert run_id in [r["id"] for r in playable_runs(runs.runs)]
    # Its comparison run (the same size, without the teacher) stays in its report, Runs and Compare.
    plain = store.create_run(db, kind="distill", config=config.to_dict() | {"alpha": 0.0}, name="Half-size, plain",
                             status="completed", parent_id=run_id)
    runs.refresh()
    assert plain not in [r["id"] for r in playable_runs(runs.runs)]
    assert formats_for(store.get_run(db, run_id)) == ["merged", "gguf-f16", "gguf-q8_0"]
    export = ExportPage(evaluated, runs)  # lists the finished runs as it opens
    qtbot.addWidget(export)
    assert run_id in [export.run_box.itemData(i) for i in range(export.run_box.count())]

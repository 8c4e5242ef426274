"""The advisor's views, drawn from answers in the database (no engine process behind them): the Model
step's ranking, the learning curve, and the "label next" list with its import through the doctor."""

from __future__ import annotations

import csv
import json

from engine import store
from gui.engine_client import EngineClient
from gui.state.advisor import Question, curve_points, earlier_answer, ranking

MODELS = {
    "question": "models", "rows": 200, "data_rows": 200, "multi_label": True, "metric": "micro-F1", "skipped": [],
    "recommended": "demo:minilm", "reason": "its features already sort your examples best.",
    "candidates": [
        {"ref": "demo:minilm", "name": "all-MiniLM-L6-v2", "parameters": 22_700_000, "knn": 0.55, "linear": 0.59,
         "low": 0.47, "high": 0.66, "logme": 0.78, "probe_seconds": 20.0, "train_seconds": 540.0,
         "train_sentence": "About 9 minutes of training on this computer's processor, checks and start-up included.",
         "memory_sentence": "Trains on the processor: memory is not the limit.", "fits": None, "rank": 1, "logme_rank": 1,
         "reason": "Recommended: its features already sort your examples best.", "score": 0.59},
        {"ref": "/m/untrained", "name": "untrained", "parameters": 22_700_000, "knn": 0.2, "linear": 0.25, "low": 0.2,
         "high": 0.3, "logme": 0.1, "probe_seconds": 20.0, "train_seconds": 540.0, "train_sentence": "About 9 minutes",
         "memory_sentence": "", "fits": None, "rank": 2, "logme_rank": 2, "reason": "34 points below all-MiniLM-L6-v2 before training.",
         "score": 0.25},
    ],
}
CURVE = {
    "question": "more_data", "sizes": [10, 20, 40, 80, 150], "scores": [[0.3, 0.32], [0.4, 0.41], [0.5, 0.52], [0.58, 0.6], [0.64, 0.66]],
    "fit": {"floor": 0.0, "scale": 1.3, "exponent": 0.3}, "now_size": 150, "now_score": 0.65, "target_size": 300,
    "expected": 0.71, "low": 0.68, "high": 0.74, "band_sizes": [10, 100, 300], "band_low": [0.28, 0.58, 0.68],
    "band_high": [0.33, 0.62, 0.74], "fitted": [0.3, 0.6, 0.71], "verdict": "keep labelling", "model": "all-MiniLM-L6-v2",
    "data_rows": 200, "scale": 200 / 150, "now": 0.56, "expected_low": 0.59, "expected_high": 0.65, "run_score": 0.56,
    "sentence": "With twice as many examples (400), expect 59%-65% (now 56%).",
    "verdict_sentence": "Keep labelling: more examples should still raise the score.", "metric": "micro-F1",
}


def _answered(client: EngineClient, kind: str, question: str, answer: dict, about: int = 0) -> int:
    run_id = store.create_run(client.db, kind="advise", config={"kind": "advise", "question": question, "run_id": about})
    store.update_run(client.db, run_id, status="completed", progress=1.0)
    store.add_artifact(client.db, run_id, kind, client.home / f"{question}.json", **answer)
    return run_id


def test_the_model_step_ranking_shows_each_model_with_its_range_time_and_reason(home, qtbot):
    from gui.widgets.advisor import ModelRanking

    client = EngineClient(home, live_jobs=False)
    view = ModelRanking(Question(client, "models"))
    qtbot.addWidget(view)
    view.settings = {"data": "x.jsonl"}
    view.question.follow(_answered(client, "advice", "models", MODELS))
    assert view.table.rowCount() == 2 and view.table.item(0, 1).text() == "all-MiniLM-L6-v2  ★"
    assert view.table.item(0, 2).text() == "47-66%" and view.table.item(0, 5).text() == "9 minutes on the processor"
    assert view.table.item(1, 6).text().startswith("34 points below")
    chosen = []
    view.use_model.connect(chosen.append)
    view.use_button.click()
    assert chosen == ["demo:minilm"] and [r.recommended for r in ranking(MODELS)] == [True, False]


def test_a_running_question_shows_its_progress_and_last_sentence(home, qtbot):
    from gui.widgets.advisor import ModelRanking

    client = EngineClient(home, live_jobs=False)
    view = ModelRanking(Question(client, "models"))
    qtbot.addWidget(view)
    view.show()
    run_id = store.create_run(client.db, kind="advise", config={"kind": "advise", "question": "models"})
    store.update_run(client.db, run_id, status="running", progress=0.4)
    store.add_event(client.db, run_id, "advice.reading", model="all-MiniLM-L6-v2", rows=200)
    view.question.follow(run_id)
    assert view.progress.isVisible() and view.progress.value() == 40
    assert view.said.text() == "all-MiniLM-L6-v2 is reading 200 examples."


def test_the_learning_curve_plots_points_fit_and_band_with_the_sentence(home, qtbot):
    from gui.widgets.advisor import LearningCurve

    client = EngineClient(home, live_jobs=False)
    view = LearningCurve(Question(client, "more_data"))
    qtbot.addWidget(view)
    view.settings = {"run_id": 7}
    view.question.follow(_answered(client, "learning_curve", "more_data", CURVE, about=7))
    assert view.sentence.text() == CURVE["sentence"] and view.verdict.text().startswith("Keep labelling")
    points = curve_points(CURVE)
    assert len(points.sizes) == 10 and points.target_size == 400  # on the whole file's scale
    assert len(view.plot.getPlotItem().listDataItems()) >= 3  # band edges, the fit, the points
    assert earlier_answer(client, 7, "more_data") is not None and earlier_answer(client, 8, "more_data") is None


def test_label_next_lists_the_texts_and_imports_the_filled_list_through_the_doctor(home, qtbot, tmp_path):
    from gui.widgets.advisor import LabelNext

    client = EngineClient(home, live_jobs=False)
    training = tmp_path / "train.jsonl"
    training.write_text("".join(json.dumps({"text": f"text {i} about {c}", "label": c}) + "\n"
                                for i in range(20) for c in ("billing", "shipping")))
    listed = tmp_path / "label_next.csv"
    with listed.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label", "model_guess", "why"])
        writer.writerow(["where is my parcel", "shipping", "billing", "The model hesitates between 'billing' (51%) and 'shipping' (49%)."])
        writer.writerow(["refund please", "", "billing", "The model hesitates."])
    answer = {"question": "label_next", "csv": str(listed), "pool": 50, "model": "all-MiniLM-L6-v2",
              "labels": ["billing", "shipping"], "multi_label": False, "data": str(training), "text_column": "text",
              "label_column": "label", "picks": [{"text": "where is my parcel", "uncertainty": 0.98, "guess": ["billing"],
                                                    "why": "The model hesitates between 'billing' (51%) and 'shipping' (49%)."}]}
    view = LabelNext(Question(client, "label_next"), client)
    qtbot.addWidget(view)
    view.question.follow(_answered(client, "label_next", "label_next", answer))
    assert view.table.rowCount() == 1 and view.table.item(0, 1).text() == "where is my parcel"
    assert view.count.value() == 1  # the box says how long the list shown is, not the default 50
    assert "label_next.csv" in view.summary.text() and view.import_button.isEnabled()
    outcome = view.import_filled(str(listed))
    assert outcome["added"] == 1 and "1 newly labelled examples added" in view.outcome.text()
    assert len(open(outcome["merged"]).read().splitlines()) == 41

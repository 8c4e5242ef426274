"""The advisor's screenshots (docs/screenshots/advisor-*.png) from real answers: `tunewright-engine advise`
asked its three questions on NLU++ hotel requests (400 labelled, 600 not yet), with the bundled MiniLM, its
3- and 1-layer cuts and an untrained MiniLM as the candidates (bench/advisor_bench.py makes them); then each
view drawn from its answer in the database, as the window draws it.

    QT_QPA_PLATFORM=offscreen python bench/advisor_screens.py WORK_FOLDER [--shots docs/screenshots]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from advisor_bench import candidates, datasets, engine  # noqa: E402 - the bench's own helpers


def ask(home: Path, *args: str) -> int:
    """One `advise` question, run to its end; the run's id."""
    done = engine("advise", *args, home=home)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-800:])
    return int(done.stdout.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--shots", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = args.out / "home"
    os.environ["TUNEWRIGHT_HOME"] = str(home)

    rows = [json.loads(line) for line in datasets(args.out)["nlupp-hotels"].read_text().splitlines()]
    labelled, unlabelled = args.out / "hotels-labelled.jsonl", args.out / "hotels-not-labelled.csv"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows[:400]))
    with unlabelled.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text"])
        writer.writerows([r["text"]] for r in rows[400:1000])
    models = candidates(args.out)
    asked = {
        "models": ask(home, "models", str(labelled), "--models", ",".join(models.values()), "--sample", "400"),
        "more_data": ask(home, "more-data", str(labelled), "--model", "demo:minilm"),
        "label_next": ask(home, "label-next", str(labelled), "--unlabelled", str(unlabelled), "--model", "demo:minilm",
                          "--count", "30"),
    }

    from PySide6.QtWidgets import QApplication

    from gui.app import save_screenshot
    from gui.engine_client import EngineClient
    from gui.state.advisor import Question
    from gui.theme import apply_theme
    from gui.widgets.advisor import LabelNext, LearningCurve, ModelRanking

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    client = EngineClient(home, live_jobs=False)
    views = {
        "models": (ModelRanking(Question(client, "models")), "advisor-model-ranking.png", (1150, 560)),
        "more_data": (LearningCurve(Question(client, "more_data")), "advisor-learning-curve.png", (1000, 560)),
        "label_next": (LabelNext(Question(client, "label_next"), client), "advisor-label-next.png", (1150, 620)),
    }
    for question, (view, name, size) in views.items():
        view.settings = {"data": str(labelled)}
        if question == "label_next":
            view.set_unlabelled(str(unlabelled))
        view.question.follow(asked[question])
        view.resize(*size)
        print(name, "written" if save_screenshot(view, args.shots / name) else "BLANK")


if __name__ == "__main__":
    main()

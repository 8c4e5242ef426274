"""The advisor's answers as the window shows them, knowing nothing of Qt: one `Question` per thing asked
(which model, would more data help, what to label next), started as an engine job and followed through the
database like every run; the rows, sentences and curve points the widgets draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import store
from engine.advisor.settings import AdviseConfig
from engine.protocol import FINISHED, Status
from gui.state.events import Callbacks

ANSWER_KINDS = {"models": "advice", "more_data": "learning_curve", "label_next": "label_next"}


class Question:
    """One question put to the engine. `changed` fires when its progress, last sentence or answer changes;
    `poll()` reads the run's row (the window calls it from a timer, tests call it directly)."""

    def __init__(self, client: Any, question: str) -> None:
        self.client, self.question = client, question
        self.changed = Callbacks()
        self.run_id: int | None = None
        self.status = ""
        self.progress = 0.0
        self.said = ""  # the latest sentence the job wrote
        self.answer: dict[str, Any] | None = None
        self.error = ""

    @property
    def busy(self) -> bool:
        return self.run_id is not None and self.answer is None and not self.error

    def ask(self, **settings: Any) -> int | None:
        """Start the job; returns its run id, or None with `error` set to the sentence that says why not."""
        self.answer, self.error, self.progress, self.said = None, "", 0.0, ""
        try:
            config = AdviseConfig(question=self.question, **settings)
            self.run_id = self.client.start(config)
        except Exception as problem:  # noqa: BLE001 - a setting or the database: a sentence on the page
            self.run_id, self.error = None, str(problem)
        self.changed.emit()
        return self.run_id

    def follow(self, run_id: int) -> None:
        """Show an answer asked for earlier (a finished or running advise run)."""
        self.run_id, self.answer, self.error = run_id, None, ""
        self.poll()

    def poll(self) -> None:
        if self.run_id is None or self.answer is not None:
            return
        run = self.client.get_run(self.run_id)
        events = store.events(self.client.db, self.run_id)
        before = (self.status, self.progress, self.said, self.error)
        self.status, self.progress = str(run["status"]), float(run["progress"] or 0.0)
        self.said = events[-1]["message"] if events else "Starting…"
        if run["status"] == Status.COMPLETED:
            found = [a["metadata"] for a in store.artifacts(self.client.db, self.run_id) if a["kind"] == ANSWER_KINDS[self.question]]
            self.answer = found[-1] if found else None
            self.progress = 1.0
            if self.answer is None:
                self.error = "The advisor finished without an answer."
        elif run["status"] in FINISHED | {Status.INTERRUPTED}:
            self.error = run["error"] or f"The advisor's job was {run['status']}."
        if (self.status, self.progress, self.said, self.error) != before or self.answer is not None:
            self.changed.emit()


# ---------------------------------------------------------------- which model


@dataclass
class RankedModel:
    rank: int
    ref: str
    name: str
    expected: str  # "62-71%"
    probes: str  # "kNN 60%, linear 66%"
    logme: str  # "2nd of 4"
    fine_tuning: str  # the planner's time
    memory: str
    reason: str
    recommended: bool
    score: float


def ranking(answer: dict[str, Any] | None) -> list[RankedModel]:
    if not answer:
        return []
    total = len(answer["candidates"])
    rows = []
    for c in answer["candidates"]:
        rows.append(RankedModel(
            rank=c["rank"], ref=c["ref"], name=c["name"], expected=f"{c['low'] * 100:.0f}-{c['high'] * 100:.0f}%",
            probes=f"kNN {c['knn']:.0%}, linear {c['linear']:.0%}", logme=f"{_ordinal(c['logme_rank'])} of {total}",
            fine_tuning=(c["train_sentence"] or "").removesuffix(", checks and start-up included.").removeprefix("About ")
            .replace(" of training on this computer's processor", " on the processor").replace(" of training on ", " on "),
            memory=c["memory_sentence"], reason=c["reason"], recommended=c["ref"] == answer["recommended"], score=c["score"],
        ))
    return rows


def ranking_summary(answer: dict[str, Any] | None) -> str:
    if not answer:
        return ""
    metric = answer.get("metric", "F1")
    return (f"Each model read {answer['rows']} of your examples without learning anything; a simple classifier on what it "
            f"made of them scored the {metric} shown (the range is over four held-out parts). A model that starts better "
            f"usually ends better; how much fine-tuning adds depends on how long it trains.")


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


# ---------------------------------------------------------------- would more data help


@dataclass
class CurvePoints:
    """What the learning-curve plot draws: measured points, the fit and its band, where the data is now."""

    sizes: list[float] = field(default_factory=list)  # measured, one per score
    scores: list[float] = field(default_factory=list)
    line_sizes: list[float] = field(default_factory=list)
    fitted: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    now_size: float = 0.0
    target_size: float = 0.0
    sentence: str = ""
    verdict: str = ""


def curve_points(answer: dict[str, Any] | None) -> CurvePoints:
    """Sizes on the scale of the whole training file (the probes trained on part of it); scores in percent."""
    if not answer:
        return CurvePoints()
    scale = float(answer.get("scale") or 1.0)
    sizes, scores = [], []
    for n, row in zip(answer["sizes"], answer["scores"]):
        sizes += [n * scale] * len(row)
        scores += [s * 100 for s in row]
    return CurvePoints(
        sizes=sizes, scores=scores, line_sizes=[n * scale for n in answer["band_sizes"]],
        fitted=[s * 100 for s in answer["fitted"]], low=[s * 100 for s in answer["band_low"]],
        high=[s * 100 for s in answer["band_high"]], now_size=answer["now_size"] * scale,
        target_size=answer["target_size"] * scale, sentence=answer["sentence"], verdict=answer["verdict_sentence"],
    )


# ---------------------------------------------------------------- what to label next


def picks_table(answer: dict[str, Any] | None, limit: int = 200) -> list[list[str]]:
    if not answer:
        return []
    return [[str(i), p["text"], "; ".join(p["guess"]) or "(none)", p["why"]] for i, p in enumerate(answer["picks"][:limit], start=1)]


def label_next_summary(answer: dict[str, Any] | None) -> str:
    if not answer:
        return ""
    return (f"{len(answer['picks'])} of {answer['pool']} texts, the ones {answer['model']} is least sure of and least like what "
            f"is labelled already, are in {Path(answer['csv']).name}. Fill in its 'label' column (several categories: "
            f"separate them with ';'), then import it back.")


def import_labelled(client: Any, answer: dict[str, Any], filled: str | Path) -> dict[str, Any]:
    """The filled-in CSV merged into a copy of the training data, checked by the data doctor (torch-free)."""
    from engine.advisor.merge import merge_and_check

    return merge_and_check(client.db, client.home, filled, answer["data"], answer["text_column"], answer["label_column"],
                           bool(answer["multi_label"]))


def _advised_tasks() -> frozenset[str]:
    from engine.tasks import LABELS, TASKS

    return frozenset(name for name, task in TASKS.items() if task.view == LABELS)


#: The tasks the advisor answers for, from the table of tasks: those that sort texts into categories (LABELS).
#: Picture sorters (PICTURES) are not among them: its learning curve and "label next" read texts.
ADVISED_TASKS = _advised_tasks()


def data_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The advisor's settings for the data a wizard or run has chosen: the file and its columns."""
    return {key: values[key] for key in ("data", "text_column", "label_column") if values.get(key)}


def earlier_answer(client: Any, run_id: int, question: str) -> int | None:
    """The newest advise run that asked `question` about run `run_id` and did not fail (to show it again)."""
    for run in client.list_runs():  # newest first
        config = run.get("config") or {}
        if (run["kind"] == "advise" and config.get("run_id") == run_id and config.get("question") == question
                and run["status"] not in ("failed", "cancelled", "interrupted")):
            return run["id"]
    return None

"""What the Results, blind review and Compare pages show, read from the database and knowing nothing of Qt.

Evaluations are runs of kind "evaluate" (engine/recipes/evaluate.py): their `config.model` names the run
they scored, and their `evaluation` artifact is the evaluation.json the pages draw. Blind-review verdicts
are rows of the `reviews` table; the win rate computed from them is written back as metric rows of the
evaluation run, so it is stored with the run and other pages can quote it.
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import store
from engine.config import config_types, help_for
from engine.protocol import Status, metric_words, model_task
from engine.tasks import LABELS, PICTURES, TASKS, task_of_run


# ---------------------------------------------------------------- evaluations


def evaluations_of(db, run_id: int) -> list[dict[str, Any]]:
    """The evaluation runs of a run, newest first, each with `result` (evaluation.json, once written)."""
    rows = db.execute(
        """SELECT id FROM runs WHERE kind = 'evaluate'
           AND (parent_id = ? OR json_extract(config, '$.model') = ?) ORDER BY id DESC""",
        [run_id, str(run_id)],
    ).fetchall()
    return [evaluation(db, row[0]) for row in rows]


def evaluation(db, evaluation_id: int) -> dict[str, Any]:
    """An evaluation run's row with `result`: its evaluation.json, or None while it runs (or if it failed)."""
    run = store.get_run(db, evaluation_id)
    run["result"] = None
    for artifact in store.artifacts(db, evaluation_id):
        if artifact["kind"] == "evaluation":
            try:
                path = Path(artifact["path"])
                run["result"] = _read_result(str(path), path.stat().st_mtime_ns)
            except (OSError, ValueError):
                run["error"] = run["error"] or f"The results file {artifact['path']} could not be read."
    return run


@functools.lru_cache(maxsize=16)
def _read_result(path: str, modified: int) -> dict[str, Any]:
    """evaluation.json, read once per version: the pages look again every time the database changes."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def finished_models(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished runs with a model to evaluate, try or export: fine-tuned and distilled. A distillation's
    comparison run (the student trained without the teacher) is left to its report, Runs and Compare, so that
    it is never the model these pages pick first."""
    return [
        run for run in runs
        if model_task(run) and run["status"] == Status.COMPLETED
        and not (run["kind"] == "distill" and run["parent_id"] is not None)
    ]


def weak_reason(db, run: dict[str, Any]) -> str:
    """Why a finished run's model is not to be picked as the best, as the end of a sentence ("" when nothing
    is known against it): a classifier that knows one category, or that does no better on its held-back
    examples than always answering the most common category."""
    if getattr(task_of_run(run), "view", None) not in (LABELS, PICTURES):  # only a model that answers with categories
        return ""
    for artifact in store.artifacts(db, run["id"]):
        labels = artifact["metadata"].get("labels") if artifact["kind"] in ("model", "adapter") else None
        if labels is not None and len(labels) < 2:
            return f"it knows only one category ('{labels[0] if labels else 'none'}'), so it cannot tell any apart"
    held = [e for e in evaluations_of(db, run["id"]) if e["result"] is not None and is_held_out(e)]
    if held and not beats_baseline(held[0]["result"]):
        baseline = held[0]["result"]["baseline"]
        return (f"on its held-back examples it does no better than always answering '{baseline['label']}' "
                f"({baseline['accuracy']:.0%})")
    return ""


def recommended_first(db, runs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """The runs, each with its `weak_reason`, those without one first (otherwise in the order given): the
    first is the one a page picks by itself."""
    marked = [(run, weak_reason(db, run)) for run in runs]
    return sorted(marked, key=lambda pair: bool(pair[1]))


def results_choices(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the Results page offers: finished models, and evaluations of models that are not runs."""
    models = {run["id"] for run in finished_models(runs)}
    return [
        run for run in runs
        if run["id"] in models or (run["kind"] == "evaluate" and not str(run["config"].get("model", "")).isdigit())
    ]


def held_out_file(run: dict[str, Any], db=None) -> str:
    """The examples the run held back from training: kept in its folder (with ``db``), else its own file of
    held-out examples, if it had one ("" when neither is known)."""
    if db is not None:
        for artifact in store.artifacts(db, run["id"]):
            if artifact["kind"] == "held_out" and Path(artifact["path"]).exists():
                return str(artifact["path"])
    return str(run["config"].get("eval_data") or "")


def is_held_out(evaluation_run: dict[str, Any]) -> bool:
    """Whether an evaluation scored the examples its run held back (kept in the run's folder)."""
    return bool(evaluation_run["config"].get("held_out")) or Path(str(evaluation_run["config"].get("data", ""))).name == "held_out.jsonl"


def examples_words(result: dict[str, Any]) -> str:
    """How many examples were scored: "477", or "200 of 477" when a sample was."""
    rows, total = result["rows"], result.get("file_rows") or result["rows"]
    return f"{rows:,}" if rows == total else f"{rows:,} of {total:,}"


def score_warnings(result: dict[str, Any]) -> list[str]:
    """What makes the scores say less than they seem to, in sentences: examples the model learned from, and a
    model that does no better than always giving the most common category."""
    warnings = []
    overlap = result.get("overlap") or {}
    if overlap.get("count"):
        warnings.append(
            f"{overlap['count']:,} of these {overlap['rows']:,} examples ({overlap['share']:.0%}) are also in the "
            "training data: on those the model is remembering, not judging, so these scores overstate how well it "
            "does on new text. Evaluate on examples it has not seen for an honest score.")
    baseline = result.get("baseline")
    if baseline and not beats_baseline(result):
        warnings.append(
            f"This model does no better than always answering '{baseline['label']}' ({baseline['accuracy']:.1%}): "
            "it has not learned to tell the categories apart. It is not offered as the best model.")
    return warnings


def beats_baseline(result: dict[str, Any]) -> bool:
    """Whether a classifier's accuracy is above always answering the most common category (and it knows more
    than one category)."""
    baseline = result.get("baseline")
    if len(result.get("labels") or []) < 2:
        return False
    return baseline is None or result["accuracy"] > baseline["accuracy"] + 1e-9


def confusion_shares(matrix: list[list[int]]) -> list[list[float]]:
    """Each cell as a share of its row (the true category): the colour of the heat map, so a rare
    category's mistakes show as strongly as a common one's."""
    return [[count / total if (total := sum(row)) else 0.0 for count in row] for row in matrix]


# ---------------------------------------------------------------- blind review


def review_order(evaluation_id: int, count: int) -> list[tuple[int, str]]:
    """The prompts of a blind review in the order shown, each with the side ("A" or "B") its tuned answer
    is on. Random, so the person cannot learn a pattern, but seeded by the evaluation run, so a review that is
    reopened shows the same order and sides and continues where it stopped."""
    rng = random.Random(f"tunewright-blind-review-{evaluation_id}")  # a str seed is stable across processes
    order = list(range(count))
    rng.shuffle(order)
    return [(index, rng.choice("AB")) for index in order]


@dataclass(frozen=True)
class Sides:
    """Whose answers a chat evaluation sets side by side: the run's against the model it started from, or a
    distilled student's against its teacher's."""

    ours: str  # "tuned model" or "student"
    theirs: str  # "starting model" or "teacher"
    key: str  # where each answer row keeps the other model's answer


STARTING_MODEL = Sides("tuned model", "starting model", "base_answer")
TEACHER = Sides("student", "teacher", "teacher_answer")


def sides(result: dict[str, Any] | None) -> Sides:
    rows = (result or {}).get("answers") or []
    return TEACHER if any(TEACHER.key in row for row in rows) else STARTING_MODEL


def reviewable(result: dict[str, Any] | None) -> list[int]:
    """The rows of an evaluation that have both the run's answer and the other model's to compare."""
    key = sides(result).key
    return [i for i, row in enumerate((result or {}).get("answers") or []) if row.get(key) is not None]


def wilson_interval(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% for z = 1.96).

    Chosen over the textbook p ± z·sqrt(p(1-p)/n) because a blind review has few verdicts: with 5 wins out
    of 5 that formula gives the impossible range 100%–100%, while Wilson's stays inside 0..1 and stays wide
    when n is small. Written out (a few lines) rather than adding scipy or statsmodels to the window.
    """
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class WinRate:
    wins: int
    losses: int
    ties: int
    sides: Sides = STARTING_MODEL

    @property
    def verdicts(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def score(self) -> float:
        """A tie counts half a win: it says the tuned model is as good as the other."""
        return self.wins + 0.5 * self.ties

    @property
    def rate(self) -> float:
        return self.score / self.verdicts if self.verdicts else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.score, self.verdicts)

    def sentence(self) -> str:
        if not self.verdicts:
            return "No verdicts yet."
        low, high = self.interval
        verdict = ("better than" if low > 0.5 else "worse than" if high < 0.5 else "not clearly different from")
        return (
            f"The {self.sides.ours} wins {self.rate:.0%} of {self.verdicts} comparisons (95% range {low:.0%} to "
            f"{high:.0%}; {self.wins} won, {self.losses} lost, {self.ties} tied, a tie counting half): "
            f"{verdict} the {self.sides.theirs} so far."
        )


def win_rate(rows: list[dict[str, Any]], sides: Sides = STARTING_MODEL) -> WinRate:
    """Count the verdicts from the run's side (a verdict names a side, which hid one model)."""
    wins = sum(row["verdict"] == row["tuned_side"] for row in rows)
    ties = sum(row["verdict"] == "tie" for row in rows)
    return WinRate(wins=wins, losses=len(rows) - wins - ties, ties=ties, sides=sides)


def record_verdict(client, evaluation_id: int, prompt_index: int, tuned_side: str, verdict: str) -> WinRate:
    """Store a verdict, and the win rate it leads to as metric rows of the evaluation run (step: verdicts),
    through the engine client."""
    earlier = [row for row in client.reviews(evaluation_id) if row["prompt_index"] != prompt_index]
    rate = win_rate([*earlier, {"prompt_index": prompt_index, "tuned_side": tuned_side, "verdict": verdict}])
    low, high = rate.interval
    client.record_review(evaluation_id, prompt_index, tuned_side=tuned_side, verdict=verdict, step=rate.verdicts, summary={
        "review_win_rate": rate.rate, "review_win_low": low, "review_win_high": high, "review_verdicts": rate.verdicts,
    })
    return rate


# ---------------------------------------------------------------- comparing runs


def comparable(runs: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    """Runs whose models do one task (fine-tuned or distilled) and have started training (a queued run has
    nothing to compare yet)."""
    return [run for run in runs if model_task(run) == task and (run["step"] or 0) > 0]


def config_diff(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The settings whose values differ between the runs: name, its meaning (the config's own help), values."""
    helps: dict[str, dict[str, Any]] = {}  # a distillation has settings a fine-tuning run lacks, and back
    for kind in dict.fromkeys(run["kind"] for run in runs):
        for name, spec in help_for(config_types()[kind]).items():  # type: ignore[arg-type]
            helps.setdefault(name, spec)
    names = [name for name in helps if name != "name"]
    rows = []
    for name in names:
        values = [run["config"].get(name, helps[name]["default"]) for run in runs]
        if any(json.dumps(v, sort_keys=True) != json.dumps(values[0], sort_keys=True) for v in values):
            rows.append({"name": name, "words": name.replace("_", " "), "help": helps[name]["help"], "values": values})
    return rows


def shown_value(value: Any) -> str:
    if value is None:
        return "automatic"
    if isinstance(value, dict):
        return json.dumps(value) if value else "none"
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value).name or value
    return str(value)


def final_and_best(db, run: dict[str, Any]) -> dict[str, float | None]:
    """The last training loss, the best evaluation loss, and the last and best of the task's curve (F1, or
    perplexity)."""
    task = task_of_run(run)
    task_curve = task.curves[0]
    series = {name: [v for _, v in store.metric_series(db, run["id"], name)] for name in ("train_loss", "eval_loss", task_curve)}
    best = max if task.higher_is_better else min  # loss-like: lower is better
    return {
        "final train_loss": series["train_loss"][-1] if series["train_loss"] else None,
        "best eval_loss": min(series["eval_loss"], default=None),
        f"final {task_curve}": series[task_curve][-1] if series[task_curve] else None,
        f"best {task_curve}": best(series[task_curve], default=None),
    }


def pick_best(db, runs: list[dict[str, Any]]) -> tuple[int | None, str]:
    """The run with the best value of its task's metric on the held-out examples, and why, in a sentence."""
    task = task_of_run(runs[0])
    metric, better = task.metric, "higher" if task.higher_is_better else "lower"
    weak = {run["id"]: reason for run, reason in recommended_first(db, runs) if reason}
    left_out = " ".join(f"{run['name']} is left out: {weak[run['id']]}." for run in runs if run["id"] in weak)
    scored = [(run, final_and_best(db, run)[f"best {metric}"]) for run in runs if run["id"] not in weak]
    scored = [(run, value) for run, value in scored if value is not None]
    if not scored:
        if weak:
            return None, f"None of these runs can be recommended. {left_out}"
        return None, "None of these runs has been evaluated yet, so there is nothing to pick from."
    best_id, sentence = _best_of(scored, metric, better)
    return best_id, f"{sentence} {left_out}".strip()


def _best_of(scored: list[tuple[dict[str, Any], float]], metric: str, better: str) -> tuple[int, str]:
    scored.sort(key=lambda pair: pair[1], reverse=better == "higher")
    (best, value), others = scored[0], scored[1:]
    words, shown = metric_words(metric, value)
    what = f"the {'highest' if better == 'higher' else 'lowest'} {words}"
    reason = "higher is better" if better == "higher" else "lower means its answers are closer to the examples'"
    if others:
        runner, runner_value = others[0]
        _, runner_shown = metric_words(metric, runner_value)
        return best["id"], (
            f"{best['name']} is the best: it reached {what} on the held-out examples ({shown}; {reason}), "
            f"ahead of {runner['name']} ({runner_shown})."
        )
    return best["id"], f"{best['name']} is the only one of these runs with an evaluation ({what}: {shown})."


def evaluation_summary(db, run_id: int) -> str:
    """The newest finished evaluation of a run in a few words (with the blind review's win rate, if any)."""
    done = [e for e in evaluations_of(db, run_id) if e["result"] is not None]
    if not done:
        return ""
    newest = done[0]
    metrics = newest["result"]["metrics"]
    words = TASKS[newest["result"]["task"]].eval_summary.format(**metrics)
    baseline = newest["result"].get("baseline")
    if baseline:  # the score a model that learned nothing would have, beside it
        words += f" (always '{baseline['label']}': {baseline['accuracy']:.1%})"
    if reviewable(newest["result"]):
        rate = win_rate(store.reviews(db, newest["id"]), sides(newest["result"]))
        if rate.verdicts:
            low, high = rate.interval
            against = " against the teacher" if rate.sides is TEACHER else ""
            words += f"; blind review: wins {rate.rate:.0%} ({low:.0%}–{high:.0%}) of {rate.verdicts}{against}"
    return words

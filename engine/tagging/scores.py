"""Entity-level scores, as seqeval and conlleval count them.

Strict: a predicted name counts only when its start, end and type are all right. Overlap (partial match):
a predicted name counts when it shares at least one character with a true name of the same type, the
looser figure that says whether the model finds the right places even when it misjudges the edges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from engine.data.spans.model import Span


def entity_scores(truth: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> dict:
    """Micro-averaged precision, recall and F1 over all names, strict and overlap, and each type's figures,
    strict and overlap, with its number of true names ("support") and of predicted ones. One list of spans per document, in the same order."""
    true_positive, false_positive, false_negative = Counter(), Counter(), Counter()
    found_partially, predicted_partially = Counter(), Counter()
    types: set[str] = set()
    for gold, guess in zip(truth, predicted, strict=True):
        gold_set = {(s.start, s.end, s.type) for s in gold}
        guess_set = {(s.start, s.end, s.type) for s in guess}
        for start, end, kind in guess_set:
            types.add(kind)
            if (start, end, kind) in gold_set:
                true_positive[kind] += 1
            else:
                false_positive[kind] += 1
            if any(g[2] == kind and g[0] < end and start < g[1] for g in gold_set):
                predicted_partially[kind] += 1
        for start, end, kind in gold_set:
            types.add(kind)
            if (start, end, kind) not in guess_set:
                false_negative[kind] += 1
            if any(p[2] == kind and p[0] < end and start < p[1] for p in guess_set):
                found_partially[kind] += 1
    tp, fp, fn = sum(true_positive.values()), sum(false_positive.values()), sum(false_negative.values())
    precision, recall, f1 = _prf(tp, tp + fp, tp + fn)
    partial = _prf_partial(sum(predicted_partially.values()), tp + fp, sum(found_partially.values()), tp + fn)
    per_type = {}
    for kind in sorted(types):
        guessed, actual = true_positive[kind] + false_positive[kind], true_positive[kind] + false_negative[kind]
        p, r, f = _prf(true_positive[kind], guessed, actual)
        pp, pr, pf = _prf_partial(predicted_partially[kind], guessed, found_partially[kind], actual)
        per_type[kind] = {"precision": p, "recall": r, "f1": f, "support": actual, "predicted": guessed,
                          "partial_precision": pp, "partial_recall": pr, "partial_f1": pf}
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "partial_precision": partial[0], "partial_recall": partial[1], "partial_f1": partial[2],
        "per_type": per_type,
    }


def _prf(correct: int, predicted: int, actual: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _prf_partial(predicted_hits: int, predicted: int, actual_hits: int, actual: int) -> tuple[float, float, float]:
    precision = predicted_hits / predicted if predicted else 0.0
    recall = actual_hits / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1

"""Entity scores equal seqeval's on the same tags, and the overlap scores count what they say."""

from __future__ import annotations

import random

import pytest

from engine.data.spans import Span
from engine.data.spans.conll import read_conll
from engine.tagging.scores import entity_scores

seqeval = pytest.importorskip("seqeval.metrics", reason="seqeval (the test extra) is not installed")


def _spans(words: list[str], tags: list[str]) -> list[Span]:
    text = "\n".join(f"{w}\t{t}" for w, t in zip(words, tags))
    return read_conll(text, "tags").documents[0].spans


@pytest.mark.parametrize("seed", range(20))
def test_strict_scores_equal_seqeval_on_random_tag_sequences(seed):
    rng = random.Random(seed)
    kinds = ["Disease", "Gene", "Drug"]
    tags = ["O"] * 6 + [f"{p}-{k}" for p in "BI" for k in kinds]  # I- without B- included, as real output has
    truth, guesses = [], []
    for _ in range(30):
        length = rng.randint(1, 25)
        truth.append([rng.choice(tags) for _ in range(length)])
        # predictions: mostly the truth, with some tags changed, as a half-trained model makes them
        guesses.append([t if rng.random() < 0.7 else rng.choice(tags) for t in truth[-1]])
    words = [[f"w{i}" for i in range(len(t))] for t in truth]
    ours = entity_scores([_spans(w, t) for w, t in zip(words, truth)], [_spans(w, g) for w, g in zip(words, guesses)])
    assert ours["f1"] == pytest.approx(seqeval.f1_score(truth, guesses))
    assert ours["precision"] == pytest.approx(seqeval.precision_score(truth, guesses))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(truth, guesses))
    report = seqeval.classification_report(truth, guesses, output_dict=True, zero_division=0)
    for kind, values in ours["per_type"].items():
        if kind in report:
            assert values["f1"] == pytest.approx(report[kind]["f1-score"])
            assert values["support"] == report[kind]["support"]


def test_overlap_scores_count_names_found_with_wrong_edges():
    truth = [[Span(0, 20, "Disease"), Span(30, 35, "Disease")]]
    predicted = [[Span(0, 12, "Disease"), Span(30, 35, "Gene"), Span(40, 44, "Disease")]]
    scores = entity_scores(truth, predicted)
    assert scores["f1"] == 0.0  # no name exactly right
    # "Disease" 0-12 overlaps a true disease; the Gene has the wrong type; 40-44 touches nothing
    assert scores["partial_precision"] == pytest.approx(1 / 3)
    assert scores["partial_recall"] == pytest.approx(1 / 2)


def test_nothing_predicted_scores_zero_not_an_error():
    scores = entity_scores([[Span(0, 4, "Drug")]], [[]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)

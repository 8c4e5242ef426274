"""The gallery of an image model's evaluation without a window: what each filter leaves, and what it says."""

from __future__ import annotations

import pytest

from gui.state.gallery import ALL, RIGHT, WRONG, GalleryState, caption


def entry(expected: str, predicted: str, name: str) -> dict:
    return {"file": f"/pictures/{name}.png", "picture": f"pictures/{name}.png", "heatmap": f"/maps/{name}.png",
            "expected": [expected], "predicted": [predicted], "confidence": 0.8, "probabilities": {predicted: 0.8}}


RESULT = {
    "wrong": [entry("brick", "grass", "w1"), entry("gravel", "grass", "w2"), entry("brick", "gravel", "w3")],
    "right": [entry("grass", "grass", "r1"), entry("brick", "brick", "r2")],
    "wrong_count": 40,
}


@pytest.mark.parametrize("which, expected, predicted, names", [
    (WRONG, ALL, ALL, ["w1", "w2", "w3"]),
    (RIGHT, ALL, ALL, ["r1", "r2"]),
    (ALL, ALL, ALL, ["w1", "w2", "w3", "r1", "r2"]),
    (WRONG, "brick", ALL, ["w1", "w3"]),
    (ALL, ALL, "grass", ["w1", "w2", "r1"]),
    (WRONG, "brick", "gravel", ["w3"]),
    (RIGHT, "gravel", ALL, []),
])
def test_the_filters_leave_the_pictures_they_name(which, expected, predicted, names):
    state = GalleryState(RESULT)
    told = []
    state.changed.connect(lambda: told.append(True))
    state.set_which(which)
    state.set_expected(expected)
    state.set_predicted(predicted)
    assert [e["file"].split("/")[-1][:-4] for e in state.shown()] == names
    assert len(told) == 3


def test_it_opens_on_the_mistakes_and_says_that_only_the_first_are_kept():
    state = GalleryState(RESULT)
    assert state.which == WRONG and state.categories() == ["brick", "grass", "gravel"]
    assert state.summary() == "3 pictures shown; the evaluation kept the first 3 of its 40 mistakes."
    assert caption(state.shown()[0]) == "Right: brick\nModel: grass (80%)"
    assert GalleryState({"wrong": [], "right": RESULT["right"], "wrong_count": 0}).which == ALL  # no mistakes: all

"""A text with marked names: the Qt-free state says what to show, the widget shows it."""

from __future__ import annotations

from gui.state.tagged_text import Mark, TaggedTextState, sample


def test_pieces_cover_the_text_in_order_and_the_threshold_hides_unsure_marks():
    state = TaggedTextState("Aspirin eases headache.", [Mark(0, 7, "Drug", 0.9), Mark(14, 22, "Symptom", 0.4)])
    assert "".join(p.text for p in state.pieces()) == state.text
    assert [(p.text, p.type) for p in state.pieces() if p.type] == [("Aspirin", "Drug"), ("headache", "Symptom")]
    seen = []
    state.changed.connect(lambda: seen.append(True))
    state.set_min_confidence(0.5)
    assert seen and [p.type for p in state.pieces() if p.type] == ["Drug"]
    assert state.hidden() == 1
    assert state.legend() == [("Drug", state.colour("Drug"), 1), ("Symptom", state.colour("Symptom"), 0)]
    assert state.colour("Drug") != state.colour("Symptom")


def test_overlapping_and_out_of_range_marks_never_break_the_text():
    state = TaggedTextState("abc def", [Mark(0, 7, "A"), Mark(4, 7, "B"), Mark(5, 99, "C")])
    assert "".join(p.text for p in state.pieces()) == "abc def"
    assert [p.type for p in state.pieces()] == ["A"]


def test_the_widget_shows_each_kind_with_its_count(qtbot):
    from gui.widgets.tagged_text import TaggedTextView

    state = sample()
    view = TaggedTextView(state)
    qtbot.addWidget(view)
    assert "Gene" in view.legend.text() and "Disease" in view.legend.text()
    assert "breast cancer" in view.text.toPlainText()
    view.threshold.setValue(60)
    assert state.min_confidence == 0.6
    assert "2 less sure marks hidden" in view.legend.text()

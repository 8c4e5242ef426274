"""Blind-review verdicts in the database: one per prompt (a second verdict replaces the first), nothing else."""

from __future__ import annotations

import pytest

from engine import store


def test_a_prompt_keeps_only_its_latest_verdict_and_a_wrong_verdict_is_refused():
    db = store.open_db(":memory:")
    run_id = store.create_run(db, kind="evaluate", config={"model": "1", "data": "held_out.jsonl"})
    store.add_review(db, run_id, 3, tuned_side="B", verdict="A")
    store.add_review(db, run_id, 3, tuned_side="B", verdict="tie")  # the person went back and changed it
    store.add_review(db, run_id, 5, tuned_side="A", verdict="A")
    assert [(r["prompt_index"], r["tuned_side"], r["verdict"]) for r in store.reviews(db, run_id)] == [(3, "B", "tie"), (5, "A", "A")]
    with pytest.raises(ValueError, match="A verdict is 'A', 'B' or 'tie'"):
        store.add_review(db, run_id, 6, tuned_side="A", verdict="better")
    assert len(store.reviews(db, run_id)) == 2


"""Score a tagger on marked texts: strict and overlap precision, recall and F1, overall and per kind of name,
and every error sorted into what went wrong, shown in its sentence on the Results page's error review.

Error kinds, for a true name and the predicted names that share characters with it:
- missed: nothing was marked where the name is;
- wrong_type: marked, but as another kind (whether or not the edges are right);
- wrong_boundary: marked as the right kind, with an edge in the wrong place;
- spurious: marked where there is no name at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine import store
from engine.data.spans import Document, Span, read_tagged
from engine.tagging.align import gold_spans
from engine.tagging.scores import entity_scores

ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_boundary")
#: The errors kept for the review (the file says how many there were in all).
KEPT_ERRORS = 2000
#: A sentence longer than this is shown as the stretch around the name.
LONGEST_CONTEXT = 360
#: A sentence ends at . ! or ? followed by a space and a capital ("0 . 5" in tokenised text does not end one).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")


def evaluate_tagger(job, scored: dict[str, Any], config) -> dict[str, Any]:
    from engine.tagging.predict import tag_texts

    documents = [d for d in read_tagged(config.data).documents if d.text.strip()]
    job.event("evaluate.tagging_started", model=scored["title"], rows=len(documents), data=Path(config.data).name)
    run_config = scored["run_config"]
    model = scored["model"]
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    max_length = min((run_config.max_length if run_config and run_config.max_length else 256), limit)
    names = scored["labels"] or [model.config.id2label[i] for i in range(model.config.num_labels)]
    predicted = []
    for start in range(0, len(documents), 64):
        batch = documents[start : start + 64]
        predicted += tag_texts(model, scored["tokenizer"], [d.text for d in batch], names, max_length, job.device)
        store.update_run(job.db, job.run_id, progress=0.9 * (start + len(batch)) / len(documents))
    truth = [gold_spans(d) for d in documents]
    scores = entity_scores(truth, predicted)
    errors = span_errors(documents, truth, predicted)
    metrics = {"eval_f1": scores["f1"], "eval_precision": scores["precision"], "eval_recall": scores["recall"],
               "eval_partial_f1": scores["partial_f1"]}
    headline = (f"name F1 {scores['f1']:.1%} (counting overlaps {scores['partial_f1']:.1%}) on "
                f"{len(documents)} texts")
    counts = {kind: sum(e["kind"] == kind for e in errors) for kind in ERROR_KINDS}
    return {"headline": headline, "metrics": metrics, "rows": len(documents), "file_rows": len(documents),
            "scores": scores, "types": sorted(scores["per_type"]), "errors": errors[:KEPT_ERRORS],
            "error_count": len(errors), "error_counts": counts}


def span_errors(documents: list[Document], truth: list[list[Span]], predicted: list[list[Span]]) -> list[dict[str, Any]]:
    """Every wrong or missing mark, each with its kind, the kind of name it concerns, and its sentence."""
    errors = []
    for number, (document, gold, guess) in enumerate(zip(documents, truth, predicted)):
        exact = {(s.start, s.end, s.type) for s in gold} & {(s.start, s.end, s.type) for s in guess}
        gold_left = [s for s in gold if (s.start, s.end, s.type) not in exact]
        guess_left = [s for s in guess if (s.start, s.end, s.type) not in exact]
        used: set[int] = set()
        for true in gold_left:
            touching = [i for i, p in enumerate(guess_left) if p.overlaps(true)]
            if not touching:
                errors.append(_error(number, document, "missed", true.type, true, None))
                continue
            for i in touching:
                if i in used:
                    continue
                guessed = guess_left[i]
                kind = "wrong_boundary" if guessed.type == true.type else "wrong_type"
                errors.append(_error(number, document, kind, true.type, true, guessed))
                used.add(i)
        for i, guessed in enumerate(guess_left):
            if i in used:
                continue
            true = next((s for s in gold if s.overlaps(guessed)), None)
            if true is None:
                errors.append(_error(number, document, "spurious", guessed.type, None, guessed))
            else:  # a second piece marked inside one name
                kind = "wrong_boundary" if guessed.type == true.type else "wrong_type"
                errors.append(_error(number, document, kind, true.type, true, guessed))
    return errors


def _error(number: int, document: Document, kind: str, type_: str, true: Span | None, guessed: Span | None) -> dict[str, Any]:
    spans = [s for s in (true, guessed) if s is not None]
    start, end = _sentence(document.text, min(s.start for s in spans), max(s.end for s in spans))

    def placed(span: Span | None) -> dict[str, Any] | None:
        if span is None:
            return None
        record = {"start": span.start - start, "end": span.end - start, "type": span.type}
        if hasattr(span, "confidence"):
            record["confidence"] = round(span.confidence, 4)
        return record

    key = f"{number}:{kind}:{(true or guessed).start}:{(true or guessed).end}:{(guessed or true).start}:{(guessed or true).end}"
    return {"id": key, "document": document.id, "kind": kind, "type": type_, "context": document.text[start:end],
            "truth": placed(true), "predicted": placed(guessed)}


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around characters start..end (several if the marks cross a sentence end), or a stretch of
    the text around them when that sentence is very long."""
    begin, finish = 0, len(text)
    for boundary in SENTENCE_END.finditer(text):
        if boundary.end() <= start:
            begin = boundary.end()
        elif boundary.start() >= end:
            finish = boundary.start()
            break
    if finish - begin > LONGEST_CONTEXT:
        room = max(0, (LONGEST_CONTEXT - (end - start)) // 2)
        begin, finish = max(begin, start - room), min(finish, end + room)
    return begin, finish

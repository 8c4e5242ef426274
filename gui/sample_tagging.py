"""Sample data for a tagger's pages: a finished run that marks diseases and genes, its evaluation on held-back
sentences (scored and sorted into errors by the engine's own functions), and a Playground request it
answered. No model is behind them; `python -m gui.pages.tagging_results` opens the Results view on them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from engine import store
from engine.data.spans import Document, ScoredSpan, Span
from engine.protocol import Status
from engine.tagging.align import gold_spans
from engine.tagging.evaluate import ERROR_KINDS, span_errors
from engine.tagging.scores import entity_scores
from gui.sample import SampleTrainer, _sample_evaluation, add_run

#: (text, the data's names, the model's names with confidence), each name as (words, kind[, confidence]).
SENTENCES = [
    ("Identification of APC2, a homologue of the adenomatous polyposis coli tumour suppressor.",
     [("APC2", "Gene"), ("adenomatous polyposis coli tumour", "Disease")],
     [("APC2", "Gene", 0.93), ("adenomatous polyposis coli", "Disease", 0.71)]),
    ("Mutations in BRCA1 raise the risk of breast cancer and ovarian cancer.",
     [("BRCA1", "Gene"), ("breast cancer", "Disease"), ("ovarian cancer", "Disease")],
     [("BRCA1", "Gene", 0.97), ("breast cancer", "Disease", 0.95)]),
    ("Myotonic dystrophy (DM) is caused by an expanded CTG repeat in the DMPK gene.",
     [("Myotonic dystrophy", "Disease"), ("DM", "Disease"), ("DMPK", "Gene")],
     [("Myotonic dystrophy", "Disease", 0.9), ("DM", "Gene", 0.58), ("DMPK", "Gene", 0.88)]),
    ("Patients with ataxia-telangiectasia are sensitive to ionizing radiation.",
     [("ataxia-telangiectasia", "Disease")],
     [("ataxia-telangiectasia", "Disease", 0.96), ("radiation", "Disease", 0.41)]),
    ("Deficiency of the enzyme leads to hereditary fructose intolerance in infants.",
     [("hereditary fructose intolerance", "Disease")],
     [("fructose intolerance", "Disease", 0.77)]),
]
PLAYGROUND_TEXT = (
    "Mutations in BRCA1 and BRCA2 raise the risk of breast cancer and ovarian cancer; carriers of APC variants "
    "develop colorectal adenomas, and loss of TP53 is common in Li-Fraumeni syndrome."
)
PLAYGROUND_MARKS = [("BRCA1", "Gene", 0.97), ("BRCA2", "Gene", 0.95), ("breast cancer", "Disease", 0.98),
                    ("ovarian cancer", "Disease", 0.9), ("APC", "Gene", 0.62), ("colorectal adenomas", "Disease", 0.84),
                    ("TP53", "Gene", 0.91), ("Li-Fraumeni syndrome", "Disease", 0.45)]


def _placed(text: str, names, scored: bool) -> list[Span]:
    spans, after = [], 0
    for name in names:
        start = text.index(name[0], after if name[0] in text[after:] else 0)
        after = start + len(name[0])
        spans.append(ScoredSpan(start, after, name[1], name[2]) if scored else Span(start, after, name[1]))
    return spans


def add_sample_tagging(client: Any) -> dict[str, int]:
    """A finished tagger run with its held-back evaluation and a Playground answer; their ids by name."""
    db, home = client.db, Path(client.home)
    ids = {"tagger": add_run(db, home, "Diseases and genes in abstracts", kind="tag", method="full")}
    trainer = SampleTrainer(db, ids["tagger"], total_steps=300, eval_every=50, seed=3)
    trainer.train_steps(300)
    trainer.finish(started_at=time.time() - 1800, created_at=time.time() - 1900)
    documents = [Document(f"sentence {n}", text, _placed(text, truth, False)) for n, (text, truth, _) in enumerate(SENTENCES, 1)]
    predicted = [_placed(text, guess, True) for text, _, guess in SENTENCES]
    truth = [gold_spans(d) for d in documents]
    scores = entity_scores(truth, predicted)
    errors = span_errors(documents, truth, predicted)
    result = {
        "headline": f"name F1 {scores['f1']:.1%} (counting overlaps {scores['partial_f1']:.1%}) on {len(documents)} texts",
        "metrics": {"eval_f1": scores["f1"], "eval_precision": scores["precision"], "eval_recall": scores["recall"],
                    "eval_partial_f1": scores["partial_f1"]},
        "rows": len(documents), "file_rows": len(documents), "scores": scores, "types": sorted(scores["per_type"]),
        "errors": errors, "error_count": len(errors),
        "error_counts": {kind: sum(e["kind"] == kind for e in errors) for kind in ERROR_KINDS},
        "task": "tag", "title": "Diseases and genes in abstracts", "data": str(home / "runs" / "held_out.jsonl"),
    }
    ids["tagger_evaluation"] = _sample_evaluation(client, ids["tagger"], result)
    marks = _placed(PLAYGROUND_TEXT, PLAYGROUND_MARKS, True)
    spans = [{"start": s.start, "end": s.end, "type": s.type, "confidence": s.confidence} for s in marks]
    now = time.time()
    db["playground"].insert({
        "run_id": ids["tagger"], "status": "done", "model": "tuned", "text": PLAYGROUND_TEXT,
        "settings": json.dumps({"texts": [PLAYGROUND_TEXT]}),
        "result": json.dumps({"documents": [{"text": PLAYGROUND_TEXT, "spans": spans}]}),
        "updates": 1, "created_at": now, "updated_at": now,
    })
    store.update_run(db, ids["tagger"], status=Status.COMPLETED)
    return ids

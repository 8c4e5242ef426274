"""The app's side of bench/tagging.md: the bundled MiniLM trained as a user would start it (the tagging job with
only model, data and evaluation file given; everything else the engine's own decisions), then the saved model
scored on the whole test set, strict entity F1 as seqeval counts it.

    python bench/tagging.py --train ../shared/data/ncbi-disease/train.conll.tsv \
        --eval ../shared/data/ncbi-disease/devel.conll.tsv --test ../shared/data/ncbi-disease/test.conll.tsv
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from engine import store  # noqa: E402
from engine.config import from_dict  # noqa: E402
from engine.data.spans import read_tagged  # noqa: E402
from engine.job import run_job  # noqa: E402
from engine.jobs import submit  # noqa: E402
from engine.tagging.align import gold_spans  # noqa: E402
from engine.tagging.predict import Tagger  # noqa: E402
from engine.tagging.scores import entity_scores  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval", required=True, help="the file the run checks itself on (not the test set)")
    parser.add_argument("--test", required=True)
    parser.add_argument("--set", nargs="*", default=[], help="setting=value, as `tunewright-engine run --set`")
    parser.add_argument("--home", default="")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="tagging-bench-"))
    values = {"kind": "tag", "model": "demo:minilm", "data": args.train, "eval_data": args.eval}
    for item in args.set:
        key, _, raw = item.partition("=")
        values[key] = json.loads(raw) if raw[:1].isdigit() or raw in ("true", "false") else raw
    started = time.monotonic()
    db = store.open_db(store.database_path(home))
    run_id = submit(db, from_dict(values), home=home)
    run_job(run_id, home)
    trained = time.monotonic() - started
    run = store.get_run(db, run_id)
    if run["status"] != "completed":
        raise SystemExit(f"the run ended {run['status']}: {run['error']}")
    for event in store.events(db, run_id):
        print(event["message"])
    test = read_tagged(args.test).documents
    tagger = Tagger.load(Path(run["run_dir"]) / "model")
    predicted = tagger([d.text for d in test])
    scores = entity_scores([gold_spans(d) for d in test], predicted)
    config = json.loads(run["config"]) if isinstance(run["config"], str) else run["config"]
    result = {
        "path": "Tunewright", "train_sentences": len(read_tagged(args.train).documents), "epochs": config["epochs"],
        "learning_rate": config["learning_rate"], "batch_size": config["batch_size"], "method": config["method"],
        "best_step": run.get("best_step"), "steps": run["total_steps"], "test_f1": scores["f1"],
        "test_precision": scores["precision"], "test_recall": scores["recall"], "test_partial_f1": scores["partial_f1"],
        "train_seconds": round(trained, 1), "total_seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

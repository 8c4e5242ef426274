"""`tunewright-engine advise`: the advisor's questions from a shell. Each is a job (its progress in the
database, like any run), run in this process; `merge` brings a filled-in "label next" CSV back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(commands) -> None:
    advise = commands.add_parser("advise", help="which model, would more data help, what to label next")
    advise.add_argument("question", choices=["models", "more-data", "label-next", "merge"])
    advise.add_argument("data", nargs="?", default="", help="labelled examples (merge: the filled-in CSV)")
    advise.add_argument("--run", type=int, default=0, help="a finished run whose data and model to use")
    advise.add_argument("--models", default="", help="models: the candidates, separated by commas")
    advise.add_argument("--model", default="", help="more-data, label-next: the model whose features are read")
    advise.add_argument("--sample", type=int, default=1000, help="models: examples each model reads")
    advise.add_argument("--unlabelled", default="", help="label-next: the texts not labelled yet")
    advise.add_argument("--count", type=int, default=50, help="label-next: how many to list")
    advise.add_argument("--training", default="", help="merge: the training data (default: the run's)")
    advise.add_argument("--text-column", default="")
    advise.add_argument("--label-column", default="")
    advise.add_argument("--json", action="store_true")


def cmd_advise(args) -> int:
    from engine import jobs, store
    from engine.config import from_dict

    db, home = store.open_db(store.database_path()), store.default_home()
    if args.question == "merge":
        return _merge(db, home, args)
    config = from_dict({
        "kind": "advise", "question": args.question.replace("-", "_"), "data": str(args.data or ""),
        "run_id": args.run, "models": args.models, "model": args.model, "sample": args.sample,
        "unlabelled": args.unlabelled, "count": args.count, "text_column": args.text_column,
        "label_column": args.label_column,
    })
    run_id = jobs.submit(db, config, home=home)
    print(run_id, flush=True)
    jobs.claim(db, run_id)
    from engine.job import run_job

    outcome = run_job(run_id, home)
    run = store.get_run(db, run_id)
    if str(outcome) != "completed":
        print(f"tunewright-engine: {run['error'] or outcome}", file=__import__("sys").stderr)
        return 1
    answer = next(a["metadata"] for a in store.artifacts(db, run_id) if a["kind"] in ("advice", "learning_curve", "label_next"))
    if args.json:
        print(json.dumps(answer, indent=1))
        return 0
    if answer["question"] == "models":
        print(f"{'rank':<5}{'model':<32}{'score':>7}{'range':>13}{'kNN':>6}{'linear':>7}{'LogME':>8}  fine-tuning")
        for c in answer["candidates"]:
            print(f"{c['rank']:<5}{c['name'][:31]:<32}{c['score']:>7.1%}{c['low']:>6.0%}-{c['high']:<6.0%}{c['knn']:>6.0%}"
                  f"{c['linear']:>7.0%}{c['logme']:>8.3f}  {c['train_sentence']}")
        print(f"Recommended: {answer['recommended']}: {answer['reason']}")
    elif answer["question"] == "more_data":
        print(answer["sentence"], answer["verdict_sentence"])
    else:
        print(answer["csv"])
    return 0


def _merge(db, home: Path, args: argparse.Namespace) -> int:
    from engine import store
    from engine.advisor.merge import merge_and_check
    from engine.data.classification import load_classification

    training = args.training or (store.get_run(db, args.run)["config"]["data"] if args.run else "")
    data = load_classification(training, args.text_column, args.label_column)
    outcome = merge_and_check(db, home, args.data, training, data.text_column, data.label_column, data.multi_label)
    if args.json:
        print(json.dumps(outcome, indent=1, default=str))
    else:
        print(outcome["merged"])
        for finding in (outcome.get("report") or {}).get("findings", []):
            print(f"[{finding['severity']}] {finding['message']}")
    return 1 if outcome.get("error") else 0

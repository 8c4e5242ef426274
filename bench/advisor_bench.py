"""The advisor measured (bench/advisor.md): probe ranking against fine-tuned scores, learning-curve band
coverage, and the whole-run time forecast against real runs, on this machine's CPU.

    python bench/advisor_bench.py OUT_FOLDER [--train 200] [--eval 150] [--epochs 3] [--probe-sample 1000]

Candidates: the bundled all-MiniLM-L6-v2, its 3-layer and 1-layer cuts (layers 1,3,6 and 1, kept as they
are, no training), and an untrained MiniLM (random weights, same shape). Datasets from ../shared/data:
NLU++ hotels and banking (multi-label intents) and NCBI disease sentences (does the sentence mention a
disease: yes/no). Each fine-tuning run is planned (`tunewright-engine plan`) and run (`tunewright-engine
run`) as separate processes, as the app does, so their forecast and wall time are compared too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
sys.path.insert(0, str(ROOT))


def datasets(out: Path) -> dict[str, Path]:
    """Each dataset as one JSON Lines file of {text, labels} (shuffled with a fixed seed)."""
    rng = np.random.default_rng(0)
    made = {}
    for domain in ("hotels", "banking"):
        rows = []
        for fold in range(20):
            for record in json.loads((SHARED / "nlupp" / domain / f"fold{fold}.json").read_text()):
                rows.append({"text": record["text"], "labels": record.get("intents", [])})
        made[f"nlupp-{domain}"] = rows
    sentences, words, disease = [], [], False
    for line in (SHARED / "ncbi-disease" / "train.conll.tsv").read_text().splitlines():
        if not line.strip():
            if words:
                sentences.append({"text": " ".join(words), "labels": "disease" if disease else "none"})
            words, disease = [], False
            continue
        token, tag = line.split("\t")[:2]
        words.append(token)
        disease = disease or tag != "O"
    made["ncbi-sentences"] = sentences
    paths = {}
    for name, rows in made.items():
        order = rng.permutation(len(rows))
        path = out / f"{name}.jsonl"
        path.write_text("\n".join(json.dumps(rows[i]) for i in order) + "\n")
        paths[name] = path
    return paths


def candidates(out: Path) -> dict[str, str]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from engine.models.catalog import resolve

    source = resolve("demo:minilm").path
    tokenizer = AutoTokenizer.from_pretrained(source)
    made = {"minilm-6": "demo:minilm"}
    for name, keep in (("minilm-3", [0, 2, 5]), ("minilm-1", [0])):
        folder = out / "models" / name
        if not (folder / "config.json").exists():
            model = AutoModel.from_pretrained(source)
            model.encoder.layer = torch.nn.ModuleList([model.encoder.layer[i] for i in keep])
            model.config.num_hidden_layers = len(keep)
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
        made[name] = str(folder)
    folder = out / "models" / "minilm-untrained"
    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        model = AutoModel.from_config(AutoModel.from_pretrained(source).config)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    made["minilm-untrained"] = str(folder)
    return made


def engine(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNEWRIGHT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def kendall_tau(a: list[float], b: list[float]) -> float:
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    concordant = sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs)
    return float(concordant / len(pairs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--eval", type=int, default=150)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--probe-sample", type=int, default=1000, help="training examples the probes read (the app's sample)")
    parser.add_argument("--curve-rows", type=int, default=800)
    parser.add_argument("--curve-seeds", default="1", help="with --no-finetune: a learning curve for each seed "
                        "(its held-out quarter and random orders), comma-separated")
    parser.add_argument("--only", default="", help="datasets, comma-separated")
    parser.add_argument("--no-finetune", action="store_true", help="probes and curves only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    home = args.out / "home"

    from engine.advisor.curve import learning_curve, nested_scores
    from engine.advisor.features import frozen_features, load_reader
    from engine.advisor.probes import Targets, cross_validate
    from engine.models.catalog import resolve

    def record(**values) -> None:
        with results.open("a") as file:
            file.write(json.dumps(values) + "\n")
        print(json.dumps(values), flush=True)

    models = candidates(args.out)
    for name, path in datasets(args.out).items():
        if args.only and name not in args.only.split(","):
            continue
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        multi = isinstance(rows[0]["labels"], list)
        train_rows, eval_rows = rows[: args.train], rows[args.train : args.train + args.eval]
        train_path, eval_path = args.out / f"{name}.train.jsonl", args.out / f"{name}.eval.jsonl"
        train_path.write_text("\n".join(json.dumps(r) for r in train_rows) + "\n")
        eval_path.write_text("\n".join(json.dumps(r) for r in eval_rows) + "\n")
        pool = rows[: args.curve_rows]
        names = sorted({n for r in pool for n in (r["labels"] if multi else [r["labels"]])})
        for model_name, ref in models.items():
            # ---- probes on the training sample, timed
            started = time.perf_counter()
            reader, tokenizer = load_reader(resolve(ref))
            sample = train_rows[: args.probe_sample]  # the rows are shuffled already: a random sample, as the app takes
            train_texts = [r["text"] for r in sample]
            train_targets = Targets.of([r["labels"] if multi else [r["labels"]] for r in sample], names, multi)
            features = frozen_features(reader, tokenizer, train_texts)
            probes = cross_validate(features, train_targets)
            probe_seconds = time.perf_counter() - started
            # ---- the learning curve: fitted on nested fractions of at most half the pool, checked at all of it
            pool_features = frozen_features(reader, tokenizer, [r["text"] for r in pool])
            pool_targets = Targets.of([r["labels"] if multi else [r["labels"]] for r in pool], names, multi)
            curves = []
            for seed in map(int, args.curve_seeds.split(",") if args.no_finetune else [1]):
                sizes, scores = nested_scores(pool_features, pool_targets, fractions=[1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0], seed=seed)
                half = [i for i, n in enumerate(sizes) if n <= sizes[-1] / 2 + 1]
                curve = learning_curve([sizes[i] for i in half], [scores[i] for i in half], target_size=sizes[-1])
                curves.append((seed, sizes, scores, half, curve, float(np.mean(scores[-1]))))
            seed, sizes, scores, half, curve, reached = curves[0]
            # ---- the fine-tuning run, planned and run as the app does
            config = {"kind": "classify", "model": ref, "data": str(train_path), "eval_data": str(eval_path),
                      "text_column": "text", "label_column": "labels", "method": "full", "epochs": args.epochs,
                      "batch_size": 16, "max_length": 64, "device": "cpu", "early_stopping_patience": 0,
                      "name": f"{name} {model_name}"}
            job = args.out / f"{name}.{model_name}.json"
            job.write_text(json.dumps(config))
            if args.no_finetune:
                for seed, sizes, scores, half, curve, reached in curves:
                    record(dataset=name, model=model_name, multi_label=multi, knn=float(np.mean(probes.knn)),
                           linear=float(np.mean(probes.linear)), probe=probes.score, logme=probes.logme,
                           probe_seconds=probe_seconds, curve_seed=seed, curve_sizes=sizes, curve_scores=scores,
                           curve_fit_on=[sizes[i] for i in half], curve_low=curve.low, curve_high=curve.high,
                           curve_expected=curve.expected, curve_reached=reached)
                continue
            planned = engine("plan", str(job), "--json", home=home)
            forecast = json.loads(planned.stdout)["time"] if planned.returncode == 0 else None
            started = time.perf_counter()
            done = engine("run", str(job), home=home)
            took = time.perf_counter() - started
            run_id = int(done.stdout.split()[0]) if done.stdout.strip() else None
            best = None
            if run_id is not None:
                from engine import store

                db = store.open_db(store.database_path(home))
                best = store.get_run(db, run_id)["best_metric"]
            record(dataset=name, model=model_name, multi_label=multi, train=len(train_rows), eval=len(eval_rows), probe_sample=len(sample),
                   knn=float(np.mean(probes.knn)), linear=float(np.mean(probes.linear)), probe=probes.score,
                   probe_low=probes.low_high[0], probe_high=probes.low_high[1], logme=probes.logme,
                   probe_seconds=probe_seconds, fine_tuned=best, run_seconds=took,
                   forecast_seconds=forecast["seconds"] if forecast else None, forecast_parts=forecast["parts"] if forecast else None,
                   curve_sizes=sizes, curve_fit_on=[sizes[i] for i in half], curve_low=curve.low, curve_high=curve.high,
                   curve_expected=curve.expected, curve_reached=reached, run_error=None if done.returncode == 0 else done.stderr[-300:])


if __name__ == "__main__":
    main()

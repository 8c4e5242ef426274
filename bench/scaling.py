"""Data-parallel scaling: steps per second of the same run on 1 process and on N (engine/distributed.py), each
with a whole copy of the model and, with --divided, with the model divided among them (FSDP2, engine/sharding.py).

The run is a real engine job (`engine.job.run_job`, started the way the window starts it) training a small
text classifier: on a GPU machine the bundled MiniLM on the demo data, one process per GPU; on a CPU, a small
random BERT, N processes on the CPU with gloo (that measures the cost of the exchange, not a speed-up: the
processes share the same cores). Speed is rank 0's `samples_per_second` rows (the whole step's examples),
median over the steps after the first tenth, divided by the batch size.

    python bench/scaling.py --processes 2 --out bench/scaling.jsonl
    python bench/scaling.py --processes 2 --divided --out bench/scaling.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from engine import store  # noqa: E402
from engine.config import from_dict  # noqa: E402
from engine.jobs import submit  # noqa: E402


def small_encoder(folder: Path) -> Path:
    """A 4-layer, 128-wide BERT with MiniLM's tokenizer (random weights: speed does not depend on them)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from engine.models.catalog import BUNDLED, package_folder

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(package_folder(BUNDLED["demo:minilm"].package) / "model")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=512, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def job_values(home: Path, on_gpu: bool, steps: int, batch_size: int) -> dict:
    from engine.demo import example

    demo = example("classify").to_dict()
    model = demo["model"] if on_gpu else str(small_encoder(home / "encoder"))
    return demo | {
        "model": model, "name": "scaling", "max_steps": steps, "batch_size": batch_size, "method": "full",
        "eval_every": steps, "early_stopping_patience": 0, "compile": "off", "max_length": 64,
    }


def measure(home: Path, values: dict, processes: int, sharding: str = "off") -> dict:
    from engine.job import run_job

    db = store.open_db(store.database_path(home))
    run_id = submit(db, from_dict(values | {"gpus": processes, "sharding": sharding}), home=home)
    started = time.monotonic()
    status = run_job(run_id, home)
    rates = [v for _, v in store.metric_series(db, run_id, "samples_per_second")]
    kept = rates[max(1, len(rates) // 10):] or rates
    steps_per_second = statistics.median(kept) / values["batch_size"] if kept else 0.0
    losses = store.metric_series(db, run_id, "train_loss")  # the last: the ways of sharing should agree
    return {"processes": processes, "sharding": sharding, "status": str(status),
            "steps_per_second": round(steps_per_second, 3), "wall_seconds": round(time.monotonic() - started, 1),
            "final_train_loss": losses[-1][1] if losses else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="the process count compared with one")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--divided", action="store_true", help="also the N processes with the model divided among them")
    parser.add_argument("--out", default="bench/scaling.jsonl")
    args = parser.parse_args()
    on_gpu = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        os.environ["TUNEWRIGHT_HOME"] = str(home)
        (home / "encoder").mkdir()
        values = job_values(home, on_gpu, args.steps, args.batch_size)
        alone = measure(home, values, 1)
        shared = measure(home, values, args.processes)
        divided = measure(home, values, args.processes, "fsdp") if args.divided else None
    line = {
        "case": "data_parallel_scaling", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(0) if on_gpu else f"CPU ({os.cpu_count()} cores, {platform.machine()})",
        "backend": "nccl" if on_gpu else "gloo", "torch": torch.__version__,
        "load_average": os.getloadavg()[0], "batch_size": args.batch_size, "steps": args.steps,
        "one": alone, "several": shared,
        "speedup": round(shared["steps_per_second"] / alone["steps_per_second"], 3) if alone["steps_per_second"] else None,
    }
    if divided:
        line["divided"] = divided
        line["speedup_divided"] = round(divided["steps_per_second"] / alone["steps_per_second"], 3) if alone["steps_per_second"] else None
    with open(args.out, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    print(json.dumps(line, indent=2))
    runs = [alone, shared] + ([divided] if divided else [])
    return 0 if all(run["status"] == "completed" for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

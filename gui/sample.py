"""Sample runs written into a database the way job processes write them, so every page can be looked at
and tested on its own (`python -m gui.pages.run_view --sample`, `tunewright --screenshot F --sample`).

`SampleTrainer` writes the rows of one training step at a time, like a job; tests use it as a stand-in for
the engine.
"""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from engine import store
from engine.protocol import Status

GIB = 2**30


class SampleTrainer:
    """Writes a plausible classification run's metrics, step by step, into the database."""

    def __init__(self, db: Database, run_id: int, *, total_steps: int, eval_every: int = 50, seed: int = 0,
                 gpu: bool = True, chat: bool = False, skill: float = 1.0) -> None:
        self.db = db
        self.run_id = run_id
        self.total_steps = total_steps
        self.eval_every = eval_every
        self.gpu = gpu
        self.chat = chat
        self.skill = skill  # how well this run learns (1: as the others); compared runs differ by it
        self.step = 0
        self.best: float | None = None
        self.random = random.Random(seed)
        self.started = time.time()

    def values(self, step: int) -> dict[str, float]:
        t = step / max(self.total_steps, 1)
        noise = self.random.gauss(0, 0.06)
        loss = 0.25 + 2.0 * math.exp(-5 * t) + noise * (0.3 + 1.5 * math.exp(-4 * t))
        warm = min(1.0, step / max(1, 0.05 * self.total_steps))
        values: dict[str, float] = {
            "train_loss": max(loss, 0.02),
            "learning_rate": 2e-4 * warm * (1 - t if warm >= 1 else 1),
            "grad_norm": abs(1.0 + self.random.gauss(0, 0.3)),
            "samples_per_second": 120 + self.random.gauss(0, 2.5),
            "epoch": 3 * t,
            "process_ram": (2.1 + 0.2 * t) * GIB,
            "system_ram_used": (9.5 + self.random.gauss(0, 0.1)) * GIB,
            "system_ram_total": 31.3 * GIB,
        }
        if self.chat:
            values["tokens_per_second"] = 2400 + self.random.gauss(0, 80)
        if self.gpu:
            allocated = (3.2 + 0.6 * math.sin(step / 7) ** 2) * GIB
            values.update(
                gpu_allocated=allocated,
                gpu_reserved=allocated + 1.1 * GIB,
                gpu_peak=4.6 * GIB,
                gpu_total=8.0 * GIB,
                gpu_used=allocated + 1.5 * GIB,
            )
        return values

    def train_steps(self, count: int) -> None:
        """Write `count` more steps (and evaluations where due) and update the run's row."""
        for _ in range(count):
            if self.step >= self.total_steps:
                break
            self.step += 1
            values = self.values(self.step)
            store.add_metrics(self.db, self.run_id, self.step, values)
            if self.step % self.eval_every == 0:
                self.evaluate(values["train_loss"])
        remaining = (self.total_steps - self.step) * 0.4
        store.update_run(
            self.db,
            self.run_id,
            status=Status.RUNNING,
            step=self.step,
            total_steps=self.total_steps,
            progress=self.step / self.total_steps,
            epoch=3 * self.step / self.total_steps,
            eta_seconds=remaining,
        )

    def evaluate(self, train_loss: float) -> None:
        t = self.step / self.total_steps
        eval_loss = (train_loss * 1.1 + 0.05 + 0.15 * t * t) / self.skill
        metrics = {"eval_loss": eval_loss}
        name = "eval_perplexity" if self.chat else "eval_f1"
        metrics[name] = math.exp(eval_loss) if self.chat else min(0.97, 0.45 + 0.5 * self.skill * (1 - math.exp(-6 * t)))
        if not self.chat:
            metrics["eval_accuracy"] = min(0.98, metrics[name] + 0.02)
        store.add_metrics(self.db, self.run_id, self.step, metrics)
        value = metrics[name]
        better = self.best is None or (value < self.best if self.chat else value > self.best)
        if better:
            self.best = value
            store.update_run(self.db, self.run_id, best_metric_name=name, best_metric=value)
            store.add_event(self.db, self.run_id, "eval.best", metric=name.removeprefix("eval_"), value=value, step=self.step)

    def finish(self, status: Status = Status.COMPLETED, **fields: Any) -> None:
        store.update_run(self.db, self.run_id, status=status, progress=1.0 if status == Status.COMPLETED else self.step / self.total_steps,
                         eta_seconds=None, finished_at=time.time(), pid=None, **fields)


def sample_config(kind: str = "classify", **values: Any) -> dict[str, Any]:
    from engine.config import from_dict

    from engine.tasks import TASKS

    # A made-up home folder: the task's demo model, on a file named like the task's demo data.
    task = TASKS[kind]
    base = {"model": task.demo_model, "data": f"/home/ada/data/{Path(task.demo().data).name}", "name": ""}
    return from_dict({**base, **values}, kind=kind).to_dict()


def add_run(db: Database, home: Path, name: str, kind: str = "classify", **config: Any) -> int:
    run_id = store.create_run(db, kind=kind, config=sample_config(kind, name=name, **config), name=name)
    folder = home / "runs" / f"{run_id:05d}"
    store.update_run(db, run_id, run_dir=str(folder))
    return run_id


def fill_sample(db: Database, home: Path, *, live_steps: int = 1400) -> dict[str, int]:
    """A database with one run of every kind of state; returns their ids by name."""
    ago = time.time()
    ids: dict[str, int] = {}

    ids["completed"] = add_run(db, home, "Support answers, LoRA", kind="chat", epochs=2)
    trainer = SampleTrainer(db, ids["completed"], total_steps=600, eval_every=60, seed=1, chat=True)
    store.add_event(db, ids["completed"], "run.started", device="NVIDIA GeForce RTX 4070 (8 GB)")
    trainer.train_steps(600)
    store.add_event(db, ids["completed"], "run.completed", path=str(home / "runs" / "00001" / "model"))
    trainer.finish(started_at=ago - 7200, created_at=ago - 7300)

    ids["failed"] = add_run(db, home, "Ticket urgency, full training", method="full", batch_size=64)
    store.add_event(db, ids["failed"], "run.started", device="NVIDIA GeForce RTX 4070 (8 GB)")
    trainer = SampleTrainer(db, ids["failed"], total_steps=900, seed=2)
    trainer.train_steps(40)
    reason = "the GPU ran out of memory with a batch of 64 examples. Try a smaller batch size or LoRA."
    store.add_event(db, ids["failed"], "run.failed", reason=reason)
    trainer.finish(Status.FAILED, error="The GPU ran out of memory with a batch of 64 examples.",
                   error_detail="torch.OutOfMemoryError: CUDA out of memory.", started_at=ago - 5400)

    ids["paused"] = add_run(db, home, "Contract clauses", epochs=4)
    trainer = SampleTrainer(db, ids["paused"], total_steps=2000, seed=3)
    store.add_event(db, ids["paused"], "run.started", device="NVIDIA GeForce RTX 4070 (8 GB)")
    trainer.train_steps(700)
    store.add_event(db, ids["paused"], "run.paused", step=700)
    store.update_run(db, ids["paused"], status=Status.PAUSED, eta_seconds=None, checkpoint_step=700, started_at=ago - 3600)

    ids["running"] = add_run(db, home, "Demo: hotel requests", data="resources/demo/hotel_intents.jsonl")
    trainer = SampleTrainer(db, ids["running"], total_steps=3000, seed=4)
    store.add_event(db, ids["running"], "plan.device", reason="Training on the NVIDIA GeForce RTX 4070 (8 GB), in bf16.")
    store.add_event(db, ids["running"], "plan.split", eval_rows=240, rows=2400, stratified=", keeping each category's share")
    store.add_event(db, ids["running"], "plan.steps", train_rows=2160, batch_size=16, steps_per_epoch=135, total_steps=3000)
    store.add_event(db, ids["running"], "run.started", device="NVIDIA GeForce RTX 4070 (8 GB)")
    store.add_event(db, ids["running"], "data.truncated", count=12, rows=2400, max_length=256, tokens=845)
    trainer.train_steps(live_steps)
    store.update_run(db, ids["running"], started_at=ago - 600)

    ids["queued"] = add_run(db, home, "Email routing")
    return ids


def sample_home(home: Path, **kwargs: Any) -> dict[str, int]:
    """Create `home` with a sample database (if it has no runs yet)."""
    db = store.open_db(store.database_path(home))
    if db["runs"].count:
        return {}
    sample_dataset(db, home)
    ids = fill_sample(db, home, **kwargs)
    ids["classifier"] = sample_playground(db, home, ids["completed"])
    return ids


def sample_dataset(db: Database, home: Path) -> Path:
    """A small CSV of support tickets with the problems real exports have (repeats, a text with two
    labels, empty rows, rare categories), checked by the real data doctor; returns its path."""
    from engine.checkup import run_checkup

    topics = {
        "billing": ["I was charged twice this month", "Please send my invoice again", "Why is my bill higher?",
                    "Refund for the cancelled order", "Update my card details"],
        "delivery": ["My parcel has not arrived", "Where is my order?", "The courier left it at the wrong door",
                     "Can I change the delivery address?", "Tracking number does not work"],
        "account": ["I cannot log in", "Reset my password please", "Change the e-mail on my account",
                    "Delete my account", "Two-factor code never arrives"],
    }
    rows = [(f"{text} (ticket {n})", topic) for n in range(4) for topic, texts in topics.items() for text in texts]
    rows += [rows[0], rows[1], rows[2], ("Where is my order? (ticket 0)", "billing"), ("", "billing"),
             ("Thanks, all sorted", ""), ("Do you sell gift cards?", "sales"), ("Partnership enquiry", "sales"),
             ("The app crashes on start", "bug")]
    folder = home / "sample-data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "support_tickets.csv"
    lines = ["ticket;category"] + [f'"{text}";{topic}' for text, topic in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_checkup(db, home, path, "classify")
    return path


SAMPLE_HARDWARE = {
    "devices": [{"type": "cuda", "name": "NVIDIA GeForce RTX 4070", "total_memory": 8 * GIB, "free_memory": 7 * GIB}],
    "ram_total": int(31.3 * GIB),
    "ram_available": int(21.8 * GIB),
    "disk_free": 412 * GIB,
    "cuda": True,
}


# ---------------------------------------------------------------- sample models (the Models page)

# Real configurations of a few popular models, so that the page shows true sizes and context lengths.
_QWEN2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936, "max_position_embeddings": 32768}
SAMPLE_CACHE = {
    "Qwen/Qwen2.5-0.5B-Instruct": (_QWEN2 | {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                                             "num_attention_heads": 14, "num_key_value_heads": 2, "tie_word_embeddings": True}, "apache-2.0"),
    "Qwen/Qwen2.5-7B-Instruct": (_QWEN2 | {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                                           "num_attention_heads": 28, "num_key_value_heads": 4, "tie_word_embeddings": False}, "apache-2.0"),
    "google-bert/bert-base-uncased": ({"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 768,
                                       "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                                       "max_position_embeddings": 512, "type_vocab_size": 2}, "apache-2.0"),
}
SAMPLE_FOLDER = ("support-bot-v2", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152, "hidden_size": 2048,
                                    "intermediate_size": 8192, "num_hidden_layers": 24, "num_attention_heads": 32, "num_key_value_heads": 32,
                                    "max_position_embeddings": 8192, "tie_word_embeddings": True})
# Sparse files take no disk space on Linux and macOS; elsewhere the sample leaves the weights out.
SPARSE_FILES = os.name != "nt"


def sample_models(client: Any) -> None:
    """A Hugging Face cache, an added folder and three downloads in `client`'s home, for the Models page.

    The weight files are valid safetensors headers with the real tensor shapes, extended as sparse files, so
    the page reads exact sizes from them as it would from real models."""
    import json

    home = Path(client.home)
    cache = home / "hf-cache"
    client.hub_cache = cache
    if cache.exists():
        return
    for repo_id, (config, licence) in SAMPLE_CACHE.items():
        snapshot = cache / f"models--{repo_id.replace('/', '--')}" / "snapshots" / "5a1e2b3c"
        snapshot.mkdir(parents=True)
        (snapshot.parents[1] / "refs").mkdir()
        (snapshot.parents[1] / "refs" / "main").write_text("5a1e2b3c")
        (snapshot / "config.json").write_text(json.dumps(config))
        (snapshot / "README.md").write_text(f"---\nlicense: {licence}\n---\n# {repo_id}\n")
        if config["model_type"] == "bert":  # an old-style checkpoint: pickle weights only
            _sparse(snapshot / "pytorch_model.bin", 440_473_133)
        elif SPARSE_FILES:
            _sample_safetensors(snapshot / "model.safetensors", config)
    name, config = SAMPLE_FOLDER
    folder = home / "my-models" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    if SPARSE_FILES:
        _sample_safetensors(folder / "model.safetensors", config)
    store.remember_model(client.db, folder, name=name, source="folder", architecture="LlamaForCausalLM")
    now = time.time()
    for repo_id, status, done, total, error in (
        ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "downloading", 1_512_000_000, 3_422_000_000, None),
        ("Qwen/Qwen2.5-3B-Instruct", "paused", 2_100_000_000, 6_170_000_000, None),
        ("meta-llama/Llama-3.2-1B-Instruct", "failed", 0, 0,
         "meta-llama/Llama-3.2-1B-Instruct asks you to accept its licence on huggingface.co before downloading. "
         "Accept it there, log in with 'hf auth login', then try again."),
    ):
        client.db["downloads"].insert({"repo_id": repo_id, "status": status, "bytes_done": done, "bytes_total": total,
                                       "error": error, "created_at": now, "updated_at": now})


def _sample_safetensors(path: Path, config: dict[str, Any]) -> None:
    """The Llama-layout tensors of `config` in a safetensors header, the data left as a sparse hole."""
    import json
    import struct

    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    head_dim = hidden // config["num_attention_heads"]
    kv = config["num_key_value_heads"] * head_dim
    shapes = {"model.embed_tokens.weight": [config["vocab_size"], hidden], "model.norm.weight": [hidden]}
    if not config.get("tie_word_embeddings"):
        shapes["lm_head.weight"] = [config["vocab_size"], hidden]
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        shapes |= {
            prefix + "self_attn.q_proj.weight": [hidden, hidden], prefix + "self_attn.k_proj.weight": [kv, hidden],
            prefix + "self_attn.v_proj.weight": [kv, hidden], prefix + "self_attn.o_proj.weight": [hidden, hidden],
            prefix + "mlp.gate_proj.weight": [inner, hidden], prefix + "mlp.up_proj.weight": [inner, hidden],
            prefix + "mlp.down_proj.weight": [hidden, inner], prefix + "input_layernorm.weight": [hidden],
            prefix + "post_attention_layernorm.weight": [hidden],
        }
        if config["model_type"] == "qwen2":
            shapes |= {prefix + "self_attn.q_proj.bias": [hidden], prefix + "self_attn.k_proj.bias": [kv], prefix + "self_attn.v_proj.bias": [kv]}
    header, offset = {}, 0
    for name, shape in shapes.items():
        end = offset + 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, end]}
        offset = end
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)) + encoded)
        file.truncate(8 + len(encoded) + offset)


def _sparse(path: Path, length: int) -> None:
    with open(path, "wb") as file:
        if SPARSE_FILES:
            file.truncate(length)


# ---------------------------------------------------------------- sample evaluations and reviews (Results, Compare)

# A confusion matrix of a plausible ticket router: rows the true category, columns the predicted one, the
# last row the texts whose category the model was not trained on (as engine/recipes/evaluate.py writes it).
SAMPLE_LABELS = ["billing", "delivery", "account", "returns", "other"]
SAMPLE_CONFUSION = [
    [46, 2, 1, 3, 0],
    [1, 51, 0, 4, 1],
    [2, 0, 38, 0, 2],
    [4, 5, 0, 29, 1],
    [1, 2, 3, 1, 9],
    [0, 0, 0, 0, 0],
]
SAMPLE_WRONG = [
    ("I returned the shoes but was still charged", "billing", "returns", {"returns": 0.58, "billing": 0.39, "delivery": 0.02}),
    ("The parcel came back to you, can I get my money?", "returns", "billing", {"billing": 0.51, "returns": 0.44, "delivery": 0.04}),
    ("Courier says the address on my account is wrong", "delivery", "account", {"account": 0.47, "delivery": 0.45, "other": 0.05}),
    ("Do you ship to Norway?", "other", "delivery", {"delivery": 0.71, "other": 0.22, "returns": 0.04}),
    ("Exchange the jacket for a larger size", "returns", "delivery", {"delivery": 0.49, "returns": 0.41, "other": 0.06}),
    ("Cannot see my order history", "account", "other", {"other": 0.55, "account": 0.40, "delivery": 0.03}),
]
SAMPLE_ANSWERS = [
    ("How do I reset my password?", "Click 'Forgot password' on the login page and follow the link we e-mail you.",
     "Click 'Forgot password' on the login page and follow the link we e-mail you.",
     "Passwords are important for security. You should choose a strong password with letters and numbers."),
    ("Can I change my delivery address?", "Yes, until the parcel is dispatched: open the order and choose 'Change address'.",
     "Yes, as long as the parcel has not left: open the order and choose 'Change address'.",
     "Delivery addresses can be changed. Please contact your local post office for more information."),
    ("Where is my refund?", "Refunds reach your card 3 to 5 working days after we receive the return.",
     "Refunds arrive 3 to 5 working days after the return reaches us.",
     "A refund is money returned to a customer. It may take some time."),
    ("Do you deliver on Sundays?", "No, we deliver Monday to Saturday.", "We deliver Monday to Saturday, not on Sundays.",
     "Yes, we deliver every day of the week including Sundays and holidays."),
    ("How do I cancel my order?", "Open the order and choose 'Cancel' before it is dispatched.",
     "Choose 'Cancel' on the order page before it is dispatched.",
     "To cancel your order, open the order and choose 'Cancel' before it is dispatched."),
    ("Is there a fee for returns?", "Returns are free within 30 days.", "Returns within 30 days are free of charge.",
     "Return fees depend on many factors. Please check our website."),
    ("Can I pay by invoice?", "Yes, for orders up to 500 euros, after a credit check.", "Yes, up to 500 euros.",
     "Yes, you can pay by invoice for orders up to 500 euros after a credit check."),
    ("My discount code does not work", "Codes are valid once per account and not on sale items; check both.",
     "Each code works once per account and not on items already on sale.",
     "Discount codes are a great way to save money on your purchases!"),
]


def add_sample_evaluations(client: Any) -> dict[str, int]:
    """Finished runs with evaluations as the evaluate job writes them (a classifier with its confusion
    matrix, a chat run with answers beside the starting model's and three blind-review verdicts), and a second
    run of each kind to compare with. Returns their ids by name."""
    db, home = client.db, Path(client.home)
    if list(db["runs"].rows_where("kind = 'evaluate'")):
        return {}
    ago = time.time()
    ids: dict[str, int] = {}
    for key, name, seed, skill, values in (
        ("tickets", "Ticket routing, LoRA", 5, 0.98, {"lora_rank": 16}),
        ("tickets_full", "Ticket routing, full training", 6, 0.9, {"method": "full", "learning_rate": 3e-5, "batch_size": 32}),
    ):
        ids[key] = add_run(db, home, name, data=str(home / "sample-data" / "support_tickets.csv"), **values)
        trainer = SampleTrainer(db, ids[key], total_steps=400, eval_every=40, seed=seed, skill=skill)
        trainer.train_steps(400)
        trainer.finish(started_at=ago - 3000, created_at=ago - 3100)
    ids["chat_r32"] = add_run(db, home, "Support answers, rank 32", kind="chat", lora_rank=32, lora_alpha=64, learning_rate=1e-4)
    trainer = SampleTrainer(db, ids["chat_r32"], total_steps=600, eval_every=60, seed=7, chat=True, skill=0.93)
    trainer.train_steps(600)
    trainer.finish(started_at=ago - 2500, created_at=ago - 2600)

    # The classifier's evaluation: per-category scores from the matrix, as classification_report computes them.
    matrix = SAMPLE_CONFUSION
    per_class = []
    for i, label in enumerate(SAMPLE_LABELS):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision, recall = tp / predicted, tp / support
        per_class.append({"label": label, "precision": precision, "recall": recall,
                          "f1": 2 * precision * recall / (precision + recall), "support": support})
    rows = sum(map(sum, matrix))
    accuracy = sum(matrix[i][i] for i in range(len(SAMPLE_LABELS))) / rows
    macro_f1 = sum(row["f1"] for row in per_class) / len(per_class)
    classifier = {
        "headline": f"accuracy {accuracy:.1%}, macro-F1 {macro_f1:.1%} on {rows} examples",
        "metrics": {"eval_accuracy": accuracy, "eval_macro_f1": macro_f1}, "rows": rows,
        "accuracy": accuracy, "macro_f1": macro_f1, "per_class": per_class, "labels": SAMPLE_LABELS, "confusion": matrix,
        "wrong": [{"text": t, "expected": [e], "predicted": [p], "probabilities": probs} for t, e, p, probs in SAMPLE_WRONG],
        "wrong_count": rows - sum(matrix[i][i] for i in range(len(SAMPLE_LABELS))),
        "task": "classify", "title": "Ticket routing, LoRA", "data": str(home / "sample-data" / "held_out_tickets.csv"),
        # always answering the commonest category; and three tickets that were also in the training file
        "baseline": {"label": SAMPLE_LABELS[max(range(len(matrix)), key=lambda i: sum(matrix[i]))],
                     "accuracy": max(map(sum, matrix)) / rows, "macro_f1": 0.0},
        "overlap": {"count": 3, "rows": rows, "share": 3 / rows}, "file_rows": rows,
    }
    ids["tickets_evaluation"] = _sample_evaluation(client, ids["tickets"], classifier)

    answers = []
    for prompt, reference, answer, base in SAMPLE_ANSWERS:
        answers.append({"prompt": prompt, "reference": reference, "answer": answer, "base_answer": base,
                        "exact_match": float(answer == reference)})
    chat_parent = next(r["id"] for r in store.list_runs(db) if r["name"] == "Support answers, LoRA")
    chat = {
        "headline": "perplexity 3.41, exact match 12%, token-F1 61%, ROUGE-L 58% on 8 conversations",
        "metrics": {"eval_loss": 1.227, "eval_perplexity": 3.41, "eval_exact_match": 0.125, "eval_token_f1": 0.61, "eval_rouge_l": 0.58},
        "rows": 8, "file_rows": 40, "answers": answers, "task": "chat", "title": "Support answers, LoRA",
        "data": "/home/ada/data/support_held_out.jsonl",
    }
    ids["chat_evaluation"] = _sample_evaluation(client, chat_parent, chat)
    from gui.state.results import record_verdict, review_order

    for number, (index, side) in enumerate(review_order(ids["chat_evaluation"], len(answers))[:3]):
        record_verdict(client, ids["chat_evaluation"], index, side, "tie" if number == 2 else side)  # two wins, a tie
    return ids


def _sample_evaluation(client: Any, parent_id: int, result: dict[str, Any]) -> int:
    import json

    config = {"kind": "evaluate", "model": str(parent_id), "data": result["data"], "task": result["task"], "max_examples": 200,
              "side_by_side": 8, "max_new_tokens": 64, "name": "", "device": "auto", "precision": "fp32"}
    name = f"Evaluation of run {parent_id} on {Path(result['data']).name}"
    run_id = store.create_run(client.db, kind="evaluate", config=config | {"name": name}, name=name, parent_id=parent_id,
                              status=Status.COMPLETED)
    folder = Path(client.home) / "runs" / f"{run_id:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evaluation.json"
    result = result | {"model": str(parent_id)}
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    store.add_metrics(client.db, run_id, 0, result["metrics"])
    store.add_artifact(client.db, run_id, "evaluation", path, task=result["task"], headline=result["headline"], **result["metrics"])
    store.update_run(client.db, run_id, run_dir=str(folder), progress=1.0, step=1, total_steps=1, finished_at=time.time())
    return run_id
# ---------------------------------------------------------------- the Playground


def sample_playground(db: Database, home: Path, chat_run: int) -> int:
    """A conversation with the finished chat run (its model and the model it started from, side by side), and a
    finished classifier whose model process has just classified a text; returns the classifier run's id."""
    import json

    from engine import playground

    now = time.time()
    classifier = add_run(db, home, "Support tickets by topic", data=str(home / "sample-data" / "support_tickets.csv"))
    trainer = SampleTrainer(db, classifier, total_steps=300, eval_every=50, seed=5)
    trainer.train_steps(300)
    trainer.finish(started_at=now - 900, created_at=now - 1000)
    probabilities = {"delivery": 0.81, "billing": 0.12, "account": 0.04, "sales": 0.02, "bug": 0.01}
    result = {"labels": [{"label": k, "probability": v} for k, v in probabilities.items()], "multi_label": False,
              "threshold": 0.5, "chosen": ["delivery"], "truncated": False}
    db["playground"].insert({
        "run_id": classifier, "model": "tuned", "text": "The courier says it was delivered but there is nothing at my door.",
        "status": "done", "result": json.dumps(result), "updates": 1, "created_at": now, "updated_at": now,
    })
    db["playground_servers"].insert({"run_id": classifier, "status": "ready", "started_at": now, "updated_at": now})
    conversation = [{"role": "user", "content": "My order arrived damaged. What can I do?"}]
    answers = {
        "tuned": ["I'm sorry your order arrived damaged! Send us a photo of the damage with your order number "
                  "through the Help page and we will send a replacement or refund you within 3 working days.",
                  "Yes: keep the packaging until we have replied, but there is no need to send anything back."],
        "base": ["Damaged items can be a frustrating experience. There are several options you may consider, "
                 "such as contacting the seller, checking the return policy, or leaving a review.",
                 "It depends on the seller's policy. Some sellers ask for the item back, others do not."],
    }
    for model, (first, second) in answers.items():
        turns = [*conversation, {"role": "assistant", "content": first},
                 {"role": "user", "content": "Do I have to send the broken one back?"}]
        for asked, output, tokens in ((conversation, first, 41), (turns, second, 23)):
            db["playground"].insert({
                "run_id": chat_run, "model": model, "conversation": json.dumps(asked), "status": "done",
                "settings": json.dumps(playground.DEFAULT_SETTINGS), "output": output, "tokens": tokens,
                "updates": tokens // 4 + 1, "first_token_seconds": 0.21, "tokens_per_second": 38.5,
                "created_at": now, "updated_at": now,
            })
    db["playground_servers"].insert({"run_id": chat_run, "status": "ready", "started_at": now, "updated_at": now})

    return classifier

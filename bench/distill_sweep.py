"""The classifier sweep of bench/distill.md: a 3-layer student of a fine-tuned MiniLM on NLU++ hotels,
trained with variants of the lesson, outside the recipe so that one process can try several on a slow CPU.

Same split (seed 0, 10% held out, stratified), student (teacher layers 1, 3, 6), optimizer (the engine's
AdamW groups), cosine schedule with 5% warm-up, gradient clipping 1.0, batch 32, max length 48 and
micro-F1 at threshold 0.5 as a `distill` run; no database, no checkpoints. Its altered copies were written
before the recipe's `altered_copies` and differ in detail (a splice cuts each text near its middle, and a
copy may come out unchanged).

    python bench/distill_sweep.py TEACHER_FOLDER '[{"lr": 1e-4}, {"lr": 1e-4, "alpha": 0.5, "aug": 2}]' 116 12

Each variant: lr, alpha (0: plain), T, aug (altered copies per text, soft labels only), hidden (weight of
the mean squared error between each student layer's output and the teacher layer it was copied from),
layers (3 unless given; 6 trains the whole teacher on), save (a folder to save the model in), base (cut the
student from this model, the one the teacher started from, instead of from the teacher).
Prints one JSON line per variant: best and final held-out micro-F1 and the curve every EVAL_EVERY steps.
"""
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    get_cosine_schedule_with_warmup,
)

from engine.data.classification import load_classification
from engine.data.splits import split_indices
from engine.models.surgery import keep_layers
from engine.classifier_steps import batch_of as _batch, evaluate as _evaluate, targets_of as _targets
from engine.training import make_optimizer

torch.set_num_threads(2)
TEACHER = sys.argv[1]
variants = json.loads(sys.argv[2])
steps = int(sys.argv[3]); eval_every = int(sys.argv[4])
data = load_classification(ROOT / "resources" / "demo" / "hotel_intents.jsonl")
strata = [l[0] if l else "" for l in data.labels]
tr, ev = split_indices(len(data.texts), 0.1, 0, strata=strata)
teacher = AutoModelForSequenceClassification.from_pretrained(TEACHER).eval().requires_grad_(False)
tok = AutoTokenizer.from_pretrained(TEACHER)
labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
index = {n: i for i, n in enumerate(labels)}
tt, tl = [data.texts[i] for i in tr], [data.labels[i] for i in tr]
et, el = [data.texts[i] for i in ev], [data.labels[i] for i in ev]
ML = 48
ids = lambda texts: tok(texts, truncation=True, max_length=ML)["input_ids"]
tr_ids, ev_ids = ids(tt), ids(et)
tr_y, ev_y = _targets(tl, index, True), _targets(el, index, True)
dev = torch.device("cpu")
print("teacher", _evaluate(teacher, tok, ev_ids, ev_y, True, 0.5, dev)["eval_f1"], flush=True)

def teacher_out(idlist):
    outs = []
    with torch.inference_mode():
        for s in range(0, len(idlist), 64):
            b = _batch(tok, idlist, torch.zeros(len(idlist), 1), list(range(s, min(s + 64, len(idlist)))), dev)
            outs.append(teacher(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits.float())
    return torch.cat(outs)

rng = random.Random(0)
words_pool = [w for t in tt for w in t.split()]
def augment(text):
    w = text.split()
    kind = rng.random()
    if len(w) < 3: return text if kind < 0.5 else text + " " + rng.choice(words_pool)
    if kind < 0.34:  # word dropout
        k = [x for x in w if rng.random() > 0.2] or w[:1]
    elif kind < 0.67:  # replace with a word from another example
        k = [rng.choice(words_pool) if rng.random() < 0.2 else x for x in w]
    else:  # splice: first part of this text + end of another
        other = rng.choice(tt).split()
        k = w[: max(1, len(w) // 2 + rng.randint(-1, 1))] + other[len(other) // 2:]
    return " ".join(k)

soft_cache = {}
def run(v):
    torch.manual_seed(0); random.seed(0)
    if v.get("base"):  # the same shape cut from the model the teacher started from (never taught by it)
        from engine.classifier_steps import start_at_label_prior as _start_at_label_prior
        untaught = AutoModelForSequenceClassification.from_pretrained(
            v["base"], num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=index,
            problem_type="multi_label_classification")
        _start_at_label_prior(untaught, tl, index, True)
        student, kept = keep_layers(untaught, v.get("layers", 3))
    else:
        student, kept = keep_layers(teacher, v.get("layers", 3))
    student.train()
    n_aug = v.get("aug", 0)
    all_ids, is_orig = list(tr_ids), [True] * len(tr_ids)
    y = tr_y
    alpha, T = v.get("alpha", 0.0), v.get("T", 2.0)
    if n_aug:
        key = n_aug
        if key not in soft_cache:
            global rng
            rng = random.Random(0)
            aug_texts = [augment(t) for _ in range(n_aug) for t in tt]
            soft_cache[key] = (ids(aug_texts), aug_texts)
        a_ids = soft_cache[key][0]
        all_ids = all_ids + a_ids; is_orig += [False] * len(a_ids)
        y = torch.cat([tr_y, torch.zeros(len(a_ids), tr_y.shape[1])])
    soft = teacher_out(all_ids) if alpha > 0 else None
    orig_mask = torch.tensor(is_orig)
    cfg = SimpleNamespace(weight_decay=0.01)
    opt = make_optimizer(student, cfg, v["lr"], dev)
    sch = get_cosine_schedule_with_warmup(opt, round(0.05 * steps), steps)
    g = torch.Generator().manual_seed(0)
    order = []
    best, curve, t0 = 0, [], time.time()
    hw = v.get("hidden", 0.0)
    for step in range(1, steps + 1):
        if not order: order = torch.randperm(len(all_ids), generator=g).tolist()
        rows, order = order[:32], order[32:]
        b = _batch(tok, all_ids, y, rows, dev)
        out = student(input_ids=b["input_ids"], attention_mask=b["attention_mask"], output_hidden_states=hw > 0)
        logits = out.logits.float()
        om = orig_mask[rows]
        hard = F.binary_cross_entropy_with_logits(logits, b["targets"], reduction="none").mean(1)
        hard = (hard * om).sum()
        loss = hard if soft is None else 0.0
        if soft is not None:
            st, te = logits / T, soft[rows] / T
            p = torch.sigmoid(te)
            kl = (F.binary_cross_entropy_with_logits(st, p, reduction="none") - F.binary_cross_entropy_with_logits(te, p, reduction="none")).mean(1)
            w_soft = torch.where(om, torch.full_like(kl, alpha), torch.ones_like(kl) * v.get("aug_alpha", 1.0))
            w_hard = 1 - alpha
            loss = (w_soft * T * T * kl).sum() + w_hard * hard
        if hw > 0:
            with torch.no_grad():
                th = teacher(input_ids=b["input_ids"], attention_mask=b["attention_mask"], output_hidden_states=True).hidden_states
            m = b["attention_mask"].unsqueeze(-1).float()
            hl = 0
            for i, k in enumerate(kept):
                hl = hl + (((out.hidden_states[i + 1] - th[k + 1]) ** 2).mean(-1, keepdim=True) * m).sum((1, 2)) / m.sum((1, 2))
            loss = loss + hw * hl.sum() / len(kept)
        (loss / len(rows)).backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step(); sch.step(); opt.zero_grad()
        if step % eval_every == 0 or step == steps:
            student.eval()
            with torch.no_grad():
                f1 = _evaluate(student, tok, ev_ids, ev_y, True, 0.5, dev)["eval_f1"]
            student.train()
            curve.append(round(f1, 3)); best = max(best, f1)
    if v.get("save"):  # e.g. a stronger teacher: all 6 layers trained on, saved for a later sweep
        student.save_pretrained(v["save"])
        tok.save_pretrained(v["save"])
    print(json.dumps({"v": v, "best": round(best, 4), "final": curve[-1], "curve": curve, "s": round(time.time() - t0)}), flush=True)

for v in variants:
    run(v)

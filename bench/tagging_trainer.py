"""The baseline for bench/tagging.md: the plain Hugging Face token-classification recipe (the shape of
transformers' examples/pytorch/token-classification/run_ner.py) on the same model, data and epochs as the
app's run, scored on the same test set with seqeval.

    python bench/tagging_trainer.py --train ../shared/data/ncbi-disease/train.conll.tsv \
        --test ../shared/data/ncbi-disease/test.conll.tsv --epochs 3 --learning-rate 1e-4 --out /tmp/trainer
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import engine  # noqa: E402, F401  (its torchvision guard: a CPU torch beside PyPI's CUDA-built torchvision)
import numpy as np  # noqa: E402
from seqeval.metrics import classification_report, f1_score  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification, Trainer, TrainingArguments, set_seed,
)

from engine.models.catalog import resolve  # noqa: E402  (only to find the bundled model's folder)


def read_conll(path: str) -> tuple[list[list[str]], list[list[str]]]:
    sentences, tags, words, labels = [], [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            word, tag = line.split("\t")[0], line.split("\t")[-1]
            words.append(word), labels.append(tag)
        elif words:
            sentences.append(words), tags.append(labels)
            words, labels = [], []
    return sentences, tags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training sentences")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/tagging-trainer")
    args = parser.parse_args()

    started = time.monotonic()
    model_path = str(resolve("demo:minilm").path)
    train_words, train_tags = read_conll(args.train)
    if args.limit:
        train_words, train_tags = train_words[: args.limit], train_tags[: args.limit]
    test_words, test_tags = read_conll(args.test)
    names = sorted({t for tags in train_tags for t in tags}, key=lambda t: (t != "O", t))
    index = {n: i for i, n in enumerate(names)}
    tokenizer = AutoTokenizer.from_pretrained(model_path)

    def encode(sentences: list[list[str]], tags: list[list[str]]) -> list[dict]:
        """Words to pieces; each word's label on its first piece, the other pieces ignored (-100)."""
        encoded = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=args.max_length)
        rows = []
        for row, row_tags in enumerate(tags):
            previous, labels = None, []
            for word in encoded.word_ids(row):
                labels.append(-100 if word is None or word == previous else index[row_tags[word]])
                previous = word
            rows.append({"input_ids": encoded["input_ids"][row], "attention_mask": encoded["attention_mask"][row], "labels": labels})
        return rows

    train = encode(train_words, train_tags)
    test = encode(test_words, test_tags)
    set_seed(args.seed)  # the new head's first weights too, not only the Trainer's shuffling
    model = AutoModelForTokenClassification.from_pretrained(
        model_path, num_labels=len(names), id2label=dict(enumerate(names)), label2id=index, use_safetensors=True,
    )
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=args.out, num_train_epochs=args.epochs, learning_rate=args.learning_rate,
            per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=64, weight_decay=0.01,
            save_strategy="no", eval_strategy="no", report_to=[], logging_steps=50, seed=args.seed, use_cpu=True,
        ),
        train_dataset=train,
        data_collator=DataCollatorForTokenClassification(tokenizer),
    )
    trainer.train()
    trained = time.monotonic() - started
    logits = trainer.predict(test).predictions
    predicted_tags = []
    for row, tags in enumerate(test_tags):
        labels = test[row]["labels"]
        guesses = [names[int(np.argmax(logits[row][i]))] for i, label in enumerate(labels) if label != -100]
        predicted_tags.append(guesses + ["O"] * (len(tags) - len(guesses)))  # words cut by max_length
    result = {
        "path": "HF Trainer", "train_sentences": len(train_words), "epochs": args.epochs, "learning_rate": args.learning_rate,
        "batch_size": args.batch_size, "seed": args.seed, "test_f1": f1_score(test_tags, predicted_tags),
        "train_seconds": round(trained, 1), "total_seconds": round(time.monotonic() - started, 1),
    }
    print(classification_report(test_tags, predicted_tags, digits=4))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

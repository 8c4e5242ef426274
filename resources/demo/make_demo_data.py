"""Rebuild the demo data from the shared datasets (see LICENSES.md for sources and licences).

    python resources/demo/make_demo_data.py [shared data folder]

hotel_intents.jsonl: the 20 NLU++ hotel folds merged in order, only the text and its intents kept; NLU++
leaves the "intents" key out of rows that have none, and here they get an explicit empty list, so that every
row of the demo says what it means.

instructions.json: the first 120 rows of LLaMA-Factory's Alpaca demo whose instruction, input and answer
together are under 600 characters, unchanged: instructions SmolLM2 already answers well, for the
distillation demo (a teacher teaches what it knows; it cannot teach the identity demo's new name).

ncbi_disease_train.tsv, ncbi_disease_devel.tsv: the first 500 sentences of the NCBI disease corpus's training
file and the first 150 of its development file, unchanged (one word and its BIO tag per line), for the
entity-tagging demo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data"
SHORT, INSTRUCTIONS = 600, 120
TAGGED_SENTENCES = {"train": 500, "devel": 150}


def main(shared: Path = DEFAULT_SOURCE) -> None:
    rows = []
    for fold in range(20):
        for record in json.loads((shared / "nlupp" / "hotels" / f"fold{fold}.json").read_text(encoding="utf-8")):
            rows.append({"text": record["text"], "intents": record.get("intents", [])})
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    (HERE / "hotel_intents.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows to {HERE / 'hotel_intents.jsonl'}")

    alpaca = json.loads((shared / "llamafactory" / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    short = [r for r in alpaca if len(r["instruction"]) + len(r.get("input", "")) + len(r["output"]) < SHORT][:INSTRUCTIONS]
    (HERE / "instructions.json").write_text(json.dumps(short, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(short)} rows to {HERE / 'instructions.json'}")

    for split, count in TAGGED_SENTENCES.items():
        sentences = (shared / "ncbi-disease" / f"{split}.conll.tsv").read_text(encoding="utf-8").strip().split("\n\n")
        (HERE / f"ncbi_disease_{split}.tsv").write_text("\n\n".join(sentences[:count]) + "\n", encoding="utf-8")
        print(f"wrote {count} sentences to {HERE / f'ncbi_disease_{split}.tsv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)

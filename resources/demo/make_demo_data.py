"""Rebuild the demo data from the shared datasets (see LICENSES.md for sources and licences).

    python resources/demo/make_demo_data.py [shared data folder]

hotel_intents.jsonl: the 20 NLU++ hotel folds merged in order, only the text and its intents kept; NLU++
leaves the "intents" key out of rows that have none, and here they get an explicit empty list, so that every
row of the demo says what it means.

instructions.json: the first 120 rows of LLaMA-Factory's Alpaca demo whose instruction, input and answer
together are under 600 characters, unchanged: instructions SmolLM2 already answers well, for the
distillation demo (a teacher teaches what it knows; it cannot teach the identity demo's new name).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data"
SHORT, INSTRUCTIONS = 600, 120


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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)

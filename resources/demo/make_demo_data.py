"""Rebuild hotel_intents.jsonl from the NLU++ hotel folds (see LICENSES.md for source and licence).

    python resources/demo/make_demo_data.py [NLU++ hotels folder]

The 20 folds are merged in order and only the text and its intents are kept; NLU++ leaves the
"intents" key out of rows that have none, and here they get an explicit empty list, so that every row
of the demo says what it means.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data" / "nlupp" / "hotels"


def main(source: Path = DEFAULT_SOURCE) -> None:
    rows = []
    for fold in range(20):
        for record in json.loads((source / f"fold{fold}.json").read_text(encoding="utf-8")):
            rows.append({"text": record["text"], "intents": record.get("intents", [])})
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    (HERE / "hotel_intents.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows to {HERE / 'hotel_intents.jsonl'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)

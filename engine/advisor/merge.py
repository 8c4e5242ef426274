"""The filled-in "label next" CSV merged back into the training data, then checked by the data doctor.
Torch-free: the window merges and checks without loading a model."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

#: Columns of the CSV written for the person to fill in.
TEXT, LABEL, SUGGESTED, WHY = "text", "label", "model_guess", "why"
#: Several categories in the label cell are separated by this.
SEPARATOR = ";"


def merge_labelled(filled: str | Path, training: str | Path, text_column: str, label_column: str,
                   multi_label: bool, folder: Path) -> tuple[Path, int]:
    """The training data with the rows of the filled-in CSV that got a label, as a new JSON Lines file in
    the training file's own columns (the original is never changed). Returns it and the rows added."""
    from engine.data.formats import read_records

    rows = [dict(r) for r in read_records(training)]
    added = 0
    with Path(filled).open(encoding="utf-8-sig", newline="") as file:
        for record in csv.DictReader(file):
            text, label = (record.get(TEXT) or "").strip(), (record.get(LABEL) or "").strip()
            if not text or not label:
                continue
            names = [n.strip() for n in label.split(SEPARATOR) if n.strip()]
            rows.append({text_column: text, label_column: names if multi_label else names[0]})
            added += 1
    folder.mkdir(parents=True, exist_ok=True)
    merged = folder / f"{Path(training).stem}+labelled.jsonl"
    with merged.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return merged, added


def merge_and_check(db, home: Path, filled: str | Path, training: str | Path, text_column: str, label_column: str,
                    multi_label: bool) -> dict[str, Any]:
    """Merge, then run the data doctor on the merged copy (duplicates, conflicting labels, categories the
    training data never had): its outcome, with the new file and the rows added."""
    from engine.checkup import run_checkup

    merged, added = merge_labelled(filled, training, text_column, label_column, multi_label, home / "datasets")
    outcome = run_checkup(db, home, merged, "classify", text_column=text_column, label_column=label_column)
    return outcome | {"merged": str(merged), "added": added}

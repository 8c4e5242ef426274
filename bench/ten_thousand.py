"""A 10,000-row text classification set for the time forecast's benchmark (bench/forecast_demos.py), built
from the public data in ../shared/data, as a person's own export would be: one CSV, a text and a category.

    python bench/ten_thousand.py OUT.csv

Its 10,375 rows: every sentence of NCBI-disease (train, devel and test), sorted into 'mentions a disease' or
'no disease named'; every request of NLU++, sorted into 'banking' or 'hotels'. What is measured with it is
time (how many rows, how long each is), not a score worth reporting.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sentences(path: Path):
    words, disease = [], False
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if words:
                yield " ".join(words), "mentions a disease" if disease else "no disease named"
            words, disease = [], False
            continue
        word, _, tag = line.partition("\t")
        words.append(word)
        disease |= tag.strip() != "O"


def main(out: Path) -> None:
    rows = [row for name in ("train", "devel", "test") for row in sentences(DATA / "ncbi-disease" / f"{name}.conll.tsv")]
    for domain in ("banking", "hotels"):
        for fold in sorted((DATA / "nlupp" / domain).glob("fold*.json")):
            rows += [(example["text"], domain) for example in json.loads(fold.read_text())]
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    print(f"{len(rows)} rows written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

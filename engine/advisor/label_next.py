"""What to label next: of a file of texts nobody has labelled yet, the ones whose labels would teach the
model most, written to a CSV to fill in; and the filled-in CSV merged back into the training data.

A text is worth labelling when the model is unsure of it (the linear probe's top two categories are close,
or, with several categories per text, its probabilities sit near one half) and when it is unlike the texts
already labelled and already picked (else ten near-copies of one unsure text would fill the list). The
pick is greedy: each next text maximises uncertainty x distance to everything labelled or picked so far
(a weighted farthest-point choice on the frozen features).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.advisor.probes import Targets, linear_fit, linear_probabilities, standardized

from engine.advisor.merge import LABEL, SEPARATOR, SUGGESTED, TEXT, WHY


@dataclass
class Pick:
    row: int  # in the unlabelled file
    text: str
    uncertainty: float  # 0 sure .. 1 unsure
    guess: list[str]
    why: str


def uncertainty(probabilities: np.ndarray, multi_label: bool) -> np.ndarray:
    """0 when the model is sure, 1 when it cannot tell (margin of the top two; distance from 0/1)."""
    if multi_label:
        return (1 - np.abs(2 * probabilities - 1)).max(axis=1)
    top = np.sort(probabilities, axis=1)[:, ::-1]
    return 1 - (top[:, 0] - (top[:, 1] if top.shape[1] > 1 else 0))


def choose(labelled: np.ndarray, targets: Targets, unlabelled: np.ndarray, count: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The `count` rows of `unlabelled` to label first, in order; with the probabilities and uncertainties."""
    keep = targets.usable()
    train, pool = standardized(labelled[keep], unlabelled)
    weight, bias = linear_fit(train, targets.take(keep))
    probabilities = linear_probabilities(weight, bias, pool, targets.multi_label)
    unsure = uncertainty(probabilities, targets.multi_label)
    unit = lambda x: x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)  # noqa: E731
    pool_unit, seen = unit(pool), unit(train)
    # Cosine distance to the nearest labelled text, updated as texts are picked.
    nearest = 1 - np.max(pool_unit @ seen.T, axis=1) if len(seen) else np.ones(len(pool))
    picked: list[int] = []
    for _ in range(min(count, len(pool))):
        value = (unsure + 1e-3) * np.clip(nearest, 0, None)
        value[picked] = -1
        best = int(np.argmax(value))
        picked.append(best)
        nearest = np.minimum(nearest, 1 - pool_unit @ pool_unit[best])
    return picked, probabilities, unsure


def reason(probabilities: np.ndarray, names: list[str], multi_label: bool) -> tuple[list[str], str]:
    """The model's guess for one text and why it is worth labelling, in words."""
    if multi_label:
        guess = [names[i] for i in np.flatnonzero(probabilities >= 0.5)]
        doubtful = [names[i] for i in np.argsort(np.abs(probabilities - 0.5))[:2]]
        return guess, f"The model cannot tell whether it is {' or '.join(repr(d) for d in doubtful)}."
    first, second = np.argsort(probabilities)[::-1][:2]
    return [names[first]], (f"The model hesitates between '{names[first]}' ({probabilities[first]:.0%}) and "
                            f"'{names[second]}' ({probabilities[second]:.0%}).")


def write_csv(path: Path, picks: list[Pick]) -> Path:
    """The CSV to fill in: the text, an empty label column, the model's guess and why it was picked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([TEXT, LABEL, SUGGESTED, WHY])
        for pick in picks:
            writer.writerow([pick.text, "", SEPARATOR.join(pick.guess), pick.why])
    return path


def read_unlabelled(path: str | Path, text_column: str = "") -> list[str]:
    """Texts from any file the app reads (a .txt file is one text per line); duplicates and empties left out."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    else:
        from engine.data.classification import TEXT_NAMES
        from engine.data.formats import read_records

        records = read_records(path)
        columns = list(records[0]) if records else []
        column = text_column or next((c for c in columns if c.lower() in TEXT_NAMES), columns[0] if columns else "")
        lines = [str(r.get(column) or "") for r in records]
    seen, texts = set(), []
    for line in (text.strip() for text in lines):
        if line and line not in seen:
            seen.add(line)
            texts.append(line)
    return texts

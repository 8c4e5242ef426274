"""Setting examples aside for evaluation when the user gave no evaluation file.

The split must be the same every time for the same data and seed (a resumed run, or a second run to
compare with, has to be scored on the same rows), and for classification every class that can spare an
example should be in it, or the per-class table has holes exactly where the user looks first.
"""

from __future__ import annotations

import random
from collections import defaultdict

from engine.data.errors import DataError


def split_indices(
    n: int, eval_fraction: float, seed: int, strata: list[str] | None = None
) -> tuple[list[int], list[int]]:
    """Row indices for training and for evaluation, each sorted; together they are ``range(n)``.

    About ``eval_fraction`` of the rows go to evaluation, at least one, and at least one stays for
    training. With ``strata`` (one key per row, usually its label) the split is made within each key:
    every key with 2 or more rows gives at least one to evaluation, and a key with a single row keeps it
    for training, since a class the model never saw cannot be learned. With many small classes this
    puts more than ``eval_fraction`` of the rows into evaluation; that is the price of scoring every
    class. For multi-label data, pass one key per row, such as its rarest or first label, or "" for
    rows without labels.

    Raises DataError when there are fewer than 2 rows.
    """
    if n < 2:
        raise DataError("split.too_few", rows=n)
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval_fraction must be between 0 and 1, not {eval_fraction}")
    if strata is not None and len(strata) != n:
        raise ValueError(f"{len(strata)} strata given for {n} rows")
    rng = random.Random(seed)
    eval_rows = _stratified(strata, eval_fraction, rng) if strata is not None else []
    if not eval_rows:  # no strata, or every class has a single row: split the rows as one group
        shuffled = rng.sample(range(n), n)
        eval_rows = shuffled[: _share(n, eval_fraction)]
    chosen = set(eval_rows)
    return [i for i in range(n) if i not in chosen], sorted(chosen)


def _stratified(strata: list[str], eval_fraction: float, rng: random.Random) -> list[int]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(strata):
        groups[key].append(index)
    eval_rows = []
    for key in sorted(groups):  # sorted, so the random draws do not depend on the order rows come in
        members = groups[key]
        if len(members) >= 2:
            eval_rows += rng.sample(members, _share(len(members), eval_fraction))
    return eval_rows


def _share(size: int, fraction: float) -> int:
    """How many of ``size`` rows go to evaluation: the rounded fraction, but at least 1 and at most size-1."""
    return min(max(round(size * fraction), 1), size - 1)

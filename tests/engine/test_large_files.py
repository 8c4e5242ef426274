"""Large files are previewed from their head and counted as a stream, never held in memory whole: six
times the rows take about the same memory to count."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest

from engine.data.formats import count_records
from engine.data.preview import describe_file

LABELS = ("billing", "rooms", "spa")


def rows(count: int) -> list[dict]:
    return [{"text": f"request number {i} about my booking", "label": LABELS[i % 3]} for i in range(count)]


def write(folder: Path, kind: str, count: int) -> Path:
    path = folder / f"{count}.{kind}"
    if kind == "csv":
        path.write_text("text;label\n" + "".join(f"{row['text']};{row['label']}\n" for row in rows(count)))
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows(count)))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows(count)), path, row_group_size=5_000)
    return path


def counted_with_peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = count_records(path)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_counting_takes_the_same_memory_for_six_times_the_rows(tmp_path, kind):
    small, big = write(tmp_path, kind, 10_000), write(tmp_path, kind, 60_000)
    (small_count, small_peak), (big_count, big_peak) = counted_with_peak(small), counted_with_peak(big)
    assert (small_count, big_count) == (10_000, 60_000)
    print(f"{kind}: peak {small_peak / 1024:.0f} KiB for 10,000 rows, {big_peak / 1024:.0f} KiB for 60,000")
    assert big_peak < small_peak + 2**20  # rows held in memory would take tens of MB; the read chunk is 1 MiB

    started = time.perf_counter()
    description = describe_file(big)
    assert time.perf_counter() - started < 1.0
    assert description.rows == rows(50) and (description.text_column, description.label_column) == ("text", "label")

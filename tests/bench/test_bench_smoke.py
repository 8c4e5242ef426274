"""The speed benchmark (bench/run.py) still runs, and its engine path computes the same loss as the Trainer."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_run_writes_a_line_per_path_and_the_table_and_the_losses_agree(tmp_path):
    bench = load_bench()
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n<!-- bench:table -->\npending\n<!-- /bench:table -->\n\nThe end.\n")
    out = tmp_path / "results.jsonl"
    bench.main(["--smoke", "--out", str(out), "--readme", str(readme)])

    rows = {row["path"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"engine", "stock", "tuned"}
    assert all(row["tokens_per_second"] > 0 and len(row["losses"]) == row["steps"] for row in rows.values())
    # Same seed, weights and data: the packed, chunked loss is the Trainer's padded loss, step for step.
    engine_first = rows["engine"]["losses"][0]
    for baseline in ("stock", "tuned"):
        assert abs(rows[baseline]["losses"][0] - engine_first) <= 1e-4 * engine_first
        assert rows[baseline]["loss_diff"] < 1e-3
        assert rows[baseline]["engine_ratio"] > 0
    text = readme.read_text()
    assert "| smoke | engine |" in text and "| smoke | stock |" in text and "pending" not in text
    assert text.startswith("# Benchmarks") and text.rstrip().endswith("The end.")

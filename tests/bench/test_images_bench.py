"""The image benchmark (bench/images.py) still runs: the app's run and the plain timm loop, side by side on timm's
tiny test network, each with its speed, data-loader share and test accuracy, with the same decided settings."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_images", ROOT / "bench" / "images.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_app_and_the_plain_loop_train_on_the_same_pictures_and_settings(tmp_path):
    bench = load_bench()
    out = tmp_path / "rows.jsonl"
    rows = bench.main(["--model", "timm:test_efficientnet", "--size", "32", "--epochs", "1", "--batch", "16",
                       "--per-category", "8", "--work", str(tmp_path / "work"), "--out", str(out)])

    assert [row["path"] for row in rows] == ["app", "plain timm loop"]
    app, plain = rows
    for row in rows:
        assert row["images_per_second"] > 0 and row["steps"] > 0
        assert 0 <= row["data_share"] < 1 and 0 <= row["test_accuracy"] <= 1
    assert app["pictures"] == plain["pictures"] == {"train": 50, "val": 10, "test": 20}
    assert (app["learning_rate"], app["workers"]) == (plain["learning_rate"], plain["workers"])
    assert app["check_seconds"] > 0  # the app's checks on val/ are timed apart from its training
    assert [json.loads(line)["path"] for line in out.read_text().splitlines()] == ["app", "plain timm loop"]

"""The figures of bench/distill_images.md: the image demo as shipped (`tunewright-engine example images`:
EfficientNet-Lite0 on the bundled texture photos) trains the teacher, which then teaches a student of half its
blocks with every distillation setting left to the app. Prints the report's figures as one JSON line.

    PYTHONPATH=. python bench/distill_images.py [--home FOLDER] [--teacher RUN] [--set student_layers=7 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine import store  # noqa: E402
from engine.config import from_dict  # noqa: E402
from engine.job import run_job  # noqa: E402
from engine.jobs import submit  # noqa: E402
from engine.tasks import TASKS  # noqa: E402


def run(home: Path, values: dict) -> int:
    db = store.open_db(store.database_path(home))
    run_id = submit(db, from_dict(values), home=home)
    run_job(run_id, home)
    run = store.get_run(db, run_id)
    if run["status"] != "completed":
        raise SystemExit(f"run {run_id} ended {run['status']}: {run['error']}\n{run['error_detail']}")
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default="")
    parser.add_argument("--teacher", type=int, default=0, help="a finished demo run in --home to teach (else trained first)")
    parser.add_argument("--set", nargs="*", default=[], help="setting=value for the distillation")
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="tw-distill-images-"))
    os.environ["TUNEWRIGHT_HOME"] = str(home)

    demo = TASKS["images"].demo()
    started = time.monotonic()
    teacher = args.teacher or run(home, demo.to_dict())
    teacher_minutes = (time.monotonic() - started) / 60
    settings = {"kind": "distill", "teacher": f"run:{teacher}", "data": demo.data, "eval_data": demo.eval_data,
                "batch_size": demo.batch_size, "epochs": demo.epochs}
    settings |= {key: json.loads(value) if value[:1] in "0123456789[{tf" else value
                 for key, value in (item.split("=", 1) for item in args.set)}
    started = time.monotonic()
    student = run(home, settings)
    db = store.open_db(store.database_path(home))
    report = json.loads(Path(next(a["path"] for a in store.artifacts(db, student) if a["kind"] == "distill_report")).read_text())
    said = [e["message"] for e in store.events(db, student) if e["code"] in ("distill.plan", "distill.student_blocks")]
    print(json.dumps({
        "teacher_run": teacher, "student_run": student, "teacher_minutes": round(teacher_minutes, 1),
        "student_minutes": round((time.monotonic() - started) / 60, 1),
        **{f"{side}_{name}": report[side][name] for side in ("teacher", "student")
           for name in ("eval_accuracy", "eval_macro_f1", "parameters", "disk_bytes", "latency_ms", "examples_per_second")},
        "speedup": report["speedup"], "said": said,
    }))


if __name__ == "__main__":
    main()

"""The whole-run time forecast against real runs of the bundled demos on this machine (bench/advisor.md).

    python bench/forecast_demos.py OUT_FOLDER [--rows N]

Each demo's config (`tunewright-engine example KIND`; `images` sorts the bundled sample photos), on its first
N examples where asked (a folder of pictures is always taken whole), or any job config
file given with --config, planned and started as the window does it: the plan made by `tunewright-engine plan`
(a process of its own), the run submitted with the plan's settings and sentences, its job process launched.
The run is timed as its person waits for it, from the moment it is recorded to its saved model (a
distillation's, with its plain student, to the end of both). One JSON line per job: forecast, its parts, the
time taken and the error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_as_the_window_does(plan: dict, home: Path) -> tuple[float, dict]:
    """Submit the planned config with its plan's sentences, start its job process, wait; (seconds, run row)."""
    from engine import jobs, store
    from engine.config import from_dict
    from engine.planner import record_plan

    db = store.open_db(store.database_path(home))
    run_id = jobs.submit(db, from_dict(plan["config"]), home=home)
    record_plan(db, run_id, plan)
    jobs.start_next(db, home=home)
    while not store.get_run(db, run_id)["finished_at"]:
        time.sleep(0.5)
    run = store.get_run(db, run_id)
    last = max([run["finished_at"]] + [r["finished_at"] or time.time() for r in db["runs"].rows_where("parent_id = ?", [run_id])])
    return last - run["created_at"], run


def engine(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNEWRIGHT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def subset(path: Path, rows: int, out: Path) -> Path:
    if path.is_dir():  # a folder of pictures: all of them
        return path
    if path.suffix == ".jsonl":
        lines = path.read_text().splitlines()[:rows]
        target = out / path.name
        target.write_text("\n".join(lines) + "\n")
        return target
    data = json.loads(path.read_text())[:rows]
    target = out / path.name
    target.write_text(json.dumps(data))
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=0, help="first N examples of each demo (0: all)")
    parser.add_argument("--kinds", default="classify,tag,chat,distill,images")
    parser.add_argument("--config", action="append", default=[], type=Path, help="a job config file, besides the demos")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = args.out / "home"
    os.environ["TUNEWRIGHT_HOME"] = str(home)
    jobs = [(kind, json.loads(engine("example", kind, home=home).stdout)) for kind in args.kinds.split(",") if kind]
    jobs += [(path.stem, json.loads(path.read_text())) for path in args.config]
    for name, config in jobs:
        if args.rows:
            config["data"] = str(subset(Path(config["data"]), args.rows, args.out))
        config["device"] = "cpu"
        for override in args.overrides:
            key, _, value = override.partition("=")
            config[key] = json.loads(value)
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(config))
        load_at_plan = os.getloadavg()[0]
        planned = engine("plan", str(path), "--json", home=home)
        if planned.returncode != 0:
            print(json.dumps({"job": name, "error": planned.stderr[-400:]}), flush=True)
            continue
        plan = json.loads(planned.stdout)
        took, run = run_as_the_window_does(plan, home)
        forecast = plan["time"]
        line = {"job": name, "rows": args.rows or "all", "forecast_seconds": forecast["seconds"],
                "parts": forecast["parts"], "seconds": took, "status": run["status"], "error": run["error"],
                "error_percent": round(100 * (forecast["seconds"] / took - 1), 1), "load": os.getloadavg()[0],
                "load_at_plan": load_at_plan}
        with (args.out / "forecast.jsonl").open("a") as file:
            file.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

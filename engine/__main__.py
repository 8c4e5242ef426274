"""`tunewright-engine` (also `python -m engine`): everything the engine does, without the window."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from engine import jobs, store
from engine.config import ConfigError, JobConfig, load
from engine.protocol import FINISHED, Status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tunewright-engine", description="Tunewright's engine, headless.")
    commands = parser.add_subparsers(dest="command", required=True)

    probe = commands.add_parser("probe", help="the hardware and library versions")
    probe.add_argument("--json", action="store_true")

    example = commands.add_parser("example", help="print a ready-to-run demo job config")
    example.add_argument("kind", choices=["classify", "chat", "distill"])

    run = commands.add_parser("run", help="start a job from a config file; prints the run id")
    run.add_argument("config", type=Path)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--detach", action="store_true", help="run in the background, outliving this command")

    listing = commands.add_parser("list", help="all runs")
    listing.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="one run")
    status.add_argument("run", type=int)
    status.add_argument("--json", action="store_true")

    for name, text in [("pause", "pause a run (it checkpoints and stops)"), ("resume", "continue a run from its checkpoint"), ("cancel", "stop a run for good")]:
        commands.add_parser(name, help=text).add_argument("run", type=int)

    ask = commands.add_parser("ask", help="ask a finished chat run's model a question")
    ask.add_argument("run", type=int)
    ask.add_argument("prompt")

    download = commands.add_parser("download", help="download a model from the Hugging Face Hub")
    download.add_argument("repo_id")

    job = commands.add_parser("job", help=argparse.SUPPRESS)  # the job process itself
    job.add_argument("run", type=int)

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, jobs.JobError) as problem:
        print(f"tunewright-engine: {problem}", file=sys.stderr)
        return 2
    except KeyError as missing:
        print(f"tunewright-engine: there is no run {missing}.", file=sys.stderr)
        return 2


def _db():
    return store.open_db(store.database_path())


def cmd_probe(args) -> int:
    from engine.hardware import probe

    found = probe(store.default_home())
    if args.json:
        print(json.dumps(found.to_dict(), indent=2))
    else:
        for device in found.devices:
            print(f"{device.type}:{device.index}  {device.name}  {device.total_memory / 2**30:.1f} GiB")
        if found.advice:
            print(found.advice)
    return 0


def cmd_example(args) -> int:
    from engine.demo import example

    print(json.dumps(example(args.kind).to_dict(), indent=2))
    return 0


def preflight(config: JobConfig) -> None:
    """Fail before a run exists for what can be checked without loading anything."""
    from engine.models.catalog import resolve

    for label, path in (("training data", config.data), ("evaluation data", config.eval_data)):
        if path and not Path(path).expanduser().exists():
            raise ConfigError(f"The {label} file {path} does not exist.")
    if config.kind == "distill":  # the teacher may be a run ('run:12'), which the catalog does not know
        from engine.models.students import find_teacher

        find_teacher(config.teacher, store.default_home(), allow_unsafe=config.allow_unsafe_weights)
        if config.student:
            resolve(config.student, allow_unsafe=config.allow_unsafe_weights)
        return
    resolve(config.model, allow_unsafe=config.allow_unsafe_weights)


def cmd_run(args) -> int:
    config = load(args.config, args.overrides)
    preflight(config)
    db, home = _db(), store.default_home()
    if args.detach:
        print(jobs.start(db, config, home=home))
        return 0
    run_id = jobs.submit(db, config, home=home)
    print(run_id, flush=True)
    if jobs.training_now(db):
        return _wait(db, run_id)  # another job trains: ours is started from the queue when it finishes
    from engine.job import run_job

    return _report(db, run_id, run_job(run_id, home))


def _wait(db, run_id: int) -> int:
    while (run := store.get_run(db, run_id))["status"] not in FINISHED | {Status.PAUSED, Status.INTERRUPTED}:
        time.sleep(1)
        jobs.reconcile(db)
    return _report(db, run_id, Status(run["status"]))


def _report(db, run_id: int, outcome: Status) -> int:
    run = store.get_run(db, run_id)
    if outcome == Status.FAILED:
        print(f"Run {run_id} failed: {run['error']}", file=sys.stderr)
        return 1
    best = f", best {run['best_metric_name']} {run['best_metric']:.4g}" if run["best_metric"] is not None else ""
    print(f"Run {run_id} {outcome}{best}. Folder: {run['run_dir']}", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    db = _db()
    jobs.reconcile(db)
    runs = store.list_runs(db)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    for run in runs:
        print(f"{run['id']:>5}  {run['status']:<11}  {run['progress'] * 100:5.1f}%  {run['name']}")
    return 0


def cmd_status(args) -> int:
    db = _db()
    jobs.reconcile(db)
    run = store.get_run(db, args.run)
    run["latest_metrics"] = store.latest_metrics(db, args.run)
    run["events"] = store.events(db, args.run)
    run["artifacts"] = store.artifacts(db, args.run)
    if args.json:
        print(json.dumps(run, indent=2))
    else:
        print(f"Run {run['id']} ({run['name']}): {run['status']}, step {run['step']} of {run['total_steps'] or '?'}")
        for event in run["events"]:
            print(f"  [{event['level']}] {event['message']}")
    return 0


def cmd_pause(args) -> int:
    jobs.pause(_db(), args.run)
    return 0


def cmd_resume(args) -> int:
    jobs.resume(_db(), args.run, home=store.default_home())
    return 0


def cmd_cancel(args) -> int:
    jobs.cancel(_db(), args.run)
    return 0


def cmd_ask(args) -> int:
    from engine.inference import ask

    print(ask(_db(), args.run, args.prompt))
    return 0


def cmd_download(args) -> int:
    from engine.models.catalog import download

    print(download(args.repo_id))
    return 0


def cmd_job(args) -> int:
    from engine.job import run_job

    outcome = run_job(args.run)
    return 0 if outcome != Status.FAILED else 1


COMMANDS = {
    "probe": cmd_probe,
    "example": cmd_example,
    "run": cmd_run,
    "list": cmd_list,
    "status": cmd_status,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "cancel": cmd_cancel,
    "ask": cmd_ask,
    "download": cmd_download,
    "job": cmd_job,
}

if __name__ == "__main__":
    sys.exit(main())

"""`tunewright-engine` (also `python -m engine`): everything the engine does, without the window."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sqlite_utils import Database

from engine import jobs, store
from engine.config import ConfigError, JobConfig, load
from engine.data.errors import DataError
from engine.protocol import FINISHED, Status, message
from engine.quoting import shown
from engine.tasks import TASKS, task as task_named


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tunewright-engine", description="Tunewright's engine, headless.")
    commands = parser.add_subparsers(dest="command", required=True)

    probe = commands.add_parser("probe", help="the hardware and library versions")
    probe.add_argument("--json", action="store_true")

    example = commands.add_parser("example", help="print a ready-to-run demo job config")
    example.add_argument("kind", choices=[*TASKS, "distill"])

    run = commands.add_parser("run", help="start a job from a config file; prints the run id")
    run.add_argument("config", type=Path)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--detach", action="store_true", help="run in the background, outliving this command")
    run.add_argument("--cluster", default="", metavar="NAME", help="train on a cluster added in the window, not here")

    submit = commands.add_parser("submit", help="record a run from a config file without starting it; prints its id")
    submit.add_argument("config", type=Path)
    rows = commands.add_parser("rows", help="a run's row, metrics and events newer than those given, as JSON")
    rows.add_argument("run", type=int)
    rows.add_argument("--after-metric", type=int, default=0)
    rows.add_argument("--after-event", type=int, default=0)
    requeued = commands.add_parser("requeued", help="on a cluster: a run the scheduler stopped waits in its queue")
    requeued.add_argument("run", type=int)
    requeued.add_argument("--why", choices=("preempted", "time_limit"), required=True)
    cancelled = commands.add_parser("cancelled-there", help="on a cluster: the job was cancelled there, not from the window")
    cancelled.add_argument("run", type=int)
    again = commands.add_parser("queued-again", help="on a cluster: a stopped run resumed from the window waits in the queue")
    again.add_argument("run", type=int)
    commands.add_parser("follow", help="copy the remote runs' news into this data folder until none is left")

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
    download.add_argument("--download-id", type=int, help=argparse.SUPPRESS)  # the window's download row

    models = commands.add_parser("models", help="every model on this computer (bundled, added, Hugging Face cache)")
    models.add_argument("--json", action="store_true")

    doctor = commands.add_parser("doctor", help="check a dataset for problems (and apply a fix to a copy)")
    doctor.add_argument("file", type=Path)
    doctor.add_argument("--task", choices=list(TASKS), required=True)
    doctor.add_argument("--model", default="", help="check lengths with this model's tokenizer")
    doctor.add_argument("--max-length", type=int, default=None, help="the length limit (default: the task's)")
    doctor.add_argument("--eval", type=Path, default=None, help="evaluation data, to check for overlap")
    doctor.add_argument("--text-column", default="")
    doctor.add_argument("--label-column", default="")
    for role in ("question", "answer", "context", "conversation"):
        doctor.add_argument(f"--{role}-column", default="", help=f"chat data in a table: the {role} column")
    doctor.add_argument("--format", default="", help="how to read the file (default: guessed)")
    doctor.add_argument("--delimiter", default="")
    doctor.add_argument("--header", choices=["yes", "no"], default=None)
    doctor.add_argument("--dataset", default="", help="the entry of a dataset_info.json to read")
    doctor.add_argument("--fix", default="", help="write a cleaned copy: drop_empty, drop_duplicates, ...")
    doctor.add_argument("--json", action="store_true")

    plan = commands.add_parser("plan", help="what a run of this config would decide, fit and take, without training")
    plan.add_argument("config", type=Path)
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    plan.add_argument("--json", action="store_true")

    export = commands.add_parser("export", help="export a finished run's model and check it loads back the same")
    export.add_argument("run", type=int)
    export.add_argument("--format", required=True, choices=["merged", "adapter", "gguf-f16", "gguf-q8_0", "onnx"])
    export.add_argument("--to", type=Path, default=None, help="the folder to write into")
    export.add_argument("--json", action="store_true")

    evaluate = commands.add_parser("evaluate", help="score a run's model, a model folder or a catalog model on held-out data")
    evaluate.add_argument("model", help="a run number, a model folder, or a catalog model such as demo:minilm")
    evaluate.add_argument("--data", required=True, type=Path)
    evaluate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    evaluate.add_argument("--json", action="store_true")

    play = commands.add_parser("playground", help="load a finished run's model and answer the Playground's questions")
    play.add_argument("run", type=int)
    play.add_argument("--idle-minutes", type=float, default=10.0, help="exit after this long without a question")

    selftest = commands.add_parser("selftest", help="try each GPU fast path beside the plain one; turn off those that disagree")
    selftest.add_argument("--json", action="store_true")
    selftest.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])

    from engine.advisor.cli import add_parser as advise_parser

    advise_parser(commands)

    job = commands.add_parser("job", help=argparse.SUPPRESS)  # the job process itself
    job.add_argument("run", type=int)

    args = parser.parse_args(argv)
    try:
        code = _answer(args)
        sys.stdout.flush()  # here, where a reader that has gone is caught, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`status 1 | head -1`): what it wanted was printed. Point stdout at nothing
        # so that Python's own flush at exit does not complain about the pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _answer(args) -> int:
    """Run the command; whatever stops it ends as one sentence on stderr, never a traceback."""
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        raise
    except (ConfigError, jobs.JobError) as problem:
        return _say(str(problem))
    except DataError as problem:
        if getattr(args, "json", False):  # for a program: what went wrong, by its code and values
            print(json.dumps({"error": str(problem), "code": problem.code, "values": problem.values}, default=str))
        return _say(str(problem))
    except KeyError as missing:
        if not hasattr(args, "run"):
            return _unexpected(missing)
        return _say(message("cli.no_run", run=shown(missing.args[0] if missing.args else "?"))[1])
    except store.DatabaseBusy as busy:
        return _say(str(busy))
    except sqlite3.DatabaseError as error:
        path = store.database_path()
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return _say(message("cli.database_busy", path=path)[1])
        if isinstance(error, sqlite3.OperationalError) and ("readonly" in str(error) or "unable to open" in str(error)):
            return _say(message("cli.read_only", path=path.parent, detail=shown(error))[1])
        return _say(message("cli.database_damaged", path=path, detail=shown(error))[1])
    except (PermissionError, IsADirectoryError, NotADirectoryError) as error:
        return _say(message("cli.read_only", path=shown(error.filename or store.default_home(), 200), detail=shown(error.strerror or error))[1])
    except OSError as error:
        if error.errno == 30:  # EROFS: the data folder is on a read-only disk
            return _say(message("cli.read_only", path=shown(error.filename or store.default_home(), 200), detail=shown(error.strerror))[1])
        return _unexpected(error)
    except Exception as error:  # noqa: BLE001 - the last line of defence: a sentence, and the details in a file
        return _unexpected(error)


def _say(sentence: str) -> int:
    print(f"tunewright-engine: {sentence}", file=sys.stderr)
    return 2


def _unexpected(error: BaseException) -> int:
    """A sentence for a failure nobody foresaw; the traceback goes into a log file, not onto the screen."""
    details = "".join(traceback.format_exception(error))
    log = None
    for folder in (store.default_home(), Path(tempfile.gettempdir())):
        try:
            with open(folder / "engine.log", "a", encoding="utf-8") as file:
                file.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n{details}")
            log = folder / "engine.log"
            break
        except OSError:
            continue
    what = shown(f"{type(error).__name__}: {error}", 120)
    print(f"tunewright-engine: {message('cli.unexpected', what=what, log=log or 'no file (none could be written)')[1]}", file=sys.stderr)
    return 1


def _db():
    return store.open_db(store.database_path())


def _db_to_read():
    """The database for a command that only reads it (list, status): opened read-only where the data folder
    cannot be written (a read-only disk, a folder restored without write permission), so the runs can still
    be seen. Returns (database, whether it can be written)."""
    try:
        return _db(), True
    except (PermissionError, sqlite3.OperationalError) as error:
        if isinstance(error, sqlite3.OperationalError) and not any(
            words in str(error) for words in ("readonly", "unable to open")
        ):
            raise
        original = error
    path = store.database_path()
    for options in ("mode=ro", "mode=ro&immutable=1"):  # immutable: no -shm file can be made beside it
        try:
            connection = sqlite3.connect(f"file:{path}?{options}", uri=True)
            connection.execute("SELECT count(*) FROM runs").fetchone()
            return Database(connection), False
        except sqlite3.Error:
            continue
    raise original


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


def preflight(config) -> None:
    """Fail before a run exists for what can be checked without loading anything."""
    from engine.models.catalog import resolve

    if not isinstance(config, JobConfig):  # an export or an evaluation: its run and files are checked as it starts
        return
    for label, path in (("training data", config.data), ("evaluation data", config.eval_data)):
        if not path:
            continue
        try:
            found = Path(path).expanduser().exists()
        except OSError:  # a name longer than the file system allows, or one it cannot hold
            found = False
        if not found:
            raise ConfigError(f"The {label} file {shown(path, 200)} does not exist.")
    if config.kind == "distill":  # the teacher may be a run ('run:12'), which the catalog does not know
        from engine.models.students import find_teacher

        find_teacher(config.teacher, store.default_home(), allow_unsafe=config.allow_unsafe_weights)
        if config.student:
            resolve(config.student, allow_unsafe=config.allow_unsafe_weights)
        return
    if task_named(config.kind).plan_alone is not None:  # its models are not transformers' ('timm:...'): it checks them as it plans
        return
    resolve(config.model, allow_unsafe=config.allow_unsafe_weights)


def cmd_run(args) -> int:
    config = load(args.config, args.overrides)
    preflight(config)
    db, home = _db(), store.default_home()
    if args.cluster:
        return _run_on_cluster(db, home, config, args.cluster)
    if args.detach:
        print(jobs.start(db, config, home=home))
        return 0
    run_id = jobs.submit(db, config, home=home)
    print(run_id, flush=True)
    # Taken at once, so a `--detach` or the window finding it queued meanwhile does not start it a second time.
    if jobs.training_now(db) or not jobs.claim(db, run_id):
        return _wait(db, run_id)  # another job trains: ours is started from the queue when it finishes
    from engine.job import run_job

    return _report(db, run_id, run_job(run_id, home))


def _run_on_cluster(db, home: Path, config, name: str) -> int:
    """Send the run to the cluster and leave: its news is copied here by the follower as it comes."""
    from engine import cluster

    where = cluster.find_cluster(name, home)
    run_id = cluster.take_run(where, db, home, config)
    print(run_id, flush=True)
    if not cluster.send_run(where, db, home, run_id):
        print(store.get_run(db, run_id)["error"], file=sys.stderr)
        return 1
    job = cluster.SyncState.read(db, run_id).job_id
    print(f"Run {run_id} waits in {where.name}'s queue as Slurm job {job}; its curves arrive here as it trains "
          f"(tunewright-engine status {run_id}).", file=sys.stderr)
    return 0


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


def cmd_submit(args) -> int:
    config = load(args.config, [])
    preflight(config)
    print(jobs.submit(_db(), config, home=store.default_home()))
    return 0


def cmd_requeued(args) -> int:
    from engine.cluster import mark_requeued

    mark_requeued(_db(), args.run, args.why)
    return 0


def cmd_cancelled_there(args) -> int:
    from engine.cluster import mark_cancelled_there

    mark_cancelled_there(_db(), args.run)
    return 0


def cmd_queued_again(args) -> int:
    jobs.reopen(_db(), args.run, Status.QUEUED)  # the batch script queued after this continues it
    return 0


def cmd_follow(args) -> int:
    from engine.cluster import follow

    follow(_db(), store.default_home())
    return 0


def cmd_rows(args) -> int:
    from engine.cluster import remote_rows

    print(json.dumps(remote_rows(_db(), args.run, args.after_metric, args.after_event)))
    return 0


def cmd_list(args) -> int:
    db, writable = _db_to_read()
    if writable:
        jobs.reconcile(db)
    runs = store.list_runs(db)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    for run in runs:
        print(f"{run['id']:>5}  {run['status']:<11}  {run['progress'] * 100:5.1f}%  {run['name']}")
    return 0


def cmd_status(args) -> int:
    db, writable = _db_to_read()
    if writable:
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
    db, home = _db(), store.default_home()
    if not store.remote_run(db, args.run):
        jobs.resume(db, args.run, home=home)
        return 0
    from engine import cluster

    where, was = cluster.reopen_run(db, home, args.run)
    if not cluster.resend(where, db, home, args.run, was):
        print(store.events(db, args.run)[-1]["message"], file=sys.stderr)
        return 1
    print(f"Run {args.run} waits in {where.name}'s queue again, as Slurm job {cluster.SyncState.read(db, args.run).job_id}.", file=sys.stderr)
    return 0


def cmd_cancel(args) -> int:
    jobs.cancel(_db(), args.run)
    return 0


def cmd_ask(args) -> int:
    from engine.inference import ask

    print(ask(_db(), args.run, args.prompt))
    return 0


def cmd_download(args) -> int:
    """Download a model, its progress written to the `downloads` table (the window draws it from there)."""
    from engine.models.hub import create_download, get_download, run_download

    db = _db()
    download_id = args.download_id or create_download(db, args.repo_id)
    path = run_download(db, download_id)
    if path is None:
        print(f"tunewright-engine: {get_download(db, download_id)['error']}", file=sys.stderr)
        return 1
    print(path)
    return 0


def cmd_models(args) -> int:
    from engine.models.catalog import list_models

    models = list_models(_db())
    if args.json:
        print(json.dumps([model.to_dict() for model in models], indent=2))
        return 0
    for model in models:
        size = f"{model.parameters / 1e6:,.0f}M" if model.parameters else "?"
        print(f"{model.name:<40} {model.task or '-':<9} {size:>8}  {model.source:<12} {model.problem}")
    return 0


def cmd_doctor(args) -> int:
    from engine.checkup import run_checkup
    from engine.data.conversations import ChatColumns
    from engine.data.formats import ReadOptions

    header = None if args.header is None else args.header == "yes"
    options = ReadOptions(format=args.format, delimiter=args.delimiter.replace("\\t", "\t"), header=header, dataset=args.dataset)
    outcome = run_checkup(
        _db(), store.default_home(), args.file, args.task, options=options, text_column=args.text_column,
        label_column=args.label_column, eval_path=args.eval, model=args.model, max_length=args.max_length, fix=args.fix,
        chat_columns=ChatColumns.of(args),
    )
    if args.json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        for line in [outcome.get("error"), outcome.get("message"), (outcome.get("cleaned") or {}).get("message")]:
            if line:
                print(line)
        for finding in (outcome.get("report") or {}).get("findings", []):
            rows = f" (rows {', '.join(map(str, finding['examples']))})" if finding["examples"] else ""
            fix = f"\n    fix: --fix {finding['fix']} ({finding['fix_label']})" if finding["fix"] else ""
            print(f"[{finding['severity']}] {finding['message']}{rows}{fix}")
    return 1 if outcome.get("error") else 0


def cmd_plan(args) -> int:
    from engine.planner import describe, plan_without_training

    config = load(args.config, args.overrides)
    if not isinstance(config, JobConfig):
        raise ConfigError(f"A plan is made for a training job; '{config.kind}' jobs are started with the '{config.kind}' command.")
    preflight(config)
    try:
        result = plan_without_training(config)
    except (ConfigError, DataError):
        raise
    except Exception as error:  # noqa: BLE001 - a bug in the planner is a sentence for the person, not a traceback
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        raise ConfigError(message("plan.crashed", detail=detail)[1]) from None
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else describe(result))
    return 0


def cmd_export(args) -> int:
    from engine.export import export

    verdict = export(_db(), args.run, args.format, home=store.default_home(), to=args.to or "")
    if args.json:
        print(json.dumps(verdict, indent=2))
    else:
        print(verdict.get("folder", ""))
        print(("Passed. " if verdict["passed"] else "FAILED. ") + verdict["summary"], file=sys.stderr)
    return 0 if verdict["passed"] else 1


def cmd_evaluate(args) -> int:
    from engine.config import from_dict
    from engine.recipes.evaluate import evaluate_in_process

    values = {"model": args.model, "data": str(args.data)}
    for override in args.overrides:
        key, _, raw = override.partition("=")
        values[key.strip()] = raw
    results = evaluate_in_process(_db(), from_dict(values, kind="evaluate"), home=store.default_home())
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(results.get("headline") or results.get("error"))
    return 0 if "error" not in results else 1


def cmd_playground(args) -> int:
    from engine.playground_serve import serve

    return serve(_db(), args.run, idle_minutes=args.idle_minutes)


def cmd_selftest(args) -> int:
    from engine import proven, selftest
    from engine.hardware import pick_device

    record = selftest.run(pick_device(args.device), store.default_home())
    if args.json:
        print(json.dumps(record.to_dict() | {"turned_off": proven.summary()}, indent=2))
    else:
        for o in record.outcomes:
            verdict = "proven" if o.ok else ("not possible here" if not o.tried else "TURNED OFF")
            print(f"{o.path:18} {verdict:18} {o.reason}")
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
    "models": cmd_models,
    "export": cmd_export,
    "evaluate": cmd_evaluate,
    "job": cmd_job,
    "playground": cmd_playground,
    "doctor": cmd_doctor,
    "plan": cmd_plan,
    "selftest": cmd_selftest,
    "submit": cmd_submit,
    "rows": cmd_rows,
    "requeued": cmd_requeued,
    "cancelled-there": cmd_cancelled_there,
    "queued-again": cmd_queued_again,
    "follow": cmd_follow,
    "advise": lambda args: __import__("engine.advisor.cli", fromlist=["cmd_advise"]).cmd_advise(args),
}

if __name__ == "__main__":
    sys.exit(main())

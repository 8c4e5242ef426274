"""The window's one door to the engine: the database it reads, and the job processes it starts and signals.

Nothing here imports torch (or anything that does): only `engine.store`, `engine.jobs`, `engine.config`,
`engine.protocol` and `engine.models` (catalog, hub, describe, fit), which are torch-free. The hardware probe, which does need torch, runs in a separate
process (`python -m engine probe --json`) on a background thread, so start-up never waits on it.

Nothing here imports Qt either: the pages wrap these calls, and `gui.state` turns them into view models.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import cluster, jobs, planner, playground, store
from engine.config import ChatConfig, ClassifyConfig, ConfigError, JobConfig, config_types, from_dict, help_for
from engine.jobs import JobError, engine_env, engine_process
from engine.models import catalog, hub
from engine.models.describe import ModelInfo
from engine.models.fit import Fit, weights_fit
from engine.models.hub import HubModel, HubUnavailable
from engine.protocol import FINISHED, LIVE, RESUMABLE, Status
from engine.tasks import CONVERSATION, LABELS, PICTURES, TAGGED_TEXT, TASKS, Task, task_of_run

__all__ = [
    "config_types",
    "TASKS",
    "CONVERSATION",
    "LABELS",
    "PICTURES",
    "TAGGED_TEXT",
    "Task",
    "task_of_run",
    "ChatConfig",
    "ClassifyConfig",
    "ConfigError",
    "EngineClient",
    "FINISHED",
    "Fit",
    "Hardware",
    "HubModel",
    "HubUnavailable",
    "JobConfig",
    "JobError",
    "LIVE",
    "ModelInfo",
    "RESUMABLE",
    "Status",
    "demo_config",
    "demo_data_path",
    "from_dict",
    "help_for",
    "weights_fit",
]

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def demo_data_path() -> Path:
    """The bundled demo data set (hotel guests' requests, sorted into intents)."""
    return RESOURCES / "demo" / "hotel_intents.jsonl"


def demo_config() -> ClassifyConfig:
    return ClassifyConfig(model="demo:minilm", data=str(demo_data_path()), name="Demo: hotel requests")


@dataclass
class MetricRow:
    rowid: int
    step: int
    name: str
    value: float


class EngineClient:
    """The database of one Tunewright home folder, and the jobs recorded in it."""

    def __init__(self, home: Path | None = None, *, live_jobs: bool = True) -> None:
        self.home = Path(home) if home else store.default_home()
        self.db = store.open_db(store.database_path(self.home))
        # Sample data (a screenshot, a page opened on its own) has no job processes behind its live runs;
        # checking for them would mark those runs interrupted.
        self.live_jobs = live_jobs
        # The Hugging Face cache the catalog scans (None: huggingface_hub's own default); sample data has its own.
        self.hub_cache: Path | None = None

    # ------------------------------------------------------------ change check

    def data_version(self) -> int:
        """Changes whenever another connection (a job process) commits; costs next to nothing."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------ reading

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, newest first; a run on a cluster carries its `remote` row (how fresh its news is)."""
        runs = store.list_runs(self.db)
        remote = {row["run_id"]: row for row in self.db["remote_runs"].rows}
        for run in runs:
            run["remote"] = remote.get(run["id"])
        return runs

    def reviews(self, evaluation_id: int) -> list[dict[str, Any]]:
        """The blind-review verdicts given on an evaluation's answers."""
        return store.reviews(self.db, evaluation_id)

    def record_review(self, evaluation_id: int, prompt_index: int, *, tuned_side: str, verdict: str,
                      summary: dict[str, float], step: int) -> None:
        """Store a blind-review verdict and the win rate it leads to (the engine's store writes the rows)."""
        store.record_review(self.db, evaluation_id, prompt_index, tuned_side=tuned_side, verdict=verdict,
                            summary=summary, step=step)

    def label_mistakes(self, evaluation_id: int) -> set[str]:
        """The errors of an evaluation marked as mistakes in the data's labels."""
        return store.label_mistakes(self.db, evaluation_id)

    def mark_label_mistake(self, evaluation_id: int, item: str, marked: bool = True) -> None:
        """Keep (or withdraw) the mark that an error is a labelling mistake (the engine's store writes the row)."""
        store.mark_label_mistake(self.db, evaluation_id, item, marked)

    def get_run(self, run_id: int) -> dict[str, Any]:
        """The run's row; a run on a cluster carries its `remote` row (how fresh its news is)."""
        return store.get_run(self.db, run_id) | {"remote": store.remote_run(self.db, run_id)}

    def metrics_after(self, run_id: int, after_rowid: int = 0) -> list[MetricRow]:
        """Metric rows of a run written after `after_rowid`, in the order they were written."""
        rows = self.db.execute(
            "SELECT rowid, step, name, value FROM metrics WHERE run_id = ? AND rowid > ? ORDER BY rowid",
            [run_id, after_rowid],
        ).fetchall()
        return [MetricRow(*row) for row in rows]

    def events_after(self, run_id: int, after_id: int = 0) -> list[dict[str, Any]]:
        return store.events(self.db, run_id, after_id=after_id)

    def answered_request(self, request_id: int) -> dict[str, Any] | None:
        """A Playground request once the engine has answered it (or failed to); None while it is still on it."""
        request = playground.get_request(self.db, request_id)
        return None if request["status"] in playground.OPEN_REQUEST else request

    def artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """What a run left behind (its model, metrics, a distillation report), with their metadata."""
        return store.artifacts(self.db, run_id)

    def last_metric_rowid(self) -> int:
        row = self.db.execute("SELECT MAX(rowid) FROM metrics").fetchone()
        return int(row[0] or 0)

    # ------------------------------------------------------------ steering jobs

    def clusters(self) -> list[cluster.Cluster]:
        """The clusters added in this data folder (the Cluster page), where a run may be sent."""
        return cluster.load_clusters(self.home)

    def start(self, config: JobConfig, plan: dict[str, Any] | None = None, *, on_cluster: str = "") -> int:
        """Queue a run and start its job process now if nothing else is training. `plan`: the engine's plan
        the config was made from (`tunewright-engine plan --json`), whose sentences the run keeps.
        `on_cluster`: the name of a saved cluster to train on instead; the run is recorded at once and copied
        there from a worker thread (ssh and rsync take seconds), a send that fails is said on the run."""
        if on_cluster:
            self.needs_jobs()
            where = cluster.find_cluster(on_cluster, self.home)
            run_id = cluster.take_run(where, self.db, self.home, config)
            self._in_background(lambda db: cluster.send_run(where, db, self.home, run_id))
            return run_id
        if plan is None:
            return jobs.start(self.db, config, home=self.home)
        run_id = jobs.submit(self.db, config, home=self.home)
        planner.record_plan(self.db, run_id, plan)
        jobs.start_next(self.db, home=self.home)
        return run_id

    def pause(self, run_id: int) -> None:
        self.needs_jobs()
        if store.remote_run(self.db, run_id):
            return self._tell_cluster(run_id, "pause")
        jobs.pause(self.db, run_id)

    def resume(self, run_id: int) -> None:
        self.needs_jobs()
        if store.remote_run(self.db, run_id):
            where, was = cluster.reopen_run(self.db, self.home, run_id)  # shown as preparing at once
            return self._in_background(lambda db: cluster.resend(where, db, self.home, run_id, was))
        jobs.resume(self.db, run_id, home=self.home)

    def cancel(self, run_id: int) -> None:
        self.needs_jobs()
        if store.remote_run(self.db, run_id):
            return self._tell_cluster(run_id, "cancel")
        jobs.cancel(self.db, run_id)

    def _tell_cluster(self, run_id: int, what: str) -> None:
        """Pause or cancel a run on a cluster; a cluster out of reach is then said on the run."""

        def send(db) -> None:
            try:
                cluster.request(db, self.home, run_id, what)
            except OSError:
                pass  # recorded on the run as "unreachable since"; the follower retries the news

        self._in_background(send)

    def _in_background(self, work: Callable[[Any], None]) -> None:
        """ssh and rsync take seconds: `work` runs on a worker thread, given its own connection to the database."""
        threading.Thread(target=lambda: work(store.open_db(store.database_path(self.home))), daemon=True).start()

    def reconcile(self) -> list[int]:
        """Mark runs whose process has gone as interrupted, then start the next queued run if the GPU is free."""
        if not self.live_jobs:
            return []
        gone = jobs.reconcile(self.db)
        jobs.start_next(self.db, home=self.home)
        cluster.start_follower(self.db, self.home)  # the remote runs' news, copied here by its own process
        return gone

    def needs_jobs(self) -> None:
        """Raise JobError, in a sentence, when this window shows sample data with no engine behind it."""
        if not self.live_jobs:
            raise JobError("This is sample data: no training process is behind it.")

    # ------------------------------------------------------------ hardware

    def probe_hardware(self, on_done: Callable[[Hardware], None], *, timeout: float = 120.0) -> threading.Thread:
        """Ask the engine what this machine has, on a background thread; `on_done` is called from that thread."""

        def work() -> None:
            on_done(probe(self.home, timeout=timeout))

        thread = threading.Thread(target=work, name="tunewright-probe", daemon=True)
        thread.start()
        return thread

    def cached_hardware(self) -> Hardware | None:
        """What the last probe found, so the home page has something to show at once."""
        try:
            return Hardware.from_probe(json.loads((self.home / "hardware.json").read_text(encoding="utf-8")), cached=True)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    # ------------------------------------------------------------ models (the Models page)

    def models(self) -> list[ModelInfo]:
        """Every model on this computer, read from disk (no network). It takes a moment, so the page calls it
        on a worker thread, with a connection of its own (SQLite connections stay on their thread)."""
        db = store.open_db(store.database_path(self.home))
        try:
            return catalog.list_models(db, hub_cache=self.hub_cache)
        finally:
            db.close()

    def add_model_folder(self, path: Path | str) -> ModelInfo:
        """Check and remember a model folder; raises ConfigError with the sentence that says what is wrong."""
        return catalog.add_folder(self.db, path)

    def search_hub(self, text: str, task: str = "") -> list[HubModel]:
        """Ask the Hugging Face Hub (only when the user searches); raises HubUnavailable offline."""
        return hub.search(text, task)

    def downloads(self) -> list[dict[str, Any]]:
        # Sample data has no download processes behind its rows; checking for them would pause them.
        return hub.list_downloads(self.db, reconcile=self.live_jobs)

    def start_download(self, repo_id: str) -> int:
        self.needs_jobs()
        return hub.start_download(self.db, repo_id, home=self.home)

    def pause_download(self, download_id: int) -> None:
        self.needs_jobs()
        hub.pause_download(self.db, download_id)

    def resume_download(self, download_id: int) -> None:
        self.needs_jobs()
        hub.resume_download(self.db, download_id, home=self.home)


# ---------------------------------------------------------------- hardware


@dataclass
class Hardware:
    devices: list[dict[str, Any]] = field(default_factory=list)
    ram_total: int = 0
    ram_available: int = 0
    disk_free: int = 0
    error: str = ""  # a sentence when the probe did not work
    advice: str = ""  # the engine's own word on this machine, if it has one
    cached: bool = False
    unused_gpu: str = ""  # an NVIDIA GPU that the installed torch cannot use (its name)
    selftest: str = ""  # what the GPU self-test turned off on this computer, in a sentence

    @classmethod
    def from_probe(cls, data: dict[str, Any], *, cached: bool = False) -> Hardware:
        return cls(
            devices=list(data.get("devices") or []),
            ram_total=int(data.get("ram_total") or 0),
            ram_available=int(data.get("ram_available") or 0),
            disk_free=int(data.get("disk_free") or 0),
            advice=str(data.get("advice") or ""),
            cached=cached,
            unused_gpu=str(data.get("unused_gpu") or ""),
            selftest=str(data.get("selftest") or ""),
        )

    @property
    def gpus(self) -> list[dict[str, Any]]:
        return [d for d in self.devices if d.get("type") in ("cuda", "mps")]


def ask_engine(home: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """A short engine command (`probe --json`, `plan FILE --json`) in a process of its own, which may load
    torch without the window doing so; its output is captured as text."""
    return subprocess.run(
        engine_process(*args), capture_output=True, text=True, timeout=timeout, env=engine_env(home), stdin=subprocess.DEVNULL
    )


def probe(home: Path, *, timeout: float = 120.0) -> Hardware:
    """Run the engine's probe in its own process; on failure, fall back to what psutil can tell."""
    try:
        done = ask_engine(home, "probe", "--json", timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
        data = json.loads(done.stdout)
        hardware = Hardware.from_probe(data)
        try:
            home.mkdir(parents=True, exist_ok=True)
            (home / "hardware.json").write_text(json.dumps(data), encoding="utf-8")
        except OSError:
            pass
        return hardware
    except Exception as error:  # noqa: BLE001 - any failure becomes a sentence on the home page
        hardware = _psutil_hardware(home)
        hardware.error = f"Could not check for a GPU ({str(error)[:200] or type(error).__name__})."
        return hardware


def _psutil_hardware(home: Path) -> Hardware:
    import psutil

    memory = psutil.virtual_memory()
    try:
        disk = psutil.disk_usage(str(home if home.exists() else home.parent)).free
    except OSError:
        disk = 0
    return Hardware(ram_total=memory.total, ram_available=memory.available, disk_free=disk)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll until `predicate()` holds (for scripts and tests that are not in a Qt event loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

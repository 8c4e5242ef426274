"""The Hugging Face Hub, only when the user asks: a search, and downloads that run as engine processes.

Torch-free (the window searches and starts downloads with it). A download is one process
(`python -m engine download REPO --download-id N`) that writes its progress (bytes done of bytes total) into
the `downloads` table a few times a second; the window reads that row to draw a bar. Pause stops the process;
resume starts a new one, and huggingface_hub keeps every file already complete in its cache (this version
restarts an interrupted file from its beginning). The finished model is recorded in the `models` table.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlite_utils import Database

from engine import store
from engine.jobs import detached, engine_env, engine_process
from engine.models.describe import describe_folder
from engine.protocol import message
from engine.tasks import TASKS

#: The Hub's tag for the models each task trains: chat models generate text, text sorters are encoders.
TASK_TAGS = {name: task.hub_tags[0] for name, task in TASKS.items()}
TAG_TASKS = {tag: name for name, task in reversed(TASKS.items()) for tag in task.hub_tags}
# Weights as safetensors only (never pickle), the tokenizer, the chat template and the card (its licence).
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "README.md"]
PROGRESS_EVERY = 0.25  # seconds between progress rows: a smooth bar, few writes

Fetch = Callable[[str, Callable[..., None]], Path]


class HubUnavailable(RuntimeError):
    """The Hub could not be asked; the message is the sentence to show."""


# ---------------------------------------------------------------- search


@dataclass
class HubModel:
    repo_id: str
    task: str = ""
    parameters: int | None = None
    downloads: int = 0
    likes: int = 0
    licence: str = ""
    gated: bool = False


def search(text: str, task: str = "", *, limit: int = 30, api: Any = None) -> list[HubModel]:
    """Models on the Hub whose name matches `text`, most downloaded first; raises HubUnavailable offline."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    try:
        found = api.list_models(
            search=text.strip() or None, filter=TASK_TAGS.get(task), sort="downloads", limit=limit,
            expand=["downloads", "likes", "pipeline_tag", "safetensors", "cardData", "gated"],
        )
        return [_hub_model(model, task) for model in found]
    except Exception as error:  # noqa: BLE001 - offline, a timeout, the Hub down: all the same to the user
        raise HubUnavailable(message("hub.offline")[1]) from error


def _hub_model(model: Any, task: str) -> HubModel:
    safetensors = getattr(model, "safetensors", None)
    card = getattr(model, "card_data", None)
    licence = card.get("license") if card is not None and hasattr(card, "get") else ""
    return HubModel(
        repo_id=model.id,
        task=TAG_TASKS.get(getattr(model, "pipeline_tag", None) or "", task),
        parameters=getattr(safetensors, "total", None) if safetensors else None,
        downloads=int(getattr(model, "downloads", 0) or 0),
        likes=int(getattr(model, "likes", 0) or 0),
        licence=", ".join(licence) if isinstance(licence, list) else str(licence or ""),
        gated=bool(getattr(model, "gated", False)),
    )


# ---------------------------------------------------------------- downloads, from the window's side


def create_download(db: Database, repo_id: str) -> int:
    now = time.time()
    table = db["downloads"]
    table.insert({"repo_id": repo_id, "status": "queued", "created_at": now, "updated_at": now})
    return int(table.last_pk)


def get_download(db: Database, download_id: int) -> dict[str, Any]:
    return db["downloads"].get(download_id)


def list_downloads(db: Database, *, reconcile: bool = True) -> list[dict[str, Any]]:
    """Every download, newest first (downloads whose process has gone are marked paused first)."""
    if reconcile:
        reconcile_downloads(db)
    return list(db["downloads"].rows_where(order_by="id desc"))


def start_download(db: Database, repo_id: str, *, home: Path) -> int:
    """Start (or pick up again) the download of `repo_id` in its own process; returns its id."""
    reconcile_downloads(db)
    unfinished = list(db["downloads"].rows_where("repo_id = ? AND status != 'completed'", [repo_id], order_by="id desc", limit=1))
    if unfinished and unfinished[0]["status"] == "downloading":
        return int(unfinished[0]["id"])
    download_id = int(unfinished[0]["id"]) if unfinished else create_download(db, repo_id)
    launch(db, download_id, home=home)
    return download_id


def download_command(repo_id: str, download_id: int) -> list[str]:
    return engine_process("download", repo_id, "--download-id", str(download_id))


def launch(db: Database, download_id: int, *, home: Path) -> int:
    """Start the download's process, detached so that it outlives the window; returns its pid."""
    row = get_download(db, download_id)
    folder = home / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    env = engine_env(home)
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "env": env, **detached()}
    with open(folder / f"{download_id:05d}.log", "ab") as log:
        process = subprocess.Popen(download_command(row["repo_id"], download_id), stdout=log, **kwargs)
    _update(db, download_id, status="downloading", pid=process.pid, pid_started=psutil.Process(process.pid).create_time(), error=None)
    return process.pid


def pause_download(db: Database, download_id: int) -> None:
    """Stop the download's process; the complete files stay in the cache for the resume."""
    row = get_download(db, download_id)
    if _alive(row["pid"], row["pid_started"]):
        process = psutil.Process(row["pid"])
        process.terminate()
        try:
            process.wait(timeout=5)
        except psutil.TimeoutExpired:
            process.kill()
    if row["status"] in ("queued", "downloading"):
        _update(db, download_id, status="paused", pid=None)


def resume_download(db: Database, download_id: int, *, home: Path) -> None:
    launch(db, download_id, home=home)


def reconcile_downloads(db: Database) -> None:
    """A download whose process is gone without finishing (window closed, computer asleep) is paused."""
    for row in db["downloads"].rows_where("status = 'downloading'"):
        if not _alive(row["pid"], row["pid_started"]):
            _update(db, row["id"], status="paused", pid=None, error=message("hub.download_stopped")[1])


def _alive(pid: int | None, started: float | None) -> bool:
    """Is this pid still our download? (Its start time guards against the pid being reused.)"""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and (started is None or abs(process.create_time() - started) < 1.0)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _update(db: Database, download_id: int, **fields: Any) -> None:
    db["downloads"].update(download_id, {**fields, "updated_at": time.time()})


# ---------------------------------------------------------------- downloads, in the engine process


def run_download(db: Database, download_id: int, *, fetch: Fetch | None = None) -> Path | None:
    """Download one model, writing its progress into its row; record it in `models` when complete."""
    row = get_download(db, download_id)
    repo_id = row["repo_id"]
    me = psutil.Process()
    _update(db, download_id, status="downloading", pid=me.pid, pid_started=me.create_time(), error=None)
    last = 0.0

    def report(done: int, total: int, files_done: int | None = None, files_total: int | None = None) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY and done < total:
            return
        last = now
        counts = {"files_done": files_done, "files_total": files_total} if files_total is not None else {}
        _update(db, download_id, bytes_done=int(done), bytes_total=int(total), **counts)

    try:
        path = (fetch or fetch_from_hub)(repo_id, report)
    except Exception as error:  # noqa: BLE001 - every failure becomes the row's sentence
        _update(db, download_id, status="failed", pid=None, error=failure_sentence(repo_id, error))
        return None
    info = describe_folder(path, name=repo_id, ref=repo_id, source="hub download")
    store.remember_model(
        db, path, name=repo_id, source="hub download", architecture=info.architecture, parameters=info.parameters,
        metadata={"repo_id": repo_id, "task": info.task},
    )
    done = get_download(db, download_id)
    total = done["bytes_total"] or info.disk_size
    _update(db, download_id, status="completed", pid=None, path=str(path), bytes_done=total, bytes_total=total, finished_at=time.time())
    return path


def failure_sentence(repo_id: str, error: BaseException) -> str:
    """The one sentence for a download that stopped: gated, not found, offline, or what went wrong."""
    from huggingface_hub.errors import DryRunError, GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    causes = []
    while error is not None and len(causes) < 10:
        causes.append(error)
        error = error.__cause__ or error.__context__
    if any(isinstance(cause, GatedRepoError) for cause in causes):
        return message("hub.gated", repo_id=repo_id)[1]
    if any(isinstance(cause, RepositoryNotFoundError) for cause in causes):
        return message("hub.not_found", repo_id=repo_id)[1]
    # DryRunError and LocalEntryNotFoundError are what huggingface_hub raises when the Hub cannot be reached;
    # its HTTP library's errors are matched by name (that library was httpx, and is httpx2 now).
    unreachable = (ConnectionError, TimeoutError, DryRunError, LocalEntryNotFoundError)
    if any(isinstance(cause, unreachable) or any(kind.__name__ == "TransportError" for kind in type(cause).__mro__) for cause in causes):
        return message("hub.offline")[1]
    return message("hub.download_failed", repo_id=repo_id, reason=str(causes[0])[:300] or type(causes[0]).__name__)[1]


def fetch_from_hub(repo_id: str, report: Callable[..., None]) -> Path:
    """huggingface_hub's snapshot download, with its progress measured two ways, the larger one reported.

    On disk: the cache folder's finished files plus the partial `*.incomplete` ones (the cache layout is
    documented and stable). And from huggingface_hub's own bar of bytes written, for downloads that fill
    their file only at the end (Xet storage may); that bar's name is internal, so it is only the second source."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.file_download import repo_folder_name

    plan = snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, dry_run=True)
    total = sum(file.file_size or 0 for file in plan)
    blobs = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model") / "blobs"
    # Partial files of a paused download: huggingface_hub starts an interrupted file again from its start.
    for stale in blobs.glob("*.incomplete"):
        stale.unlink(missing_ok=True)

    cached_before = sum(file.file_size or 0 for file in plan if file.is_cached)
    bar_class, written = _written_bytes_bar()

    def measure() -> None:
        finished = [file for file in plan if Path(file.local_path).exists()]
        on_disk = sum(file.file_size or 0 for file in finished) + sum(_size(path) for path in blobs.glob("*.incomplete"))
        report(min(total, max(on_disk, cached_before + written["bytes"])), total, len(finished), len(plan))

    # The download runs on a worker thread and the progress is measured here, so that `report` (which writes
    # to the database, whose connection belongs to this thread) is only ever called from this thread.
    outcome: dict[str, Any] = {}

    def download() -> None:
        try:
            outcome["path"] = snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, tqdm_class=bar_class)
        except BaseException as error:  # noqa: BLE001 - raised again below, in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=download, name="hub-download", daemon=True)
    worker.start()
    while worker.is_alive():
        measure()
        worker.join(PROGRESS_EVERY)
    if "error" in outcome:
        raise outcome["error"]
    path = outcome["path"]
    report(total, total, len(plan), len(plan))
    return Path(path)


def _written_bytes_bar() -> tuple[type, dict[str, int]]:
    """A progress-bar class for snapshot_download that adds up the bytes its 'written to disk' bar is given
    (counted even when no bar is drawn: a download process has no terminal)."""
    from huggingface_hub.utils import tqdm as hub_tqdm

    written = {"bytes": 0}

    class WrittenBytes(hub_tqdm):
        def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
            self.counts_bytes = name == "huggingface_hub.snapshot_download"
            super().__init__(*args, name=name, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if self.counts_bytes:
                written["bytes"] += int(n or 0)
            return super().update(n)

    return WrittenBytes, written


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

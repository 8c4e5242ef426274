"""Plain-language words for what the database holds: statuses, times, sizes, metric names."""

from __future__ import annotations

import math
import time
from typing import Any

from engine.protocol import message, metric_words
from engine.tasks import TASKS

#: What each status is called on screen, and its colour.
STATUS_WORDS: dict[str, str] = {
    "queued": "Waiting",
    "preparing": "Getting ready",
    "running": "Training",
    "paused": "Paused",
    "completed": "Finished",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted",
    "pausing": "Pausing…",
    "cancelling": "Cancelling…",
}

STATUS_COLOURS: dict[str, str] = {
    "queued": "#6b7280",
    "preparing": "#2563eb",
    "running": "#2563eb",
    "paused": "#b45309",
    "completed": "#15803d",
    "failed": "#b91c1c",
    "cancelled": "#6b7280",
    "interrupted": "#b45309",
    "pausing": "#b45309",
    "cancelling": "#6b7280",
}

STATUS_GROUPS: dict[str, set[str]] = {
    "All runs": set(),
    "Active": {"queued", "preparing", "running", "pausing", "cancelling"},
    "Finished": {"completed"},
    "Stopped or failed": {"paused", "failed", "cancelled", "interrupted"},
}

#: What a model does, in the words of the wizard's first step.
TASK_WORDS = {name: task.words.short for name, task in TASKS.items()}
#: What a run did.
KIND_WORDS = {**TASK_WORDS, "distill": "Make smaller", "evaluate": "Evaluation", "export": "Export", "advise": "Advice"}


def shown_status(run: dict[str, Any]) -> str:
    """The status key to show: a live run with a pending pause or cancel says so at once."""
    status = str(run.get("status") or "")
    request = run.get("request")
    if status in ("preparing", "running") and request in ("pause", "cancel"):
        return "pausing" if request == "pause" else "cancelling"
    return status


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.capitalize())


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "#6b7280")


def time_left(seconds: float | None) -> str:
    """'about 3 min left'; empty when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 50:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"about {hours} h {minutes:02d} min left" if minutes else f"about {hours} h left"
    return f"about {round(seconds / 86400, 1):g} days left"


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    return f"{int(minutes // 60)} h {int(minutes % 60):02d} min"


def when(timestamp: float | None, now: float | None = None) -> str:
    """'just now', '5 min ago', 'yesterday', or a date."""
    if not timestamp:
        return ""
    now = now or time.time()
    ago = now - timestamp
    if ago < 60:
        return "just now"
    if ago < 3600:
        return f"{ago // 60:.0f} min ago"
    if ago < 86400:
        return f"{ago // 3600:.0f} h ago"
    if ago < 2 * 86400:
        return "yesterday"
    return time.strftime("%d %b %Y", time.localtime(timestamp))


def size(num_bytes: float | None) -> str:
    """Bytes as '7.1 GB' (powers of 1024, as operating systems show memory)."""
    if not num_bytes:
        return "0 GB"
    gb = num_bytes / 2**30
    if gb >= 100:
        return f"{gb:.0f} GB"
    if gb >= 1:
        return f"{gb:.1f} GB"
    return f"{num_bytes / 2**20:.0f} MB"


def best_metric(run: dict[str, Any]) -> str:
    """'F1 91.2%' or ''."""
    name, value = run.get("best_metric_name"), run.get("best_metric")
    if value is None or not name:
        return ""
    words, shown = metric_words(name, value)
    return f"{words[0].upper()}{words[1:]} {shown}"


#: The engine's errors that say the settings or the data are wrong: running the same run again fails the same way.
_SETTLED_ERRORS = ("ConfigError", "DataError")


def retry_would_fail(run: dict[str, Any]) -> bool:
    """Whether a failed run failed on its settings or data (not on something passing, such as memory or a
    process killed), so that trying it again unchanged would fail the same way."""
    if run.get("status") != "failed":
        return False
    lines = (run.get("error_detail") or "").strip().splitlines()
    return bool(lines) and any(name in lines[-1].split(":")[0] for name in _SETTLED_ERRORS)


def remote_note(run: dict[str, Any], now: float | None = None) -> str:
    """For a run on a cluster: how old its newest news is, or since when the cluster cannot be reached;
    "" for a local run, or a remote one that is over and whose model is here."""
    remote = run.get("remote")
    if not remote or (run.get("status") not in ACTIVE_STATUSES and remote.get("model_fetched")):
        return ""
    where = remote.get("cluster") or "the cluster"
    if remote.get("unreachable_since"):
        since = time.strftime("%H:%M", time.localtime(remote["unreachable_since"]))
        return message("runs.remote_unreachable", cluster=where, since=since)[1]
    if remote.get("last_contact") is None or remote.get("lag_seconds") is None:
        return ""
    now = now or time.time()
    lag = max(0.0, now - remote["last_contact"]) + remote["lag_seconds"]
    return message("runs.remote_lag", cluster=where, lag=duration(lag))[1]


ACTIVE_STATUSES = {"queued", "preparing", "running"}

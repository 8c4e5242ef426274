"""Which GPU fast paths have proven themselves on this computer (engine/selftest.py tries them).

No torch here: the window reads the record too, for the Home page's sentence. The record is one JSON file in
the home folder, made for one fingerprint of the machine (GPUs, driver, library versions); a different
fingerprint makes it stale, and the self-test runs again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import store
from engine.protocol import message

RECORD = "selftest.json"


@dataclass
class Outcome:
    """One fast path tried beside its plain reference."""

    path: str
    ok: bool
    loss_error: float | None = None  # relative difference of the losses
    grad_error: float | None = None  # largest relative difference of a gradient (or updated weight)
    tolerance: float | None = None
    reason: str = ""  # why it failed or could not run, for a bug report
    seconds: float = 0.0
    tried: bool = True  # False: it cannot run on this machine (no GPU, a package missing), so it is not used


@dataclass
class Record:
    fingerprint: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def passed(self, path: str) -> bool:
        return any(o.path == path and o.ok for o in self.outcomes)

    def failed(self) -> list[Outcome]:
        """The paths that ran here and failed or disagreed (not those this machine cannot run at all)."""
        return [o for o in self.outcomes if o.tried and not o.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "outcomes": [asdict(o) for o in self.outcomes]}


def record_path(home: Path | None = None) -> Path:
    return (home or store.default_home()) / RECORD


def read(home: Path | None = None) -> Record | None:
    try:
        saved = json.loads(record_path(home).read_text())
        return Record(saved["fingerprint"], [Outcome(**o) for o in saved["outcomes"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(record: Record, home: Path | None = None) -> None:
    path = record_path(home)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record.to_dict(), indent=2))
    os.replace(partial, path)


def passed(path: str, home: Path | None = None) -> bool:
    """Has this fast path proven itself here? Never tried counts as no: the planner uses proven paths only."""
    record = read(home)
    return record is not None and record.passed(path)


def summary(home: Path | None = None) -> str:
    """The Home page's sentence: what the self-test turned off on this computer, or "" when nothing."""
    record = read(home)
    if record is None or not record.failed():
        return ""
    names = [_in_a_list(message(f"selftest.path.{o.path}")[1]) for o in record.failed()]
    return message("selftest.turned_off", paths=", ".join(names), count=len(names))[1]


def _in_a_list(name: str) -> str:
    """A path's declared name (a capitalised label) inside a sentence: lower-case, an acronym kept."""
    return name if name[1:2].isupper() else name[0].lower() + name[1:]

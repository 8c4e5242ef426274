"""The cluster settings' view model: the values typed so far, the cluster they make (or the sentence that
says why not), saving it, and the connection test's verdict. No Qt: tested without a window."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from engine import cluster
from engine.config import ConfigError
from gui.state.events import Callbacks


class ClusterDraft:
    """`changed` is emitted after each edit, save or test, with nothing: read `problem` and `verdict`."""

    def __init__(self, home: Path, existing: cluster.Cluster | None = None) -> None:
        self.home = home
        self.values: dict[str, Any] = existing.to_dict() if existing else {}
        self.problem = ""  # why these values do not make a cluster yet
        self.verdict: list[str] | None = None  # the connection test's sentences; [] when nothing is missing
        self.changed = Callbacks()

    @classmethod
    def for_home(cls, home: Path) -> ClusterDraft:
        """The draft of the first cluster saved in this home folder, or of a new one."""
        saved = cluster.load_clusters(home)
        return cls(home, saved[0] if saved else None)

    def edit(self, name: str, value: Any) -> None:
        if value is None or value == "":
            self.values.pop(name, None)
        else:
            self.values[name] = value
        self.verdict = None
        self.changed.emit()

    def build(self) -> cluster.Cluster | None:
        """The cluster these values make, or None with `problem` saying why."""
        try:
            typed = {f.name: _typed(f.name, self.values[f.name], f.default) for f in fields(cluster.Cluster) if f.name in self.values}
            made = cluster.Cluster(**typed)
        except ConfigError as problem:
            self.problem = str(problem)
            return None
        self.problem = ""
        return made

    def save(self) -> bool:
        made = self.build()
        if made is not None:
            cluster.save_cluster(made, self.home)
        self.changed.emit()
        return made is not None

    def test(self, run=None) -> list[str]:
        """Run the connection test (seconds: call it away from the window's thread)."""
        made = self.build()
        self.verdict = [self.problem] if made is None else cluster.connection_test(made, *([run] if run else []))
        self.changed.emit()
        return self.verdict


def _typed(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, int) and not isinstance(value, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"'{value}' is not a whole number; {name.replace('_', ' ')} needs one.") from None
    return value

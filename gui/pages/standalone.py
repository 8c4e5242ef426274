"""Open one page on its own, on sample data: `python -m gui.pages.<page> --sample [--screenshot FILE]`."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run(build: Callable[[Any, Any], Any], *, watch: Callable[[Any], Callable[[], None]] | None = None,
        argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open this page on its own.")
    parser.add_argument("--sample", action="store_true", help="show sample runs (in a temporary folder)")
    parser.add_argument("--screenshot", metavar="FILE", help="save the page as a PNG and exit")
    args = parser.parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.engine_client import EngineClient
    from gui.state.runs import Poller, RunsModel
    from gui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    home = None
    if args.sample or args.screenshot:
        from gui.sample import sample_home

        home = Path(tempfile.mkdtemp(prefix="tunewright-sample-"))
        sample_home(home)
    client = EngineClient(home, live_jobs=home is None)
    runs = RunsModel(client)
    runs.refresh()
    page = build(client, runs)
    page.resize(1100, 760)
    poller = Poller(client)
    poller.changed.connect(runs.refresh)
    if watch:
        poller.changed.connect(watch(page))
    timer = QTimer()
    timer.timeout.connect(poller.tick)
    timer.start(150)
    page.show()
    if args.screenshot:
        import time

        from gui.app import save_screenshot

        deadline = time.monotonic() + 60
        while getattr(page, "loading", False) and time.monotonic() < deadline:  # a page still reading on a worker thread
            app.processEvents()
            time.sleep(0.05)

        return 0 if save_screenshot(page, Path(args.screenshot)) else 1
    return app.exec()

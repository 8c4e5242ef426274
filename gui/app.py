"""`tunewright`: the application's entry point.

    tunewright                                   open the window
    tunewright --screenshot FILE [--page NAME] [--run ID] [--sample]
                                                 render one page offscreen to a PNG and exit

Only Qt, the chart library and the torch-free engine modules load here; the training stack stays in the job
processes, so the window is up in well under two seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PAGE_NAMES = ("home", "new", "runs", "run", "data", "models", "results", "compare", "export", "playground")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tunewright", description="Fine-tune models on your own computer.")
    parser.add_argument("--screenshot", metavar="FILE", help="render a page offscreen, save it as a PNG and exit")
    parser.add_argument("--page", choices=PAGE_NAMES, default=None, help="the page to show (default: home)")
    parser.add_argument("--run", type=int, metavar="ID", help="show this run (implies --page run)")
    parser.add_argument("--sample", action="store_true", help="use sample runs in a temporary data folder")
    parser.add_argument("--size", default="1280x820", help="window size for --screenshot, e.g. 1280x820")
    parser.add_argument("--report-startup", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.screenshot or args.report_startup:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.engine_client import EngineClient, Hardware
    from gui.main_window import MainWindow
    from gui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tunewright")
    app.setOrganizationName("Tunewright")
    app.setDesktopFileName("tunewright")
    apply_theme(app)

    home = None
    if args.sample:
        from gui.sample import sample_home

        home = Path(tempfile.mkdtemp(prefix="tunewright-sample-"))
        sample_home(home)
    client = EngineClient(home, live_jobs=not args.sample)
    if args.sample:
        from gui.sample import add_sample_evaluations, sample_models

        sample_models(client)
        add_sample_evaluations(client)
    window = MainWindow(client, probe=not args.sample)
    if args.sample:
        from gui.sample import SAMPLE_HARDWARE

        window.page("home").show_hardware(Hardware.from_probe(SAMPLE_HARDWARE))

    page = "run" if args.run is not None else (args.page or "home")
    if page == "run":
        run_id = args.run if args.run is not None else _default_run(client)
        if run_id is None:
            print("There is no run to show.", file=sys.stderr)
            return 2
        window.open_run(run_id)
    else:
        window.show_page(page)

    if args.screenshot:
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
        window.show()
        if page == "home" and not args.sample:
            _wait_for_hardware(window)
        if page == "models":
            _wait_for_catalog(window)
        return 0 if save_screenshot(window, Path(args.screenshot)) else 1

    window.show()
    if args.report_startup:
        window.repaint()

        def report() -> None:
            import psutil

            started = psutil.Process().create_time()
            print(json.dumps({"seconds": time.time() - started, "torch_imported": "torch" in sys.modules}), flush=True)
            app.quit()

        QTimer.singleShot(0, report)
    return app.exec()


def _default_run(client: Any) -> int | None:
    runs = client.list_runs()
    live = [run for run in runs if run["status"] in ("running", "preparing")]
    chosen = (live or runs or [None])[0]
    return chosen["id"] if chosen else None


def _wait_for_hardware(window: Any, timeout: float = 60.0) -> None:
    from PySide6.QtWidgets import QApplication

    home = window.page("home")
    deadline = time.monotonic() + timeout
    while (home.hardware is None or home.hardware.cached) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)


def _wait_for_catalog(window: Any, timeout: float = 60.0) -> None:
    from PySide6.QtWidgets import QApplication

    page = window.page("models")
    deadline = time.monotonic() + timeout
    while (page.loading or (window.probe and page.hardware is None)) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    QApplication.processEvents()


def save_screenshot(widget: Any, path: Path) -> bool:
    """Draw `widget` (charts brought up to date) into a PNG; True if it was written and is not blank."""
    from PySide6.QtWidgets import QApplication

    widget.show()
    for _ in range(5):
        QApplication.processEvents()
    for chart in _charts(widget):
        chart.redraw()
    QApplication.processEvents()
    image = widget.grab().toImage()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        print(f"Could not write {path}.", file=sys.stderr)
        return False
    return not is_blank(image)


def _charts(widget: Any) -> list[Any]:
    from gui.widgets.charts import LiveChart  # only loaded if a chart could be on screen

    return widget.findChildren(LiveChart) if "gui.widgets.charts" in sys.modules else []


def is_blank(image: Any) -> bool:
    """True when every sampled pixel has the same colour."""
    first = image.pixel(0, 0)
    step_x = max(1, image.width() // 64)
    step_y = max(1, image.height() // 64)
    return all(
        image.pixel(x, y) == first for x in range(0, image.width(), step_x) for y in range(0, image.height(), step_y)
    )


if __name__ == "__main__":
    raise SystemExit(main())

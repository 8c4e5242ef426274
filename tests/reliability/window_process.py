"""A real Tunewright window in its own process, for tests that kill it: it starts the run described by the
JSON file given, through the New run wizard (its plan, then Start), and prints `curve RUN_ID POINTS` as the
loss curve grows."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.engine_client import EngineClient  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402


def main(home: str, config_path: str) -> int:
    app = QApplication(sys.argv)
    window = MainWindow(EngineClient(Path(home)), probe=False)
    window.show()
    window.show_page("new")
    form = window.page("new")
    form.load_config(json.loads(Path(config_path).read_text()))

    def step() -> None:
        """Click Next as soon as the plan allows it, then Start; then report the curve."""
        if window.current == "run":
            series = window.page("run").charts["loss"].curves[0].series
            print("curve", window.page("run").run_id, len(series), flush=True)
        elif form.start_error.isVisible():
            print("error", form.start_error.text(), flush=True)
            app.exit(1)
        elif form.next_button.isEnabled():
            form.next_button.click()

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(100)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))

"""The picture pages' screenshots (docs/screenshots/images-*.png) from a real run on the bundled demo: the
wizard's Data and Plan steps on the demo's pictures, the Data page's doctor findings with thumbnails (on a
copy of the demo with a few problems added: a copy filed under another category, a tiny picture, a file that
is no picture, a blank one), the Results page's gallery with real heat maps, and the Playground sorting a
folder of the demo's held-out pictures.

    QT_QPA_PLATFORM=offscreen python bench/images_screens.py WORK_FOLDER [--shots docs/screenshots]

The demo run (`tunewright-engine example images`) is trained in WORK_FOLDER/home unless one finished there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
DEMO = ROOT / "resources" / "demo" / "images"


def engine(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TUNEWRIGHT_HOME": str(home)}, check=True)


def demo_run(home: Path, work: Path) -> int:
    """The id of a finished demo run in `home`, trained now if there is none."""
    from engine import store

    db = store.open_db(store.database_path(home))
    done = [run for run in store.list_runs(db) if run["kind"] == "images" and run["status"] == "completed"]
    if done:
        return done[0]["id"]
    job = work / "pictures.json"
    job.write_text(engine("example", "images", home=home).stdout)
    return int(engine("run", str(job), home=home).stdout.split()[0])


def troubled_copy(work: Path) -> Path:
    """The demo's training pictures with problems the doctor finds, each with example pictures to show."""
    from PIL import Image

    folder = work / "facade photos"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(DEMO / "train", folder)
    shutil.copy(folder / "brick" / "brick_000.png", folder / "gravel" / "gravel_copy.png")
    Image.open(folder / "grass" / "grass_004.png").resize((20, 20)).save(folder / "grass" / "grass_small.png")
    Image.new("RGB", (64, 64), (128, 128, 128)).save(folder / "gravel" / "gravel_blank.png")
    (folder / "brick" / "brick_notes.png").write_text("notes, not a picture")
    return folder


def wait(app, condition, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.05)


def settle(app, seconds: float = 1.0) -> None:
    """Let the window finish what it queued: widgets put away, layouts redone."""
    from PySide6.QtCore import QEvent

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
        time.sleep(0.05)


def to_the_doctor(data_page) -> None:
    """The Data page scrolled down to the doctor's findings."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication, QScrollArea

    settle(QApplication.instance())
    for area in data_page.findChildren(QScrollArea):
        if area.widget() is not None and area.widget().isAncestorOf(data_page.check_button):
            top = data_page.check_button.mapTo(area.widget(), QPoint(0, 0)).y()
            area.verticalScrollBar().setValue(top - 40)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("--shots", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    home = args.work / "home"
    home.mkdir(exist_ok=True)
    os.environ["TUNEWRIGHT_HOME"] = str(home)
    run_id = demo_run(home, args.work)

    from PySide6.QtWidgets import QApplication

    from gui.app import save_screenshot
    from gui.engine_client import EngineClient
    from gui.main_window import MainWindow
    from gui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    client = EngineClient(home)
    window = MainWindow(client, probe=False)
    window.ask_on_close = lambda box: "keep"
    window.resize(1280, 860)
    window.show()

    def shot(name: str) -> None:
        settle(app)
        print(name, "written" if save_screenshot(window, args.shots / name) else "BLANK")

    # the wizard: the demo's pictures checked, then the plan
    window.show_page("new")
    page = window.page("new")
    page.task_buttons["images"].clicked.emit()
    page.next_button.click()
    page.data_page.open_path(str(DEMO / "train"))
    wait(app, lambda: page.data_page.report() is not None and page.next_button.isEnabled())
    to_the_doctor(page.data_page)
    shot("images-wizard-data.png")
    page.next_button.click()
    wait(app, lambda: page.model_table.rowCount() >= 1)
    page.model_table.selectRow(0)
    wait(app, lambda: page.wizard.model_ref == "demo:efficientnet-lite0")
    page.next_button.click()
    wait(app, lambda: not page.wizard.planning and page.wizard.plan is not None)
    shot("images-wizard-plan.png")

    # the Data page: the doctor's findings on pictures, with their example pictures
    window.show_page("data")
    data = window.page("data")
    data.open_path(str(troubled_copy(args.work)))
    data.check()
    wait(app, lambda: data.check_status.text().startswith("Checked") and data.check_button.isEnabled())
    to_the_doctor(data)
    shot("images-data.png")

    # Results: the gallery of the demo run's held-out pictures with their heat maps
    window.show_page("results")
    results = window.page("results")
    results.show_run(run_id)
    wait(app, lambda: results.pictures is not None)
    gallery = results.pictures.gallery
    from gui.state.gallery import ALL

    gallery.which_box.setCurrentIndex(gallery.which_box.findData(ALL))
    shot("images-results.png")
    gallery.show_large(gallery.state.shown()[0])
    print("images-results-large.png", "written" if save_screenshot(gallery.viewer, args.shots / "images-results-large.png") else "BLANK")
    gallery.viewer.close()

    # the Playground: a folder of the demo's held-out pictures sorted, the predictions saved
    window.show_page("playground")
    playground = window.page("playground")
    playground.choose_run(run_id)
    panel = playground.pictures
    folder = args.work / "new photos"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for category in ("brick", "grass", "gravel"):
        for picture in sorted((DEMO / "eval" / category).iterdir())[:2]:
            shutil.copy(picture, folder / picture.name)
    panel.choose_folder = lambda: str(folder)
    panel.choose_target = lambda chosen: str(args.work / "new photos predictions.csv")
    asked = panel.request  # the last answers, shown again when the page opens
    panel.folder_button.click()
    wait(app, lambda: (playground.refresh() or True) and panel.shown == panel.request != asked)
    shot("images-playground.png")
    playground.shutdown()
    print(json.dumps({"run": run_id, "home": str(home)}))


if __name__ == "__main__":
    main()

"""An image model in the real window, with a real engine: the Results page's gallery of its held-out pictures,
each beside its heat map, filtered by right or wrong and by category and shown large on a click; the
Playground's picture panel answering a dropped picture with its categories and heat map, and sorting a
folder into a CSV file with one row per picture (a file that is no picture gets its sentence); and the Data
page showing the pictures of a doctor's finding as thumbnails.

timm's tiny `test_efficientnet` on 32-pixel pictures, a few steps: the tests are about what the window shows
and what the engine writes, not about learning (tests/engine/test_image_recipe.py). Set TUNEWRIGHT_SHOTS to a
folder to save a screenshot of each page there.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from engine import store
from tests.engine.helpers import run_in_process
from tests.gui.test_tagging_window import shot

TINY = "timm:test_efficientnet"


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """One image run, trained once: (home, run id, its evaluation's result, the held-out pictures' folder)."""
    from tests.engine.test_image_recipe import squares

    folder = tmp_path_factory.mktemp("image-pages")
    home = folder / "tw-home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:  # the home the engine reads, for this module only
        patch.setenv("TUNEWRIGHT_HOME", str(home))
        train = squares(folder / "train", {"left": 16, "right": 16})
        held_out = squares(folder / "held-out", {"left": 6, "right": 6}, seed=1)
        db, run_id = run_in_process(home, {
            "kind": "images", "model": TINY, "data": str(train), "eval_data": str(held_out), "image_size": 32,
            "max_steps": 2, "batch_size": 16, "early_stopping_patience": 0, "workers": 0, "mirror": False,
        })
    assert store.get_run(db, run_id)["status"] == "completed", store.get_run(db, run_id)["error_detail"]
    evaluation = store.child_runs(db, run_id, "evaluate")[0]
    path = next(a["path"] for a in store.artifacts(db, evaluation["id"]) if a["kind"] == "evaluation")
    return home, run_id, json.loads(Path(path).read_text()), held_out


@pytest.fixture
def window(qtbot, image_run, monkeypatch):
    from gui.engine_client import EngineClient
    from gui.main_window import MainWindow

    monkeypatch.setenv("TUNEWRIGHT_HOME", str(image_run[0]))
    win = MainWindow(EngineClient(image_run[0]), probe=False)
    qtbot.addWidget(win)
    win.ask_on_close = lambda box: "keep"
    win.resize(1280, 860)
    win.show()
    yield win
    if (playground := win.pages.get("playground")) is not None:
        playground.shutdown()


def test_the_results_gallery_shows_the_pictures_with_their_heat_maps_and_filters_them(qtbot, window, image_run):
    from PySide6.QtCore import Qt

    from gui.state.gallery import ALL, RIGHT, WRONG

    _, run_id, result, _ = image_run
    assert result["wrong"] or result["right"]
    window.show_page("results")
    page = window.page("results")
    page.show_run(run_id)
    qtbot.waitUntil(lambda: page.pictures is not None, timeout=10_000)
    tab_names = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert tab_names[0].startswith("Pictures and heat maps") and "Confusion matrix" in tab_names and "Per category" in tab_names
    assert page.per_class.rowCount() == 2 and page.heat_map is not None
    tiles = " ".join(w.text() for w in page.body.findChildren(type(page.message)))
    assert "Without learning" in tiles and f"{result['baseline']['accuracy']:.1%}" in tiles
    gallery = page.pictures.gallery
    shot(page, "images-results")

    def shown() -> list[str]:
        items = [gallery.pictures.item(i) for i in range(gallery.pictures.count())]
        assert all(not item.icon().isNull() for item in items)
        return [item.data(Qt.ItemDataRole.UserRole)["file"] for item in items]

    # wrong answers first (when there are any), each with the right category, the model's and its heat map
    first = WRONG if result["wrong"] else ALL
    assert gallery.which_box.currentData() == first
    expected = [e["file"] for e in result["wrong"]] if first == WRONG else [e["file"] for e in result["wrong"] + result["right"]]
    assert shown() == expected
    if result["wrong"]:
        text = gallery.pictures.item(0).text()
        entry = result["wrong"][0]
        assert f"Right: {entry['expected'][0]}" in text and f"Model: {entry['predicted'][0]}" in text
    assert all(Path(e["heatmap"]).exists() for e in result["wrong"] + result["right"])

    gallery.which_box.setCurrentIndex(gallery.which_box.findData(RIGHT))
    assert shown() == [e["file"] for e in result["right"]]
    gallery.which_box.setCurrentIndex(gallery.which_box.findData(ALL))
    everything = result["wrong"] + result["right"]
    assert shown() == [e["file"] for e in everything]
    gallery.expected_box.setCurrentIndex(gallery.expected_box.findData("left"))
    assert shown() == [e["file"] for e in everything if e["expected"] == ["left"]]
    gallery.expected_box.setCurrentIndex(gallery.expected_box.findData(ALL))
    gallery.predicted_box.setCurrentIndex(gallery.predicted_box.findData("right"))
    assert shown() == [e["file"] for e in everything if e["predicted"] == ["right"]]
    assert "shown" in gallery.summary.text()

    # a click shows the picture large, beside its heat map, with both answers
    gallery.predicted_box.setCurrentIndex(gallery.predicted_box.findData(ALL))
    gallery.pictures.itemClicked.emit(gallery.pictures.item(0))
    viewer = gallery.viewer
    assert viewer is not None and viewer.isVisible()
    from PySide6.QtWidgets import QLabel

    pixmaps = [w.pixmap() for w in viewer.findChildren(QLabel) if not w.pixmap().isNull()]
    assert len(pixmaps) == 2 and all(p.width() == viewer.SIDE for p in pixmaps)  # 32-pixel files, shown large
    assert "The right category" in viewer.words.text()


def test_the_playground_answers_a_dropped_picture_and_sorts_a_folder_into_a_csv(qtbot, window, image_run, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl, Qt
    from PySide6.QtGui import QDropEvent

    from gui.pages.picture_playground import PictureAnswer

    _, run_id, _, held_out = image_run
    window.show_page("playground")
    page = window.page("playground")
    page.choose_run(run_id)
    panel = page.pictures
    assert page.stack.currentWidget() is panel

    # a picture dropped on the drop zone: its categories as bars, and its heat map beside it
    picture = held_out / "left" / "left_0.png"
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(picture))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    panel.drop_zone.dropEvent(drop)
    qtbot.waitUntil(lambda: (page.refresh() or True) and len(panel.answers) == 1, timeout=180_000)
    answer = panel.answers[0]
    assert isinstance(answer, PictureAnswer) and Path(answer.answer["heatmap"]).exists()
    assert {name for name, _ in answer.bars.rows} == {"left", "right"}
    assert abs(sum(p for _, p in answer.bars.rows) - 1) < 1e-3
    shot(page, "images-playground-one")

    # a folder sorted: a CSV with one row per picture where the person chose; a file that is no picture said
    folder = tmp_path / "to sort"
    folder.mkdir()
    for name in ("left_1.png", "left_2.png"):
        (folder / name).write_bytes((held_out / "left" / name).read_bytes())
    (folder / "right_1.png").write_bytes((held_out / "right" / "right_1.png").read_bytes())
    (folder / "notes.png").write_text("not a picture")
    (folder / "readme.txt").write_text("not a picture either, and not named as one: left out")
    target = tmp_path / "predictions.csv"
    panel.choose_folder = lambda: str(folder)
    panel.choose_target = lambda chosen: str(target)
    panel.folder_button.click()
    qtbot.waitUntil(lambda: (page.refresh() or True) and len(panel.answers) == 4, timeout=120_000)
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(Path(row["file"]).name for row in rows) == ["left_1.png", "left_2.png", "notes.png", "right_1.png"]
    assert all(row["category"] in ("left", "right") for row in rows if not row["file"].endswith("notes.png"))
    note = panel.note.text()
    assert "Sorted 4 pictures" in note and str(target) in note
    assert "1 of them could not be read" in note and "notes.png is not a picture" in note
    problems = [a for a in panel.answers if "problem" in a.answer]
    assert len(problems) == 1 and "notes.png is not a picture" in problems[0].answer["problem"]
    shot(page, "images-playground")


def test_the_data_page_shows_the_pictures_of_a_doctor_finding(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QLabel

    from tests.engine.test_image_recipe import squares

    folder = squares(tmp_path / "photos", {"left": 12, "right": 12})
    copy = folder / "right" / "copy_of_left_0.png"
    copy.write_bytes((folder / "left" / "left_0.png").read_bytes())  # an exact copy, filed under the other category
    window.show_page("data")
    page = window.page("data")
    page.open_path(str(folder))
    page.check()
    qtbot.waitUntil(lambda: page.check_status.text().startswith("Checked") and page.check_button.isEnabled(), timeout=120_000)
    finding = next(f for f in page.report().findings if f.code == "doctor.images.duplicates")
    assert sorted(Path(p).name for p in finding.values["files"]) == ["copy_of_left_0.png", "left_0.png"]
    frames = [page.findings_box.itemAt(i).widget() for i in range(page.findings_box.count())]
    shown = next(frame for frame in frames if any("Exact copies" in w.text() for w in frame.findChildren(QLabel)))
    thumbnails = [w for w in shown.findChildren(QLabel) if not w.pixmap().isNull()]
    assert sorted(Path(w.toolTip()).name for w in thumbnails) == ["copy_of_left_0.png", "left_0.png"]
    assert all(w.pixmap().width() == 72 for w in thumbnails)  # 32-pixel pictures, shown at the thumbnails' size

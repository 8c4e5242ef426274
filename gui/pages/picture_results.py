"""Results of an image model: its scores beside always answering the most common category, the per-category
table and the confusion matrix (the classifier's own widgets), and a gallery of the pictures it got wrong and
a few it got right, each beside its heat map, filtered by right or wrong and by category; a click shows one
large.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QListView, QListWidget, QListWidgetItem, QTabWidget, QVBoxLayout, QWidget

from gui.pages.results import confusion_page, per_class_table, score_tiles
from gui.state.gallery import ALL, WHICH_WORDS, GalleryState, caption, describe
from gui.state.results import score_warnings
from gui.widgets.common import label
from gui.widgets.pictures import PictureViewer, side_by_side

#: A thumbnail's side in the gallery, in pixels (the picture and its heat map each get one).
THUMB = 132
WRONG_COLOUR = QColor("#b91c1c")  # a wrong answer's caption


class PictureResults(QWidget):
    def __init__(self, shown: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        result = shown["result"]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(score_tiles(shown, "pictures", "the pictures below"))
        for warning in score_warnings(result):
            layout.addWidget(label(warning, "ErrorText", wrap=True))
        self.tabs = QTabWidget()
        self.gallery = Gallery(GalleryState(result))
        self.tabs.addTab(self.gallery, f"Pictures and heat maps ({result['wrong_count']:,} wrong)")
        self.heat_map = None
        if result.get("confusion"):
            page, self.heat_map = confusion_page(result)
            self.tabs.addTab(page, "Confusion matrix")
        self.per_class = per_class_table(result, "pictures")
        self.tabs.addTab(self.per_class, "Per category")
        layout.addWidget(self.tabs, 1)


class Gallery(QWidget):
    """The evaluation's pictures, each beside its heat map with both answers; filtered, and shown large on a click."""

    def __init__(self, state: GalleryState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.viewer: PictureViewer | None = None
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.which_box, self.expected_box, self.predicted_box = QComboBox(), QComboBox(), QComboBox()
        for which, words in WHICH_WORDS.items():
            self.which_box.addItem(words, which)
        self.which_box.setCurrentIndex(self.which_box.findData(state.which))
        self.expected_box.addItem("any right category", ALL)
        self.predicted_box.addItem("any answer of the model", ALL)
        for category in state.categories():
            self.expected_box.addItem(f"right: {category}", category)
            self.predicted_box.addItem(f"model said: {category}", category)
        self.which_box.currentIndexChanged.connect(lambda _: state.set_which(self.which_box.currentData()))
        self.expected_box.currentIndexChanged.connect(lambda _: state.set_expected(self.expected_box.currentData()))
        self.predicted_box.currentIndexChanged.connect(lambda _: state.set_predicted(self.predicted_box.currentData()))
        bar.addWidget(label("Show", "Muted"))
        for box in (self.which_box, self.expected_box, self.predicted_box):
            bar.addWidget(box)
        bar.addSpacing(12)
        self.summary = label("", "Muted")
        bar.addWidget(self.summary, 1)
        layout.addLayout(bar)
        layout.addWidget(label(
            "Each picture is shown beside its heat map: red where the model looked most for its answer. A model that "
            "looks at the background, a ruler or a label rather than at the thing itself has learned a shortcut. "
            "Click a picture to see it large.", "Muted", wrap=True))
        self.pictures = QListWidget()
        self.pictures.setViewMode(QListView.ViewMode.IconMode)
        self.pictures.setResizeMode(QListView.ResizeMode.Adjust)
        self.pictures.setMovement(QListView.Movement.Static)
        self.pictures.setWordWrap(True)
        self.pictures.setUniformItemSizes(True)
        self.pictures.setSpacing(8)
        self.pictures.setIconSize(QSize(2 * THUMB + 4, THUMB))
        self.pictures.setGridSize(QSize(2 * THUMB + 28, THUMB + 62))
        self.pictures.itemClicked.connect(lambda item: self.show_large(item.data(Qt.ItemDataRole.UserRole)))
        layout.addWidget(self.pictures, 1)
        state.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.pictures.clear()
        for entry in self.state.shown():
            item = QListWidgetItem(QIcon(side_by_side([entry["file"], entry["heatmap"]], THUMB)), caption(entry))
            item.setData(Qt.ItemDataRole.UserRole, entry)
            item.setToolTip(describe(entry))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            if entry["wrong"]:
                item.setForeground(WRONG_COLOUR)
            self.pictures.addItem(item)
        self.summary.setText(self.state.summary())

    def show_large(self, entry: dict[str, Any]) -> None:
        if self.viewer is not None:
            self.viewer.close()
        self.viewer = PictureViewer(entry["file"], entry["heatmap"], describe(entry), self)
        self.viewer.show()


def _main() -> int:
    """`python -m gui.pages.picture_results --sample`: the Results page on a sample image model's evaluation."""
    from gui.pages import standalone
    from gui.pages.results import ResultsPage
    from gui.sample_pictures import add_sample_pictures

    def build(client: Any, runs: Any) -> ResultsPage:
        ids = add_sample_pictures(client)
        runs.refresh()
        page = ResultsPage(client, runs)
        page.show_run(ids["sorter"])
        return page

    return standalone.run(build)


if __name__ == "__main__":
    raise SystemExit(_main())

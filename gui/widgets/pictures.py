"""Pictures in the window: thumbnails of the files the engine read or wrote (pictures and their heat maps),
each decoded and scaled once and then cached, a picture beside its heat map, one shown large, a row of
thumbnails, and a place to drop pictures on.

Only Qt reads the files here (QImageReader, which scales while it decodes where the format allows); a file
it cannot read gets a grey square rather than an error, since the engine says what is wrong with it.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.widgets.common import label

#: Scaled pictures kept in memory (a gallery of a few dozen, twice over, and some shown large).
CACHED = 400
_cache: OrderedDict[tuple[str, int, int], QPixmap] = OrderedDict()
EMPTY = QColor("#e5e7eb")


def thumbnail(path: str, side: int) -> QPixmap:
    """The picture in `path` filling a `side` x `side` square (its proportions kept: a small picture or heat map
    is enlarged, to be seen); a grey square when it cannot be read. Decoded once per file version and size."""
    try:
        changed = os.stat(path).st_mtime_ns
    except OSError:
        changed = -1
    key = (str(path), side, changed)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # photos turned upright as the camera meant them, as the engine reads them
    size = reader.size()
    if size.isValid() and (size.width() > side or size.height() > side):
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read() if changed != -1 else None
    if image is None or image.isNull():
        pixmap = QPixmap(side, side)
        pixmap.fill(EMPTY)
    else:
        if max(image.width(), image.height()) != side:  # a small one, or a format that cannot scale while decoding
            image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        pixmap = QPixmap.fromImage(image)
    _cache[key] = pixmap
    while len(_cache) > CACHED:
        _cache.popitem(last=False)
    return pixmap


def side_by_side(paths: list[str], side: int, gap: int = 4) -> QPixmap:
    """Thumbnails of `paths` in one row (a picture and its heat map), each centred in its square."""
    canvas = QPixmap(len(paths) * side + (len(paths) - 1) * gap, side)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    for index, path in enumerate(paths):
        small = thumbnail(path, side)
        left = index * (side + gap) + (side - small.width()) // 2
        painter.drawPixmap(left, (side - small.height()) // 2, small)
    painter.end()
    return canvas


def picture_label(path: str, side: int, tip: str = "") -> QLabel:
    widget = QLabel()
    widget.setPixmap(thumbnail(path, side))
    widget.setFixedSize(side, side)
    widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    widget.setToolTip(tip or path)
    return widget


def thumbnail_row(paths: list[str], side: int = 64) -> QWidget:
    """A row of small thumbnails (a doctor finding's example pictures), each named in its tooltip."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 4, 0, 0)
    row.setSpacing(6)
    for path in paths:
        row.addWidget(picture_label(path, side))
    row.addStretch(1)
    return box


class PictureViewer(QDialog):
    """One picture shown large beside its heat map, with what is known about it."""

    SIDE = 360

    def __init__(self, picture: str, heatmap: str, words: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(Path(picture).name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        pictures = QHBoxLayout()
        pictures.setSpacing(12)
        for title, path in (("The picture", picture), ("Where the model looked", heatmap)):
            column = QVBoxLayout()
            column.addWidget(label(title, "SectionTitle"))
            column.addWidget(picture_label(path, self.SIDE))
            pictures.addLayout(column)
        layout.addLayout(pictures)
        self.words = label(words, wrap=True, selectable=True)
        layout.addWidget(self.words)
        layout.addWidget(label("The heat map is drawn over the middle of the picture as the model saw it: red where "
                               "the model looked most for its answer, blue where it hardly looked.", "Muted", wrap=True))


class DropZone(QFrame):
    """A framed place to drop picture files (or folders) on; emits the dropped paths."""

    dropped = Signal(list)

    def __init__(self, words: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DropZone")
        self.setAcceptDrops(True)
        self.setStyleSheet("QFrame#DropZone { border: 2px dashed #cbd5e1; border-radius: 10px; background: #f8fafc; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        words_label = label(words, "Muted", wrap=True)
        words_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(words_label)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.dropped.emit(paths)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(300, 70)

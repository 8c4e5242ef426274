"""Render resources/icons/tunewright.svg into the icon files installers need, with Qt (already a dependency).

    python packaging/make_icons.py OUT_DIR

writes OUT_DIR/tunewright.png (256 px, Linux), OUT_DIR/tunewright.ico (Windows, 16-256 px) and
OUT_DIR/tunewright.iconset/ (macOS; `iconutil -c icns` turns it into tunewright.icns).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "tunewright.svg"


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    return image


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - Qt's image plugins need one
    out = Path(argv[0] if argv else "build/icons")
    out.mkdir(parents=True, exist_ok=True)
    if not render(256).save(str(out / "tunewright.png")):
        print(f"Could not write {out / 'tunewright.png'}.", file=sys.stderr)
        return 1
    # Qt's ICO writer stores one image per file, so the 256 px one; Windows scales it down well.
    if not render(256).save(str(out / "tunewright.ico")):
        print("Could not write the .ico file (Qt's ico image plugin is missing).", file=sys.stderr)
        return 1
    iconset = out / "tunewright.iconset"
    iconset.mkdir(exist_ok=True)
    for size in (16, 32, 128, 256, 512):
        render(size).save(str(iconset / f"icon_{size}x{size}.png"))
        render(size * 2).save(str(iconset / f"icon_{size}x{size}@2x.png"))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Live charts: curves drawn from growing `Series` buffers, redrawn from a timer only while visible.

The pyqtgraph habits of `examples/scrollingPlots.py`: each curve is created once; new points land in a numpy
buffer (`gui.state.series.Series`); a 15 Hz timer hands changed buffers to their curves; peak downsampling
and clip-to-view keep a curve of 100,000 points cheap to draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from gui.state.series import Series
from gui.widgets.common import rgba

pg.setConfigOptions(antialias=True, background="w", foreground="#4b5563")

REDRAW_MS = 66  # about 15 redraws a second


@dataclass
class _Curve:
    series: Series
    item: pg.PlotDataItem
    drawn_version: int = -1


class LiveChart(QWidget):
    """A titled chart of one or more curves, with its legend in the title row."""

    def __init__(self, title: str, *, unit: str = "", empty_text: str = "No points yet.", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Chart")
        self.curves: list[_Curve] = []
        self.empty_text = empty_text

        self.title = QLabel(title)
        self.title.setObjectName("SectionTitle")
        self.legend = QLabel()
        self.legend.setObjectName("Muted")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setMinimumWidth(0)
        self.legend.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.legend.setWordWrap(True)  # between entries only: a long legend (a run on several GPUs) takes two lines
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title)
        header.addWidget(self.legend, 1)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(120)
        item = self.plot.getPlotItem()
        item.setDownsampling(mode="peak", auto=True)
        item.setClipToView(True)
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setMenuEnabled(False)
        item.hideButtons()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen("#d1d5db"))
            axis.setTextPen(pg.mkPen("#6b7280"))
        item.getAxis("left").setWidth(52)
        if unit:
            item.getAxis("left").setLabel(unit, color="#6b7280")
        item.getAxis("bottom").setLabel("step", color="#6b7280")
        self.plot.getViewBox().setMouseEnabled(x=True, y=False)

        self.placeholder = QLabel(empty_text)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("Muted")
        self.placeholder.setStyleSheet("QLabel { background: #ffffff; color: #9ca3af; }")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self.setStyleSheet("QWidget#Chart { background: #ffffff; border: 1px solid #e3e7ed; border-radius: 10px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self._legend_entries: list[str] = []

    # ------------------------------------------------------------ building

    def add_curve(
        self,
        series: Series,
        label: str,
        colour: str,
        *,
        fill: float | None = None,
        dashed: bool = False,
        symbol: str | None = None,
        width: float = 1.0,  # a 1-pixel pen has a fast path: wider pens make 100,000 points slow
    ) -> pg.PlotDataItem:
        """A curve drawing `series`; `fill` shades the area under it with that opacity."""
        pen = pg.mkPen(QColor(colour), width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        # Filled areas are drawn without antialiasing: pyqtgraph fills in 50-point polygons, and smoothing
        # their edges doubled the paint time of a 100,000-point memory chart for no visible gain.
        item = pg.PlotDataItem(pen=pen, name=label, antialias=fill is None)
        if fill is not None:
            item.setFillLevel(0)
            item.setBrush(pg.mkBrush(rgba_tuple(colour, fill)))
        if symbol:
            item.setSymbol(symbol)
            item.setSymbolSize(6)
            item.setSymbolBrush(pg.mkBrush(colour))
            item.setSymbolPen(pg.mkPen("w", width=1))
        item.setClipToView(True)
        item.setDownsampling(auto=True, method="peak")
        self.plot.addItem(item)
        self.curves.append(_Curve(series, item))
        mark = "- -" if dashed else "●"
        words = label.replace(" ", "&nbsp;")
        self._legend_entries.append(f'<span style="color:{colour}">{mark}</span>&nbsp;{words}')
        self.legend.setText("&nbsp;&nbsp; ".join(self._legend_entries) if len(self._legend_entries) > 1 else "")
        return item

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.placeholder.setText(text)

    # ------------------------------------------------------------ drawing

    def point_count(self) -> int:
        return max((len(curve.series) for curve in self.curves), default=0)

    def redraw(self) -> bool:
        """Hand changed buffers to their curves; returns whether anything changed."""
        changed = False
        for curve in self.curves:
            if curve.series.version != curve.drawn_version:
                curve.drawn_version = curve.series.version
                if len(curve.series):
                    curve.item.setData(curve.series.x, curve.series.y)
                else:
                    curve.item.setData([], [])
                changed = True
        has_points = self.point_count() > 0
        self.stack.setCurrentWidget(self.plot if has_points else self.placeholder)
        return changed

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.redraw()
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802
        self.timer.stop()
        super().hideEvent(event)


def rgba_tuple(hex_colour: str, alpha: float) -> tuple[int, int, int, int]:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return r, g, b, round(alpha * 255)


__all__ = ["LiveChart", "rgba"]

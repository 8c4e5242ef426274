"""Live charts stay smooth: 100,000 points per curve redraw quickly, and only while visible."""

from __future__ import annotations

import time

import numpy as np

from gui.state.series import Series
from gui.widgets.charts import LiveChart


def test_chart_of_100k_points_redraws_fast(qtbot):
    series = [Series("train"), Series("eval"), Series("memory")]
    steps = np.arange(1, 100_001, dtype=float)
    series[0].append(steps, 2 * np.exp(-steps / 30_000) + np.random.default_rng(0).normal(0, 0.05, len(steps)))
    series[1].append(steps[::100], 2 * np.exp(-steps[::100] / 30_000))
    series[2].append(steps, 1 + 0.2 * np.sin(steps / 50))
    chart = LiveChart("Loss")
    chart.add_curve(series[0], "training", "#2563eb")
    chart.add_curve(series[1], "evaluation", "#ea580c", symbol="o", width=2)
    chart.add_curve(series[2], "memory", "#16a34a", fill=0.3)
    chart.resize(600, 300)
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.redraw()
    chart.repaint()

    timings = []
    for i in range(10):
        series[0].append([100_001 + i], [0.2])
        started = time.perf_counter()
        assert chart.redraw()
        chart.plot.grab()  # renders the curves for real, offscreen as on screen
        timings.append(time.perf_counter() - started)
    median = sorted(timings)[len(timings) // 2]
    print(f"redraw of 100,000 points: median {median * 1000:.1f} ms")
    assert median < 0.05
    assert chart.point_count() == 100_010


def test_chart_redraws_only_while_visible(qtbot):
    chart = LiveChart("Loss")
    chart.add_curve(Series("train"), "training", "#2563eb")
    qtbot.addWidget(chart)
    chart.show()
    assert chart.timer.isActive()
    chart.hide()
    assert not chart.timer.isActive()


def test_empty_chart_says_so(qtbot):
    chart = LiveChart("Loss", empty_text="The loss appears after the first steps.")
    series = Series("train")
    chart.add_curve(series, "training", "#2563eb")
    qtbot.addWidget(chart)
    chart.show()
    assert chart.stack.currentWidget() is chart.placeholder
    series.append([1], [2.0])
    chart.redraw()
    assert chart.stack.currentWidget() is chart.plot

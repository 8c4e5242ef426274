"""The confusion matrix stays readable with many categories: every column's name is drawn (whole, or cut
with "…" and whole in its tooltip), rows keep their height, and the colour key sits above the table."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from gui.widgets.confusion import NAME_LENGTH, ColourScale, ConfusionHeatMap

SHOTS = os.environ.get("TUNEWRIGHT_SHOTS")

# A bank's support topics, as a helpdesk export names them (the first 13 are the file)
TOPICS = [
    "Card arrival", "Card not working", "Lost or stolen card", "Change PIN", "Exchange rate", "Top up failed",
    "Transfer not received by recipient", "Refund not showing up", "Cash withdrawal charge", "Verify my identity",
    "Direct debit payment not recognised", "Wrong amount of cash received", "Terminate account",
    "Activate my card", "Age limit", "Apple Pay or Google Pay", "ATM support", "Automatic top up",
    "Balance not updated after bank transfer", "Balance not updated after cheque or cash deposit",
    "Beneficiary not allowed", "Cancel transfer", "Card about to expire", "Card acceptance",
    "Card delivery estimate", "Card linking", "Card payment fee charged", "Card payment not recognised",
    "Card payment wrong exchange rate", "Card swallowed", "Cash withdrawal not recognised", "Compromised card",
    "Contactless not working", "Country support", "Declined card payment", "Declined cash withdrawal",
    "Declined transfer", "Disposable card limits", "Edit personal details", "Exchange charge", "Exchange via app",
    "Extra charge on statement", "Failed transfer", "Fiat currency support", "Get disposable virtual card",
    "Get physical card", "Getting spare card", "Getting virtual card", "Lost or stolen phone",
    "Order physical card", "Passcode forgotten", "Pending card payment", "Pending cash withdrawal",
    "Pending top up", "Pending transfer", "PIN blocked", "Receiving money", "Request refund",
    "Reverted card payment", "Supported cards and currencies", "Top up by bank transfer charge",
    "Top up by card charge", "Top up by cash or cheque", "Top up limits", "Top up reverted", "Topping up by card",
    "Transaction charged twice", "Transfer fee charged", "Transfer into account", "Transfer timing",
    "Unable to verify identity", "Verify source of funds", "Verify top up", "Virtual card not working",
    "Visa or Mastercard", "Why verify identity", "Wrong exchange rate for cash withdrawal",
]


def matrix(size: int) -> list[list[int]]:
    """Mostly right, a few mistakes per row, and an empty last row for unknown categories."""
    rng = random.Random(size)
    rows = []
    for r in range(size):
        row = [rng.choice([0, 0, 0, 1, 2]) for _ in range(size)]
        row[r] = rng.randint(20, 140)
        rows.append(row)
    return rows + [[0] * size]


@pytest.mark.parametrize("size", [13, 77])
def test_many_categories_keep_readable_names_and_the_key_clear_of_the_rows(qtbot, size, tmp_path):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    assert len(TOPICS) == 77
    names = TOPICS[:size]
    page = QWidget()
    box = QVBoxLayout(page)
    scale = ColourScale()
    box.addWidget(scale)
    heat = ConfusionHeatMap(names, matrix(size))
    box.addWidget(heat)
    box.addStretch(1)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    qtbot.waitExposed(page)

    header = heat.horizontalHeader()
    metrics = header.fontMetrics()
    for column, name in enumerate(names):
        drawn = header.drawn_name(column)
        assert drawn == name or (drawn.endswith("…") and name.startswith(drawn[:-1]) and len(drawn) > 12)
        assert metrics.horizontalAdvance(drawn) <= NAME_LENGTH
        assert header.sectionSize(column) >= metrics.height()  # upright names need a line's width, not a word's
        assert name in heat.horizontalHeaderItem(column).toolTip()
    assert header.height() >= max(metrics.horizontalAdvance(header.drawn_name(c)) for c in range(size))
    assert heat.rowCount() == size  # no row for unknown categories: none were found
    assert all(heat.rowHeight(r) >= 32 for r in range(size))
    assert scale.geometry().bottom() < heat.geometry().top()  # the key never covers a row
    if SHOTS:
        from gui.app import save_screenshot

        assert save_screenshot(page, Path(SHOTS) / f"confusion-{size}.png")

"""The Home page says, in a sentence, which GPU fast paths the self-test turned off on this computer."""

from __future__ import annotations

import os

from engine import proven
from gui.engine_client import Hardware
from gui.pages.home import HomePage
from gui.sample import SAMPLE_HARDWARE
from gui.state.runs import RunsModel


def test_home_says_which_fast_paths_are_off_here(qtbot, sample_client, tunewright_home):
    proven.write(proven.Record({"device": "cuda"}, [
        proven.Outcome("bf16", ok=True, loss_error=1e-5, grad_error=9e-3, tolerance=5e-2),
        proven.Outcome("compile", ok=False, reason="inductor: C++ compile error"),
        proven.Outcome("qlora", ok=False, loss_error=0.4, grad_error=0.9, tolerance=5e-2, reason="differs"),
        proven.Outcome("liger_loss", ok=False, reason="needs the liger-kernel package", tried=False),
    ]), tunewright_home)
    runs = RunsModel(sample_client)
    runs.refresh()
    page = HomePage(runs)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()

    page.show_hardware(Hardware.from_probe(SAMPLE_HARDWARE | {"selftest": proven.summary(tunewright_home)}))
    said = page.selftest_note.text()
    assert page.selftest_note.isVisible()
    assert "compiling the model" in said and "models in 4 bits (QLoRA)" in said
    assert "Liger" not in said  # not possible here is not a failure
    assert "Traceback" not in said and "inductor" not in said
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        from PySide6.QtWidgets import QApplication

        from gui.theme import apply_theme

        apply_theme(QApplication.instance())  # as the app looks (tests otherwise run unstyled)
        qtbot.wait(100)
        page.grab().save(os.path.join(folder, "home-selftest.png"))

    page.show_hardware(Hardware.from_probe(SAMPLE_HARDWARE))
    assert not page.selftest_note.isVisible()

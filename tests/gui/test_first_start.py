"""First start: the Home page on a machine without a GPU, and on one with an NVIDIA GPU that this torch cannot use."""

from __future__ import annotations

from gui.engine_client import Hardware
from gui.pages.home import HomePage
from gui.state.runs import RunsModel

GIB = 2**30
CPU_ONLY = {"devices": [{"type": "cpu", "index": 0, "name": "x86_64"}], "ram_total": 16 * GIB, "ram_available": 9 * GIB}
ADVICE = (
    "This copy of Tunewright was built without GPU support, so it trains on the processor. Install the "
    "Tunewright download marked \u201cNVIDIA GPU\u201d and restart it; your runs, data and models stay where they are."
)


def home(qtbot, client) -> HomePage:
    runs = RunsModel(client)
    runs.refresh()
    page = HomePage(runs)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page


def test_no_gpu_is_said_kindly_and_the_demo_still_starts(qtbot, sample_client):
    page = home(qtbot, sample_client)
    page.show_hardware(Hardware.from_probe(CPU_ONLY))
    assert page.gpu_label.text() == "Training will use this computer's processor (CPU)"
    assert "that is fine" in page.gpu_detail.text() and page.gpu_detail.isVisible()
    assert "slowly" not in page.gpu_label.text() + page.gpu_detail.text()
    assert not page.gpu_tip.isVisible()
    assert page.demo_button.isEnabled()
    with qtbot.waitSignal(page.start_demo, timeout=1000):
        page.demo_button.click()


def test_nvidia_gpu_with_a_cpu_only_torch_shows_how_to_get_gpu_support(qtbot, sample_client):
    page = home(qtbot, sample_client)
    faked = {**CPU_ONLY, "cuda": False, "unused_gpu": "NVIDIA GeForce RTX 4070", "advice": ADVICE}
    page.show_hardware(Hardware.from_probe(faked))
    assert page.gpu_tip.isVisible()
    assert page.gpu_tip_title.text() == "Your NVIDIA GeForce RTX 4070 can make training many times faster"
    assert page.gpu_tip_text.text() == ADVICE
    assert page.gpu_label.text().startswith("NVIDIA GeForce RTX 4070 found, but not used yet")
    assert not page.probe_note.isVisible()  # said once, in the tip, not twice

    # The next probe finds the GPU working (the user installed the GPU build): the tip goes away.
    page.show_hardware(Hardware.from_probe({**CPU_ONLY, "devices": [{"type": "cuda", "name": "NVIDIA GeForce RTX 4070", "total_memory": 8 * GIB}]}))
    assert not page.gpu_tip.isVisible()
    assert page.gpu_label.text().startswith("NVIDIA GeForce RTX 4070")

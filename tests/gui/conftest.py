"""GUI tests run offscreen, each against its own data folder (TUNEWRIGHT_HOME = tmp_path)."""

from __future__ import annotations

import os
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402


def _check_pyside() -> None:
    # PySide6 6.12.0 on Python < 3.12 decrements None/True/False on every call of a void method; the
    # interpreter aborts once their counts reach zero (within seconds of live charts). 6.11 is fine, and
    # 3.12+ makes those objects immortal.
    import PySide6

    if PySide6.__version__.startswith("6.12.") and sys.version_info < (3, 12):
        pytest.exit(
            f"PySide6 {PySide6.__version__} corrupts reference counts on Python {sys.version.split()[0]}; "
            "install PySide6-Essentials<6.12 (or use Python 3.12+).",
            returncode=3,
        )


_check_pyside()

from gui.engine_client import EngineClient  # noqa: E402
from gui.sample import fill_sample  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("TUNEWRIGHT_HOME", str(folder))
    return folder


@pytest.fixture
def client(home):
    return EngineClient(home)


@pytest.fixture
def sample_client(home):
    """A data folder with one run in every state; no job processes behind them."""
    client = EngineClient(home, live_jobs=False)
    client.sample_ids = fill_sample(client.db, home, live_steps=300)
    return client


@pytest.fixture
def job_db(home):
    """A second connection to the same database, writing as a job process would."""
    from engine import store

    return store.open_db(store.database_path(home))


@pytest.fixture
def window(qtbot, sample_client):
    from gui.main_window import MainWindow

    win = MainWindow(sample_client, probe=False)
    qtbot.addWidget(win)
    win.ask_on_close = lambda box: "keep"
    win.show()
    qtbot.waitExposed(win)
    return win

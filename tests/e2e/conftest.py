"""End-to-end: the real window, offscreen, driving real engine job processes."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("TUNEWRIGHT_HOME", str(folder))
    return folder


@pytest.fixture
def engine_config(request) -> dict:
    """A small, quick job: the project's `tiny_classify_config` where there is one, else the bundled demo
    cut short. Long enough (many steps) that pause and cancel land mid-run."""
    try:
        config = request.getfixturevalue("tiny_classify_config")
    except pytest.FixtureLookupError:
        from gui.engine_client import demo_config

        config = demo_config()
        if not os.path.exists(config.data):
            pytest.skip("the demo data set is not there")
    values = config if isinstance(config, dict) else config.to_dict()
    return {**values, "max_steps": 400, "eval_every": 5, "batch_size": 4, "name": "End to end"}

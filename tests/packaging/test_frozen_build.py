"""The frozen program (packaging/): its entry script, and, where a build is given, the whole smoke test.

Building the bundle takes minutes, so CI does not; point TUNEWRIGHT_TEST_FROZEN at a built app folder
(e.g. dist/tunewright after packaging/build_linux.sh) to run packaging/smoke_test.sh against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FROZEN = os.environ.get("TUNEWRIGHT_TEST_FROZEN", "")


def test_entry_script_sends_the_engine_argument_to_the_engine(tmp_path):
    """`tunewright engine ...` is how a frozen window starts its jobs; the entry script must route it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "entry.py"), "engine", "example", "classify"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TUNEWRIGHT_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == "demo:minilm"


@pytest.mark.slow
@pytest.mark.skipif(not FROZEN, reason="set TUNEWRIGHT_TEST_FROZEN to a built app folder (packaging/build_linux.sh)")
@pytest.mark.skipif(sys.platform == "win32", reason="the smoke test is a bash script")
def test_frozen_app_starts_and_trains_through_its_own_engine():
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke_test.sh"), FROZEN], capture_output=True, text=True, timeout=1500,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run 1: completed" in done.stdout
    assert "the detached job process finished: completed" in done.stdout
    assert done.stdout.rstrip().endswith("Smoke test passed.")

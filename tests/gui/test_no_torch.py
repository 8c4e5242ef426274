"""The window never loads the training stack (DESIGN: start-up speed and crash isolation)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import gui

ROOT = Path(__file__).resolve().parents[2]


def test_no_gui_module_imports_torch():
    modules = [m.name for m in pkgutil.walk_packages(gui.__path__, "gui.")]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules)))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_window_starts_quickly_without_torch(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TUNEWRIGHT_HOME": str(tmp_path)}
    timings = []
    for _ in range(3):  # the best of three: the first start warms the disk cache
        done = subprocess.run(
            [sys.executable, "-m", "gui.app", "--report-startup"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["torch_imported"] is False
        timings.append(report["seconds"])
    print(f"start-up to a drawn window: {min(timings):.2f} s (runs: {', '.join(f'{t:.2f}' for t in timings)})")
    # 1.2-1.35 s on the machine this was written on; on a slower one the same code took 1.83 s. The bound
    # catches what it is for (torch alone adds several seconds), not a machine's speed.
    assert min(timings) < 2.0

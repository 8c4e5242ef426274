"""The house rules on imports, declared as import-linter contracts in pyproject.toml: the window never
imports the training stack, the engine never imports Qt, the window's view models never import Qt."""

from __future__ import annotations

import sys
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_layer_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    outcome = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert outcome == 0, report
    assert "3 kept, 0 broken" in report


def test_a_broken_rule_is_found(tmp_path, monkeypatch, capsys):
    # The same contracts over a copy of a view model that imports Qt: the check must see it.
    (tmp_path / "gui" / "state").mkdir(parents=True)
    (tmp_path / "engine").mkdir()
    for package in ("gui", "gui/state", "engine"):
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "gui" / "state" / "view.py").write_text("from PySide6.QtCore import QObject\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in list(sys.modules) if m.split(".")[0] in ("gui", "engine")]:
        monkeypatch.delitem(sys.modules, name)  # the copy's packages, not the project's
    assert lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True) == 1
    assert "The window's view models never import Qt BROKEN" in capsys.readouterr().out

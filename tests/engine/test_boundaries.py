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


def _raw_database_use(source: str) -> list[int]:
    """Lines of a page module that query the database handle itself (`db.execute(...)`, `db["runs"]`)
    instead of asking a view model, the engine client or an engine function."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("execute", "query", "executescript"):
            target = node.value
        elif isinstance(node, ast.Subscript):
            target = node.value
        else:
            continue
        if isinstance(target, ast.Attribute) and target.attr == "db" or isinstance(target, ast.Name) and target.id == "db":
            found.append(node.lineno)
    return found


def test_pages_never_query_the_database_themselves():
    pages = sorted((ROOT / "gui" / "pages").glob("*.py"))
    found = [f"{path.name}:{line}" for path in pages for line in _raw_database_use(path.read_text(encoding="utf-8"))]
    assert not found, "pages read through view models and the engine client: " + ", ".join(found)
    assert _raw_database_use('rows = self.client.db.execute("SELECT 1")\nrunning = db["runs"].count\n') == [1, 2]

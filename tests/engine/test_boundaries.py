"""The house rules on imports: the window never loads the training stack; the engine never loads Qt."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING_STACK = {"torch", "transformers", "peft", "datasets", "accelerate", "bitsandbytes"}
QT = {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6"}
# Engine modules that import the training stack: the window must not import them either.
HEAVY_ENGINE = {"engine.hardware", "engine.training", "engine.job", "engine.inference", "engine.recipes", "engine.models.loading", "engine.playground_serve"}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("path", sorted((ROOT / "gui").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_window_never_imports_the_training_stack(path):
    found = imports(path)
    assert not top(found) & TRAINING_STACK
    assert not {name for name in found if any(name == h or name.startswith(h + ".") for h in HEAVY_ENGINE)}


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_never_imports_qt(path):
    assert not top(imports(path)) & QT

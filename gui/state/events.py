"""A plain-Python change callback, so view models can announce changes without knowing of Qt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Callbacks:
    """A list of functions called with the same arguments: `changed.connect(fn)`, then `changed.emit(...)`."""

    def __init__(self) -> None:
        self._functions: list[Callable[..., Any]] = []

    def connect(self, function: Callable[..., Any]) -> None:
        self._functions.append(function)

    def disconnect(self, function: Callable[..., Any]) -> None:
        if function in self._functions:
            self._functions.remove(function)

    def emit(self, *args: Any) -> None:
        for function in list(self._functions):
            function(*args)

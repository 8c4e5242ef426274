"""A growing pair of numpy arrays (step, value): what a live chart curve draws from."""

from __future__ import annotations

import numpy as np


class Series:
    """Points appended in step order; `version` changes whenever the points do, so a view redraws only then.

    A resumed run rewrites the steps after its checkpoint; appending a step at or before the last one
    drops the points from there on first, so the curve never doubles back.
    """

    def __init__(self, name: str, capacity: int = 1024) -> None:
        self.name = name
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0
        self.version = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def __len__(self) -> int:
        return self.size

    def last(self) -> tuple[float, float] | None:
        if not self.size:
            return None
        return float(self._x[self.size - 1]), float(self._y[self.size - 1])

    def append(self, xs: np.ndarray | list[float], ys: np.ndarray | list[float]) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        if not len(xs):
            return
        if self.size and xs[0] <= self._x[self.size - 1]:
            self.size = int(np.searchsorted(self._x[: self.size], xs[0], side="left"))
        end = self.size + len(xs)
        if end > len(self._x):
            capacity = max(end, 2 * len(self._x))
            self._x = np.resize(self._x, capacity)
            self._y = np.resize(self._y, capacity)
        self._x[self.size : end] = xs
        self._y[self.size : end] = ys
        self.size = end
        self.version += 1

    def clear(self) -> None:
        self.size = 0
        self.version += 1

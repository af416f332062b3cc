"""What a reading process keeps loaded between jobs: the OCR models take ~1 s to load, so a worker
loads them once. Owned by the worker's serve loop (extractors/sandbox.py) and handed to each job;
a job run in-process without one (a test, a script) loads what it needs for itself."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class Loaded:
    def __init__(self) -> None:
        self._things: dict[Hashable, Any] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The thing kept under `key`, loaded by `load()` the first time."""
        if key not in self._things:
            self._things[key] = load()
        return self._things[key]

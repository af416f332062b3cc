"""Results kept on disk by a key (OCR readings, seal searches): JSON files under a cache folder, written
atomically so that parallel workers never see half a file. A missing or unreadable cache costs speed,
never correctness."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def load(folder: Path, key: str) -> dict[str, Any] | None:
    path = folder / key[:2] / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(folder: Path, key: str, data: dict[str, Any]) -> None:
    path = folder / key[:2] / f"{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # one writer per name
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache costs speed, not correctness

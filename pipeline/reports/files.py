"""Writing report files: every string made printable first, every file replaced whole."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.names import xml_safe


def printable(data: Any) -> Any:
    """DATA with every string fit for every format: characters XML (Word, Excel) cannot hold and bytes no
    UTF-8 writer accepts, which a hostile file's text or name can carry, shown as escapes. Applied once,
    before any format is written, so that all formats say the same thing."""
    if isinstance(data, str):
        return xml_safe(data)
    if isinstance(data, dict):
        return {printable(k): printable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [printable(v) for v in data]
    return data


def replace_into(path: Path, write: Callable[[Path], Any]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file.
    The temporary name is the process's and the thread's own: two writers of one file never share it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

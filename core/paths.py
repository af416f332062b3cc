"""Where the product keeps what it can rebuild: OCR results, Prefect's cached results and its database."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$DOSSIER_CACHE_DIR, else $XDG_CACHE_HOME/dossier-check, else ~/.cache/dossier-check."""
    base = os.environ.get("DOSSIER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"), "dossier-check"
    )
    return Path(base)

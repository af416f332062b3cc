"""Where the product keeps what it can rebuild: OCR results, Prefect's cached results and its database."""

from __future__ import annotations

from pathlib import Path


def cache_root() -> Path:
    """$DOSSIER_CACHE_DIR, else $XDG_CACHE_HOME/dossier-check, else ~/.cache/dossier-check (core/settings.py)."""
    from core.settings import Settings  # here: pydantic-settings costs ~0.2 s to import

    return Settings().cache_root

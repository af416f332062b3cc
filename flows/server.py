"""Prefect's settings for `dossier batch` and `dossier watch`, set before Prefect is imported.

Kept free of Prefect imports: the environment must be in place when Prefect reads its settings.
"""

from __future__ import annotations

import os


def quiet_prefect() -> None:
    """Defaults a bureau's machine wants (each one can still be overridden from the environment)."""
    # No usage data leaves the bureau's machine.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Prefect's per-task log lines would drown the clerk's one line per dossier.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The temporary server is stopped while it may still be recording the last events, and says so
    # with a traceback; nothing a clerk can act on (a server PREFECT_API_URL names is not affected).
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")

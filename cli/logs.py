"""Where the product's log records go, configured once by the command that runs (cli/main.py).

Records of the `dossier.*` loggers (each with an `event` name and its fields as attributes, see
flows/watch/walk.py, pipeline/batch.py) are printed as the clerk's lines: INFO on stdout, warnings and
errors on stderr, each line terminal-safe. On a terminal through rich's handler (a time column, wrapped to
the terminal's width); into a pipe, a file or the journal as plain `[HH:MM:SS] message` lines, never
wrapped, so that scripts can read them. With DOSSIER_EVENT_LOG set (core/settings.py), every record —
DEBUG included (the per-dossier records of `--quiet` runs) — is also appended there as a JSON line:
{"time", "level", "logger", "event", "message", …fields}.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from core.names import terminal_safe

ROOT = "dossier"
_OURS = "_dossier_handler"  # marks the handlers configured here, so that configuring again replaces them
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def configure_logging(event_log: Path | None = None) -> None:
    """The handlers of the `dossier` logger: the clerk's lines, and the JSON event log if asked for. Records
    do not go on to the root logger (Prefect configures that one for its own lines)."""
    logger = logging.getLogger(ROOT)
    for handler in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG if event_log else logging.INFO)
    logger.propagate = False
    stdout = _console(sys.stdout, stderr=False)
    stdout.setLevel(logging.INFO)
    stdout.addFilter(lambda record: record.levelno < logging.WARNING)
    stderr = _console(sys.stderr, stderr=True)
    stderr.setLevel(logging.WARNING)
    handlers = [stdout, stderr]
    if event_log is not None:
        event_log.parent.mkdir(parents=True, exist_ok=True)
        events = logging.FileHandler(event_log, encoding="utf-8")
        events.setFormatter(JsonFormatter())
        handlers.append(events)
    for handler in handlers:
        setattr(handler, _OURS, True)
        logger.addHandler(handler)


class _SafeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


class _StandardStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to sys.stdout or sys.stderr as they are when a record comes (pytest's
    capture, rich's live display and tests replace them)."""

    def __init__(self, stderr: bool) -> None:
        super().__init__()
        self._stderr = stderr

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr if self._stderr else sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _console(stream: TextIO, stderr: bool) -> logging.Handler:
    handler: logging.Handler
    if stream.isatty():
        from rich.console import Console
        from rich.highlighter import NullHighlighter
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=stderr),  # no file: sys.stdout/err as they are when a record comes
            show_level=False,
            show_path=False,
            markup=False,  # a dossier's name may hold [brackets]
            highlighter=NullHighlighter(),  # the clerk's line as written (numbers in names are not values)
            log_time_format="[%X]",
        )
        handler.setFormatter(_SafeFormatter("%(message)s"))
    else:
        handler = _StandardStream(stderr)
        handler.setFormatter(_SafeFormatter("[%(asctime)s] %(message)s", datefmt="%H:%M:%S"))
    return handler


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, event, message and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
        }
        data |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in data}
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)

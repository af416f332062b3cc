"""Why a file could not be read: a short machine word and a sentence for the clerk."""

from __future__ import annotations


class Unreadable(Exception):
    """Raised by an extractor for a file it cannot read; `reason` is Chinese, for people."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Unsupported(Exception):
    """A kind of file the pipeline does not read (or cannot here, e.g. no LibreOffice)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

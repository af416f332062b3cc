"""Exit codes of the `dossier` command (CONTRACT.md), defined once."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # check: complete; batch: every dossier got a report; watch, demo, seals, schema, serve: done
    INCOMPLETE = 1  # check: incomplete (also when nothing could be read); batch: some dossier got no report
    USAGE = 2  # bad arguments, a path that does not exist, a service that cannot start
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)


class UsageError(Exception):
    """Bad arguments: exit code 2 with this message (Chinese, for people) on stderr."""

"""Settling: what a dossier in the inbox looks like now, and whether it has stopped changing.

A dossier is read only once it has SETTLED: no file of it changed size or mtime for `--settle` seconds
of observation, so half-copied zips and folders still filling up are never read. Observation time, not
file mtimes: copy tools keep the source's mtimes, so a half-copied file can look old.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from pipeline.intake import is_junk

# One dossier's state on disk: (relative path, kind, size, mtime in ns) of each of its files.
Snapshot = tuple[tuple[str, str, int, int], ...]


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "f"
    if stat.S_ISDIR(mode):
        return "d"
    if stat.S_ISLNK(mode):
        return "l"
    return "x"  # FIFO, socket, device


def snapshot(path: Path) -> Snapshot | None:
    """Sizes and mtimes of every file of a dossier; None when it is gone."""
    try:
        st = path.lstat()  # a link is not followed (intake refuses it, and the report says so)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return (("", _kind(st.st_mode), st.st_size, st.st_mtime_ns),)
    entries: list[tuple[str, str, int, int]] = []
    for folder, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(folder, name)
            try:
                fst = os.lstat(full)
            except OSError:
                continue  # removed while walking; the next look sees the new state
            entries.append((os.path.relpath(full, path), _kind(fst.st_mode), fst.st_size, fst.st_mtime_ns))
    return tuple(entries)


def signature(snap: Snapshot) -> str:
    """A snapshot as the registry stores it: a dossier whose signature is the registry's was handled and
    has not been touched since."""
    return hashlib.sha256(repr(snap).encode()).hexdigest()


def has_content(snap: Snapshot) -> bool:
    """A folder just created holds nothing yet: wait for its files before checking it."""
    return any(rel == "" or not is_junk(rel.replace(os.sep, "/")) for rel, *_ in snap)


def registry_hash(path: Path) -> str:
    """The content hash (equal for equal content under any name); a dossier whose bytes cannot be read
    hashes its sizes and mtimes instead, so it is registered, and fails, like any other."""
    from pipeline.runner import content_hash

    try:
        return content_hash(path)
    except OSError:
        return "unreadable:" + signature(snapshot(path) or ())


class SettleTracker:
    """A dossier is settled once its snapshot stayed the same for `delay` seconds of observation.

    Times are the caller's (time.monotonic() in the service), so tests feed fakes.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._since: dict[str, tuple[Snapshot, float]] = {}

    def observe(self, name: str, snap: Snapshot, now: float) -> bool:
        """Record what `name` looks like at `now`; True once it has not changed for `delay` seconds."""
        previous = self._since.get(name)
        if previous is None or previous[0] != snap:
            self._since[name] = (snap, now)
            return self.delay <= 0
        return now - previous[1] >= self.delay

    def forget(self, name: str) -> None:
        self._since.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._since

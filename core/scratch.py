"""One private scratch folder per process that checks dossiers; nothing of ours is left in /tmp.

Unpacked archives, LibreOffice conversions and every temporary file of the process and its workers go
under `$TMPDIR/dossier-run-<pid>-…` (the process sets TMPDIR to it, so worker processes and the programs
they start inherit it). The folder goes when the process exits (also on SIGTERM, which the CLI turns into a
normal exit); a process killed outright leaves it behind, and the next run removes it: each folder holds a
lock for as long as its process lives, so a folder whose lock can be taken belongs to nobody.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing.process
import os
import shutil
import tempfile
import time
from multiprocessing.util import Finalize
from pathlib import Path

PREFIX = "dossier-run-"
_MAKING = "." + PREFIX  # a folder not yet locked by its process
_LOCK = ".lock"
# multiprocessing makes its sockets in the temporary folder, and a socket's path holds at most 107 bytes.
MAX_ROOT = 107 - len("/pymp-12345678/listener-12345678")

_root: Path | None = None
_owner = 0
_locks: list[int] = []  # held open for the process's life


def scratch_root() -> Path:
    """This process's scratch folder, made (and made TMPDIR) on first use."""
    global _root, _owner
    if _root is not None and _owner == os.getpid():
        return _root
    base = Path(tempfile.gettempdir())
    _root, _owner = _locked_folder(base), os.getpid()
    # Children started from here (worker processes, LibreOffice) inherit it; this process's own temporary
    # files go there too.
    os.environ["TMPDIR"] = str(_root)
    tempfile.tempdir = str(_root)
    if len(os.fsencode(_root)) > MAX_ROOT:  # too long for multiprocessing's sockets: a short folder for them
        config = multiprocessing.process.current_process()._config  # where multiprocessing looks first
        if config.get("tempdir") is None:
            config["tempdir"] = str(_locked_folder(Path("/tmp")))
    return _root


def _locked_folder(base: Path) -> Path:
    """A new scratch folder in BASE, locked while this process lives and removed when it exits."""
    sweep(base)
    # Made under a name sweeps pass over, locked, then given its own: a process starting at the same moment
    # (two Dask workers' first dossiers) could otherwise take the lock of a folder whose owner has not
    # taken it yet, and remove the folder under it.
    making = Path(tempfile.mkdtemp(prefix=f"{_MAKING}{os.getpid()}-", dir=base))
    fd = os.open(making / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _locks.append(fd)
    folder = making.with_name(making.name.removeprefix("."))
    making.rename(folder)
    # After multiprocessing's own exit work, which removes its folder (made inside this one) at priority -100.
    Finalize(None, _remove, args=(folder, os.getpid()), exitpriority=-101)
    return folder


def _remove(root: Path, owner: int) -> None:
    if os.getpid() != owner:  # a forked child runs its parent's exit work: the folder is not its own
        return
    shutil.rmtree(root, ignore_errors=True)


def sweep(base: Path) -> list[Path]:
    """Remove the scratch folders of processes that are gone; the folders removed."""
    removed: list[Path] = []
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith((PREFIX, _MAKING))]
    except OSError:
        return removed
    for folder in candidates:
        if folder == _root:
            continue
        if folder.name.startswith(_MAKING) or not (folder / _LOCK).exists():
            # Not ours to judge while it is being made (its lock may not be taken yet); one older than a day is.
            with contextlib.suppress(OSError):
                if folder.is_dir() and _age(folder) > 86400:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        try:
            fd = os.open(folder / _LOCK, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its process still runs
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
        removed.append(folder)
    return removed


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def private_folder(prefix: str) -> Path:
    """A new folder inside the scratch root (removed by its user, or with the root)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_root()))

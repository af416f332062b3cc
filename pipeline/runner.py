"""Checking one dossier after another in a long-lived process, without Prefect.

What the plain batch (`dossier demo`), the Prefect flow (`dossier batch`, flows/check.py) and the watch
service (flows/watch.py) share: the dossier's content hash, one ruleset and one pool of worker processes
per process, `run_one` (read, judge, write the reports; a bad dossier becomes a `failed` row, never an
exception) and the clerk's wording of why a dossier failed.

Threads: several dossiers may be in flight at once (one is judged in this process while the next one's
files are read in the pool). The pool is not thread-safe, so `SharedPool` lets one `run_all` in at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.names import shown
from extractors.sandbox import ExtractionPool

from .dossier import check_dossier, failure_report, segmenter_for, write_outputs
from .intake import is_junk
from .reports import failed_row, summary_row, write_reports
from .ruleset import Ruleset, load_ruleset

# A dossier is given up after an hour: files and pages have their own limits (the sandbox's
# `timeout`), so only a dossier with hundreds of scanned pages on a slow machine comes near it.
DOSSIER_TIMEOUT = 3600.0


# ---------------------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------------------


def _feed(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


def content_hash(path: Path) -> str:
    """SHA-256 of a dossier's content: a folder's files (relative paths and bytes), else the file's bytes.

    Equal for equal content under any name or place; a renamed or moved file inside counts. Junk
    (Thumbs.db, __MACOSX …) does not, as intake ignores it. Symbolic links inside a folder count by their
    target's name (intake does not follow them). Raises OSError when the dossier cannot be read.
    """
    digest = hashlib.sha256()
    if path.is_symlink():  # never followed (intake refuses it): its target's name is its content
        digest.update(b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
        return digest.hexdigest()
    if not path.is_dir():
        if not path.is_file():  # a named pipe would block the read, a device never end
            raise OSError(f"不是普通文件或文件夹：{path}")
        digest.update(b"file\0")
        _feed(digest, path)
        return digest.hexdigest()
    digest.update(b"folder\0")
    entries: list[tuple[str, Path]] = []
    for parent, dirs, files in os.walk(path):  # does not follow symlinked folders
        base = Path(parent)
        dirs.sort()
        entries.extend((base.joinpath(name).relative_to(path).as_posix(), base / name) for name in files)
        entries.extend((base.joinpath(name).relative_to(path).as_posix(), base / name) for name in dirs)
    for rel, entry in sorted(entries):
        if is_junk(rel):
            continue
        name = rel.encode("utf-8", "surrogateescape")
        if entry.is_symlink():
            target = os.readlink(entry).encode("utf-8", "surrogateescape")
            digest.update(b"L%d:%s%d:%s" % (len(name), name, len(target), target))
        elif entry.is_file():
            digest.update(b"F%d:%s%d:" % (len(name), name, entry.stat().st_size))
            try:
                _feed(digest, entry)
            except OSError:  # unreadable (permissions): intake reports it; its name and size still count
                digest.update(b"unreadable")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Rulesets and worker processes, shared by the threads of one process
# ---------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_rulesets: dict[tuple[str, int], Ruleset] = {}


def resolve_ruleset(value: str) -> str:
    """A ruleset id as it is, a ruleset file by its absolute path (a Dask worker's current directory is
    not ours, and one file must not be loaded twice under two names)."""
    return str(Path(value).resolve()) if Path(value).suffix else value


def ruleset_for(ref: str) -> Ruleset:
    """A ruleset by id or path, loaded once per process (again when its file changes), with jieba's
    dictionary loading from the first time."""
    path = Path(ref) if Path(ref).suffix else None
    stamp = path.stat().st_mtime_ns if path else 0
    with _lock:  # two threads starting together would otherwise load the dictionary twice
        key = (ref, stamp)
        if key not in _rulesets:
            _rulesets[key] = load_ruleset(ref)
            segmenter_for(_rulesets[key])
        return _rulesets[key]


class SharedPool(ExtractionPool):
    """An ExtractionPool several threads share: one `run_all` at a time.

    A thread reads under the lock and judges outside it, so a second dossier's files are read while the
    first is judged. If a run is interrupted (a time limit raises inside it), the workers are replaced:
    they may still be busy with jobs nobody waits for.
    """

    def __init__(self, workers: int, timeout: float) -> None:
        super().__init__(workers=workers, timeout=timeout)
        self._run_lock = threading.Lock()

    def run_all(self, jobs: Sequence[Any]) -> list[Any]:
        with self._run_lock:
            try:
                return super().run_all(jobs)
            except BaseException:
                self.close()
                raise


_pools: dict[tuple[int, float], SharedPool] = {}
_leases = 0


def shared_pool(workers: int, timeout: float) -> SharedPool:
    """This process's warm pool of `workers` processes with that time limit (started on first use)."""
    with _lock:
        key = (max(1, workers), timeout)
        if key not in _pools:
            _pools[key] = SharedPool(*key)
            _pools[key].warm()
        return _pools[key]


def close_pools() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)


@contextmanager
def pools_in_use() -> Iterator[None]:
    """Close the shared pools when the last user of this process (a batch, a flow run, the watch
    service) is done with them; nested users keep them warm."""
    global _leases
    with _lock:
        _leases += 1
    try:
        yield
    finally:
        with _lock:
            _leases -= 1
            last = _leases == 0
        if last:
            close_pools()


# ---------------------------------------------------------------------------------------------------
# One dossier
# ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What checking one dossier gave: enough to write its reports again (Prefect caches it)."""

    row: dict[str, Any]  # its summary.json row; verdict `failed` when it got no report
    report: dict[str, Any] | None = None  # None when the dossier could not be checked
    crops: dict[str, bytes] = field(default_factory=dict)  # seal crops beside the report
    error: str | None = None  # error.txt: the traceback of a dossier that could not be checked
    flow_run: str | None = None  # the Prefect flow run that computed it (another one: from the cache)


def failure_reason(exc: BaseException) -> str:
    """Why a dossier could not be checked, for the clerk (names in it shown safely)."""
    if isinstance(exc, FileNotFoundError):
        reason = f"处理失败：找不到文件（失效的快捷方式或符号链接，或已被移走）：{exc.filename}"
    elif isinstance(exc, PermissionError):
        reason = f"处理失败：没有读取权限：{exc.filename}"
    elif isinstance(exc, TimeoutError):
        reason = f"处理失败：超过 {DOSSIER_TIMEOUT:g} 秒仍未完成"
    else:
        reason = f"处理失败：{type(exc).__name__}: {exc}"
    return shown(reason)


def write_files(outcome: Outcome, out_dir: Path, formats: Sequence[str]) -> None:
    """The report files of an outcome (or its error.txt): for outcomes served from a cache."""
    if outcome.report is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "error.txt").write_text(outcome.error or outcome.row.get("failure") or "", encoding="utf-8")
        return
    write_reports(outcome.report, out_dir, formats)
    for name, data in outcome.crops.items():
        (out_dir / name).write_bytes(data)


def run_one(
    child: Path, ident: str, out: Path, ruleset: Ruleset, pool: ExtractionPool, formats: Sequence[str]
) -> Outcome:
    """Check one dossier into out/<ident>/report.*. Never raises for a bad dossier: its row says `failed`,
    out/<ident>/error.txt says why for the maintainer and its reports say so for the clerk. Raises only
    OSError while writing the reports (a full disk, a share gone away: worth another try)."""
    try:
        checked = check_dossier(child, ruleset, pool, child.name)
        checked.report["dossier"]["id"] = ident
    except Exception as exc:  # a bad dossier must not stop the batch
        error, reason = traceback.format_exc(), failure_reason(exc)
        (out / ident).mkdir(parents=True, exist_ok=True)
        (out / ident / "error.txt").write_text(error, encoding="utf-8")
        with contextlib.suppress(Exception):  # the row and error.txt say it already
            failed = failure_report(child, child.name, reason, ruleset)
            failed.report["dossier"]["id"] = ident
            write_outputs(failed, out / ident, formats)
        return Outcome(failed_row(ident, shown(child.name), reason), error=error)
    write_outputs(checked, out / ident, formats)
    crops = {str(i.seal["crop"]): i.seal_crop for i in checked.items if i.seal_crop and i.seal}
    return Outcome(summary_row(checked.report, ident), checked.report, crops)

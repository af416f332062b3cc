"""What the plain batch (`dossier demo`), the Prefect flow (`dossier batch`, flows/check.py) and the watch
service share around the engine (pipeline/engine.py): a dossier's content hash (the cache key), its
`Outcome` (what a check gave, enough to write the reports again) and the clerk's wording of why a
dossier could not be checked."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.names import shown

from .dossier import write_outputs
from .intake import is_junk
from .report import Report

# A dossier is given up after an hour: files and pages have their own limits (the sandbox's
# `timeout`), so only a dossier with hundreds of scanned pages on a slow machine comes near it.
DOSSIER_TIMEOUT = 3600.0


# ---------------------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------------------


def _feed(digest: Any, path: Path) -> None:
    # Fed into the dossier's one digest (hashlib.file_digest makes a digest of its own).
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


def resolve_ruleset(value: str) -> str:
    """A ruleset id as it is, a ruleset file by its absolute path (a Dask worker's current directory is
    not ours, and one file must not be loaded twice under two names)."""
    return str(Path(value).resolve()) if Path(value).suffix else value


# ---------------------------------------------------------------------------------------------------
# One dossier
# ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What checking one dossier gave: enough to write its reports again (Prefect caches it)."""

    row: dict[str, Any]  # its summary.json row; verdict `failed` when it got no report
    report: Report | None = None  # None when the dossier could not be checked; carries its seal crops
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
    write_outputs(outcome.report, out_dir, formats)

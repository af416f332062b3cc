"""A dossier's source files on the desk: downloads, page images and boxes, through `web/pages.py`.

Every path starts from the inbox and the report (never from the URL, which names only an index), and
`pages.resolve_source` / `pages.open_file` refuse any that leads out of the inbox or through a link.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.report import Report

from .dossier import NotFound

NO_INBOX = "不知道原始材料在哪里（汇总表未记录收件箱，请用 --inbox 指定），无法读取"
SOURCE_GONE = "收件箱中已没有这个材料包（可能已移走或改名）"


class Unavailable(Exception):
    """A page that cannot be drawn (encrypted, corrupt, no LibreOffice …): 422 with the Chinese reason."""


@functools.cache
def cache_dir() -> Path:
    """Page images, Word conversions and unpacked archive members, by content (sha256): rebuildable."""
    from core.paths import cache_root

    return cache_root() / "web"


def source_of(out: Path, inbox: Path | None, report: Report) -> Path:
    """The dossier's source in the inbox (a folder, a zip or a single file)."""
    from .pages import UnsafePath, resolve_source, source_root

    root = source_root(out, inbox)
    if root is None:
        raise NotFound(NO_INBOX)
    try:
        source = resolve_source(root, report)
    except UnsafePath as exc:
        raise NotFound(str(exc)) from exc
    if not os.path.lexists(source):
        raise NotFound(SOURCE_GONE)
    return source


def source_file(out: Path, inbox: Path | None, report: Report, n: int) -> tuple[Path, str, Path | None]:
    """The n-th file of the report in its dossier: (path, download name, temporary folder to remove)."""
    from .pages import UnsafePath, open_file

    if not 0 <= n < len(report.dossier.files):
        raise NotFound("没有这个文件")
    rel = report.dossier.files[n].path
    source = source_of(out, inbox, report)
    try:
        path = open_file(source, rel, cache_dir() / "files")
    except UnsafePath as exc:
        raise NotFound(str(exc)) from exc
    except FileNotFoundError as exc:
        raise NotFound("材料包中已找不到此文件") from exc
    return path, PurePosixPath(rel).name, None


def whole_source(out: Path, inbox: Path | None, report: Report) -> tuple[Path, str, Path | None]:
    """The dossier's source as it came: a file as is, a folder zipped now (regular files only, links left
    out)."""
    source = source_of(out, inbox, report)
    mode = source.lstat().st_mode
    if stat.S_ISREG(mode):
        return source, source.name, None
    if not stat.S_ISDIR(mode):
        raise NotFound(SOURCE_GONE)
    scratch = Path(tempfile.mkdtemp(prefix="dossier-web-"))
    archive = scratch / f"{source.name}.zip"
    try:
        zip_folder(source, archive)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return archive, archive.name, scratch


def zip_folder(folder: Path, archive: Path) -> None:
    """FOLDER's regular files into ARCHIVE (UTF-8 names), not following links."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
        for here, dirs, files in os.walk(folder, followlinks=False):
            base = Path(here)
            dirs[:] = sorted(n for n in dirs if not (base / n).is_symlink())
            for name in sorted(files):
                path = base / name
                if stat.S_ISREG(path.lstat().st_mode):
                    packed.write(path, path.relative_to(folder).as_posix())


def page_png(out: Path, inbox: Path | None, report: Report, n: int, page: int, width: int) -> bytes:
    from .pages import PageUnavailable, UnsafePath, render_page

    if not 0 <= n < len(report.dossier.files):
        raise NotFound("没有这个文件")
    source = source_of(out, inbox, report)
    try:
        return render_page(source, report.dossier.files[n].path, page, width, cache_dir())
    except UnsafePath as exc:
        raise NotFound(str(exc)) from exc
    except PageUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def boxes(out: Path, inbox: Path | None, report: Report, n: int, page: int) -> list[dict[str, Any]]:
    from .pages import PageUnavailable, UnsafePath, page_boxes

    if not 0 <= n < len(report.dossier.files):
        raise NotFound("没有这个文件")
    source = source_of(out, inbox, report)
    try:
        return page_boxes(report, n, page, source, cache_dir())
    except UnsafePath as exc:
        raise NotFound(str(exc)) from exc
    except PageUnavailable as exc:
        raise Unavailable(str(exc)) from exc

"""Page previews of a dossier's files, rendered on demand and cached, and the boxes drawn on a page.

The files are the applicants' own. Every path is resolved inside the inbox and refused if it leads out
of it (`..`, separators, symbolic links); archives are unpacked by the intake's own rules and limits,
into the cache folder and nowhere else; pages are drawn and searched in a worker process of the
extraction pool, so a hostile PDF costs its preview, never the web page. A Word file is shown through
its PDF conversion by LibreOffice, in the same sandbox the reading uses.

The cache folder holds, keyed by each file's sha256 (whatever dossier it came in):
`png/<sha[:2]>/<sha>-<page>-<width>.png`, `pdf/<sha>.pdf` (Word conversions), `view/…json` (page counts,
sizes and title boxes), and `files/` (archive members, unpacked once per archive). Every file is written
whole and renamed into place: a second request is a file read.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.names import shown
from extractors import detect_format
from extractors.errors import Unreadable, Unsupported
from extractors.preview import PageJob, PageView
from extractors.sandbox import ExtractionPool
from pipeline.intake import open_dossier, sha256_of
from pipeline.report import Report, SealFound
from pipeline.reports.files import replace_into

MIN_WIDTH, MAX_WIDTH = 100, 2000
RENDER_SECONDS = 30.0  # one page drawn (or searched) in a worker; a page that takes longer is given up
RENDER_WORKERS = 2
CONVERSIONS_AT_ONCE = 2  # LibreOffice processes converting Word files at one time
WORD_FORMATS = ("docx", "doc", "wps", "rtf")
IMAGE_FORMATS = ("jpg", "png", "tif", "bmp")
TOC_TITLES = 3  # titles of this many items on one page: a 目录, whose lines are not the items' titles

# The clerk's words.
NO_LIBREOFFICE = "本机未安装 LibreOffice，无法显示 Word 文件的页面（请安装 libreoffice-writer-nogui）"
NOT_SHOWABLE = "此类文件（{kind}）无法显示页面，请下载后查看"
FILE_GONE = "材料包中已找不到此文件（可能已被替换或删除），请重新检查该材料包"
SEAL_LABEL = "公章（{title}）"


class UnsafePath(ValueError):
    """A path that would lead out of the inbox (or into a link): refused; the message is for people."""


class PageUnavailable(Exception):
    """A page that cannot be shown (an encrypted or corrupt file, a page out of range, no LibreOffice);
    the message is for people."""


# ---------------------------------------------------------------------------------------------------
# where the source files are
# ---------------------------------------------------------------------------------------------------


def source_root(out: Path, inbox: Path | None) -> Path | None:
    """The inbox folder: INBOX if given, else the `"inbox"` of OUT/summary.json (batch and watch write
    it), else None (no previews, no source downloads)."""
    if inbox is not None:
        return Path(inbox)
    try:
        data = json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("inbox") if isinstance(data, dict) else None
    return Path(value) if isinstance(value, str) and value else None


def resolve_source(root: Path, report: Report) -> Path:
    """`<root>/<report.dossier.source>`: a direct child of the inbox, not a link; UnsafePath otherwise."""
    name = report.dossier.source
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise UnsafePath(f"材料包路径不安全，已拒绝：{shown(name)}")
    base = Path(os.path.realpath(root))
    path = base / name
    if path.is_symlink():
        raise UnsafePath(f"材料包是符号链接，已拒绝：{shown(name)}")
    if Path(os.path.realpath(path)).parent != base:
        raise UnsafePath(f"材料包不在收件箱内，已拒绝：{shown(name)}")
    return path


def _parts(file_rel: str) -> list[str]:
    """FILE_REL's parts; UnsafePath for an absolute path, `..`, `.`, an empty part or a NUL."""
    if not file_rel or "\0" in file_rel or "\\" in file_rel or file_rel.startswith("/"):
        raise UnsafePath(f"文件路径不安全，已拒绝：{shown(file_rel)}")
    parts = file_rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"文件路径不安全，已拒绝：{shown(file_rel)}")
    return parts


def open_file(source: Path, file_rel: str, scratch: Path) -> Path:
    """The real path of the dossier file FILE_REL (`report.dossier.files[n].path`) of the dossier SOURCE.

    A single file is itself; a file of a folder is read where it is, unless a link or a path out of the
    folder leads there (UnsafePath); a member of an archive (the dossier a `.zip`, or a `.zip` inside its
    folder) is unpacked into SCRATCH by the intake's rules (names decoded as the report shows them, its
    size and count limits) and found there. FileNotFoundError when the file is no longer there.
    """
    parts = _parts(file_rel)
    if source.is_symlink():
        raise UnsafePath(f"材料包是符号链接，已拒绝：{shown(source.name)}")
    if source.is_file():
        if len(parts) == 1 and file_rel == shown(source.name) and source.suffix.lower() != ".zip":
            return source
        return _member(source, file_rel, scratch)
    if not source.is_dir():
        raise FileNotFoundError(FILE_GONE)
    base = Path(os.path.realpath(source))
    path = base
    for number, part in enumerate(parts):
        path = path / part
        if path.is_symlink():
            raise UnsafePath(f"文件路径经过符号链接，已拒绝：{shown(file_rel)}")
        if path.is_file() and number < len(parts) - 1:
            if path.suffix.lower() != ".zip":
                raise FileNotFoundError(FILE_GONE)
            # A zip inside the folder: its members are shown as <zip path>/<member path>.
            return _member(path, "/".join(parts[number + 1 :]), scratch)
        if not path.exists():
            raise FileNotFoundError(FILE_GONE)
    if not Path(os.path.realpath(path)).is_relative_to(base):
        raise UnsafePath(f"文件不在材料包内，已拒绝：{shown(file_rel)}")
    if not path.is_file():
        raise FileNotFoundError(FILE_GONE)
    return path


_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def _lock(key: str) -> threading.Lock:
    """One lock per cache entry: two requests for one page (or archive) do the work once."""
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


_manifests: dict[Path, dict[str, dict[str, str]]] = {}


def _member(archive: Path, member: str, scratch: Path) -> Path:
    """The member MEMBER of the archive (or archive-like single file) ARCHIVE, unpacked into SCRATCH."""
    folder, entries = _unpacked(archive, scratch)
    entry = entries.get(member)
    if entry is None:
        raise FileNotFoundError(FILE_GONE)
    return folder / entry["name"]


def _unpacked(archive: Path, scratch: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    """Every file of ARCHIVE, unpacked once (per content of the archive: its identity, size and time) into
    SCRATCH/unpacked/<key>/ with a manifest: member path as reported → stored name and sha256."""
    st = archive.stat()
    identity = f"{os.path.realpath(archive)}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"
    key = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    parent = Path(scratch) / "unpacked"
    folder = parent / key
    manifest = folder / "manifest.json"
    with _lock(f"unpack:{folder}"):
        if folder in _manifests and manifest.is_file():
            return folder, _manifests[folder]
        if not manifest.is_file():
            parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=parent))
            try:
                entries: dict[str, dict[str, str]] = {}
                # The intake itself: the same member names as the report, the same limits.
                with open_dossier(archive) as intake:
                    for number, job in enumerate(intake.files, start=1):
                        if not job.path.is_relative_to(intake.workdir):
                            continue
                        name = f"{number:06d}{job.path.suffix}"
                        shutil.move(job.path, staging / name)
                        entries[job.rel] = {"name": name, "sha256": job.sha256}
                (staging / "manifest.json").write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
                with contextlib.suppress(OSError):  # unpacked meanwhile by another process: keep theirs
                    staging.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        _manifests[folder] = json.loads(manifest.read_text(encoding="utf-8"))
        return folder, _manifests[folder]


# ---------------------------------------------------------------------------------------------------
# pages
# ---------------------------------------------------------------------------------------------------

_pool_guard = threading.Lock()
_default_pool: ExtractionPool | None = None


def _pool(pool: ExtractionPool | None) -> ExtractionPool:
    """The pool given, else this process's own (two workers, started on first use, stopped at exit)."""
    global _default_pool
    if pool is not None:
        return pool
    with _pool_guard:
        if _default_pool is None:
            _default_pool = ExtractionPool(workers=RENDER_WORKERS, timeout=RENDER_SECONDS)
            atexit.register(_default_pool.close)
        return _default_pool


_hashes: dict[tuple[str, int, int, int, int], str] = {}


def _sha256(path: Path) -> str:
    """The file's sha256, remembered while the file stays as it is."""
    st = path.stat()
    key = (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _hashes:
        _hashes[key] = sha256_of(path)
    return _hashes[key]


def _write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """WRITE PATH whole (`replace_into`), its folder made first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_into(path, write)


_conversions = threading.BoundedSemaphore(CONVERSIONS_AT_ONCE)


def _word_pdf(path: Path, kind: str, sha: str, cache_dir: Path) -> Path:
    """The Word file's PDF conversion (LibreOffice, sandboxed), made once and kept in the cache."""
    from extractors.legacy import converted, soffice

    target = cache_dir / "pdf" / f"{sha}.pdf"
    with _lock(f"pdf:{target}"):
        if target.is_file():
            return target
        if soffice() is None:
            raise PageUnavailable(NO_LIBREOFFICE)
        try:
            with _conversions, converted(path, kind, "pdf") as pdf:
                _write_whole(target, lambda p: shutil.copyfile(pdf, p))
        except (Unsupported, Unreadable) as exc:
            raise PageUnavailable(f"Word 文件无法转换为 PDF 显示：{exc.reason}") from exc
    return target


def _showable(path: Path, sha: str, cache_dir: Path) -> tuple[Path, str]:
    """What to draw for the file at PATH: (a PDF, "pdf") — itself or its Word conversion — or (PATH, "image")."""
    try:
        kind = detect_format(path)
    except OSError as exc:
        raise PageUnavailable(FILE_GONE) from exc
    if kind == "pdf":
        return path, "pdf"
    if kind in IMAGE_FORMATS:
        return path, "image"
    if kind in WORD_FORMATS:
        return _word_pdf(path, kind, sha, cache_dir), "pdf"
    if kind == "ooxml-encrypted":
        raise PageUnavailable("Office 文件设有打开密码（已加密），无法显示")
    if kind == "empty":
        raise PageUnavailable("文件为空（0 字节），无法显示")
    raise PageUnavailable(NOT_SHOWABLE.format(kind=shown(kind)))


def _located(source: Path, file_rel: str, cache_dir: Path) -> tuple[Path, str]:
    """The file's real path and sha256; PageUnavailable if it is gone (UnsafePath passes through)."""
    try:
        path = open_file(source, file_rel, Path(cache_dir) / "files")
        return path, _sha256(path)
    except FileNotFoundError as exc:
        raise PageUnavailable(FILE_GONE) from exc


def _view(job: PageJob, pool: ExtractionPool | None) -> PageView:
    view: PageView = _pool(pool).run_all([job])[0]
    if view.error:
        raise PageUnavailable(view.error)
    return view


def render_page(
    source: Path,
    file_rel: str,
    page: int,
    width: int,
    cache_dir: Path,
    *,
    pool: ExtractionPool | None = None,
) -> bytes:
    """A PNG of page PAGE (1-based) of the dossier file FILE_REL, WIDTH pixels wide (clamped to 100..2000).

    PDF pages are drawn by pdfium, Word files through their PDF conversion, images (multi-page TIFF too)
    by Pillow; every PNG is cached in CACHE_DIR by the file's sha256, page and width. PageUnavailable
    (a Chinese message) for an encrypted or corrupt file, a page out of range, no LibreOffice; UnsafePath
    for a path out of the dossier.
    """
    width = min(MAX_WIDTH, max(MIN_WIDTH, int(width)))
    if page < 1:
        raise PageUnavailable(f"页码无效：{page}")
    cache_dir = Path(cache_dir)
    path, sha = _located(source, file_rel, cache_dir)
    target = cache_dir / "png" / sha[:2] / f"{sha}-{page}-{width}.png"
    with contextlib.suppress(FileNotFoundError):
        return target.read_bytes()
    with _lock(f"png:{target}"):
        with contextlib.suppress(FileNotFoundError):
            return target.read_bytes()
        drawn, kind = _showable(path, sha, cache_dir)
        png = _view(PageJob(drawn, kind, page, width), pool).png
        _write_whole(target, lambda p: p.write_bytes(png))
    return png


def page_count(source: Path, file_rel: str, cache_dir: Path, *, pool: ExtractionPool | None = None) -> int:
    """How many pages the file shows (a Word file: its PDF conversion's); PageUnavailable as render_page."""
    cache_dir = Path(cache_dir)
    path, sha = _located(source, file_rel, cache_dir)
    return int(_page_view(path, sha, 1, (), cache_dir, pool)["pages"])


def _page_view(
    path: Path, sha: str, page: int, titles: tuple[str, ...], cache_dir: Path, pool: ExtractionPool | None
) -> dict[str, Any]:
    """The page's count, size (points) and title boxes, cached as JSON by sha256, page and titles."""
    asked = hashlib.sha256("\0".join(titles).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    target = cache_dir / "view" / sha[:2] / f"{sha}-{page}-{asked}.json"
    with contextlib.suppress(FileNotFoundError, ValueError):
        return dict(json.loads(target.read_text(encoding="utf-8")))
    drawn, kind = _showable(path, sha, cache_dir)
    view = _view(PageJob(drawn, kind, page, 0, titles), pool)
    data = {"pages": view.pages, "size": list(view.size), "boxes": [list(b) for b in view.boxes]}
    _write_whole(target, lambda p: p.write_text(json.dumps(data), encoding="utf-8"))
    return data


# ---------------------------------------------------------------------------------------------------
# boxes
# ---------------------------------------------------------------------------------------------------


def _on_page(pages: list[int] | None, page: int) -> bool:
    return pages is None or pages[0] <= page <= pages[-1]


def _titles(report: Report, file_index: int, page: int) -> dict[str, list[str]]:
    """Item id → the title lines to look for on the page: each item located there, by the titles its
    sections were identified by (this file's first, then a copy's in another file)."""
    entry = report.dossier.files[file_index]
    wanted: dict[str, list[str]] = {}
    for section in entry.identified_as:
        if section.item and _on_page(section.pages, page) and section.title.strip():
            wanted.setdefault(section.item, []).append(section.title)
    for item in report.items:
        if any(loc.file == entry.path and _on_page(loc.pages, page) for loc in item.locations):
            titles = wanted.setdefault(item.id, [])
            titles += [s.title for f in report.dossier.files for s in f.identified_as if s.item == item.id]
    return {item: list(dict.fromkeys(t for t in titles if t.strip())) for item, titles in wanted.items()}


def _fraction(value: float, size: float) -> float:
    return round(min(1.0, max(0.0, value / size)), 6) if size > 0 else 0.0


def page_boxes(
    report: Report,
    file_index: int,
    page: int,
    source: Path,
    cache_dir: Path,
    *,
    pool: ExtractionPool | None = None,
) -> list[dict[str, Any]]:
    """The boxes to draw on page PAGE of the report's file FILE_INDEX, as fractions of the page (top-left
    origin): each seal found there, and the title line of each item located there when the page's text
    layer holds it (a Word file: its PDF conversion's). Each `{"kind": "seal"|"item", "item": id,
    "x0", "y0", "x1", "y1", "label"}`. An item whose title is not found gets no box (the page is its box).
    PageUnavailable as render_page; IndexError for a file the report does not have.
    """
    if not 0 <= file_index < len(report.dossier.files):
        raise IndexError(f"报告中没有第 {file_index} 个文件")
    entry = report.dossier.files[file_index]
    seals = [
        i for i in report.items if isinstance(i.seal, SealFound) and i.seal.file == entry.path and i.seal.page == page
    ]
    titles = _titles(report, file_index, page)
    if not seals and not titles:
        return []
    cache_dir = Path(cache_dir)
    path, sha = _located(source, file_rel=entry.path, cache_dir=cache_dir)
    order = [(item, title) for item, ts in titles.items() for title in ts]
    view = _page_view(path, sha, page, tuple(t for _, t in order), cache_dir, pool)
    width, height = view["size"]
    boxes: list[dict[str, Any]] = []
    for item in seals:
        assert isinstance(item.seal, SealFound)
        x0, y0, x1, y1 = item.seal.bbox
        boxes.append(
            {
                "kind": "seal",
                "item": item.id,
                "x0": _fraction(x0, width),
                "y0": _fraction(y0, height),
                "x1": _fraction(x1, width),
                "y1": _fraction(y1, height),
                "label": SEAL_LABEL.format(title=item.title),
            }
        )
    items = {i.id: i for i in report.items}
    found: dict[str, list[float]] = {}
    for number, *box in view["boxes"]:
        if box[2] > box[0] and box[3] > box[1]:
            found.setdefault(order[int(number)][0], box)
    if len(found) >= TOC_TITLES:
        return (
            boxes  # a 目录 (a Word file's items all span every page): where the titles are listed, not where they start
        )
    for ident, (x0, y0, x1, y1) in found.items():
        label = items[ident].title if ident in items else ident
        boxes.append({"kind": "item", "item": ident, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "label": label})
    return boxes

"""One dossier on the clerk's desk: its report, what to show beside each item, the clerk's decisions.

Ids in URLs are looked up among the round's known ids and the report folder must be a direct child of
OUT: nothing else under OUT (the users file, the registry) is ever reached through an id.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.report import ClerkDecision, ItemResult, Report, SealFound
from pipeline.reports import FORMATS as REPORT_FORMATS
from pipeline.reports import wording as w
from pipeline.reports.outline import Block, Heading, Table, item_status, outline
from pipeline.reports.summary import refresh_summary
from pipeline.review import VALUE_TEXT, VALUES, DecisionStore, Target, refresh, targets

MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FORMAT_TEXT = {"json": "JSON", "html": "网页（HTML）", "md": "Markdown", "docx": "Word"}
THUMBS_PER_ITEM = 8


class NotFound(Exception):
    """No such dossier, file, page or item (404); the message is Chinese."""


def report_folder(out: Path, ident: str, known: set[str] | dict[str, object]) -> Path:
    """OUT/<ident>, for an id of the round whose folder is a direct child of OUT holding a report."""
    if ident not in known or not ident or ident in (".", "..") or "/" in ident or "\\" in ident or "\0" in ident:
        raise NotFound(f"没有这个材料包：{ident}")
    folder = out / ident
    real_out, real = os.path.realpath(out), os.path.realpath(folder)
    if os.path.dirname(real) != real_out or os.path.islink(folder) or not (folder / "report.json").is_file():
        raise NotFound(f"没有这个材料包的报告：{ident}")
    return folder


class ReportCache:
    """Reports read from OUT/<id>/report.json, kept until the file changes."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._reports: dict[Path, tuple[tuple[int, int], Report]] = {}

    def get(self, folder: Path) -> Report:
        path = folder / "report.json"
        info = path.stat()
        key = (info.st_mtime_ns, info.st_size)
        with self._lock:
            cached = self._reports.get(folder)
            if cached and cached[0] == key:
                return cached[1]
        report = Report.model_validate_json(path.read_bytes())
        with self._lock:
            if len(self._reports) >= self.size:
                self._reports.pop(next(iter(self._reports)))
            self._reports[folder] = (key, report)
        return report


# ---------------------------------------------------------------------------------------------------
# What the page shows
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thumb:
    file: int  # index into report.dossier.files
    page: int  # 1-based
    kind: str  # item | seal
    label: str


@dataclass(frozen=True)
class DecisionView:
    target: Target
    options: list[tuple[str, str]]  # (value, Chinese)
    selected: str
    tool_text: str
    decided: ClerkDecision | None  # the decision on it in force, or one that no longer applies


@dataclass
class ItemView:
    item: ItemResult
    status: str
    tone: str
    thumbs: list[Thumb] = field(default_factory=list)
    seal_url: str = ""  # the seal crop
    seal_caption: str = ""
    decisions: list[DecisionView] = field(default_factory=list)


def _file_index(report: Report) -> dict[str, int]:
    return {f.path: n for n, f in enumerate(report.dossier.files)}


def _pages(first_last: list[int] | None, limit: int) -> list[int]:
    if not first_last:
        return [1]  # a Word file: its first page, through its PDF conversion
    first, last = first_last[0], first_last[-1]
    return list(range(first, min(last, first + limit - 1) + 1))


def item_thumbs(report: Report, item: ItemResult, limit: int = THUMBS_PER_ITEM) -> list[Thumb]:
    """The pages where the item was found (and the seal's page first), at most `limit`."""
    files = _file_index(report)
    thumbs: list[Thumb] = []
    seen: set[tuple[int, int]] = set()
    seal = item.seal
    if isinstance(seal, SealFound) and seal.file in files and seal.page:
        n = files[seal.file]
        thumbs.append(Thumb(n, seal.page, "seal", f"{w.SEAL_ALT}：{seal.file} 第{seal.page}页"))
        seen.add((n, seal.page))
    for location in item.locations:
        if location.file not in files:
            continue
        n = files[location.file]
        for page in _pages(location.pages, limit):
            if (n, page) not in seen and len(thumbs) < limit:
                seen.add((n, page))
                thumbs.append(Thumb(n, page, "item", f"{location.file} 第{page}页"))
    return thumbs


def decision_views(report: Report) -> list[DecisionView]:
    """Every target of the report with its form's options and the decision on it, if any."""
    decided = {d.target: d for d in report.review.decisions} if report.review else {}
    views = []
    for target in targets(report):
        texts = VALUE_TEXT[target.kind]
        options = [(value, texts[value]) for value in VALUES[target.kind]]
        current = decided.get(target.key)
        selected = current.value if current else target.tool
        views.append(DecisionView(target, options, selected, texts.get(target.tool, target.tool), current))
    return views


def seal_url(ident: str, item: ItemResult) -> str:
    from urllib.parse import quote

    return f"/d/{quote(ident, safe='')}/seal/{quote(item.id, safe='')}.png"


def item_views(report: Report, ident: str, views: list[DecisionView]) -> list[ItemView]:
    by_subject: dict[str, list[DecisionView]] = {}
    for view in views:
        if view.target.kind in ("item", "seal"):
            by_subject.setdefault(view.target.subject, []).append(view)
    result = []
    for item in report.items:
        decisions = by_subject.get(item.id, [])
        status, tone = item_status(report, item)
        shown = ItemView(item, status, tone, item_thumbs(report, item), decisions=decisions)
        if isinstance(item.seal, SealFound) and item.seal.crop:
            shown.seal_url = seal_url(ident, item)
            shown.seal_caption = item.seal.file + (f" 第{item.seal.page}页" if item.seal.page else "")
        result.append(shown)
    return result


def other_decisions(views: list[DecisionView]) -> list[DecisionView]:
    """Conditions and findings: decided below the items."""
    return [v for v in views if v.target.kind in ("condition", "finding")]


def items_table_index(blocks: list[Block]) -> int:
    """Where the items table stands in the outline (the item cards follow it); -1 if it does not."""
    after_heading = False
    for n, block in enumerate(blocks):
        if isinstance(block, Heading):
            after_heading = block.text == w.ITEMS_TITLE
        elif after_heading and isinstance(block, Table):
            return n
    return -1


def figure_urls(report: Report, ident: str) -> dict[str, str]:
    """A seal crop's file name in the outline → its address on the desk."""
    return {
        item.seal.crop: seal_url(ident, item)
        for item in report.items
        if isinstance(item.seal, SealFound) and item.seal.crop
    }


def page_outline(report: Report) -> list[Block]:
    return outline(report)


def seal_crop(folder: Path, report: Report, item_id: str) -> Path:
    """The PNG of an item's seal beside its report."""
    item = next((i for i in report.items if i.id == item_id), None)
    if item is None or not isinstance(item.seal, SealFound) or not item.seal.crop:
        raise NotFound("该项没有检测到公章")
    path = folder / Path(item.seal.crop).name
    if not path.is_file() or path.is_symlink():
        raise NotFound("找不到公章截图")
    return path


def seal_crop_by_name(folder: Path, report: Report, name: str) -> Path:
    """The crop a report.html beside it names (`seal-<item>.png`), for the HTML report shown on the desk."""
    for item in report.items:
        if isinstance(item.seal, SealFound) and Path(item.seal.crop).name == name:
            return seal_crop(folder, report, item.id)
    raise NotFound(f"找不到：{name}")


# ---------------------------------------------------------------------------------------------------
# Report downloads
# ---------------------------------------------------------------------------------------------------


def report_file(folder: Path, fmt: str) -> tuple[Path, Path | None]:
    """OUT/<id>/report.<fmt>, or, where the batch did not write that format, the format written now into
    a temporary folder (OUT holds what the batch wrote and what decisions rewrite): the file and the
    temporary folder to remove once it is sent."""
    if fmt not in REPORT_FORMATS:
        raise NotFound(f"没有这种报告格式：{fmt}")
    path = folder / f"report.{fmt}"
    if path.is_file() and not path.is_symlink():
        return path, None
    from pipeline.reports import write_reports
    from pipeline.review import load_report

    scratch = Path(tempfile.mkdtemp(prefix="dossier-web-"))
    (written,) = write_reports(load_report(folder), scratch, [fmt])
    return written, scratch


# ---------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------


def decide(out: Path, folder: Path, store: DecisionStore, target: str, value: str, note: str, user: str) -> Report:
    """Record a decision and bring the report and the summary up to date; ValueError (Chinese) if bad."""
    from pipeline.review import load_report

    report = load_report(folder)
    store.record(report, target, value, note, user)
    return _after(out, folder, store)


def withdraw(out: Path, folder: Path, store: DecisionStore, target: str, user: str) -> Report:
    if not store.withdraw(folder.name, target, user):
        raise ValueError("该项没有人工确认可撤销")
    return _after(out, folder, store)


def _after(out: Path, folder: Path, store: DecisionStore) -> Report:
    report = refresh(out, folder.name, store)
    if report is None:
        raise NotFound(f"没有这个材料包的报告：{folder.name}")
    update_summary(out, report)
    return report


def update_summary(out: Path, report: Report) -> None:
    """summary.json and summary.xlsx with each dossier's final verdict as its report now stands."""
    refresh_summary(out, {item.id: item.title for item in report.items})

"""The clerk's reports of one dossier (report.json, .html, .md, .docx) and the batch summary.

Layout of the package:
- `outline.py`: `outline(report)`, the report as an ordered list of blocks (headings, key–values,
  checklists, tables, figures): what every format says, and in what order, decided once;
- `render.py` and `templates/`: the HTML and Markdown reports, Jinja2 templates walking the outline;
- `word.py`: the Word report, python-docx walking the same outline;
- `notice.py`: the 补正通知, a Word letter to the applicant (GB/T 9704 layout) from the final findings;
- `summary.py`: the batch summary (`SummaryRow`, summary.json, summary.xlsx);
- `wording.py`: every word the clerk reads (verdicts, statuses, action hints, labels, units, footer);
- `files.py`: `printable` and the atomic replacement of each file.

The renderers (and python-docx, Jinja2, openpyxl) load only when a format needs them: `dossier check`
starts faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..formats import REPORT_FORMATS, Format, file_name, parse_formats
from ..report import REVIEW_CODES, Report
from .files import json_text, printable, replace_into
from .outline import Block, outline
from .summary import SUMMARY_SCHEMA, SummaryRow, failed_row, summary_row, write_summary
from .wording import ACTION_HINTS, verdict_text, verdict_tone

if TYPE_CHECKING:
    from .notice import NoticeOptions

__all__ = [
    "ACTION_HINTS",
    "FORMATS",
    "REVIEW_CODES",
    "SUMMARY_SCHEMA",
    "Block",
    "SummaryRow",
    "failed_row",
    "outline",
    "printable",
    "render_html",
    "render_markdown",
    "summary_row",
    "verdict_text",
    "verdict_tone",
    "write_docx",
    "write_notice",
    "write_reports",
    "write_summary",
]

FORMATS: tuple[str, ...] = tuple(f.value for f in REPORT_FORMATS)  # the report's own (not the notice)


def render_html(report: Report) -> str:
    """The clerk's HTML report: one self-contained page (inline CSS; seal crops are the PNGs beside it)."""
    from .render import render_html as render

    return render(report)


def render_markdown(report: Report) -> str:
    """The clerk's Markdown report (GFM tables), the same sections as the HTML one."""
    from .render import render_markdown as render

    return render(report)


def write_docx(report: Report, path: Path) -> None:
    """The clerk's Word report (landscape A4), the same sections as the HTML one, seal crops embedded."""
    from .word import write_docx as write

    write(report, path)


def write_notice(report: Report, path: Path, **options: Any) -> None:
    """The 补正通知 of REPORT, a Word letter to the applicant (options: deadline, contact, authority, date)."""
    from .notice import write_notice as write

    write(report, path, **options)


def _rebuilt(data: dict[str, Any], report: Report) -> Report:
    """The report again from its printable data (a name with control characters, say), seal crops kept:
    the crops are not in the JSON."""
    safe = Report.model_validate(data)
    for mine, theirs in zip(safe.items, report.items, strict=True):
        mine.seal_crop = theirs.seal_crop
    return safe


def write_reports(
    report: Report, out_dir: Path, formats: Sequence[str] | str, *, notice: NoticeOptions | None = None
) -> list[Path]:
    """Write `report.<fmt>` into out_dir for each format (names of `pipeline.formats.Format`, or a
    comma-separated string), and `notice.docx` for `notice` (with the clerk's NOTICE options); return the
    paths written.

    Every format is validated before anything is written: an unknown one raises `FormatError` (a
    ValueError) and writes nothing. Every string is made `printable` first, so all formats say the same
    thing; each file is replaced whole (a reader never sees half of one).
    """
    wanted = parse_formats(formats)
    raw = report.as_dict()
    data = printable(raw)
    blocks: list[Block] = []
    safe = report
    if any(f is not Format.JSON for f in wanted):
        safe = report if data == raw else _rebuilt(data, report)
    if any(f in (Format.HTML, Format.MD, Format.DOCX) for f in wanted):
        blocks = outline(safe)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in wanted:
        path = out_dir / file_name(fmt)
        if fmt is Format.JSON:
            text = json_text(data)
            replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        elif fmt is Format.HTML:
            from .render import html_page

            text = html_page(blocks)
            replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        elif fmt is Format.MD:
            from .render import markdown_text

            text = markdown_text(blocks)
            replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        elif fmt is Format.DOCX:
            from .word import word_document

            document = word_document(blocks)
            replace_into(path, lambda p, d=document: d.save(str(p)))
        else:
            from .notice import notice_document

            letter = notice_document(safe, notice)
            replace_into(path, lambda p, d=letter: d.save(str(p)))
        written.append(path)
    return written

"""The Word report: the outline (outline.py) written through python-docx, block by block, on landscape A4.

It carries everything the HTML report does, seal crops included (embedded from their PNG bytes).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.image.exceptions import UnrecognizedImageError
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..report import Report
from . import wording
from .outline import Block, Checklist, Figure, Heading, KeyValues, Paragraph, Table, Verdict, outline

COLORS: dict[str, tuple[int, int, int]] = {
    "ok": (0x1B, 0x7F, 0x3B),
    "bad": (0xC0, 0x00, 0x00),
    "warn": (0x9C, 0x57, 0x00),
    "muted": (0x6B, 0x6B, 0x6B),
}
CJK_FONT = "宋体"
FIGURE_WIDTH = Cm(4.2)  # the HTML report's 160 px


def write_docx(report: Report, path: Path) -> None:
    """The clerk's Word report of REPORT."""
    word_document(outline(report)).save(str(path))


def word_document(blocks: list[Block]) -> Any:
    """The outline as a Word document (landscape A4, CJK font)."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.8))
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3"):
        fonts = document.styles[name].element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), CJK_FONT)
    document.styles["Normal"].font.size = Pt(10.5)
    document.core_properties.title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "")
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, Verdict):
            _verdict(document, block)
        elif isinstance(block, KeyValues):
            _key_values(document, block)
        elif isinstance(block, Checklist):
            _checklist(document, block)
        elif isinstance(block, Table):
            _table(document, block)
        elif isinstance(block, Figure):
            _figure(document, block)
        elif isinstance(block, Paragraph):
            _paragraph(document, block)
    return document


def _color(run: Any, tone: str) -> None:
    run.font.color.rgb = RGBColor(*COLORS[tone])


def _verdict(document: Any, block: Verdict) -> None:
    run = document.add_paragraph().add_run(block.text)
    run.bold = True
    run.font.size = Pt(22)
    _color(run, block.tone if block.tone in COLORS else "bad")
    document.add_paragraph(f"{block.counts}。")


def _key_values(document: Any, block: KeyValues) -> None:
    for label, value in block.pairs:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{label}：").bold = True
        paragraph.add_run(value)


def _checklist(document: Any, block: Checklist) -> None:
    if block.style == "notes":
        for line in block.lines:
            where = f"（{line.where}）" if line.where else ""
            hint = f"；{line.hint}" if line.hint else ""
            document.add_paragraph(f"• {line.text}{where}{hint}")
        return
    for number, line in enumerate(block.lines, block.start):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{number}. {line.text}")
        if line.where:
            paragraph.add_run(f" — {wording.WHERE}：{line.where}")
        if line.hint:
            hint_paragraph = document.add_paragraph()
            hint_paragraph.paragraph_format.left_indent = Pt(18)
            hint = hint_paragraph.add_run(f"{wording.HINT}：{line.hint}")
            hint.font.size = Pt(9)
            _color(hint, "muted")


def _table(document: Any, block: Table) -> None:
    if not block.rows:
        document.add_paragraph(block.empty)
        return
    grid = document.add_table(rows=1, cols=len(block.headers))
    grid.style = "Table Grid"
    for cell, header in zip(grid.rows[0].cells, block.headers, strict=True):
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
        run.font.size = Pt(9)
    for row in block.rows:
        for cell, value in zip(grid.add_row().cells, row, strict=True):
            run = cell.paragraphs[0].add_run(value.text)
            run.font.size = Pt(9)
            if value.tone in COLORS:
                _color(run, value.tone)
                run.bold = value.tone != "muted"
    document.add_paragraph()


def _figure(document: Any, block: Figure) -> None:
    caption = block.caption
    if block.image:
        try:
            document.add_picture(io.BytesIO(block.image), width=FIGURE_WIDTH)
        except (UnrecognizedImageError, ValueError, OSError):  # not a picture Word can hold: name the file
            caption += f"（{block.src}）"
    else:  # the crop is only on disk, beside the report
        caption += f"（{block.src}）"
    run = document.add_paragraph().add_run(caption)
    run.font.size = Pt(9)


def _paragraph(document: Any, block: Paragraph) -> None:
    if block.style == "footer":
        run = document.add_paragraph().add_run(block.text)
        run.font.size = Pt(9)
        _color(run, "muted")
    else:
        document.add_paragraph(block.text)

"""DOCX → Document through python-docx: paragraphs with their styles and tables, in document order."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from pipeline.model import Block, Document

from .errors import Unreadable

# A .docx is a zip: refuse one whose XML would unpack to more than this (a zip bomb in disguise).
MAX_XML_BYTES = 200 * 1024 * 1024
_HEADING_STYLE = re.compile(r"^(heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题", "subtitle", "副标题"}


def _check_package(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename for info in archive.infolist()}
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unreadable("corrupt", "Word 文件已损坏（不是有效的 .docx 压缩包）") from exc
    if "word/document.xml" not in names:
        raise Unreadable("corrupt", "Word 文件已损坏（缺少正文 word/document.xml）")
    if total > MAX_XML_BYTES:
        raise Unreadable("too_large", f"Word 文件解压后超过 {MAX_XML_BYTES // 2**20} MB，疑似压缩炸弹，已拒绝读取")


def _style_name(paragraph: Paragraph) -> str | None:
    try:
        style = paragraph.style
    except (KeyError, ValueError, AttributeError):
        return None
    return style.name if style is not None else None


def _heading_level(paragraph: Paragraph, style: str | None) -> int | None:
    if style:
        if style.strip().lower() in _TITLE_STYLES:
            return 0
        match = _HEADING_STYLE.match(style.strip())
        if match:
            return int(match.group(2))
    # Direct outline level (w:outlineLvl) marks a heading without a heading style; 9 is body text.
    ppr = paragraph._p.pPr
    if ppr is not None:
        lvl = ppr.find(qn("w:outlineLvl"))
        if lvl is not None:
            value = lvl.get(qn("w:val"))
            if value is not None and value.isdigit() and int(value) < 9:
                return int(value) + 1
    return None


def _is_bold(paragraph: Paragraph) -> bool:
    runs = [r for r in paragraph.runs if r.text.strip()]
    if runs and all(r.bold for r in runs):
        return True
    try:
        font = paragraph.style.font if paragraph.style is not None else None
    except (KeyError, ValueError, AttributeError):
        return False
    return bool(font is not None and font.bold)


def _font_size(paragraph: Paragraph) -> float | None:
    for run in paragraph.runs:
        if run.text.strip() and run.font.size is not None:
            return run.font.size.pt
    try:
        style = paragraph.style
        while style is not None:
            if style.font.size is not None:
                return style.font.size.pt
            style = style.base_style
    except (KeyError, ValueError, AttributeError):
        return None
    return None


def _table_rows(table: Table) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # Merged cells come back once per grid column; keep one copy.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(cell.text.strip())
        rows.append(cells)
    return rows


def _body_items(parent, container) -> Iterator[Paragraph | Table]:  # type: ignore[no-untyped-def]
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            # Content controls: Word puts its generated 目录 (TOC) in one.
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(parent, content)


def read_docx(path: Path, doc: Document) -> Document:
    _check_package(path)
    try:
        word = docx.Document(str(path))
        body = word.element.body
        items = list(_body_items(word._body, body))
    except Unreadable:
        raise
    except Exception as exc:  # python-docx raises many kinds on malformed packages
        raise Unreadable("corrupt", f"Word 文件已损坏，无法解析（{type(exc).__name__}）") from exc
    blocks: list[Block] = []
    for item in items:
        try:
            if isinstance(item, Paragraph):
                text = item.text.strip()
                if not text:
                    continue
                style = _style_name(item)
                level = _heading_level(item, style)
                blocks.append(
                    Block(
                        text=text,
                        kind="heading" if level is not None else "paragraph",
                        style=style,
                        heading_level=level,
                        bold=_is_bold(item),
                        centered=item.alignment == WD_ALIGN_PARAGRAPH.CENTER,
                        font_size=_font_size(item),
                    )
                )
            else:
                rows = _table_rows(item)
                text = "\n".join("\t".join(c for c in row if c) for row in rows).strip()
                if text:
                    blocks.append(Block(text=text, kind="table", rows=rows))
        except Exception:  # one malformed paragraph must not lose the rest of the file
            continue
    for i, block in enumerate(blocks):
        block.index = i
    doc.blocks = blocks
    doc.pages = None
    return doc

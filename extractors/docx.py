"""DOCX → Document through python-docx: paragraphs with their styles and tables, in document order."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from core.model import Block, Document

from .errors import Unreadable
from .numbering import Numbering, paragraph_numbering

# A .docx is a zip: refuse one whose XML would unpack to more than this (a zip bomb in disguise).
MAX_XML_BYTES = 200 * 1024 * 1024
_HEADING_STYLE = re.compile(r"^(heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题", "subtitle", "副标题"}
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def pictures_in(element) -> list:  # type: ignore[no-untyped-def]
    """The pictures (DrawingML blips, legacy VML image data) under an element, in document order.
    A picture Word also stores as a fallback for older readers (mc:Fallback) is the same picture and
    is not counted twice. The seal search numbers a Word file's pictures by this same order."""
    found = []
    for node in element.iter(_BLIP, _IMAGEDATA):
        parent = node.getparent()
        while parent is not None and parent.tag != _FALLBACK:
            parent = parent.getparent()
        if parent is None:
            found.append(node)
    return found


# Text a reader sees: runs inside tracked insertions, content controls, smart tags and simple fields count;
# deleted and moved-away text, a text box (its own paragraphs) and a fallback copy for old readers do not.
_HIDDEN = {qn("w:del"), qn("w:moveFrom"), qn("w:txbxContent"), _FALLBACK}
_TEXT = {qn("w:t"): None, qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n"}


def _visible(node, top) -> bool:  # type: ignore[no-untyped-def]
    parent = node.getparent()
    while parent is not None and parent is not top:
        if parent.tag in _HIDDEN:
            return False
        parent = parent.getparent()
    return True


def _runs(paragraph: Paragraph) -> list[Run]:
    p = paragraph._p
    return [Run(r, paragraph) for r in p.iter(qn("w:r")) if _visible(r, p)]


def paragraph_text(p) -> str:  # type: ignore[no-untyped-def]
    """The text of a w:p as Word shows it (python-docx's own reads only direct runs and hyperlinks, and so
    loses text typed with 修订 on or inside a content control of a form template)."""
    out = []
    for node in p.iter(*_TEXT):
        if not _visible(node, p):
            continue
        fixed = _TEXT[node.tag]
        if fixed is None:
            out.append(node.text or "")
        elif node.tag != qn("w:br") or node.get(qn("w:type")) in (None, "textWrapping"):
            out.append(fixed)
    return "".join(out)


def _text_boxes(element) -> list[str]:  # type: ignore[no-untyped-def]
    """Paragraphs of the text boxes anchored in an element (Word counts their 字 too)."""
    out = []
    for box in element.iter(qn("w:txbxContent")):
        if not _visible(box, element):
            continue  # the fallback copy of a box, or a box inside another box (read with it)
        out.extend(t for q in box.iter(qn("w:p")) if (t := paragraph_text(q).strip()))
    return out


def _page_break(paragraph: Paragraph, chain: Chain) -> tuple[bool, bool]:
    """(starts a new page, ends with a page break): "page break before" in its own or its style's
    format, or a page break in its runs before (or after) all of its text."""
    before = bool(paragraph.paragraph_format.page_break_before)
    if not before:
        try:
            before = bool(chain and chain[0].paragraph_format.page_break_before)
        except (KeyError, ValueError, AttributeError):
            before = False
    seen_text = False
    after = False
    for node in paragraph._p.iter(qn("w:t"), qn("w:br")):
        if node.tag == qn("w:t"):
            if (node.text or "").strip():
                seen_text, after = True, False
        elif node.get(qn("w:type")) == "page":
            if seen_text:
                after = True
            else:
                before = True
    if paragraph._p.pPr is not None and paragraph._p.pPr.find(qn("w:sectPr")) is not None:
        after = True  # a section break (Word's default kind starts the next section on a new page)
    return before, after


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


Chain = list[Any]  # a paragraph's style and the styles it is based on, nearest first


class StyleChains:
    """Style chains by style id, looked up once per file (python-docx finds a style by scanning them all).
    A WPS 一级标题 built on 标题 1 inherits its outline level, alignment and bold through its chain."""

    def __init__(self) -> None:
        self._chains: dict[str | None, Chain] = {}

    def of(self, paragraph: Paragraph) -> Chain:
        key = paragraph._p.style
        if key not in self._chains:
            chain: Chain = []
            try:
                style = paragraph.style
                while style is not None and len(chain) < 10:
                    chain.append(style)
                    style = style.base_style
            except (KeyError, ValueError, AttributeError):
                pass
            self._chains[key] = chain
        return self._chains[key]


def _heading_level(paragraph: Paragraph, style: str | None, chain: Chain) -> int | None:
    if style:
        if style.strip().lower() in _TITLE_STYLES:
            return 0
        match = _HEADING_STYLE.match(style.strip())
        if match:
            return int(match.group(2))
    # Direct outline level (w:outlineLvl) marks a heading without a heading style; 9 is body text.
    # A style's own outline level (a custom heading style) counts as well, the nearest one deciding.
    for ppr in [paragraph._p.pPr, *(st.element.pPr for st in chain)]:
        lvl = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if lvl is not None:
            value = lvl.get(qn("w:val"))
            if value is not None and value.isdigit():
                return int(value) + 1 if int(value) < 9 else None
    return None


def _is_bold(paragraph: Paragraph, chain: Chain) -> bool:
    """Every run bold, by its own format or (where the run says nothing) by the paragraph's styles."""
    inherited = next((st.font.bold for st in chain if st.font.bold is not None), None)
    runs = [r for r in _runs(paragraph) if r.text.strip()]
    if not runs:
        return bool(inherited)
    return all(r.bold if r.bold is not None else bool(inherited) for r in runs)


def _alignment(paragraph: Paragraph, chain: Chain):  # type: ignore[no-untyped-def]
    if paragraph.alignment is not None:
        return paragraph.alignment
    return next((st.paragraph_format.alignment for st in chain if _aligns(st)), None)


def _aligns(style) -> bool:  # type: ignore[no-untyped-def]
    try:
        return style.paragraph_format.alignment is not None
    except (AttributeError, ValueError, KeyError):
        return False


def _font_size(paragraph: Paragraph, chain: Chain) -> float | None:
    for run in _runs(paragraph):
        if run.text.strip() and run.font.size is not None:
            return run.font.size.pt
    try:
        return next((st.font.size.pt for st in chain if st.font.size is not None), None)
    except (KeyError, ValueError, AttributeError):
        return None


def _is_coloured(paragraph: Paragraph, chain: Chain) -> bool:
    """Text in a colour other than black or automatic, in the runs or the paragraph's style."""

    def coloured(font) -> bool:  # type: ignore[no-untyped-def]
        try:
            rgb = font.color.rgb if font.color is not None and font.color.type is not None else None
        except (AttributeError, ValueError, KeyError):
            return False
        return rgb is not None and max(rgb) - min(rgb) > 40  # a hue, not a grey

    runs = [r for r in _runs(paragraph) if r.text.strip()]
    if runs and all(coloured(r.font) for r in runs):
        return True
    try:
        return next((coloured(st.font) for st in chain if st.font.color.type is not None), False)
    except (KeyError, ValueError, AttributeError):
        return False


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
            # Every paragraph of the cell, those of a table nested in it included (python-docx's
            # cell.text leaves a nested table out).
            cells.append("\n".join(t for p in cell._tc.iter(qn("w:p")) if (t := paragraph_text(p).strip())))
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
        elif child.tag == qn("w:customXml"):
            yield from _body_items(parent, child)  # paragraphs wrapped by a template's XML mapping


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
    # Pictures are numbered over the whole body, as the seal search numbers them (a picture outside any
    # paragraph or table keeps its place in the count).
    order = {node: k for k, node in enumerate(pictures_in(body))}
    numbering = Numbering.of(word)
    chains = StyleChains()
    new_page = False  # the previous paragraph ended with a page break
    for item in items:
        try:
            figures = [order[node] for node in pictures_in(item._element) if node in order]
            if isinstance(item, Paragraph):
                text = paragraph_text(item._p).strip()
                chain = chains.of(item)
                before, after = _page_break(item, chain)
                listed = paragraph_numbering(item, chain)
                number = numbering.label(*listed) if listed else ""
                if text:
                    style = chain[0].name if chain else None
                    level = _heading_level(item, style, chain)
                    blocks.append(
                        Block(
                            text=number + text,
                            number=number,
                            kind="heading" if level is not None else "paragraph",
                            style=style,
                            heading_level=level,
                            bold=_is_bold(item, chain),
                            centered=_alignment(item, chain) == WD_ALIGN_PARAGRAPH.CENTER,
                            font_size=_font_size(item, chain),
                            color=_is_coloured(item, chain),
                            page_break=new_page or before,
                        )
                    )
                    new_page = False
                else:
                    new_page = new_page or before
                blocks.extend(Block(text=t, kind="paragraph") for t in _text_boxes(item._p))
                new_page = new_page or after
            else:
                rows = _table_rows(item)
                text = "\n".join("\t".join(c for c in row if c) for row in rows).strip()
                if text:
                    blocks.append(Block(text=text, kind="table", rows=rows, page_break=new_page))
                    new_page = False
            # One block per picture (a certificate, a pasted seal): an item of pictures alone is not empty.
            blocks.extend(Block(text="", kind="figure", picture=k) for k in figures)
        except Exception:  # one malformed paragraph must not lose the rest of the file
            continue
    for i, block in enumerate(blocks):
        block.index = i
    doc.blocks = blocks
    doc.pages = None
    return doc

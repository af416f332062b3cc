"""PDF → Document through pypdfium2: text lines per page with the geometry headings need.

pypdfium2 is ~50× faster than pdfplumber on Chinese pages with the same text, so every page goes
through it; each line's size, weight and position come from pdfium's character boxes of the
line's first and last characters, which is all heading detection needs.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from core.limits import Limits, describe
from core.model import Block, Document, LimitHit, Page
from core.text import is_page_number, join_wrapped

from .errors import Unreadable

# pdfium's FPDF_GetLastError codes → why the file cannot be read, for the clerk.
_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: ("io", "文件无法打开"),
    pdfium_c.FPDF_ERR_FORMAT: ("corrupt", "文件已损坏或不是有效的 PDF"),
    pdfium_c.FPDF_ERR_PASSWORD: ("encrypted", "PDF 文件设有打开密码（已加密），无法读取"),
    pdfium_c.FPDF_ERR_SECURITY: ("encrypted", "PDF 文件采用不受支持的加密方式，无法读取"),
    pdfium_c.FPDF_ERR_PAGE: ("corrupt", "PDF 页面内容损坏"),
}

_BOLD_WEIGHT = 600
EDGE_WOBBLE = 8.0  # points: lines of one margin on a skewed scan start this far apart
MIN_PAGE_CHARS = 20
# Latin-1 characters Chinese documents use on purpose (a 目录's middle-dot leaders, ×, °, ±, a no-break
# space): not the mojibake of GBK bytes read as Latin-1.
_LATIN1_IN_CHINESE = frozenset("\u00b7\u00d7\u00b0\u00b1\u00a0\u00b2\u00b3")
SPARSE_PAGE_CHARS = 300  # fewer characters than a page of text holds


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        code = pdfium_c.FPDF_GetLastError()
        kind, reason = _LOAD_ERRORS.get(code, ("corrupt", "文件已损坏或不是有效的 PDF"))
        raise Unreadable(kind, reason) from exc


def _line_blocks(textpage: pdfium.PdfTextPage, page_no: int, width: float, height: float) -> list[Block]:
    text = textpage.get_text_range()
    raw = textpage.raw
    blocks: list[Block] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        start, content = offset, line.rstrip("\r\n")
        offset += len(line)
        stripped = content.strip()
        if not stripped:
            continue
        first = start + (len(content) - len(content.lstrip()))
        last = start + len(content.rstrip()) - 1
        i0 = pdfium_c.FPDFText_GetCharIndexFromTextIndex(raw, first)
        i1 = pdfium_c.FPDFText_GetCharIndexFromTextIndex(raw, last)
        bbox = None
        size = None
        bold = color = False
        if i0 >= 0 and i1 >= 0:
            l0, b0, r0, t0 = _charbox(raw, i0)
            l1, b1, r1, t1 = _charbox(raw, i1)
            x0, x1 = min(l0, l1), max(r0, r1)
            top, bottom = height - max(t0, t1), height - min(b0, b1)
            bbox = (round(x0, 1), round(top, 1), round(x1, 1), round(bottom, 1))
            size = round(pdfium_c.FPDFText_GetFontSize(raw, i0), 1)
            if size <= 1.5:  # `1 Tf` scaled by the text matrix: the box height is the real size
                size = round(t0 - b0, 1)
            bold = pdfium_c.FPDFText_GetFontWeight(raw, i0) >= _BOLD_WEIGHT or _stroked(raw, i0)
            color = _coloured(raw, i0)
        blocks.append(
            Block(text=stripped, kind="line", page=page_no, bbox=bbox, font_size=size, bold=bold, color=color)
        )
    return blocks


_STROKED = (pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE, pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE_CLIP)


def _stroked(raw: pdfium_c.FPDF_TEXTPAGE, index: int) -> bool:
    """Bold made by outlining a regular font's glyphs, as Word and LibreOffice do for a font without a
    bold face (most Chinese fonts): the weight says 400, the render mode says fill and stroke."""
    obj = pdfium_c.FPDFText_GetTextObject(raw, index)
    return bool(obj) and pdfium_c.FPDFTextObj_GetTextRenderMode(obj) in _STROKED


def _coloured(raw: pdfium_c.FPDF_TEXTPAGE, index: int) -> bool:
    """A character filled with a hue (Word's heading styles are often blue), not black or grey."""
    if not pdfium_c.FPDFText_GetFillColor(raw, index, *_RGBA_REFS):
        return False
    r, g, b = (v.value for v in _RGBA[:3])
    return max(r, g, b) - min(r, g, b) > 40


# One set of out-parameters for every call (pdfium is not thread-safe: a process reads one page at a
# time): allocating four per line took a tenth of the reading time.
_RGBA = (ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint())
_RGBA_REFS = tuple(ctypes.byref(v) for v in _RGBA)


def _charbox(raw: pdfium_c.FPDF_TEXTPAGE, index: int) -> tuple[float, float, float, float]:
    rect = pdfium_c.FS_RECTF()
    if not pdfium_c.FPDFText_GetLooseCharBox(raw, index, ctypes.byref(rect)):
        return (0.0, 0.0, 0.0, 0.0)
    return (rect.left, rect.bottom, rect.right, rect.top)


def read_pdf(path: Path, doc: Document, max_pages: int = Limits().pages_per_file) -> Document:
    pdf = _open(path)
    try:
        doc.pages = []
        page_errors = 0
        total = len(pdf)
        if total > max_pages:
            doc.limits_hit.append(
                LimitHit(
                    "pages_per_file",
                    f"共 {total} 页，只读取了前 {max_pages} 页，其余未读取，请人工核对"
                    f"（{describe('pages_per_file', max_pages)}）",
                )
            )
        for index in range(min(total, max_pages)):
            number = index + 1
            try:
                page = pdf[index]
                width, height = page.get_size()
                textpage = page.get_textpage()
                lines = _line_blocks(textpage, number, width, height)
                textpage.close()
            except pdfium.PdfiumError:
                page_errors += 1
                doc.pages.append(Page(number=number, width=0, height=0, chars=0, needs_ocr=False))
                continue
            text = "".join("".join(b.text.split()) for b in lines)
            # Pictures matter only where there is little text: a certificate, a scan, a photo.
            cover = (
                _image_coverage(page) / (width * height) if len(text) < SPARSE_PAGE_CHARS and width * height else 0.0
            )
            reason = ocr_reason(text, cover)
            if reason == "no_text" and pdfium_c.FPDFPage_CountObjects(page.raw) == 0:
                reason = None  # nothing drawn at all: a blank page, nothing for OCR to find
            page.close()
            doc.pages.append(
                Page(
                    number,
                    width,
                    height,
                    chars=len(text),
                    needs_ocr=reason is not None,
                    ocr_reason=reason,
                    image_cover=round(cover, 3),
                )
            )
            doc.blocks.extend(lines)
        if doc.pages and page_errors == len(doc.pages):
            raise Unreadable("corrupt", "PDF 的所有页面均无法解析")
    finally:
        pdf.close()
    mark_centred(doc.blocks, {p.number: p.width for p in doc.pages})
    for i, block in enumerate(doc.blocks):
        block.index = i
    return doc


def read_tables(path: Path, pages: list[int]) -> list[Block]:
    """Ruled tables on the given pages, through pdfplumber: its geometry is exact but ~50× slower
    than pdfium, so only the pages that need cells (the application form) come here."""
    import pdfplumber

    tables: list[Block] = []
    try:
        with pdfplumber.open(path) as pdf:
            for number in pages:
                for rows in pdf.pages[number - 1].extract_tables():
                    cells = [[join_wrapped(cell or "") for cell in row] for row in rows]
                    text = "\n".join("\t".join(c for c in row if c) for row in cells).strip()
                    if text:
                        tables.append(Block(text=text, kind="table", page=number, rows=cells))
    except Exception:  # pdfplumber on a hostile file: the lines are still there, only cells are lost
        return tables
    return tables


@dataclass(frozen=True)
class TableJob:
    """Read the ruled tables of some pages of a PDF in a worker process (see extractors.sandbox)."""

    path: Path
    rel: str
    pages: tuple[int, ...]

    def run(self) -> tuple[str, list[Block]]:
        return self.rel, read_tables(self.path, list(self.pages))

    def failed(self, kind: str, reason: str, seconds: float) -> tuple[str, list[Block]]:
        return self.rel, []


def ocr_reason(text: str, image_cover: float) -> str | None:
    """Why a page's text layer is not usable (so the page needs OCR), or None when it is.
    `image_cover`: the share of the page its largest picture covers (measured on sparse pages only)."""
    if len(text) < MIN_PAGE_CHARS:
        # A few words and no picture: a cover or a separator page, read as it is. No text at all (or a
        # page number alone) may be text drawn as outlines, and a picture may be a scan: read by OCR.
        words = text if not is_page_number(text) else ""
        return "no_text" if not words or image_cover >= 0.05 else None
    # A CID font without a usable Unicode map gives unmapped or private-use code points;
    # GBK bytes read as Latin-1 give mojibake in U+0080–U+00FF.
    unusable = sum(1 for c in text if c == "\ufffd" or "\ue000" <= c <= "\uf8ff" or c < " ")
    latin1 = sum(1 for c in text if "\u0080" <= c <= "\u00ff" and c not in _LATIN1_IN_CHINESE)
    if unusable > 0.2 * len(text) or latin1 > 0.3 * len(text):
        return "garbage"
    if len(text) < SPARSE_PAGE_CHARS and image_cover > 0.6:
        return "image_page"  # a few stray characters over a page-sized scan
    return None


def _image_coverage(page: pdfium.PdfPage) -> float:
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        covered = max(covered, (right - left) * (top - bottom))
    return covered


def text_column(blocks: list[Block], widths: dict[int, float] | None = None) -> dict[int | None, tuple[float, float]]:
    """Each page's text column (left and right edge), and the document's under the key None. The left
    edge is where paragraphs' wrapped lines start (the leftmost edge several lines share: first lines
    are indented); the right edge is where they end (the rightmost edge several lines share: justified
    text, and Chinese text wrapped at any character, fills the line). A page with too few lines for
    that takes the document's edges; without shared right edges, the right edge mirrors the left on
    the page (Word's and 公文 margins are about symmetric)."""

    def shared(values: list[float], floor: float) -> float | None:
        """The first edge (in `values`' order) that several lines share, within a scan's wobble."""
        for k, value in enumerate(values):
            near = [v for v in values[k:] if abs(v - value) <= EDGE_WOBBLE]
            if len(near) >= floor:
                return sorted(near)[len(near) // 2]
        return None

    def edges(lines: list[Block], width: float | None) -> tuple[float, float] | None:
        boxes = [b.bbox for b in lines if b.bbox]
        if not boxes:
            return None
        floor = max(2, 0.05 * len(boxes))
        left = shared(sorted(x[0] for x in boxes), floor)
        if left is None:
            return None
        right = shared(sorted((x[2] for x in boxes), reverse=True), floor)
        # Margins are about symmetric: the mirrored edge holds unless lines really run further right
        # (a table's inner column edges are no margin).
        if width and width > 2 * left and (right is None or right <= width - left + EDGE_WOBBLE):
            return left, width - left
        if right is not None and right > left:
            return left, right
        return left, max(b.bbox[2] for b in lines if b.bbox)

    by_page: dict[int | None, list[Block]] = {}
    for block in blocks:
        if block.bbox:
            by_page.setdefault(block.page, []).append(block)
    whole = edges([b for b in blocks if b.bbox], None)
    if whole is None:
        return {}
    columns: dict[int | None, tuple[float, float]] = {None: whole}
    for page, lines in by_page.items():
        found = edges(lines, (widths or {}).get(page or 0)) if len(lines) >= 4 else None
        columns[page] = found or whole
    return columns


def mark_centred(blocks: list[Block], widths: dict[int, float] | None = None) -> None:
    """A line is centred when it keeps clear of both margins of the text column by about the same
    amount. The first line of an indented paragraph keeps clear of the left margin by its indent
    (two characters) and runs to the right margin, or stops anywhere when the text is ragged."""
    columns = text_column(blocks, widths)
    if not columns:
        return
    for block in blocks:
        if block.bbox:
            left, right = columns.get(block.page, columns[None])
            # OCR boxes on a skewed scan are loose: their centring is judged less strictly.
            tolerance = max(8.0, 0.03 * (right - left)) * (2.0 if block.source == "ocr" else 1.0)
            x0, _, x1, _ = block.bbox
            gap_left, gap_right = x0 - left, right - x1
            size = block.font_size or 12.0
            # A line two characters in that runs to the margin, or (ragged text) reads as a sentence, is a
            # paragraph's indented first line; a title is not punctuated like one.
            sentence = any(mark in block.text for mark in "，。；：、")
            indented = 1.5 * size <= gap_left <= 2.8 * size and (gap_right < 1.0 * size or sentence)
            block.centered = (
                min(gap_left, gap_right) > 0.5 * size and abs(gap_left - gap_right) < tolerance and not indented
            )

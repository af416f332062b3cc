"""One page of a PDF or an image file as a PNG, and where given lines of text sit on it: for page previews.

Runs as a job of the extraction pool (`extractors.sandbox`): pdfium and Pillow meet the applicants' files
here, so a hostile one can crash or stall a worker process, never the web page that asked.
Positions are fractions of the page as shown (0..1, top-left origin), the page's rotation applied.
"""

from __future__ import annotations

import ctypes
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from core.text import strip_numbering

from .errors import Unreadable
from .image import image_dpi, open_image
from .pdf import _open as open_pdf

MAX_HEIGHT_PX = 10_000  # a strip-like page (a long scroll of a web page saved as PDF) is drawn smaller
_DEVICE = 1_000_000  # page → device coordinates on a square of this many units: fractions to 1e-6


@dataclass(frozen=True)
class PageView:
    """What a PageJob found: the PNG (if asked), the page count, the page's size in points and the boxes
    of the titles found (title index, x0, y0, x1, y1), or why nothing could be drawn."""

    png: bytes = b""
    pages: int = 0
    size: tuple[float, float] = (0.0, 0.0)
    boxes: tuple[tuple[int, float, float, float, float], ...] = field(default_factory=tuple)
    error: str | None = None


@dataclass(frozen=True)
class PageJob:
    """Page `page` (1-based) of a PDF (`kind` "pdf") or an image file ("image"): drawn `width` pixels wide
    (0: not drawn), and searched for `titles` (a PDF's text layer only)."""

    path: Path
    kind: str
    page: int
    width: int = 0
    titles: tuple[str, ...] = ()

    def run(self) -> PageView:
        try:
            return _pdf_page(self) if self.kind == "pdf" else _image_page(self)
        except Unreadable as exc:
            return PageView(error=exc.reason)

    def failed(self, kind: str, reason: str, seconds: float) -> PageView:
        return PageView(error=reason)


def _out_of_range(page: int, pages: int) -> PageView:
    return PageView(pages=pages, error=f"页码超出范围：第 {page} 页（文件共 {pages} 页）")


def _pdf_page(job: PageJob) -> PageView:
    pdf = open_pdf(job.path)
    try:
        pages = len(pdf)
        if not 1 <= job.page <= pages:
            return _out_of_range(job.page, pages)
        page = pdf[job.page - 1]
        try:
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                return PageView(pages=pages, error="PDF 页面尺寸无效，无法显示")
            png = b""
            if job.width:
                scale = min(job.width / width, MAX_HEIGHT_PX / height)
                image = page.render(scale=scale, may_draw_forms=True).to_pil()
                png = _png(image)
            boxes = _title_boxes(page, job.titles) if job.titles else ()
            return PageView(png=png, pages=pages, size=(width, height), boxes=boxes)
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise Unreadable("corrupt", "PDF 页面内容损坏，无法显示") from exc
    finally:
        pdf.close()


def _image_page(job: PageJob) -> PageView:
    image = open_image(job.path)
    try:
        pages = getattr(image, "n_frames", 1)
        if not 1 <= job.page <= pages:
            return _out_of_range(job.page, pages)
        image.seek(job.page - 1)
        dpi = image_dpi(image)
        size = (image.width * 72 / dpi, image.height * 72 / dpi)
        png = b""
        if job.width:
            scale = min(job.width / image.width, MAX_HEIGHT_PX / image.height)
            shown = image.convert("RGB").resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
            )
            png = _png(shown)
        return PageView(png=png, pages=pages, size=size)
    except (OSError, ValueError, EOFError) as exc:
        raise Unreadable("corrupt", "图片文件已损坏，无法显示") from exc
    finally:
        image.close()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def squeezed(text: str) -> str:
    """TEXT as compared with a page's text layer: NFKC, no whitespace."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not c.isspace())


def _title_boxes(page: pdfium.PdfPage, titles: tuple[str, ...]) -> tuple[tuple[int, float, float, float, float], ...]:
    """The box of the first line (or run of wrapped lines) on the page that is each title and nothing else
    (whitespace, line breaks and width forms aside; its numbering optional): a 目录 entry, with its leaders
    and page number, or a sentence naming the item is not its title."""
    textpage = page.get_textpage()
    try:
        chars: list[str] = []
        owners: list[int] = []  # the text page's character index of each compared character
        breaks: set[int] = {0}  # positions in `chars` a new line starts at
        for index in range(textpage.count_chars()):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
            if code in (0x0A, 0x0D, 0x02):  # a line break (0x02: pdfium's soft hyphen at a line end)
                breaks.add(len(chars))
            for c in squeezed(chr(code)) if 0 < code < 0x110000 else "":
                chars.append(c)
                owners.append(index)
        text = "".join(chars)
        breaks.add(len(text))
        found: list[tuple[int, float, float, float, float]] = []
        for number, title in enumerate(titles):
            start = _line_of(text, breaks, squeezed(strip_numbering(title)))
            if start is not None:
                indices = sorted(set(owners[start[0] : start[1]]))
                found.append((number, *_union(page, textpage, indices)))
        return tuple(found)
    finally:
        textpage.close()


def _line_of(text: str, breaks: set[int], wanted: str) -> tuple[int, int] | None:
    """Where WANTED stands alone on its line(s) of TEXT, a numbering before it allowed: (start, end)."""
    if len(wanted) < 2:
        return None
    at = text.find(wanted)
    while at >= 0:
        end = at + len(wanted)
        line_start = max(b for b in breaks if b <= at)
        if end in breaks and (line_start == at or not strip_numbering(text[line_start:at])):
            return (line_start, end)
        at = text.find(wanted, at + 1)
    return None


def _union(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, indices: list[int]) -> tuple[float, float, float, float]:
    """The characters' boxes together, as fractions of the page as shown."""
    xs: list[float] = []
    ys: list[float] = []
    rotation = page.get_rotation() // 90
    for index in indices:
        left, bottom, right, top = textpage.get_charbox(index, loose=True)
        if right <= left and top <= bottom:
            continue  # a generated character (a space pdfium adds): no box
        for x, y in ((left, bottom), (right, top)):
            dx, dy = ctypes.c_int(), ctypes.c_int()
            pdfium_c.FPDF_PageToDevice(
                page.raw, 0, 0, _DEVICE, _DEVICE, rotation, x, y, ctypes.byref(dx), ctypes.byref(dy)
            )
            xs.append(dx.value / _DEVICE)
            ys.append(dy.value / _DEVICE)
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    clamp = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    return (clamp(min(xs)), clamp(min(ys)), clamp(max(xs)), clamp(max(ys)))

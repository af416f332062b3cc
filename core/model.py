"""The document model every extractor produces and every pipeline stage reads.

Plain dataclasses that pickle across the extraction worker boundary and print readably.
An extractor fills `Document.blocks`; the pipeline splits documents into `Section`s,
assigns sections to the ruleset's items and records `Finding`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "table", "line", "figure"]


@dataclass(slots=True)  # slots: documents of thousands of blocks pickle across processes
class Block:
    """One unit of text in reading order: a paragraph, a PDF line, a heading, a table."""

    text: str
    kind: BlockKind = "paragraph"
    page: int | None = None  # 1-based; None for formats without pages (Word)
    index: int = 0  # position in the document's reading order
    bbox: tuple[float, float, float, float] | None = None  # x0, top, x1, bottom in points
    font_size: float | None = None
    bold: bool = False
    centered: bool = False
    style: str | None = None  # Word paragraph style name
    heading_level: int | None = None  # from a Word heading style / outline level
    source: Literal["text", "ocr"] = "text"
    confidence: float | None = None  # OCR confidence of this block
    rows: list[list[str]] | None = None  # table cells, for kind == "table"
    color: bool = False  # drawn in a colour other than black (Word's heading styles are often blue)
    page_break: bool = False  # starts a new page (Word: a page break or "page break before")
    picture: int | None = None  # kind == "figure": the picture's 0-based order in the Word file's body
    number: str = ""  # Word's automatic list number (一、), drawn before the text: the start of ``text``


@dataclass(slots=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    chars: int  # non-space characters in the text layer
    needs_ocr: bool = False
    ocr_reason: str | None = None  # no_text, garbage, image_page, image (an image file)
    ocr_confidence: float | None = None  # mean OCR line score once the page was recognised
    ocr_error: str | None = None
    ocr_partial: bool = False  # read only far enough to tell what it is (pipeline/scans.py)
    image_cover: float = 0.0  # share of the page covered by its largest picture (pages with little text)


@dataclass
class SealMark:
    """An official seal found on a page (or in an image embedded in a Word file)."""

    page: int | None  # 1-based; None for an image inside a Word file
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom in points of the page
    score: float
    diameter_mm: float
    crop_png: bytes = b""  # the seal with a little page around it, for the reports
    picture: int | None = None  # Word: the picture's 0-based order in the body (extractors.docx.pictures_in)


@dataclass(frozen=True)
class LimitHit:
    """A limit (core/limits.py) that stopped reading part of a file: what was not read."""

    limit: str  # its name in Limits
    message: str  # Chinese, for the clerk


@dataclass
class Document:
    """One file of a dossier as read by its extractor."""

    path: str  # relative to the dossier root, with "/" separators
    sha256: str
    format: str  # pdf, docx, doc, wps, zip, ...; the file's kind as detected
    size: int = 0
    blocks: list[Block] = field(default_factory=list)
    pages: list[Page] | None = None  # None for formats without pages
    error: str | None = None  # why the file could not be read, in Chinese
    error_kind: str | None = None  # short machine reason: encrypted, corrupt, empty, timeout, crash ...
    unsupported: bool = False
    seconds: float = 0.0
    seals: list[SealMark] = field(default_factory=list)
    seal_checked: list[int] = field(default_factory=list)  # pages searched for seals (0: embedded images)
    # Ruled tables of a PDF (kind "table", with rows), kept apart from `blocks`: their text is
    # already there as lines, and must not count twice.
    tables: list[Block] = field(default_factory=list)
    limits_hit: list[LimitHit] = field(default_factory=list)

    @property
    def page_count(self) -> int | None:
        return None if self.pages is None else len(self.pages)

    @property
    def ocr_pages(self) -> int:
        return sum(1 for p in self.pages or [] if p.ocr_confidence is not None)

    @property
    def ocr_pages_partial(self) -> int:
        return sum(1 for p in self.pages or [] if p.ocr_partial)

    @property
    def readable(self) -> bool:
        return self.error is None and not self.unsupported

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


@dataclass
class Section:
    """A contiguous run of one document's blocks that may be one Art. 6 item."""

    document: Document
    title: str  # heading text, first line, or the file name where nothing better exists
    title_source: Literal["heading", "toc", "first_line", "file_name"]
    blocks: list[Block]  # body blocks, the title heading excluded
    role: Literal["whole", "item", "preamble"] = "whole"  # a whole file, a part of a bound file, its cover
    title_page: int | None = None
    doubt: str | None = None  # what the splitter could not confirm (a 目录 entry's title not found)
    span: tuple[int, int] | None = None  # its pages, pictures and blank pages included (bound files)

    @property
    def body_text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    @property
    def counted_text(self) -> str:
        """The body as Word's 字数 counts it: without the automatic list numbers Word draws."""
        return "\n".join(b.text[len(b.number) :] for b in self.blocks)

    @property
    def pages(self) -> list[int] | None:
        """[first, last] page, 1-based inclusive; None where the format has no pages."""
        if self.document.pages is None:
            return None
        if self.span is not None:
            return list(self.span)
        numbers = [b.page for b in self.blocks if b.page is not None]
        if self.title_page is not None:
            numbers.append(self.title_page)
        if not numbers:
            return None
        return [min(numbers), max(numbers)]

    def label(self) -> str:
        where = self.document.path
        if self.pages:
            where += (
                f" 第{self.pages[0]}–{self.pages[1]}页" if self.pages[0] != self.pages[1] else (f" 第{self.pages[0]}页")
            )
        return f"{where}「{self.title}」"

"""The layout of one document as the splitter sees it: page furniture, visual rows, paragraphs, headings.

A paragraph is a Word paragraph or table, or PDF and OCR lines joined: a table's cells side by side are
one row; a paragraph's wrapped lines, and a title's two or three lines, are one unit. Headings are whole
paragraphs: a line with sentence punctuation is never a title; text beside other text (a table's cells)
and OCR line heights never make headings; display text on pages with little text (certificates) defines
no heading level. `Layout` holds what `pipeline.toc` and `pipeline.sections` decide from it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from core.model import Block, Document
from core.text import is_page_number, normalize, numbering_level, page_number, toc_entry
from extractors.pdf import text_column

from .ruleset import Ruleset

MAX_TITLE_CHARS = 50


TEXT_PAGE_CHARS = 150  # a page with less text, mostly display type or over a picture, is a certificate


ROW_LOOKBACK = 6  # earlier lines a cell may belong beside (the lines of a wrapped neighbouring cell)


SENTENCE_PUNCT = re.compile(r"[。；;！!？?]")


_CLAUSE_END = ("，", ",", "：", ":", "、")


_NUMBERING_WEIGHT = {1: 6, 2: 4, 3: 2, 4: 1, 5: 0}


_ASCII_END = re.compile(r"[A-Za-z0-9]$")


_ASCII_START = re.compile(r"^[A-Za-z0-9]")


@dataclass
class Unit:
    """A paragraph as the layout sees it: a Word paragraph or table, or PDF/OCR lines joined (a
    paragraph's wrapped lines, a title over two lines); `row` when other text shares its line."""

    blocks: list[Block]
    text: str
    row: bool = False

    @property
    def first(self) -> Block:
        return self.blocks[0]

    @property
    def index(self) -> int:
        return self.blocks[0].index

    @property
    def page(self) -> int | None:
        return self.blocks[0].page


Signature = tuple[object, ...]


@dataclass
class Heading:
    unit: Unit
    signature: Signature  # headings formatted alike share it
    rank: tuple[float, ...]  # higher is more prominent
    items: set[str]  # the items its text names
    page_top: bool


MOSTLY = 0.6  # share of a heading format's headings that must name items for it to be the items' titles


def items_named(headings: list[Heading]) -> tuple[set[str], int]:
    """The items a group of headings names, and how many of them name one: a format mostly naming
    different items is the format of the items' titles."""
    named = [h for h in headings if h.items]
    distinct: set[str] = set().union(*(h.items for h in named)) if named else set()
    return distinct, len(named)


@dataclass
class TocEntry:
    title: str
    page: int | None  # as printed
    unit: Unit
    items: set[str]
    target: int | None = None  # physical page the entry points at
    start: int | None = None  # position in Layout.units where its item starts
    found: str = ""  # how the start was found, for the report and debugging


@dataclass
class Layout:
    """What the splitter learned about one document; `scripts/sections.py` prints it."""

    furniture: set[int]  # block indexes of page numbers and running headers/footers
    printed: dict[int, int]  # physical page → the page number printed on it
    units: list[Unit]
    toc: list[TocEntry]
    toc_units: set[int]  # positions in `units` of the 目录 (heading and entries)
    item_toc: bool  # the 目录's entries name items: it structures the file
    headings: dict[int, Heading]  # position in `units` → heading
    display_pages: set[int]  # certificates, covers: no heading level comes from them
    ruleset: Ruleset
    title: tuple[int, int] | None = None  # positions of the file's own title (first, last unit)
    decision: str = ""
    splits: list[int] = field(default_factory=list)


def furniture(doc: Document) -> tuple[set[int], dict[int, int]]:
    """Page numbers, and running headers/footers repeated at the top or bottom of most pages; and the
    number printed on each physical page."""
    if doc.pages is None:
        return set(), {}
    heights = {p.number: p.height for p in doc.pages}

    def in_margin(block: Block) -> bool:
        # A bare number in the body is a figure (a form's cell on a scan), not a page number.
        if block.bbox is None or not heights.get(block.page or 0):
            return True
        height = heights[block.page or 0]
        return block.bbox[3] < 0.12 * height or block.bbox[1] > 0.88 * height

    skip: set[int] = set()
    printed: dict[int, int] = {}
    for block in doc.blocks:
        if is_page_number(block.text) and in_margin(block):
            skip.add(block.index)
            number = page_number(block.text)
            if number is not None and block.page is not None:
                printed.setdefault(block.page, number)
    by_page: dict[int, list[Block]] = {}
    for block in doc.blocks:
        if block.index not in skip and block.page is not None:
            by_page.setdefault(block.page, []).append(block)
    if len(by_page) >= 3:
        edges: Counter[str] = Counter()
        for blocks in by_page.values():
            for block in {id(b): b for b in blocks[:1] + blocks[-1:]}.values():
                edges[normalize(block.text)] += 1
        repeated = {t for t, n in edges.items() if n >= max(3, len(by_page) // 2)}
        for blocks in by_page.values():
            for block in blocks[:1] + blocks[-1:]:
                if normalize(block.text) in repeated:
                    skip.add(block.index)
    return skip, printed


def join(a: str, b: str) -> str:
    return a + (" " if _ASCII_END.search(a) and _ASCII_START.search(b) else "") + b


def _same_band(a: Block, b: Block) -> bool:
    if a.page != b.page or a.bbox is None or b.bbox is None:
        return False
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return overlap > 0.5 * min(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1])


def visual_rows(blocks: list[Block], paged: bool) -> list[Unit]:
    """Visual lines: page lines side by side (a table's cells, a 目录 row split by its leaders) are one
    row, even when the text layer lists a cell after the lines of a wrapped neighbour (a page number
    after its title's second line). Word blocks are rows as they are."""
    if not paged:
        return [Unit([b], b.text) for b in blocks]
    rows: list[Unit] = []
    extent: dict[int, tuple[float, float]] = {}  # a row's top and bottom: most lines overlap no row
    for block in blocks:
        row = None
        if block.bbox is not None:
            for candidate in reversed(rows[-ROW_LOOKBACK:]):
                if candidate.page != block.page:
                    break
                low, high = extent.get(id(candidate), (0.0, 0.0))
                if block.bbox[3] <= low or block.bbox[1] >= high:
                    continue
                if any(_same_band(b, block) for b in candidate.blocks):
                    row = candidate
                    break
        if row is None:
            row = Unit([block], block.text)
            rows.append(row)
            if block.bbox is not None:
                extent[id(row)] = (block.bbox[1], block.bbox[3])
            continue
        low, high = extent.get(id(row), (block.bbox[1], block.bbox[3]))  # type: ignore[index]
        extent[id(row)] = (min(low, block.bbox[1]), max(high, block.bbox[3]))  # type: ignore[index]
        row.blocks.append(block)
        row.blocks.sort(key=lambda b: b.bbox[0] if b.bbox else 0.0)
        row.text = " ".join(b.text for b in row.blocks)
        row.row = True
    # Top to bottom within a page: a table's text layer may list a cell's second line before its first.
    order = {id(row): k for k, row in enumerate(rows)}
    return sorted(rows, key=lambda r: (r.page or 0, top(r), order[id(r)]))


def top(row: Unit) -> float:
    return min((b.bbox[1] for b in row.blocks if b.bbox), default=0.0)


def drop_repeated_headers(rows: list[Unit], furniture: set[int]) -> list[Unit]:
    """A table's header row repeated at the top of the next page (Word's 'repeat header rows') is page
    furniture: the document holds it once, and Word counts its 字 once."""
    kept: list[Unit] = []
    last_rows: dict[int, set[str]] = {}
    first_seen: set[int] = set()
    for row in rows:
        page = row.page
        top = page is not None and page not in first_seen
        if page is not None:
            first_seen.add(page)
        cells = row.row or len(row.text.split()) >= 3  # cells side by side, as blocks or in one line
        if top and cells and row.text in last_rows.get((page or 0) - 1, set()):
            furniture.update(b.index for b in row.blocks)
            continue
        if page is not None and cells:
            last_rows.setdefault(page, set()).add(row.text)
        kept.append(row)
    return kept


def _word_titles(rows: list[Unit], keep: set[int]) -> list[Unit]:
    """A Word title set over two paragraphs alike (the cluster's name, then 申报表) is one title; a
    paragraph that starts a new page, is numbered or names another item than the first begins anew."""
    units: list[Unit] = []
    for row in rows:
        last = units[-1] if units else None
        if last is not None and id(last) not in keep and id(row) not in keep and _word_title_goes_on(last, row):
            last.blocks.append(row.first)
            last.text = join(last.text, row.text)
        else:
            units.append(row if id(row) in keep else Unit(list(row.blocks), row.text, row.row))
    return units


def _word_title_goes_on(last: Unit, row: Unit) -> bool:
    a, b = last.blocks[-1], row.first
    if len(last.blocks) > 1 or a.kind in ("table", "figure") or b.kind in ("table", "figure") or b.page_break:
        return False
    alike = (a.font_size, a.bold, a.centered, a.style, a.heading_level, a.color) == (
        b.font_size,
        b.bold,
        b.centered,
        b.style,
        b.heading_level,
        b.color,
    )
    if not alike or not (a.bold or a.centered or a.heading_level is not None or a.color):
        return False
    if numbering_level(row.text) is not None or not is_title_text(last.text) or not is_title_text(row.text):
        return False
    return len(normalize(last.text + row.text)) <= MAX_TITLE_CHARS + 20


def paragraphs(rows: list[Unit], widths: dict[int, float] | None, keep: set[int]) -> list[Unit]:
    """A paragraph's wrapped lines and a title's two lines joined; rows in `keep` (the 目录's, whose
    leaders run to the margin) stay as they are."""
    if widths is None:
        return _word_titles(rows, keep)
    columns = text_column([b for row in rows for b in row.blocks], widths)
    units: list[Unit] = []
    for row in rows:
        last = units[-1] if units else None
        column = columns.get(row.page, columns.get(None)) if columns else None
        joinable = last is not None and id(last) not in keep and id(row) not in keep and column is not None
        if joinable and (_continues(last, row, column) or _wrapped_title(last, row)):  # type: ignore[arg-type]
            last.blocks.extend(row.blocks)  # type: ignore[union-attr]
            last.text = join(last.text, row.text)  # type: ignore[union-attr]
        else:
            units.append(row if id(row) in keep else Unit(list(row.blocks), row.text, row.row))
    return units


def _continues(last: Unit, row: Unit, column: tuple[float, float]) -> bool:
    """A paragraph's line that runs to the right margin goes on in the next line, which starts at the
    left margin in the same size (on the same page, or at the top of the next)."""
    a, b = last.blocks[-1], row.first
    if last.row or row.row or a.bbox is None or b.bbox is None or a.source != b.source:
        return False
    size = a.font_size or 12.0
    # Left-aligned CJK text stops up to about two characters short of the margin (a character that may
    # not start a line is carried over with the one before it).
    if abs((b.font_size or size) - size) > 1.0 or a.bbox[2] < column[1] - 2.0 * size:
        return False
    if b.bbox[0] > column[0] + 0.8 * size or SENTENCE_PUNCT.search(a.text[-1:]):
        return False
    if numbering_level(row.text) is not None:
        return False  # 一、 （一） 1. begin a paragraph of their own
    entry = toc_entry(a.text)
    if entry is not None and entry[2]:
        return False  # a 目录 entry's leaders run to the margin
    if a.page == b.page:
        return 0 <= b.bbox[1] - a.bbox[3] < 1.2 * size
    return b.page == (a.page or 0) + 1


def _wrapped_title(last: Unit, row: Unit) -> bool:
    """A title too long for one line: two lines alike (size, weight, colour), close together, both
    centred or the first filling the line, neither a sentence, the second not numbered."""
    a, b = last.blocks[-1], row.first
    if last.row or row.row or a.bbox is None or b.bbox is None or a.page != b.page or a.source != b.source:
        return False
    size = a.font_size or 12.0
    # OCR measures line heights roughly: a title's two lines may differ by a fifth.
    slack = 0.2 * size if a.source == "ocr" else 0.5
    if abs((b.font_size or 0.0) - size) > slack or a.bold != b.bold or a.color != b.color:
        return False
    # Chinese titles are often set with wide line spacing: up to two lines' height apart.
    # (OCR boxes of a skewed scan may overlap a little.)
    if not b.centered or not (-0.6 * size <= b.bbox[1] - a.bbox[3] < 2.0 * size):
        return False
    if numbering_level(row.text) is not None or SENTENCE_PUNCT.search(last.text + row.text):
        return False
    return len(normalize(last.text + row.text)) <= MAX_TITLE_CHARS + 20


def body_size(units: list[Unit]) -> float | None:
    sizes: Counter[float] = Counter()
    for unit in units:
        for block in unit.blocks:
            if block.font_size and block.source == "text":
                sizes[round(block.font_size * 2) / 2] += len(block.text)
    return sizes.most_common(1)[0][0] if sizes else None


def display_pages(units: list[Unit], doc: Document, body: float | None) -> set[int]:
    """Pages with little text that is mostly display type or lies over a picture: certificates,
    covers, photographed awards. Their big text is no heading level of the file."""
    chars: Counter[int] = Counter()
    large: Counter[int] = Counter()
    for unit in units:
        for block in unit.blocks:
            if block.page is None:
                continue
            n = len(normalize(block.text))
            chars[block.page] += n
            if block.source == "text" and body and (block.font_size or 0) >= body + 4:
                large[block.page] += n
    covers = {p.number: p.image_cover for p in doc.pages or []}
    return {
        page
        for page, n in chars.items()
        if n < TEXT_PAGE_CHARS and (covers.get(page, 0.0) >= 0.3 or 2 * large[page] >= n)
    }


def is_title_text(text: str) -> bool:
    """Title-length text that is not a sentence or a clause of one."""
    flat = normalize(text)
    if not flat or len(flat) > MAX_TITLE_CHARS + 20 or SENTENCE_PUNCT.search(text):
        return False
    return not text.rstrip().endswith(_CLAUSE_END)


def _is_candidate(unit: Unit, body: float | None) -> bool:
    block = unit.first
    if unit.row or block.kind in ("table", "figure") or not is_title_text(unit.text):
        return False
    if block.heading_level is not None:
        return True
    numbered = numbering_level(unit.text) is not None
    # A wrapped title's first line fills the line: its last line shows the centring.
    cues = block.bold or any(b.centered for b in unit.blocks) or block.color or _bigger(block, body)
    if not cues and not (numbered and len(normalize(unit.text)) <= 30):
        return False
    return len(normalize(unit.text)) <= MAX_TITLE_CHARS + (20 if len(unit.blocks) > 1 else 0)


def _bigger(block: Block, body: float | None) -> bool:
    # OCR measures line heights roughly: a line a little taller than the rest is no heading.
    return block.source == "text" and bool(block.font_size and body and block.font_size >= body + 1.5)


def _size_tiers(sizes: list[float]) -> dict[float, int]:
    """Font sizes within 12% of a tier's largest are one tier (a long title shrunk to fit its line)."""
    tiers: list[list[float]] = []
    for size in sorted(set(sizes), reverse=True):
        if tiers and size >= tiers[-1][0] * 0.88:
            tiers[-1].append(size)
        else:
            tiers.append([size])
    return {size: len(tiers) - rank for rank, tier in enumerate(tiers) for size in tier}


def find_headings(
    units: list[Unit], skip: set[int], body: float | None, display_pages: set[int], ruleset: Ruleset
) -> dict[int, Heading]:
    positions = [i for i, u in enumerate(units) if i not in skip and _is_candidate(u, body)]
    tiers = _size_tiers(
        [
            units[i].first.font_size or 0.0
            for i in positions
            if units[i].first.source == "text" and units[i].page not in display_pages
        ]
    )
    first_on_page: dict[int, int] = {}
    for i, unit in enumerate(units):
        if i not in skip and unit.page is not None:
            first_on_page.setdefault(unit.page, i)
    headings: dict[int, Heading] = {}
    for i in positions:
        unit = units[i]
        block = unit.first
        level = numbering_level(unit.text)
        ocr = block.source == "ocr"
        size = block.font_size or 0.0
        tier = 0 if ocr or not size else tiers.get(size, 0)
        styled = block.heading_level
        centred = any(b.centered for b in unit.blocks)
        # Larger text is told apart by its size; centring only tells headings at the body's size apart
        # (a long title filling its line cannot be seen to be centred).
        big = _bigger(block, body)
        signature: Signature = (styled, tier, block.bold, block.color, None if big else centred, level, ocr)
        rank = (
            10.0 - styled if styled is not None else 0.0,
            float(tier),
            float(block.color),
            float(centred),
            float(block.bold),
            float(_NUMBERING_WEIGHT.get(level, 0) if level else 0),
        )
        page_top = block.page_break or (unit.page is not None and first_on_page.get(unit.page) == i)
        items = {r.id for r in ruleset.items_titled(unit.text)}
        headings[i] = Heading(unit, signature, rank, items, page_top)
    return headings


def title_end(layout: Layout, first: int) -> int:
    """The last unit of a title that starts at `first`: a title set over two or three paragraphs (the
    cluster's name, then 发展情况简介; a year range) continues in centred or alike title-like lines."""
    units = layout.units
    heading = layout.headings.get(first)
    last = first
    while last + 1 < min(len(units), first + 3):
        unit = units[last + 1]
        alike = (
            heading is not None
            and (last + 1) in layout.headings
            and layout.headings[last + 1].signature == heading.signature
        )
        if (
            unit.first.kind in ("table", "figure")
            or not (alike or any(b.centered for b in unit.blocks))
            or not is_title_text(unit.text)
            or not all(is_title_text(b.text) for b in unit.blocks)  # 省工业和信息化厅： run into a line
            or numbering_level(unit.text) is not None
            or unit.page != units[first].page
        ):
            break
        last += 1
    return last

"""Split each document into sections that may each be one Art. 6 item.

The rules follow how applicants make their files:
- A file with a 目录 whose entries name the items is a bound file. The 目录 is known by its structure
  (a run of entries with non-decreasing page numbers), whatever its heading says. Each item starts at
  the top of the page its entry gives: printed page numbers become physical ones through the footers'
  page numbers, else through the offset that best matches entries to page tops (unnumbered covers).
  The entry's title found on or next to that page only refines where the item starts.
- Without a 目录, a separate file is one item, unless no title of its own names an item and one heading
  format (style, size, colour, weight, centring, numbering) is mostly titles of different items: a bound
  file without a 目录. An introduction's "五、品牌建设" or "（七）信息化建设" stays inside the introduction.
- Headings are whole paragraphs: a line with sentence punctuation is never a title; wrapped titles are
  joined; text with other text beside it on the line (a table's cells) and OCR line heights never make
  headings; display text on pages with little text (certificates) defines no heading level.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from extractors.pdf import text_column

from .model import Block, Document, Section
from .ruleset import Ruleset
from .text import (
    TOC_HEADING,
    TOC_NUMBER_ONLY,
    is_page_number,
    normalize,
    numbering_level,
    page_number,
    strip_numbering,
    toc_entry,
)

MAX_TITLE_CHARS = 50
TEXT_PAGE_CHARS = 150  # a page with less text, mostly display type or over a picture, is a certificate
ROW_LOOKBACK = 6  # earlier lines a cell may belong beside (the lines of a wrapped neighbouring cell)
COVER_CHARS = 200  # what comes before a bound file's first item and holds less is a cover or 目录
MOSTLY = 0.6  # share of a heading format's headings that must name items for a file to be bound
BOUND_ITEMS = 4  # items one heading format must name to outweigh a file title that names one
_SENTENCE_PUNCT = re.compile(r"[。；;！!？?]")
_CLAUSE_END = ("，", ",", "：", ":", "、")
_STARTS_ENTRY = re.compile(r"^\s*(?:\d{1,2}[.、．\s]|[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分|附件)")
_TOC_HEADER = re.compile(r"页\s*[码次]")
_LABEL = re.compile(r"\s*(附件|附表)\s*[0-9一二三四五六七八九十]*\s*[：:]?\s*")
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


# --------------------------------------------------------------------------------------------------
# Page furniture and units
# --------------------------------------------------------------------------------------------------


def _furniture(doc: Document) -> tuple[set[int], dict[int, int]]:
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


def _join(a: str, b: str) -> str:
    return a + (" " if _ASCII_END.search(a) and _ASCII_START.search(b) else "") + b


def _same_band(a: Block, b: Block) -> bool:
    if a.page != b.page or a.bbox is None or b.bbox is None:
        return False
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return overlap > 0.5 * min(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1])


def _rows(blocks: list[Block], paged: bool) -> list[Unit]:
    """Visual lines: page lines side by side (a table's cells, a 目录 row split by its leaders) are one
    row, even when the text layer lists a cell after the lines of a wrapped neighbour (a page number
    after its title's second line). Word blocks are rows as they are."""
    if not paged:
        return [Unit([b], b.text) for b in blocks]
    rows: list[Unit] = []
    for block in blocks:
        row = None
        if block.bbox is not None:
            for candidate in reversed(rows[-ROW_LOOKBACK:]):
                if candidate.page != block.page:
                    break
                if any(_same_band(b, block) for b in candidate.blocks):
                    row = candidate
                    break
        if row is None:
            rows.append(Unit([block], block.text))
            continue
        row.blocks.append(block)
        row.blocks.sort(key=lambda b: b.bbox[0] if b.bbox else 0.0)
        row.text = " ".join(b.text for b in row.blocks)
        row.row = True
    # Top to bottom within a page: a table's text layer may list a cell's second line before its first.
    order = {id(row): k for k, row in enumerate(rows)}
    return sorted(rows, key=lambda r: (r.page or 0, _top(r), order[id(r)]))


def _top(row: Unit) -> float:
    return min((b.bbox[1] for b in row.blocks if b.bbox), default=0.0)


def _repeated_headers(rows: list[Unit], furniture: set[int]) -> list[Unit]:
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
            last.text = _join(last.text, row.text)
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


def _paragraphs(rows: list[Unit], widths: dict[int, float] | None, keep: set[int]) -> list[Unit]:
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
            last.text = _join(last.text, row.text)  # type: ignore[union-attr]
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
    if abs((b.font_size or size) - size) > 1.0 or a.bbox[2] < column[1] - 1.5 * size:
        return False
    if b.bbox[0] > column[0] + 0.8 * size or _SENTENCE_PUNCT.search(a.text[-1:]):
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
    if numbering_level(row.text) is not None or _SENTENCE_PUNCT.search(last.text + row.text):
        return False
    return len(normalize(last.text + row.text)) <= MAX_TITLE_CHARS + 20


# --------------------------------------------------------------------------------------------------
# Headings
# --------------------------------------------------------------------------------------------------


def _body_size(units: list[Unit]) -> float | None:
    sizes: Counter[float] = Counter()
    for unit in units:
        for block in unit.blocks:
            if block.font_size and block.source == "text":
                sizes[round(block.font_size * 2) / 2] += len(block.text)
    return sizes.most_common(1)[0][0] if sizes else None


def _display_pages(units: list[Unit], doc: Document, body: float | None) -> set[int]:
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
    if not flat or len(flat) > MAX_TITLE_CHARS + 20 or _SENTENCE_PUNCT.search(text):
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


def _headings(
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


# --------------------------------------------------------------------------------------------------
# The 目录
# --------------------------------------------------------------------------------------------------


def _toc_lines(unit: Unit) -> list[tuple[str, int | None, bool]]:
    """The 目录 entries a unit holds: a line, a Word TOC-style paragraph, or a Word table's rows."""
    block = unit.first
    if block.heading_level is not None:
        return []  # a heading, not a 目录 line
    if block.kind == "table" and block.rows:
        if not any("页" in cell for cell in block.rows[0] if cell):
            return []  # a 目录 in a table has a 页码 column
        found = []
        for row in block.rows:
            cells = [c.strip() for c in row if c and c.strip()]
            if len(cells) >= 2 and re.fullmatch(r"(第\s*)?\d{1,4}(\s*[-—–~～至]\s*\d{1,4})?\s*页?", cells[-1]):
                title = max(cells[:-1], key=len)
                if len(re.findall(r"[\u4e00-\u9fff]", title)) >= 2:
                    found.append((title, int(re.findall(r"\d+", cells[-1])[0]), False))
        return found
    entry = toc_entry(unit.text)
    if entry is not None:
        return [entry]
    if (block.style or "").lower().startswith(("toc", "目录")) and is_title_text(unit.text):
        return [(unit.text.strip(), None, False)]
    return []


def _find_toc(units: list[Unit], doc: Document, ruleset: Ruleset) -> tuple[list[TocEntry], set[int]]:
    """The first run of 目录 entries near the start whose page numbers never decrease."""
    pages = len(doc.pages) if doc.pages is not None else None
    limit_page = max(6, round(0.3 * pages)) if pages else None
    limit_unit = len(units) if pages else max(40, round(0.4 * len(units)))
    max_page = (pages + 10) if pages else 999
    i = 0
    while i < min(len(units), limit_unit):
        if limit_page and (units[i].page or 0) > limit_page:
            break
        headed = bool(TOC_HEADING.match(units[i].text))
        if headed:
            i += 1  # the entries follow the heading; without page numbers they may be bare titles
        elif not _toc_lines(units[i]):
            i += 1
            continue
        entries, members, j = _toc_run(units, i, headed, ruleset)
        numbers = [e.page for e in entries if e.page is not None]
        ordered = all(a <= b for a, b in itertools.pairwise(numbers)) and all(n <= max_page for n in numbers)
        leaders = sum(1 for u in {id(e.unit): e.unit for e in entries}.values() for *_, lead in _toc_lines(u) if lead)
        for entry in entries:
            entry.items = {r.id for r in ruleset.items_titled(entry.title)}
        named = sum(1 for e in entries if e.items)
        heading = headed
        enough = (
            len(entries) >= 2
            if heading
            else len(entries) >= 3 and (2 * leaders >= len(entries) or 2 * named >= len(entries))
        )
        # OCR loses page numbers behind leader dots: a headed or dotted 目录 needs only some of them.
        paged_ok = (
            pages is None
            or len(numbers) * 3 >= len(entries) * 2
            or (numbers and (heading or 2 * leaders >= len(entries)))
        )
        if enough and ordered and paged_ok:
            if heading:
                members.add(i - 1)
            return entries, members
        i = j + 1 if j > i else i + 1
    return [], set()


def _toc_run(units: list[Unit], i: int, headed: bool, ruleset: Ruleset) -> tuple[list[TocEntry], set[int], int]:
    """The 目录 entries from unit `i` on, the units they take, and where they end. An entry may be
    wrapped: its first line(s) without a number, the rest with it (in a table, its serial number and
    page number may stand on lines of their own); OCR may put the page number on a line of its own."""
    entries: list[TocEntry] = []
    members: set[int] = set()
    pending: list[int] = []  # a wrapped entry's first lines
    j = i
    while j < len(units):
        unit = units[j]
        text = unit.text.strip()
        if j > i and unit.first.page_break:
            break  # the 目录 ends where a new page begins
        if entries and unit.page != entries[-1].unit.page and not _toc_lines(unit):
            break  # a 目录 runs onto the next page only with an entry
        if not entries and not pending and _TOC_HEADER.search(text) and len(normalize(text)) <= 12:
            members.add(j)  # a table's header row: 序号 材料名称 页码
            j += 1
            continue
        number = TOC_NUMBER_ONLY.match(text)
        if number:
            if pending:
                title = "".join(units[k].text.strip() for k in pending)
                entries.append(TocEntry(title, int(number.group("page")), unit, set()))
            elif entries and entries[-1].page is None:
                entries[-1].page = int(number.group("page"))  # a number OCR read as a box of its own
            elif not entries:
                break
            # else: a table's serial number on a line of its own
            members.update([*pending, j])
            pending = []
            j += 1
            continue
        if pending and unit.page == units[pending[-1]].page and not _toc_lines(unit):
            # `5.创新研发中心、…建设材` then `料……16`: the rest of a title and its number.
            joined = toc_entry("".join(units[k].text.strip() for k in pending) + text)
            if joined is not None and joined[1] is not None:
                entries.append(TocEntry(joined[0], joined[1], unit, set()))
                members.update([*pending, j])
                pending = []
                j += 1
                continue
        # Bare titles only in a list without page numbers, on the heading's page.
        bare = headed and not any(e.page is not None for e in entries) and unit.page == units[i].page
        found = _toc_lines(unit) or (_bare_entry(unit, ruleset) if bare else [])
        if found:
            if pending and entries and _ends_previous(units, pending, entries[-1].unit, unit, found[0][0]):
                # The lines before a numbered entry end the previous entry's title (a wrapped table cell).
                entries[-1].title = _join(entries[-1].title, "".join(units[k].text.strip() for k in pending))
            elif pending:
                first = found[0]
                found = [(_join("".join(units[k].text.strip() for k in pending), first[0]), *first[1:]), *found[1:]]
            if any(normalize(title) == normalize(e.title) for title, *_ in found for e in entries):
                break  # a title listed twice: the first item has begun
            highest = max((e.page for e in entries if e.page is not None), default=0)
            if any(page is not None and page < highest for _, page, _ in found):
                break  # page numbers never go back in a 目录
            entries += [TocEntry(title, page, unit, set()) for title, page, _ in found]
            members.update([*pending, j])
            pending = []
            j += 1
            continue
        # A wrapped title's first line may end at a joint (、，) but is no sentence; it is on the page of
        # the 目录 line before it (a 目录 may run onto a second page, but only with an entry).
        before = units[pending[-1]] if pending else entries[-1].unit if entries else units[max(i - 1, 0)]
        wraps = (entries or headed) and len(pending) < 4 and unit.first.kind not in ("table", "figure")
        wraps = wraps and unit.page == before.page
        if wraps and not _SENTENCE_PUNCT.search(text) and 1 <= len(normalize(text)) <= MAX_TITLE_CHARS:
            pending.append(j)
            j += 1
            continue
        break
    if pending and entries and entries[-1].page is not None:
        entries[-1].title = _join(entries[-1].title, "".join(units[k].text.strip() for k in pending))
        members.update(pending)
        pending = []
    return entries, members, j - len(pending)


def _ends_previous(units: list[Unit], pending: list[int], previous: Unit, current: Unit, title: str) -> bool:
    """Whether the lines before a 目录 entry end the previous entry's title (a wrapped table cell) rather
    than begin this one's: on a page, whichever they sit closer to; else whether this entry begins with
    its own number."""
    first, last = units[pending[0]], units[pending[-1]]
    if previous.page == current.page == first.page and all(u.first.bbox for u in (first, last, previous, current)):
        above = _top(first) - max(b.bbox[3] for b in previous.blocks if b.bbox)
        below = _top(current) - max(b.bbox[3] for b in last.blocks if b.bbox)
        return above < below
    return bool(_STARTS_ENTRY.match(title))


def _bare_entry(unit: Unit, ruleset: Ruleset) -> list[tuple[str, int | None, bool]]:
    """Under a 目录 heading, a line that only names an item (a list without page numbers)."""
    if unit.first.kind in ("table", "figure") or not is_title_text(unit.text):
        return []
    named = bool(ruleset.items_titled(unit.text)) or numbering_level(unit.text) is not None
    return [(unit.text.strip(), None, False)] if named else []


def _is_item_toc(entries: list[TocEntry]) -> bool:
    named = [e for e in entries if e.items]
    distinct = set().union(*(e.items for e in named)) if named else set()
    return len(distinct) >= 2 and 2 * len(named) >= len(entries)


_TITLE_GLUE = re.compile(r"[、，,；;：:及和与的()（）《》“”\"']")


def _title_key(text: str) -> str:
    return _TITLE_GLUE.sub("", normalize(strip_numbering(text)))


def _same_title(entry: str, text: str) -> bool:
    """Whether a body line is the heading a 目录 entry points at. Body titles often add the cluster's
    name or a year range, word their joints differently (、 or 及), and OCR drops a character: they
    share one long run of characters."""
    a, b = _title_key(entry), _title_key(text)
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 4 and shorter in longer and len(shorter) >= len(longer) // 3:
        return True
    run = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
    return run >= 6 and run >= 0.75 * len(shorter) and len(shorter) >= len(longer) // 3


def _matches_entry(entry: TocEntry, unit: Unit, heading: Heading | None, ruleset: Ruleset) -> bool:
    if unit.row or not is_title_text(unit.text):
        return False  # a table's row is no title
    names = heading.items if heading is not None else {r.id for r in ruleset.items_titled(unit.text)}
    if entry.items and names and not entry.items & names:
        return False  # a title naming another item is not this entry's, however alike they read
    if _same_title(entry.title, unit.text):
        return True
    return heading is not None and bool(entry.items & heading.items)


def _page_tops(units: list[Unit], skip: set[int]) -> dict[int, list[int]]:
    """Positions of the first three units of each page (after furniture)."""
    tops: dict[int, list[int]] = {}
    for i, unit in enumerate(units):
        if i in skip or unit.page is None:
            continue
        top = tops.setdefault(unit.page, [])
        if len(top) < 3:
            top.append(i)
    return tops


def _offset(entries: list[TocEntry], layout: Layout, first_after: int, pages: int) -> tuple[int, str]:
    """Physical minus printed page number: from the footers' page numbers when they agree, else the
    offset that puts most entries' titles at their page's top, else the first item right after the 目录."""
    numbered = [e for e in entries if e.page is not None]
    d0 = first_after - numbered[0].page if numbered and numbered[0].page is not None else 0
    if len(layout.printed) >= 2:
        offsets = Counter(physical - printed for physical, printed in layout.printed.items() if physical >= first_after)
        if offsets:
            best, count = offsets.most_common(1)[0]
            if count * 2 >= sum(offsets.values()):
                return best, "页脚页码"
    tops = _page_tops(layout.units, layout.toc_units | set())
    scores: Counter[int] = Counter()
    for d in range(-3, 16):
        for entry in numbered:
            page = (entry.page or 0) + d
            if first_after <= page <= pages and any(
                _matches_entry(entry, layout.units[i], layout.headings.get(i), layout.ruleset)
                for i in tops.get(page, [])
            ):
                scores[d] += 1
    if scores:
        top = max(scores.values())
        best = min((d for d, n in scores.items() if n == top), key=lambda d: abs(d - d0))
        return best, f"目录标题与页首对照（{top}/{len(numbered)} 项）"
    return d0, "目录后第一页"


def _toc_starts_paged(layout: Layout, doc: Document) -> None:
    pages = len(doc.pages or [])
    toc_last = max((layout.units[i].page or 0) for i in layout.toc_units)
    first_after = min(pages, toc_last + 1)
    offset, how = _offset(layout.toc, layout, first_after, pages)
    layout.decision = f"目录（{len(layout.toc)} 项），页码偏移 {offset:+d}（{how}）"
    on_page: dict[int, list[int]] = {}
    for i, unit in enumerate(layout.units):
        if i not in layout.toc_units and unit.page is not None:
            on_page.setdefault(unit.page, []).append(i)
    previous = max(layout.toc_units)
    targets = [min(pages, max(first_after, e.page + offset)) if e.page is not None else None for e in layout.toc]
    for k, entry in enumerate(layout.toc):
        if entry.page is None:
            # No number (OCR lost it): the entry's title, as a title at a page's top, before the next entry's page.
            limit = next((t for t in targets[k + 1 :] if t is not None), pages) + 1
            for i in range(previous + 1, len(layout.units)):
                unit, heading = layout.units[i], layout.headings.get(i)
                if (unit.page or 0) >= limit:
                    break
                exact = _matches_entry(entry, unit, heading, layout.ruleset) and _same_title(entry.title, unit.text)
                if exact or (heading is not None and heading.page_top and entry.items & heading.items):
                    entry.start, entry.found, previous = i, f"第{unit.page}页标题（目录无页码）", i
                    break
            else:
                entry.found = "目录无页码，正文中未找到标题"
            continue
        target = targets[k] or first_after
        entry.target = target
        window = [p for p in (target, target + 1, target - 1) if first_after <= p <= pages]
        found = None
        for page in window:
            for i in on_page.get(page, []):
                heading = layout.headings.get(i)
                if i <= previous or not _matches_entry(entry, layout.units[i], heading, layout.ruleset):
                    continue
                # Off the target page, only the entry's own title or a page's first heading: a sub-heading
                # naming the item (下一步发展思路 in the introduction) is not where the item starts.
                near = page == target or _same_title(entry.title, layout.units[i].text)
                if near or (heading is not None and heading.page_top):
                    found = i
                    break
            if found is not None:
                break
        if found is not None:
            entry.start, entry.found = found, f"第{layout.units[found].page}页标题"
        else:
            top = [i for i in on_page.get(target, []) if i > previous]
            if not top or top[0] != on_page.get(target, [None])[0]:
                entry.found = f"第{target}页未找到标题，且该页已属上一项"
                continue
            first = next((i for i in top if not _LABEL.fullmatch(layout.units[i].text)), top[0])  # past 附件N
            title = "".join(u.text for u in layout.units[first : _title_end(layout, first) + 1])
            others = {r.id for r in layout.ruleset.items_titled(title)}
            if entry.items and others and not entry.items & others:
                # The page begins another item: the 目录 lists what the file does not hold.
                entry.found = f"第{target}页是另一项材料的标题，目录所列材料未见"
                continue
            entry.start, entry.found = top[0], f"第{target}页页首"
        previous = entry.start


def _toc_starts_by_title(layout: Layout) -> None:
    """A file without pages (Word): each entry's title found in order after the 目录. First the titles
    that read as the entry's (the 目录 copies them); then, for the rest, headings formatted like those
    titles (or starting a new page) that name the entry's item, between the neighbours' starts — a
    sub-heading that names an item (八、发展思路 in the introduction) is formatted otherwise."""
    layout.decision = f"目录（{len(layout.toc)} 项），按标题对照"
    units, toc_end = layout.units, max(layout.toc_units)
    previous = toc_end
    for entry in layout.toc:
        for i in range(previous + 1, len(units)):
            if _same_title(entry.title, units[i].text) and _matches_entry(
                entry, units[i], layout.headings.get(i), layout.ruleset
            ):
                entry.start, entry.found, previous = i, "标题", i
                break
    formats = Counter(layout.headings[e.start].signature for e in layout.toc if e.start in layout.headings)
    title_format = formats.most_common(1)[0][0] if formats else None
    for k, entry in enumerate(layout.toc):
        if entry.start is not None:
            continue
        low = max((e.start for e in layout.toc[:k] if e.start is not None), default=toc_end)
        high = min((e.start for e in layout.toc[k + 1 :] if e.start is not None), default=len(units))
        for i in range(low + 1, high):
            heading = layout.headings.get(i)
            if heading is None or not entry.items & heading.items:
                continue
            if heading.signature == title_format or heading.unit.first.page_break:
                entry.start, entry.found = i, "同格式标题"
                break
        else:
            entry.found = "正文中未找到标题"


def _fill_toc_gaps(layout: Layout) -> None:
    """An item the 目录 does not list (an entry lost to OCR, a title reworded) starts at a heading that
    names it and is formatted like the titles the 目录 found."""
    starts = {e.start for e in layout.toc if e.start is not None}
    covered = set().union(*(e.items for e in layout.toc)) if layout.toc else set()
    formats = {layout.headings[i].signature for i in starts if i in layout.headings}
    added: dict[str, int] = {}
    for i, heading in sorted(layout.headings.items()):
        if i <= max(layout.toc_units) or heading.signature not in formats or i in starts:
            continue
        for item in sorted(heading.items - covered):
            added.setdefault(item, i)
    layout.splits = sorted(starts | set(added.values()))


# --------------------------------------------------------------------------------------------------
# Without a 目录
# --------------------------------------------------------------------------------------------------


def _file_title(layout: Layout) -> tuple[int, int] | None:
    """The file's own title as a range of units [first, last]: among its first units (labels such as
    附件2 skipped), the first title-like one, with the centred title-like lines right below it (a title
    over two paragraphs, a year range). None when that title is formatted like headings further on (a
    bound file's first item title) or the file starts with body text."""
    units = layout.units
    for i, unit in enumerate(units[:4]):
        if i in layout.toc_units or _LABEL.fullmatch(unit.text):
            continue
        heading = layout.headings.get(i)
        if heading is None and not (is_title_text(unit.text) and len(normalize(unit.text)) <= MAX_TITLE_CHARS):
            return None
        last = _title_end(layout, i)
        if heading is not None and any(
            h.signature == heading.signature for j, h in layout.headings.items() if not i <= j <= last
        ):
            return None
        return i, last
    return None


def _title_end(layout: Layout, first: int) -> int:
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
            or numbering_level(unit.text) is not None
            or unit.page != units[first].page
        ):
            break
        last += 1
    return last


def _shares_format(layout: Layout, i: int) -> bool:
    heading = layout.headings.get(i)
    return heading is not None and any(h.signature == heading.signature for j, h in layout.headings.items() if j != i)


def _title_text(layout: Layout) -> str:
    assert layout.title is not None
    first, last = layout.title
    text = ""
    for unit in layout.units[first : last + 1]:
        text = _join(text, unit.text.strip())
    return text


def _formats(heading: Heading) -> list[tuple[object, ...]]:
    """The groupings a heading belongs to, finest first: its whole format; its format whatever its
    centring (a long title fills its line and cannot be seen to be centred); that, at a page's top
    (items that start on a new page, among sub-headings formatted alike)."""
    coarse = (*heading.signature[:4], *heading.signature[5:])
    found: list[tuple[object, ...]] = [("format", *heading.signature), ("coarse", *coarse)]
    if heading.page_top:
        found.append(("top", *coarse))
    return found


def _bound_headings(layout: Layout, ruleset: Ruleset) -> None:
    """Split a file without a 目录 only where one heading format is mostly titles of different items.
    A file titled as an item is that item, unless the format names many items (its title is a cover's)."""
    title = set(range(layout.title[0], layout.title[1] + 1)) if layout.title else set()
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, heading in layout.headings.items():
        if i in title or heading.unit.page in layout.display_pages:
            continue
        for key in _formats(heading):
            groups.setdefault(key, []).append(i)
    best: tuple[tuple[float, ...], tuple[object, ...], int] | None = None
    for key, members in groups.items():
        named = [i for i in members if layout.headings[i].items]
        distinct = set().union(*(layout.headings[i].items for i in named)) if named else set()
        if len(distinct) < 2 or len(named) < MOSTLY * len(members):
            continue
        # The grouping that names the most items wins; then the one whose headings are most purely
        # distinct item titles at page tops; then the finest.
        tops = sum(1 for i in members if layout.headings[i].page_top) / len(members)
        quality = len(named) / len(members) + len(distinct) / len(named) + 0.5 * tops
        fineness = {"format": 2.0, "top": 1.0, "coarse": 0.0}[str(key[0])]
        score = (float(len(distinct)), round(quality, 3), fineness, *layout.headings[members[0]].rank)
        if best is None or score > best[0]:
            best = (score, key, len(distinct))
    titled = layout.title is not None and ruleset.items_titled(_title_text(layout))
    if titled and (best is None or best[2] < BOUND_ITEMS):
        layout.decision = f"单独文件，标题「{_title_text(layout)[:30]}」即所属材料"
        return
    if best is None:
        layout.decision = "单独文件，无目录，标题格式中没有以不同材料名称为主的一级"
        return
    key = best[1]
    # Split where the format's headings name an item (a page-top sub-heading formatted alike does not);
    # pages with little text were left out of the choice, but a separator page titled alike counts.
    layout.splits = sorted(i for i, h in layout.headings.items() if key in _formats(h) and i not in title and h.items)
    layout.decision = f"无目录，按同一格式的材料标题拆分（{len(layout.splits)} 处）"
    _fill_scan_gaps(layout, bool(key[-1]))


def _fill_scan_gaps(layout: Layout, ocr: bool) -> None:
    """A scanned page bound among text pages (a signed declaration, a stamped form): its first line names
    an item no title found covers. Its title cannot share the text titles' format, so it is looked for
    by what it says, at the top of a page read the other way (OCR among text, or text among scans)."""
    by_index = {layout.units[i].index: i for i in layout.splits}
    covered = {item for i in by_index.values() for item in layout.ruleset.items_titled(layout.units[i].text)}
    seen: set[int] = set()
    added: list[int] = []
    for i, unit in enumerate(layout.units):
        if unit.page is None or unit.page in seen or i in layout.toc_units:
            continue
        seen.add(unit.page)
        other = all((b.source == "ocr") != ocr for u in layout.units if u.page == unit.page for b in u.blocks)
        text = "".join(u.text for u in layout.units[i : _title_end(layout, i) + 1])
        names = {r.id for r in layout.ruleset.items_titled(text)}
        if other and is_title_text(unit.text) and len(names) == 1 and not names & covered:
            added.append(i)
            covered |= names
    if added:
        layout.splits = sorted({*layout.splits, *added})
        layout.decision += f"，另有扫描页标题 {len(added)} 处"


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def analyse(doc: Document, ruleset: Ruleset) -> Layout:
    furniture, printed = _furniture(doc)
    blocks = [b for b in doc.blocks if b.index not in furniture]
    paged = doc.pages is not None
    rows = _repeated_headers(_rows(blocks, paged), furniture)
    # The 目录 is found on visual lines, before a paragraph's lines are joined: its entries run to the
    # margin like a paragraph's lines do.
    toc, toc_rows = _find_toc(rows, doc, ruleset)
    keep = {id(rows[i]) for i in toc_rows}
    units = _paragraphs(rows, {p.number: p.width for p in doc.pages} if doc.pages is not None else None, keep)
    toc_units = {i for i, u in enumerate(units) if id(u) in keep}
    layout = Layout(furniture, printed, units, toc, toc_units, False, {}, set(), ruleset)
    body = _body_size(units)
    layout.display_pages = _display_pages(units, doc, body) if paged else set()
    layout.headings = _headings(units, layout.toc_units, body, layout.display_pages, ruleset)
    layout.item_toc = bool(layout.toc) and _is_item_toc(layout.toc)
    layout.title = _file_title(layout)
    if layout.item_toc:
        if paged and any(e.page is not None for e in layout.toc):
            _toc_starts_paged(layout, doc)
        else:
            _toc_starts_by_title(layout)
        _fill_toc_gaps(layout)
    else:
        _bound_headings(layout, ruleset)
    return layout


def split_sections(doc: Document, ruleset: Ruleset) -> list[Section]:
    """The document's sections in order; a bound file's cover and 目录 become a preamble."""
    if not doc.blocks:
        return [Section(doc, _file_name(doc), "file_name", [], role="whole")]
    layout = analyse(doc, ruleset)
    units = layout.units
    if not layout.splits:
        return [_whole(doc, layout)]
    sections: list[Section] = []
    starts = {e.start: e for e in layout.toc if e.start is not None}
    # An item begins with the labels above its title (附件2), which belong to it, not to the item before.
    begins = [_label_start(layout, split) for split in layout.splits]
    head = [u for i, u in enumerate(units[: begins[0]]) if i not in layout.toc_units]
    head_blocks = [b for u in head for b in u.blocks]
    spans = _spans(layout, begins, doc)
    if head_blocks:
        chars = sum(len(normalize(u.text)) for u in head)
        title = head[0].text if head else "封面"
        role = "preamble" if chars < COVER_CHARS or layout.item_toc else "item"
        span = (1, spans[0][0]) if spans and spans[0] else None
        sections.append(
            Section(doc, title[:60], "first_line", head_blocks, role=role, title_page=head[0].page, span=span)
        )
    ends = [*begins[1:], len(units)]
    for k, (start, end) in enumerate(zip(layout.splits, ends, strict=True)):
        first = units[start]
        entry = starts.get(start)
        titled = start in layout.headings or (entry is not None and _same_title(entry.title, first.text))
        after = _title_end(layout, start) + 1 if titled else start
        body = [b for u in units[after:end] for b in u.blocks]
        if entry is not None and not titled and all(_LABEL.fullmatch(b.text) for b in body):
            continue  # a 目录 entry with neither its title nor any content: the file does not hold it
        if entry is not None:
            title = entry.title if not titled or not ruleset.items_titled(first.text) else first.text
            source = "toc"
        else:
            title, source = first.text, "heading"
        doubt = None
        if entry is not None and not titled and entry.target is not None:
            doubt = f"目录所列「{entry.title}」在第{entry.target}页未见该标题"
        sections.append(
            Section(doc, title, source, body, role="item", title_page=first.page, doubt=doubt, span=spans[k])
        )
    return sections


def _spans(layout: Layout, begins: list[int], doc: Document) -> list[tuple[int, int] | None]:
    """Each item's pages in a bound file: from its first page to the page before the next item's, or
    to that page when the next item starts below other text on it (pages of pictures alone count)."""
    if doc.pages is None:
        return [None] * len(begins)
    first_on_page: dict[int, int] = {}
    for i, unit in enumerate(layout.units):
        if unit.page is not None:
            first_on_page.setdefault(unit.page, i)
    spans: list[tuple[int, int] | None] = []
    for k, begin in enumerate(begins):
        page = layout.units[begin].page or 1
        if k + 1 < len(begins):
            following = begins[k + 1]
            next_page = layout.units[following].page or page
            last = next_page - 1 if first_on_page.get(next_page) == following else next_page
        else:
            last = len(doc.pages)
        spans.append((page, max(page, last)))
    return spans


def _label_start(layout: Layout, split: int) -> int:
    """Where the item whose title is at `split` begins: at the labels (附件2) and the title's own first
    lines (the cluster's name above 三年行动方案) right above it."""
    start = split
    while start > 0 and start - 1 not in layout.toc_units and layout.units[start - 1].page == layout.units[split].page:
        above = layout.units[start - 1]
        if not (_LABEL.fullmatch(above.text) or (is_title_text(above.text) and _title_end(layout, start - 1) >= start)):
            break
        if not _LABEL.fullmatch(above.text) and split - start >= 2:
            break  # a title of at most three lines
        start -= 1
    return start


def _whole(doc: Document, layout: Layout) -> Section:
    """The whole file as one section: its title (with the lines above it: a label, a cluster name) is
    not part of the body."""
    units = layout.units
    skip = set(layout.toc_units)
    if layout.title is not None:
        first, last = layout.title
        skip.update(range(last + 1))
        text, page = _title_text(layout), units[first].page
        source = "heading" if any(i in layout.headings for i in range(first, last + 1)) else "first_line"
    else:
        text, source, page = _file_name(doc), "file_name", None
    body = [b for i, u in enumerate(units) if i not in skip for b in u.blocks]
    return Section(doc, text, source, body, role="whole", title_page=page)  # type: ignore[arg-type]


def _file_name(doc: Document) -> str:
    name = doc.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name

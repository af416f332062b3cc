"""The 目录 (table of contents) of a bound file: found by its structure, its entries placed on pages.

A 目录 is a run of entries whose page numbers never decrease, whatever its heading says (目录, 目　录,
申报材料目录, 材料清单, none), with leaders, a tab, a space or a table's 页码 column; an entry may wrap
over two lines or cells, and OCR may lose its number or read it on a line of its own. Printed page
numbers become physical ones through the footers' page numbers, else through the offset that best puts
entries' titles at page tops (unnumbered covers); each item starts at the top of its page, and the
entry's title found on or next to that page only refines where. A Word file has no pages: its entries
are found by the titles they copy.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from difflib import SequenceMatcher

from core.model import Block, Document
from core.text import (
    LABEL,
    TOC_HEADING,
    TOC_NUMBER_ONLY,
    normalize,
    numbering_level,
    serial_number,
    strip_numbering,
    toc_entry,
)

from .layout import (
    MAX_TITLE_CHARS,
    MOSTLY,
    SENTENCE_PUNCT,
    Heading,
    Layout,
    Signature,
    TocEntry,
    Unit,
    is_title_text,
    items_named,
    join,
    title_end,
    top,
)
from .ruleset import Ruleset

_STARTS_ENTRY = re.compile(r"^\s*(?:\d{1,2}[.、．\s]|[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分|附件)")


_TOC_HEADER = re.compile(r"页\s*[码次]")


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


def find_toc(units: list[Unit], doc: Document, ruleset: Ruleset) -> tuple[list[TocEntry], set[int]]:
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
        entries, members, j = _best_run(units, i, headed, ruleset)
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


_SERIAL_CELL = re.compile(r"\d{1,2}")
_PAGE_CELL = re.compile(r"(?:第\s*)?(\d{1,4})(?:\s*[-—–~～至]\s*\d{1,4})?\s*页?")
_NUMBERED_TITLE = re.compile(r"^\s*(\d{1,2})\s*[.、．]")
# serial, title's start, page if given
_WHOLE_ROW = re.compile(r"(\d{1,2})\s+((?:\d{1,2}[.、．])?\D.*?)(?:\s+(\d{1,4}))?")
_SERIAL_AND_PAGE = re.compile(r"\s*(\d{1,2})()\s+(\d{1,4})\s*")  # `5 16`: both level with a title cell's middle
_TITLE_AND_PAGE = re.compile(r"(.*\D)\s+(\d{1,4})")


def _best_run(units: list[Unit], i: int, headed: bool, ruleset: Ruleset) -> tuple[list[TocEntry], set[int], int]:
    """Read as lines, and (under a heading or a table's 序号 材料名称 页码) as a table's columns: the
    reading naming more items wins."""
    runs = [_toc_run(units, i, headed, ruleset)]
    header = i > 0 and bool(_TOC_HEADER.search(units[i - 1].text)) and len(normalize(units[i - 1].text)) <= 12
    if (headed or header) and (table := _table_toc(units, i)):
        runs.append(table)

    def named(run: tuple[list[TocEntry], set[int], int]) -> tuple[int, int]:
        # Entries that name one item each; an entry naming several is titles run together.
        counts = [len(ruleset.items_titled(e.title)) for e in run[0]]
        return sum(1 for n in counts if n == 1) - sum(1 for n in counts if n > 1), -len(run[0])

    return max(runs, key=named)


def _table_toc(units: list[Unit], i: int) -> tuple[list[TocEntry], set[int], int] | None:
    """A 目录 drawn as a table on a page (序号 | 材料名称 | 页码) whose title cells wrap: the serial and the
    page number stand centred beside a title of several lines, and a text layer lists the pieces in any
    order. Read as columns: each serial takes the page number level with it and the title lines of its
    number (`2.…`) or, unnumbered, nearest to it."""
    page = units[i].page if i < len(units) else None
    if page is None:
        return None
    end = i
    while end < len(units) and units[end].page == page and not SENTENCE_PUNCT.search(units[end].text):
        end += 1
    pieces = [b for u in units[i:end] for b in u.blocks if b.bbox and not _TOC_HEADER.search(b.text)]
    if len(pieces) < 6:
        return None
    left = min(b.bbox[0] for b in pieces)
    right = max(b.bbox[2] for b in pieces)
    # A row the text layer gives whole (`4 4.研发及服务平台材料 18`, or `1 山东省特色产业集群` with the page
    # apart) holds the serial and the title's start, and the page number when given.
    whole = {
        id(b): m
        for b in pieces
        if b.bbox[0] < left + 12 and (m := _WHOLE_ROW.fullmatch(b.text.strip()) or _SERIAL_AND_PAGE.fullmatch(b.text))
    }
    serials = [
        b for b in pieces if (_SERIAL_CELL.fullmatch(b.text.strip()) or id(b) in whole) and b.bbox[0] < left + 12
    ]
    numbers = [
        b for b in pieces if _PAGE_CELL.fullmatch(b.text.strip()) and b.bbox[2] > right - 40 and b not in serials
    ]
    titles = [b for b in pieces if b not in serials and b not in numbers]
    # A title cell's last line and the page number the text layer gave as one piece (`称号及…材料 15`).
    tails: dict[int, int] = {}
    for block in titles:
        tail = _TITLE_AND_PAGE.fullmatch(block.text.strip())
        if tail and block.bbox[2] > right - 40:
            tails[id(block)] = int(tail.group(2))
    if len(serials) < 2 or len(numbers) + len(tails) < 2 or not titles:
        return None

    def middle(block: Block) -> float:
        return (block.bbox[1] + block.bbox[3]) / 2  # type: ignore[index]

    serials.sort(key=middle)
    owner: dict[int, list[Block]] = {id(s): [] for s in serials}
    # Cells aligned at the top put a title's first line level with its serial: the lines below, up to
    # the next serial, are its own. Cells centred put the serial in the middle of the title's lines.
    level = sum(1 for sv in serials if any(abs(middle(sv) - middle(t)) < 3 for t in titles))
    top_aligned = 2 * level >= len(serials)
    current: Block | None = None
    for block in sorted(titles, key=middle):
        numbered = _NUMBERED_TITLE.match(block.text)
        if numbered:
            current = next((sv for sv in serials if _serial(sv, whole) == numbered.group(1)), None)
        above = [sv for sv in serials if middle(sv) <= middle(block) + 3]
        nearest = above[-1] if top_aligned and above else min(serials, key=lambda sv: abs(middle(sv) - middle(block)))
        owner[id(current if current is not None else nearest)].append(block)
    entries: list[TocEntry] = []
    for serial in serials:
        lines = owner[id(serial)]
        row = whole.get(id(serial))
        if not lines and not row:
            return None
        tail_pages = [tails[id(line)] for line in lines if id(line) in tails]
        # The title's lines top to bottom, the row's own piece among them (a centred row sits mid-cell).
        parts: list[tuple[float, str]] = []
        for line in lines:
            text = line.text.strip()
            if id(line) in tails:
                text = _TITLE_AND_PAGE.fullmatch(text).group(1)  # type: ignore[union-attr]
            parts.append((middle(line), text))
        if row and row.group(2):
            parts.append((middle(serial), row.group(2).strip()))
        title = ""
        for k, (_, text) in enumerate(sorted(parts, key=lambda part: part[0])):
            title = join(title, _NUMBERED_TITLE.sub("", text).strip() if k == 0 else text)
        if row and row.group(3):
            printed: int | None = int(row.group(3))
        elif tail_pages:
            printed = tail_pages[0]
        elif not numbers:
            printed = None
        else:
            found = _PAGE_CELL.fullmatch(min(numbers, key=lambda b: abs(middle(b) - middle(serial))).text.strip())
            printed = int(found.group(1)) if found else None
        unit = next(u for u in units[i:end] if serial in u.blocks)
        entries.append(TocEntry(title, printed, unit, set()))
    return entries, set(range(i, end)), end


def _serial(block: Block, whole: dict[int, re.Match[str]]) -> str:
    row = whole.get(id(block))
    return row.group(1) if row else block.text.strip()


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
                entries[-1].title = join(entries[-1].title, "".join(units[k].text.strip() for k in pending))
            elif pending:
                first = found[0]
                found = [(join("".join(units[k].text.strip() for k in pending), first[0]), *first[1:]), *found[1:]]
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
        if wraps and not SENTENCE_PUNCT.search(text) and 1 <= len(normalize(text)) <= MAX_TITLE_CHARS:
            pending.append(j)
            j += 1
            continue
        break
    if pending and entries and entries[-1].page is not None:
        entries[-1].title = join(entries[-1].title, "".join(units[k].text.strip() for k in pending))
        members.update(pending)
        pending = []
    return entries, members, j - len(pending)


def _ends_previous(units: list[Unit], pending: list[int], previous: Unit, current: Unit, title: str) -> bool:
    """Whether the lines before a 目录 entry end the previous entry's title (a wrapped table cell) rather
    than begin this one's: on a page, whichever they sit closer to; else whether this entry begins with
    its own number."""
    first, last = units[pending[0]], units[pending[-1]]
    if _STARTS_ENTRY.match(first.text) and not _STARTS_ENTRY.match(title):
        return False  # `4.…名牌产` then `品、驰名商标……15`: the lines begin this entry with its number
    done = toc_entry(previous.text)
    if done is not None and done[2]:
        return False  # the previous entry ended with its leaders and page number
    if previous.page == current.page == first.page and all(u.first.bbox for u in (first, last, previous, current)):
        above = top(first) - max(b.bbox[3] for b in previous.blocks if b.bbox)
        below = top(current) - max(b.bbox[3] for b in last.blocks if b.bbox)
        return above < below
    return bool(_STARTS_ENTRY.match(title))


def _bare_entry(unit: Unit, ruleset: Ruleset) -> list[tuple[str, int | None, bool]]:
    """Under a 目录 heading, a line that only names an item (a list without page numbers)."""
    if unit.first.kind in ("table", "figure") or not is_title_text(unit.text):
        return []
    named = bool(ruleset.items_titled(unit.text)) or numbering_level(unit.text) is not None
    return [(unit.text.strip(), None, False)] if named else []


def is_item_toc(entries: list[TocEntry]) -> bool:
    named = [e for e in entries if e.items]
    distinct = set().union(*(e.items for e in named)) if named else set()
    return len(distinct) >= 2 and 2 * len(named) >= len(entries)


_TITLE_GLUE = re.compile(r"[、，,；;：:及和与的()（）《》“”\"']")


@functools.lru_cache(maxsize=4096)  # a 目录 entry's title is compared with every line near its page
def _title_key(text: str) -> str:
    return _TITLE_GLUE.sub("", normalize(strip_numbering(text)))


def same_title(entry: str, text: str, ruleset: Ruleset) -> bool:
    """Whether a body line is the heading a 目录 entry points at. Body titles often add the cluster's
    name or a year range, word their joints differently (、 or 及), and OCR drops a character: they
    share one long run of characters, and more than the words every title has."""
    a, b, run = _shared(entry, text)
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 4 and shorter in longer and len(shorter) >= len(longer) // 3:
        run = shorter
    elif len(run) < 6 or len(run) < 0.75 * len(shorter) or len(shorter) < len(longer) // 3:
        return False
    return len(ruleset.specific(run)) >= 2


def _shared(entry: str, text: str) -> tuple[str, str, str]:
    """The two titles as compared, and the longest run of characters they share."""
    a, b = _title_key(entry), _title_key(text)
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return a, b, a[match.a : match.a + match.size]


def _closeness(entry: str, text: str) -> float:
    """The longest run the two titles share, over the longer one."""
    a, b, run = _shared(entry, text)
    return len(run) / max(len(a), len(b), 1)


def _covers(entry: str, text: str) -> bool:
    a, _, run = _shared(entry, text)
    return bool(a) and len(run) >= 0.75 * len(a)


def _matches_entry(entry: TocEntry, unit: Unit, heading: Heading | None, ruleset: Ruleset) -> bool:
    if unit.row or not is_title_text(unit.text):
        return False  # a table's row is no title
    names = heading.items if heading is not None else {r.id for r in ruleset.items_titled(unit.text)}
    if entry.items and names and not entry.items & names:
        return False  # a title naming another item is not this entry's, however alike they read
    if entry.items and not names:
        # A line naming no item reads as the entry's only with most of the entry's words: the
        # cluster's name (a form's cell) shares a part of every title.
        return _covers(entry.title, unit.text)
    if same_title(entry.title, unit.text, ruleset):
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


def place_by_page(layout: Layout, doc: Document) -> None:
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
                exact = _matches_entry(entry, unit, heading, layout.ruleset) and same_title(
                    entry.title, unit.text, layout.ruleset
                )
                if exact or (heading is not None and heading.page_top and entry.items & heading.items):
                    entry.start, entry.found, previous = i, f"第{unit.page}页标题（目录无页码）", i
                    break
            else:
                entry.found = "目录无页码，正文中未找到标题"
            continue
        target = targets[k] or first_after
        entry.target = target
        window = [p for p in (target, target + 1, target - 1) if first_after <= p <= pages]
        found = _title_in_window(layout, entry, window, on_page, previous, target)
        if found is not None:
            entry.start, entry.found = found, f"第{layout.units[found].page}页标题"
        else:
            top = [i for i in on_page.get(target, []) if i > previous]
            if not top or top[0] != on_page.get(target, [None])[0]:
                entry.found = f"第{target}页未找到标题，且该页已属上一项"
                continue
            # The next entry points at the same page and its title is there: no title of this entry's
            # before it, so the 目录 lists what the file does not hold.
            same_page = k + 1 < len(layout.toc) and targets[k + 1] == target
            nxt = (
                _title_in_window(layout, layout.toc[k + 1], [target], on_page, previous, target) if same_page else None
            )
            if nxt is not None:
                entry.found = f"第{target}页是下一项材料的标题，目录所列材料未见"
                continue
            first = next((i for i in top if not LABEL.fullmatch(layout.units[i].text)), top[0])  # past 附件N
            title = "".join(u.text for u in layout.units[first : title_end(layout, first) + 1])
            others = {r.id for r in layout.ruleset.items_titled(title)}
            if entry.items and others and not entry.items & others:
                # The page begins another item: the 目录 lists what the file does not hold.
                entry.found = f"第{target}页是另一项材料的标题，目录所列材料未见"
                continue
            if not others and _numbered_on(layout, previous, first):
                entry.found = f"第{target}页页首接续上一项的编号，目录所列材料未见"
                continue
            entry.start, entry.found = top[0], f"第{target}页页首"
        previous = entry.start


def _title_in_window(
    layout: Layout, entry: TocEntry, window: list[int], on_page: dict[int, list[int]], previous: int, target: int
) -> int | None:
    """The entry's title on its target page or next to it: a title that reads as the entry's first; else
    a heading naming the entry's item, on the target page or at another page's top (a sub-heading naming
    the item, 下一步发展思路 in the introduction, is not where the item starts)."""
    candidates = [(page, i) for page in window for i in on_page.get(page, []) if i > previous]
    candidates = [(page, i) for page, i in candidates if _continues(layout, previous, i)]
    for _, i in candidates:
        unit, heading = layout.units[i], layout.headings.get(i)
        if same_title(entry.title, unit.text, layout.ruleset) and _matches_entry(entry, unit, heading, layout.ruleset):
            return i
    for page, i in candidates:
        heading = layout.headings.get(i)
        near = heading is not None and (page == target or heading.page_top)
        if near and _matches_entry(entry, layout.units[i], heading, layout.ruleset) and not _opens_part(layout, i):
            return i
    return None


def _opens_part(layout: Layout, i: int) -> bool:
    """A heading numbered 1 one level below the numbered heading right above it (三、存在的问题和下一步打算
    then （一）发展思路) opens that heading's first part: it is no item's title."""
    level, number = numbering_level(layout.units[i].text), serial_number(layout.units[i].text)
    if level is None or number != 1:
        return False
    for k in range(i - 1, max(i - 3, -1), -1):
        above = numbering_level(layout.units[k].text)
        if above is not None:
            return above < level
    return False


def _numbered_on(layout: Layout, previous: int, i: int) -> bool:
    """Whether unit `i` carries the serial after the last one at its level since `previous` (三、 after
    一、 and 二、 of the item before): it goes on with that item."""
    level, number = numbering_level(layout.units[i].text), serial_number(layout.units[i].text)
    if level is None or number is None:
        return False
    for k in range(i - 1, previous, -1):
        text = layout.units[k].text
        if k not in layout.toc_units and numbering_level(text) == level and serial_number(text) is not None:
            return serial_number(text) == number - 1
    return False


def _continues(layout: Layout, previous: int, i: int) -> bool:
    """Whether unit `i` may be the title after the item title at `previous`: item titles are numbered
    in order, so after 四、 a 二、 at the same level is a sub-heading."""
    if previous in layout.toc_units:
        return True
    before, text = layout.units[previous].text, layout.units[i].text
    number = serial_number(before)
    if number is None or numbering_level(text) != numbering_level(before):
        return True
    return (serial_number(text) or 0) > number


def _prominence(layout: Layout, i: int) -> tuple[float, ...]:
    heading = layout.headings.get(i)
    return heading.rank if heading is not None else ()


def place_by_title(layout: Layout) -> None:
    """A file without pages (Word): each entry's title found in order after the 目录. First the titles
    that read as the entry's (the 目录 copies them); then, for the rest, headings formatted like those
    titles (or starting a new page) that name the entry's item, between the neighbours' starts — a
    sub-heading that names an item (八、发展思路 in the introduction) is formatted otherwise."""
    layout.decision = f"目录（{len(layout.toc)} 项），按标题对照"
    units, toc_end = layout.units, max(layout.toc_units)
    previous = toc_end

    def reads_as(entry: TocEntry, i: int) -> bool:
        # The cheap test first: most lines are sentences, no title.
        return _matches_entry(entry, units[i], layout.headings.get(i), layout.ruleset) and same_title(
            entry.title, units[i].text, layout.ruleset
        )

    for k, entry in enumerate(layout.toc):
        later = layout.toc[k + 1 :]
        candidates: list[int] = []
        for i in range(previous + 1, len(units)):
            if candidates and any(reads_as(e, i) for e in later):
                break  # the next entry's title: this one's lies before it
            if reads_as(entry, i) and _continues(layout, previous, i):
                candidates.append(i)
        if candidates:
            # The closest in words, then the most prominent: the item's own title, not a sub-heading
            # that reads like part of it (三、公共服务平台建设 in the introduction before it, 一、集群基本
            # 情况 right under 集群基本情况介绍).
            found = max(
                candidates, key=lambda i: (round(_closeness(entry.title, units[i].text), 1), _prominence(layout, i), -i)
            )
            entry.start, entry.found, previous = found, "标题", found
    # Twice: the titles found formatted alike in the first round show the title format to the second.
    for _ in range(2):
        _place_formatted_alike(layout, toc_end)


def _place_formatted_alike(layout: Layout, toc_end: int) -> None:
    """The entries without a title that reads as theirs: a heading between the neighbours' starts that
    names the entry's item and is formatted like the other titles (or starts a page). Item titles share
    one format, so a title matched on a few shared words whose format differs from the others' is
    likely a sub-heading that echoes the entry (三、服务体系建设 in the introduction for 创新研发中心、
    公共服务平台、服务体系建设材料): a title formatted like the others is looked for first."""
    units = layout.units
    formats = Counter(layout.headings[e.start].signature for e in layout.toc if e.start in layout.headings)
    title_format = _titles_format(layout, toc_end)
    if title_format is None:
        title_format = formats.most_common(1)[0][0] if formats else None
    else:
        formats[title_format] = max(formats[title_format], 2)
    doubtful: dict[int, int] = {}
    if title_format is not None and formats[title_format] >= 2:
        for k, entry in enumerate(layout.toc):
            if entry.start is None or _closeness(entry.title, units[entry.start].text) >= 0.75:
                continue
            heading = layout.headings.get(entry.start)
            if heading is None or heading.signature != title_format:
                doubtful[k], entry.start = entry.start, None
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
            if k in doubtful:
                entry.start = doubtful[k]
            else:
                entry.found = "正文中未找到标题"


def _titles_format(layout: Layout, toc_end: int) -> Signature | None:
    """The heading format after the 目录 that is mostly titles of different items (three or more): the
    items' title format, whatever the entries were matched to (sub-headings that echo entries share a
    format of their own, mostly naming no item)."""
    groups: dict[Signature, list[Heading]] = {}
    for i, heading in layout.headings.items():
        if i > toc_end:
            groups.setdefault(heading.signature, []).append(heading)
    best: tuple[tuple[int, float], Signature] | None = None
    for signature, members in groups.items():
        distinct, named = items_named(members)
        share = named / len(members)
        if len(distinct) >= 3 and share >= MOSTLY and (best is None or (len(distinct), share) > best[0]):
            best = ((len(distinct), share), signature)
    return best[1] if best else None


def fill_toc_gaps(layout: Layout) -> None:
    """An item the 目录 does not list (an entry lost to OCR, a title reworded) starts at a heading that
    names it, is formatted like the titles that read as their entries', and starts a page (in a Word
    file: formatted alike is enough). An introduction's sub-heading naming an item is none of that."""
    starts = {e.start for e in layout.toc if e.start is not None}
    covered = set().union(*(e.items for e in layout.toc)) if layout.toc else set()
    titles = [
        e.start
        for e in layout.toc
        if e.start is not None and same_title(e.title, layout.units[e.start].text, layout.ruleset)
    ]
    formats = {layout.headings[i].signature for i in titles if i in layout.headings}
    paged = any(u.page is not None for u in layout.units)
    added: dict[str, int] = {}
    for i, heading in sorted(layout.headings.items()):
        if i <= max(layout.toc_units) or heading.signature not in formats or i in starts:
            continue
        if paged and not heading.page_top:
            continue
        for item in sorted(heading.items - covered):
            added.setdefault(item, i)
    layout.splits = sorted(starts | set(added.values()))

"""Split each document into sections that may each be one Art. 6 item.

- A file with a 目录 whose entries name the items is a bound file: each item starts where its entry
  points (`pipeline.toc`).
- Without a 目录, a separate file is one item, unless no title of its own names an item and one heading
  format (style, size, colour, weight, centring, numbering; or the same at page tops) is mostly titles of
  different items: a bound file without a 目录. An introduction's "五、品牌建设" or "（七）信息化建设" stays
  inside the introduction.
- An item begins at the labels (附件2) and title lines above its title, and spans its pages (pages of
  pictures alone included).
"""

from __future__ import annotations

from collections import Counter

from core.model import Document, Section
from core.text import LABEL, normalize, numbering_level, serial_number

from .layout import (
    MAX_TITLE_CHARS,
    MOSTLY,
    Heading,
    Layout,
    body_size,
    display_pages,
    drop_repeated_headers,
    find_headings,
    furniture,
    is_title_text,
    items_named,
    join,
    paragraphs,
    title_end,
    visual_rows,
)
from .ruleset import Ruleset
from .toc import fill_toc_gaps, find_toc, is_item_toc, place_by_page, place_by_title, same_title

COVER_CHARS = 200  # what comes before a bound file's first item and holds less is a cover or 目录
BOUND_ITEMS = 4  # items one heading format must name to outweigh a file title that names one


def _file_title(layout: Layout) -> tuple[int, int] | None:
    """The file's own title as a range of units [first, last]: among its first units (labels such as
    附件2 skipped), the first title-like one, with the centred title-like lines right below it (a title
    over two paragraphs, a year range). None when that title is formatted like headings further on (a
    bound file's first item title) or the file starts with body text."""
    units = layout.units
    for i, unit in enumerate(units[:4]):
        if i in layout.toc_units or LABEL.fullmatch(unit.text):
            continue
        heading = layout.headings.get(i)
        if heading is None and not (is_title_text(unit.text) and len(normalize(unit.text)) <= MAX_TITLE_CHARS):
            return None
        last = title_end(layout, i)
        if heading is not None and any(
            h.signature == heading.signature and h.items - heading.items
            for j, h in layout.headings.items()
            if not i <= j <= last
        ):
            return None  # formatted like other items' titles further on: a bound file's first item title
        return i, last
    return None


def _title_text(layout: Layout) -> str:
    assert layout.title is not None
    first, last = layout.title
    text = ""
    for unit in layout.units[first : last + 1]:
        text = join(text, unit.text.strip())
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
        # A page of little text counts only with an item's title at its top (信息化智能化建设情况 over
        # 无相关材料。); a certificate's display type is no title level of the file.
        shown = heading.unit.page in layout.display_pages and not (heading.page_top and heading.items)
        if i in title or shown:
            continue
        for key in _formats(heading):
            groups.setdefault(key, []).append(i)
    best: tuple[tuple[float, ...], tuple[object, ...], int] | None = None
    for key, members in groups.items():
        distinct, named = items_named([layout.headings[i] for i in members])
        if len(distinct) < 2 or named < MOSTLY * len(members):
            continue
        # The grouping that names the most items wins; then the one whose headings are most purely
        # distinct item titles at page tops; then the finest.
        tops = sum(1 for i in members if layout.headings[i].page_top) / len(members)
        quality = named / len(members) + len(distinct) / named + 0.5 * tops
        fineness = {"format": 2.0, "top": 1.0, "coarse": 0.0}[str(key[0])]
        score = (float(len(distinct)), round(quality, 3), fineness, *layout.headings[members[0]].rank)
        if best is None or score > best[0]:
            best = (score, key, len(distinct))
    titled = layout.title is not None and ruleset.items_titled(_title_text(layout))
    first = best is not None and _first_of_series(layout, groups[best[1]])
    if first:
        title = set()  # the file's first line is its first item's title (一、 before 二、三、)
    outline = best is not None and _title_outline(layout, groups[best[1]])
    if titled and not first and (best is None or best[2] < BOUND_ITEMS or outline):
        layout.decision = f"单独文件，标题「{_title_text(layout)[:30]}」即所属材料"
        return
    if best is None:
        layout.decision = "单独文件，无目录，标题格式中没有以不同材料名称为主的一级"
        return
    key = best[1]
    # Split where the format's headings name an item (a page-top sub-heading formatted alike does not);
    # pages with little text were left out of the choice, but a separator page titled alike counts.
    layout.splits = sorted(i for i, h in layout.headings.items() if key in _formats(h) and i not in title and h.items)
    if first and layout.title is not None:
        layout.splits = sorted({layout.title[0], *layout.splits})
        layout.title = None
    layout.decision = f"无目录，按同一格式的材料标题拆分（{len(layout.splits)} 处）"
    _fill_recoloured(layout, key, title)
    _fill_scan_gaps(layout, bool(key[-1]))
    _keep_in_order(layout)
    _fill_series_gaps(layout)


def _title_series(layout: Layout) -> tuple[int | None, list[tuple[int, int]]]:
    """The numbering level most of the split titles are numbered at, and (position, serial) of those."""
    numbered = [(i, numbering_level(layout.units[i].text), serial_number(layout.units[i].text)) for i in layout.splits]
    levels = Counter(level for _, level, number in numbered if level is not None and number is not None)
    if not levels:
        return None, []
    level = levels.most_common(1)[0][0]
    return level, [(i, number) for i, lv, number in numbered if lv == level and number is not None]


def _keep_in_order(layout: Layout) -> None:
    """Item titles are numbered in order: where the numbered splits at the most common level run
    二、四、三、四、, the longest rising run (二、三、四) are the titles; the 四、 out of order is a
    sub-heading formatted like them (an introduction's 四、集群基本情况 at a page's top)."""
    _, run = _title_series(layout)
    if not run:
        return
    # longest strictly rising subsequence of serials
    best: list[list[int]] = []
    for k, (i, number) in enumerate(run):
        chains = [best[j] for j in range(k) if run[j][1] < number]
        best.append([*max(chains, key=len, default=[]), i])
    keep = set(max(best, key=len))
    dropped = {i for i, _ in run} - keep
    if dropped:
        layout.splits = [i for i in layout.splits if i not in dropped]
        layout.decision += f"，{len(dropped)} 处编号不接续的标题视为小标题"


def _fill_series_gaps(layout: Layout) -> None:
    """A line numbered in a gap of the titles' series (6. between 5. and 8.), at their numbering level,
    that names an item no title names: that item's title, whatever its format (set under a certificate
    on a page read by OCR). One that goes on from a numbered list of the item before (its 6. after 5.,
    no heading of a higher level between) belongs to that item."""
    level, numbered = _title_series(layout)
    if level is None or len(numbered) < 2:
        return
    covered = {item for i in layout.splits for item in layout.ruleset.items_titled(layout.units[i].text)}
    added: list[int] = []
    for (a, low), (b, high) in zip(numbered, [*numbered[1:], (len(layout.units), None)], strict=True):
        previous: int | None = None  # the serial of the item's last line at the titles' level
        for i in range(a + 1, b):
            text = layout.units[i].text
            number, at = serial_number(text), numbering_level(text)
            if at is not None and at < level:
                previous = None  # a heading above the list's level (三、) closes the list
            if i in layout.toc_units or at != level or number is None:
                continue
            gap = low < number and (high is None or number < high)
            if gap and number != (previous or 0) + 1 and is_title_text(text):
                names = {r.id for r in layout.ruleset.items_titled(text)}
                if len(names) == 1 and not names & covered:
                    added.append(i)
                    covered |= names
                    break
            previous = number
    if added:
        layout.splits = sorted({*layout.splits, *added})
        layout.decision += f"，另有按编号接续的标题 {len(added)} 处"


def _first_of_series(layout: Layout, members: list[int]) -> bool:
    """The file's title carries a serial that the chosen headings continue at its numbering level
    (一、 above 二、三、五、; 附件1 above 附件2…): the first item of a bound file, not the file's title."""
    if layout.title is None:
        return False
    text = _title_text(layout)
    level, number = numbering_level(text), serial_number(text)
    if level is None or number is None:
        return False
    numbers = [
        serial_number(layout.units[i].text) for i in sorted(members) if numbering_level(layout.units[i].text) == level
    ]
    known = [n for n in numbers if n is not None]
    # 一、 then 二、三、五、: the serials go on from the title's (a gap where an item is missing); a run
    # that starts again at 一、 is the title's own outline, whether or not its headings were chosen.
    following = _first_numbered_after(layout, level)
    if following is not None and serial_number(layout.units[following].text) not in (None, number + 1):
        return False
    return len(known) >= 2 and known[0] == number + 1 and all(n > number for n in known)


def _first_numbered_after(layout: Layout, level: int | None) -> int | None:
    """The first unit after the file's title numbered at ``level``."""
    assert layout.title is not None
    for k in range(layout.title[1] + 1, len(layout.units)):
        text = layout.units[k].text
        if k not in layout.toc_units and numbering_level(text) == level and serial_number(text) is not None:
            return k
    return None


def _title_outline(layout: Layout, members: list[int]) -> bool:
    """The headings' serials start at 一、 on the title's own page: they are the titled file's outline
    (an introduction's 一、发展历程 … 七、信息化建设), not items bound after a cover."""
    if layout.title is None:
        return False
    levels = Counter(numbering_level(layout.units[i].text) for i in members)
    level = levels.most_common(1)[0][0]
    # The outline's first heading may not be among the chosen ones (not at a page's top).
    first = _first_numbered_after(layout, level) if level is not None else min(members)
    if first is None:
        return False
    return (
        serial_number(layout.units[first].text) == 1 and layout.units[first].page == layout.units[layout.title[0]].page
    )


def _fill_recoloured(layout: Layout, key: tuple[object, ...], title: set[int]) -> None:
    """An item title set apart by colour or centring alone (a declaration's red title) that names an
    item no chosen title names, at a page's start: an item title too."""
    styled, tier, bold, _colour, _centred, level, ocr = layout.headings[layout.splits[0]].signature
    covered = {item for i in layout.splits for item in layout.headings[i].items}
    # Near a page's start: its first or second unit (a red 公文 header may stand above the title).
    near_top: set[int] = set()
    seen: dict[int | None, int] = {}
    for i, unit in enumerate(layout.units):
        seen[unit.page] = seen.get(unit.page, 0) + 1
        if seen[unit.page] <= 2:
            near_top.add(i)
    for i, heading in sorted(layout.headings.items()):
        s_styled, s_tier, s_bold, _c, _cc, s_level, s_ocr = heading.signature
        alike = (s_styled, s_tier, s_bold, s_level, s_ocr) == (styled, tier, bold, level, ocr)
        fresh = len(heading.items) == 1 and not heading.items & covered
        started = heading.page_top or (heading.unit.page is not None and i in near_top)
        if alike and fresh and started and i not in title and i not in layout.splits:
            layout.splits = sorted([*layout.splits, i])
            covered |= heading.items
            layout.decision += f"，另有颜色或对齐不同的同级标题「{heading.unit.text[:20]}」"


def _fill_scan_gaps(layout: Layout, ocr: bool) -> None:
    """A scanned page bound among text pages (a signed declaration, a stamped form): its first line names
    an item no title found covers. Its title cannot share the text titles' format, so it is looked for
    by what it says, at the top of a page read the other way (OCR among text, or text among scans)."""
    by_index = {layout.units[i].index: i for i in layout.splits}
    covered = {item for i in by_index.values() for item in layout.ruleset.items_titled(layout.units[i].text)}
    seen: set[int] = set()
    added: list[int] = []
    for i, unit in enumerate(layout.units):
        if unit.page is None or unit.page in seen or i in layout.toc_units or LABEL.fullmatch(unit.text):
            continue  # a page's first line past its label (附件6：)
        seen.add(unit.page)
        other = all((b.source == "ocr") != ocr for u in layout.units if u.page == unit.page for b in u.blocks)
        # The title over its lines; else the line alone, or its first line: OCR may run a title that
        # fills the scan's width into the line below it (the addressee 省工业和信息化厅：…).
        whole = "".join(u.text for u in layout.units[i : title_end(layout, i) + 1])
        named = (
            {r.id for r in layout.ruleset.items_titled(t)}
            for t in (whole, unit.text, unit.first.text)
            if is_title_text(t)
        )
        names = next((n for n in named if len(n) == 1), set())
        if other and names and not names & covered:
            added.append(i)
            covered |= names
    if added:
        layout.splits = sorted({*layout.splits, *added})
        layout.decision += f"，另有扫描页标题 {len(added)} 处"


def analyse(doc: Document, ruleset: Ruleset) -> Layout:
    """The document's layout and where its items start (`Layout.splits`), with the reasons."""
    margins, printed = furniture(doc)
    blocks = [b for b in doc.blocks if b.index not in margins]
    paged = doc.pages is not None
    rows = drop_repeated_headers(visual_rows(blocks, paged), margins)
    # The 目录 is found on visual lines, before a paragraph's lines are joined: its entries run to the
    # margin like a paragraph's lines do.
    toc, toc_rows = find_toc(rows, doc, ruleset)
    keep = {id(rows[i]) for i in toc_rows}
    units = paragraphs(rows, {p.number: p.width for p in doc.pages} if doc.pages is not None else None, keep)
    toc_units = {i for i, u in enumerate(units) if id(u) in keep}
    layout = Layout(margins, printed, units, toc, toc_units, False, {}, set(), ruleset)
    body = body_size(units)
    layout.display_pages = display_pages(units, doc, body) if paged else set()
    layout.headings = find_headings(units, layout.toc_units, body, layout.display_pages, ruleset)
    layout.item_toc = bool(layout.toc) and is_item_toc(layout.toc)
    layout.title = _file_title(layout)
    if layout.item_toc:
        if paged and any(e.page is not None for e in layout.toc):
            place_by_page(layout, doc)
        else:
            place_by_title(layout)
        fill_toc_gaps(layout)
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
        titled = start in layout.headings or (entry is not None and same_title(entry.title, first.text, ruleset))
        after = title_end(layout, start) + 1 if titled else start
        body = [b for u in units[after:end] for b in u.blocks]
        if entry is not None and not titled and all(LABEL.fullmatch(b.text) for b in body):
            continue  # a 目录 entry with neither its title nor any content: the file does not hold it
        if entry is not None:
            title = entry.title if not titled or not ruleset.items_titled(first.text) else first.text
            source = "toc"
        else:
            title, source = "", "heading"
            for unit in units[start:after] or [first]:
                title = join(title, unit.text.strip())  # a title wrapped over two lines, whole
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
    for k, split in enumerate(layout.splits):
        page = layout.units[split].page or 1  # its title's page, not a label left on the page before
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
    heading = layout.headings.get(split)
    while start > 0 and start - 1 not in layout.toc_units and layout.units[start - 1].page == layout.units[split].page:
        above = layout.units[start - 1]
        above_heading = layout.headings.get(start - 1)
        # A title line above is set like the title: centred, or a heading formatted alike (not a date
        # or signature closing the item before).
        alike = any(b.centered for b in above.blocks) or (
            heading is not None and above_heading is not None and above_heading.signature == heading.signature
        )
        title_line = alike and is_title_text(above.text) and title_end(layout, start - 1) >= start
        if not (LABEL.fullmatch(above.text) or title_line):
            break
        if not LABEL.fullmatch(above.text) and split - start >= 2:
            break  # a title of at most three lines
        start -= 1
    above = start - 1
    if above >= 0 and above not in layout.toc_units and LABEL.fullmatch(layout.units[above].text):
        page = layout.units[start].page
        if page is not None and layout.units[above].page == page - 1:
            start = above  # 附件3 left at the foot of the page before its title (a page break after it)
    return start


def _whole(doc: Document, layout: Layout) -> Section:
    """The whole file as one section: its title (with the lines above it: a label, a cluster name) is
    not part of the body."""
    units = layout.units
    skip = set(layout.toc_units)
    if layout.title is not None:
        first, last = layout.title
        text, page = _title_text(layout), units[first].page
        # A title over lines not seen as one (a near-empty page gives no margins to see centring by):
        # the next title-like line on its page completes a title that named no item.
        while not layout.ruleset.items_titled(text) and last + 1 < min(len(units), first + 3):
            unit = units[last + 1]
            if unit.page != page or not is_title_text(unit.text) or numbering_level(unit.text) is not None:
                break
            if not layout.ruleset.items_titled(join(text, unit.text)):
                break
            last, text = last + 1, join(text, unit.text)
        skip.update(range(last + 1))
        source = "heading" if any(i in layout.headings for i in range(first, last + 1)) else "first_line"
    else:
        text, source, page = _file_name(doc), "file_name", None
    body = [b for i, u in enumerate(units) if i not in skip for b in u.blocks]
    return Section(doc, text, source, body, role="whole", title_page=page)  # type: ignore[arg-type]


def _file_name(doc: Document) -> str:
    name = doc.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name

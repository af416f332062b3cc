"""Split each document into sections that may each be one Art. 6 item.

A bound file holds every item in order: it is split at the headings its 目录 (table of contents)
lists, or, without a 目录, at the most prominent headings that name an item. Headings less prominent than that level are sub-sections and stay inside their item
(an introduction's "五、公共服务平台" must not cut the introduction in two).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from .model import Block, Document, Section
from .ruleset import Ruleset
from .text import TOC_ENTRY, TOC_HEADING, is_page_number, normalize, numbering_level, strip_numbering

MAX_TITLE_CHARS = 50
_SENTENCE_END = ("。", "；", ";", "，", ",", "：", ":")
_NUMBERING_WEIGHT = {1: 6, 2: 4, 3: 2, 4: 1, 5: 0}


@dataclass
class Layout:
    """What the splitter learned about one document, kept for the report and for debugging."""

    furniture: set[int]  # block indexes of page numbers and running headers/footers
    toc: set[int]  # block indexes of the 目录
    toc_entries: list[str]
    headings: dict[int, float]  # block index → prominence


def _furniture(doc: Document) -> set[int]:
    """Page numbers, and running headers/footers repeated at the top or bottom of most pages."""
    if doc.pages is None:
        return set()
    heights = {p.number: p.height for p in doc.pages}

    def in_margin(block: Block) -> bool:
        # A bare number in the body is a figure (a form's cell on a scan), not a page number.
        if block.bbox is None or not heights.get(block.page or 0):
            return True
        height = heights[block.page or 0]
        return block.bbox[3] < 0.12 * height or block.bbox[1] > 0.88 * height

    skip = {b.index for b in doc.blocks if is_page_number(b.text) and in_margin(b)}
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
    return skip


def _toc(blocks: list[Block]) -> tuple[set[int], list[str]]:
    """The 目录: a 目录 line followed by entries (title … page number, or a Word TOC style)."""
    for pos, block in enumerate(blocks):
        if not TOC_HEADING.match(block.text):
            continue
        members = {block.index}
        entries: list[str] = []
        rest = blocks[pos + 1 :]
        wrapped = ""
        for k, following in enumerate(rest):
            match = TOC_ENTRY.match(following.text)
            toc_style = (following.style or "").lower().startswith(("toc", "目录"))
            if match or toc_style:
                title = match.group("title") if match else following.text
                entries.append(wrapped + title.strip())
                members.add(following.index)
                wrapped = ""
                continue
            # An entry wrapped onto a second line: this line, then one that ends in a page number.
            after = rest[k + 1] if k + 1 < len(rest) else None
            if entries and after is not None and len(following.text) <= MAX_TITLE_CHARS and TOC_ENTRY.match(after.text):
                members.add(following.index)
                wrapped = following.text.strip()
                continue
            break
        if len(entries) >= 2:
            return members, entries
    return set(), []


def _body_size(blocks: list[Block]) -> float | None:
    sizes: Counter[float] = Counter()
    for block in blocks:
        if block.font_size:
            sizes[round(block.font_size * 2) / 2] += len(block.text)
    return sizes.most_common(1)[0][0] if sizes else None


def _is_heading(block: Block, body: float | None) -> bool:
    """Whether a block looks like a heading: styled, larger than the body, or a short bold,
    centred or numbered line that does not end like a sentence."""
    if block.kind == "table":
        return False
    styled = block.heading_level is not None
    if not (styled or _bigger(block, body)):
        # Cheap tests first: most lines are body text and fail them.
        if block.text.rstrip().endswith(_SENTENCE_END):
            return False
        numbered = numbering_level(block.text) is not None
        if not (block.bold or block.centered or numbered):
            return False
        if numbered and not (block.bold or block.centered) and len(normalize(block.text)) > 30:
            return False
    text = normalize(block.text)
    return bool(text) and len(text) <= MAX_TITLE_CHARS * (2 if styled else 1)


def _bigger(block: Block, body: float | None) -> bool:
    return bool(block.font_size and body and block.font_size >= body + 1.5)


def _size_tiers(sizes: list[float]) -> dict[float, int]:
    """Group heading font sizes into tiers: sizes within 12% of a tier's largest are one tier
    (a long title shrunk from 18 pt to 16.5 pt to fit its line is still an item title)."""
    tiers: list[list[float]] = []
    for size in sorted(set(sizes), reverse=True):
        if tiers and size >= tiers[-1][0] * 0.88:
            tiers[-1].append(size)
        else:
            tiers.append([size])
    return {size: len(tiers) - rank for rank, tier in enumerate(tiers) for size in tier}


def _prominence(block: Block, body: float | None, tiers: dict[float, int]) -> float:
    """Coarse prominence: Word heading style first, then font-size tier; only at body size do
    centring and numbering (附件1 > 一、 > （一） > 1.) tell headings apart."""
    if block.heading_level is not None:
        return 100.0 * (10 - block.heading_level)
    if _bigger(block, body):
        return 10.0 * tiers.get(block.font_size or 0.0, 1)
    level = numbering_level(block.text)
    return (
        float(_NUMBERING_WEIGHT.get(level, 0) if level else 0) + (3 if block.centered else 0) + (1 if block.bold else 0)
    )


def analyse(doc: Document) -> Layout:
    furniture = _furniture(doc)
    blocks = [b for b in doc.blocks if b.index not in furniture]
    toc, entries = _toc(blocks)
    body = _body_size(blocks)
    candidates = [b for b in blocks if b.index not in toc and _is_heading(b, body)]
    tiers = _size_tiers([b.font_size for b in candidates if b.font_size and _bigger(b, body)])
    headings = {b.index: _prominence(b, body, tiers) for b in candidates}
    return Layout(furniture, toc, entries, headings)


def _same_title(entry: str, text: str) -> bool:
    """Whether a body line is the heading a 目录 entry points at. Body titles often add the
    cluster's name (`临朐县铝型材加工特色产业集群发展情况简介` for `二、特色产业集群发展情况简介`), and a long
    title may wrap, its first line a prefix of the entry."""
    a, b = normalize(strip_numbering(entry)), normalize(strip_numbering(text))
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 4 and len(shorter) >= len(longer) // 3 and (shorter in longer or a.startswith(b))


def _toc_splits(blocks: list[Block], layout: Layout, ruleset: Ruleset) -> list[int]:
    after_toc = max(layout.toc)
    # Title-length lines after the 目录, each normalised and matched against the items once.
    lines = [
        (b, normalize(b.text), {r.id for r in ruleset.items_titled(b.text)} if b.index in layout.headings else set())
        for b in blocks
        if b.index > after_toc and len(b.text) <= MAX_TITLE_CHARS * 2
    ]
    splits: list[int] = []
    position = 0
    for entry in layout.toc_entries:
        entry_norm = normalize(entry)
        entry_items = {r.id for r in ruleset.items_titled(entry)}
        for offset, (block, norm, items) in enumerate(lines[position:]):
            heading = block.index in layout.headings
            if (entry_items & items) or (heading and _same_title(entry, block.text)) or norm == entry_norm:
                splits.append(block.index)
                position += offset + 1
                break
    return splits


def _fill_toc_gaps(splits: list[int], layout: Layout, doc: Document, ruleset: Ruleset) -> list[int]:
    """A 目录 entry that found no heading, or a 目录 that lost an entry (OCR dropped the line, the
    title was reworded): an item the found titles do not cover takes its first heading that names it, at least as prominent as the
    least prominent title the 目录 found."""
    by_index = {b.index: b for b in doc.blocks}
    covered = {r.id for i in splits for r in ruleset.items_titled(by_index[i].text)}
    floor = min((layout.headings[i] for i in splits if i in layout.headings), default=0.0)
    added: dict[str, int] = {}
    for index, prominence in sorted(layout.headings.items()):
        if index <= max(layout.toc) or prominence < floor:
            continue
        for rule in ruleset.items_titled(by_index[index].text):
            if rule.id not in covered and rule.id not in added:
                added[rule.id] = index
    return sorted(set(splits) | set(added.values()))


def _heading_splits(layout: Layout, doc: Document, ruleset: Ruleset) -> list[int]:
    by_index = {b.index: b for b in doc.blocks}
    titled = {i: p for i, p in layout.headings.items() if ruleset.items_titled(by_index[i].text)}
    if not titled:
        return []
    # Item titles are the most prominent headings that name an item; a less prominent heading
    # that names one ("五、公共服务平台" inside the introduction) is a sub-section.
    level = max(titled.values())
    return sorted(i for i, p in layout.headings.items() if p > level or (p == level and i in titled))


def _first_title(blocks: list[Block], layout: Layout, ruleset: Ruleset) -> tuple[Block | None, str, list[Block]]:
    """A whole file's own title: the first heading near the top that names an item, else its first
    heading near the top, else a short first line. Also returns bare labels above it (`附件2`),
    which belong to the title, not the body."""
    top = blocks[:3]
    named = [b for b in top if b.index in layout.headings and ruleset.items_titled(b.text)]
    headed = [b for b in top if b.index in layout.headings]
    for block in named[:1] or headed[:1]:
        labels = [b for b in top if b.index < block.index and _is_label(b.text)]
        return block, "heading", labels
    first = blocks[0] if blocks else None
    if (
        first is not None
        and len(normalize(first.text)) <= MAX_TITLE_CHARS
        and not first.text.rstrip().endswith(_SENTENCE_END)
        and first.kind != "table"
    ):
        return first, "first_line", []
    return None, "file_name", []


def _is_label(text: str) -> bool:
    """`附件2`, `附件：`, `附表 1`: a label above a title, not a title of its own."""
    return bool(re.fullmatch(r"\s*(附件|附表)\s*[0-9一二三四五六七八九十]*\s*[：:]?\s*", text))


def split_sections(doc: Document, ruleset: Ruleset) -> list[Section]:
    """The document's sections in order; a preamble (cover, 目录) becomes a section of its own."""
    if not doc.blocks:
        return [Section(doc, _file_title(doc), "file_name", [], role="whole")]
    layout = analyse(doc)
    blocks = [b for b in doc.blocks if b.index not in layout.furniture]
    splits: list[int] = []
    source = "heading"
    if layout.toc:
        splits = _toc_splits(blocks, layout, ruleset)
        source = "toc"
    if len(splits) < 2:
        splits = _heading_splits(layout, doc, ruleset)
        source = "heading"
    else:
        splits = _fill_toc_gaps(splits, layout, doc, ruleset)
    if not splits or (len(splits) == 1 and blocks[0].index == splits[0]):
        title_block, title_source, labels = _first_title(blocks, layout, ruleset)
        body = [b for b in blocks if b is not title_block and b not in labels and b.index not in layout.toc]
        title = title_block.text if title_block else _file_title(doc)
        page = title_block.page if title_block else None
        return [Section(doc, title, title_source, body, role="whole", title_page=page)]
    sections: list[Section] = []
    by_index = {b.index: b for b in blocks}
    bounds = [*splits, None]
    preamble = [b for b in blocks if b.index < splits[0]]
    if preamble:
        title_block, title_source, _ = _first_title(preamble, layout, ruleset)
        title = title_block.text if title_block else "封面及目录" if layout.toc else _file_title(doc)
        body = [b for b in preamble if b is not title_block]
        page = title_block.page if title_block else None
        sections.append(Section(doc, title, title_source, body, role="preamble", title_page=page))
    for start, end in itertools.pairwise(bounds):
        assert start is not None
        body = [b for b in blocks if b.index > start and (end is None or b.index < end)]
        head = by_index[start]
        sections.append(Section(doc, head.text, source, body, role="item", title_page=head.page))
    return sections


def _file_title(doc: Document) -> str:
    name = doc.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name

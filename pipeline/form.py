"""Read the application form's labelled figures (CONTRACT.md `fields`), whatever its shape.

Label–value pairs come from table cells where there are cells (a Word table, a PDF's ruled table
read by pdfplumber), else from lines: a label and its value on one line, or, on a scan, an OCR box
and the box to its right on the same line. The ruleset names the labels each field goes by; every
other labelled pair is kept too, for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .identify import Candidate
from .model import Block
from .numbers import parse_area, parse_count, parse_money
from .ruleset import FieldRule, Ruleset
from .text import normalize

MAX_LABEL_CHARS = 24
_BLANK = re.compile(r"^[\s\-－—–/／、.。无]*$")
_REGION_NOISE = re.compile(r"^山东省|[/／、\s]")


@dataclass
class FormField:
    label: str
    text: str  # the value as written
    file: str
    page: int | None
    id: str | None = None  # the contract field it is, if any
    value: Any = None  # normalised: yuan, km², a count, or clean text
    approximate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.id,
            "label": self.label,
            "text": self.text,
            "value": self.value,
            "approximate": self.approximate,
            "location": {"file": self.file, "pages": [self.page, self.page] if self.page else None},
        }


def _pairs_from_rows(rows: list[list[str]]) -> list[tuple[str, str]]:
    """(label, value) from table rows: 2 cells a pair, 4 cells two pairs; merged cells repeat."""
    pairs: list[tuple[str, str]] = []
    for row in rows:
        cells: list[str] = []
        for cell in row:
            text = (cell or "").strip()
            if not cells or text != cells[-1]:  # a merged cell comes back once per column
                cells.append(text)
        while cells and not cells[-1]:
            cells.pop()
        if len(cells) == 1 and re.search(r"[:：]", cells[0]):
            label, _, value = re.split(r"([:：])", cells[0], maxsplit=1)
            pairs.append((label, value))
            continue
        for i in range(0, len(cells) - 1, 2):
            if cells[i] and len(normalize(cells[i])) <= MAX_LABEL_CHARS:
                pairs.append((cells[i], cells[i + 1]))
    return pairs


def _known_label(text: str, rules: tuple[FieldRule, ...]) -> str | None:
    """The longest form label `text` starts with (so `集群名称 临朐县…` splits after 集群名称)."""
    flat = normalize(text)
    best: str | None = None
    for rule in rules:
        for label in rule.labels:
            if flat.startswith(normalize(label)) and (best is None or len(label) > len(best)):
                best = label
    return best


def _split_line(text: str, rules: tuple[FieldRule, ...]) -> tuple[str, str] | None:
    """`集群名称：临朐县…`, `年营业收入（亿元） 412.6`: a label, its unit in brackets, the value."""
    match = re.match(r"^\s*(?P<label>[^:：]{2,24}?)\s*[:：]\s*(?P<value>.*)$", text)
    if match:
        return match.group("label"), match.group("value")
    label = _known_label(text, rules)
    if label is None:
        return None
    # Consume the label's characters (spacing may differ), then a bracketed unit if any.
    rest, wanted = text, normalize(label)
    taken = ""
    while rest and normalize(taken) != wanted:
        taken, rest = taken + rest[0], rest[1:]
    unit = re.match(r"^\s*([（(][^）)]{1,10}[）)])", rest)
    if unit:
        taken, rest = taken + unit.group(1), rest[unit.end() :]
    return taken.strip(), rest.strip()


def _pairs_from_lines(blocks: list[Block], rules: tuple[FieldRule, ...]) -> list[tuple[str, str, int | None]]:
    pairs: list[tuple[str, str, int | None]] = []
    used: set[int] = set()
    for block in blocks:
        if block.index in used or block.kind == "table":
            continue
        split = _split_line(block.text, rules)
        if split is None:
            # A scan: any short box with a box to its right on the same line is a label–value pair.
            right = (
                _right_neighbour(block, blocks)
                if block.bbox and len(normalize(block.text)) <= MAX_LABEL_CHARS
                else None
            )
            if right is None or right.index in used:
                continue
            used.update((block.index, right.index))
            pairs.append((block.text, right.text, block.page))
            continue
        label, value = split
        if not value.strip() and block.bbox is not None:
            # A scan: the value is the box to the right on the same line.
            right = _right_neighbour(block, blocks)
            if right is not None:
                value = right.text
                used.add(right.index)
        pairs.append((label, value, block.page))
    return pairs


def _right_neighbour(block: Block, blocks: list[Block]) -> Block | None:
    assert block.bbox is not None
    _, top, x1, bottom = block.bbox
    middle, height = (top + bottom) / 2, bottom - top
    candidates = [
        b
        for b in blocks
        if b.page == block.page
        and b.bbox is not None
        and b.index != block.index
        and b.bbox[0] >= x1 - 2
        and abs((b.bbox[1] + b.bbox[3]) / 2 - middle) < 0.6 * max(height, b.bbox[3] - b.bbox[1])
    ]
    return min(candidates, key=lambda b: b.bbox[0]) if candidates else None  # type: ignore[index]


def _normalise(rule: FieldRule, label: str, text: str) -> tuple[Any, bool]:
    if _BLANK.match(text):
        return None, False
    parse = {"money": parse_money, "area": parse_area, "count": parse_count}.get(rule.kind)
    if parse is not None:
        quantity = parse(text, label)
        if quantity is None:
            return None, False
        value: Any = round(quantity.value) if rule.kind in ("money", "count") else round(quantity.value, 4)
        return value, quantity.approximate
    clean = " ".join(text.split())
    if rule.kind == "region":
        clean = _REGION_NOISE.sub("", clean)
    return clean or None, False


def read_form(candidates: list[Candidate], ruleset: Ruleset) -> list[FormField]:
    """Every labelled pair of the form's sections, those the ruleset knows named and normalised;
    a field's first occurrence wins."""
    rules = ruleset.form_fields
    found: list[FormField] = []
    for candidate in candidates:
        section = candidate.section
        doc = section.document
        pages = section.pages
        tables = [t for t in doc.tables if pages is None or (t.page and pages[0] <= t.page <= pages[1])]
        tables += [b for b in section.blocks if b.kind == "table" and b.rows]
        pairs = [(label, value, table.page) for table in tables for label, value in _pairs_from_rows(table.rows or [])]
        if not pairs:
            pairs = _pairs_from_lines(section.blocks, rules)
        for label, value, page in pairs:
            found.append(FormField(label=" ".join(label.split()), text=value.strip(), file=doc.path, page=page))
    taken: set[str] = set()
    for field in found:
        for rule in rules:
            if rule.id not in taken and rule.matches_label(field.label):
                field.id = rule.id
                field.value, field.approximate = _normalise(rule, field.label, field.text)
                taken.add(rule.id)
                break
    return found


def form_fields(found: list[FormField], ruleset: Ruleset) -> dict[str, Any]:
    """CONTRACT.md `fields`: every field of the ruleset, null where not found or blank."""
    values = {rule.id: None for rule in ruleset.form_fields}
    for field in found:
        if field.id is not None:
            values[field.id] = field.value
    return values

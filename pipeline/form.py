"""Read the application form's labelled figures (CONTRACT.md `fields`), whatever its shape.

Label–value pairs come from table cells where there are cells (a Word table, a PDF's ruled table
read by pdfplumber, a scanned table's grid found on the page image: pipeline/grid.py through
pipeline/form_grid.py), else from lines: a label and its value on one line, or, on a scan, rows of OCR
boxes (a label's value is the nearest box to its right in the same row; wrapped lines joined). The
ruleset names the labels each field goes by; every other labelled pair is kept too, for the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.model import Block
from core.numbers import parse_area, parse_count, parse_money
from core.text import normalize

from .grid import TextBox, place, rows_without_rulings
from .ruleset import FieldRule, Ruleset

if TYPE_CHECKING:  # identification pulls in the evidence finder; the grid workers import this module
    from .identify import Candidate

MAX_LABEL_CHARS = 24
BOX_PER_POINT = 1.35  # an OCR line's box height over its font size (pipeline/scans.py)
_BLANK = re.compile(r"^[\s\-－—–/／、.。无]*$")
_OCR_DASH = re.compile(r"^\s*(?:[一—\-－–_]{1,3}|[1lI|!\[\]\\/])\s*$")
_FULL_WIDTH_BRACKETS = str.maketrans("()", "（）")
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
    ocr: bool = False  # read from a scan: a value that does not parse may be misread, not miswritten

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.id,
            "label": self.label,
            "text": self.text,
            "value": self.value,
            "approximate": self.approximate,
            "location": {"file": self.file, "pages": [self.page, self.page] if self.page else None},
        }


def _pairs_from_rows(
    rows: list[list[str]], rules: tuple[FieldRule, ...] = (), cells_once: bool = False
) -> list[tuple[str, str]]:
    """(label, value) from table rows: 2 cells a pair, 4 cells two pairs; merged cells repeat (Word) or
    come back empty (pdfplumber), unless `cells_once` (a scanned grid: every cell once, so an empty
    one is a blank value). A known label left alone at the end of a row is a blank field."""
    pairs: list[tuple[str, str]] = []
    for row in rows:
        cells: list[str] = []
        for cell in row:
            text = (cell or "").strip()
            if cells_once or not cells or text != cells[-1]:  # a merged cell comes back once per column
                cells.append(text)
        while cells and not cells[-1] and not (cells_once and len(cells) % 2 == 0):
            cells.pop()
        # A scan's speck or a broken rule at the table's edge makes a sliver of a cell before a label.
        while cells_once and len(cells) >= 2 and not cells[0] and any(rule.matches_label(cells[1]) for rule in rules):
            cells.pop(0)
        if len(cells) == 1 and re.search(r"[:：]", cells[0]):
            label, _, value = re.split(r"([:：])", cells[0], maxsplit=1)
            pairs.append((label, value))
            continue
        for i in range(0, len(cells) - 1, 2):
            if cells[i] and len(normalize(cells[i])) <= MAX_LABEL_CHARS:
                pairs.append((cells[i], cells[i + 1]))
        if len(cells) % 2 == 1 and any(rule.matches_label(cells[-1]) for rule in rules):
            split = _split_line(cells[-1], rules)
            if split is not None and not split[1].strip():
                pairs.append((cells[-1], ""))
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


# What may follow a known label and still be the label: a noun ending (集群内企业 + 数, 企业 + 数量) when
# nothing but a unit, a colon, a space or the figure comes after it, then a unit in brackets (（家）).
_LABEL_ENDING = re.compile(r"^(?:数量|总数|户数|家数|名称|总额|总量|合计|数|量)(?=$|[\s:：（(0-9０-９])")
_LABEL_UNIT = re.compile(r"^\s*([（(][^）)]{1,12}[）)])")
_OPEN_UNIT = re.compile(r"^\s*[（(][^）)0-9０-９]{0,12}$")


def _split_line(text: str, rules: tuple[FieldRule, ...]) -> tuple[str, str] | None:
    """`集群名称：临朐县…`, `年营业收入（亿元） 412.6`, `集群内企业数（家）182`: a label (a longer label
    is never cut after a shorter known one), its unit in brackets, the value."""
    match = re.match(r"^\s*(?P<label>[^:：]{2,24}?)\s*[:：]\s*(?P<value>.*)$", text)
    if match:
        return match.group("label"), match.group("value")
    label = _known_label(text, rules)
    if label is None:
        return None
    gap = re.search(r"\s+", text.strip())
    if gap:
        # A label and its value side by side in a line are apart: a label written longer than the known
        # one (所属市、县（市、区） for 所属市) runs to the gap.
        head, tail = text.strip()[: gap.start()], text.strip()[gap.end() :]
        if normalize(head).startswith(normalize(label)) and len(normalize(head)) <= MAX_LABEL_CHARS:
            return head, tail
    # Consume the label's characters (spacing may differ), then its ending and a bracketed unit if any.
    rest, wanted = text, normalize(label)
    taken = ""
    while rest and normalize(taken) != wanted:
        taken, rest = taken + rest[0], rest[1:]
    ending = _LABEL_ENDING.match(rest)
    if ending:
        taken, rest = taken + ending.group(), rest[ending.end() :]
    unit = _LABEL_UNIT.match(rest)
    if unit:
        taken, rest = taken + unit.group(1), rest[unit.end() :]
    elif _OPEN_UNIT.match(rest):  # `集群区域面积（平方`: the label wraps, its unit runs on below
        taken, rest = taken + rest, ""
    return taken.strip(), rest.strip()


def label_split(rules: tuple[FieldRule, ...]) -> Callable[[str], tuple[str, str] | None]:
    """The form's labels as pipeline/grid.py asks for them: the label and value a text holds, or None."""
    return lambda text: _split_line(text, rules)


def _pairs_from_lines(blocks: list[Block], rules: tuple[FieldRule, ...]) -> list[tuple[str, str, int | None]]:
    """Pairs from the lines of a text layer: a label and its value on one line, or a label alone and
    the line to its right on the same baseline."""
    lines = [b for b in blocks if b.kind != "table" and b.source != "ocr"]
    pairs: list[tuple[str, str, int | None]] = []
    used: set[int] = set()
    for block in lines:
        if block.index in used:
            continue
        split = _split_line(block.text, rules)
        if split is None:
            continue
        label, value = split
        if not value.strip() and block.bbox is not None:
            right = _right_neighbour(block, lines)
            if right is not None and right.index not in used:
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


def ocr_boxes(blocks: list[Block]) -> list[TextBox]:
    """OCR lines as grid boxes: the line's own height comes back from its font size."""
    return [
        TextBox(b.text, b.bbox, b.font_size * BOX_PER_POINT if b.font_size else b.bbox[3] - b.bbox[1])
        for b in blocks
        if b.bbox is not None and b.text.strip()
    ]


def _pairs_from_ocr(blocks: list[Block], rules: tuple[FieldRule, ...]) -> list[tuple[str, str, int | None]]:
    """A scanned page without a table found on its image: rows of OCR boxes (pipeline/grid.py)."""
    pairs: list[tuple[str, str, int | None]] = []
    pages = sorted({b.page for b in blocks}, key=lambda p: p or 0)
    for page in pages:
        boxes = ocr_boxes([b for b in blocks if b.page == page])
        rows = rows_without_rulings(place(boxes), label_split(rules))
        pairs += [(label, value, page) for label, value in _pairs_from_rows(rows, rules, cells_once=True)]
    return pairs


def _inside(block: Block, tables: list[Block]) -> bool:
    """Whether an OCR line lies in one of its page's tables (a borderless table holds the page)."""
    for table in tables:
        if table.page != block.page:
            continue
        if table.bbox is None or block.bbox is None:
            return True
        x, y = (block.bbox[0] + block.bbox[2]) / 2, (block.bbox[1] + block.bbox[3]) / 2
        if table.bbox[0] <= x <= table.bbox[2] and table.bbox[1] <= y <= table.bbox[3]:
            return True
    return False


def is_blank(text: str, ocr: bool = False) -> bool:
    """A cell left empty or holding a dash; on a scan a lone dash often comes back as 一, and the slash
    that marks a field not applicable (／) as 1, l or |: no form's figure is a lone 1."""
    return bool(_BLANK.match(text) or (ocr and _OCR_DASH.match(text)))


_OCR_SPECKS = re.compile(r"[°º˚'`´~^•∙]")
_OCR_SPECK_INSIDE = re.compile(r"(?<=[\u4e00-\u9fff（）()])[.,'`](?=[\u4e00-\u9fff（）()])")


def _normalise(rule: FieldRule, label: str, text: str, ocr: bool = False) -> tuple[Any, bool]:
    if is_blank(text, ocr):
        return None, False
    parse = {"money": parse_money, "area": parse_area, "count": parse_count}.get(rule.kind)
    if parse is not None:
        if ocr:
            text = _OCR_SPECKS.sub("", text)  # a speck of the scan read as ° or ' between figure and unit
        quantity = parse(text, label)
        if quantity is None:
            return None, False
        value: Any = round(quantity.value) if rule.kind in ("money", "count") else round(quantity.value, 4)
        return value, quantity.approximate
    clean = " ".join(text.split())
    if not re.search(r"[\u4e00-\u9fff]", clean) and len(clean) <= 2:
        return None, False  # a name with no Chinese in it is a stroke (`/` read as `1`), not a name
    if ocr:
        clean = clean.rstrip(".。,，、;；:：·")  # a speck after a name read as a full stop
        clean = _OCR_SPECK_INSIDE.sub("", clean)  # or between its characters: 农机装备.（拖拉机）
    if ocr and re.search(r"[\u4e00-\u9fff]", clean):
        clean = clean.translate(_FULL_WIDTH_BRACKETS)  # OCR confuses （ and (; Chinese text has （
    if rule.kind == "region":
        clean = _REGION_NOISE.sub("", clean)
    return clean or None, False


def attested_places(texts: Iterable[str], ruleset: Ruleset) -> frozenset[str]:
    """The ruleset's place names that a dossier's text layer (not OCR) names."""
    pattern = ruleset.place_names
    if pattern is None:
        return frozenset()
    return frozenset(m.group() for text in texts for m in pattern.finditer(text))


def correct_places(text: str, attested: frozenset[str], known: frozenset[str] = frozenset()) -> str:
    """OCR's misreading of a rare place-name character (莒县 read 营县, 茌平区 read 在平区) put right: a
    run of the text one character off a place the dossier names elsewhere, with the same last character
    (县, 区, 市), itself no known place, and no other attested place as close."""

    def off_by_one(run: str, name: str) -> bool:
        return run[-1] == name[-1] and sum(a != b for a, b in zip(run, name, strict=True)) == 1

    for name in sorted(attested, key=len, reverse=True):
        if name in text:
            continue
        n = len(name)
        fits = [
            k for k in range(len(text) - n + 1) if off_by_one(text[k : k + n], name) and text[k : k + n] not in known
        ]
        if len(fits) != 1:
            continue
        run = text[fits[0] : fits[0] + n]
        if any(off_by_one(run, other) for other in attested if other != name and len(other) == n):
            continue
        text = text[: fits[0]] + name + text[fits[0] + n :]
    return text


def read_form(candidates: list[Candidate], ruleset: Ruleset, attested: frozenset[str] = frozenset()) -> list[FormField]:
    """Every labelled pair of the form's sections, those the ruleset knows named and normalised;
    a field's first occurrence wins. Names read by OCR are checked against `attested` places."""
    rules = ruleset.form_fields
    found: list[FormField] = []
    for candidate in candidates:
        section = candidate.section
        doc = section.document
        pages = section.pages
        tables = [t for t in doc.tables if pages is None or (t.page and pages[0] <= t.page <= pages[1])]
        tables += [b for b in section.blocks if b.kind == "table" and b.rows]
        pairs = [
            (label, value, table.page, table.source == "ocr")
            for table in tables
            for label, value in _pairs_from_rows(table.rows or [], rules, cells_once=table.source == "ocr")
        ]
        # Scanned lines outside every table found on their page: rows of OCR boxes.
        scanned = [b for b in section.blocks if b.source == "ocr" and b.kind != "table" and not _inside(b, tables)]
        pairs += [(label, value, page, True) for label, value, page in _pairs_from_ocr(scanned, rules)]
        if not pairs:
            pairs = [(label, value, page, False) for label, value, page in _pairs_from_lines(section.blocks, rules)]
        pairs.sort(key=lambda pair: pair[2] or 0)  # stable: tables first on their page, then lines
        for label, value, page, ocr in pairs:
            label, value = _close_bracket(" ".join(label.split()), value.strip())
            found.append(FormField(label=label, text=value, file=doc.path, page=page, ocr=ocr))
    taken: set[str] = set()
    for field in found:
        for rule in rules:
            if rule.id not in taken and rule.matches_label(field.label):
                field.id = rule.id
                field.value, field.approximate = _normalise(rule, field.label, field.text, field.ocr)
                if field.ocr and isinstance(field.value, str) and attested:
                    field.value = correct_places(field.value, attested, frozenset(ruleset.places))
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


def _close_bracket(label: str, value: str) -> tuple[str, str]:
    """`所在市/县（市、区` | `）临沂市罗庄区`: a label's closing bracket that a skewed scan put past the
    cell's rule belongs to the label."""
    if value[:1] in "）)" and label.count("（") + label.count("(") > label.count("）") + label.count(")"):
        return label + value[0], value[1:].strip()
    return label, value

"""Word's automatic list numbers (多级列表): the 一、 （二） 3. that Word draws before a paragraph but that are
not in its text. Headings numbered this way would otherwise reach the pipeline unnumbered, and the rules
that tell an item's title from an introduction's own 五、品牌建设 read those numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from docx.oxml.ns import qn

_DIGITS = "０１２３４５６７８９"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_STEMS = "甲乙丙丁戊己庚辛壬癸"
_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"))
_ROMAN += ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def chinese_numeral(n: int) -> str:
    """一 … 九十九 as Word's chineseCounting writes them (十一, 二十); larger numbers digit by digit."""
    units = "〇一二三四五六七八九"
    if not 0 < n < 100:
        return "".join(units[int(d)] for d in str(n))
    tens, ones = divmod(n, 10)
    return (units[tens] if tens > 1 else "") + ("十" if tens else "") + (units[ones] if ones else "")


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def _letters(n: int) -> str:
    # Word repeats the letter past Z: AA, BB …
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    """``n`` in a w:numFmt; an unknown format falls back to decimal, as Word does."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting"):
        return chinese_numeral(n)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join("〇一二三四五六七八九"[int(d)] for d in str(n))
    if fmt == "decimalFullWidth" or fmt == "decimalFullWidth2":
        return "".join(_DIGITS[int(d)] for d in str(n))
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= len(_CIRCLED):
        return _CIRCLED[n - 1]
    if fmt in ("ideographTraditional",) and 1 <= n <= len(_STEMS):
        return _STEMS[n - 1]
    if fmt == "upperLetter":
        return _letters(n)
    if fmt == "lowerLetter":
        return _letters(n).lower()
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = ""
    restart: int | None = None  # w:lvlRestart: restarts after this (1-based) level; None = any higher one
    suffix: str = " "  # w:suff: what follows the number (Word's default, a tab, is a space here)


def _val(el, tag: str) -> str | None:  # type: ignore[no-untyped-def]
    child = el.find(qn(tag)) if el is not None else None
    return child.get(qn("w:val")) if child is not None else None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


@dataclass
class Numbering:
    """The numbering definitions of one Word file and the counters Word keeps while it lays the file out."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # numId → level → format
    counters: dict[str, list[int]] = field(default_factory=dict)  # abstractNumId → count per level
    abstract_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, word) -> Numbering:  # type: ignore[no-untyped-def]
        """From a python-docx Document; empty where the file has no numbering part."""
        out = cls()
        try:
            root = word.part.numbering_part.element
        except Exception:  # no numbering part, or one python-docx cannot load: the numbers are lost, not the file
            return out
        abstract: dict[str, dict[int, _Level]] = {}
        for node in root.iterchildren(qn("w:abstractNum")):
            levels = {}
            for lvl in node.iterchildren(qn("w:lvl")):
                restart = _val(lvl, "w:lvlRestart")
                levels[_int(lvl.get(qn("w:ilvl")), 0)] = _Level(
                    start=_int(_val(lvl, "w:start"), 1),
                    fmt=_val(lvl, "w:numFmt") or "decimal",
                    text=_val(lvl, "w:lvlText") or "",
                    restart=_int(restart, 0) if restart is not None else None,
                    suffix="" if _val(lvl, "w:suff") == "nothing" else " ",
                )
            abstract[node.get(qn("w:abstractNumId")) or ""] = levels
        for num in root.iterchildren(qn("w:num")):
            num_id = num.get(qn("w:numId")) or ""
            abstract_id = _val(num, "w:abstractNumId") or ""
            levels = {
                k: _Level(v.start, v.fmt, v.text, v.restart, v.suffix) for k, v in abstract.get(abstract_id, {}).items()
            }
            for override in num.iterchildren(qn("w:lvlOverride")):
                level = levels.setdefault(_int(override.get(qn("w:ilvl")), 0), _Level())
                start = _val(override, "w:startOverride")
                if start is not None:
                    level.start = _int(start, 1)
            out.levels[num_id] = levels
            out.abstract_of[num_id] = abstract_id
        return out

    def label(self, num_id: str | None, ilvl: int) -> str:
        """The number Word draws before the next paragraph of list ``num_id`` at level ``ilvl``, with what
        follows it (and count it)."""
        levels = self.levels.get(num_id or "")
        if not levels or ilvl not in levels:
            return ""
        counts = self.counters.setdefault(self.abstract_of.get(num_id or "", num_id or ""), [0] * 9)
        ilvl = max(0, min(ilvl, 8))
        if counts[ilvl] == 0:
            counts[ilvl] = levels[ilvl].start
        else:
            counts[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            rule = levels.get(deeper)
            if rule is None or rule.restart is None or (rule.restart != 0 and rule.restart <= ilvl + 1):
                counts[deeper] = 0
        level = levels[ilvl]
        if level.fmt in ("bullet", "none") or not level.text:
            return ""
        text = level.text
        for k in range(9):
            if f"%{k + 1}" in text:
                fmt = levels[k].fmt if k in levels else "decimal"
                value = counts[k] or (levels[k].start if k in levels else 1)
                text = text.replace(f"%{k + 1}", format_number(value, fmt))
        return text + level.suffix


def paragraph_numbering(paragraph, styles: list[Any]) -> tuple[str | None, int] | None:  # type: ignore[no-untyped-def]
    """(numId, level) of a numbered paragraph, from its own properties or its styles' (``styles``: its style
    and those it is based on; a heading style linked to a 多级列表); None if it is not numbered (numId 0
    switches a style's numbering off)."""
    sources = [paragraph._p.pPr, *(style.element.pPr for style in styles)]
    num_id: str | None = None
    ilvl: int | None = None
    for ppr in sources:
        numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
        if numpr is None:
            continue
        if num_id is None:
            num_id = _val(numpr, "w:numId")
        if ilvl is None and _val(numpr, "w:ilvl") is not None:
            ilvl = _int(_val(numpr, "w:ilvl"), 0)
    if num_id is None or num_id == "0":
        return None
    return num_id, ilvl or 0

"""Figures as Chinese applicants write them: 41.2亿元, 4,120,000万元, 四十一点二亿元, 5.5万亩, 1.2万家 …

Text is normalised first (NFKC: full-width digits, commas, points and brackets become ASCII; runs of
whitespace become one space), then read with one grammar per kind of figure:

    [约/超过/近 …] [人民币] NUMBER [余/多] [百/千/万/亿 …] [余/多] [UNIT] [以上/左右 …]

NUMBER is arabic (with ``,`` thousands separators in groups of three) or a Chinese numeral
(零〇一二两三…十百千万亿, 点 for the decimal point; also the financial forms 壹贰叁…拾佰仟). Values are
computed in decimal arithmetic and rounded once, so ``412000万元``, ``41.2亿元`` and ``4,120,000万元``
give the same float.

Decisions where the text is ambiguous (each one returns None rather than guess, as CONTRACT.md asks):
- no unit in the value or the label: None for money and area (``100`` could be 元, 万元 or 亿元);
  a count needs no unit.
- a unit in the value wins over the label's; a multiplier in the value (``5.5万``) replaces the label's
  (``（万亩）``) but takes the label's base unit when it has none (``5.5万`` under ``（亩）`` is 55000亩).
- ranges (``100-120亿元``) are None: which end matters depends on the condition (area ≤ 100 wants the
  upper end, revenue ≥ 100亿 the lower), so no single value is right.
- ``100+``, negative figures, positional Chinese digits (``二〇二三``), non-whole counts: None.
- a cell holding several figures: the one outside brackets if exactly one is (``180户（其中规上60户）``);
  otherwise None.
- in running text a unit is required (years, dates, percentages never qualify); money may drop 元 after
  万/亿 (``营业收入400亿，``) but not before a word (``400亿级``, ``1.2万吨``); rates (``300万元/亩``, but not
  ``/年``) and the article 一 (``一家龙头企业``) are skipped; 节约 is not 约.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Literal

__all__ = ["Kind", "Quantity", "find_quantities", "parse_area", "parse_count", "parse_money", "parse_number"]

Kind = Literal["money", "area", "count"]
Unit = Literal["yuan", "km2", "count"]


@dataclass(frozen=True)
class Quantity:
    value: float  # normalised: yuan for money, km² for area, a plain count for counts
    unit: str  # "yuan" | "km2" | "count"
    text: str  # the original text, kept beside the value for the report
    approximate: bool = False  # 约/近/超过/以上/余/多 … : a stated bound, not an exact figure


# --------------------------------------------------------------------------------------------------
# Characters and the grammar
# --------------------------------------------------------------------------------------------------

_CN_DIGIT_VALUE = {
    **dict.fromkeys("零〇", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二两贰貳兩", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
_CN_ZERO = "零〇"
_CN_SMALL = {**dict.fromkeys("十拾", 10), **dict.fromkeys("百佰", 100), **dict.fromkeys("千仟", 1000)}
_CN_BIG_CANON = str.maketrans("萬億", "万亿")
_LEVELS = (("亿", 10**8), ("万", 10**4))
_MULT_VALUE = {**_CN_SMALL, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

_DIGITS = "".join(_CN_DIGIT_VALUE)
_CN_ALL = _DIGITS + "".join(_CN_SMALL) + "万萬亿億"

_ARABIC = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
_CHINESE = (
    rf"[{_DIGITS}十拾][{_CN_ALL}]*(?:[点點][{_DIGITS}]+)?"
    # 百余家 / 千余人 / 万余人: a bare 百/千/万 is a number only before 余/多 (not in 百家争鸣, 千家万户)
    r"|[百佰千仟万萬](?=\s?[余餘多])"
)
# Not inside another number (1.2.3, 12,35), a code (G20, km2; RMB100 is fine) or an ordinal/vague phrase (第三, 几十, 上百).
_NUMBER = (
    rf"(?P<num>(?<![0-9.第])(?<![0-9],)(?<![A-Za-z](?<!RMB)(?<!CNY))(?:{_ARABIC})"
    rf"|(?<![{_CN_ALL}第几幾数數上成点點0-9])(?:{_CHINESE}))"
)
_MULT = r"(?P<mult>[百佰千仟]?[万萬]?[亿億]?)"
# Longest first: the regex takes the first alternative that matches. 节约/集约 are not 约.
_APPROX_PRE = (
    "约合|大约|大約|(?<![节集制契節])[约約]|[将將]近|接近|近|超[过過]|超出|超|逾|突破|不少于|不低于|不下|不足|不到|不超过|不高于|"
    "多于|高于|大于|少于|低于|小于|≥|≤|>|<|≈"
)
_APPROX_POST = "以上|以下|左右|上下|有[余餘]|之多|[开開]外"

# Base units; lookaheads keep out words that merely start with a unit character (元旦, 家具, 6个月,
# 个百分点, 人民币 after a count, 名牌, 位于, 所以).
_BASE = {
    "money": r"元(?![旦素件器宵])(?:\s?人民币)?|人民币|RMB|CNY",
    "area": r"平方公里|平方千米|平方km|km2|平方米|m2|公顷|hm2|ha(?![a-z])|亩",
    "count": r"人次|户|家(?![具电庭])|个(?!百分点|月|工作日)|人(?!民)|名(?!牌)|位(?!于)|项|件|所(?![以在属有])|座",
}
_CURRENCY = r"(?:人民币|RMB|CNY|¥)\s?"


def _grammar(kind: Kind) -> re.Pattern[str]:
    currency = _CURRENCY if kind == "money" else ""
    return re.compile(
        rf"(?P<pre>(?:{_APPROX_PRE})\s?)?(?:{currency})?{_NUMBER}"
        rf"\s?(?P<mid1>[余餘多])?\s?{_MULT}\s?(?P<mid2>[余餘多])?"
        rf"\s?(?P<base>{_BASE[kind]})?(?P<post>\s?(?:{_APPROX_POST}))?",
        re.IGNORECASE,
    )


_PATTERNS: dict[str, re.Pattern[str]] = {k: _grammar(k) for k in ("money", "area", "count")}
_BARE_NUMBER = re.compile(rf"{_NUMBER}\s?{_MULT}")

# Base unit → factor to the normalised unit.
_KM2_PER = {
    "平方公里": Decimal(1),
    "平方千米": Decimal(1),
    "平方km": Decimal(1),
    "km2": Decimal(1),
    "平方米": Decimal("0.000001"),
    "m2": Decimal("0.000001"),
    "公顷": Decimal("0.01"),
    "hm2": Decimal("0.01"),
    "ha": Decimal("0.01"),
    "亩": Decimal(1) / Decimal(1500),  # 1 亩 = 1/15 公顷 = 666.67 m², exactly
}
UNIT_OF: dict[str, Unit] = {"money": "yuan", "area": "km2", "count": "count"}  # what each kind is parsed into

# A neighbouring figure joined by one of these makes a range (100-120亿元, 100亿元至120亿元).
_RANGE_SIGN = r"(?:-|~|〜|—{1,2}|–|―|至)"
_FIGURE_END = f"[0-9{_CN_ALL}元户家个人名位项件所座亩顷米里]"
_RANGE_BEFORE = re.compile(rf"{_FIGURE_END}\s?{_RANGE_SIGN}\s?$")
_RANGE_WINDOW = 6  # a figure's last character, a space, a dash of two characters, a space
_RANGE_AFTER = re.compile(rf"\s?{_RANGE_SIGN}\s?[0-9{_DIGITS}十拾]")

_RATE = re.compile(r"\s?/(?!\s?年)")
_OPEN, _CLOSE = "([【〔［", ")]】〕］"


# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC, whitespace runs to one space; with each output character's index in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isspace():
                if out and out[-1] == " ":
                    continue
                c = " "
            out.append(c)
            where.append(i)
    return "".join(out), where


def _as_text(text: object) -> str | None:
    """The value as text; numbers from a spreadsheet cell are written out in full (no 1e+20)."""
    if isinstance(text, str):
        return text
    if isinstance(text, bool) or not isinstance(text, int | float):
        return None
    if isinstance(text, float) and not math.isfinite(text):
        return None
    return format(Decimal(repr(text)), "f")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


# --------------------------------------------------------------------------------------------------
# Chinese numerals
# --------------------------------------------------------------------------------------------------


def _cn_section(s: str) -> int | None:
    """A number below 10000: 三千零五, 十二, 一百八 (colloquial for 一百八十)."""
    if not s:
        return None
    if s in _CN_ZERO:
        return 0
    total, num, last, zero = 0, None, None, False
    for i, ch in enumerate(s):
        if ch in _CN_ZERO:
            # 一零 / 零零 / a leading 零 are positional digits (二〇二三), not a numeral
            if num is not None or zero or last is None:
                return None
            zero = True
        elif ch in _CN_DIGIT_VALUE:
            if num is not None:
                return None
            num = _CN_DIGIT_VALUE[ch]
        elif ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            if num is None:
                if unit != 10 or i != 0:  # only 十 may stand alone at the start (十二)
                    return None
                num = 1
            if last is not None and unit >= last:
                return None
            total += num * unit
            num, last, zero = None, unit, False
        else:
            return None
    if num is not None:
        # 一百八 = 180, 两千三 = 2300, 十二 = 12; after 零 it is units (一百零八 = 108)
        total += num * last // 10 if last is not None and not zero else num
    return total


def _cn_level(s: str, level: int = 0) -> int | None:
    """An integer with 万 and 亿 sections: 一亿二千万, 十二万亿, 一万二 (= 12000)."""
    if level == len(_LEVELS):
        return _cn_section(s)
    ch, base = _LEVELS[level]
    if ch not in s:
        return _cn_level(s, level + 1)
    left, _, right = s.rpartition(ch)
    if not left or ch in left:
        return None
    high = _cn_level(left, level + 1)
    if high is None:
        return None
    if not right:
        low: int | None = 0
    elif right[0] in _CN_ZERO:
        low = _cn_level(right[1:], level + 1)
    elif len(right) == 1 and right in _CN_DIGIT_VALUE:
        low = _CN_DIGIT_VALUE[right] * base // 10  # 一万二 = 12000, 三亿五 = 3.5亿
    else:
        low = _cn_level(right, level + 1)
    if low is None or low >= base:
        return None
    return high * base + low


def _cn_number(s: str) -> Decimal | None:
    s = s.translate(_CN_BIG_CANON)
    whole, point, frac = s.replace("點", "点").partition("点")
    if whole in ("百", "佰", "千", "仟", "万"):  # 百余家: only reachable before 余/多
        return Decimal(_MULT_VALUE[whole])
    integer = _cn_level(whole)
    if integer is None or (point and not frac):
        return None
    if not point:
        return Decimal(integer)
    return Decimal(f"{integer}.{''.join(str(_CN_DIGIT_VALUE[c]) for c in frac)}")


def _number(s: str) -> Decimal | None:
    if s[0] in "0123456789":
        return Decimal(s.replace(",", ""))
    return _cn_number(s)


def _multiplier(s: str) -> Decimal:
    value = Decimal(1)
    for ch in s:
        value *= _MULT_VALUE[ch]
    return value


# --------------------------------------------------------------------------------------------------
# Reading one match
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    value: Decimal  # the number times the value's own multiplier
    scaled: bool  # the value carries a scale word (41.2亿, 四十一亿, 5.5万)
    factor: Decimal | None  # the value's base unit as a factor to the normalised unit; None: no base
    approximate: bool
    start: int  # span in the normalised text
    end: int


@dataclass(frozen=True)
class _LabelUnit:
    multiplier: Decimal
    factor: Decimal | None  # None: the label gives only a multiplier (（亿）, （万）)


def _factor(kind: Kind, base: str) -> Decimal:
    return _KM2_PER[base.lower()] if kind == "area" else Decimal(1)


def _hit(m: re.Match[str], kind: Kind) -> _Hit | None:
    num = _number(m["num"])
    if num is None:
        return None
    mult = m["mult"]
    scaled = bool(mult) or m["num"][-1] in "万萬亿億"
    text = m.group().rstrip()
    return _Hit(
        value=num * _multiplier(mult),
        scaled=scaled,
        factor=_factor(kind, m["base"]) if m["base"] else None,
        approximate=bool(m["pre"] or m["mid1"] or m["mid2"] or m["post"]),
        start=m.start(),
        end=m.start() + len(text),
    )


def _finish(kind: Kind, value: Decimal, text: str, approximate: bool) -> Quantity | None:
    """Round once, in decimal: money to the fen, counts must be whole."""
    try:
        if kind == "money":
            value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=Context(prec=60))
        elif kind == "count" and value != value.to_integral_value():
            return None  # 180.5户 is a misread, not a count
        result = float(value)
    except (InvalidOperation, OverflowError, ValueError):
        return None
    if not math.isfinite(result) or result < 0:
        return None
    return Quantity(result, UNIT_OF[kind], text, approximate)


def _resolve(hit: _Hit, kind: Kind, label: _LabelUnit | None, text: str) -> Quantity | None:
    """The value's unit wins; otherwise the label's; otherwise only a count stands on its own."""
    if hit.scaled or hit.factor is not None:
        value = hit.value
        factor = hit.factor
        if factor is None:  # 5.5万 under （亩）: the value's multiplier, the label's base unit
            factor = label.factor if label is not None and label.factor is not None else None
            if factor is None and kind != "area":
                factor = Decimal(1)  # 41.2亿 is money in 元; 1.2万 a count
    elif label is not None:
        value = hit.value * label.multiplier
        factor = label.factor if label.factor is not None else (None if kind == "area" else Decimal(1))
    else:
        value = hit.value
        factor = Decimal(1) if kind == "count" else None  # 100 alone: 元? 万元? 亿元? not guessed
    if factor is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        value = value * factor
    return _finish(kind, value, text, hit.approximate)


_LABEL_PATTERNS = {k: re.compile(rf"{_MULT}(?P<base>{_BASE[k]})", re.IGNORECASE) for k in _BASE}
_LABEL_MULT_ONLY = re.compile(r"[百佰千仟]?[万萬]?[亿億]?")
_UNIT_PREFIX = re.compile(r"单位[:：]\s*(.+)")


def _label_unit(label: str, kind: Kind) -> _LabelUnit | None:
    """The unit a form's label gives its value: （亿元）, (万元), 单位：万元, （平方公里）, （户）."""
    if not isinstance(label, str) or not label:
        return None
    norm = "".join(_normalise(label)[0].split())  # labels wrap inside narrow cells: 年营业收入（亿 / 元）
    candidates = re.findall(r"\(([^()]*)\)", norm)
    candidates += _UNIT_PREFIX.findall(norm)
    for candidate in candidates:
        if candidate and _LABEL_MULT_ONLY.fullmatch(candidate):  # （亿）, （万）
            return _LabelUnit(_multiplier(candidate), None)
    for candidate in [*candidates, norm]:
        m = _LABEL_PATTERNS[kind].search(candidate)
        if m:
            return _LabelUnit(_multiplier(m["mult"]), _factor(kind, m["base"]))
    return None


# --------------------------------------------------------------------------------------------------
# Figures in running text
# --------------------------------------------------------------------------------------------------


def _hits(norm: str, kind: Kind) -> list[_Hit]:
    """Every figure of ``kind`` in normalised running text (a unit is required: there is no label)."""
    found: list[_Hit] = []
    for m in _PATTERNS[kind].finditer(norm):
        hit = _hit(m, kind)
        if hit is None:
            continue
        # Without a base unit only money stands, and only after a scale word with no word after it:
        # 营业收入400亿， is money; 400亿级, 1.2万吨 are not.
        bare_ok = kind == "money" and hit.scaled and not (_is_cjk(norm[hit.end : hit.end + 1]) and not m["post"])
        if hit.factor is None and not bare_ok:
            continue
        if _RATE.match(norm, hit.end):
            continue  # 2000元/吨, 300万元/亩: a rate, not an amount (per year is still an amount)
        if kind == "count" and m["num"] in ("一", "壹"):
            continue  # 一个平台 / 一家龙头企业: the article "a", not a figure anyone reports
        before = norm[max(0, hit.start - _RANGE_WINDOW) : hit.start]  # a window: long texts stay linear
        if _RANGE_BEFORE.search(before) or _RANGE_AFTER.match(norm, hit.end):
            continue  # one end of a range (see the module docstring)
        if before.endswith(("-", "−")):
            continue  # a negative figure: nothing Art. 4 measures is negative
        found.append(hit)
    return found


def _quantities(text: str, kind: Kind) -> list[tuple[Quantity, bool]]:
    """Figures with whether each sits inside brackets (a remark rather than the headline value)."""
    norm, where = _normalise(text)
    depth, inside = 0, []
    for ch in norm:
        if ch in _CLOSE:
            depth = max(0, depth - 1)
        inside.append(depth > 0)
        if ch in _OPEN:
            depth += 1
    result: list[tuple[Quantity, bool]] = []
    for hit in _hits(norm, kind):
        original = text[where[hit.start] : where[hit.end - 1] + 1]
        q = _resolve(hit, kind, None, original)
        if q is not None:
            result.append((q, inside[hit.start]))
    return result


def find_quantities(text: str, kind: Literal["money", "area", "count"]) -> list[Quantity]:
    """Every figure of that kind in running text, in order, each with its original text.

    A figure needs its unit here (there is no label): years (2023年), dates and percentages never
    qualify; money may omit 元 after 万/亿 (营业收入400亿) unless a word follows (1.2万吨, 400亿级).
    """
    if kind not in _PATTERNS:
        raise ValueError(f"unknown kind of quantity: {kind!r}")
    if not isinstance(text, str):
        return []
    return [q for q, _ in _quantities(text, kind)]


# --------------------------------------------------------------------------------------------------
# One value (a form's cell)
# --------------------------------------------------------------------------------------------------


def _parse(text: str | float | None, label: str, kind: Kind) -> Quantity | None:
    raw = _as_text(text)
    if raw is None or not raw.strip():
        return None
    shown = raw.strip()
    norm = _normalise(shown)[0].strip()
    m = _PATTERNS[kind].fullmatch(norm)
    if m:
        hit = _hit(m, kind)
        return None if hit is None else _resolve(hit, kind, _label_unit(label, kind), shown)
    # Words around the figure (412.6亿元（2023年）, 2023年营业收入412.6亿元): one figure, or one
    # outside brackets, is the value; several are ambiguous.
    found = _quantities(shown, kind)
    if len(found) > 1:
        found = [f for f in found if not f[1]]
    return found[0][0] if len(found) == 1 else None


def parse_money(text: str | float | None, label: str = "") -> Quantity | None:
    """A sum of money in yuan: ``41.2亿元``, ``412000万元``, ``四十一点二亿元``; ``412.6`` under ``（亿元）``."""
    return _parse(text, label, "money")


def parse_area(text: str | float | None, label: str = "") -> Quantity | None:
    """An area in km²: ``36.5平方公里``, ``3650公顷``, ``5.5万亩``; ``36.5`` under ``（平方公里）``."""
    return _parse(text, label, "area")


def parse_count(text: str | float | None, label: str = "") -> Quantity | None:
    """A count (enterprises, people …): ``180户``, ``1.2万家``, ``一百八十户``; a bare ``182`` too."""
    return _parse(text, label, "count")


def parse_number(text: str | float | None) -> float | None:
    """The bare number: ``41.2``, ``４１．２``, ``4,120,000``, ``四十一点二``, ``一万二千``, ``1.2万``.

    No units, signs or words: ``-5``, ``约100``, ``100元`` are None (use the parse_* functions).
    """
    raw = _as_text(text)
    if raw is None:
        return None
    m = _BARE_NUMBER.fullmatch(_normalise(raw.strip())[0].strip())
    if m is None:
        return None
    num = _number(m["num"])
    if num is None:
        return None
    try:
        result = float(num * _multiplier(m["mult"]))
    except (InvalidOperation, OverflowError):
        return None
    return result if math.isfinite(result) else None

"""Text rules: Word's 字 count (CONTRACT.md), title normalisation, page furniture."""

from __future__ import annotations

import re
import unicodedata

from .numbers import parse_number

# East Asian characters that Word counts one by one: CJK ideographs (all planes), kana, hangul.
_EAST_ASIAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
# Full-width and CJK punctuation, also counted one by one: CJK symbols (、。《》「」【】),
# full-width forms (，！（）：；１２３ＡＢ), and the general punctuation Chinese text uses (“”‘’—…·).
_WIDE_PUNCT = "\u3000-\u303f\uff00-\uffef\u2010-\u206f\u00b7\ufe30-\ufe4f"
_WORD = re.compile(rf"[{_EAST_ASIAN}{_WIDE_PUNCT}]|[^\s{_EAST_ASIAN}{_WIDE_PUNCT}]+")
_NON_SPACE = re.compile(r"\S")


def count_words(text: str) -> int:
    """Word's 字数: each CJK character or full-width/CJK punctuation mark is 1, each unbroken
    run of other non-space characters (a Latin word, `2024`, `3.5%`) is 1."""
    return len(_WORD.findall(text))


def count_chars_no_spaces(text: str) -> int:
    """Word's 字符数（不计空格）: every non-whitespace character."""
    return len(_NON_SPACE.findall(text))


_TITLE_NOISE = re.compile(r"[\s\u3000·.．…_\-—–]+")


def normalize(text: str) -> str:
    """NFKC (full-width ASCII to half-width), no spaces or leader dots: for comparing titles."""
    return _TITLE_NOISE.sub("", unicodedata.normalize("NFKC", text))


# Numbered title prefixes as applicants write them, most prominent first. The level is the
# nesting a prefix usually has in a Chinese document, used only when nothing better is known.
NUMBERING = (
    (re.compile(r"^(附件|附表)\s*[0-9一二三四五六七八九十]+"), 1),
    (re.compile(r"^第[一二三四五六七八九十0-9]+(部分|章|篇)"), 1),
    (re.compile(r"^[一二三四五六七八九十]+\s*[、.．]"), 2),
    (re.compile(r"^[（(][一二三四五六七八九十]+[）)]"), 3),
    (re.compile(r"^[0-9]+\s*[、.．](?![0-9])"), 4),
    (re.compile(r"^[（(][0-9]+[）)]"), 5),
)

_NUMBER_PREFIX = re.compile(
    r"^\s*((附件|附表)\s*[0-9一二三四五六七八九十]+[：:.、\s]*|第[一二三四五六七八九十0-9]+(部分|章|篇)[：:、\s]*"
    r"|[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+\s*[、.．](?![0-9]))\s*"
)


def numbering_level(text: str) -> int | None:
    """The nesting level a numbered title prefix implies (`附件1` 1, `一、` 2, `（一）` 3 …)."""
    stripped = text.strip()
    for pattern, level in NUMBERING:
        if pattern.match(stripped):
            return level
    return None


_TITLE_SERIAL = re.compile(r"^\s*(?:附件|附表|第|[（(])?\s*([0-9]+|[一二三四五六七八九十]+)")


def serial_number(text: str) -> int | None:
    """The number a numbered title carries: `三、` 3, `附件12` 12, `（十一）` 11; None without one."""
    found = _TITLE_SERIAL.match(text) if numbering_level(text) is not None else None
    number = parse_number(found.group(1)) if found else None
    return int(number) if number is not None else None


# A label above an item's title: `附件2`, `附表 1：`.
LABEL = re.compile(r"\s*(附件|附表)\s*[0-9一二三四五六七八九十]*\s*[：:]?\s*")


def strip_numbering(title: str) -> str:
    """`二、特色产业集群发展情况简介` → `特色产业集群发展情况简介`."""
    return _NUMBER_PREFIX.sub("", title, count=1).strip()


# A line that is only a page number: `3`, `- 3 -`, `— 3 —`, `第 3 页`, `第3页 共12页`, `3/12`.
_PAGE_NUMBER = re.compile(
    r"^\s*([-—–]\s*)?\d{1,4}(\s*[-—–])?\s*$|^\s*第\s*\d{1,4}\s*页(\s*[,，/]?\s*共\s*\d{1,4}\s*页)?\s*$"
    r"|^\s*\d{1,4}\s*/\s*\d{1,4}\s*$"
)


def is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.match(line))


def page_number(line: str) -> int | None:
    """The number a page-number line prints (`- 3 -` → 3, `第3页 共12页` → 3), else None."""
    if not _PAGE_NUMBER.match(line):
        return None
    digits = re.search(r"\d{1,4}", line)
    return int(digits.group()) if digits else None


# A table-of-contents entry: a title, then leader dots (or a tab, or just a space) and a page number,
# perhaps `第3页`, `P3` or a range `3-5`. OCR may lose the number, so leaders alone end an entry too.
_TOC_PAGE = r"(?:第\s*|[Pp]\.?\s*)?(?P<page>\d{1,4})(?:\s*页)?(?:\s*[-—–~～至]\s*\d{1,4}\s*页?)?"
_TOC_LEADERS = re.compile(rf"^(?P<title>.*?[^\s.．·…_—\-－])\s*(?:[.．·…_—\-－]{{2,}}|\t)\s*{_TOC_PAGE}\s*$")
_TOC_SPACED = re.compile(rf"^(?P<title>.*?[^\s\d])[\s\u3000]+{_TOC_PAGE}\s*$")
_TOC_BRACKET = re.compile(rf"^(?P<title>.*?[）)])\s*{_TOC_PAGE}\s*$")  # `…（2023—2025年）10`: leaders squeezed out
# `…宣传报道等材料.15`: a title that fills its line leaves one leader dot
_TOC_SQUEEZED = re.compile(rf"^(?P<title>.*?[\u4e00-\u9fff）)])[.．·…]\s*{_TOC_PAGE}\s*$")
_TOC_LEADERS_ONLY = re.compile(r"^(?P<title>.+?)(?:…{2,}|[.．·…_]{3,})\s*$")
TOC_NUMBER_ONLY = re.compile(r"^[\s.．·…_—\-－]*(?P<page>\d{1,4})\s*$")  # `……2`: an entry's number on a line of its own
TOC_HEADING = re.compile(r"^\s*(?:[^\s]{0,8}(?:目\s*录|清\s*单))\s*[：:]?\s*$")
_SERIAL = re.compile(r"^\s*\d{1,2}(?:\s+|[.、．]\s*)(?=\D|\d{1,2}[.、．])")  # a table's serial: `3 3.名牌…`


def toc_entry(line: str) -> tuple[str, int | None, bool] | None:
    """(title, printed page or None, drawn with leaders) when `line` reads as a 目录 entry."""
    text = line.strip()
    patterns = (
        (_TOC_LEADERS, True),
        (_TOC_SPACED, False),
        (_TOC_BRACKET, False),
        (_TOC_SQUEEZED, True),
        (_TOC_LEADERS_ONLY, True),
    )
    for pattern, leaders in patterns:
        match = pattern.match(text)
        if match:
            title = _SERIAL.sub("", match.group("title")).strip()
            if len(re.findall(r"[\u4e00-\u9fff]", title)) < 2 or title.endswith(("。", "；", "，", "：", ":")):
                return None
            if LABEL.fullmatch(title):
                return None  # `附件 1`: a label above a title, not an entry
            page = match.groupdict().get("page")
            return title, int(page) if page else None, leaders
    return None


_CJK_EDGE = re.compile(rf"[{_EAST_ASIAN}{_WIDE_PUNCT}]")


def join_wrapped(text: str) -> str:
    """A cell's or title's wrapped lines as one line: Chinese wraps at any character, so no space goes
    where a line broke between two Chinese characters (`一千七百八十点` / `六亿元`); elsewhere one space."""
    out = ""
    for piece in text.split():
        if out and not (_CJK_EDGE.match(out[-1]) and _CJK_EDGE.match(piece[0])):
            out += " "
        out += piece
    return out

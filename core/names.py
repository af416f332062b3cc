"""Names and text as people see them: nothing in a file name can break a report or fool a terminal.

A name the operating system allows may hold bytes that are not UTF-8 (Python keeps them as lone
surrogates, which no UTF-8 writer accepts), control characters (an escape sequence can retitle or
clear a terminal, a carriage return can print a forged "材料齐全" over a line) and bidirectional
overrides (reverse how a name reads). Such characters are shown as visible escapes: `\\xff`, `\\x1b`,
`\\u202e`. Ordinary Chinese, Latin, spaces and punctuation pass unchanged.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, bidirectional marks and overrides, line and paragraph separators, BOM,
# lone surrogates (undecodable bytes kept by surrogateescape) and the two noncharacters XML forbids.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """TEXT with every unsafe character as a visible escape: safe in JSON, XML, HTML (once escaped
    as usual) and on a terminal, and still telling the clerk which file is meant."""
    return _UNSAFE.sub(_escape, text)


# What XML 1.0 cannot hold at all (Word's document.xml): controls other than tab and line breaks, lone
# surrogates and the noncharacters. Text read from a document keeps its own line breaks and tabs.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """TEXT fit for an XML document: characters XML forbids shown as escapes."""
    return _XML_ILLEGAL.sub(_escape, text)


def terminal_safe(text: str) -> str:
    """TEXT for a terminal: its own line breaks kept, every other unsafe character shown as an escape
    (an escape sequence in a name or a document's text could otherwise retitle or clear the terminal,
    or a carriage return print a forged line over ours)."""
    return "\n".join(shown(line) for line in text.split("\n"))

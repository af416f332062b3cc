"""Plain text files (.txt): UTF-8, GB18030, or UTF-16/32 with a byte-order mark; one block per line."""

from __future__ import annotations

import codecs
from pathlib import Path

from core.limits import Limits, describe
from core.model import Block, Document

from .errors import Unreadable

# Longest mark first: UTF-32 LE's mark begins with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """The text of a file's bytes: by its byte-order mark (Notepad's 'Unicode' is UTF-16 LE with one),
    else UTF-8, else GB18030 (what Chinese Windows writes)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("encoding", "文本文件编码无法识别（不是 UTF-8、GBK 或带字节顺序标记的 UTF-16/32）")


def read_text(path: Path, doc: Document, max_mb: int = Limits().text_file_mb) -> Document:
    with path.open("rb") as handle:
        data = handle.read(max_mb * 2**20 + 1)
    if len(data) > max_mb * 2**20:
        raise Unreadable("too_large", f"文本文件过大，已拒绝读取（{describe('text_file_mb', max_mb)}）")
    lines = [line.strip() for line in decode_text(data).splitlines()]
    doc.blocks = [Block(text=line, kind="paragraph", index=i) for i, line in enumerate(filter(None, lines))]
    return doc

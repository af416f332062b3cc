"""Plain text files (.txt): UTF-8 or GB18030, one block per paragraph."""

from __future__ import annotations

from pathlib import Path

from pipeline.model import Block, Document

from .errors import Unreadable

MAX_TEXT_BYTES = 20 * 1024 * 1024


def read_text(path: Path, doc: Document) -> Document:
    data = path.read_bytes()[: MAX_TEXT_BYTES + 1]
    if len(data) > MAX_TEXT_BYTES:
        raise Unreadable("too_large", "文本文件超过 20 MB，已拒绝读取")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable("encoding", "文本文件编码无法识别（既不是 UTF-8 也不是 GBK）")
    lines = [line.strip() for line in text.splitlines()]
    doc.blocks = [Block(text=line, kind="paragraph", index=i) for i, line in enumerate(filter(None, lines))]
    return doc

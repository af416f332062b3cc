"""One reader per input format, each producing a `pipeline.model.Document`.

`read_file` is the single entry point: it detects the format from the file's bytes (extensions
lie: a `.doc` that is really a PDF, a `.docx` that is an encrypted OLE file), dispatches to the
reader and turns every failure into a Document with `error` set, never an exception.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from pipeline.model import Document

from .errors import Unreadable, Unsupported

Reader = Callable[[Path, Document], Document]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
    (b"BM", "bmp"),
    (b"GIF8", "gif"),
)
# What each unsupported kind is, for the clerk's message.
_KIND_NAMES = {
    "gif": "GIF 动图",
    "xls": "旧版 Excel 表格",
    "ppt": "PowerPoint 演示文稿",
    "pptx": "PowerPoint 演示文稿",
    "ofd": "OFD 版式文件",
    "zip": "压缩包",
}


def detect_format(path: Path) -> str:
    """The file's real kind: pdf, docx, xlsx, doc, wps, rtf, txt, an image kind, or its extension."""
    ext = path.suffix.lower().lstrip(".")
    with path.open("rb") as handle:
        head = handle.read(1024)
    if not head:
        return "empty"
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return ext or "zip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "ppt/presentation.xml" in names:
            return "pptx"
        return ext if ext in ("docx", "xlsx", "ofd") else "zip"
    if head.startswith(_OLE_MAGIC):
        # An OLE container: legacy Office, WPS, or an encrypted OOXML file.
        if ext in ("docx", "xlsx", "pptx"):
            return "ooxml-encrypted"
        return ext if ext in ("doc", "wps", "xls", "ppt", "et", "dps") else "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if ext in ("txt", "md", "csv"):
        return "txt"
    return ext or "unknown"


def _reader(fmt: str) -> Reader | None:
    # Imported lazily: a worker reading only PDFs never loads python-docx, and back.
    if fmt == "pdf":
        from .pdf import read_pdf

        return read_pdf
    if fmt == "docx":
        from .docx import read_docx

        return read_docx
    if fmt in ("doc", "wps", "rtf"):
        from .legacy import read_legacy

        return read_legacy
    if fmt == "txt":
        from .plain import read_text

        return read_text
    if fmt == "xlsx":
        from .xlsx import read_xlsx

        return read_xlsx
    if fmt in ("jpg", "png", "tif", "bmp"):
        from .image import read_image

        return read_image
    return None


def read_file(path: Path, rel: str, sha256: str, size: int) -> Document:
    """Read one dossier file into a Document; failures become `error`, never an exception."""
    started = time.perf_counter()
    doc = Document(path=rel, sha256=sha256, format="unknown", size=size)
    try:
        doc.format = detect_format(path)
        if doc.format == "empty":
            raise Unreadable("empty", "文件为空（0 字节）")
        if doc.format == "ooxml-encrypted":
            raise Unreadable("encrypted", "Office 文件设有打开密码（已加密），无法读取")
        reader = _reader(doc.format)
        if reader is None:
            kind = _KIND_NAMES.get(doc.format, f".{doc.format} 文件")
            raise Unsupported(f"{kind}：本系统暂不能读取此类文件，请人工查看")
        reader(path, doc)
    except Unreadable as exc:
        doc.blocks, doc.error, doc.error_kind = [], exc.reason, exc.kind
    except Unsupported as exc:
        doc.blocks, doc.unsupported, doc.error_kind = [], True, "unsupported"
        doc.error = exc.reason
    except MemoryError:
        doc.blocks, doc.error, doc.error_kind = [], "文件过大，读取时内存不足", "memory"
    except RecursionError:
        doc.blocks, doc.error, doc.error_kind = [], "文件结构嵌套过深（疑似损坏或恶意构造）", "corrupt"
    except Exception as exc:  # a reader's bug on hostile input must not stop the dossier
        doc.blocks, doc.error, doc.error_kind = [], f"文件无法解析（{type(exc).__name__}）", "corrupt"
    doc.seconds = time.perf_counter() - started
    return doc

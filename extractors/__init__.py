"""One reader per input format, each producing a `core.model.Document`.

`read_file` is the single entry point: it detects the format from the file's bytes (extensions
lie: a `.doc` that is really a PDF, a `.docx` that is an encrypted OLE file), dispatches to the
reader and turns every failure into a Document with `error` set, never an exception.
"""

from __future__ import annotations

import contextlib
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.limits import Limits, describe
from core.model import Document

from .errors import Unreadable, Unsupported

Reader = Callable[[Path, Document], Document]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD2_MAGIC = (b"\xdb\xa5", b"\x9b\xa5")
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
    "html": "HTML 网页",
    "mhtml": "MHTML 网页存档",
    "fodt": "OpenDocument 平面 XML 文档",
    "xml": "XML 文件",
    "unknown": "无法识别格式的文件",
}
# Extensions whose files go to LibreOffice; only OLE or RTF bytes may (it follows links in anything else).
_LEGACY_EXTS = ("doc", "wps", "rtf")


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
        except Exception:  # a broken or hostile directory (names zipfile cannot decode, …)
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
    if head.startswith(_WORD2_MAGIC) and ext in ("doc", "wps"):
        return ext  # Word for Windows 1.x/2.0, before OLE: still Word, LibreOffice reads it
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if ext in ("txt", "md", "csv"):
        return "txt"
    if ext in _LEGACY_EXTS:
        return _not_word(head)
    return ext or "unknown"


def _not_word(head: bytes) -> str:
    """What a file named .doc/.wps/.rtf that is neither OLE nor RTF is: html, mhtml, fodt, xml, txt or
    unknown (web pages saved as .doc are common, and LibreOffice would fetch what they link to)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"mime-version:") or b"multipart/related" in text:
        return "mhtml"
    if any(tag in text for tag in (b"<html", b"<!doctype html", b"<head", b"<body", b"<img", b"<iframe")):
        return "html"
    if text.startswith(b"<"):
        return "fodt" if b"<office:document" in text else "xml"
    if not any(byte < 0x20 and byte not in b"\t\n\r\f" for byte in head):
        for encoding in ("utf-8", "gb18030"):
            for cut in range(4):  # the head may end inside a character
                with contextlib.suppress(UnicodeDecodeError):
                    head[: len(head) - cut].decode(encoding)
                    return "txt"
    return "unknown"


def _reader(fmt: str, limits: Limits) -> Reader | None:
    # Imported lazily: a worker reading only PDFs never loads python-docx, and back.
    if fmt == "pdf":
        from .pdf import read_pdf

        return partial(read_pdf, max_pages=limits.pages_per_file)
    if fmt == "docx":
        from .docx import read_docx

        return read_docx
    if fmt in ("doc", "wps", "rtf"):
        from .legacy import read_legacy

        return read_legacy
    if fmt == "txt":
        from .plain import read_text

        return partial(read_text, max_mb=limits.text_file_mb)
    if fmt == "xlsx":
        from .xlsx import read_xlsx

        return read_xlsx
    if fmt in ("jpg", "png", "tif", "bmp"):
        from .image import read_image

        return partial(read_image, max_frames=limits.image_frames)
    return None


def read_file(path: Path, rel: str, sha256: str, size: int, limits: Limits | None = None) -> Document:
    """Read one dossier file into a Document; failures become `error`, never an exception."""
    started = time.perf_counter()
    doc = Document(path=rel, sha256=sha256, format="unknown", size=size)
    limits = limits or Limits.from_env()
    try:
        doc.format = detect_format(path)
        if doc.format == "empty":
            raise Unreadable("empty", "文件为空（0 字节）")
        if doc.format == "ooxml-encrypted":
            raise Unreadable("encrypted", "Office 文件设有打开密码（已加密），无法读取")
        reader = _reader(doc.format, limits)
        if reader is None:
            kind = _KIND_NAMES.get(doc.format, f".{doc.format} 文件")
            ext = path.suffix.lower().lstrip(".")
            if ext in _LEGACY_EXTS:
                word = "WPS" if ext == "wps" else "Word"
                raise Unsupported(f"扩展名为 .{ext}，但内容是{kind}，不是 {word} 文件；请提供真正的 {word} 或 PDF 文件")
            raise Unsupported(f"{kind}：本系统暂不能读取此类文件，请人工查看")
        reader(path, doc)
    except PermissionError:
        doc.blocks, doc.error, doc.error_kind = [], "无法读取（权限不足）", "permission"
    except Unreadable as exc:
        doc.blocks, doc.error, doc.error_kind = [], exc.reason, exc.kind
    except Unsupported as exc:
        doc.blocks, doc.unsupported, doc.error_kind = [], True, "unsupported"
        doc.error = exc.reason
    except MemoryError:
        memory = describe("worker_memory_mb", limits.worker_memory_mb)
        doc.blocks, doc.error, doc.error_kind = [], f"文件过大，读取时内存不足（{memory}）", "memory"
    except RecursionError:
        doc.blocks, doc.error, doc.error_kind = [], "文件结构嵌套过深（疑似损坏或恶意构造）", "corrupt"
    except Exception as exc:  # a reader's bug on hostile input must not stop the dossier
        doc.blocks, doc.error, doc.error_kind = [], f"文件无法解析（{type(exc).__name__}）", "corrupt"
    doc.seconds = time.perf_counter() - started
    return doc

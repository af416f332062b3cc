"""Image files (.jpg, .png, .bmp, multi-page .tif): every page is a scan, read later by OCR."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from pipeline.model import Document, Page

from .errors import Unreadable

DEFAULT_DPI = 200.0  # what phone and office scanners write when the file carries no resolution
MAX_PIXELS = 80_000_000  # ~ A0 at 300 dpi; larger is a decompression bomb, not a scan
MAX_FRAMES = 500


def image_dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    # Some writers store 1 or 72 "dpi" meaning nothing; a scan is never that coarse.
    return value if value >= 100 else DEFAULT_DPI


def open_image(path: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        image = Image.open(path)
        image.load()
    except Image.DecompressionBombError as exc:
        raise Unreadable("too_large", "图片像素过多（疑似恶意构造），已拒绝读取") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Unreadable("corrupt", "图片文件已损坏，无法打开") from exc
    return image


def read_image(path: Path, doc: Document) -> Document:
    image = open_image(path)
    doc.pages = []
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > MAX_FRAMES:
                raise Unreadable("too_large", f"图片超过 {MAX_FRAMES} 页，已停止读取")
            dpi = image_dpi(frame)
            width, height = frame.size
            doc.pages.append(
                Page(
                    number=number,
                    width=width * 72 / dpi,
                    height=height * 72 / dpi,
                    chars=0,
                    needs_ocr=True,
                    ocr_reason="image",
                )
            )
    except (OSError, ValueError, EOFError) as exc:
        if not doc.pages:
            raise Unreadable("corrupt", "图片文件已损坏，无法读取") from exc
    finally:
        image.close()
    return doc


def load_frame(path: Path, number: int) -> tuple[Image.Image, float]:
    """Page `number` (1-based) of an image file as RGB, with its resolution."""
    image = open_image(path)
    image.seek(number - 1)
    dpi = image_dpi(image)
    return image.convert("RGB"), dpi

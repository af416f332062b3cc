"""Image files (.jpg, .png, .bmp, multi-page .tif): every page is a scan, read later by OCR."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from core.limits import Limits, describe
from core.model import Document, LimitHit, Page

from .errors import Unreadable

DEFAULT_DPI = 200.0  # what phone and office scanners write when the file carries no resolution


def image_dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    # Some writers store 1 or 72 "dpi" meaning nothing; a scan is never that coarse.
    return value if value >= 100 else DEFAULT_DPI


def max_pixels() -> int:
    """Pillow refuses (DecompressionBombError) images larger than twice this."""
    return Limits.from_env().image_megapixels * 1_000_000


def open_image(path: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels()
    try:
        image = Image.open(path)
        image.load()
    except Image.DecompressionBombError as exc:
        megapixels = describe("image_megapixels", Image.MAX_IMAGE_PIXELS // 1_000_000)
        raise Unreadable("too_large", f"图片像素过多（疑似恶意构造），已拒绝读取（{megapixels}）") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Unreadable("corrupt", "图片文件已损坏，无法打开") from exc
    return image


def read_image(path: Path, doc: Document, max_frames: int = Limits().image_frames) -> Document:
    image = open_image(path)
    doc.pages = []
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > max_frames:
                doc.limits_hit.append(
                    LimitHit(
                        "image_frames",
                        f"图片超过 {max_frames} 页，其余未读取，请人工核对（{describe('image_frames', max_frames)}）",
                    )
                )
                break
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

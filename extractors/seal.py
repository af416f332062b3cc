"""Look for official seals on pages, in a worker process (see extractors.sandbox)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.model import SealMark

from .ocr import load_page

if TYPE_CHECKING:  # OpenCV and numpy load in the worker that searches, not in the parent that plans
    import numpy as np

SEAL_DPI = 150  # a 4 cm seal is ~240 px: plenty for its shape, and rendering stays cheap
_EMU_PER_INCH = 914400


@dataclass
class SealResult:
    rel: str
    page: int  # 0 for the images embedded in a Word file
    seals: list[SealMark] = field(default_factory=list)
    error: str | None = None


def _marks(rgb: np.ndarray, dpi: float, page: int | None) -> list[SealMark]:
    from pipeline.seals import find_seals, seal_crop

    marks = []
    scale = 72 / dpi
    for seal in find_seals(rgb, dpi):
        buffer = io.BytesIO()
        seal_crop(rgb, seal).save(buffer, format="PNG", optimize=True)
        x0, y0, x1, y1 = seal.bbox
        marks.append(
            SealMark(
                page, (x0 * scale, y0 * scale, x1 * scale, y1 * scale), seal.score, seal.diameter_mm, buffer.getvalue()
            )
        )
    return marks


def _docx_images(path: Path) -> list[tuple[np.ndarray, float]]:
    """Pictures inside a Word file with the resolution they are shown at (from the drawing's
    extent), so a pasted seal image can be measured like a scan."""
    import docx
    import numpy as np
    from PIL import Image

    document = docx.Document(str(path))
    found: list[tuple[np.ndarray, float]] = []
    for shape in document.inline_shapes:
        try:
            blip = shape._inline.graphic.graphicData.pic.blipFill.blip
            part = document.part.related_parts[blip.embed]
            image = Image.open(io.BytesIO(part.blob)).convert("RGB")
            inches = shape.width / _EMU_PER_INCH
        except (AttributeError, KeyError, OSError, ValueError, ZeroDivisionError, zipfile.BadZipFile):
            continue
        if inches > 0:
            found.append((np.asarray(image), image.width / inches))
    # Floating pictures (anchored, in front of text) are how seals are usually pasted.
    for anchor in document.element.body.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}anchor"
    ):
        try:
            extent = anchor.find("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent")
            blip = next(anchor.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}blip"))
            rid = blip.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed")
            part = document.part.related_parts[rid]
            image = Image.open(io.BytesIO(part.blob)).convert("RGB")
            inches = int(extent.get("cx")) / _EMU_PER_INCH
        except (AttributeError, KeyError, OSError, ValueError, StopIteration, TypeError, ZeroDivisionError):
            continue
        if inches > 0:
            found.append((np.asarray(image), image.width / inches))
    return found


@dataclass(frozen=True)
class SealJob:
    path: Path
    rel: str
    format: str
    page: int  # 1-based; 0 searches the images embedded in a Word file

    def run(self) -> SealResult:
        result = SealResult(self.rel, self.page)
        try:
            if self.format == "docx":
                for rgb, dpi in _docx_images(self.path):
                    result.seals.extend(_marks(rgb, dpi, None))
            else:
                rgb, dpi = load_page(self.path, self.format, self.page, SEAL_DPI)  # seals need no finer
                result.seals = _marks(rgb, dpi, self.page)
        except Exception as exc:  # one page that cannot be searched costs that page only
            result.error = f"第 {self.page} 页无法检查公章（{type(exc).__name__}）"
        result.seals.sort(key=lambda s: -s.score)
        return result

    def failed(self, kind: str, reason: str, seconds: float) -> SealResult:
        return SealResult(self.rel, self.page, error=reason)

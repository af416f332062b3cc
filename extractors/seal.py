"""Look for official seals on pages, in a worker process (see extractors.sandbox).

The scale a seal is measured at: a PDF page's own (rendered at SEAL_DPI); an image file's dpi only
when it can be believed — a camera photo (EXIF make or model), a screen-like 72/96 dpi, no dpi at
all, or a dpi that would make the page smaller than a receipt or larger than a poster says nothing,
and the scale is then judged from the image itself (extractors.seal_finder.estimate_px_per_mm); a picture in a
Word file by the size it is shown at. Boxes come back in points of the page as the rest of the
pipeline measures it (for an image file its dpi as extractors.image reads it), or in the image's own
pixels when asked (`dossier seals`).

`seal_report` is `dossier seals`: every page of every file, through the worker pool.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import results
from core.model import SealMark
from core.paths import cache_root

from .ocr import load_page

if TYPE_CHECKING:  # OpenCV and numpy load in the worker that searches, not in the parent that plans
    import numpy as np
    from PIL import Image

    from .sandbox import ExtractionPool

SEAL_DPI = 150  # a 4 cm seal is ~240 px: plenty for its shape, and rendering stays cheap
IMAGE_FORMATS = ("jpg", "png", "tif", "bmp")
_EMU_PER_INCH = 914400
_UNIT_INCHES = {"in": 1.0, "pt": 1 / 72, "pc": 1 / 6, "cm": 1 / 2.54, "mm": 1 / 25.4, "px": 1 / 96}
_NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "v": "urn:schemas-microsoft-com:vml",
}
# What a believable scanner resolution is, and how large a scanned document page can be.
MIN_SCAN_DPI, MAX_SCAN_DPI = 100.0, 1200.0
PAGE_LONG_MM = (60.0, 650.0)


@dataclass
class FoundSeal(SealMark):
    """A SealMark with the seal's outline shape, for `dossier seals`."""

    shape: str = "round"


@dataclass
class SealResult:
    rel: str
    page: int  # 0 for the pictures of a Word file
    seals: list[SealMark] = field(default_factory=list)
    error: str | None = None
    pictures: int = 0  # Word: the pictures in the body, in order (searched or not)
    unreadable: dict[int, str] = field(default_factory=dict)  # Word: picture → why it was not searched


def believable_dpi(image: Image.Image) -> float:
    """The image's dpi if it says something about the scale, else 0 (unknown): camera photos, 72/96
    dpi (screens and phones write those), no dpi, or a page that would come out implausibly small
    or large at that dpi."""
    try:
        exif = image.getexif()
        if exif.get(0x010F) or exif.get(0x0110):  # Make, Model: taken by a camera, not scanned
            return 0.0
    except Exception:  # a broken EXIF block says nothing either way
        pass
    raw = image.info.get("dpi")
    try:
        dpi = float(raw[0]) if raw else 0.0
    except (TypeError, ValueError, IndexError):
        return 0.0
    if not MIN_SCAN_DPI <= dpi <= MAX_SCAN_DPI:
        return 0.0
    long_mm = max(image.size) / dpi * 25.4
    return dpi if PAGE_LONG_MM[0] <= long_mm <= PAGE_LONG_MM[1] else 0.0


def _marks(
    rgb: np.ndarray, scale_dpi: float, unit_dpi: float, page: int | None, picture: int | None = None
) -> list[SealMark]:
    """Seals on one image: found at ``scale_dpi`` (0: judged from the image), boxes in points at
    ``unit_dpi`` (0: the image's own pixels)."""
    from extractors.seal_finder import find_seals, seal_crop

    marks: list[SealMark] = []
    factor = 72 / unit_dpi if unit_dpi > 0 else 1.0
    for seal in find_seals(rgb, scale_dpi):
        buffer = io.BytesIO()
        seal_crop(rgb, seal).save(buffer, format="PNG", optimize=True)
        x0, y0, x1, y1 = (v * factor for v in seal.bbox)
        crop = buffer.getvalue()
        marks.append(FoundSeal(page, (x0, y0, x1, y1), seal.score, seal.diameter_mm, crop, picture, shape=seal.shape))
    return marks


def _length_inches(value: str) -> float:
    """A VML length ("414.75pt", "3.2in", "120px") in inches; 0 when it cannot be read."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-z]*)\s*", value)
    if not match:
        return 0.0
    try:
        number = float(match.group(1))
    except ValueError:
        return 0.0
    return number * _UNIT_INCHES.get(match.group(2) or "px", 0.0)


def _shown_inches(node: Any) -> float:
    """How wide the picture of a blip or VML image-data element is shown, in inches (0: unknown)."""
    tag = node.tag.rsplit("}", 1)[-1]
    if tag == "imagedata":
        shape = node.getparent()
        style = shape.get("style", "") if shape is not None else ""
        for part in style.split(";"):
            key, _, value = part.partition(":")
            if key.strip().lower() == "width":
                return _length_inches(value)
        return 0.0
    parent = node.getparent()
    while parent is not None:
        name = parent.tag.rsplit("}", 1)[-1]
        if name in ("pic", "wsp"):  # the picture's own size (inside a group, the group's may differ)
            ext = parent.find("./*/a:xfrm/a:ext", _NS)
            if ext is not None and ext.get("cx"):
                return int(ext.get("cx")) / _EMU_PER_INCH
        if name in ("inline", "anchor"):
            extent = parent.find("wp:extent", _NS)
            return int(extent.get("cx")) / _EMU_PER_INCH if extent is not None and extent.get("cx") else 0.0
        parent = parent.getparent()
    return 0.0


def _visible(node: Any, image: Image.Image) -> Image.Image:
    """The part of the picture Word shows (a:srcRect crops it, in thousandths of a percent)."""
    rect = node.getparent().find("a:srcRect", _NS) if node.getparent() is not None else None
    if rect is None:
        return image
    try:
        left, top, right, bottom = (int(rect.get(k, "0")) / 100000 for k in ("l", "t", "r", "b"))
    except ValueError:
        return image
    w, h = image.size
    left, top, right, bottom = (max(0.0, v) for v in (left, top, right, bottom))
    box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    return image.crop(box) if box[2] - box[0] >= 8 and box[3] - box[1] >= 8 else image


def docx_pictures(path: Path) -> tuple[int, list[tuple[int, np.ndarray, float]], dict[int, str]]:
    """A Word file's pictures in body order (extractors.docx.pictures_in: every DrawingML blip and
    legacy VML image, inline or floating, in tables too, a fallback copy not counted twice): how
    many there are; those that could be opened as (position, RGB pixels, dpi as shown, 0 when
    unknown); and why the others could not."""
    import docx
    import numpy as np
    from PIL import Image

    from .docx import pictures_in
    from .image import max_pixels

    Image.MAX_IMAGE_PIXELS = max_pixels()
    document = docx.Document(str(path))
    nodes = pictures_in(document.element.body)
    found: list[tuple[int, np.ndarray, float]] = []
    unreadable: dict[int, str] = {}
    for index, node in enumerate(nodes):
        rid = node.get(f"{{{_NS['r']}}}embed") or node.get(f"{{{_NS['r']}}}id")
        if not rid:
            unreadable[index] = "链接的外部图片，未嵌入文件"
            continue
        try:
            part = document.part.related_parts[rid]
            image = Image.open(io.BytesIO(part.blob))
            image.load()
            image = _visible(node, image.convert("RGB"))
        except Exception as exc:  # EMF/WMF, a broken or missing part: that picture only
            unreadable[index] = f"图片无法打开（{type(exc).__name__}）"
            continue
        inches = _shown_inches(node)
        found.append((index, np.asarray(image), image.width / inches if inches > 0 else 0.0))
    return len(nodes), found, unreadable


@dataclass(frozen=True)
class SealJob:
    path: Path
    rel: str
    format: str
    page: int  # 1-based; 0 searches the pictures of a Word file
    pixels: bool = False  # boxes in the image's own pixels (image files, Word pictures) instead of points
    file_sha256: str | None = None  # with `cache`: the search is kept, and a re-run reads it back
    cache: Path | None = None

    def run(self) -> SealResult:
        key = self._key()
        kept = results.load(self.cache, key) if self.cache and key else None
        if kept is not None:
            return _result_from(kept, self.rel)
        result = self._search()
        if self.cache and key and result.error is None:
            results.store(self.cache, key, _result_data(result))
        return result

    def _key(self) -> str | None:
        if not self.file_sha256:
            return None
        what = f"{search_code()}|{SEAL_DPI}|{self.file_sha256}|{self.format}|{self.page}|{self.pixels}"
        return hashlib.sha256(what.encode()).hexdigest()

    def _search(self) -> SealResult:
        result = SealResult(self.rel, self.page)
        try:
            if self.format == "docx":
                result.pictures, pictures, result.unreadable = docx_pictures(self.path)
                for index, rgb, dpi in pictures:
                    # a picture shown at no known size is measured like a photo; boxes are then its pixels
                    unit = 0.0 if self.pixels or dpi <= 0 else dpi
                    result.seals.extend(_marks(rgb, dpi, unit, None, index))
            elif self.format in IMAGE_FORMATS:
                import numpy as np

                from .image import image_dpi, open_image

                image = open_image(self.path)
                image.seek(self.page - 1)
                scale = believable_dpi(image)
                unit = 0.0 if self.pixels else image_dpi(image)  # the page size the pipeline uses
                result.seals = _marks(np.asarray(image.convert("RGB")), scale, unit, self.page)
            else:
                rgb, dpi = load_page(self.path, self.format, self.page, SEAL_DPI)  # seals need no finer
                result.seals = _marks(rgb, dpi, dpi, self.page)
        except Exception as exc:  # one page that cannot be searched costs that page only
            what = "Word 文件无法读取，其中的图片" if self.format == "docx" else f"第 {self.page} 页"
            result.error = f"{what}无法检查公章（{type(exc).__name__}）"
        result.seals.sort(key=lambda s: -s.score)
        return result

    def failed(self, kind: str, reason: str, seconds: float) -> SealResult:
        return SealResult(self.rel, self.page, error=reason)


def seal_cache_dir() -> Path:
    """Where seal searches are kept: beside the OCR results (core/paths.py)."""
    return cache_root() / "seals"


@functools.cache
def search_code() -> str:
    """The seal search's own code, hashed: a kept search is stale once the code that made it changes."""
    digest = hashlib.sha256()
    for module in ("seal.py", "seal_finder.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


def _result_data(result: SealResult) -> dict[str, Any]:
    return {
        "page": result.page,
        "pictures": result.pictures,
        "unreadable": {str(k): v for k, v in result.unreadable.items()},
        "seals": [
            {
                "page": m.page,
                "bbox": list(m.bbox),
                "score": m.score,
                "diameter_mm": m.diameter_mm,
                "crop_png": base64.b64encode(m.crop_png).decode("ascii"),
                "picture": m.picture,
                "shape": getattr(m, "shape", "round"),
            }
            for m in result.seals
        ],
    }


def _result_from(data: dict[str, Any], rel: str) -> SealResult:
    seals: list[SealMark] = []
    for m in data["seals"]:
        fields = {
            "page": m["page"],
            "bbox": tuple(m["bbox"]),
            "score": m["score"],
            "diameter_mm": m["diameter_mm"],
            "crop_png": base64.b64decode(m["crop_png"]),
            "picture": m["picture"],
        }
        seals.append(FoundSeal(**fields, shape=m["shape"]))
    unreadable = {int(k): v for k, v in data["unreadable"].items()}
    return SealResult(rel, data["page"], seals, None, data["pictures"], unreadable)


# --------------------------------------------------------------------------------------------------
# dossier seals FILE…
# --------------------------------------------------------------------------------------------------


@dataclass
class SealPlan:
    format: str = "unknown"
    pages: int = 0  # PDF pages, image frames; 0 for a Word file (its pictures are counted when searched)
    error: str | None = None


@dataclass(frozen=True)
class SealPlanJob:
    """What a file is and how many pages it has, read in a worker (a hostile file costs that file)."""

    path: Path

    def run(self) -> SealPlan:
        from . import _KIND_NAMES, detect_format
        from .errors import Unreadable

        plan = SealPlan()
        try:
            plan.format = detect_format(self.path)
            if plan.format == "empty":
                plan.error = "文件为空（0 字节）"
            elif plan.format == "ooxml-encrypted":
                plan.error = "Office 文件设有打开密码（已加密），无法读取"
            elif plan.format == "pdf":
                from .pdf import _open

                pdf = _open(self.path)
                plan.pages = len(pdf)
                pdf.close()
            elif plan.format in IMAGE_FORMATS:
                from core.model import Document

                from .image import read_image

                plan.pages = len(read_image(self.path, Document(str(self.path), "", plan.format)).pages or [])
            elif plan.format in ("doc", "wps", "rtf"):
                plan.error = "旧版 Word/WPS 文件：请另存为 .docx 或 PDF 后再查找公章"
            elif plan.format != "docx":
                kind = _KIND_NAMES.get(plan.format, f".{plan.format} 文件")
                plan.error = f"{kind}中不能查找公章：支持 PDF、图片（JPG/PNG/TIFF/BMP）和 Word（.docx）"
        except Unreadable as exc:
            plan.error = exc.reason
        except Exception as exc:  # a reader's bug on hostile input costs this file only
            plan.error = f"文件无法解析（{type(exc).__name__}）"
        return plan

    def failed(self, kind: str, reason: str, seconds: float) -> SealPlan:
        return SealPlan(error=reason)


def _seal_json(mark: SealMark, pixels: bool) -> dict[str, Any]:
    box = [round(v) for v in mark.bbox] if pixels else [round(v, 1) for v in mark.bbox]
    return {
        "box": box,
        "score": round(mark.score, 3),
        "shape": getattr(mark, "shape", "round"),
        "diameter_mm": mark.diameter_mm,
    }


def seal_report(paths: Sequence[Path], pool: ExtractionPool) -> list[dict[str, Any]]:
    """`dossier seals`: for each file, every page (PDF, image file, TIFF frame) or every picture (Word)
    searched for seals, as JSON-ready dicts. A file that cannot be read gets an "error" (in Chinese),
    never an exception; every file and page is read in a worker within the pool's time limit."""
    plans: list[SealPlan] = pool.run_all([SealPlanJob(path) for path in paths])
    jobs: list[tuple[int, SealJob]] = []
    reports: list[dict[str, Any]] = []
    for n, (path, plan) in enumerate(zip(paths, plans, strict=True)):
        report: dict[str, Any] = {"file": str(path)}
        reports.append(report)
        if plan.error:
            report["error"] = plan.error
            continue
        report.update(format=plan.format, unit="pt" if plan.format == "pdf" else "px", pages=[])
        if plan.format == "docx":
            jobs.append((n, SealJob(path, str(path), "docx", 0, pixels=True)))
        else:
            jobs += [(n, SealJob(path, str(path), plan.format, page, pixels=True)) for page in range(1, plan.pages + 1)]
    results: list[SealResult] = pool.run_all([job for _, job in jobs])
    for (n, job), result in zip(jobs, results, strict=True):
        report = reports[n]
        pixels = job.format != "pdf"
        if job.format == "docx":
            if result.error:
                del report["pages"]
                report["error"] = result.error
                continue
            for index in range(result.pictures):
                entry: dict[str, Any] = {"page": None, "picture": index}
                entry["seals"] = [_seal_json(m, pixels) for m in result.seals if m.picture == index]
                if index in result.unreadable:
                    entry["error"] = result.unreadable[index]
                report["pages"].append(entry)
            continue
        entry = {"page": job.page, "seals": [_seal_json(m, pixels) for m in result.seals]}
        if result.error:
            entry["error"] = result.error
        report["pages"].append(entry)
    return reports

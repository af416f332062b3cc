"""OCR of one page with rapidocr (PP-OCR models shipped inside its wheel; nothing is downloaded).

A page is rendered (PDF) or loaded (image file), hashed, looked up in the on-disk cache, and
otherwise recognised. Orientation: the first pass reads the page as it is, without the per-line
180° classifier (most pages are upright, and skipping it is cheaper); if the text boxes stand
upright (a sideways page) or the text reads poorly (upside down), the page is turned and read
again, and the best reading wins. Boxes come back in PDF points of the upright page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.paths import cache_root

OCR_DPI = 200  # pages without a scan of their own (text drawn as vector outlines, say)
MIN_DPI, MAX_DPI = 100, 300  # a scan's own resolution is used within these bounds
CACHE_VERSION = "8"  # bump when the reading logic changes: old results are then not reused
# A first reading this poor, with boxes lying flat, may be upside down: try 180°.
RETRY_BELOW = 0.75
MIN_LINE_SCORE = 0.5  # lines read worse than this are noise (rapidocr's own default cut-off)


@dataclass(slots=True)
class OcrLine:
    text: str
    box: tuple[float, float, float, float]  # x0, top, x1, bottom in points of the upright page
    score: float
    height: float = 0.0  # the text line's own height in points (a skewed line's box is taller)


@dataclass
class OcrPage:
    rel: str
    page: int
    lines: list[OcrLine] = field(default_factory=list)
    confidence: float | None = None  # mean line score weighted by characters
    rotation: int = 0  # degrees the page was turned to read it
    width: float = 0.0  # points, upright
    height: float = 0.0
    image_sha256: str = ""
    seconds: float = 0.0
    cached: bool = False
    error: str | None = None
    error_kind: str | None = None


def cache_dir() -> Path:
    """Where OCR results are kept: $DOSSIER_CACHE_DIR/ocr, else ~/.cache/dossier-check/ocr."""
    return cache_root() / "ocr"


@functools.cache  # loading the models takes ~1 s: once per process (a worker) and thread count
def engine(threads: int) -> Any:
    """A RapidOCR with `threads` inference threads."""
    # onnxruntime (1.29 and later) reports telemetry to Microsoft and keeps a device id under
    # ~/.cache unless this is set before it loads; the choice is fixed for the process then.
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    from rapidocr import RapidOCR

    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # orientation is handled per page, below
            "Global.text_score": 0.0,  # keep every box: poor ones still show the orientation
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Bound the detector's input: full-resolution A4 costs 3× for no better boxes.
            "Det.limit_type": "max",
            "Det.limit_side_len": 1280,
        }
    )


def engine_id() -> str:
    """What produced a cached result: a different engine or setting must not reuse it."""
    from importlib.metadata import version

    return f"rapidocr-{version('rapidocr')}-det1280-nocls"


def _scan_dpi(page: Any) -> float | None:
    """The resolution of the scan filling the page, if the page is one: rendering it finer adds
    pixels but no detail, and costs OCR time."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        if (right - left) * (top - bottom) >= 0.9 * width * height:
            px_width, px_height = obj.get_px_size()
            shown = right - left
            # An image placed sideways on the page: compare like with like.
            pixels = px_width if (px_width >= px_height) == (shown >= top - bottom) else px_height
            return min(MAX_DPI, max(MIN_DPI, pixels / shown * 72))
    return None


def render_pdf_page(path: Path, number: int, dpi: float, native: bool = False) -> tuple[np.ndarray, float]:
    """Page `number` (1-based) as RGB pixels at `dpi` (or at its scan's own resolution when
    `native`), with the resolution used."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[number - 1]
        if native:
            dpi = _scan_dpi(page) or dpi
        bitmap = page.render(scale=dpi / 72, rev_byteorder=True)  # RGB, not pdfium's BGR
        array = bitmap.to_numpy()
        page.close()
    finally:
        pdf.close()
    return np.ascontiguousarray(array[:, :, :3]), dpi


def load_page(path: Path, fmt: str, number: int, dpi: float, native: bool = False) -> tuple[np.ndarray, float]:
    """The page as RGB pixels and the resolution they are at."""
    if fmt == "pdf":
        return render_pdf_page(path, number, dpi, native)
    from .image import load_frame

    image, image_dpi = load_frame(path, number)
    return np.asarray(image), image_dpi


def _read(ocr: Any, bgr: np.ndarray) -> list[tuple[np.ndarray, str, float]]:
    # The steps named every time: rapidocr keeps the last call's use_det/use_rec as its new default.
    return _boxes(ocr(bgr, use_det=True, use_cls=False, use_rec=True))


def _boxes(result: Any) -> list[tuple[np.ndarray, str, float]]:
    if result is None or result.boxes is None or result.txts is None:
        return []
    return [
        (np.asarray(b, dtype=float), str(t), float(s))
        for b, t, s in zip(result.boxes, result.txts, result.scores, strict=False)
    ]


def _mass(lines: list[tuple[np.ndarray, str, float]]) -> float:
    """How much text was read well: characters weighted by the square of their line's score."""
    return sum(score * score * len(text) for _, text, score in lines)


def _upright_mass(lines: list[tuple[np.ndarray, str, float]]) -> float:
    # rapidocr turns tall crops itself, so a sideways page can read well as it lies; the
    # reading that lies flat is the one whose geometry (headings, order) means something.
    return _mass(lines) * (0.5 if _standing(lines) else 1.0)


def _mean(lines: list[tuple[np.ndarray, str, float]]) -> float | None:
    chars = sum(len(t) for _, t, _ in lines)
    return sum(s * len(t) for _, t, s in lines) / chars if chars else None


def _extent(quad: np.ndarray) -> tuple[float, float]:
    return float(np.ptp(quad[:, 0])), float(np.ptp(quad[:, 1]))


def _standing(lines: list[tuple[np.ndarray, str, float]]) -> bool:
    """Most text boxes taller than wide: the page lies on its side."""
    tall = sum(1 for quad, _, _ in lines if _extent(quad)[1] > 1.5 * _extent(quad)[0])
    return len(lines) >= 3 and tall > len(lines) / 2


def _reads_well(lines: list[tuple[np.ndarray, str, float]]) -> bool:
    """Whether long boxes hold about as many characters as they are long (a box is roughly one
    character per text height). Upside-down text still yields boxes, but read as a few stray
    characters with middling scores."""
    long_boxes = [(quad, text) for quad, text, _ in lines if _extent(quad)[0] >= 4 * max(1.0, _extent(quad)[1])]
    if len(long_boxes) < 2:
        return (_mean(lines) or 0.0) >= RETRY_BELOW
    filled = sum(1 for quad, text in long_boxes if len(text) >= 0.4 * _extent(quad)[0] / max(1.0, _extent(quad)[1]))
    return filled >= len(long_boxes) / 2 and (_mean(lines) or 0.0) >= RETRY_BELOW


def recognise(rgb: np.ndarray, threads: int = 1) -> tuple[list[tuple[np.ndarray, str, float]], int, np.ndarray]:
    """Read the page, turning it when needed; returns the lines, the turn (degrees
    counter-clockwise) and the upright image."""
    ocr = engine(threads)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    best = _read(ocr, bgr)
    turn, upright = 0, bgr
    if best and _reads_well(best) and not _standing(best):
        return _split_stacked([line for line in best if line[2] >= MIN_LINE_SCORE], upright, ocr), turn, upright
    # Sideways or upside down (or just a poor scan): read the other turns, stop at the first that
    # reads well lying flat, else keep the one that read the most text.
    for degrees in [90, 270, 180] if _standing(best) else [180, 90, 270]:
        turned = np.ascontiguousarray(np.rot90(bgr, k=degrees // 90))
        lines = _read(ocr, turned)
        if _upright_mass(lines) > _upright_mass(best):
            best, turn, upright = lines, degrees, turned
        if lines and _reads_well(lines) and not _standing(lines):
            break
    return _split_stacked([line for line in best if line[2] >= MIN_LINE_SCORE], upright, ocr), turn, upright


def _split_stacked(
    lines: list[tuple[np.ndarray, str, float]], bgr: np.ndarray, ocr: Any
) -> list[tuple[np.ndarray, str, float]]:
    """A box about two lines tall holds two lines the detector ran together (a form cell's 71 over 户):
    read as one line it comes back garbled. Cut it at the blank row between the lines and read the
    halves; keep them where both read better than the whole."""
    heights = sorted(_extent(quad)[1] for quad, text, _ in lines if len(text) >= 2)
    if not heights:
        return lines
    line_height = heights[(len(heights) - 1) // 2]
    out: list[tuple[np.ndarray, str, float]] = []
    for quad, text, score in lines:
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        x0, y0 = max(0, x0), max(0, y0)
        halves = None
        if score < 0.95 and y1 - y0 >= 1.7 * line_height and x1 > x0:
            halves = _read_halves(bgr[y0:y1, x0:x1], ocr)
        if halves is None or min(s for _, s, _ in halves) <= score:
            out.append((quad, text, score))
            continue
        for half_text, half_score, (top, bottom) in halves:
            box = np.array([[x0, y0 + top], [x1, y0 + top], [x1, y0 + bottom], [x0, y0 + bottom]], dtype=float)
            out.append((box, half_text, half_score))
    return out


def _read_halves(crop: np.ndarray, ocr: Any) -> list[tuple[str, float, tuple[int, int]]] | None:
    """The crop cut at its emptiest row in the middle third (None without a blank row) and each half read."""
    ink = (crop.mean(axis=2) < 128).sum(axis=1)
    h = len(ink)
    middle = range(h // 3, max(h // 3 + 1, 2 * h // 3))
    cut = min(middle, key=lambda r: ink[r])
    if ink[cut] > 0.02 * crop.shape[1]:
        return None
    out = []
    for top, bottom in ((0, cut), (cut, h)):
        result = ocr(np.ascontiguousarray(crop[top:bottom]), use_det=False, use_cls=False, use_rec=True)
        txts, scores = getattr(result, "txts", None), getattr(result, "scores", None)
        if not txts or not scores or not str(txts[0]).strip():
            return None
        out.append((str(txts[0]), float(scores[0]), (top, bottom)))
    return out


def _cache_key(rgb: np.ndarray, dpi: float) -> str:
    digest = hashlib.sha256()
    digest.update(f"{engine_id()}|{CACHE_VERSION}|{rgb.shape}|{dpi:.1f}|".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _cache_read(key: str, cache: Path) -> dict[str, Any] | None:
    path = cache / key[:2] / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _cache_write(key: str, data: dict[str, Any], cache: Path) -> None:
    path = cache / key[:2] / f"{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)  # atomic: parallel workers never see half a file
    except OSError:
        pass  # a read-only cache costs speed, not correctness


def _to_cache(page: OcrPage) -> dict[str, Any]:
    return {
        "lines": [[line.text, list(line.box), line.score, line.height] for line in page.lines],
        "confidence": page.confidence,
        "rotation": page.rotation,
        "width": page.width,
        "height": page.height,
        "image_sha256": page.image_sha256,
    }


def _from_cache(data: dict[str, Any], rel: str, number: int) -> OcrPage:
    lines = [
        OcrLine(text, (box[0], box[1], box[2], box[3]), score, height) for text, box, score, height in data["lines"]
    ]
    return OcrPage(
        rel=rel,
        page=number,
        lines=lines,
        confidence=data["confidence"],
        rotation=data["rotation"],
        width=data["width"],
        height=data["height"],
        image_sha256=data["image_sha256"],
        cached=True,
    )


def _file_page_key(file_sha256: str, number: int, dpi: float) -> str:
    return hashlib.sha256(f"{engine_id()}|{CACHE_VERSION}|{file_sha256}|{number}|{dpi:.1f}".encode()).hexdigest()


def ocr_page(
    path: Path,
    rel: str,
    fmt: str,
    number: int,
    dpi: float = OCR_DPI,
    threads: int = 1,
    cache: Path | None = None,
    file_sha256: str | None = None,
) -> OcrPage:
    """Recognise one page; results are kept by the page image's hash. When the file's own hash is
    given, a second index (file, page → image hash) lets a re-run skip even the rendering."""
    started = time.perf_counter()
    cache = cache or cache_dir()
    shortcut = _file_page_key(file_sha256, number, dpi) if file_sha256 else None
    known = _cache_read(shortcut, cache) if shortcut else None
    cached = _cache_read(known["image"], cache) if known else None
    if cached is not None:
        page = _from_cache(cached, rel, number)
        page.seconds = time.perf_counter() - started
        return page
    rgb, dpi = load_page(path, fmt, number, dpi, native=True)
    key = _cache_key(rgb, dpi)
    cached = _cache_read(key, cache)
    if shortcut:
        _cache_write(shortcut, {"image": key}, cache)
    if cached is not None:
        page = _from_cache(cached, rel, number)
    else:
        lines, turn, upright = recognise(rgb, threads)
        scale = 72 / dpi
        page = OcrPage(
            rel=rel,
            page=number,
            rotation=turn,
            width=upright.shape[1] * scale,
            height=upright.shape[0] * scale,
            image_sha256=key,
            confidence=_mean(lines),
        )
        for quad, text, score in lines:
            xs, ys = quad[:, 0] * scale, quad[:, 1] * scale
            box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
            # The quad's side edges: the line's own height however skewed the page is.
            height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2 * scale
            page.lines.append(OcrLine(text, box, score, round(float(height), 2)))
        _cache_write(key, _to_cache(page), cache)
    page.seconds = time.perf_counter() - started
    return page


@dataclass(frozen=True)
class OcrJob:
    """OCR one page of one file in a worker process (see extractors.sandbox)."""

    path: Path
    rel: str
    format: str
    page: int
    dpi: float = OCR_DPI
    threads: int = 1
    cache: Path | None = None  # decided by the parent: a worker's environment may be older
    file_sha256: str | None = None

    def run(self) -> OcrPage:
        try:
            return ocr_page(
                self.path, self.rel, self.format, self.page, self.dpi, self.threads, self.cache, self.file_sha256
            )
        except Exception as exc:  # a page that cannot be rendered or read costs that page only
            return self.failed("corrupt", f"第 {self.page} 页无法识别（{type(exc).__name__}）", 0.0)

    def failed(self, kind: str, reason: str, seconds: float) -> OcrPage:
        return OcrPage(rel=self.rel, page=self.page, error=reason, error_kind=kind, seconds=seconds)

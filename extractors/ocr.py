"""OCR of one page with rapidocr (PP-OCR models shipped inside its wheel; nothing is downloaded).

A page is rendered (PDF) or loaded (image file), hashed, looked up in the on-disk cache, and
otherwise recognised. Orientation is decided before any line is read: the detector's boxes stand
upright on a page lying on its side, and the bundled 0/180° line classifier, voting on a few long
lines, tells which way up the text is (milliseconds); only an unclear vote costs a second full read.

A page that only has to be identified may be read in part (`partial`): its top band and every short line
(titles and headings are short, and a line costs in proportion to its length). The lines left unread are
kept in the cache, so reading the page in full later costs only them. Boxes come back in PDF points of
the upright page.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import results
from core.paths import cache_root

OCR_DPI = 200  # pages without a scan of their own (text drawn as vector outlines, say)
MIN_DPI, MAX_DPI = 100, 300  # a scan's own resolution is used within these bounds
CACHE_VERSION = "10"  # bump when the reading logic changes: old results are then not reused
# A reading this poor, when the line classifier could not say which way up the page is, gets one more
# read turned round.
RETRY_BELOW = 0.75
MIN_LINE_SCORE = 0.5  # lines read worse than this are noise (rapidocr's own default cut-off)
VOTERS = 7  # the longest lines the orientation vote asks the line classifier about
VOTE_SCORE = 0.9  # a classifier answer less sure than this does not vote
CLEAR_VOTE = 0.75  # the share of votes one way that decides the orientation without reading
TOP_BAND = 0.2  # a partial reading reads every line starting in this top share of the page …
SHORT_LINE = 0.5  # … every line shorter than this share of the page's longest line …
TALL_LINE = 1.3  # … every line this much taller than the page's usual line (a title's larger type) …
CENTRED = 0.04  # … and every line centred within this share of the page's width (a title set centred)


@dataclass(frozen=True)
class OcrSettings:
    """How the models run, measured on pages of known text (`make bench` shows old against new).

    Against rapidocr's configuration as the pipeline first used it: the memory arena on (rapidocr turns
    it off; 0.93× the time), recognition one line at a time (a batch is padded to its widest line:
    0.85×), a recognition width of at least 96 px instead of 320 (short form cells are not padded to a
    long line), and the detector's input at most 960 px (half the memory; 6 pt print still read; 736
    loses it). Together 0.65× the time at the same character accuracy. One inference thread per worker:
    pages run in parallel across the workers, which uses the cores better than threads within one page."""

    det_limit: int = 960
    rec_batch: int = 1
    rec_min_width: int = 96
    memory_arena: bool = True

    def params(self, threads: int) -> dict[str, Any]:
        return {
            "Global.log_level": "error",
            "Global.use_cls": False,  # orientation is decided per page, below
            "Global.text_score": 0.0,  # keep every box: poor ones still show the orientation
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": self.memory_arena,
            "Det.limit_type": "max",
            "Det.limit_side_len": self.det_limit,
            "Rec.rec_batch_num": self.rec_batch,
            "Rec.rec_img_shape": [3, 48, self.rec_min_width],
        }

    @property
    def id(self) -> str:
        arena = "arena" if self.memory_arena else "noarena"
        return f"det{self.det_limit}-rb{self.rec_batch}-rw{self.rec_min_width}-{arena}"


SETTINGS = OcrSettings()


def inference_threads(workers: int) -> int:
    """onnxruntime threads per reading process: the machine's cores shared among the processes, so one
    each when there are as many processes as cores (pages in parallel beat threads within a page; in a
    batch the pages of several dossiers share the processes, so a page's own dossier says nothing)."""
    from .sandbox import default_workers  # the machine's cores

    return max(1, default_workers() // max(1, workers))


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
    partial: bool = False  # only the top band and the short lines were read (enough to tell what it is)
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

    return RapidOCR(params=SETTINGS.params(threads))


def engine_id() -> str:
    """What produced a cached result: a different engine or setting must not reuse it."""
    from importlib.metadata import version

    return f"rapidocr-{version('rapidocr')}-{SETTINGS.id}-cls-vote"


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


Line = tuple[np.ndarray, str, float]  # the box's four corners in pixels, the text, its score


@dataclass
class _Detected:
    """The detector's boxes on one image (pixels of that image) and the line crops it cut from them."""

    boxes: list[np.ndarray]
    crops: list[np.ndarray]


def _detect(ocr: Any, bgr: np.ndarray) -> _Detected:
    from rapidocr.main import RapidOCRError
    from rapidocr.utils.process_img import map_boxes_to_original

    image, record = ocr.preprocess_img(bgr)
    try:
        crops, found = ocr.detect_and_crop(image, record)
    except RapidOCRError:  # nothing on the page that looks like text
        return _Detected([], [])
    boxes = map_boxes_to_original(np.asarray(found.boxes, dtype=float), record, *bgr.shape[:2])
    return _Detected(list(boxes), list(crops))


def _recognise(ocr: Any, found: _Detected, chosen: list[int]) -> list[Line]:
    """The text of the detected lines numbered `chosen`."""
    if not chosen:
        return []
    read = ocr.recognize_txt([found.crops[i] for i in chosen])
    return [
        (found.boxes[i], str(text), float(score))
        for i, text, score in zip(chosen, read.txts, read.scores, strict=False)
        if str(text).strip()
    ]


def _identifying(boxes: list[np.ndarray], width: int, height: int) -> list[int]:
    """The lines a partial reading reads: those that may name what the page is. Titles and headings are
    short, set larger, or centred, and the first lines of a page say what it continues; the body's long
    lines, which cost the most to read, are left."""
    extents = [_extent(quad) for quad in boxes]
    longest = max((w for w, _ in extents), default=0.0)
    usual = float(np.median([h for _, h in extents])) if extents else 0.0
    return [
        i
        for i, (quad, (w, h)) in enumerate(zip(boxes, extents, strict=True))
        if quad[:, 1].min() < TOP_BAND * height
        or w < SHORT_LINE * longest
        or h >= TALL_LINE * usual
        or (abs(float(quad[:, 0].mean()) - width / 2) < CENTRED * width and w < 0.85 * longest)
    ]


def _mass(lines: list[Line]) -> float:
    """How much text was read well: characters weighted by the square of their line's score."""
    return sum(score * score * len(text) for _, text, score in lines)


def _upright_mass(lines: list[Line]) -> float:
    # rapidocr turns tall crops itself, so a sideways page can read well as it lies; the
    # reading that lies flat is the one whose geometry (headings, order) means something.
    return _mass(lines) * (0.5 if _standing([quad for quad, _, _ in lines]) else 1.0)


def _mean(lines: list[Line]) -> float | None:
    chars = sum(len(t) for _, t, _ in lines)
    return sum(s * len(t) for _, t, s in lines) / chars if chars else None


def _extent(quad: np.ndarray) -> tuple[float, float]:
    return float(np.ptp(quad[:, 0])), float(np.ptp(quad[:, 1]))


def _standing(boxes: list[np.ndarray]) -> bool:
    """Most text boxes taller than wide: the page lies on its side."""
    tall = sum(1 for quad in boxes if _extent(quad)[1] > 1.5 * _extent(quad)[0])
    return len(boxes) >= 3 and tall > len(boxes) / 2


def _reads_well(lines: list[Line]) -> bool:
    """Whether long boxes hold about as many characters as they are long (a box is roughly one
    character per text height). Upside-down text still yields boxes, but read as a few stray
    characters with middling scores."""
    long_boxes = [(quad, text) for quad, text, _ in lines if _extent(quad)[0] >= 4 * max(1.0, _extent(quad)[1])]
    if len(long_boxes) < 2:
        return (_mean(lines) or 0.0) >= RETRY_BELOW
    filled = sum(1 for quad, text in long_boxes if len(text) >= 0.4 * _extent(quad)[0] / max(1.0, _extent(quad)[1]))
    return filled >= len(long_boxes) / 2 and (_mean(lines) or 0.0) >= RETRY_BELOW


def _orientation(ocr: Any, found: _Detected) -> tuple[int, bool]:
    """The turn (degrees counter-clockwise) that sets the page upright, and whether the line classifier
    was clear about it. rapidocr's crops of standing boxes are already turned a quarter counter-clockwise,
    so on a page lying on its side the classifier's 0 means a quarter turn, its 180 three."""
    standing = _standing(found.boxes)
    lines = [i for i, quad in enumerate(found.boxes) if max(_extent(quad)) >= 3 * max(1.0, min(_extent(quad)))]
    voters = sorted(lines, key=lambda i: -max(_extent(found.boxes[i])))[:VOTERS]
    if len(voters) < 3:
        return (90 if standing else 0), False
    _, answers = ocr.cls_and_rotate([found.crops[i] for i in voters])
    votes = [label for label, score in answers.cls_res if score >= VOTE_SCORE]
    flipped = sum(1 for label in votes if "180" in label)
    clear = len(votes) >= 3 and max(flipped, len(votes) - flipped) >= CLEAR_VOTE * len(votes)
    upside_down = flipped > len(votes) / 2
    if standing:
        return (270 if upside_down else 90), clear
    return (180 if upside_down else 0), clear


def _turned(bgr: np.ndarray, degrees: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(bgr, k=degrees // 90)) if degrees else bgr


@dataclass
class Reading:
    """A page read upright: its lines (pixels of the upright image) and, after a partial reading, the
    boxes of the lines left unread."""

    lines: list[Line]
    turn: int  # degrees counter-clockwise the page was turned to stand upright
    upright: np.ndarray  # the upright image (BGR)
    unread: list[np.ndarray] = field(default_factory=list)

    def final_lines(self, ocr: Any) -> list[Line]:
        """The lines worth keeping, stacked lines split."""
        kept = [line for line in self.lines if line[2] >= MIN_LINE_SCORE]
        # In the detector's order (top to bottom), whether read at once or finished after a partial reading.
        kept.sort(key=lambda line: (float(line[0][:, 1].min()), float(line[0][:, 0].min())))
        return _split_stacked(kept, self.upright, ocr)


def read_page(rgb: np.ndarray, threads: int = 1, partial: bool = False) -> Reading:
    """Read the page upright (in part when `partial`).

    The page is detected once as it lies; the box shapes and the line classifier give its orientation.
    A turned page is detected again upright (a detection is a fraction of a read). Only when the
    classifier is unclear and the reading poor is the opposite turn read too (at most one more read)."""
    ocr = engine(threads)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    found = _detect(ocr, bgr)
    if not found.boxes:
        return Reading([], 0, bgr)
    turn, clear = _orientation(ocr, found)
    best: Reading | None = None
    for degrees in [turn] if clear else [turn, (turn + 180) % 360]:
        image = _turned(bgr, degrees)
        seen = found if degrees == 0 else _detect(ocr, image)
        chosen = _identifying(seen.boxes, image.shape[1], image.shape[0]) if partial else list(range(len(seen.boxes)))
        lines = _recognise(ocr, seen, chosen)
        picked = set(chosen)
        unread = [quad for i, quad in enumerate(seen.boxes) if i not in picked]
        if best is None or _upright_mass(lines) > _upright_mass(best.lines):
            best = Reading(lines, degrees, image, unread)
        if _reads_well(lines) and not _standing([quad for quad, _, _ in lines]):
            break
    assert best is not None
    return best


def finish_reading(start: Reading, threads: int = 1) -> Reading:
    """A partial reading completed: its unread lines cut from the upright image as the detector would
    have cut them (from the image scaled for detection) and read."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    ocr = engine(threads)
    image, record = ocr.preprocess_img(start.upright)
    ratio = np.array([record["preprocess"]["ratio_w"], record["preprocess"]["ratio_h"]])
    crops = [get_rotate_crop_image(image, (quad / ratio).astype(np.float32)) for quad in start.unread]
    rest = _recognise(ocr, _Detected(start.unread, crops), list(range(len(crops))))
    return Reading(start.lines + rest, start.turn, start.upright)


def recognise(rgb: np.ndarray, threads: int = 1) -> tuple[list[Line], int, np.ndarray]:
    """Read the whole page upright; returns the lines, the turn (degrees counter-clockwise) and the
    upright image."""
    reading = read_page(rgb, threads)
    return reading.final_lines(engine(threads)), reading.turn, reading.upright


def _split_stacked(
    lines: list[tuple[np.ndarray, str, float]], bgr: np.ndarray, ocr: Any
) -> list[tuple[np.ndarray, str, float]]:
    """A box about two lines tall holds two lines the detector ran together (a form cell's 71 over 户, a
    number under a seal's rim): read as one line it comes back garbled. Cut it at the blank row between
    the lines and read the halves, or, with no blank row, detect the lines within the box again at full
    resolution; keep them where all read better than the whole."""
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
        stacked = score < 0.95 and y1 - y0 >= 1.7 * line_height and x1 > x0
        if stacked:
            halves = _read_halves(bgr[y0:y1, x0:x1], ocr)
        if halves is not None and min(s for _, s, _ in halves) > score:
            for half_text, half_score, (top, bottom) in halves:
                box = np.array([[x0, y0 + top], [x1, y0 + top], [x1, y0 + bottom], [x0, y0 + bottom]], dtype=float)
                out.append((box, half_text, half_score))
            continue
        found = _redetect(bgr, (x0, y0, x1, y1), ocr) if stacked else []
        # (A seal's rim run into a line is noise: one line reading better, and not much shorter, will do.)
        if found and min(s for _, _, s in found) > score and sum(len(t) for _, t, _ in found) >= len(text) / 2:
            out.extend(found)
        else:
            out.append((quad, text, score))
    return out


def _redetect(bgr: np.ndarray, box: tuple[int, int, int, int], ocr: Any) -> list[Line]:
    """The lines inside `box` of the page, detected on that crop alone (at its full resolution, where the
    page's detection was scaled down) and read; boxes in page pixels."""
    x0, y0, x1, y1 = box
    # The box itself, no margin: a margin brings in the neighbours' edges, which the detector then prefers.
    found = _detect(ocr, np.ascontiguousarray(bgr[y0:y1, x0:x1]))
    lines = _recognise(ocr, found, list(range(len(found.boxes))))
    return [(quad + np.array([x0, y0]), text, score) for quad, text, score in lines if score >= MIN_LINE_SCORE]


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


def _to_cache(page: OcrPage, reading: Reading) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lines": [[line.text, list(line.box), line.score, line.height] for line in page.lines],
        "confidence": page.confidence,
        "rotation": page.rotation,
        "width": page.width,
        "height": page.height,
        "image_sha256": page.image_sha256,
        "partial": page.partial,
    }
    if page.partial:  # what finishing the reading needs besides the image
        data["read"] = [[quad.tolist(), text, score] for quad, text, score in reading.lines]
        data["unread"] = [quad.tolist() for quad in reading.unread]
    return data


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
        partial=data.get("partial", False),
        cached=True,
    )


def _resume(data: dict[str, Any], rgb: np.ndarray) -> Reading:
    """The partial reading kept in the cache, on the page image it was made from."""
    upright = _turned(np.ascontiguousarray(rgb[:, :, ::-1]), data["rotation"])
    lines = [(np.asarray(quad, dtype=float), text, score) for quad, text, score in data["read"]]
    return Reading(lines, data["rotation"], upright, [np.asarray(quad, dtype=float) for quad in data["unread"]])


def _file_page_key(file_sha256: str, number: int, dpi: float) -> str:
    return hashlib.sha256(f"{engine_id()}|{CACHE_VERSION}|{file_sha256}|{number}|{dpi:.1f}".encode()).hexdigest()


def _part_key(image_key: str) -> str:
    """Where a partial reading is kept, beside the full one (which serves both)."""
    return hashlib.sha256(f"{image_key}|partial".encode()).hexdigest()


def _cached_reading(image_key: str, partial: bool, cache: Path) -> dict[str, Any] | None:
    full = results.load(cache, image_key)
    return full if full is not None or not partial else results.load(cache, _part_key(image_key))


def ocr_page(
    path: Path,
    rel: str,
    fmt: str,
    number: int,
    dpi: float = OCR_DPI,
    threads: int = 1,
    cache: Path | None = None,
    file_sha256: str | None = None,
    partial: bool = False,
) -> OcrPage:
    """Recognise one page (in part, when `partial`); results are kept by the page image's hash. When the
    file's own hash is given, a second index (file, page → image hash) lets a re-run skip even the
    rendering. A full reading after a partial one reads only the lines the partial one left."""
    started = time.perf_counter()
    cache = cache or cache_dir()
    shortcut = _file_page_key(file_sha256, number, dpi) if file_sha256 else None
    known = results.load(cache, shortcut) if shortcut else None
    cached = _cached_reading(known["image"], partial, cache) if known else None
    if cached is not None:
        page = _from_cache(cached, rel, number)
        page.seconds = time.perf_counter() - started
        return page
    rgb, dpi = load_page(path, fmt, number, dpi, native=True)
    key = _cache_key(rgb, dpi)
    cached = _cached_reading(key, partial, cache)
    if shortcut:
        results.store(cache, shortcut, {"image": key})
    if cached is not None:
        page = _from_cache(cached, rel, number)
        page.seconds = time.perf_counter() - started
        return page
    begun = None if partial else results.load(cache, _part_key(key))
    if begun is not None and "unread" in begun:
        reading = finish_reading(_resume(begun, rgb), threads)
    else:
        reading = read_page(rgb, threads, partial)
    lines = reading.final_lines(engine(threads))
    scale = 72 / dpi
    page = OcrPage(
        rel=rel,
        page=number,
        rotation=reading.turn,
        width=reading.upright.shape[1] * scale,
        height=reading.upright.shape[0] * scale,
        image_sha256=key,
        confidence=_mean(lines),
        partial=bool(reading.unread),
    )
    for quad, text, score in lines:
        xs, ys = quad[:, 0] * scale, quad[:, 1] * scale
        box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        # The quad's side edges: the line's own height however skewed the page is.
        height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2 * scale
        page.lines.append(OcrLine(text, box, score, round(float(height), 2)))
    results.store(cache, _part_key(key) if page.partial else key, _to_cache(page, reading))
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
    partial: bool = False  # read only enough to tell what the page is (extractors.ocr `_identifying`)

    def run(self) -> OcrPage:
        try:
            return ocr_page(
                self.path,
                self.rel,
                self.format,
                self.page,
                self.dpi,
                self.threads,
                self.cache,
                self.file_sha256,
                self.partial,
            )
        except Exception as exc:  # a page that cannot be rendered or read costs that page only
            return self.failed("corrupt", f"第 {self.page} 页无法识别（{type(exc).__name__}）", 0.0)

    def failed(self, kind: str, reason: str, seconds: float) -> OcrPage:
        return OcrPage(rel=self.rel, page=self.page, error=reason, error_kind=kind, seconds=seconds)

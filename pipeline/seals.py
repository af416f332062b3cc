"""Official seal (公章) detection on a rendered or scanned page.

A seal is a red (often faded, pink or orange-red) ring 3.5–4.5 cm across with the unit's name in an
arc and usually a star inside. Detection works on a copy area-downscaled to ~72 dpi:

1. redness = R − max(G, B), lightly blurred, thresholded against the page's own background with
   hysteresis (faint strokes count when they touch clearly red ones); a pixel must also absorb
   G/B much more than R, which real red ink does however faint and a brownish copy does not;
2. connected components after a small closing (gaps from speckled ink and black text crossing the
   ring), and again after a larger dilation (a faded ring broken into arcs);
3. every seal-sized component is measured against the ellipse of its convex hull (or, for a ring
   with an arc missing, the ellipse fitted to the hull where it runs over ink): how round the hull
   is (a rectangle's corners stick out), how much of the rim is red all round (a ring), whether the
   rim is denser than the band inside it (a ring, not a block of red characters), how much ink is
   inside (text and star: neither empty nor a filled disc) and its size in mm;
4. a component that is too large or fails (a seal touching a red table or rule) is tried again with
   long straight red lines removed.

Grey seals (photocopies) have no redness and are never found, on purpose: a copy is not a seal.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

__all__ = ["Seal", "find_seals", "seal_crop"]

WORK_DPI = 72.0  # a 4 cm seal is ~113 px and its ring ~4–5 px: enough to measure, cheap to scan
MIN_MM, MAX_MM = 28.0, 52.0  # hard limits; real seals are 35–45 mm (oval ones up to ~50 × 30)
MIN_ASPECT = 0.5
MIN_SCORE = 0.5
RIM_BINS = 48
# Redness above the background (0..255 scale) a seal's ink must reach somewhere (strong) and
# everywhere (weak). Chroma noise is small on JPEG scans; noisy PNG scans raise the MAD instead.
STRONG_FLOOR, WEAK_FLOOR = 16.0, 4.0


@dataclass
class Seal:
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the image given
    score: float  # 0..1
    diameter_mm: float  # the major axis, for an oval seal


def _rgb(image: np.ndarray | Image.Image) -> np.ndarray:
    """An H×W×3 uint8 RGB array. ndarrays must be RGB (pypdfium2: ``to_numpy`` renders BGR
    unless ``rev_byteorder=True``; ``to_pil()`` is RGB)."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2).astype(np.uint8)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return arr[..., :3]


def _redness_masks(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Red ink as two 0/255 masks with thresholds adapted to the page's background: ``ink``, every
    faintly red pixel, and ``mask``, the parts of ``ink`` that touch a clearly red pixel somewhere."""
    s = small.astype(np.int16)
    red = (s[..., 0] - np.maximum(s[..., 1], s[..., 2])).astype(np.float32)
    # A light blur averages out sensor noise much more than it dims a ring ~4 px wide.
    red = cv2.GaussianBlur(red, (3, 3), 0)
    # Background: paper tint, scanner noise and JPEG chroma noise. Most pixels are background,
    # so the median and MAD describe it even on a page full of text.
    sample = red[::3, ::3]
    med = float(np.median(sample))
    mad = float(np.median(np.abs(sample - med))) * 1.4826
    strong_t = med + max(6.0 * mad, STRONG_FLOOR)
    weak_t = med + max(4.0 * mad, WEAK_FLOOR)
    # Red ink absorbs green and blue far more than red, however faint it is: absorption in G/B
    # (paper − max(G, B)) over absorption in R (paper − R) stays above ~2. A brownish-grey copy of a
    # seal is slightly "red" by channel difference but absorbs all three nearly alike (ratio ~1).
    # Paper level is local, so shaded scans are judged against their own paper: the brightest of
    # neighbouring 8×8-px cell means (means, so that noise does not lift it).
    r = cv2.GaussianBlur(s[..., 0].astype(np.float32), (3, 3), 0)
    h, w = r.shape
    cells = cv2.resize(r, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    paper = cv2.resize(cv2.dilate(cells, np.ones((3, 3), np.uint8)), (w, h), interpolation=cv2.INTER_LINEAR)
    chromatic = red > 0.5 * (paper - r)
    strong = (red > strong_t) & chromatic
    ink = np.where((red > weak_t) & chromatic, 255, 0).astype(np.uint8)
    if not strong.any():
        return np.zeros_like(ink), ink
    n, labels = cv2.connectedComponents(ink, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return np.where(keep[labels], 255, 0).astype(np.uint8), ink


def _disk(size: int) -> np.ndarray:
    size = max(3, size | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _remove_lines(mask: np.ndarray, length: int) -> np.ndarray:
    """The mask without straight horizontal/vertical runs of at least ``length`` px (rules, table
    borders). A seal ring's flattest run is well under the smallest seal diameter."""
    h = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    v = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    # no dilation: the ring's gaps where lines crossed it must stay narrow enough to close again
    return cv2.bitwise_and(mask, cv2.bitwise_not(cv2.bitwise_or(h, v)))


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi`` (either order), linear between."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


@dataclass
class _Candidate:
    bbox: tuple[int, int, int, int]  # in work pixels
    score: float
    diameter_mm: float


def _ellipse_from_moments(filled: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """(cx, cy, a, b, φ) of the ellipse with the same second moments as a filled region."""
    m = cv2.moments(filled, binaryImage=True)
    if m["m00"] < 20:
        return None
    cov = np.array([[m["mu20"], m["mu11"]], [m["mu11"], m["mu02"]]]) / m["m00"]
    evals, evecs = np.linalg.eigh(cov)
    # A uniformly filled ellipse with semi-axis a has variance a²/4 along it.
    b, a = 2.0 * np.sqrt(np.maximum(evals, 1e-6))
    phi = float(np.arctan2(evecs[1, 1], evecs[0, 1]))
    return m["m10"] / m["m00"], m["m01"] / m["m00"], float(a), float(b), phi


def _rho_theta(
    e: tuple[float, float, float, float, float], xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Elliptical radius (1 on the ellipse) and angle of points relative to ellipse ``e``."""
    cx, cy, a, b, phi = e
    dx, dy = xs - cx, ys - cy
    c, s = np.cos(phi), np.sin(phi)
    u, v = (dx * c + dy * s) / a, (-dx * s + dy * c) / b
    return np.hypot(u, v), np.arctan2(v, u)


def _coverage(theta: np.ndarray) -> float:
    """Fraction of angular bins holding at least one point."""
    bins = ((theta + np.pi) / (2 * np.pi) * RIM_BINS).astype(int) % RIM_BINS
    return len(np.unique(bins)) / RIM_BINS


def _features(red: np.ndarray, ink: np.ndarray, comp: np.ndarray, px_per_mm: float) -> dict[str, float] | None:
    """Shape measurements of one component against the ellipse of its hull; None when it is plainly
    not a seal (wrong size or aspect, too little ink).

    ``red`` and ``ink`` are the masks of `_redness_masks`, ``comp`` the closed component, all
    cropped to the same padded box."""
    # The hull of the component's own red pixels: closing may have grown a group beyond its ink.
    pts = cv2.findNonZero(cv2.bitwise_and(red, comp))
    if pts is None or len(pts) < 20:
        return None
    filled = np.zeros_like(comp)
    cv2.fillConvexPoly(filled, cv2.convexHull(pts), 255)
    e = _ellipse_from_moments(filled)
    if e is None:
        return None
    # Roundness: the hull's outline should sit on the ellipse; a rectangle's corners reach ρ≈1.2.
    outline, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    edge = outline[0][:, 0, :].astype(np.float64)
    rho_c, _ = _rho_theta(e, edge[:, 0], edge[:, 1])
    dev = float(np.percentile(np.abs(rho_c - 1.0), 90))
    if dev > 0.05:
        # A faded ring with an arc missing: the hull's chord across the gap spoils the moments. Fit
        # the ellipse to the hull outline where it runs over ink instead, if that goes round enough.
        near_ink = cv2.dilate(ink, _disk(3))[edge[:, 1].astype(int), edge[:, 0].astype(int)] > 0
        on = edge[near_ink]
        if len(on) >= max(20, 0.4 * len(edge)):
            (fx, fy), (fw, fh), fang = cv2.fitEllipse(on.astype(np.float32))
            phi = np.radians(fang) if fw >= fh else np.radians(fang + 90.0)
            e1 = (fx, fy, max(fw, fh) / 2, max(min(fw, fh) / 2, 1e-3), float(phi))
            rho1, theta1 = _rho_theta(e1, on[:, 0], on[:, 1])
            dev1 = float(np.percentile(np.abs(rho1 - 1.0), 90))
            if dev1 < dev and _coverage(theta1) >= 0.6:
                e, dev = e1, dev1
    _, _, a_semi, b_semi, _ = e
    diameter_mm = 2 * a_semi / px_per_mm
    aspect = b_semi / a_semi
    if not (MIN_MM <= diameter_mm <= MAX_MM) or aspect < MIN_ASPECT:
        return None

    # All red inside the hull counts, faint too: the arc text and star are usually components of
    # their own, and on a faded seal they may never reach the clearly-red threshold.
    ys, xs = np.nonzero(cv2.bitwise_and(ink, filled))
    if len(xs) < 20:
        return None
    rho, theta = _rho_theta(e, xs.astype(np.float64), ys.astype(np.float64))
    # Rim: red all the way round near the ellipse (a ring), counted in angular bins so that a few
    # gaps (speckled ink, text crossing) cost little.
    rim = _coverage(theta[(rho > 0.80) & (rho < 1.12)])
    # Inside: arc text and star make some ink, but much less than a filled logo or blob.
    ab = np.pi * a_semi * b_semi
    inner = np.count_nonzero(rho < 0.72) / (ab * 0.72**2)
    star = np.count_nonzero(rho < 0.22) / (ab * 0.22**2)
    # Ring: the outermost band is denser than the band where the arc text sits. A block of big red
    # characters has a round-ish hull too, but its ink is densest inside, not on the rim.
    band_out = np.count_nonzero((rho > 0.86) & (rho < 1.02)) / (ab * (1.02**2 - 0.86**2))
    band_in = np.count_nonzero((rho > 0.60) & (rho < 0.80)) / (ab * (0.80**2 - 0.60**2))
    return {
        "diameter_mm": diameter_mm,
        "aspect": float(aspect),
        "dev": dev,
        "rim": rim,
        "inner": float(inner),
        "star": float(star),
        "ring": float(band_out / (band_in + 0.05)),
    }


def _score(f: dict[str, float]) -> float:
    """0 when any feature rules a seal out, else a weighted mean of how seal-like each one is."""
    f_rim = _ramp(f["rim"], 0.55, 0.9)
    f_round = _ramp(f["dev"], 0.10, 0.05)  # rectangles score 0.12–0.16, seals ≤ 0.06 even faded
    f_ring = _ramp(f["ring"], 1.0, 1.35)  # seals ≥ 1.45, blocks of red text ≤ 0.8
    f_size = min(_ramp(f["diameter_mm"], MIN_MM, 33.0), _ramp(f["diameter_mm"], MAX_MM, 48.0))
    f_inner = min(_ramp(f["inner"], 0.02, 0.045), _ramp(f["inner"], 0.6, 0.45))  # an empty ring is no seal
    f_aspect = _ramp(f["aspect"], MIN_ASPECT, 0.62)
    if min(f_rim, f_round, f_ring, f_size, f_inner, f_aspect) <= 0.0:
        return 0.0
    f_star = _ramp(f["star"], 0.05, 0.25)  # usual but not required (some seals carry a code instead)
    return 0.3 * f_rim + 0.2 * f_round + 0.15 * f_ring + 0.1 * f_size + 0.1 * f_inner + 0.05 * f_aspect + 0.1 * f_star


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def _candidates(
    mask: np.ndarray, ink: np.ndarray, px_per_mm: float, close: int, retry: bool, group: int = 0
) -> list[_Candidate]:
    """Seal candidates among the components of ``mask`` closed with a ``close`` px disk, or (when
    ``group`` > 0) dilated by a ``group`` px disk, which joins arcs further apart than closing can."""
    closed = cv2.dilate(mask, _disk(group)) if group else cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disk(close))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    lo, hi = MIN_MM * px_per_mm * 0.8, MAX_MM * px_per_mm * 1.05
    line_len = max(15, round(MIN_MM * px_per_mm))
    found: list[_Candidate] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        side = max(w, h)
        if side < lo or area < 0.01 * side * side:
            continue
        pad = 2
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(mask.shape[1], x + w + pad), min(mask.shape[0], y + h + pad)
        comp = np.where(labels[y0:y1, x0:x1] == i, 255, 0).astype(np.uint8)
        red, faint = mask[y0:y1, x0:x1], ink[y0:y1, x0:x1]
        f = _features(red, faint, comp, px_per_mm) if side <= hi else None
        score = _score(f) if f else 0.0
        if f and score >= MIN_SCORE:
            # the ink's own box: a dilated group is larger than the seal
            bx, by, bw, bh = cv2.boundingRect(cv2.bitwise_and(red, comp))
            found.append(_Candidate((x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh), score, f["diameter_mm"]))
        elif retry:
            # Perhaps a seal joined to red rules or a table, or lying over one: drop long lines, retry.
            # The whole crop, not just this component: the star and arc text are separate components.
            sub, sub_ink = _remove_lines(red, line_len), _remove_lines(faint, line_len)
            for c in _candidates(sub, sub_ink, px_per_mm, close + 2, retry=False):
                bx0, by0, bx1, by1 = c.bbox
                found.append(_Candidate((bx0 + x0, by0 + y0, bx1 + x0, by1 + y0), c.score, c.diameter_mm))
    return found


def find_seals(image: np.ndarray | Image.Image, dpi: float) -> list[Seal]:
    """Official seals on a page image rendered or scanned at ``dpi``, best first; [] when none.

    ``dpi`` <= 0 means unknown: the page is then assumed to be A4 (210 mm wide)."""
    rgb = _rgb(image)
    height, width = rgb.shape[:2]
    if height < 8 or width < 8:
        return []
    if dpi <= 0:
        dpi = min(width, height) / (210 / 25.4)
    # An integer factor: OpenCV's area resize is several times faster then, and the working
    # resolution (~55–100 dpi) only needs to be known, not exact.
    k = max(1, round(dpi / WORK_DPI))
    h_k, w_k = height // k, width // k
    small = rgb if k == 1 else cv2.resize(rgb[: h_k * k, : w_k * k], (w_k, h_k), interpolation=cv2.INTER_AREA)
    px_per_mm = dpi / k / 25.4
    mask, ink = _redness_masks(small)
    if not mask.any():
        return []
    close = max(3, round(1.6 * px_per_mm))  # bridges ~1.5 mm gaps, well under the ring's inner gap to text
    candidates = _candidates(mask, ink, px_per_mm, close, retry=True)
    # A faded ring breaks into arcs too far apart to close; grouping them by dilation (~4.5 mm) makes
    # them one candidate again. A separate pass: coarse groups also swallow neighbouring red things.
    group = max(close + 2, round(4.5 * px_per_mm))
    candidates += _candidates(mask, ink, px_per_mm, close, retry=False, group=group)
    kept: list[_Candidate] = []
    seals: list[Seal] = []
    for c in sorted(candidates, key=lambda c: -c.score):
        if any(_overlap(c.bbox, other.bbox) > 0.5 for other in kept):
            continue  # the same seal seen again through a neighbour's retry crop
        kept.append(c)
        x0, y0, x1, y1 = c.bbox
        bbox = (x0 * k, y0 * k, min(width, x1 * k), min(height, y1 * k))
        seals.append(Seal(bbox, round(float(c.score), 3), round(float(c.diameter_mm), 1)))
    return seals


def seal_crop(image: np.ndarray | Image.Image, seal: Seal, margin: float = 0.1) -> Image.Image:
    """The seal with ``margin`` (a fraction of its size) of page around it, for the reports."""
    pil = image.convert("RGB") if isinstance(image, Image.Image) else Image.fromarray(_rgb(image))
    x0, y0, x1, y1 = seal.bbox
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return pil.crop((max(0, x0 - mx), max(0, y0 - my), min(pil.width, x1 + mx), min(pil.height, y1 + my)))

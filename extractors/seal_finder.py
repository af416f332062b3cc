"""Official seal (公章) detection on a rendered or scanned page.

A seal is a red (often faded, pink or orange-red) ring with the unit's name in an arc and usually a
star or a code inside: round ones 38–60 mm across (a company's 42 mm, a county's 45 mm, a province's
50 mm, the State Council's 60 mm), oval ones such as the 发票专用章 (40 × 30 mm) and the 发票监制章
(30 × 20 mm); some have a thin second ring inside the first. Detection works on a copy area-downscaled
to ~72 dpi:

1. the scale: the dpi given (a PDF page, a scanner's resolution); when it is unknown (a photo, a
   screenshot, a file that says 72 or 96 dpi or nothing) it is judged from the image itself: a
   document page (A4 or A3, short side 210 mm, or a bill/invoice strip, long side 240 mm) bounded
   by the height of the printed characters on it (2.2–5.5 mm); sizes are then judged more loosely;
2. redness = R − max(G, B), lightly blurred, thresholded against the page's own background with
   hysteresis (faint strokes count when they touch clearly red ones); a pixel must also absorb
   G/B much more than R, which real red ink does however faint and a brownish copy does not, and be
   red to pink in hue, not orange, tan, yellow or sepia. When the red ink falls into a clearly
   redder and a duller population (a pure red seal over brownish red title text or table rules, as
   on invoices), the redder one is searched on its own too;
3. connected components after a small closing (gaps from speckled ink and black text crossing the
   ring), and again after a larger dilation (a faded ring broken into arcs); a component that fails
   (a seal touching red rules or a table) is tried again with long straight red lines removed;
4. every seal-sized component is measured against an ellipse: first that of its convex hull, then
   the one fitted to its ring. What makes a seal: a continuous ring — in nearly every direction from
   the centre a solid band of ink at one (elliptical) radius, which a block of red characters, a
   rectangle or a table never has — that is a line, not the edge of a filled shape; the rim red all
   the way round; some ink inside (the arc text, star or code — a hand-drawn circle round black text
   has none; a filled logo far too much); an outline that is an ellipse rather than a rectangle or a
   square; size and aspect (round or oval, not a strip). The outermost solid ring is the seal's
   edge (a double ring's thin inner line or the arc text never stands in for it).

Grey seals (photocopies) have no redness and are never found, on purpose: a copy is not a seal.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

__all__ = ["Seal", "estimate_px_per_mm", "find_seals", "seal_crop"]

WORK_DPI = 72.0  # a 4 cm seal is ~113 px and its ring ~3–4 px: enough to measure, cheap to scan
# Hard limits of the major axis (the score ramps down over the last few mm): the 发票监制章 is 30 mm,
# the State Council's seal 60 mm; a little room for scans and prints that are not quite to scale.
MIN_MM, MAX_MM = 26.0, 66.0
ESTIMATED_SLACK = 1.35  # a scale judged from the image itself may be off by this factor either way
MIN_ASPECT = 0.55  # oval seals are 0.65–0.75 (40 × 30, 30 × 20 mm); two big characters side by side ~0.5
MAX_STROKE_MM = 5.5  # the ring's radial width: blurred, a double ring's two lines merged at 72 dpi, text touching it
ROUND_ASPECT = 0.85  # minor/major above this: a round seal, below: an oval one
MIN_SCORE = 0.5
SURE_SCORE = 0.9  # a seal found this clearly is not searched for again in the later passes
RIM_BINS = 48
# Redness above the background (0..255 scale) a seal's ink must reach somewhere (strong) and
# everywhere (weak). Chroma noise is small on JPEG scans; noisy PNG scans raise the MAD instead.
STRONG_FLOOR, WEAK_FLOOR = 16.0, 4.0
# Ring profile: ink density in (direction, elliptical radius) cells.
RING_ANGLES = 48
RING_STEP = 0.02  # radius bins, in units of the ellipse's radius
RING_FROM, RING_TO = 0.4, 1.3
RING_DENSITY = 0.35  # a band this full of ink is a stroke (a faded ring's speckle included)
STROKE_MM = 1.2  # a seal's ring is 0.8–1.5 mm wide
# Unknown scale: what a document page and its print are like.
PAGE_SHORT_MM = 210.0  # A4 (either way up), by far the commonest; an A5 or A3 page comes out √2 off
STRIP_LONG_MM = 240.0  # bills, invoices, receipts: long and low (aspect ≥ 1.55)
GLYPH_MM = (2.2, 5.5)  # printed characters: invoices' small print to a 公文's 三号 body


@dataclass
class Seal:
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the image given
    score: float  # 0..1
    diameter_mm: float  # the major axis, for an oval seal
    shape: str = "round"  # round or oval (minor/major below 0.85)
    minor_mm: float = 0.0  # the minor axis


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


# --------------------------------------------------------------------------------------------------
# scale
# --------------------------------------------------------------------------------------------------


def _glyph_height_px(rgb: np.ndarray) -> float | None:
    """A typical printed character's height in pixels (the 75th percentile of character-like dark
    components: CJK characters break into radicals and digits are shorter, so the upper quartile is
    nearer the full character), or None when there is too little text to tell."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    f = max(1, int(np.ceil(max(grey.shape) / 1600)))
    if f > 1:
        grey = cv2.resize(grey, (grey.shape[1] // f, grey.shape[0] // f), interpolation=cv2.INTER_AREA)
    _, dark = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, _, stats = _components(dark)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    glyph = (h >= 4) & (h <= 0.2 * min(grey.shape)) & (w <= 2.5 * h) & (w >= 0.15 * h) & (area >= 0.08 * w * h)
    if np.count_nonzero(glyph) < 30:
        return None
    return float(np.percentile(h[glyph], 75)) * f


def estimate_px_per_mm(image: np.ndarray | Image.Image) -> float:
    """Pixels per millimetre of a document image whose resolution is unknown (a photo, a screenshot,
    a file saying 72/96 dpi or nothing): the page's size, assumed A4 (short side 210 mm) or, for a long
    low image, a bill or invoice (long side 240 mm); kept within what the height of its printed
    characters allows (2.2–5.5 mm), which catches a crop of part of a page."""
    rgb = _rgb(image)
    short, long = sorted(rgb.shape[:2])
    if short < 8:
        return 1.0
    scale = short / PAGE_SHORT_MM if long / short < 1.55 else long / STRIP_LONG_MM
    glyph = _glyph_height_px(rgb)
    if glyph is not None:
        scale = min(max(scale, glyph / GLYPH_MM[1]), glyph / GLYPH_MM[0])
    return scale


# --------------------------------------------------------------------------------------------------
# red ink
# --------------------------------------------------------------------------------------------------


def _components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components: count, labels, stats. 16-bit labels when they fit: OpenCV computes
    the stats of those two to three times faster."""
    try:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:  # more than 65535 components
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    return n, labels, stats


def _u8(flags: np.ndarray) -> np.ndarray:
    """A boolean array as a 0/255 mask."""
    return np.ascontiguousarray(flags).view(np.uint8) * np.uint8(255)


def _redness_masks(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Red ink as two 0/255 masks with thresholds adapted to the page's background: ``ink``, every
    faintly red pixel, and ``mask``, the parts of ``ink`` that touch a clearly red pixel somewhere;
    and the redness itself."""
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
    # Seal ink is red to pink (hue up to ~25°, vermilion included); orange, tan, yellow and sepia
    # (brown print, highlighters, old photographs) are not: green above blue by less than 45 % of red's lead.
    chromatic &= 20 * (s[..., 1] - s[..., 2]) <= 9 * (s[..., 0] - s[..., 2])
    strong = (red > strong_t) & chromatic
    ink = _u8((red > weak_t) & chromatic)
    if not strong.any():
        return np.zeros_like(ink), ink, red
    n, labels = cv2.connectedComponents(ink, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return _u8(keep[labels]), ink, red


def _redder_part(mask: np.ndarray, ink: np.ndarray, red: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The clearly redder population of the red ink, when there are two (a pure red seal stamped over
    brownish red print): Otsu's split of the ink's redness, kept when the upper class is much redder
    than the lower one and big enough to hold a seal."""
    values = red[mask > 0]
    if values.size < 200:
        return None
    v8 = np.clip(values, 0, 255).astype(np.uint8).reshape(-1, 1)
    t, _ = cv2.threshold(v8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    upper, lower = values[values > t], values[values <= t]
    if upper.size < 100 or lower.size < 100 or upper.mean() < 1.7 * max(lower.mean(), 1.0):
        return None
    faint = 0.5 * (t + lower.mean())  # the redder ink's own faint edges, not the duller print
    return (
        _u8((mask > 0) & (red > t)),
        _u8((ink > 0) & (red > faint)),
    )


def _disk(size: int) -> np.ndarray:
    size = max(3, size | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _remove_lines(mask: np.ndarray, length: int, thick: int) -> np.ndarray:
    """The mask without thin straight horizontal/vertical runs at least ``length`` px long and less
    than ``thick`` px thick (rules, table borders). A seal ring's flattest run is well under the
    smallest seal diameter; a filled shape's long runs are thick and stay (cut out of a disc, they
    would leave a ring behind)."""
    h = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    h = cv2.bitwise_and(h, cv2.bitwise_not(cv2.morphologyEx(h, cv2.MORPH_OPEN, np.ones((thick, 1), np.uint8))))
    v = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    v = cv2.bitwise_and(v, cv2.bitwise_not(cv2.morphologyEx(v, cv2.MORPH_OPEN, np.ones((1, thick), np.uint8))))
    # no dilation: the ring's gaps where lines crossed it must stay narrow enough to close again
    return cv2.bitwise_and(mask, cv2.bitwise_not(cv2.bitwise_or(h, v)))


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi`` (either order), linear between."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


# --------------------------------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------------------------------

Ellipse = tuple[float, float, float, float, float]  # cx, cy, a (major semi-axis), b, φ


@dataclass
class _Candidate:
    bbox: tuple[int, int, int, int]  # in work pixels
    score: float
    diameter_mm: float
    minor_mm: float
    shape: str


def _ellipse_from_moments(filled: np.ndarray) -> Ellipse | None:
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


def _ellipse_from_fit(points: np.ndarray) -> Ellipse | None:
    """The least-squares ellipse through points (x, y), as (cx, cy, a, b, φ)."""
    if len(points) < 12:
        return None
    (fx, fy), (fw, fh), fang = cv2.fitEllipse(points.astype(np.float32))
    if not (np.isfinite(fw) and np.isfinite(fh)) or min(fw, fh) < 4:
        return None
    phi = np.radians(fang) if fw >= fh else np.radians(fang + 90.0)
    return float(fx), float(fy), max(fw, fh) / 2, max(min(fw, fh) / 2, 1e-3), float(phi)


def _rho_theta(e: Ellipse, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass
class _Ring:
    radius: float  # elliptical radius of the ring's centre line
    continuity: float  # share of directions with a solid band of ink there
    good: np.ndarray  # per direction: solid band found
    at: np.ndarray  # per direction: radius bin of that band
    width: float = 0.0  # median radial extent of solid ink inward from the ring's outer edge
    outer: float = 0.0  # median radius of the ring's outer edge


def _ring(
    e: Ellipse,
    rho: np.ndarray,
    theta: np.ndarray,
    band: int,
    window: tuple[float, float],
    slack: int,
) -> _Ring:
    """The ring of ink around ellipse ``e``: per direction, the ink density along the radius in bands
    ``band`` bins wide; the ring is the radius (within ``window``) where most directions hold a solid
    band, a direction counting when its own band lies within a few bins of it (ellipse fits and hand
    stamping are not exact)."""
    nr = round((RING_TO - RING_FROM) / RING_STEP)
    sel = (rho >= RING_FROM) & (rho < RING_TO)
    ti = ((theta[sel] + np.pi) / (2 * np.pi) * RING_ANGLES).astype(int) % RING_ANGLES
    ri = ((rho[sel] - RING_FROM) / RING_STEP).astype(int).clip(0, nr - 1)
    counts = np.bincount(ti * nr + ri, minlength=RING_ANGLES * nr).reshape(RING_ANGLES, nr).astype(np.float64)
    edges = RING_FROM + RING_STEP * np.arange(nr + 1)
    area = np.pi / RING_ANGLES * e[2] * e[3] * (edges[1:] ** 2 - edges[:-1] ** 2)
    density = counts / area
    cum = np.concatenate([np.zeros((RING_ANGLES, 1)), np.cumsum(density, axis=1)], axis=1)
    bands = (cum[:, band:] - cum[:, :-band]) / band  # bands[t, r]: mean density over bins r .. r+band-1
    solid = bands >= RING_DENSITY
    lo = max(0, round((window[0] - RING_FROM) / RING_STEP))
    hi = min(bands.shape[1], round((window[1] - RING_FROM) / RING_STEP))
    if hi <= lo:
        return _Ring(1.0, 0.0, np.zeros(RING_ANGLES, bool), np.zeros(RING_ANGLES, int))
    per_radius = solid[:, lo:hi].sum(axis=0)
    # the outermost radius nearly as solid as the best: the seal's ring is its outermost ink (a double
    # ring's inner line, the arc text, must not take its place)
    best = lo + int(np.flatnonzero(per_radius >= 0.9 * per_radius.max())[-1])
    near = solid[:, max(0, best - slack) : best + slack + 1]
    good = near.any(axis=1)
    at = np.max(np.where(near, np.arange(near.shape[1]) + max(0, best - slack), -1), axis=1)
    radius = RING_FROM + (best + band / 2) * RING_STEP
    # Radial extent of the stroke: from the outermost solid cell near the ring, inward while solid.
    full = density[good, : min(nr, best + band + slack + 1)] >= RING_DENSITY
    cols = np.arange(full.shape[1])
    has = full.any(axis=1)
    if has.any():
        full, last = full[has], np.max(np.where(full[has], cols, -1), axis=1)
        gap = np.max(np.where(~full & (cols <= last[:, None]), cols, -1), axis=1)  # the paper inside it
        width = float(np.median(last - gap)) * RING_STEP
        outer = RING_FROM + float(np.median(last + 1)) * RING_STEP
    else:
        width, outer = 0.0, radius
    return _Ring(radius, float(good.mean()), good, at, width, outer)


def _features(
    red: np.ndarray, ink: np.ndarray, comp: np.ndarray, px_per_mm: float, slack: float
) -> tuple[dict[str, float], tuple[int, int, int, int]] | None:
    """Shape measurements of one component, and the seal's box (in the crop); None when it is plainly
    not a seal (wrong size or aspect, too little ink, no ring).

    ``red`` and ``ink`` are the masks of `_redness_masks`, ``comp`` the closed component, all cropped
    to the same padded box."""
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
            e1 = _ellipse_from_fit(on)
            if e1 is not None:
                rho1, theta1 = _rho_theta(e1, on[:, 0], on[:, 1])
                dev1 = float(np.percentile(np.abs(rho1 - 1.0), 90))
                if dev1 < dev and _coverage(theta1) >= 0.6:
                    e, dev = e1, dev1
    lo_mm, hi_mm = MIN_MM / slack, MAX_MM * slack
    if not (0.8 * lo_mm <= 2 * e[2] / px_per_mm <= 1.2 * hi_mm):
        return None

    # The ring: all red in and around the hull counts, faint too (a faded ring's speckle; the arc text
    # and star are usually components of their own and on a faded seal may never reach clearly red).
    ys, xs = np.nonzero(ink)
    if len(xs) < 20:
        return None
    xs_f, ys_f = xs.astype(np.float64), ys.astype(np.float64)
    band = max(2, round(STROKE_MM * px_per_mm / e[2] / RING_STEP))
    rho, theta = _rho_theta(e, xs_f, ys_f)
    if np.count_nonzero(rho < 0.6) < 0.01 * np.pi * e[2] * e[3] * 0.36:
        return None  # nothing red inside: a circle drawn round something, a frame
    ring = _ring(e, rho, theta, band, (0.72, 1.12), max(2, band))
    if ring.continuity < 0.4:
        return None
    # Refine: the ellipse through the ring's own pixels (the hull is spoilt by whatever touches the
    # seal: rules, text, handwriting); then measure the ring again around it, more strictly.
    rbin = ((rho - RING_FROM) / RING_STEP).astype(int)
    tbin = ((theta + np.pi) / (2 * np.pi) * RING_ANGLES).astype(int) % RING_ANGLES
    on_ring = ring.good[tbin] & (rbin >= ring.at[tbin] - 1) & (rbin <= ring.at[tbin] + band)
    fitted = _ellipse_from_fit(np.column_stack([xs_f[on_ring], ys_f[on_ring]]))
    if fitted is not None:
        rho_f, theta_f = _rho_theta(fitted, xs_f, ys_f)
        band_f = max(2, round(STROKE_MM * px_per_mm / fitted[2] / RING_STEP))
        ring_f = _ring(fitted, rho_f, theta_f, band_f, (0.9, 1.06), 1)
        if ring_f.continuity >= ring.continuity - 0.02:
            e, rho, theta, ring, band = fitted, rho_f, theta_f, ring_f, band_f
    _, _, a_semi, b_semi, _ = e
    diameter_mm = 2 * a_semi * ring.outer / px_per_mm
    minor_mm = diameter_mm * b_semi / a_semi
    aspect = b_semi / a_semi
    if not (lo_mm <= diameter_mm <= hi_mm) or aspect < MIN_ASPECT:
        return None
    r0 = ring.radius
    # Rim: red all the way round near the ring (counted in angular bins: a few gaps cost little).
    rim = _coverage(theta[(rho > r0 - 0.18) & (rho < r0 + 0.12)])
    # Inside: arc text and star make some ink, but much less than a filled logo or blob; a hand-drawn
    # circle round black text holds none.
    ab = np.pi * a_semi * b_semi * r0 * r0
    inner = np.count_nonzero(rho < 0.72 * r0) / (ab * 0.72**2)
    star = np.count_nonzero(rho < 0.22 * r0) / (ab * 0.22**2)
    # The ring is a line, not the edge of a filled shape: per direction, how far solid ink runs inward
    # from the ring's outer edge (a seal's stroke 1–1.5 mm, a little more where text touches it; a
    # filled disc or a block of characters much further).
    width_mm = ring.width * a_semi / px_per_mm
    # The seal's box: its own ink, within the ring's outer edge.
    inside = rho < ring.outer + 0.06
    box = (int(xs[inside].min()), int(ys[inside].min()), int(xs[inside].max()) + 1, int(ys[inside].max()) + 1)
    return {
        "diameter_mm": diameter_mm,
        "minor_mm": minor_mm,
        "aspect": float(aspect),
        "dev": dev,
        "rim": rim,
        "ring": ring.continuity,
        "inner": float(inner),
        "width_mm": width_mm,
        "star": float(star),
        "slack": slack,
    }, box


def _score(f: dict[str, float]) -> float:
    """0 when any feature rules a seal out, else a weighted mean of how seal-like each one is."""
    lo_mm, hi_mm = MIN_MM / f["slack"], MAX_MM * f["slack"]
    f_ring = _ramp(f["ring"], 0.7, 0.9)  # seals 0.8–1 (text and lines crossing them); red text, cells ≤ 0.67
    f_rim = _ramp(f["rim"], 0.55, 0.9)
    f_round = _ramp(f["dev"], 0.1, 0.05)  # the hull: squares and rectangles ≥ 0.1, seals ≤ 0.04 (0.09 touched by lines)
    f_size = min(_ramp(f["diameter_mm"], lo_mm, lo_mm + 4.0), _ramp(f["diameter_mm"], hi_mm, hi_mm - 4.0))
    f_inner = min(_ramp(f["inner"], 0.015, 0.04), _ramp(f["inner"], 0.55, 0.45))  # an empty ring is no seal
    f_aspect = _ramp(f["aspect"], MIN_ASPECT, 0.62)
    f_stroke = _ramp(f["width_mm"], MAX_STROKE_MM * f["slack"], (MAX_STROKE_MM - 1.0) * f["slack"])
    if min(f_ring, f_rim, f_round, f_size, f_inner, f_aspect, f_stroke) <= 0.0:
        return 0.0
    f_star = _ramp(f["star"], 0.05, 0.25)  # usual but not required (invoices' seals carry a code instead)
    return 0.35 * f_ring + 0.15 * f_rim + 0.1 * f_round + 0.1 * f_size + 0.1 * f_inner + 0.1 * f_aspect + 0.1 * f_star


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def _candidates(
    mask: np.ndarray,
    ink: np.ndarray,
    px_per_mm: float,
    slack: float,
    close: int,
    retry: bool,
    group: int = 0,
    known: list[_Candidate] | None = None,
    before: np.ndarray | None = None,
) -> list[_Candidate]:
    """Seal candidates among the components of ``mask`` closed with a ``close`` px disk, or (when
    ``group`` > 0) dilated by a ``group`` px disk, which joins arcs further apart than closing can.
    Components mostly covered by a ``known`` confident seal are not measured again, nor those that
    hold nearly the same ink in the ``before`` mask of an earlier pass."""
    sure = [c.bbox for c in known or [] if c.score >= SURE_SCORE]
    closed = cv2.dilate(mask, _disk(group)) if group else cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disk(close))
    if before is not None:  # the earlier pass's ink, closed alike: fringes and speckle closed away
        before = cv2.dilate(before, _disk(group)) if group else cv2.morphologyEx(before, cv2.MORPH_CLOSE, _disk(close))
    n, labels, stats = _components(closed)
    lo, hi = MIN_MM / slack * px_per_mm * 0.8, MAX_MM * slack * px_per_mm * 1.1
    line_len = max(15, round(MIN_MM * px_per_mm))
    line_thick = max(3, round(2.0 * px_per_mm))
    found: list[_Candidate] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        side = max(w, h)
        if side < lo or area < 0.01 * side * side:
            continue
        if any(_overlap((x, y, x + w, y + h), b) > 0.7 for b in sure):
            continue
        if before is not None:
            here = np.count_nonzero(closed[y : y + h, x : x + w])
            if np.count_nonzero(before[y : y + h, x : x + w]) <= 1.2 * here:
                continue  # the redder ink alone is what the earlier pass measured already
        pad = 2 + side // 10  # room for the fitted ring to reach ink the component left out
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(mask.shape[1], x + w + pad), min(mask.shape[0], y + h + pad)
        comp = _u8(labels[y0:y1, x0:x1] == i)
        red, faint = mask[y0:y1, x0:x1], ink[y0:y1, x0:x1]
        measured = _features(red, faint, comp, px_per_mm, slack) if side <= hi else None
        score = _score(measured[0]) if measured else 0.0
        if measured and score >= MIN_SCORE:
            f, (bx0, by0, bx1, by1) = measured
            shape = "round" if f["aspect"] >= ROUND_ASPECT else "oval"
            box = (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)
            found.append(_Candidate(box, score, f["diameter_mm"], f["minor_mm"], shape))
        elif retry:
            # Perhaps a seal joined to red rules or a table, or lying over one: drop long lines, retry.
            # The whole crop, not just this component: the star and arc text are separate components.
            sub = _remove_lines(red, line_len, line_thick)
            if np.count_nonzero(sub) > np.count_nonzero(red) - line_len:
                continue  # no line to remove: the component failed on its own
            sub_ink = _remove_lines(faint, line_len, line_thick)
            for c in _candidates(sub, sub_ink, px_per_mm, slack, close + 2, retry=False):
                bx0, by0, bx1, by1 = c.bbox
                c.bbox = (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)
                found.append(c)
    return found


def find_seals(image: np.ndarray | Image.Image, dpi: float | None = None) -> list[Seal]:
    """Official seals on a page image rendered or scanned at ``dpi``, best first; [] when none.

    ``dpi`` None or <= 0 means unknown (a photo, a screenshot, an image file whose dpi says nothing):
    the scale is then judged from the image itself (`estimate_px_per_mm`) and sizes more loosely."""
    rgb = _rgb(image)
    height, width = rgb.shape[:2]
    if height < 8 or width < 8:
        return []
    if dpi is not None and dpi > 0:
        full_px_per_mm, slack = dpi / 25.4, 1.0
    else:
        full_px_per_mm, slack = estimate_px_per_mm(rgb), ESTIMATED_SLACK
    # An integer factor: OpenCV's area resize is several times faster then, and the working
    # resolution (~55–100 dpi) only needs to be known, not exact.
    k = max(1, round(full_px_per_mm * 25.4 / WORK_DPI))
    h_k, w_k = height // k, width // k
    if h_k < 8 or w_k < 8:
        return []
    small = rgb if k == 1 else cv2.resize(rgb[: h_k * k, : w_k * k], (w_k, h_k), interpolation=cv2.INTER_AREA)
    px_per_mm = full_px_per_mm / k
    mask, ink, red = _redness_masks(small)
    if not mask.any():
        return []
    close = max(3, round(1.6 * px_per_mm))  # bridges ~1.5 mm gaps, well under the ring's inner gap to text
    # A faded ring breaks into arcs too far apart to close; grouping them by dilation (~4.5 mm) makes
    # them one candidate again. A separate pass: coarse groups also swallow neighbouring red things.
    group = max(close + 2, round(4.5 * px_per_mm))
    levels = [(mask, ink)]
    redder = _redder_part(mask, ink, red)
    if redder is not None:
        levels.append(redder)
    candidates: list[_Candidate] = []
    for level, (level_mask, level_ink) in enumerate(levels):
        before = mask if level else None
        candidates += _candidates(level_mask, level_ink, px_per_mm, slack, close, True, 0, candidates, before)
        candidates += _candidates(level_mask, level_ink, px_per_mm, slack, close, False, group, candidates, before)
    kept: list[_Candidate] = []
    seals: list[Seal] = []
    for c in sorted(candidates, key=lambda c: -c.score):
        if any(_overlap(c.bbox, other.bbox) > 0.5 for other in kept):
            continue  # the same seal seen again (a neighbour's retry crop, the grouping pass, the redder ink)
        kept.append(c)
        x0, y0, x1, y1 = c.bbox
        bbox = (x0 * k, y0 * k, min(width, x1 * k), min(height, y1 * k))
        seals.append(
            Seal(bbox, round(float(c.score), 3), round(float(c.diameter_mm), 1), c.shape, round(c.minor_mm, 1))
        )
    return seals


def seal_crop(image: np.ndarray | Image.Image, seal: Seal, margin: float = 0.1) -> Image.Image:
    """The seal with ``margin`` (a fraction of its size) of page around it, for the reports."""
    pil = image.convert("RGB") if isinstance(image, Image.Image) else Image.fromarray(_rgb(image))
    x0, y0, x1, y1 = seal.bbox
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return pil.crop((max(0, x0 - mx), max(0, y0 - my), min(pil.width, x1 + mx), min(pil.height, y1 + my)))

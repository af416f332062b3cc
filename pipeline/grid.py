"""A scanned table's cells: ruling lines found on the page image, OCR boxes placed into the cells.

A scanned form is a grid of ruled cells, skewed by a few degrees, whose text OCR returns as one box per
text line. Reading it as a table:

1. ink: the page binarised against its local background (faint grey rulings count);
2. skew: the slope of lines fitted through the long straight runs of ink (the rulings); without rulings,
   the direction the ink of the long OCR lines runs along (or, failing that, the angle at which the rows
   of text project most sharply); the ink is turned upright, the OCR boxes' centres the same way;
3. rulings: long horizontal and vertical runs of ink (morphological opening), gathered into lines with
   the stretches each one covers;
4. cells: every rectangle between neighbouring rulings, joined with its neighbour where no ruling
   separates them (merged cells spanning columns or rows); a region is a cell when it is a rectangle
   closed by rulings all round;
5. text: each OCR box goes to the cell holding its centre (a box running across a ruling is cut there);
   the lines of a cell are joined in reading order (a wrapped value or label, a unit on a second line).

Without rulings (a borderless form, rulings too faint) rows come from the boxes alone: boxes that
overlap vertically form a row, a box is used once, and a line directly below a cell of the previous row
within its column span, with nothing in that row's label column, continues that cell.

OpenCV is imported by the functions that need it, which run in extraction workers
(pipeline/form_grid.py); the parent uses only the box geometry (the borderless rows).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Rect = tuple[float, float, float, float]  # x0, top, x1, bottom
# The label (and its value, "" when there is none) a text starts with, or None: a form's label rules.
LabelSplit = Callable[[str], "tuple[str, str] | None"]

MAX_SKEW = 5.0  # degrees; a page laid more crooked than this is not straightened here
H_RULING_PT = 30.0  # a horizontal ruling is at least this long (a character's stroke is ~10 pt)
V_RULING_PT = 14.0  # a vertical one at least this long (a row is ≥ 20 pt high)
THICK_PT = 5.0  # thicker runs are blocks of ink, not rulings
SAME_LINE_PT = 3.0  # runs this close are one ruling (a thick or double line)
GAP_PT = 6.0  # a broken ruling's pieces this close are one stretch
COVERED = 0.6  # a cell's side is ruled when a ruling covers this much of it
MIN_CELL_PT = 6.0


@dataclass(frozen=True, slots=True)
class TextBox:
    """One OCR line: its text, its axis-aligned box on the upright page (points) and the line's own
    height (a skewed line's box is taller than its text)."""

    text: str
    box: Rect
    height: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@dataclass(slots=True)
class _Placed:
    """A box after deskewing: centre, width and the text line's height."""

    text: str
    cx: float
    cy: float
    width: float
    height: float

    @property
    def x0(self) -> float:
        return self.cx - self.width / 2

    @property
    def x1(self) -> float:
        return self.cx + self.width / 2

    @property
    def top(self) -> float:
        return self.cy - self.height / 2

    @property
    def bottom(self) -> float:
        return self.cy + self.height / 2


@dataclass
class Cell:
    box: Rect  # deskewed points
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    lines: list[_Placed] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_lines(self.lines)


@dataclass
class Grid:
    """The ruled cells of a page, in deskewed points of the upright page."""

    angle: float  # degrees: the page's rulings run this far clockwise of the horizontal
    centre: tuple[float, float]  # the point the page was turned about (points)
    xs: list[float]
    ys: list[float]
    cells: list[Cell]

    def rows(self) -> list[list[str]]:
        """Cell texts row by row (a row is the cells starting on it), left to right."""
        by_row: dict[int, list[Cell]] = {}
        for cell in self.cells:
            by_row.setdefault(cell.row, []).append(cell)
        rows: list[list[str]] = []
        for row in sorted(by_row):
            cells = sorted(by_row[row], key=lambda c: c.col)
            # A heading cell spanning the rows of several pairs (基本情况 | label | value) is not a label.
            if len(cells) % 2 == 1 and len(cells) > 1 and cells[0].rowspan > 1:
                cells = cells[1:]
            rows.append([c.text for c in cells])
        return rows

    def outline(self) -> Rect:
        """The table's box on the upright (skewed) page, in points."""
        x0, x1, top, bottom = self.xs[0], self.xs[-1], self.ys[0], self.ys[-1]
        corners = [_turn(x, y, self.centre, -self.angle) for x in (x0, x1) for y in (top, bottom)]
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        return (min(xs), min(ys), max(xs), max(ys))


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------


def _turn(x: float, y: float, centre: tuple[float, float], angle: float) -> tuple[float, float]:
    """(x, y) turned about `centre` so that a line running `angle` degrees clockwise of the
    horizontal (y grows downwards) comes out horizontal; OpenCV's getRotationMatrix2D(angle)."""
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    dx, dy = x - centre[0], y - centre[1]
    return centre[0] + cos * dx + sin * dy, centre[1] - sin * dx + cos * dy


def place(boxes: Sequence[TextBox], angle: float = 0.0, centre: tuple[float, float] = (0.0, 0.0)) -> list[_Placed]:
    """The boxes deskewed: centres turned, the box's width kept, its height the text line's own."""
    placed: list[_Placed] = []
    for box in boxes:
        if not box.text.strip():
            continue
        cx, cy = _turn(*box.centre, centre, angle) if angle else box.centre
        width, tall = box.box[2] - box.box[0], box.box[3] - box.box[1]
        height = box.height if 0 < box.height <= tall + 0.5 else tall
        # A skewed line's box is wider and taller than its text: take the skew back out.
        slope = abs(math.tan(math.radians(angle)))
        width = max(1.0, width - slope * height) if slope < 0.2 else width
        placed.append(_Placed(box.text.strip(), cx, cy, width, max(1.0, height)))
    return placed


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _weight(ch: str) -> float:
    """A character's width in ems: CJK and full-width one, ASCII about half."""
    return 0.55 if ord(ch) < 0x2E80 else 1.0


def cut_text(text: str, x0: float, x1: float, cuts: Sequence[float]) -> list[str]:
    """`text` laid out evenly (by character width) over [x0, x1], cut at the x positions `cuts`."""
    widths = [_weight(ch) for ch in text]
    total = sum(widths) or 1.0
    pieces = [""] * (len(cuts) + 1)
    at = 0.0
    for ch, w in zip(text, widths, strict=True):
        middle = x0 + (at + w / 2) / total * (x1 - x0)
        at += w
        pieces[sum(1 for c in cuts if middle > c)] += ch
    return pieces


def _lines(boxes: list[_Placed]) -> list[list[_Placed]]:
    """Boxes grouped into text lines (vertical overlap), top to bottom, each left to right."""
    lines: list[list[_Placed]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if lines:
            line = lines[-1]
            top, bottom = min(b.top for b in line), max(b.bottom for b in line)
            if _overlap(box.top, box.bottom, top, bottom) >= 0.5 * min(box.height, line[0].height):
                line.append(box)
                continue
        lines.append([box])
    return [sorted(line, key=lambda b: b.cx) for line in lines]


def _glue(a: str, b: str) -> str:
    if not a or not b:
        return a + b
    return a + (" " if a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha() else "") + b


def join_lines(boxes: list[_Placed]) -> str:
    """A cell's text: its lines top to bottom, each line's boxes left to right (a wide gap between
    two boxes of a line is kept as a space); lines follow each other without a break, as a wrapped
    value or label reads."""
    text = ""
    for line in _lines(boxes):
        piece = ""
        for i, box in enumerate(line):
            gap = box.x0 - line[i - 1].x1 if i else 0.0
            piece = piece + " " + box.text if i and gap > 1.5 * box.height else _glue(piece, box.text)
        text = _glue(text, piece)
    return text


# --------------------------------------------------------------------------------------------------
# The page image: ink, skew, rulings
# --------------------------------------------------------------------------------------------------


def ink_mask(gray: np.ndarray, px_per_pt: float) -> np.ndarray:
    """255 where the page is clearly darker than its surroundings (text, rulings, faint grey lines)."""
    import cv2

    block = max(15, round(12 * px_per_pt) | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)


def skew_from_lines(ink: np.ndarray, px_per_pt: float) -> float | None:
    """The page's skew (degrees clockwise) from its long straight lines, or None without any: a line
    fitted through each long run of ink that stays straight (text is gone by then), horizontal and
    vertical, their median weighted by length."""
    import cv2
    import numpy as np

    short = max(9, int(12 * px_per_pt))  # longer than a character's stroke, short enough for 5° of skew
    angles: list[float] = []
    weights: list[float] = []
    for horizontal in (True, False):
        straight = _open(ink, short, horizontal)
        if not horizontal:
            straight = np.ascontiguousarray(straight.T)  # fit x against y as y against x
        long = 0.25 * min(ink.shape)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(straight, connectivity=8)
        for i in range(1, count):
            x, y, w, h, _area = stats[i]
            if w < long or h > w * math.tan(math.radians(MAX_SKEW)) + THICK_PT * px_per_pt:
                continue
            ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
            slope = float(np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)[0])
            angle = math.degrees(math.atan(slope))
            angles.append(angle if horizontal else -angle)
            weights.append(float(w))
    if len(angles) < 2:
        return None
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def skew_from_boxes(ink: np.ndarray, px_per_pt: float, boxes: Sequence[TextBox]) -> float | None:
    """The skew (degrees clockwise) from the OCR lines themselves, when the page has no rulings: the
    direction the ink of each long line runs along (its principal axis, fitted twice: the second time
    only to the ink within the line's own height of the first fit, so a neighbouring line's ink
    caught in a skewed box does not pull it), their median weighted by length."""
    import numpy as np

    angles: list[float] = []
    weights: list[float] = []
    for box in boxes:
        x0, top, x1, bottom = (round(v * px_per_pt) for v in box.box)
        width, half = x1 - x0, max(2.0, box.height * px_per_pt / 2)
        if width < 6 * half or x0 < 0 or top < 0 or x1 > ink.shape[1] or bottom > ink.shape[0]:
            continue
        ys, xs = np.nonzero(ink[top:bottom, x0:x1] > 96)
        if len(xs) < 40:
            continue
        xs_f, ys_f = xs.astype(np.float64), ys.astype(np.float64)
        keep = np.ones(len(xs), dtype=bool)
        angle = 0.0
        for _ in range(2):
            if keep.sum() < 40:
                break
            cx, cy = xs_f[keep].mean(), ys_f[keep].mean()
            dx, dy = xs_f[keep] - cx, ys_f[keep] - cy
            angle = 0.5 * math.atan2(2 * float(np.dot(dx, dy)), float(np.dot(dx, dx) - np.dot(dy, dy)))
            across = (ys_f - cy) * math.cos(angle) - (xs_f - cx) * math.sin(angle)
            keep = np.abs(across) <= half * 1.2
        if abs(math.degrees(angle)) <= MAX_SKEW:
            angles.append(math.degrees(angle))
            weights.append(float(width))
    if len(angles) < 3:
        return None
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def skew_from_text(ink: np.ndarray, px_per_pt: float) -> float:
    """The skew at which the rows of ink project most sharply onto the vertical (no rulings needed)."""
    import cv2
    import numpy as np

    scale = min(1.0, 0.7 / px_per_pt)  # ~50 dpi is plenty to see text rows
    small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else ink
    ys, xs = np.nonzero(small > 96)
    if len(ys) < 50:
        return 0.0
    xs = xs.astype(np.float64) - small.shape[1] / 2
    ys = ys.astype(np.float64)
    rows = small.shape[0] + small.shape[1]

    def sharpness(angle: float) -> float:
        a = math.radians(angle)
        projected = np.round(ys * math.cos(a) - xs * math.sin(a)).astype(np.int64) + small.shape[1]
        counts = np.bincount(projected.clip(0, rows * 2), minlength=1)
        return float(np.dot(counts, counts))

    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.25), key=sharpness)
    return float(max(np.arange(best - 0.25, best + 0.26, 0.05), key=sharpness))


def deskew(image: np.ndarray, angle: float, fill: int = 0) -> np.ndarray:
    """The image turned so that lines `angle` degrees clockwise of the horizontal run level."""
    import cv2

    if not angle:
        return image
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=fill)


@dataclass
class Ruling:
    at: float  # y of a horizontal ruling, x of a vertical one (pixels)
    spans: list[tuple[float, float]]  # the stretches it covers along its length

    def covers(self, start: float, end: float) -> float:
        """The share of [start, end] this ruling runs along."""
        if end <= start:
            return 0.0
        return sum(_overlap(a, b, start, end) for a, b in self.spans) / (end - start)


def _rulings(mask: np.ndarray, px_per_pt: float) -> list[Ruling]:
    """The vertical runs of an opened mask gathered into rulings (transpose it for horizontal ones).

    Neighbouring pixel columns with runs are one strand; within a strand only the columns carrying at
    least half of its busiest column's ink count (a seal's ring or a character touching a ruling adds
    a few short runs beside it), and a strand still thicker than a ruling is a block of ink."""
    import numpy as np

    columns = np.nonzero(mask.any(axis=0))[0]
    if not len(columns):
        return []
    runs: dict[int, list[tuple[int, int]]] = {}
    for x in columns:
        line = np.concatenate(([0], (mask[:, x] > 0).astype(np.int8), [0]))
        edges = np.diff(line)
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        runs[int(x)] = list(zip(starts.tolist(), ends.tolist(), strict=True))
    strands: list[list[int]] = []
    for x in columns.tolist():
        if strands and x - strands[-1][-1] <= 2:
            strands[-1].append(x)
        else:
            strands.append([x])
    rulings: list[Ruling] = []
    for strand in strands:
        ink = {x: sum(e - s for s, e in runs[x]) for x in strand}
        busiest = max(ink.values())
        kept = [x for x in strand if ink[x] >= 0.5 * busiest]
        if kept[-1] - kept[0] + 1 > THICK_PT * px_per_pt:
            continue
        at = sum(x * ink[x] for x in kept) / sum(ink[x] for x in kept) + 0.5
        spans: list[tuple[float, float]] = []
        for start, end in sorted(run for x in kept for run in runs[x]):
            if spans and start - spans[-1][1] <= GAP_PT * px_per_pt:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        rulings.append(Ruling(at, spans))
    return rulings


def _open(ink: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    """Runs of ink at least `length` long in one direction; a one-pixel thickening across first, so
    a line a little off level stays one run."""
    import cv2
    import numpy as np

    across, along = ((3, 1), (1, length)) if horizontal else ((1, 3), (length, 1))
    return cv2.morphologyEx(cv2.dilate(ink, np.ones(across, np.uint8)), cv2.MORPH_OPEN, np.ones(along, np.uint8))


def find_rulings(ink: np.ndarray, px_per_pt: float) -> tuple[list[Ruling], list[Ruling]]:
    """Horizontal and vertical rulings of an upright (deskewed) ink mask."""
    horizontal = _open(ink, max(15, int(H_RULING_PT * px_per_pt)), True)
    vertical = _open(ink, max(10, int(V_RULING_PT * px_per_pt)), False)
    return _rulings(horizontal.T, px_per_pt), _rulings(vertical, px_per_pt)


# --------------------------------------------------------------------------------------------------
# Cells from rulings
# --------------------------------------------------------------------------------------------------


def _positions(rulings: list[Ruling], min_gap: float) -> list[Ruling]:
    """Rulings in order, those closer than `min_gap` to the previous one dropped."""
    kept: list[Ruling] = []
    for ruling in sorted(rulings, key=lambda r: r.at):
        if kept and ruling.at - kept[-1].at < min_gap:
            if sum(e - s for s, e in ruling.spans) > sum(e - s for s, e in kept[-1].spans):
                kept[-1] = ruling
            continue
        kept.append(ruling)
    return kept


def cells_from_rulings(horizontal: list[Ruling], vertical: list[Ruling], min_cell: float) -> list[Cell]:
    """Cells (in the rulings' units) from horizontal and vertical rulings: the rectangles between
    neighbouring rulings, joined where no ruling separates them; a joined region is a cell when it is a
    rectangle ruled all round."""
    hs, vs = _positions(horizontal, min_cell), _positions(vertical, min_cell)
    if len(hs) < 2 or len(vs) < 2:
        return []
    ys, xs = [r.at for r in hs], [r.at for r in vs]
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = list(range(rows * cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def ruled_below(r: int, c: int) -> bool:  # the line under rectangle (r, c)
        return hs[r + 1].covers(xs[c], xs[c + 1]) >= COVERED

    def ruled_right(r: int, c: int) -> bool:
        return vs[c + 1].covers(ys[r], ys[r + 1]) >= COVERED

    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols and not ruled_right(r, c):
                parent[find(r * cols + c)] = find(r * cols + c + 1)
            if r + 1 < rows and not ruled_below(r, c):
                parent[find(r * cols + c)] = find((r + 1) * cols + c)
    regions: dict[int, list[tuple[int, int]]] = {}
    for r in range(rows):
        for c in range(cols):
            regions.setdefault(find(r * cols + c), []).append((r, c))
    cells: list[Cell] = []
    for members in regions.values():
        r0, r1 = min(r for r, _ in members), max(r for r, _ in members)
        c0, c1 = min(c for _, c in members), max(c for _, c in members)
        if len(members) != (r1 - r0 + 1) * (c1 - c0 + 1):
            continue  # not a rectangle: the space around or between tables
        closed = (
            all(hs[r0].covers(xs[c], xs[c + 1]) >= COVERED for c in range(c0, c1 + 1))
            and all(hs[r1 + 1].covers(xs[c], xs[c + 1]) >= COVERED for c in range(c0, c1 + 1))
            and all(vs[c0].covers(ys[r], ys[r + 1]) >= COVERED for r in range(r0, r1 + 1))
            and all(vs[c1 + 1].covers(ys[r], ys[r + 1]) >= COVERED for r in range(r0, r1 + 1))
        )
        if closed:
            cells.append(Cell((xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1]), r0, c0, r1 - r0 + 1, c1 - c0 + 1))
    cells.sort(key=lambda cell: (cell.row, cell.col))
    return cells


def fill_cells(cells: list[Cell], boxes: list[_Placed]) -> list[_Placed]:
    """Put each box into the cell holding its centre; a box running across a vertical ruling into
    the next cell of its row is cut there (OCR joins a label and its value when they sit close).
    Returns the boxes that fell in no cell."""
    outside: list[_Placed] = []
    for box in boxes:
        home = next(
            (c for c in cells if c.box[0] <= box.cx <= c.box[2] and c.box[1] <= box.cy <= c.box[3]),
            None,
        )
        if home is None:
            outside.append(box)
            continue
        row = sorted(
            (
                c
                for c in cells
                if c.box[1] <= box.cy <= c.box[3]
                and _overlap(box.x0, box.x1, c.box[0], c.box[2]) >= max(box.height, 0.2 * box.width)
            ),
            key=lambda c: c.box[0],
        )
        if len(row) < 2:
            home.lines.append(box)
            continue
        pieces = cut_text(box.text, box.x0, box.x1, [c.box[0] for c in row[1:]])
        for cell, piece in zip(row, pieces, strict=True):
            if piece.strip():
                x0, x1 = max(box.x0, cell.box[0]), min(box.x1, cell.box[2])
                cell.lines.append(_Placed(piece.strip(), (x0 + x1) / 2, box.cy, max(1.0, x1 - x0), box.height))
    return outside


def find_grid(
    gray: np.ndarray, dpi: float, boxes: Sequence[TextBox], size: tuple[float, float]
) -> tuple[Grid | None, float, list[_Placed]]:
    """The ruled cells of an upright page image (grey, `dpi`) holding the OCR `boxes` (points of the
    page, which is `size` points); also the page's skew and the deskewed boxes outside every cell
    (all of them when the page has no usable grid)."""
    px_per_pt = dpi / 72
    ink = ink_mask(gray, px_per_pt)
    angle = skew_from_lines(ink, px_per_pt)
    ruled = angle is not None
    if angle is None:
        angle = skew_from_boxes(ink, px_per_pt, boxes)
    if angle is None:
        angle = skew_from_text(ink, px_per_pt)
    centre = (size[0] / 2, size[1] / 2)
    placed = place(boxes, angle, centre)
    if not ruled:
        return None, angle, placed
    upright = (deskew(ink, angle) > 127).astype(ink.dtype) * 255  # interpolation left grey edges
    horizontal, vertical = find_rulings(upright, px_per_pt)
    for ruling in (*horizontal, *vertical):
        ruling.at /= px_per_pt
        ruling.spans = [(s / px_per_pt, e / px_per_pt) for s, e in ruling.spans]
    cells = cells_from_rulings(horizontal, vertical, MIN_CELL_PT)
    if len(cells) < 2:
        return None, angle, placed
    outside = fill_cells(cells, placed)
    if sum(1 for c in cells if c.lines) < 2:
        return None, angle, placed
    xs = sorted({c.box[0] for c in cells} | {c.box[2] for c in cells})
    ys = sorted({c.box[1] for c in cells} | {c.box[3] for c in cells})
    return Grid(angle, centre, xs, ys, cells), angle, outside


# --------------------------------------------------------------------------------------------------
# Rows without rulings
# --------------------------------------------------------------------------------------------------


@dataclass
class _RowCell:
    boxes: list[_Placed]
    known: bool = False  # a label the form's rules know, with nothing after it
    heading: bool = False  # in a label's place: first of a pair of cells

    @property
    def x0(self) -> float:
        return min(b.x0 for b in self.boxes)

    @property
    def x1(self) -> float:
        return max(b.x1 for b in self.boxes)

    @property
    def bottom(self) -> float:
        return max(b.bottom for b in self.boxes)

    @property
    def text(self) -> str:
        return join_lines(self.boxes)


_COLON = re.compile(r"[:：]")
_DIGITS = "0123456789０１２３４５６７８９"


def _split_boxes(band: list[_Placed], split: LabelSplit) -> list[_Placed]:
    """A box of a row holding a label and its value becomes two: `集群名称：临朐县…`, `企业数量 182` (a
    colon, a space or a figure after the label), or any known label and more alone in its row (OCR
    joining two cells). `主导产业类别` beside its value stays whole: a label the rules only begin."""
    out: list[_Placed] = []
    for box in band:
        parts = split(box.text)
        text = box.text.rstrip()
        value = parts[1].strip() if parts else ""
        if parts is None or not value or not parts[0].strip() or not text.endswith(value):
            out.append(box)
            continue
        cut = len(text) - len(value)
        head = text[:cut]
        separated = head != head.rstrip() or _COLON.fullmatch(head.rstrip()[-1:]) or value[0] in _DIGITS
        if not (separated or len(band) == 1):
            out.append(box)
            continue
        widths = [_weight(ch) for ch in text]
        at = box.x0 + sum(widths[:cut]) / (sum(widths) or 1.0) * box.width
        head = head.strip()
        head = head[:-1].rstrip() if _COLON.fullmatch(head[-1:]) else head
        out.append(_Placed(head, (box.x0 + at) / 2, box.cy, max(1.0, at - box.x0), box.height))
        out.append(_Placed(value, (at + box.x1) / 2, box.cy, max(1.0, box.x1 - at), box.height))
    return [b for b in out if b.text]


def _bands(boxes: list[_Placed]) -> list[list[_Placed]]:
    """Rows of boxes that overlap vertically (each box in one row), top to bottom. A two-line label
    beside a value centred on it, or a wrapped value beside its label, make one row."""
    bands: list[tuple[list[_Placed], float, float]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if bands:
            members, top, bottom = bands[-1]
            seed = members[0].height
            if _overlap(box.top, box.bottom, top, bottom) >= 0.3 * min(box.height, seed):
                members.append(box)
                bands[-1] = (members, min(top, box.top), max(bottom, box.bottom))
                continue
        bands.append(([box], box.top, box.bottom))
    return [members for members, _, _ in bands]


def _row_cells(band: list[_Placed], is_label: Callable[[str], bool]) -> list[_RowCell]:
    """A row's cells left to right: boxes stacked in one column are one cell."""
    cells: list[_RowCell] = []
    for box in sorted(band, key=lambda b: b.x0):
        home = next(
            (c for c in cells if _overlap(box.x0, box.x1, c.x0, c.x1) >= 0.5 * min(box.width, c.x1 - c.x0)),
            None,
        )
        if home is not None:
            home.boxes.append(box)
        else:
            cells.append(_RowCell([box]))
    for i, cell in enumerate(cells):
        cell.known = is_label(cell.text)
        cell.heading = cell.known or (len(cells) > 1 and i % 2 == 0)
    return cells


def _continues(cells: list[_RowCell], previous: list[_RowCell]) -> bool:
    """Whether a row is the wrapped continuation of the previous row's cells: each of its cells directly
    below one cell of that row, within its column span; under a value only when that row's label
    column is empty here; under a label only for a label's own next line."""
    if not previous or any(c.known for c in cells):
        return False
    under_label = under_value = False
    for cell in cells:
        above = [p for p in previous if _overlap(cell.x0, cell.x1, p.x0, p.x1) > 0]
        if len(above) != 1:
            return False
        target = above[0]
        height = max(b.height for b in cell.boxes)
        gap = min(b.top for b in cell.boxes) - target.bottom
        if gap > (0.5 if target.heading else 0.8) * height:
            return False
        if cell.x0 < target.x0 - 1.5 * height:
            return False  # starts left of the cell above: a line of its own
        if target.heading:
            under_label = True
        else:
            under_value = True
    return not (under_label and under_value)


def rows_without_rulings(boxes: list[_Placed], split: LabelSplit) -> list[list[str]]:
    """Table rows from deskewed OCR boxes alone: rows by vertical overlap (a box used once), a wrapped
    line joined to the cell above it; a known label with nothing to its right, or another label right
    of it, gets an empty value."""

    def is_label(text: str) -> bool:
        parts = split(text)
        return parts is not None and not parts[1].strip()

    rows: list[list[_RowCell]] = []
    for band in _bands(boxes):
        cells = _row_cells(_split_boxes(band, split), is_label)
        if rows and _continues(cells, rows[-1]):
            for cell in cells:
                target = next(p for p in rows[-1] if _overlap(cell.x0, cell.x1, p.x0, p.x1) > 0)
                target.boxes.extend(cell.boxes)
            continue
        rows.append(cells)
    texts: list[list[str]] = []
    for cells in rows:
        row: list[str] = []
        for i, cell in enumerate(cells):
            row.append(cell.text)
            following = cells[i + 1] if i + 1 < len(cells) else None
            if cell.known and (following is None or following.known):
                row.append("")  # a blank value: nothing or another label to its right
        texts.append(row)
    return texts

"""Read a scanned form's table on one page, in a worker process (see extractors.sandbox).

The page is loaded as the OCR saw it (turned upright the same way), its grid found (pipeline/grid.py),
and the page's OCR lines placed into the cells; without a grid, rows are built from the lines alone.
The result is a table block with rows, as pdfplumber gives for a PDF's ruled table (extractors/pdf.py
TableJob), so the form is read the same way whatever its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.model import Block
from pipeline.ruleset import FieldRule

if TYPE_CHECKING:  # OpenCV and numpy load in the worker that reads the grid
    import numpy as np

    from pipeline.grid import TextBox

GRID_DPI = 150  # rulings are a pixel or two wide at 150 dpi; finer costs time and finds nothing more
OcrBox = tuple[str, tuple[float, float, float, float], float]  # text, box (points, upright), line height


def upright(gray: np.ndarray, dpi: float, size: tuple[float, float], boxes: list[TextBox]) -> np.ndarray:
    """The page image turned as OCR turned it to read it: of the turns that give the page's upright
    size, the one whose text boxes sit on ink."""
    import cv2
    import numpy as np

    height, width = gray.shape
    scale = dpi / 72
    same = abs(width / scale - size[0]) <= 0.03 * size[0] + 2 and abs(height / scale - size[1]) <= 0.03 * size[1] + 2
    turns = [0, 2] if same else [1, 3]
    if not boxes:
        return gray if same else np.ascontiguousarray(np.rot90(gray, 1))
    best, best_score = gray, -1.0
    for k in turns:
        turned = np.ascontiguousarray(np.rot90(gray, k))
        dark = cv2.integral((255 - turned).astype(np.uint8))
        inside = area = 0.0
        for box in boxes:
            x0, y0, x1, y1 = (round(v * scale) for v in box.box)
            x0, x1 = max(0, min(x0, turned.shape[1])), max(0, min(x1, turned.shape[1]))
            y0, y1 = max(0, min(y0, turned.shape[0])), max(0, min(y1, turned.shape[0]))
            inside += float(dark[y1, x1] - dark[y0, x1] - dark[y1, x0] + dark[y0, x0])
            area += (x1 - x0) * (y1 - y0)
        score = inside / area if area else 0.0
        if score > best_score:
            best, best_score = turned, score
    return best


def read_page_table(
    path: Path, fmt: str, page: int, size: tuple[float, float], lines: tuple[OcrBox, ...], rules: tuple[FieldRule, ...]
) -> list[Block]:
    """The form's table on one scanned page as a table block (rows of cell texts)."""
    import cv2
    import numpy as np

    from extractors.ocr import load_page
    from pipeline.form import label_split
    from pipeline.grid import TextBox, find_grid, rows_without_rulings

    rgb, dpi = load_page(path, fmt, page, GRID_DPI)
    if dpi > 1.4 * GRID_DPI:
        factor = GRID_DPI / dpi
        rgb = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        dpi = GRID_DPI
    # The red channel: black rulings and text stay dark, a red seal over the table fades away.
    gray = np.ascontiguousarray(rgb[:, :, 0] if rgb.ndim == 3 else rgb)
    boxes = [TextBox(text, box, height) for text, box, height in lines]
    grid, _angle, outside = find_grid(upright(gray, dpi, size, boxes), dpi, boxes, size)
    if grid is not None:
        rows = grid.rows()
        bbox = grid.outline()
    else:
        rows = rows_without_rulings(outside, label_split(rules))
        bbox = None  # the whole page
    text = "\n".join("\t".join(c for c in row if c) for row in rows).strip()
    if not text:
        return []
    return [Block(text=text, kind="table", page=page, bbox=bbox, rows=rows, source="ocr")]


@dataclass(frozen=True)
class GridJob:
    """Read the table of one scanned page whose OCR lines are known (see extractors.sandbox)."""

    path: Path
    rel: str
    format: str
    page: int
    size: tuple[float, float]  # the upright page, points (as OCR read it)
    lines: tuple[OcrBox, ...]
    rules: tuple[FieldRule, ...]

    def run(self) -> tuple[str, list[Block]]:
        try:
            return self.rel, read_page_table(self.path, self.format, self.page, self.size, self.lines, self.rules)
        except Exception:  # a page whose grid cannot be read: its OCR lines are still paired in form.py
            return self.rel, []

    def failed(self, kind: str, reason: str, seconds: float) -> tuple[str, list[Block]]:
        return self.rel, []

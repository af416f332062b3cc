"""A scanned table's grid (pipeline/grid.py) on synthetic page images: rulings drawn with PIL, the page
turned by a known skew, OCR boxes placed where the text was drawn (no OCR: fast)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.model import Block, Document, Page
from fixtures.scans import transform_box
from fixtures.writers import FONT_PATH
from pipeline.figures import missing_fields
from pipeline.form import FormField, _pairs_from_rows, _split_line, label_split
from pipeline.form_grid import GridJob, read_page_table, upright
from pipeline.grid import (
    TextBox,
    cut_text,
    find_grid,
    ink_mask,
    place,
    rows_without_rulings,
    skew_from_boxes,
    skew_from_lines,
    skew_from_text,
)
from pipeline.ruleset import load_ruleset
from pipeline.scans import table_jobs

DPI = 150
S = DPI / 72
PAGE = (595.0, 842.0)
FONT_PT = 11.0
RULES = load_ruleset().form_fields
SPLIT = label_split(RULES)


@cache
def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, round(FONT_PT * S), index=0)


@dataclass
class Drawn:
    """A synthetic scanned page: its pixels and the OCR boxes of its text (points, as scanned)."""

    image: Image.Image
    boxes: list[TextBox] = field(default_factory=list)

    @property
    def gray(self) -> np.ndarray:
        return np.asarray(self.image.convert("L"))


def draw_table(
    xs: list[float],
    ys: list[float],
    cells: list[tuple[int, int, int, int, list[str]]],
    *,
    skew: float = 0.0,
    ruled: bool = True,
    ink: int = 20,
    rule_ink: int = 30,
    outside: tuple[str, ...] = ("山东省特色产业集群申请表",),
) -> Drawn:
    """A table (column and row rulings at `xs`, `ys` in points; cells as (row, col, rowspan, colspan,
    lines of text)) drawn on an A4 page, turned `skew` degrees counter-clockwise as a crooked scan."""
    size = (round(PAGE[0] * S), round(PAGE[1] * S))
    image = Image.new("L", size, 255)
    pen = ImageDraw.Draw(image)
    font = _font()
    clean: list[tuple[str, tuple[float, float, float, float]]] = []

    def text_at(x: float, y: float, text: str) -> None:
        pen.text((x * S, y * S), text, fill=ink, font=font, anchor="lm")
        left, _, right, _ = pen.textbbox((x * S, y * S), text, font=font, anchor="lm")
        half = FONT_PT * 1.35 / 2 * S  # a detector's box: about 1.35 times the font size, whatever the glyphs
        clean.append((text, (left, y * S - half, right, y * S + half)))

    for row, col, rowspan, colspan, lines in cells:
        x0, x1, top, bottom = xs[col], xs[col + colspan], ys[row], ys[row + rowspan]
        if ruled:
            pen.rectangle((x0 * S, top * S, x1 * S, bottom * S), outline=rule_ink, width=2)
        leading = FONT_PT * 1.45
        first = (top + bottom) / 2 - leading * (len(lines) - 1) / 2
        for i, line in enumerate(lines):
            text_at(x0 + 5, first + i * leading, line)
    for i, text in enumerate(outside):
        text_at(xs[0] + 80, ys[0] - 40 + 18 * i, text)
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    boxes = []
    for text, box in clean:
        x0, y0, x1, y1 = transform_box(box, size, skew=skew)
        boxes.append(TextBox(text, (x0 / S, y0 / S, x1 / S, y1 / S), FONT_PT * 1.35))
    return Drawn(image, boxes)


TWO_COLUMNS = ([72.0, 230.0, 523.0], [140.0, 166.0, 192.0, 228.0, 254.0, 290.0, 316.0])
TWO_COLUMN_CELLS = [
    (0, 0, 1, 1, ["集群名称"]),
    (0, 1, 1, 1, ["临朐县铝型材加工特色产业集群"]),
    (1, 0, 1, 1, ["申报单位"]),
    (1, 1, 1, 1, ["临朐县工业和信息化局"]),
    (2, 0, 1, 1, ["所在市/县（市、区）"]),
    (2, 1, 1, 1, ["山东省潍坊市临朐县城关街道冶源", "镇"]),  # a value wrapped in its cell
    (3, 0, 1, 1, ["集群内企业数（家）"]),
    (3, 1, 1, 1, ["182"]),
    (4, 0, 1, 1, ["年营业收入", "（亿元）"]),  # the unit on the label's second line
    (4, 1, 1, 1, ["412.6"]),
    (5, 0, 1, 1, ["集群区域面积"]),
    (5, 1, 1, 1, ["36.5", "平方公里"]),  # the unit on the value's second line
]
TWO_COLUMN_ROWS = [
    ["集群名称", "临朐县铝型材加工特色产业集群"],
    ["申报单位", "临朐县工业和信息化局"],
    ["所在市/县（市、区）", "山东省潍坊市临朐县城关街道冶源镇"],
    ["集群内企业数（家）", "182"],
    ["年营业收入（亿元）", "412.6"],
    ["集群区域面积", "36.5平方公里"],
]


@pytest.mark.parametrize("skew", [0.0, 1.5, -2.5, 3.0])
def test_two_column_grid_at_a_skew(skew: float) -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=skew)
    grid, angle, outside = find_grid(page.gray, DPI, page.boxes, PAGE)
    assert grid is not None
    assert angle == pytest.approx(-skew, abs=0.1)  # the grid's angle runs clockwise, Pillow's skew counter-clockwise
    assert grid.rows() == TWO_COLUMN_ROWS
    assert [b.text for b in outside] == ["山东省特色产业集群申请表"]
    x0, top, x1, bottom = grid.outline()  # on the page as scanned: the skewed table's box
    assert all(x0 <= b.centre[0] <= x1 and top <= b.centre[1] <= bottom for b in page.boxes[:-1])


def test_two_column_grid_pairs_as_a_form() -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=1.5)
    grid, _, _ = find_grid(page.gray, DPI, page.boxes, PAGE)
    assert grid is not None
    pairs = dict(_pairs_from_rows(grid.rows(), RULES))
    assert pairs["集群内企业数（家）"] == "182"
    assert pairs["年营业收入（亿元）"] == "412.6"


def test_four_columns_with_merged_and_blank_cells() -> None:
    xs, ys = [72.0, 171.0, 297.0, 396.0, 523.0], [140.0, 166.0, 192.0, 228.0, 254.0]
    cells = [
        (0, 0, 1, 1, ["集群名称"]),
        (0, 1, 1, 3, ["临朐县铝型材加工特色产业集群"]),  # spans three columns
        (1, 0, 1, 1, ["主导产业"]),
        (1, 1, 1, 1, ["铝型材加工"]),
        (1, 2, 1, 1, ["企业数量（户）"]),
        (1, 3, 1, 1, ["182"]),
        (2, 0, 1, 1, ["集群区域面积", "（平方公里）"]),
        (2, 1, 1, 1, []),  # blank
        (2, 2, 1, 1, ["年营业收入"]),
        (2, 3, 1, 1, ["412.6亿元"]),
        (3, 0, 1, 1, ["联系人"]),
        (3, 1, 1, 3, ["王建国"]),
    ]
    page = draw_table(xs, ys, cells, skew=-1.2)
    grid, _, _ = find_grid(page.gray, DPI, page.boxes, PAGE)
    assert grid is not None
    assert grid.rows() == [
        ["集群名称", "临朐县铝型材加工特色产业集群"],
        ["主导产业", "铝型材加工", "企业数量（户）", "182"],
        ["集群区域面积（平方公里）", "", "年营业收入", "412.6亿元"],
        ["联系人", "王建国"],
    ]
    assert _pairs_from_rows(grid.rows(), RULES)[3:5] == [("集群区域面积（平方公里）", ""), ("年营业收入", "412.6亿元")]


def test_a_heading_cell_spanning_rows_is_not_a_label() -> None:
    xs, ys = [72.0, 130.0, 260.0, 523.0], [140.0, 166.0, 192.0]
    cells = [
        (0, 0, 2, 1, ["基本", "情况"]),
        (0, 1, 1, 1, ["集群名称"]),
        (0, 2, 1, 1, ["临朐县铝型材加工特色产业集群"]),
        (1, 1, 1, 1, ["申报单位"]),
        (1, 2, 1, 1, ["临朐县工业和信息化局"]),
    ]
    page = draw_table(xs, ys, cells)
    grid, _, _ = find_grid(page.gray, DPI, page.boxes, PAGE)
    assert grid is not None
    assert grid.rows() == [["集群名称", "临朐县铝型材加工特色产业集群"], ["申报单位", "临朐县工业和信息化局"]]


def test_an_ocr_box_across_a_ruling_is_cut_at_it() -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS[:4])
    # OCR read the label and the value as one box running over the column's ruling at x = 230.
    label, value = page.boxes[2], page.boxes[3]
    joined = TextBox("申报单位临朐县工业和信息化局", (190.0, label.box[1], 347.0, label.box[3]), label.height)
    boxes = [page.boxes[0], page.boxes[1], joined]
    assert cut_text(joined.text, 190.0, 347.0, [230.0]) == ["申报单位", "临朐县工业和信息化局"]
    grid, _, _ = find_grid(page.gray, DPI, boxes, PAGE)
    assert grid is not None
    assert grid.rows()[1] == ["申报单位", "临朐县工业和信息化局"]
    assert value.text == "临朐县工业和信息化局"


def test_rulings_too_faint_to_see_leave_rows_by_overlap() -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=1.0, rule_ink=250)
    grid, angle, boxes = find_grid(page.gray, DPI, page.boxes, PAGE)
    assert grid is None
    assert angle == pytest.approx(-1.0, abs=0.2)  # from the rows of text
    rows = rows_without_rulings(boxes, SPLIT)
    assert rows[1:] == TWO_COLUMN_ROWS


@pytest.mark.parametrize("skew", [2.0, -2.5, 0.4])
def test_skew_from_lines_from_ocr_lines_and_from_text(skew: float) -> None:
    ruled = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=skew)
    assert skew_from_lines(ink_mask(ruled.gray, S), S) == pytest.approx(-skew, abs=0.08)
    bare = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=skew, ruled=False)
    ink = ink_mask(bare.gray, S)
    assert skew_from_lines(ink, S) is None
    assert skew_from_boxes(ink, S, bare.boxes) == pytest.approx(-skew, abs=0.15)
    assert skew_from_text(ink, S) == pytest.approx(-skew, abs=0.5)  # the last resort: no long OCR lines


def _boxes(*rows: tuple[float, list[tuple[float, str]]], height: float = 15.0) -> list[TextBox]:
    """OCR boxes: (y of the line's middle, [(x where the text starts, text)]), 11 pt characters."""
    out = []
    for y, items in rows:
        for x, text in items:
            out.append(TextBox(text, (x, y - height / 2, x + 11.0 * len(text), y + height / 2), height))
    return out


def test_borderless_rows() -> None:
    boxes = _boxes(
        (100, [(72, "集群名称"), (230, "临朐县铝型材加工特色产业集群")]),
        (126, [(72, "申报单位"), (230, "临朐县工业和信息化局（临朐县中小企业")]),
        (143, [(230, "发展服务中心）")]),  # wrapped: the label column is empty below
        (170, [(72, "所在市/县"), (230, "潍坊市临朐")]),
        (187, [(230, "县")]),
        (214, [(72, "集群区域面积（平方"), (230, "36.5")]),
        (231, [(72, "公里）")]),  # a label's own second line
        (258, [(72, "企业数量（户）"), (230, "182")]),
        (284, [(72, "年营业收入（亿元）")]),  # blank
        (310, [(72, "主导产业"), (230, "铝型材加工")]),  # its own row though close below the blank one
        (336, [(72, "联系人：王建国"), (300, "联系电话：0536-3212345")]),
    )
    rows = rows_without_rulings(place(boxes), SPLIT)
    assert rows == [
        ["集群名称", "临朐县铝型材加工特色产业集群"],
        ["申报单位", "临朐县工业和信息化局（临朐县中小企业发展服务中心）"],
        ["所在市/县", "潍坊市临朐县"],
        ["集群区域面积（平方公里）", "36.5"],
        ["企业数量（户）", "182"],
        ["年营业收入（亿元）", ""],
        ["主导产业", "铝型材加工"],
        ["联系人", "王建国", "联系电话", "0536-3212345"],
    ]


def test_borderless_value_is_the_nearest_box_in_its_own_row() -> None:
    # 4 columns; a blank value followed by the next label; the next row's label is not a value.
    boxes = _boxes(
        (100, [(72, "主导产业"), (180, "铝型材加工"), (300, "企业数量（户）"), (420, "182")]),
        (126, [(72, "申报单位"), (300, "集群名称"), (420, "临朐县铝型材")]),
        (143, [(420, "加工特色产业集群")]),
    )
    rows = rows_without_rulings(place(boxes), SPLIT)
    assert rows == [
        ["主导产业", "铝型材加工", "企业数量（户）", "182"],
        ["申报单位", "", "集群名称", "临朐县铝型材加工特色产业集群"],
    ]


def test_borderless_label_and_value_in_one_box() -> None:
    boxes = _boxes(
        (100, [(72, "集群名称临朐县铝型材加工特色产业集群")]),  # OCR joined the two cells: alone in its row
        (126, [(72, "主导产业类别"), (230, "铝型材加工")]),  # a label the rules only begin: kept whole
        (152, [(72, "集群内企业数（家）182")]),
        (178, [(72, "集群区域面积 36.5"), (300, "年营业收入：412.6亿元")]),
    )
    assert rows_without_rulings(place(boxes), SPLIT) == [
        ["集群名称", "临朐县铝型材加工特色产业集群"],
        ["主导产业类别", "铝型材加工"],
        ["集群内企业数（家）", "182"],
        ["集群区域面积", "36.5", "年营业收入", "412.6亿元"],
    ]


def test_borderless_rows_deskewed() -> None:
    # A page skewed by 2°: the value of a label sits 6 pt lower than its label, the next row 26 pt.
    angle = 2.0
    slope = np.tan(np.radians(angle))
    boxes = [
        TextBox(text, (x, y + x * slope - 8, x + 11 * len(text), y + (x + 11 * len(text)) * slope + 8), 15.0)
        for y, x, text in [
            (100, 72, "集群名称"),
            (100, 230, "临朐县铝型材加工特色产业集群"),
            (126, 72, "申报单位"),
            (126, 230, "临朐县工业和信息化局"),
        ]
    ]
    rows = rows_without_rulings(place(boxes, angle, (297.0, 421.0)), SPLIT)
    assert rows == [["集群名称", "临朐县铝型材加工特色产业集群"], ["申报单位", "临朐县工业和信息化局"]]


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("集群内企业数（家）", ("集群内企业数（家）", "")),
        ("集群内企业数（家）182", ("集群内企业数（家）", "182")),
        ("集群内企业数 182", ("集群内企业数", "182")),
        ("企业数量（户）182", ("企业数量（户）", "182")),
        ("年营业收入(亿元) 412.6", ("年营业收入(亿元)", "412.6")),
        ("集群名称临朐县铝型材加工特色产业集群", ("集群名称", "临朐县铝型材加工特色产业集群")),
        ("集群名称济南高新区（人工智能）特色产业集群", ("集群名称", "济南高新区（人工智能）特色产业集群")),
        ("集群名称：临朐县铝型材加工特色产业集群", ("集群名称", "临朐县铝型材加工特色产业集群")),
        ("铝型材加工", None),
    ],
)
def test_a_longer_label_is_not_cut_after_a_shorter_one(text: str, split: tuple[str, str] | None) -> None:
    assert _split_line(text, RULES) == split


def test_missing_figures_on_a_scan_ask_for_a_person() -> None:
    ruleset = load_ruleset()

    def field(label: str, text: str, ident: str, ocr: bool = True) -> FormField:
        return FormField(label=label, text=text, file="1.申请表.pdf", page=1, id=ident, ocr=ocr)

    found = [
        field("集群名称", "临朐县铝型材加工特色产业集群", "cluster_name"),
        field("集群区域面积（平方公里）", "—", "area_km2"),  # blank on purpose
        field("年营业收入（亿元）", "4l2.б", "annual_revenue_cny"),  # misread
    ]
    fields = {"cluster_name": "临朐县铝型材加工特色产业集群"}
    findings = {f.field: f for f in missing_fields(found, fields, ruleset, None)}
    assert findings["area_km2"].code == "FORM_FIELD_MISSING"
    assert findings["annual_revenue_cny"].code == "LOW_CONFIDENCE"
    assert findings["annual_revenue_cny"].severity == "warning"
    assert "“年营业收入”无法可靠识别" in findings["annual_revenue_cny"].message
    assert "请人工核对" in findings["annual_revenue_cny"].message
    assert findings["enterprise_count"].code == "LOW_CONFIDENCE"  # its label was not read at all
    typed = [field(f.label, f.text, f.id or "", ocr=False) for f in found]
    assert {f.code for f in missing_fields(typed, fields, ruleset, None)} == {"FORM_FIELD_MISSING"}


def test_red_seal_over_the_table_is_not_a_ruling(tmp_path: Path) -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS, skew=1.5)
    rgb = page.image.convert("RGB")
    pen = ImageDraw.Draw(rgb)
    for cx, cy in ((500 * S, 200 * S), (300 * S, 270 * S)):  # across the right border, across a row
        r = 57 * S
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(215, 35, 35), width=5)
    path = tmp_path / "form.png"
    rgb.save(path, dpi=(DPI, DPI))
    lines = tuple((b.text, b.box, b.height) for b in page.boxes)
    (table,) = read_page_table(path, "png", 1, PAGE, lines, RULES)
    assert table.rows == TWO_COLUMN_ROWS
    assert table.source == "ocr" and table.bbox is not None


def test_a_page_is_turned_as_ocr_turned_it() -> None:
    page = draw_table(*TWO_COLUMNS, TWO_COLUMN_CELLS)
    sideways = np.ascontiguousarray(np.rot90(page.gray, 3))  # fed sideways: OCR turned it back by 90°
    assert np.array_equal(upright(sideways, DPI, PAGE, page.boxes), page.gray)
    assert np.array_equal(upright(np.ascontiguousarray(np.rot90(page.gray, 2)), DPI, PAGE, page.boxes), page.gray)


def test_scanned_pages_that_look_like_the_form_get_a_grid_job() -> None:
    ruleset = load_ruleset()
    doc = Document(path="扫描件001.pdf", sha256="0", format="pdf")
    doc.pages = [Page(n, 595.0, 842.0, 0, needs_ocr=True, ocr_confidence=0.95) for n in (1, 2, 3, 4, 5)]

    def line(page: int, text: str, y: float) -> Block:
        return Block(text, "line", page, bbox=(72.0, y, 72.0 + 11 * len(text), y + 15), font_size=11.0, source="ocr")

    doc.blocks = [
        line(1, "山东省特色产业集群申请表", 80),  # titled: this page and the next
        line(1, "集群名称", 140),
        line(2, "联系人", 140),
        line(3, "发展情况简介", 80),
        line(4, "企业数量（户）", 140),  # three of the form's labels: a form page of its own
        line(4, "年营业收入（亿元）", 166),
        line(4, "主导产业", 192),
        line(5, "集群区域面积在100平方公里以内", 80),
    ]
    jobs = table_jobs([doc], {doc.path: Path("/nonexistent.pdf")}, ruleset)
    assert [(type(j).__name__, j.page) for j in jobs] == [("GridJob", 1), ("GridJob", 2), ("GridJob", 4)]
    job = jobs[0]
    assert isinstance(job, GridJob) and job.size == (595.0, 842.0)
    assert job.lines[0][0] == "山东省特色产业集群申请表" and job.lines[0][2] == pytest.approx(11 * 1.35)
    assert job.run() == (doc.path, [])  # a file that cannot be read costs its table only

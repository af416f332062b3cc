"""Seal detection on synthetic declaration pages drawn with ``fixtures.seals``."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from fixtures.seals import (
    FONT_PATH,
    draw_grey_seal,
    draw_red_box,
    draw_red_logo,
    draw_red_table,
    draw_red_text,
    draw_seal,
)
from pipeline.seals import Seal, find_seals, seal_crop

UNIT = "临朐县工业和信息化局"
BODY = [
    "本单位郑重声明：所报山东省特色产业集群申报材料",
    "真实、准确、完整，不存在虚报、瞒报等情况，如有",
    "不实，本单位愿承担相应责任。",
]
BBox = tuple[int, int, int, int]


def px(cm: float, dpi: int) -> int:
    return round(cm / 2.54 * dpi)


def page(dpi: int) -> Image.Image:
    """A white A4 authenticity declaration with black text where the seal usually goes."""
    w, h = px(21.0, dpi), px(29.7, dpi)
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    title = ImageFont.truetype(FONT_PATH, px(0.8, dpi), index=0)
    body = ImageFont.truetype(FONT_PATH, px(0.55, dpi), index=0)
    draw.text((px(6.5, dpi), px(3.0, dpi)), "申报材料真实性声明", font=title, fill="black")
    for i, line in enumerate(BODY * 3):
        draw.text((px(2.5, dpi), px(5.0 + 1.0 * i, dpi)), line, font=body, fill="black")
    for i, line in enumerate([f"申报单位（盖章）：{UNIT}", "负责人签字：", "2024年5月20日"]):
        draw.text((px(10.0, dpi), px(16.5 + 1.2 * i, dpi)), line, font=body, fill=(20, 20, 20))
    return img


def seal_spot(dpi: int) -> tuple[int, int]:
    """Over the 盖章 line, overlapping the unit's name and the signature line."""
    return px(14.5, dpi), px(17.3, dpi)


def iou(a: BBox, b: BBox) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def degrade(img: Image.Image, *, seed: int = 0, angle: float = 2.0, quality: int = 40) -> Image.Image:
    """A poor scan: lowered contrast, grey paper, sensor noise, a slight skew, heavy JPEG."""
    rng = np.random.default_rng(seed)
    img = ImageEnhance.Contrast(img).enhance(0.6)
    arr = np.asarray(img, dtype=np.float32) * 0.93  # paper scans a little grey
    arr += rng.normal(0.0, 7.0, arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img = img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(236, 236, 236))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def assert_found(seals: list[Seal], drawn: BBox, diameter_mm: float | None = None) -> Seal:
    assert seals, "no seal found"
    best = max(seals, key=lambda s: iou(s.bbox, drawn))
    assert iou(best.bbox, drawn) > 0.5, (best, drawn)
    assert 0.0 <= best.score <= 1.0
    if diameter_mm is not None:
        assert abs(best.diameter_mm - diameter_mm) <= 0.15 * diameter_mm, (best, diameter_mm)
    return best


@pytest.mark.parametrize("dpi", [150, 200])
@pytest.mark.parametrize("cm", [3.5, 4.0, 4.5])
def test_seal_over_text_is_found(dpi: int, cm: float) -> None:
    img = page(dpi)
    drawn = draw_seal(img, seal_spot(dpi), px(cm, dpi), UNIT, rotation_deg=8, seed=int(cm * 10))
    seals = find_seals(img, dpi)
    assert len(seals) == 1
    assert_found(seals, drawn, cm * 10)


@pytest.mark.parametrize("dpi", [150, 200])
def test_numpy_input_and_crop(dpi: int) -> None:
    img = page(dpi)
    drawn = draw_seal(img, seal_spot(dpi), px(4.2, dpi), UNIT, subtitle="专用章")
    arr = np.asarray(img)
    seal = assert_found(find_seals(arr, dpi), drawn, 42.0)
    crop = seal_crop(arr, seal)
    w, h = seal.bbox[2] - seal.bbox[0], seal.bbox[3] - seal.bbox[1]
    assert crop.mode == "RGB"
    assert crop.width == pytest.approx(w * 1.2, abs=3) and crop.height == pytest.approx(h * 1.2, abs=3)


@pytest.mark.parametrize("dpi", [150, 200])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faded_seal_is_found(dpi: int, seed: int) -> None:
    img = page(dpi)
    drawn = draw_seal(img, seal_spot(dpi), px(4.0, dpi), UNIT, fade=0.6, color=(225, 70, 90), seed=seed)
    assert_found(find_seals(img, dpi), drawn, 40.0)


@pytest.mark.parametrize("dpi", [150, 200])
def test_rotated_oval_seal_is_found(dpi: int) -> None:
    img = page(dpi)
    name = "临朐县铝型材行业协会"
    drawn = draw_seal(img, seal_spot(dpi), px(4.5, dpi), name, oval=0.68, rotation_deg=25, seed=4)
    seals = find_seals(img, dpi)
    assert len(seals) == 1
    assert_found(seals, drawn, 45.0)


def test_orange_red_seal_is_found() -> None:
    img = page(150)
    drawn = draw_seal(img, seal_spot(150), px(4.0, 150), UNIT, color=(235, 95, 40), seed=5)
    assert_found(find_seals(img, 150), drawn, 40.0)


@pytest.mark.parametrize("dpi", [150, 200])
def test_two_seals_on_a_page(dpi: int) -> None:
    img = page(dpi)
    a = draw_seal(img, seal_spot(dpi), px(4.2, dpi), UNIT, rotation_deg=-6, seed=6)
    b = draw_seal(img, (px(5.5, dpi), px(23.0, dpi)), px(4.0, dpi), "潍坊市工业和信息化局", fade=0.3, seed=7)
    seals = find_seals(img, dpi)
    assert len(seals) == 2
    assert_found(seals, a, 42.0)
    assert_found(seals, b, 40.0)
    assert seals[0].score >= seals[1].score


def _decoys(img: Image.Image, dpi: int) -> None:
    """Every red (or seal-like) thing that is not a seal, placed away from the 盖章 spot."""
    draw_red_text(img, (px(2.5, dpi), px(1.0, dpi)), "临朐县工业和信息化局文件", px(1.2, dpi))
    draw_red_text(img, (px(2.5, dpi), px(14.0, dpi)), "（此页无正文）", px(0.6, dpi), color=(220, 60, 60))
    draw_red_text(img, (px(14.0, dpi), px(12.0, dpi)), "盖章", px(1.8, dpi))  # a large two-character word
    ImageDraw.Draw(img).line((px(2.5, dpi), px(2.8, dpi), px(18.5, dpi), px(2.8, dpi)), fill=(210, 30, 30), width=4)
    draw_red_logo(img, (px(3.0, dpi), px(22.0, dpi)), px(1.5, dpi), seed=0)
    draw_red_logo(img, (px(5.5, dpi), px(22.0, dpi)), px(1.5, dpi), seed=1)
    draw_red_logo(img, (px(8.0, dpi), px(22.0, dpi)), px(1.8, dpi), seed=11)  # seeds 0/1/11: disc, diamond, square
    draw_red_table(img, (px(2.5, dpi), px(24.0, dpi), px(18.5, dpi), px(28.0, dpi)), 3, 4)
    draw_red_box(img, (px(10.5, dpi), px(20.0, dpi), px(14.5, dpi), px(23.5, dpi)))
    draw_red_box(img, (px(15.0, dpi), px(20.0, dpi), px(19.0, dpi), px(24.0, dpi)), width=6)  # a square
    draw_grey_seal(img, (px(5.5, dpi), px(17.5, dpi)), px(4.2, dpi), UNIT)


DECOYS = {
    "red_heading": lambda img, dpi: draw_red_text(
        img, (px(2.5, dpi), px(1.0, dpi)), "临朐县工业和信息化局文件", px(1.2, dpi)
    ),
    "big_red_word": lambda img, dpi: draw_red_text(img, (px(12.0, dpi), px(16.0, dpi)), "盖章", px(1.8, dpi)),
    "red_rule": lambda img, dpi: ImageDraw.Draw(img).line(
        (px(2.5, dpi), px(2.8, dpi), px(18.5, dpi), px(2.8, dpi)), fill=(210, 30, 30), width=4
    ),
    "red_logo_square": lambda img, dpi: draw_red_logo(img, seal_spot(dpi), px(1.5, dpi), seed=11),
    "red_logo_disc": lambda img, dpi: draw_red_logo(img, seal_spot(dpi), px(1.8, dpi), seed=0),
    "red_table": lambda img, dpi: draw_red_table(
        img, (px(2.5, dpi), px(20.0, dpi), px(18.5, dpi), px(28.0, dpi)), 4, 4
    ),
    "red_box": lambda img, dpi: draw_red_box(img, (px(12.5, dpi), px(15.5, dpi), px(16.5, dpi), px(19.0, dpi))),
    "red_square": lambda img, dpi: draw_red_box(img, (px(12.5, dpi), px(15.5, dpi), px(16.5, dpi), px(19.5, dpi))),
    "grey_seal": lambda img, dpi: draw_grey_seal(img, seal_spot(dpi), px(4.2, dpi), UNIT),
    # beyond the brief's list: things the sweeps showed to be close calls
    "brownish_copy": lambda img, dpi: draw_seal(img, seal_spot(dpi), px(4.0, dpi), UNIT, color=(95, 80, 72)),
    "empty_red_ring": lambda img, dpi: ImageDraw.Draw(img).ellipse(
        (px(12.5, dpi), px(15.3, dpi), px(16.5, dpi), px(19.3, dpi)), outline=(210, 40, 40), width=px(0.16, dpi)
    ),
    "big_red_disc": lambda img, dpi: draw_red_logo(img, seal_spot(dpi), px(4.0, dpi), seed=2),
    "red_boxed_stamp": lambda img, dpi: (
        draw_red_box(img, (px(12.5, dpi), px(15.5, dpi), px(16.5, dpi), px(18.0, dpi)), width=5),
        draw_red_text(img, (px(13.0, dpi), px(16.2, dpi)), "已审核", px(0.9, dpi)),
    ),
}


@pytest.mark.parametrize("dpi", [150, 200])
@pytest.mark.parametrize("decoy", sorted(DECOYS))
def test_decoy_alone_is_not_a_seal(decoy: str, dpi: int) -> None:
    img = page(dpi)
    DECOYS[decoy](img, dpi)
    assert find_seals(img, dpi) == []


@pytest.mark.parametrize("dpi", [150, 200])
def test_all_decoys_together_are_not_seals(dpi: int) -> None:
    img = page(dpi)
    _decoys(img, dpi)
    assert find_seals(img, dpi) == []
    assert find_seals(degrade(img), dpi) == []


@pytest.mark.parametrize("dpi", [150, 200])
def test_decoys_plus_a_seal_give_exactly_the_seal(dpi: int) -> None:
    img = page(dpi)
    _decoys(img, dpi)
    drawn = draw_seal(img, seal_spot(dpi), px(4.0, dpi), UNIT, fade=0.2, seed=8)
    seals = find_seals(img, dpi)
    assert len(seals) == 1
    assert_found(seals, drawn, 40.0)


def test_seal_touching_a_red_table_is_found() -> None:
    # A seal stamped across a red-ruled form merges with the rules; the line-removal retry finds it.
    img = page(150)
    draw_red_table(img, (px(2.5, 150), px(20.0, 150), px(18.5, 150), px(27.0, 150)), 4, 3)
    drawn = draw_seal(img, (px(14.0, 150), px(21.0, 150)), px(4.0, 150), UNIT, seed=9)
    seals = find_seals(img, 150)
    assert len(seals) == 1
    assert_found(seals, drawn, 40.0)


@pytest.mark.parametrize("dpi", [150, 200])
@pytest.mark.parametrize("fade", [0.0, 0.4])
def test_poor_scan_still_found(dpi: int, fade: float) -> None:
    img = page(dpi)
    drawn = draw_seal(img, seal_spot(dpi), px(4.0, dpi), UNIT, fade=fade, rotation_deg=-12, seed=10)
    scan = degrade(img, seed=dpi)
    # the 2° skew about the page centre moves the seal a little; the drawn bbox still overlaps well
    seals = find_seals(scan, dpi)
    assert len(seals) == 1
    assert_found(seals, drawn, 40.0)


@pytest.mark.parametrize("dpi", [150, 200])
def test_blank_and_text_only_pages_have_no_seal(dpi: int) -> None:
    blank = Image.new("RGB", (px(21.0, dpi), px(29.7, dpi)), "white")
    assert find_seals(blank, dpi) == []
    assert find_seals(degrade(blank), dpi) == []
    assert find_seals(page(dpi), dpi) == []
    assert find_seals(np.zeros((5, 5, 3), np.uint8), dpi) == []


def test_unknown_dpi_assumes_a4() -> None:
    img = page(200)
    drawn = draw_seal(img, seal_spot(200), px(4.0, 200), UNIT)
    assert_found(find_seals(img, 0), drawn, 40.0)


def test_timing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    # Loose budget (well under 0.2 s for a 200-dpi A4 page); printed only, machines differ.
    img = page(200)
    _decoys(img, 200)
    draw_seal(img, seal_spot(200), px(4.0, 200), UNIT, fade=0.3)
    arr = np.asarray(img)
    find_seals(arr, 200)
    runs = 5
    t = time.perf_counter()
    for _ in range(runs):
        find_seals(arr, 200)
    ms = (time.perf_counter() - t) / runs * 1000
    with capsys.disabled():
        print(f"\nfind_seals, 200-dpi A4 page with decoys and a seal: {ms:.1f} ms")

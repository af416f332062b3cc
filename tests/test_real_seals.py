"""Seals where they really occur: the labelled real documents (../shared/corpus/real/seals.tsv), every
page of the scanned fixtures against their truth, the pictures of a Word file in body order, and
`dossier seals FILE…` (in-process and as the console script)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document as WordDocument
from docx.oxml import parse_xml
from docx.shared import Cm
from PIL import Image

from cli.main import main
from extractors import read_file
from extractors.seal import SealJob, SealPlanJob
from fixtures.seals import draw_seal
from tests.test_seals import UNIT, iou, page, px, seal_spot, vector_sealed_pdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "real"
LABELS = CORPUS / "seals.tsv"
SCANNED = ROOT / "fixtures" / "scanned"
DOSSIER = str(Path(sys.executable).with_name("dossier"))


def _labelled() -> list[tuple[str, int]]:
    if not LABELS.is_file():
        return []
    with LABELS.open(encoding="utf-8") as handle:
        return [(row["file"], int(row["red_seals"])) for row in csv.DictReader(handle, delimiter="\t")]


def seals_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """`dossier seals ARGS` in-process: exit code 0 and its JSON."""
    assert main(["seals", *args]) == 0
    return json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------------------------------
# the labelled real documents
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_results() -> dict[str, dict[str, Any]]:
    """Every labelled file through `dossier seals`, once."""
    files = [str(CORPUS / name) for name, _ in _labelled()]
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        assert main(["seals", *files]) == 0
    finally:
        sys.stdout = stdout
    return {Path(r["file"]).relative_to(CORPUS).as_posix(): r for r in json.loads(out.getvalue())}


@pytest.mark.skipif(not LABELS.is_file(), reason=f"the labelled real documents are not here: {LABELS}")
@pytest.mark.parametrize(("name", "count"), _labelled() or [("-", 0)])
def test_labelled_real_document(real_results: dict[str, dict[str, Any]], name: str, count: int) -> None:
    # Real seals: ovals on invoices (a photo whose file says 72 dpi among them), pink faded round seals
    # over a table and handwriting, a vector seal in a born-digital 公文; and none on a black-and-white
    # copy, hand-drawn red circles, scanned tables and forms, red-header 公文.
    report = real_results[name]
    assert "error" not in report
    seals = [seal for p in report["pages"] for seal in p["seals"]]
    assert len(seals) == count, (name, seals)
    for seal in seals:
        assert 0.5 <= seal["score"] <= 1.0
        assert seal["shape"] in ("round", "oval")
        x0, y0, x1, y1 = seal["box"]
        assert x1 > x0 and y1 > y0
    if name.startswith("scans/invoice"):
        assert all(seal["shape"] == "oval" for seal in seals)  # 发票监制章 and 发票专用章


# --------------------------------------------------------------------------------------------------
# the scanned fixtures: every page of every scan, not only the pages that mention sealing
# --------------------------------------------------------------------------------------------------


def _expected_seals(want: dict[str, Any]) -> dict[tuple[str, int], list[list[float]]]:
    """(file, page) → the boxes of the seals on it (points for a PDF, pixels for an image)."""
    items = want["items"]
    expected: dict[tuple[str, int], list[list[float]]] = {}
    declaration = items["authenticity_declaration"]
    seal = declaration.get("seal") or {}
    for loc in declaration.get("locations", []):
        first, last = loc["pages"] or [1, 1]
        for number in range(first, last + 1):
            expected.setdefault((loc["file"], number), [])
        if seal.get("present"):
            expected[(loc["file"], seal["page"])].append(seal.get("bbox_pt") or seal["bbox_px"])
    form = items["application_form"]
    for s in form.get("seals", []):
        expected.setdefault((form["locations"][0]["file"], s["page"]), []).append(s.get("bbox_pt") or s["bbox_px"])
    for cert in items["brand_evidence"].get("certificates", []):
        expected.setdefault((cert["file"], 1), []).append(cert["seal_bbox_px"])
    return expected


def test_scanned_fixtures_every_page(tmp_path: Path) -> None:
    truth = json.loads((SCANNED / "truth.json").read_text(encoding="utf-8"))["dossiers"]
    checked = 0
    for dossier_id, want in sorted(truth.items()):
        source = next(p for p in (SCANNED / "dossiers").iterdir() if p.name in (dossier_id, f"{dossier_id}.zip"))
        if source.suffix == ".zip":
            zipfile.ZipFile(source).extractall(tmp_path / dossier_id)
            files = {p.relative_to(tmp_path / dossier_id).as_posix(): p for p in (tmp_path / dossier_id).rglob("*")}
        elif source.is_file():
            files = {source.name: source}
        else:
            files = {p.relative_to(source).as_posix(): p for p in source.rglob("*")}
        expected = _expected_seals(want)
        for rel, path in sorted(files.items()):
            plan = SealPlanJob(path).run() if path.is_file() else None
            if plan is None or plan.error or plan.format == "docx":
                continue
            for number in range(1, plan.pages + 1):
                result = SealJob(path, rel, plan.format, number, pixels=plan.format != "pdf").run()
                assert result.error is None
                want_boxes = expected.get((rel, number), [])
                got = [m.bbox for m in result.seals]
                assert len(got) == len(want_boxes), (dossier_id, rel, number, got, want_boxes)
                for box in want_boxes:
                    assert any(iou(g, box) > 0.5 for g in got), (dossier_id, rel, number, got, box)  # type: ignore[arg-type]
                checked += 1
    assert checked >= 25


# --------------------------------------------------------------------------------------------------
# Word pictures, in body order
# --------------------------------------------------------------------------------------------------

_NSDECLS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"'
)


def _png(img: Image.Image) -> io.BytesIO:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _seal_picture(seed: int) -> Image.Image:
    """A scanned seal cut out for pasting: 4.2 cm at ~180 dpi on white."""
    img = Image.new("RGB", (320, 320), "white")
    draw_seal(img, (160, 160), 298, UNIT, seed=seed)
    return img


def _vml(rid: str) -> str:
    return (
        f'<w:pict {_NSDECLS}><v:shape style="width:119pt;height:119pt"><v:imagedata r:id="{rid}"/></v:shape></w:pict>'
    )


def word_with_pictures(path: Path) -> None:
    """Pictures in every way Word stores them, in this body order: 0 a photo (no seal); 1 a seal inline
    in a table cell; 2 a seal as legacy VML; 3 a floating seal (wp:anchor); 4 a seal stored twice, as a
    drawing and as its VML fallback (mc:AlternateContent: one picture); 5 a blank picture."""
    doc = WordDocument()
    doc.add_paragraph("申报材料真实性声明")
    plain = Image.new("RGB", (400, 300), (200, 205, 210))
    doc.add_paragraph().add_run().add_picture(_png(plain), width=Cm(6))
    doc.add_table(rows=1, cols=2).cell(0, 1).paragraphs[0].add_run().add_picture(_png(_seal_picture(1)), width=Cm(4.6))
    rid, _ = doc.part.get_or_add_image(_png(_seal_picture(2)))
    doc.add_paragraph("申报单位（盖章）：").add_run()._r.append(parse_xml(_vml(rid)))
    run = doc.add_paragraph(f"{UNIT}").add_run()
    run.add_picture(_png(_seal_picture(3)), width=Cm(4.6))
    inline = run._r.find(".//{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}inline")
    anchor = parse_xml(
        f'<wp:anchor {_NSDECLS} distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="2" '
        'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        '<wp:positionH relativeFrom="column"><wp:posOffset>2500000</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="paragraph"><wp:posOffset>-600000</wp:posOffset></wp:positionV></wp:anchor>'
    )
    for child in list(inline):
        if child.tag.endswith("}extent"):
            anchor.append(child)
            anchor.append(parse_xml(f"<wp:wrapNone {_NSDECLS}/>"))
        elif not child.tag.endswith("}effectExtent"):
            anchor.append(child)
    inline.getparent().replace(inline, anchor)
    twice = doc.add_paragraph("2024年5月20日").add_run()
    twice.add_picture(_png(_seal_picture(4)), width=Cm(4.6))
    drawing = twice._r.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}drawing")
    rid4 = drawing.find(".//{http://schemas.openxmlformats.org/drawingml/2006/main}blip").get(
        "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
    )
    alternate = parse_xml(
        f'<mc:AlternateContent {_NSDECLS}><mc:Choice Requires="wps"/><mc:Fallback>{_vml(rid4)}</mc:Fallback>'
        "</mc:AlternateContent>"
    )
    twice._r.replace(drawing, alternate)
    alternate[0].append(drawing)
    doc.add_paragraph().add_run().add_picture(_png(Image.new("RGB", (200, 100), "white")), width=Cm(3))
    doc.save(str(path))


def test_word_pictures_numbered_in_body_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "声明.docx"
    word_with_pictures(path)
    result = SealJob(path, path.name, "docx", 0).run()
    assert result.error is None and result.pictures == 6 and not result.unreadable
    assert sorted(m.picture for m in result.seals) == [1, 2, 3, 4]
    for mark in result.seals:
        assert mark.page is None and mark.diameter_mm == pytest.approx(42.0, rel=0.15)
        assert mark.crop_png.startswith(b"\x89PNG")
    # the Word reader numbers its picture blocks by the same order
    doc = read_file(path, path.name, "", path.stat().st_size)
    assert [b.picture for b in doc.blocks if b.kind == "figure"] == list(range(6))
    # `dossier seals`: one entry per picture, page null, boxes in the picture's pixels
    report = seals_json(capsys, str(path))
    assert report["format"] == "docx" and report["unit"] == "px"
    assert [(p["page"], p["picture"], len(p["seals"])) for p in report["pages"]] == [
        (None, 0, 0),
        (None, 1, 1),
        (None, 2, 1),
        (None, 3, 1),
        (None, 4, 1),
        (None, 5, 0),
    ]
    x0, y0, x1, y1 = report["pages"][1]["seals"][0]["box"]
    assert iou((x0, y0, x1, y1), (11, 11, 309, 309)) > 0.8


# --------------------------------------------------------------------------------------------------
# dossier seals
# --------------------------------------------------------------------------------------------------


def test_seals_command_pdf_in_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = tmp_path / "声明.pdf"
    cx, cy = vector_sealed_pdf(pdf, 42.0)
    report = seals_json(capsys, str(pdf))
    assert report["file"] == str(pdf) and report["format"] == "pdf" and report["unit"] == "pt"
    assert [p["page"] for p in report["pages"]] == [1]
    (seal,) = report["pages"][0]["seals"]
    r = 42.0 / 25.4 * 72 / 2
    assert iou(seal["box"], (cx - r, cy - r, cx + r, cy + r)) > 0.8  # top-left origin, points
    assert seal["shape"] == "round" and 0.5 <= seal["score"] <= 1.0


def test_seals_command_tiff_pages_in_pixels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = page(150)
    drawn = draw_seal(first, seal_spot(150), px(4.2, 150), UNIT, seed=5)
    tiff = tmp_path / "扫描件.tif"
    first.save(tiff, save_all=True, append_images=[page(150)], dpi=(150, 150), compression="tiff_lzw")
    report = seals_json(capsys, str(tiff))
    assert report["format"] == "tif" and report["unit"] == "px"
    assert [(p["page"], len(p["seals"])) for p in report["pages"]] == [(1, 1), (2, 0)]
    assert iou(report["pages"][0]["seals"][0]["box"], drawn) > 0.7


def test_seals_command_bad_files_and_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "损坏.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\n" + bytes(range(256)) * 4)
    empty = tmp_path / "空.png"
    empty.write_bytes(b"")
    sheet = tmp_path / "表.txt"
    sheet.write_text("不是图片", encoding="utf-8")
    reports = seals_json(capsys, str(corrupt), str(empty), str(sheet))
    assert isinstance(reports, list) and [r["file"] for r in reports] == [str(corrupt), str(empty), str(sheet)]
    assert all(set(r) == {"file", "error"} and r["error"] for r in reports)
    assert "损坏" in reports[0]["error"] and "空" in reports[1]["error"]
    # too slow: an error object, not a hang or a traceback
    pdf = tmp_path / "慢.pdf"
    vector_sealed_pdf(pdf)
    (slow,) = [seals_json(capsys, "--timeout", "0.001", str(pdf))]
    assert set(slow) == {"file", "error"} and "秒" in slow["error"]
    # bad arguments: exit 2, the reason in Chinese on stderr
    assert main(["seals", str(tmp_path / "没有这个文件.pdf")]) == 2
    assert "找不到文件" in capsys.readouterr().err
    assert main(["seals", str(tmp_path)]) == 2
    assert "不是文件" in capsys.readouterr().err
    assert main(["seals"]) == 2
    capsys.readouterr()


def test_seals_console_script(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    vector_sealed_pdf(pdf)
    png = tmp_path / "b.png"
    img = page(150)
    draw_seal(img, seal_spot(150), px(4.0, 150), UNIT)
    img.save(png, dpi=(150, 150))
    done = subprocess.run([DOSSIER, "seals", str(pdf), str(png)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [len(r["pages"][0]["seals"]) for r in reports] == [1, 1]
    assert [r["unit"] for r in reports] == ["pt", "px"]
    missing = subprocess.run([DOSSIER, "seals", str(tmp_path / "x.pdf")], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "找不到文件" in missing.stderr

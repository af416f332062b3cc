"""OCR of scanned pages: a few small pages only (OCR is the slow part; whole scanned dossiers are
checked by `make bench` and the scanned-fixture acceptance in scripts/scanned.py)."""

from __future__ import annotations

import difflib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from core.text import count_words, normalize
from extractors import read_file
from extractors.ocr import ocr_page, recognise
from extractors.pdf import ocr_reason
from extractors.sandbox import ExtractionPool
from fixtures.scans import scanned_page
from fixtures.writers import FONT, FONT_PATH, _register_font
from pipeline.engine import check_dossier
from pipeline.ruleset import load_ruleset
from pipeline.scans import merge_ocr, ocr_jobs


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, "".join(a.split()), "".join(b.split())).ratio()


def _image_pdf(path: Path, images: list[Image.Image], dpi: int = 150) -> Path:
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
    return path


def _ocr_text(path: Path, number: int, cache: Path) -> tuple[str, object]:
    page = ocr_page(path, path.name, "pdf", number, cache=cache)
    return "\n".join(line.text for line in page.lines), page


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ocr-cache")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no_text"),
        ("第1页", "no_text"),
        ("ÖÐ¹úÌØÉ«²úÒµ¼¯Èº·¢Õ¹Çé¿ö¼ò½é" * 3, "garbage"),
        ("\ue001\ue002\ue003\ue004" * 10, "garbage"),
        ("临朐县铝型材产业起步于上世纪八十年代初期，最初以乡镇企业回收废旧铝材、手工加工门窗料为主。", None),
    ],
)
def test_text_layers_that_need_ocr(text: str, reason: str | None) -> None:
    assert ocr_reason(text, image_cover=0.0) == reason  # no page-sized picture under the text


def test_a_page_sized_image_with_stray_characters_needs_ocr(tmp_path: Path) -> None:
    image, _ = scanned_page("introduction", seed=1, dpi=100)
    path = _image_pdf(tmp_path / "s.pdf", [image], dpi=100)
    doc = read_file(path, "s.pdf", "-", 0)
    assert doc.pages is not None and doc.pages[0].needs_ocr and doc.pages[0].ocr_reason == "no_text"
    assert doc.pages[0].image_cover > 0.9  # the scan fills the page
    assert ocr_reason("扫描页码 第3页 共12页 ABC" * 2, doc.pages[0].image_cover) == "image_page"


def test_a_scanned_page_reads_like_its_text_and_is_cached(tmp_path: Path, cache: Path) -> None:
    image, truth = scanned_page("introduction", seed=0, skew=1.2, noise=6.0)
    path = _image_pdf(tmp_path / "扫描件.pdf", [image])
    text, first = _ocr_text(path, 1, cache)
    assert _similarity(text, str(truth["text"])) > 0.95
    assert abs(count_words(text) - count_words(str(truth["text"]))) <= 0.02 * count_words(str(truth["text"]))
    again, second = _ocr_text(path, 1, cache)
    assert second.cached and not first.cached  # type: ignore[attr-defined]
    assert again == text
    # With the file's hash, a re-run finds the result without rendering the page again.
    ocr_page(path, path.name, "pdf", 1, cache=cache, file_sha256="f" * 64)
    shortcut = ocr_page(path.with_name("gone.pdf"), path.name, "pdf", 1, cache=cache, file_sha256="f" * 64)
    assert shortcut.cached and [line.text for line in shortcut.lines] == text.splitlines()


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_turned_pages_are_read_upright(tmp_path: Path, cache: Path, rotate: int) -> None:
    image, truth = scanned_page("authenticity_declaration", seed=2, rotate=rotate, seal=False)
    path = _image_pdf(tmp_path / "turned.pdf", [image])
    text, page = _ocr_text(path, 1, cache)
    assert page.rotation in (90, 180, 270)  # type: ignore[attr-defined]
    assert page.height > page.width  # type: ignore[attr-defined]  # upright A4
    assert text.splitlines()[0].replace(" ", "") == truth["title"]
    assert _similarity(text, str(truth["text"])) > 0.9


def test_orientation_is_decided_from_one_detection() -> None:
    """A turned page is detected once as it lies; its boxes and the line classifier give the turn, so
    the page is read once, upright: one recognition of each line, never a read of a wrong turn."""
    from extractors import ocr

    image, _ = scanned_page("introduction", seed=5, seal=False)
    rgb = np.asarray(image.convert("RGB"))
    engine = ocr.engine(1)
    counted = {"lines": 0}
    real = engine.recognize_txt

    def counting(crops: list[np.ndarray]) -> object:
        counted["lines"] += len(crops)
        return real(crops)

    for k, turn in ((0, 0), (1, 270), (2, 180), (3, 90)):
        counted["lines"] = 0
        engine.recognize_txt = counting
        try:
            reading = ocr.read_page(np.ascontiguousarray(np.rot90(rgb, k=k)))
        finally:
            del engine.recognize_txt
        assert reading.turn == turn
        assert counted["lines"] == len(reading.lines) + len(reading.unread)  # each line read once


def test_a_partial_reading_finished_is_the_full_reading(tmp_path: Path) -> None:
    """Read in part, a page gives its title and headings and leaves the body's long lines; read in full
    later, only those are read, and the result is the page read in full at once."""
    image, truth = scanned_page("development_plan", seed=3)
    path = _image_pdf(tmp_path / "规划.pdf", [image])
    part = ocr_page(path, path.name, "pdf", 1, cache=tmp_path / "a", partial=True)
    assert part.partial and normalize(part.lines[0].text) == normalize(str(truth["title"]))
    full_at_once = ocr_page(path, path.name, "pdf", 1, cache=tmp_path / "b")
    assert not full_at_once.partial and len(part.lines) < len(full_at_once.lines) / 2
    finished = ocr_page(path, path.name, "pdf", 1, cache=tmp_path / "a")
    assert not finished.partial and not finished.cached
    assert [line.text for line in finished.lines] == [line.text for line in full_at_once.lines]
    # A full reading serves a later partial request too.
    again = ocr_page(path, path.name, "pdf", 1, cache=tmp_path / "b", partial=True)
    assert again.cached and not again.partial


def test_the_models_settings_are_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import extractors.ocr as ocr

    rgb = np.zeros((40, 30, 3), dtype=np.uint8)
    keys = {ocr._cache_key(rgb, 200.0), ocr._file_page_key("ab" * 32, 1, 200.0)}
    for changed in (ocr.OcrSettings(det_limit=1280), ocr.OcrSettings(rec_batch=6, rec_min_width=320)):
        monkeypatch.setattr(ocr, "SETTINGS", changed)
        again = {ocr._cache_key(rgb, 200.0), ocr._file_page_key("ab" * 32, 1, 200.0)}
        assert not again & keys  # another setting never reuses a cached reading
        keys |= again


def test_ocr_runs_with_the_network_unreachable(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("no network namespaces here (unshare -n needs root)")
    image, truth = scanned_page("authenticity_declaration", seed=3, seal=False, dpi=120)
    path = _image_pdf(tmp_path / "p.pdf", [image], dpi=120)
    script = (
        "import socket, sys\n"
        "from pathlib import Path\n"
        "from extractors.ocr import ocr_page\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=2); sys.exit('network is reachable')\n"
        "except OSError:\n    pass\n"
        f"page = ocr_page(Path({str(path)!r}), 'p.pdf', 'pdf', 1, cache=Path({str(tmp_path / 'c')!r}))\n"
        "print(page.lines[0].text)\n"
    )
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().replace(" ", "") == truth["title"]


def test_scanned_declaration_with_and_without_a_seal(tmp_path: Path) -> None:
    ruleset = load_ruleset()
    for sealed in (True, False):
        folder = tmp_path / f"d-{sealed}"
        folder.mkdir()
        image, truth = scanned_page("authenticity_declaration", seed=4, seal=sealed)
        buffer = io.BytesIO()
        # PNG: the page already carries its scan's JPEG artefacts; a second JPEG pass is not a scan.
        image.save(buffer, format="PNG", dpi=(150, 150))
        (folder / "扫描件003.png").write_bytes(buffer.getvalue())
        with ExtractionPool(workers=2) as pool:
            report = check_dossier(folder, ruleset, pool)
        item = next(i for i in report.items if i.id == "authenticity_declaration")
        assert item.present, report.dossier.files
        assert report.dossier.files[0].ocr_pages == 1
        codes = {f.code for f in item.findings}
        assert item.seal is not None
        if sealed:
            assert item.seal.detected is True and "SEAL_MISSING" not in codes
            x0, y0, x1, y1 = item.seal.bbox  # type: ignore[union-attr]
            tx0, ty0, tx1, ty1 = (v * 72 / 150 for v in truth["seal"]["bbox_px"])  # type: ignore[index]
            assert abs((x0 + x1) / 2 - (tx0 + tx1) / 2) < 20 and abs((y0 + y1) / 2 - (ty0 + ty1) / 2) < 20
            assert item.seal_crop.startswith(b"\x89PNG")
        else:
            assert item.seal.detected is False and "SEAL_MISSING" in codes


def test_two_lines_read_as_one_box_are_read_apart() -> None:
    """A form cell's value over two lines set close (71 over 户): the detector gives one box, which reads
    garbled as a whole; cut at the blank row between the lines, each half reads right."""
    page = Image.new("RGB", (700, 200), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT_PATH, 32)
    draw.rectangle((20, 20, 680, 180), outline="black", width=3)
    draw.line((250, 20, 250, 180), fill="black", width=3)
    draw.text((40, 80), "企业数量", font=font, fill="black")
    draw.text((270, 60), "71", font=font, fill="black")
    draw.text((270, 94), "户", font=font, fill="black")
    lines, _, _ = recognise(np.asarray(page))
    assert sorted(text for _, text, _ in lines) == ["71", "企业数量", "户"]


def test_a_picture_page_keeps_its_text_layer_and_reads_the_picture(tmp_path: Path) -> None:
    """A newspaper clipping pasted as a picture with the next item's title run on below it: the page is
    read by OCR for the clipping, but the title keeps the text layer's characters and font size (OCR's
    reading of the same line is left out), so it is still a title formatted like the others."""
    clipping = Image.new("RGB", (900, 1000), "white")
    draw = ImageDraw.Draw(clipping)
    font = ImageFont.truetype(FONT_PATH, 44)
    for k, line in enumerate(
        ["经济日报", "走进临朐铝型材产业集群", "本报讯 近年来临朐县坚持", "把铝型材产业作为主导产业"]
    ):
        draw.text((60, 60 + 110 * k), line, font=font, fill="black")
    _register_font()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.drawImage(ImageReader(clipping), 70, 300, width=455, height=505)
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(297, 240, "创新平台和服务体系建设情况")
    pdf.save()
    path = tmp_path / "合订本.pdf"
    path.write_bytes(buf.getvalue())
    doc = read_file(path, path.name, "clipping", 0)
    assert doc.pages is not None and doc.pages[0].needs_ocr
    jobs = ocr_jobs([doc], {doc.path: path}, pool_size=1)
    merge_ocr(doc, [job.run() for job in jobs])
    title = [b for b in doc.blocks if "服务体系" in b.text]
    assert [(b.text, b.source, b.font_size) for b in title] == [("创新平台和服务体系建设情况", "text", 16.0)]
    texts = [b.text for b in doc.blocks]
    assert any("经济日报" in t for t in texts) and texts[-1] == "创新平台和服务体系建设情况"

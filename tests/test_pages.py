"""Page previews (web/pages.py) on the sample dossiers, really checked: pages drawn at the width asked and
cached, Word files through LibreOffice, archive members unpacked by the intake's rules, the seal's box where
`dossier seals` finds it, an item's title box on a bound PDF's page, paths out of the inbox refused, and an
encrypted or corrupt PDF a clear PageUnavailable, never a crash."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image

from cli.main import main
from extractors.legacy import soffice
from extractors.sandbox import ExtractionPool
from pipeline.engine import Engine
from pipeline.report import Report, SealFound
from tests.conftest import inbox_of
from web.pages import (
    PageUnavailable,
    UnsafePath,
    open_file,
    page_boxes,
    page_count,
    render_page,
    resolve_source,
)
from web.pages import source_root as find_source_root

FOLDER = "01-临朐县铝型材加工"  # .docx and .pdf files; the declaration a sealed PDF
ZIPPED = "02-滕州市煤化工.zip"  # nested folders inside the archive
BOUND_PDF = "04-临朐县铝型材加工申报材料（合订本）.pdf"
BOUND_DOCX = "05-滕州市煤化工申报材料汇编.docx"
GBK_ZIP = "99-GBK压缩包.zip"  # made here: GBK names as Windows writes them, a zip inside the zip
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "pdfjs"
ENCRYPTED, CORRUPT = "issue3371.pdf", "bug1020226.pdf"
needs_libreoffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice is not installed")


class _GbkInfo(zipfile.ZipInfo):
    """A member name in GBK without the UTF-8 flag, as Windows Explorer writes it."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _zip(members: dict[str, bytes], gbk: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(_GbkInfo(name) if gbk else zipfile.ZipInfo(name), data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractionPool]:
    with ExtractionPool(workers=2, timeout=60) as shared:
        yield shared


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the sample dossiers, a GBK zip, and the corpus's encrypted and corrupt PDFs as dossiers."""
    root = inbox_of(tmp_path_factory.mktemp("pages"), (FOLDER, ZIPPED, BOUND_PDF, BOUND_DOCX))
    folder = root / FOLDER / "申报材料"
    inner = _zip({"附件/发展规划附件.pdf": (folder / "2.发展情况简介.pdf").read_bytes()})
    (root / GBK_ZIP).write_bytes(
        _zip(
            {"申报材料/二、发展情况简介/简介.pdf": (folder / "2.发展情况简介.pdf").read_bytes(), "内层.zip": inner},
            gbk=True,
        )
    )
    for name in (ENCRYPTED, CORRUPT):
        if (CORPUS / name).is_file():
            shutil.copyfile(CORPUS / name, root / name)
    return root


@pytest.fixture(scope="module")
def reports(inbox: Path, ruleset: Any, pool: ExtractionPool) -> dict[str, Report]:
    """The dossiers really checked."""
    with Engine(ruleset, pool=pool) as engine:
        return {name: engine.check(inbox / name) for name in (FOLDER, ZIPPED, BOUND_PDF, BOUND_DOCX, GBK_ZIP)}


def _index(report: Report, ending: str) -> int:
    return next(n for n, f in enumerate(report.dossier.files) if f.path.endswith(ending))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        return image.size


class _NoWork(ExtractionPool):
    """A pool that must not be asked: the page is in the cache."""

    def run_all(self, jobs: Sequence[Any]) -> list[Any]:
        raise AssertionError("the cached page was drawn again")


# --------------------------------------------------------------------------------------------------
# where the sources are
# --------------------------------------------------------------------------------------------------


def test_source_root_is_the_inbox_given_else_the_summarys(tmp_path: Path) -> None:
    assert find_source_root(tmp_path, tmp_path / "收件箱") == tmp_path / "收件箱"
    assert find_source_root(tmp_path, None) is None
    (tmp_path / "summary.json").write_text(json.dumps({"inbox": "/srv/收件箱", "rows": []}), encoding="utf-8")
    assert find_source_root(tmp_path, None) == Path("/srv/收件箱")
    (tmp_path / "summary.json").write_text("{broken", encoding="utf-8")
    assert find_source_root(tmp_path, None) is None


def test_the_source_is_a_direct_child_of_the_inbox(inbox: Path, reports: dict[str, Report]) -> None:
    report = reports[FOLDER]
    assert resolve_source(inbox, report) == Path(inbox).resolve() / FOLDER
    for bad in ("../etc", "..", "/etc/passwd", "a/b", "a\\b", ""):
        forged = report.model_copy(deep=True)
        forged.dossier.source = bad
        with pytest.raises(UnsafePath):
            resolve_source(inbox, forged)


def test_links_out_of_the_inbox_are_refused(inbox: Path, reports: dict[str, Report], tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes((inbox / BOUND_PDF).read_bytes())
    (inbox / "链接材料包").symlink_to(outside)
    forged = reports[FOLDER].model_copy(deep=True)
    forged.dossier.source = "链接材料包"
    try:
        with pytest.raises(UnsafePath):
            resolve_source(inbox, forged)
        # a link inside a folder dossier, pointing out of it
        (inbox / FOLDER / "申报材料" / "9.链接.pdf").symlink_to(outside / "secret.pdf")
        source = resolve_source(inbox, reports[FOLDER])
        with pytest.raises(UnsafePath):
            open_file(source, "申报材料/9.链接.pdf", tmp_path / "scratch")
        with pytest.raises(UnsafePath):
            render_page(source, "申报材料/9.链接.pdf", 1, 200, tmp_path / "cache")
    finally:
        (inbox / "链接材料包").unlink()
        (inbox / FOLDER / "申报材料" / "9.链接.pdf").unlink(missing_ok=True)


@pytest.mark.parametrize(
    "rel", ["../04.pdf", "申报材料/../../x.pdf", "/etc/passwd", "申报材料//2.发展情况简介.pdf", ".", ""]
)
def test_paths_out_of_the_dossier_are_refused(inbox: Path, rel: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePath):
        open_file(inbox / FOLDER, rel, tmp_path)


def test_a_file_no_longer_there_is_not_found(inbox: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_file(inbox / FOLDER, "申报材料/不存在.pdf", tmp_path)
    with pytest.raises(PageUnavailable, match="找不到"):
        render_page(inbox / ZIPPED, "不存在.pdf", 1, 200, tmp_path)


# --------------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------------


def test_a_pdf_page_renders_at_the_width_asked_then_comes_from_the_cache(
    inbox: Path, reports: dict[str, Report], pool: ExtractionPool, tmp_path: Path
) -> None:
    report = reports[BOUND_PDF]
    source = resolve_source(inbox, report)
    entry = report.dossier.files[0]
    png = render_page(source, entry.path, 3, 640, tmp_path, pool=pool)
    width, height = _png_size(png)
    assert width == 640 and 1.3 < height / width < 1.5  # A4 upright
    cached = tmp_path / "png" / entry.sha256[:2] / f"{entry.sha256}-3-640.png"
    assert cached.read_bytes() == png
    assert render_page(source, entry.path, 3, 640, tmp_path, pool=_NoWork()) == png
    assert _png_size(render_page(source, entry.path, 1, 5, tmp_path, pool=pool))[0] == 100  # clamped
    assert _png_size(render_page(source, entry.path, 1, 9000, tmp_path, pool=pool))[0] == 2000
    assert page_count(source, entry.path, tmp_path, pool=pool) == 16
    with pytest.raises(PageUnavailable, match="页码超出范围"):
        render_page(source, entry.path, 17, 200, tmp_path, pool=pool)
    with pytest.raises(PageUnavailable):
        render_page(source, entry.path, 0, 200, tmp_path, pool=pool)


@needs_libreoffice
def test_a_word_file_renders_through_its_pdf(
    inbox: Path, reports: dict[str, Report], pool: ExtractionPool, tmp_path: Path
) -> None:
    report = reports[FOLDER]
    entry = report.dossier.files[_index(report, "1.申请表.docx")]
    source = resolve_source(inbox, report)
    png = render_page(source, entry.path, 1, 300, tmp_path, pool=pool)
    assert _png_size(png)[0] == 300
    assert (tmp_path / "pdf" / f"{entry.sha256}.pdf").is_file()  # converted once, kept
    assert page_count(source, entry.path, tmp_path, pool=pool) >= 1
    assert render_page(source, entry.path, 1, 300, tmp_path, pool=_NoWork()) == png


def test_an_archive_member_renders(
    inbox: Path, reports: dict[str, Report], pool: ExtractionPool, tmp_path: Path
) -> None:
    before = sorted(p.name for p in inbox.iterdir())
    report = reports[ZIPPED]
    entry = report.dossier.files[_index(report, "滕州市煤化工产业集群发展规划.pdf")]
    source = resolve_source(inbox, report)
    png = render_page(source, entry.path, 1, 200, tmp_path, pool=pool)
    assert _png_size(png)[0] == 200
    unpacked = open_file(source, entry.path, tmp_path / "files")
    assert unpacked.is_relative_to(tmp_path / "files") and unpacked.read_bytes().startswith(b"%PDF")
    # GBK names and a zip inside the zip: every file the report names is found, with its own content
    gbk = reports[GBK_ZIP]
    paths = [f.path for f in gbk.dossier.files]
    assert "申报材料/二、发展情况简介/简介.pdf" in paths and "内层.zip/附件/发展规划附件.pdf" in paths
    for entry in gbk.dossier.files:
        path = open_file(inbox / GBK_ZIP, entry.path, tmp_path / "files")
        assert path.is_relative_to(tmp_path / "files")
        assert _png_size(render_page(inbox / GBK_ZIP, entry.path, 2, 150, tmp_path, pool=pool))[0] == 150
    assert sorted(p.name for p in inbox.iterdir()) == before  # the inbox is never written


def test_a_zip_inside_a_folder_dossier(inbox: Path, pool: ExtractionPool, tmp_path: Path) -> None:
    folder = inbox / "嵌套压缩包"
    folder.mkdir()
    try:
        (folder / "附件.zip").write_bytes((inbox / GBK_ZIP).read_bytes())
        path = open_file(folder, "附件.zip/申报材料/二、发展情况简介/简介.pdf", tmp_path)
        assert path.is_relative_to(tmp_path) and path.read_bytes().startswith(b"%PDF")
    finally:
        shutil.rmtree(folder)


def test_a_multi_page_tiff_renders_each_page(inbox: Path, pool: ExtractionPool, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (850, 1100), colour) for colour in ("white", "red", "blue")]
    dossier = inbox / "扫描件.tif"
    frames[0].save(dossier, save_all=True, append_images=frames[1:], dpi=(100, 100))
    try:
        png = render_page(dossier, "扫描件.tif", 2, 170, tmp_path, pool=pool)
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (170, 220) and image.convert("RGB").getpixel((80, 100)) == (255, 0, 0)
        with pytest.raises(PageUnavailable, match="页码超出范围"):
            render_page(dossier, "扫描件.tif", 4, 170, tmp_path, pool=pool)
    finally:
        dossier.unlink()


@pytest.mark.skipif(not (CORPUS / ENCRYPTED).is_file(), reason="the corpus is not beside the project")
def test_an_encrypted_or_corrupt_pdf_is_unavailable_not_a_crash(
    inbox: Path, pool: ExtractionPool, tmp_path: Path
) -> None:
    with pytest.raises(PageUnavailable, match="加密"):
        render_page(inbox / ENCRYPTED, ENCRYPTED, 1, 200, tmp_path, pool=pool)
    with pytest.raises(PageUnavailable, match="损坏"):
        render_page(inbox / CORRUPT, CORRUPT, 1, 200, tmp_path, pool=pool)
    # the pool still draws the next page
    assert _png_size(render_page(inbox / BOUND_PDF, BOUND_PDF, 1, 120, tmp_path, pool=pool))[0] == 120


# --------------------------------------------------------------------------------------------------
# boxes
# --------------------------------------------------------------------------------------------------


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    area = width * height
    return area / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - area)


def test_the_seal_box_is_where_dossier_seals_finds_it(
    inbox: Path,
    reports: dict[str, Report],
    pool: ExtractionPool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = reports[FOLDER]
    seal = next(i.seal for i in report.items if isinstance(i.seal, SealFound))
    assert isinstance(seal, SealFound) and seal.page is not None
    index = _index(report, seal.file)
    source = resolve_source(inbox, report)
    boxes = page_boxes(report, index, seal.page, source, tmp_path, pool=pool)
    [box] = [b for b in boxes if b["kind"] == "seal"]
    assert box["item"] == "authenticity_declaration" and "公章" in box["label"]
    assert 0 <= box["x0"] < box["x1"] <= 1 and 0 <= box["y0"] < box["y1"] <= 1
    path = open_file(source, seal.file, tmp_path / "files")
    assert main(["seals", str(path)]) == 0
    found = json.loads(capsys.readouterr().out)
    [page] = [p for p in found["pages"] if p["page"] == seal.page]
    pdf = pdfium.PdfDocument(str(path))
    width, height = pdf[seal.page - 1].get_size()
    pdf.close()
    fractions = [
        (x0 / width, y0 / height, x1 / width, y1 / height) for x0, y0, x1, y1 in (s["box"] for s in page["seals"])
    ]
    mine = (box["x0"], box["y0"], box["x1"], box["y1"])
    assert max(_overlap(mine, f) for f in fractions) > 0.8
    # the declaration's title is boxed too, above the seal
    [title] = [b for b in boxes if b["kind"] == "item"]
    assert title["item"] == "authenticity_declaration" and title["y1"] < box["y0"]
    # no seal on another page
    assert not [
        b for b in page_boxes(report, _index(report, "2.发展情况简介.pdf"), 1, source, tmp_path) if b["kind"] == "seal"
    ]


def test_an_item_title_is_boxed_on_a_bound_pdfs_page(
    inbox: Path, reports: dict[str, Report], pool: ExtractionPool, tmp_path: Path
) -> None:
    report = reports[BOUND_PDF]
    source = resolve_source(inbox, report)
    intro = next(i for i in report.items if i.id == "introduction")
    first = intro.locations[0].pages[0] if intro.locations[0].pages else 1
    boxes = page_boxes(report, 0, first, source, tmp_path, pool=pool)
    [box] = [b for b in boxes if b["kind"] == "item"]
    assert box["item"] == "introduction" and box["label"] == intro.title
    # one line near the top of the page, centred
    assert box["y0"] < 0.2 and 0 < box["y1"] - box["y0"] < 0.05 and abs((box["x0"] + box["x1"]) / 2 - 0.5) < 0.05
    # the page after: the introduction goes on, its title is not there; the 目录 (no item on it): nothing
    assert page_boxes(report, 0, first + 1, source, tmp_path, pool=pool) == []
    assert page_boxes(report, 0, 1, source, tmp_path, pool=pool) == []


@needs_libreoffice
def test_item_titles_in_a_bound_word_file(
    inbox: Path, reports: dict[str, Report], pool: ExtractionPool, tmp_path: Path
) -> None:
    report = reports[BOUND_DOCX]
    source = resolve_source(inbox, report)
    pages = page_count(source, report.dossier.files[0].path, tmp_path, pool=pool)
    found: dict[str, int] = {}
    for page in range(1, pages + 1):
        for box in page_boxes(report, 0, page, source, tmp_path, pool=pool):
            assert box["kind"] == "item"
            found.setdefault(box["item"], page)
    # every item's title is found on a page of its own, in order; the 目录 listing them all gives no box
    assert list(found) == [i.id for i in report.items if i.present]
    assert 1 not in found.values()
    assert sorted(found.values()) == list(found.values())

"""Dossiers built to hurt: each bad file costs that file (a finding that says why), never the dossier.

Every input is generated here, small. The larger sweep is `make robustness` (scripts/hostile.py).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest

from core.limits import Limits
from core.model import Block, Document
from core.names import shown, terminal_safe, xml_safe
from extractors.sandbox import ExtractionPool
from pipeline.dossier import Readers, analyse_text, write_outputs
from pipeline.engine import check_dossier
from pipeline.reports import FORMATS
from pipeline.ruleset import Ruleset
from tests.listener import Listener

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
INTRO = "一、集群基本情况\n临朐县铝型材加工特色产业集群位于临朐县城南部，拥有规模以上企业一百二十家。\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractionPool]:
    with ExtractionPool(workers=2, timeout=60) as shared:
        yield shared


def _check(path: Path, ruleset: Ruleset, pool: ExtractionPool, out: Path | None = None) -> dict[str, Any]:
    report = check_dossier(path, ruleset, pool)
    if out is not None:
        write_outputs(report, out, list(FORMATS))
    return report.as_dict()


def _docx(text: str) -> bytes:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _codes(report: dict[str, Any], path: str | None = None) -> set[str]:
    return {f["code"] for f in report["findings"] if path is None or (f.get("location") or {}).get("file") == path}


def _files(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["dossier"]["files"]}


# -- archives ----------------------------------------------------------------------------------------


def _corrupt_member_zip(path: Path) -> None:
    """A zip whose 坏.docx member has its deflated bytes overwritten (zlib.error / bad CRC on reading)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("简介.docx", _docx(INTRO))
        archive.writestr("坏.docx", _docx(INTRO * 40))
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("坏.docx")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, start + info.compress_size - 20, 7):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_corrupt_member_costs_that_member_only(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    archive = tmp_path / "材料.zip"
    _corrupt_member_zip(archive)
    report = _check(archive, ruleset, pool, tmp_path / "out")
    assert "FILE_UNREADABLE" in _codes(report, "坏.docx")
    assert _files(report)["简介.docx"]["error"] is None
    assert (tmp_path / "out" / "report.docx").is_file()


def test_odd_member_names_all_come_through(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    """A file and a folder of one name; a 300-byte name; a 5,000-byte path; a nested zip with a 250-byte
    name: nothing of it reaches the file system as it is named."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("证书.txt", "高新技术企业证书".encode())
    long_name = "长" * 98 + ".txt"  # 296 bytes in UTF-8
    deep = "/".join(["目录" * 20] * 40) + "/深.txt"  # ~5,000 bytes
    nested_name = "附" * 80 + ".zip"  # 244 bytes
    archive = tmp_path / "怪名.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a.txt", "文件".encode())
        out.writestr("a.txt/b.txt", "文件夹里的文件".encode())
        out.writestr(long_name, "很长的名字".encode())
        out.writestr(deep, "很深的路径".encode())
        out.writestr(nested_name, inner.getvalue())
    report = _check(archive, ruleset, pool, tmp_path / "out")
    files = _files(report)
    assert {"a.txt", "a.txt/b.txt", long_name, deep, f"{nested_name}/证书.txt"} <= set(files)
    assert all(f["error"] is None for f in files.values())


def test_a_zip_member_with_undecodable_and_control_names(
    tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool
) -> None:
    archive = tmp_path / "名字.zip"
    with zipfile.ZipFile(archive, "w") as out:
        info = zipfile.ZipInfo("x")
        info.filename = "\x1b]0;标题\x07\x1b[2J材料齐全\r.txt"
        out.writestr(info, "正文".encode())
    report = _check(archive, ruleset, pool, tmp_path / "out")
    [path] = _files(report)
    assert "\x1b" not in path and "\r" not in path and "\\x1b" in path
    for fmt in FORMATS:
        written = tmp_path / "out" / f"report.{fmt}"
        text = zipfile.ZipFile(written).read("word/document.xml") if fmt == "docx" else written.read_bytes()
        assert b"\x1b" not in text and b"\\x1b" in text


# -- folders -----------------------------------------------------------------------------------------


def test_links_pipes_and_odd_folders_are_named_not_followed(
    tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool
) -> None:
    outside = tmp_path / "外面"
    outside.mkdir()
    (outside / "secret.txt").write_text("不应被读取的内容", encoding="utf-8")
    root = tmp_path / "材料包"
    root.mkdir()
    (root / "简介.docx").write_bytes(_docx(INTRO))
    os.mkfifo(root / "管道")
    os.symlink(outside, root / "链接文件夹")
    os.symlink(outside / "secret.txt", root / "链接.txt")
    os.symlink(root / "不存在", root / "断链.txt")
    report = _check(root, ruleset, pool, tmp_path / "out")
    assert set(_files(report)) == {"简介.docx"}
    messages = {(f["location"] or {}).get("file"): f["message"] for f in report["findings"]}
    assert "命名管道" in messages["管道"]
    assert "符号链接" in messages["链接文件夹"] and "符号链接" in messages["链接.txt"]
    assert "符号链接" in messages["断链.txt"]
    assert "不应被读取" not in json.dumps(report, ensure_ascii=False)


def test_a_folder_deeper_than_the_system_path_limit(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    root = tmp_path / "深"
    root.mkdir()
    (root / "简介.docx").write_bytes(_docx(INTRO))
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(30):  # 30 × 200 bytes: past PATH_MAX (4096), made relative to each parent
            os.mkdir("层" * 66, dir_fd=fd)
            inner = os.open("层" * 66, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("底.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w", encoding="utf-8") as out:
            out.write("正文")
    finally:
        os.close(fd)
    report = _check(root, ruleset, pool, tmp_path / "out")
    assert _files(report)["简介.docx"]["error"] is None
    assert any("路径过长" in f["message"] for f in report["findings"] if f["code"] == "FILE_UNREADABLE")


def test_a_dossier_that_is_a_link_is_refused(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    real = tmp_path / "别处"
    real.mkdir()
    (real / "简介.docx").write_bytes(_docx(INTRO))
    link = tmp_path / "收件箱的链接"
    os.symlink(real, link)
    report = _check(link, ruleset, pool)
    assert report["dossier"]["files"] == []
    assert "ARCHIVE_ENTRY_SKIPPED" in _codes(report) and report["verdict"] == "incomplete"


def test_undecodable_and_hostile_names_in_every_format(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    root = tmp_path / "材料包"
    root.mkdir()
    bad = os.path.join(os.fsencode(root), b"\xff\xfe\xb9\xfd.txt")  # neither UTF-8 nor GBK
    with open(bad, "wb") as handle:
        handle.write("正文".encode())
    (root / "<img src=x onerror=alert(1)>.docx").write_bytes(_docx(INTRO))
    (root / "\u202egnp.exe").write_bytes(b"text")
    out = tmp_path / "out"
    report = _check(root, ruleset, pool, out)
    names = set(_files(report))
    assert "\\xff\\xfe\\xb9\\xfd.txt" in names and "\\u202egnp.exe" in names
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    docx.Document(str(out / "report.docx"))  # opens: no character Word's XML forbids
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["dossier"]["files"]


def test_a_file_nobody_may_read(tmp_path: Path) -> None:
    """Permission denied costs that file only (root reads anything: the check runs without that power)."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom pipeline.intake import open_dossier\n"
        "with open_dossier(Path(sys.argv[1])) as intake:\n"
        "    print(sorted(j.rel for j in intake.files), sorted((p.rel, p.reason) for p in intake.problems))\n"
    )
    root = tmp_path / "材料包"
    (root / "锁住的文件夹").mkdir(parents=True)
    (root / "可读.txt").write_text("正文", encoding="utf-8")
    (root / "锁住.txt").write_text("正文", encoding="utf-8")
    (root / "锁住的文件夹" / "里面.txt").write_text("正文", encoding="utf-8")
    (root / "锁住.txt").chmod(0o000)
    (root / "锁住的文件夹").chmod(0o000)
    command = [PYTHON, "-c", code, str(root)]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    try:
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        (root / "锁住的文件夹").chmod(0o755)
    assert run.returncode == 0, run.stderr
    assert "['可读.txt']" in run.stdout
    assert "('锁住.txt', '无法读取（权限不足）')" in run.stdout
    assert "('锁住的文件夹', '文件夹无法读取（权限不足）')" in run.stdout


# -- text --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_texts_with_a_byte_order_mark_are_read(
    tmp_path: Path, encoding: str, ruleset: Ruleset, pool: ExtractionPool
) -> None:
    data = INTRO.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "简介.txt"
    path.write_bytes(data)
    report = _check(path, ruleset, pool)
    assert _files(report)["简介.txt"]["error"] is None
    assert report["items"][1]["id"] == "introduction"


def test_a_megabyte_line_of_names_is_searched_in_chunks(tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool) -> None:
    names = "、".join(f"山东临朐第{i}铝业有限公司" for i in range(80_000))  # ~1.1 million characters
    path = tmp_path / "名单.txt"
    path.write_text(names, encoding="utf-8")
    assert len(names) > 1_000_000
    report = _check(path, ruleset, pool)
    assert _files(report)["名单.txt"]["error"] is None


def test_the_evidence_budget_leaves_a_finding(ruleset: Ruleset) -> None:
    doc = Document(path="名单.txt", sha256="x", format="txt")
    doc.blocks = [Block(text="国家级企业技术中心" * 200, kind="paragraph", index=i) for i in range(5)]
    analyse_text([doc], {}, ruleset, Readers(ruleset), Limits(evidence_chars_per_file=3000))
    assert [hit.limit for hit in doc.limits_hit] == ["evidence_chars_per_file"]
    assert "DOSSIER_EVIDENCE_CHARS_PER_FILE" in doc.limits_hit[0].message


# -- pages -------------------------------------------------------------------------------------------


def _blank_pdf(pages: int) -> bytes:
    """PAGES empty pages sharing one page tree: a few kilobytes whatever the count."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_page_budget_per_file_and_blank_pages_go_unread(
    tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOSSIER_PAGES_PER_FILE", "300")
    path = tmp_path / "两千页.pdf"
    path.write_bytes(_blank_pdf(2000))
    report = _check(path, ruleset, pool)
    [entry] = report["dossier"]["files"]
    assert entry["pages"] == 300 and entry["ocr_pages"] == 0  # blank: nothing for OCR
    [limit] = [f for f in report["findings"] if f["code"] == "LIMIT_REACHED"]
    assert "共 2000 页" in limit["message"] and "DOSSIER_PAGES_PER_FILE" in limit["message"]
    assert report["review_count"] >= 1


# -- names -------------------------------------------------------------------------------------------


def test_names_are_shown_safely() -> None:
    assert shown("材料 (1).pdf") == "材料 (1).pdf"
    assert shown("a\x1b[2Jb\r\n") == "a\\x1b[2Jb\\x0d\\x0a"
    assert shown("\udcff\udcfe.txt") == "\\xff\\xfe.txt"
    assert shown("\u202etxt.exe") == "\\u202etxt.exe"
    assert xml_safe("表\t格\x0b\n") == "表\t格\\x0b\n"
    assert terminal_safe("一\n二\x07") == "一\n二\\x07"


# -- isolation ---------------------------------------------------------------------------------------


def test_reading_processes_have_no_network(pool: ExtractionPool) -> None:
    """The workers live in a network namespace of their own: nothing they run reaches any address."""
    pool.warm()  # its dispatcher starts every worker
    own = os.readlink("/proc/self/ns/net")

    def isolated() -> bool:
        workers = list(pool._workers)
        return len(workers) == pool.size and all(os.readlink(f"/proc/{w.process.pid}/ns/net") != own for w in workers)

    deadline = time.monotonic() + 20  # a worker moves into its namespace first thing once it runs
    while not isolated() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert isolated()
    listener = Listener()
    try:
        code = (
            "import socket, sys\n"
            "from extractors.sandbox import isolate_network\n"
            "assert isolate_network()\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)\n"
            "except OSError:\n    sys.exit(0)\n"
            "sys.exit(1)\n"
        )
        run = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert listener.connections == 0
    finally:
        listener.close()


def test_ocr_writes_nothing_outside_its_cache(tmp_path: Path) -> None:
    """onnxruntime's telemetry (a device id under ~/.cache, events sent to Microsoft) stays off."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    from PIL import Image, ImageDraw

    image = tmp_path / "页.png"
    picture = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(picture).rectangle((50, 80, 550, 120), fill="black")
    picture.save(image)
    code = (
        "import sys\nfrom pathlib import Path\nfrom extractors.ocr import OcrJob\n"
        "page = OcrJob(Path(sys.argv[1]), 'p.png', 'png', 1, cache=Path(sys.argv[2])).run()\n"
        "assert page.error is None, page.error\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    run = subprocess.run(
        [PYTHON, "-c", code, str(image), str(cache)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert list(home.rglob("*")) == []


def _leftovers(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir())


def test_nothing_is_left_in_tmp_after_a_check_or_a_sigterm(tmp_path: Path) -> None:
    """The scratch folder goes with the command, also on SIGTERM; a killed command's goes at the next run."""
    base = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short: the process's sockets go there too
    try:
        _nothing_left(tmp_path, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_long_temporary_folder_path(tmp_path: Path) -> None:
    """TMPDIR too long for a socket under the scratch folder: the check still runs and cleans up."""
    base = tmp_path / ("长" * 30)
    base.mkdir()
    dossier = tmp_path / "简介.docx"
    dossier.write_bytes(_docx(INTRO))
    command = [str(Path(PYTHON).with_name("dossier")), "check", str(dossier), "--out", str(tmp_path / "out")]
    run = subprocess.run(command, env={**os.environ, "TMPDIR": str(base)}, capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr and _leftovers(base) == []


def _nothing_left(tmp_path: Path, base: Path) -> None:
    dossier = tmp_path / "材料.zip"
    with zipfile.ZipFile(dossier, "w") as archive:
        archive.writestr("简介.docx", _docx(INTRO))
        archive.writestr("声明.txt", "申报材料真实性声明".encode())
    env = {**os.environ, "TMPDIR": str(base)}
    command = [str(Path(PYTHON).with_name("dossier")), "check", str(dossier), "--out", str(tmp_path / "out")]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr
    assert _leftovers(base) == []

    def started() -> subprocess.Popen[str]:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("dossier-run-") for p in base.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return proc

    proc = started()
    proc.terminate()
    proc.wait(timeout=60)
    assert _leftovers(base) == []

    proc = started()
    proc.kill()
    proc.wait(timeout=60)
    time.sleep(0.5)  # the workers see their parent gone and exit
    assert _leftovers(base) != []  # a killed process cleans nothing …
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert _leftovers(base) == []  # … the next run does


def test_a_dossier_the_pipeline_fails_on_still_gets_a_report(
    tmp_path: Path, ruleset: Ruleset, pool: ExtractionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met on one dossier (here: splitting raises): the batch goes on, the row says failed, and the
    dossier's report says it could not be checked."""
    import pipeline.dossier
    from pipeline.engine import Engine

    def broken(*args: object) -> None:
        raise RuntimeError("splitting failed")

    monkeypatch.setattr(pipeline.dossier, "split_sections", broken)
    dossier = tmp_path / "材料.docx"
    dossier.write_bytes(_docx(INTRO))
    with Engine(ruleset, pool=pool) as engine:
        outcome = engine.run_one(dossier, "材料", tmp_path / "out", ["json", "html"])
    assert outcome.row["verdict"] == "failed" and "RuntimeError" in outcome.row["failure"]
    report = json.loads((tmp_path / "out" / "材料" / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "incomplete" and report["dossier"]["id"] == "材料"
    [unread] = [f for f in report["findings"] if f["code"] == "FILE_UNREADABLE"]
    assert "处理失败" in unread["message"] and "请人工核对" in unread["message"]
    assert "Traceback" in (tmp_path / "out" / "材料" / "error.txt").read_text(encoding="utf-8")

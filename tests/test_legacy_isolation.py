"""LibreOffice converts legacy Word files in a sandbox: a hostile file cannot make it read a file outside
the dossier or reach the network, and nothing of a conversion is left in /tmp or HOME.

Real LibreOffice, no mocks: the hostile files point at a canary file outside the dossier and at a TCP
listener on 127.0.0.1; the reads run in a subprocess with HOME and TMPDIR of their own."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from docx import Document as WordDocument

from extractors import detect_format, legacy
from tests.listener import Listener

ROOT = Path(__file__).resolve().parent.parent
CANARY = "CANARY-7f3e91-机密"
RTF_TEXT = "RTF-BODY-5521 申报单位"
DOC_TEXT = "DOC-BODY-8830 临朐县铝型材产业集群"

_READ = """
import json, sys
from pathlib import Path
from extractors import read_file
out = {}
for name in sys.argv[1:]:
    d = read_file(Path(name), Path(name).name, "-", 0)
    out[Path(name).name] = {"format": d.format, "error": d.error, "error_kind": d.error_kind,
                            "unsupported": d.unsupported, "text": "\\n".join(b.text for b in d.blocks)}
from extractors import legacy
out["mode"] = legacy._isolation()
print(json.dumps(out, ensure_ascii=False))
"""


def _rtf(canary: Path, port: int) -> str:
    fields = [
        f'INCLUDETEXT "{canary}"',
        f'INCLUDEPICTURE "http://127.0.0.1:{port}/x.png" \\\\d',
        f'INCLUDETEXT "http://127.0.0.1:{port}/x"',
    ]
    body = "".join(f"\\pard {{\\field{{\\*\\fldinst {{ {f} }}}}{{\\fldrslt {{old}}}}}}\\par\n" for f in fields)
    text = RTF_TEXT.encode("gbk")
    escaped = "".join(f"\\'{b:02x}" if b > 0x7F else chr(b) for b in text)
    return f"{{\\rtf1\\ansi\\ansicpg936\\deff0{{\\fonttbl{{\\f0 SimSun;}}}}\n\\pard {escaped}\\par\n{body}}}"


def _html(canary: Path, port: int) -> str:
    return (
        f'<html><body><p>HTML-BODY</p><img src="http://127.0.0.1:{port}/y.png">'
        f'<iframe src="file://{canary}"></iframe><a href="file://{canary}">附件</a></body></html>'
    )


def _fodt(canary: Path, port: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
        ' xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"'
        ' office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">'
        "<office:body><office:text><text:p>FODT-BODY</text:p>"
        f'<text:section text:name="S1"><text:section-source xlink:href="file://{canary}" text:filter-name="Text"/>'
        "<text:p>x</text:p></text:section><text:p>"
        '<draw:frame draw:name="i" svg:width="1cm" svg:height="1cm" text:anchor-type="as-char">'
        f'<draw:image xlink:href="http://127.0.0.1:{port}/f.png" xlink:type="simple" xlink:show="embed"/>'
        "</draw:frame></text:p></office:text></office:body></office:document>"
    )


def _real_doc(folder: Path) -> Path:
    """A genuine Word 97 .doc, made from a generated .docx by LibreOffice (outside any sandbox)."""
    word = WordDocument()
    word.add_paragraph(DOC_TEXT)
    buf = io.BytesIO()
    word.save(buf)
    (folder / "src.docx").write_bytes(buf.getvalue())
    profile = f"-env:UserInstallation=file://{folder}/mk-profile"
    subprocess.run(
        [
            "soffice",
            profile,
            "--headless",
            "--convert-to",
            "doc",
            "--outdir",
            str(folder / "made"),
            str(folder / "src.docx"),
        ],
        env={**os.environ, "HOME": str(folder / "mk-home")},
        capture_output=True,
        timeout=120,
        check=True,
    )
    return folder / "made" / "src.doc"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("soffice") is None:
        pytest.skip("needs LibreOffice (soffice)")
    base = tmp_path_factory.mktemp("legacy")
    canary = base / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text(CANARY, encoding="utf-8")
    listener = Listener()
    socket.create_connection(("127.0.0.1", listener.port)).close()  # the listener does notice
    for _ in range(100):
        if listener.connections:
            break
        time.sleep(0.01)
    assert listener.connections == 1
    listener.connections = 0

    dossier = base / "dossier"
    dossier.mkdir()
    (dossier / "fields.rtf").write_text(_rtf(canary, listener.port), encoding="ascii")
    (dossier / "page.doc").write_text(_html(canary, listener.port), encoding="utf-8")
    (dossier / "flat.doc").write_text(_fodt(canary, listener.port), encoding="utf-8")
    shutil.copyfile(_real_doc(base), dossier / "real.doc")

    home, tmp = base / "home", base / "tmp"
    home.mkdir()
    tmp.mkdir()
    before = {p.name for p in Path("/tmp").glob("dossier-lo*")}
    proc = subprocess.run(
        [sys.executable, "-c", _READ, *(str(p) for p in sorted(dossier.iterdir()))],
        cwd=ROOT,
        env={**os.environ, "HOME": str(home), "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    docs = json.loads(proc.stdout.strip().splitlines()[-1])
    time.sleep(0.2)  # a late connection would still be counted
    return {
        "docs": docs,
        "connections": listener.connections,
        "home": sorted(os.listdir(home)),
        "tmp": sorted(os.listdir(tmp)),
        "new_in_tmp": sorted({p.name for p in Path("/tmp").glob("dossier-lo*")} - before),
    }


def _converted(result: dict[str, Any], name: str, text: str) -> None:
    doc = result["docs"][name]
    if result["docs"]["mode"] is None:  # no sandbox possible here: refused, never converted unisolated
        assert doc["unsupported"] and "bubblewrap" in doc["error"]
    else:
        assert doc["error"] is None, doc
        assert text in doc["text"]


def test_rtf_fields_cannot_read_outside_files_or_reach_the_network(run: dict[str, Any]) -> None:
    doc = run["docs"]["fields.rtf"]
    assert doc["format"] == "rtf"
    _converted(run, "fields.rtf", RTF_TEXT)
    assert CANARY not in doc["text"]
    assert run["connections"] == 0


def test_html_named_doc_is_not_converted(run: dict[str, Any]) -> None:
    doc = run["docs"]["page.doc"]
    assert doc["format"] == "html"
    assert doc["unsupported"] and doc["error_kind"] == "unsupported"
    assert "扩展名为 .doc" in doc["error"] and "HTML 网页" in doc["error"] and "不是 Word 文件" in doc["error"]
    assert doc["text"] == ""
    assert run["connections"] == 0


def test_flat_odt_named_doc_is_not_converted(run: dict[str, Any]) -> None:
    doc = run["docs"]["flat.doc"]
    assert doc["format"] == "fodt"
    assert doc["unsupported"] and "扩展名为 .doc" in doc["error"]
    assert doc["text"] == ""


def test_real_doc_is_converted_and_read(run: dict[str, Any]) -> None:
    assert run["docs"]["real.doc"]["format"] == "doc"
    _converted(run, "real.doc", DOC_TEXT)
    if shutil.which("bwrap"):
        assert run["docs"]["mode"] in ("bwrap", "unshare")


def test_nothing_is_left_in_tmp_or_home(run: dict[str, Any]) -> None:
    assert run["home"] == []
    assert run["tmp"] == []
    assert run["new_in_tmp"] == []


def test_sandbox_sees_no_host_file_and_no_network(tmp_path: Path) -> None:
    """The sandbox itself, whatever LibreOffice version runs in it: the work folder is writable, the
    network unreachable, and (bubblewrap) no file of the host outside the system folders visible."""
    mode = legacy._isolation()
    if mode is None:
        pytest.skip("neither bubblewrap nor unshare can isolate here")
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    listener = Listener()
    prefix, inside = legacy._sandbox(mode, work, [])
    script = (
        f"for p in {canary} {ROOT} /root /home/* /tmp/*; do test -e $p && echo SEEN $p; done;"
        f"(echo > /dev/tcp/127.0.0.1/{listener.port}) 2>/dev/null && echo CONNECTED; echo ok > {inside}/written"
    )
    proc = subprocess.run(
        [*prefix, "bash", "-c", script], env=legacy._environment(inside), capture_output=True, text=True, timeout=30
    )
    assert (work / "written").read_text() == "ok\n"
    assert "CONNECTED" not in proc.stdout
    time.sleep(0.2)
    assert listener.connections == 0
    if mode == "bwrap":
        assert "SEEN" not in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "doc"),
        (b"\xdb\xa5-\x001@\t\x04" + bytes(100), "doc"),  # Word for Windows 2.0
        (b"{\\rtf1\\ansi hello}", "rtf"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "html"),
        (b"\xef\xbb\xbf<html xmlns:o='urn:schemas-microsoft-com:office:office'>", "html"),
        (b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n", "mhtml"),
        (b'<?xml version="1.0"?><office:document xmlns:office="x"/>', "fodt"),
        (b'<?xml version="1.0"?><w:wordDocument/>', "xml"),
        ("申报单位：某某有限公司\n".encode("gbk"), "txt"),
        (b"\x00\x01\x02garbage\xff", "unknown"),
    ],
)
def test_only_word_or_rtf_bytes_named_doc_go_to_libreoffice(tmp_path: Path, data: bytes, kind: str) -> None:
    for ext in ("doc", "wps"):
        path = tmp_path / f"x.{ext}"
        path.write_bytes(data)
        assert detect_format(path) == (ext if kind == "doc" else kind)

"""Legacy Word (.doc), WPS (.wps) and RTF: converted to .docx by LibreOffice headless, then read as .docx."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from pipeline.model import Document

from .docx import read_docx
from .errors import Unreadable, Unsupported

CONVERT_SECONDS = 50


_profile: Path | None = None


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _profile_dir() -> Path:
    """One LibreOffice profile per worker process, made once (a new profile costs ~0.5 s) and
    never shared (two running instances cannot share one)."""
    global _profile
    if _profile is None:
        _profile = Path(tempfile.mkdtemp(prefix="dossier-lo-profile-"))
        atexit.register(shutil.rmtree, _profile, True)
    return _profile


def read_legacy(path: Path, doc: Document) -> Document:
    binary = soffice()
    if binary is None:
        raise Unsupported(
            f"旧版 {doc.format.upper()} 文件需要 LibreOffice 转换，本机未安装 LibreOffice；"
            "请安装 libreoffice-writer-nogui，或请申报单位提供 .docx / PDF 版本"
        )
    with tempfile.TemporaryDirectory(prefix="dossier-lo-") as tmp:
        work = Path(tmp)
        # Copy under a plain ASCII name: LibreOffice mangles some non-UTF-8 paths, and the
        # input must never be touched.
        source = work / f"input.{doc.format}"
        shutil.copyfile(path, source)
        command = [
            binary,
            f"-env:UserInstallation=file://{_profile_dir()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=CONVERT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise Unreadable("timeout", f"LibreOffice 转换超过 {CONVERT_SECONDS} 秒，已放弃") from None
        converted = work / "out" / "input.docx"
        if not converted.is_file() or converted.stat().st_size == 0:
            raise Unreadable("corrupt", f"{doc.format.upper()} 文件已损坏或已加密，LibreOffice 无法转换")
        return read_docx(converted, doc)

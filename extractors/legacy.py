"""Legacy Word (.doc), WPS (.wps) and RTF: converted to .docx by LibreOffice headless, then read as .docx
(and any Word file to PDF, for page previews: `converted`).

LibreOffice follows what a document points at (linked sections, INCLUDETEXT/INCLUDEPICTURE fields,
remote pictures), so it only ever runs in a sandbox that sees nothing of this machine but the system
folders it needs and a work folder holding a copy of the input: no network, no other file, a
throw-away profile and HOME. Where no sandbox can be made the file is not converted at all.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from core.model import Document

from .docx import read_docx
from .errors import Unreadable, Unsupported

CONVERT_SECONDS = 50

# Read-only inside the bubblewrap sandbox besides /usr (found by trying: LibreOffice's registry lives in
# /etc/libreoffice on Debian, fontconfig needs its configuration; the font cache only saves time).
_SYSTEM_PATHS = ("/etc/libreoffice", "/etc/fonts", "/etc/ld.so.cache", "/var/cache/fontconfig")
_JOB = "/job"  # where the work folder appears inside the bubblewrap sandbox

# Written into each fresh profile: never update links or fields, never load pictures a document merely
# points at, no macros, no Java. The sandbox already stops all of it; this keeps LibreOffice from trying.
_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
{}
</oor:items>
""".format(
    "\n".join(
        f'<item oor:path="/org.openoffice.Office.{group}"><prop oor:name="{name}" oor:op="fuse">'
        f"<value>{value}</value></prop></item>"
        for group, name, value in (
            ("Writer/Content/Update", "Link", "0"),  # 0 = never (1 on request, 2 always)
            ("Writer/Content/Update", "Field", "false"),
            ("Common/Security/Scripting", "BlockUntrustedRefererLinks", "true"),
            ("Common/Security/Scripting", "DisableMacrosExecution", "true"),
            ("Common/Security/Scripting", "MacroSecurityLevel", "3"),
            ("Java/VirtualMachine", "Enable", "false"),
        )
    )
)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _bwrap(work: Path, extra: list[str]) -> list[str]:
    """bubblewrap: new namespaces of every kind (no network), /usr and a few /etc files read-only, a
    private /tmp, and the work folder as /job; nothing else of the host."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):  # merged /usr
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in [*_SYSTEM_PATHS, *extra]:
        args += ["--ro-bind-try", path, path]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(work), _JOB, "--chdir", _JOB]


def _unshare(work: Path) -> list[str]:
    """Fallback without bubblewrap: no network, and the work folder mounted over /tmp (LibreOffice's
    pipe and temporary files go there, and go with it); the rest of the file system stays visible."""
    args = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child"]
    if os.geteuid() != 0:
        args.append("--map-root-user")
    return [*args, "sh", "-c", 'mount --bind "$0" /tmp && exec "$@"', str(work)]


def _sandbox(mode: str, work: Path, extra: list[str]) -> tuple[list[str], str]:
    """The command prefix for `mode`, and where the work folder is seen inside."""
    return (_bwrap(work, extra), _JOB) if mode == "bwrap" else (_unshare(work), "/tmp")


def _environment(inside: str) -> dict[str, str]:
    # Nothing of the caller's environment; HOME and the XDG folders are scratch, removed with the work folder.
    home = f"{inside}/home"
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": "/tmp",
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "XDG_DATA_HOME": f"{home}/.local/share",
        "XDG_STATE_HOME": f"{home}/.local/state",
        "XDG_RUNTIME_DIR": "/tmp",
    }


@functools.cache
def _isolation() -> str | None:
    """The sandbox this machine can make ("bwrap", else "unshare"), tried once per process; None if neither."""
    for mode in ("bwrap", "unshare"):
        if shutil.which(mode) is None:
            continue
        work = Path(tempfile.mkdtemp(prefix="dossier-lo-probe-"))
        try:
            prefix, inside = _sandbox(mode, work, [])
            probe = subprocess.run(
                [*prefix, "true"],
                env=_environment(inside),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
            )
            if probe.returncode == 0:
                return mode
        except (OSError, subprocess.SubprocessError):
            pass
        finally:
            _remove(work)
    return None


def _remove(folder: Path) -> None:
    # Processes of a killed sandbox may take a moment to go; retry rather than leave files behind.
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)


# What LibreOffice writes for each target: the filter of its --convert-to.
_FILTERS = {"docx": "docx:MS Word 2007 XML", "pdf": "pdf:writer_pdf_Export"}


def read_legacy(path: Path, doc: Document) -> Document:
    with converted(path, doc.format, "docx") as docx:
        return read_docx(docx, doc)


@contextlib.contextmanager
def converted(path: Path, kind: str, target: str) -> Iterator[Path]:
    """PATH (a `kind` file: doc, wps, rtf, docx) converted by LibreOffice to `target` (docx or pdf), inside
    the sandbox; the converted file lives until the block ends. Unsupported when LibreOffice is missing or
    cannot be isolated, Unreadable when the conversion fails or times out."""
    binary = soffice()
    if binary is None:
        raise Unsupported(
            f"旧版 {kind.upper()} 文件需要 LibreOffice 转换，本机未安装 LibreOffice；"
            "请安装 libreoffice-writer-nogui，或请申报单位提供 .docx / PDF 版本"
        )
    mode = _isolation()
    if mode is None:
        raise Unsupported(
            f"旧版 {kind.upper()} 文件需要 LibreOffice 转换，但本机无法将转换程序与系统隔离，"
            "为安全起见不转换；请安装 bubblewrap，或请申报单位提供 .docx / PDF 版本"
        )
    program = Path(binary).resolve()
    # An installation outside /usr (/opt/libreoffice…) is made visible inside, read-only.
    extra = [] if program.is_relative_to("/usr") else [str(program.parents[1])]
    work = Path(tempfile.mkdtemp(prefix="dossier-lo-"))
    try:
        # Copy under a plain ASCII name: LibreOffice mangles some non-UTF-8 paths, and the
        # input must never be touched.
        shutil.copyfile(path, work / f"input.{kind}")
        (work / "out").mkdir()
        (work / "home").mkdir()
        # A fresh profile per conversion (it costs ~0.2–0.3 s): nothing is left behind, and two
        # conversions never share one.
        (work / "profile" / "user").mkdir(parents=True)
        (work / "profile" / "user" / "registrymodifications.xcu").write_text(_SETTINGS, encoding="utf-8")
        prefix, inside = _sandbox(mode, work, extra)
        command = [
            *prefix,
            str(program),
            f"-env:UserInstallation=file://{inside}/profile",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            _FILTERS[target],
            "--outdir",
            f"{inside}/out",
            f"{inside}/input.{kind}",
        ]
        proc = subprocess.Popen(
            command,
            env=_environment(inside),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=CONVERT_SECONDS)
        except subprocess.TimeoutExpired:
            # The sandbox's own processes die with it (--die-with-parent, --kill-child).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise Unreadable("timeout", f"LibreOffice 转换超过 {CONVERT_SECONDS} 秒，已放弃") from None
        result = work / "out" / f"input.{target}"
        if not result.is_file() or result.stat().st_size == 0:
            raise Unreadable("corrupt", f"{kind.upper()} 文件已损坏或已加密，LibreOffice 无法转换")
        yield result
    finally:
        _remove(work)

"""Intake: turn a dossier path (folder, zip, single file) into the list of files to read.

The input is never modified. Archives are unpacked into a private temporary folder: member names
are decoded as UTF-8 or GBK (Windows zips carry no UTF-8 flag), nothing is written outside that
folder (zip-slip), and unpacking stops past a cap on total size and member count (zip bombs).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from extractors.sandbox import FileJob

MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_MEMBERS = 5000
MAX_NESTING = 2  # a zip inside a zip inside the dossier is unpacked; deeper is not
_UTF8_FLAG = 0x800

_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"}


def is_junk(rel: str) -> bool:
    """macOS resource forks, Explorer thumbnails, Office lock files: never part of a dossier."""
    parts = PurePosixPath(rel).parts
    if any(p == "__MACOSX" or (p.startswith(".") and p not in (".", "..")) for p in parts[:-1]):
        return True
    name = parts[-1] if parts else rel
    return (
        name.lower() in _JUNK_NAMES
        or name.startswith("~$")
        or name.startswith("._")
        or name.startswith(".~lock.")
        or name.startswith(".")
    )


@dataclass
class IntakeProblem:
    """Something about the package itself (not one file) the clerk must know."""

    rel: str
    kind: str  # zip_bomb, encrypted, corrupt, unsafe_path, symlink
    reason: str


@dataclass
class Intake:
    source: Path
    kind: str  # folder, zip, file
    workdir: Path  # our temporary folder: archives unpack here and nowhere else
    files: list[FileJob] = field(default_factory=list)
    problems: list[IntakeProblem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # junk left out, for the record


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: zipfile decodes flagless names as cp437; undo that and try UTF-8
    (some tools omit the flag), then GB18030 (Windows 'send to compressed folder' in China)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def safe_relpath(name: str) -> str | None:
    """A member name as a relative path with no way out of its folder, or None if nothing is left."""
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".", "..")]
    if parts and re.match(r"^[A-Za-z]:$", parts[0]):
        parts = parts[1:]
    return "/".join(parts) if parts else None


def _escapes(name: str) -> bool:
    parts = re.split(r"[\\/]+", name)
    return ".." in parts or name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))


def _natural_key(rel: str) -> list[object]:
    # "2.简介" before "10.其他": applicants number their files.
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", rel)]


class _Budget:
    def __init__(self, max_bytes: int, max_members: int) -> None:
        self.bytes_left = max_bytes
        self.members_left = max_members
        self.max_bytes = max_bytes
        self.max_members = max_members


class _BudgetExceeded(Exception):
    pass


def _unpack(archive_path: Path, rel_prefix: str, dest: Path, intake: Intake, budget: _Budget, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        intake.problems.append(IntakeProblem(rel_prefix or archive_path.name, "corrupt", "压缩包已损坏，无法解压"))
        return
    with archive:
        try:
            infos = archive.infolist()
        except Exception:
            infos = []
        for info in infos:
            name = member_name(info)
            rel = safe_relpath(name)
            if rel is None or info.is_dir():
                continue
            shown = f"{rel_prefix}/{rel}" if rel_prefix else rel
            if _escapes(name):
                intake.problems.append(
                    IntakeProblem(shown, "unsafe_path", f"压缩包成员路径「{name}」指向压缩包之外，已按安全路径解压")
                )
            if is_junk(rel):
                intake.skipped.append(shown)
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                intake.problems.append(IntakeProblem(shown, "symlink", "压缩包内的符号链接已忽略"))
                continue
            if budget.members_left <= 0:
                raise _BudgetExceeded(f"压缩包内文件超过 {budget.max_members} 个，疑似压缩炸弹，已停止解压")
            budget.members_left -= 1
            target = dest / rel
            # Two members may collapse to one safe path; never overwrite, keep both.
            n = 2
            while target.exists():
                target = target.with_name(f"{target.stem}-{n}{target.suffix}")
                n += 1
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                _copy_member(archive, info, target, budget)
            except RuntimeError:  # zipfile: "File ... is encrypted, password required"
                target.unlink(missing_ok=True)
                intake.problems.append(IntakeProblem(shown, "encrypted", "压缩包内文件设有密码，无法解压"))
                continue
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)
                intake.problems.append(
                    IntakeProblem(shown, "corrupt", f"压缩包内文件已损坏，无法解压（{type(exc).__name__}）")
                )
                continue
            except _BudgetExceeded:
                target.unlink(missing_ok=True)
                raise
            if target.suffix.lower() == ".zip" and depth < MAX_NESTING:
                inner = dest / f"{rel}.unpacked"
                _unpack(target, shown, inner, intake, budget, depth + 1)
                continue
            intake.files.append(FileJob(target, shown, sha256_of(target), target.stat().st_size))


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: _Budget) -> None:
    # Declared sizes can lie: count the bytes actually written.
    if info.file_size > budget.bytes_left:
        raise _BudgetExceeded(f"压缩包解压后超过 {budget.max_bytes // 2**20} MB，疑似压缩炸弹，已停止解压")
    with archive.open(info) as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            budget.bytes_left -= len(chunk)
            if budget.bytes_left < 0:
                raise _BudgetExceeded(f"压缩包解压后超过 {budget.max_bytes // 2**20} MB，疑似压缩炸弹，已停止解压")
            out.write(chunk)


def _walk_folder(root: Path, intake: Intake, unpack_dir: Path, budget: _Budget) -> None:
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if is_junk(rel):
                intake.skipped.append(rel)
                continue
            if path.is_symlink():
                intake.problems.append(IntakeProblem(rel, "symlink", "符号链接已忽略（请提供文件本身）"))
                continue
            if not path.is_file():
                continue
            if path.suffix.lower() == ".zip":
                _unpack_guarded(path, rel, unpack_dir / rel, intake, budget, depth=1)
                continue
            intake.files.append(FileJob(path, rel, sha256_of(path), path.stat().st_size))


def _unpack_guarded(archive: Path, rel: str, dest: Path, intake: Intake, budget: _Budget, depth: int) -> None:
    try:
        _unpack(archive, rel, dest, intake, budget, depth)
    except _BudgetExceeded as exc:
        intake.problems.append(IntakeProblem(rel or archive.name, "zip_bomb", str(exc)))


class NotADossier(Exception):
    """A named pipe, socket or device given as a dossier: reading it would block, or never end."""


def require_readable_kind(path: Path) -> None:
    """NotADossier unless PATH is a folder or a regular file (a dangling link passes: reading reports it)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise NotADossier("不是普通文件或文件夹（命名管道、设备等），无法读取")


@contextmanager
def open_dossier(path: Path, max_bytes: int = MAX_UNPACKED_BYTES, max_members: int = MAX_MEMBERS) -> Iterator[Intake]:
    """The dossier's files, unpacked where needed; the temporary folder is removed on exit."""
    require_readable_kind(path)
    tmp = Path(tempfile.mkdtemp(prefix="dossier-"))
    budget = _Budget(max_bytes, max_members)
    try:
        if path.is_dir():
            intake = Intake(path, "folder", tmp)
            _walk_folder(path, intake, tmp, budget)
        elif path.suffix.lower() == ".zip" or _looks_like_plain_zip(path):
            intake = Intake(path, "zip", tmp)
            _unpack_guarded(path, "", tmp, intake, budget, depth=0)
        else:
            intake = Intake(path, "file", tmp)
            intake.files.append(FileJob(path, path.name, sha256_of(path), path.stat().st_size))
        intake.files.sort(key=lambda job: _natural_key(job.rel))
        yield intake
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _looks_like_plain_zip(path: Path) -> bool:
    """A zip without the .zip extension (`.rar` renamed, no extension), but not a .docx/.xlsx."""
    if path.suffix.lower() in (".docx", ".xlsx", ".pptx", ".ofd"):
        return False
    try:
        with path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return not ({"word/document.xml", "xl/workbook.xml", "[Content_Types].xml"} & names)

"""Intake: turn a dossier path (folder, zip, single file) into the list of files to read.

The input is never modified. Archives are unpacked into a private temporary folder: member names
are decoded as UTF-8 or GBK (Windows zips carry no UTF-8 flag), nothing is written outside that
folder (zip-slip), and unpacking stops past a cap on total size and member count (zip bombs).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.limits import Limits, describe
from core.names import shown
from core.scratch import private_folder
from extractors.sandbox import FileJob

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
    kind: str  # zip_bomb, encrypted, corrupt, unsafe_path, symlink, unreadable, special, nested
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
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes_left = limits.unpacked_mb * 2**20
        self.members_left = limits.archive_members
        self.stored = 0  # members written so far: their names on disk


class _BudgetExceeded(Exception):
    pass


def _stored_name(budget: _Budget, rel: str) -> str:
    """A member's name on disk: short and plain whatever its name in the archive (300-byte names, a file
    and a folder of one name, bytes the file system refuses), keeping the extension readers look at."""
    budget.stored += 1
    suffix = PurePosixPath(rel).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    return f"{budget.stored:06d}{suffix}"


def _unique(rel: str, taken: set[str]) -> str:
    # Two members may show as one path (a/../b.pdf and b.pdf): never merge them, keep both.
    shown_rel, n = rel, 2
    while shown_rel in taken:
        path = PurePosixPath(rel)
        shown_rel = str(path.with_name(f"{path.stem}-{n}{path.suffix}"))
        n += 1
    taken.add(shown_rel)
    return shown_rel


def _unpack(archive_path: Path, rel_prefix: str, dest: Path, intake: Intake, budget: _Budget, depth: int) -> None:
    label = rel_prefix or shown(archive_path.name)
    try:
        try:
            archive = zipfile.ZipFile(archive_path)
        except UnicodeDecodeError:
            # Names flagged UTF-8 that are not (GBK written by some Chinese tools): read them unflagged.
            archive = zipfile.ZipFile(_utf8_flags_cleared(archive_path, dest / "names.zip"))
    except PermissionError:
        intake.problems.append(IntakeProblem(label, "unreadable", "无法读取（权限不足）"))
        return
    except Exception:  # zipfile raises what it meets in a hostile directory: not only BadZipFile
        intake.problems.append(IntakeProblem(label, "corrupt", "压缩包已损坏，无法解压"))
        return
    dest.mkdir(parents=True, exist_ok=True)
    taken = {job.rel for job in intake.files}
    with archive:
        for info in archive.infolist():
            name = member_name(info)
            rel = safe_relpath(name)
            if rel is None or info.is_dir():
                continue
            rel = shown(rel)
            where = f"{rel_prefix}/{rel}" if rel_prefix else rel
            if _escapes(name):
                intake.problems.append(
                    IntakeProblem(
                        where, "unsafe_path", f"压缩包成员路径「{shown(name)}」指向压缩包之外，已按安全路径解压"
                    )
                )
            if is_junk(rel):
                intake.skipped.append(where)
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                intake.problems.append(IntakeProblem(where, "symlink", "压缩包内的符号链接已忽略"))
                continue
            if budget.members_left <= 0:
                raise _BudgetExceeded(
                    f"压缩包内文件超过 {budget.limits.archive_members} 个，疑似压缩炸弹，已停止解压"
                    f"（{describe('archive_members', budget.limits.archive_members)}）"
                )
            budget.members_left -= 1
            where = _unique(where, taken)
            target = dest / _stored_name(budget, rel)
            try:
                _copy_member(archive, info, target, budget)
            except _BudgetExceeded:
                target.unlink(missing_ok=True)
                raise
            except RuntimeError:  # zipfile: "File ... is encrypted, password required"
                target.unlink(missing_ok=True)
                intake.problems.append(IntakeProblem(where, "encrypted", "压缩包内文件设有密码，无法解压"))
                continue
            except Exception as exc:  # a bad CRC, corrupt deflate data (zlib.error), a lying header …
                target.unlink(missing_ok=True)
                intake.problems.append(
                    IntakeProblem(where, "corrupt", f"压缩包内文件已损坏，无法解压（{type(exc).__name__}）")
                )
                continue
            if target.suffix == ".zip":
                if depth < budget.limits.archive_depth:
                    _unpack(target, where, dest / f"{target.stem}.unpacked", intake, budget, depth + 1)
                    continue
                intake.problems.append(
                    IntakeProblem(
                        where,
                        "nested",
                        f"压缩包嵌套过深，未解压（{describe('archive_depth', budget.limits.archive_depth)}）",
                    )
                )
                continue
            intake.files.append(FileJob(target, where, sha256_of(target), target.stat().st_size, budget.limits))


def _utf8_flags_cleared(path: Path, copy: Path) -> Path:
    """A copy of the zip at PATH whose members do not claim UTF-8 names (the flag cleared in the central
    directory and in each local header), so that their names are decoded as unflagged ones are."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, copy)
    with copy.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 22:
            raise zipfile.BadZipFile("no end of central directory")
        count, _, offset = struct.unpack("<HII", tail[end + 10 : end + 20])
        position = offset
        for _ in range(count):
            handle.seek(position)
            entry = handle.read(46)
            if len(entry) < 46 or entry[:4] != b"PK\x01\x02":
                raise zipfile.BadZipFile("broken central directory")
            (flags,) = struct.unpack("<H", entry[8:10])
            name_len, extra_len, comment_len = struct.unpack("<HHH", entry[28:34])
            (local,) = struct.unpack("<I", entry[42:46])
            handle.seek(position + 8)
            handle.write(struct.pack("<H", flags & ~_UTF8_FLAG))
            handle.seek(local + 6)
            (local_flags,) = struct.unpack("<H", handle.read(2))
            handle.seek(local + 6)
            handle.write(struct.pack("<H", local_flags & ~_UTF8_FLAG))
            position += 46 + name_len + extra_len + comment_len
    return copy


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: _Budget) -> None:
    # Declared sizes can lie: count the bytes actually written.
    too_big = (
        f"压缩包解压后超过 {budget.limits.unpacked_mb} MB，疑似压缩炸弹，已停止解压"
        f"（{describe('unpacked_mb', budget.limits.unpacked_mb)}）"
    )
    if info.file_size > budget.bytes_left:
        raise _BudgetExceeded(too_big)
    with archive.open(info) as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            budget.bytes_left -= len(chunk)
            if budget.bytes_left < 0:
                raise _BudgetExceeded(too_big)
            out.write(chunk)


def _regular(path: Path, rel: str, intake: Intake) -> bool:
    """Whether PATH is a regular file (not followed if a link); a problem that says why not if it is not.
    Checked before anything opens it: opening a named pipe blocks until someone writes."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        intake.problems.append(IntakeProblem(rel, "unreadable", _os_reason(exc)))
        return False
    if stat.S_ISLNK(mode):
        intake.problems.append(IntakeProblem(rel, "symlink", "符号链接已忽略（请提供文件本身）"))
        return False
    if not stat.S_ISREG(mode):
        intake.problems.append(IntakeProblem(rel, "special", "不是普通文件（命名管道、设备或套接字），未读取"))
        return False
    return True


def _add_file(path: Path, rel: str, intake: Intake, budget: _Budget) -> None:
    try:
        digest, size = sha256_of(path), path.stat().st_size
    except OSError as exc:
        intake.problems.append(IntakeProblem(rel, "unreadable", _os_reason(exc)))
        return
    intake.files.append(FileJob(path, rel, digest, size, budget.limits))


_OS_REASONS = {
    errno.EACCES: "权限不足",
    errno.EPERM: "权限不足",
    errno.ENAMETOOLONG: "路径过长",
    errno.ENOENT: "文件已不存在",
    errno.ELOOP: "符号链接循环",
    errno.EIO: "磁盘读取错误",
}


def _os_reason(exc: OSError) -> str:
    return f"无法读取（{_OS_REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__}）"


def _walk_folder(root: Path, intake: Intake, unpack_dir: Path, budget: _Budget) -> None:
    def unreadable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else root
        rel = folder.relative_to(root).as_posix() if folder.is_relative_to(root) and folder != root else root.name
        intake.problems.append(IntakeProblem(shown(rel), "unreadable", "文件夹" + _os_reason(exc)))

    stored = 0
    for folder, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        dirnames.sort()
        base = Path(folder)
        for name in list(dirnames):
            rel = shown((base / name).relative_to(root).as_posix())
            try:
                linked = stat.S_ISLNK((base / name).lstat().st_mode)
            except OSError as exc:  # a path past the system's limit (4096 bytes)
                dirnames.remove(name)
                intake.problems.append(IntakeProblem(rel, "unreadable", "文件夹" + _os_reason(exc)))
                continue
            if linked:  # os.walk lists it but does not enter: say so
                dirnames.remove(name)
                intake.problems.append(IntakeProblem(rel, "symlink", "指向其他文件夹的符号链接已忽略"))
        for name in sorted(filenames):
            path = base / name
            rel = shown(path.relative_to(root).as_posix())
            if is_junk(rel):
                intake.skipped.append(rel)
                continue
            if not _regular(path, rel, intake):
                continue
            if path.suffix.lower() == ".zip":
                stored += 1
                _unpack_guarded(path, rel, unpack_dir / f"{stored:06d}", intake, budget, depth=1)
            else:
                _add_file(path, rel, intake, budget)


def _unpack_guarded(archive: Path, rel: str, dest: Path, intake: Intake, budget: _Budget, depth: int) -> None:
    try:
        _unpack(archive, rel, dest, intake, budget, depth)
    except _BudgetExceeded as exc:
        intake.problems.append(IntakeProblem(rel or shown(archive.name), "zip_bomb", str(exc)))


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
def open_dossier(path: Path, limits: Limits | None = None) -> Iterator[Intake]:
    """The dossier's files, unpacked where needed; the temporary folder is removed on exit.

    Never raises for what the dossier holds: a link, a named pipe, a file or folder that cannot be read
    is a problem of the intake, with the rest read. A dossier that is itself a symbolic link is refused as
    links inside a dossier are (a batch inbox could otherwise lead the reader anywhere).
    """
    budget = _Budget(limits or Limits.from_env())
    tmp = private_folder("unpack-")
    try:
        if path.is_symlink():
            intake = Intake(path, "file", tmp)
            intake.problems.append(
                IntakeProblem(shown(path.name), "symlink", "材料包本身是符号链接，已拒绝读取（请提供文件或文件夹本身）")
            )
        elif path.is_dir():
            intake = Intake(path, "folder", tmp)
            _walk_folder(path, intake, tmp, budget)
        else:
            intake = Intake(path, "file", tmp)
            if _regular(path, shown(path.name), intake):
                if path.suffix.lower() == ".zip" or _looks_like_plain_zip(path):
                    intake.kind = "zip"
                    _unpack_guarded(path, "", tmp, intake, budget, depth=0)
                else:
                    _add_file(path, shown(path.name), intake, budget)
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
    except Exception:  # not a zip, or not one zipfile can open: read as the file it claims to be
        return False
    return not ({"word/document.xml", "xl/workbook.xml", "[Content_Types].xml"} & names)

"""Uploads into the inbox, atomically: the watch service never sees half of a dossier.

Each file's body is streamed into `INBOX/.uploading/<random>/<name>` (a dot-folder, which the watch
service ignores: `pipeline.intake.is_junk`), then renamed into the inbox when complete. Several files of
one dossier (`folder=`) are staged together in `INBOX/.uploading/<batch>/<folder>/` and the folder is
renamed into the inbox in one step once all of them (`total`) are there. An existing inbox child is never
overwritten: the new one is called `name-2`, `name-3` … Names with path separators, `..`, control
characters, a leading dot or a type outside `ALLOWED_SUFFIXES` are refused, as is a body over the cap.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

logger = logging.getLogger("dossier.web")

STAGING = ".uploading"
ALLOWED_SUFFIXES = (".zip", ".pdf", ".doc", ".docx", ".wps", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".xlsx")
_NAME_MAX_BYTES = 200  # room for "-NN" and the file system's 255
_BATCH = re.compile(r"[A-Za-z0-9_-]{8,64}")
_TOTAL_MAX = 1000
_lock = threading.Lock()  # one rename into the inbox at a time: "is the name free?" then rename


class UploadRefused(Exception):
    """An upload the desk will not take: `status` is the HTTP status, the message Chinese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Uploaded:
    name: str  # the inbox child's name as landed ("" while the folder waits for its other files)
    file: str  # the file's name as sent
    complete: bool  # whether the dossier is in the inbox now
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "file": self.file, "complete": self.complete, "size": self.size}


def allowed_types_text() -> str:
    return "、".join(ALLOWED_SUFFIXES)


def check_name(name: str, *, what: str = "文件名") -> str:
    """A name as it will stand in the inbox, or UploadRefused (400)."""
    if (
        not name
        or name != name.strip()
        or name in (".", "..")
        or ".." in name
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or any(not ch.isprintable() for ch in name)
        or len(name.encode("utf-8", "surrogatepass")) > _NAME_MAX_BYTES
    ):
        raise UploadRefused(400, f"{what}不合法：{name!r}（不能含路径分隔符、“..”、控制字符，不能以“.”开头）")
    return name


def check_type(name: str) -> None:
    if PurePosixPath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise UploadRefused(415, f"不支持的文件类型：{name}（可上传：{allowed_types_text()}）")


def too_large_message(cap_mb: int) -> str:
    return f"文件超过上传上限 {cap_mb} MB，已拒绝"


def free_name(inbox: Path, name: str) -> str:
    """NAME, or NAME with -2, -3 … before its extension, whichever no inbox child holds."""
    if not os.path.lexists(inbox / name):
        return name
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.suffix.lower() in ALLOWED_SUFFIXES else (name, "")
    n = 2
    while os.path.lexists(inbox / f"{stem}-{n}{suffix}"):
        n += 1
    return f"{stem}-{n}{suffix}"


def _move_in(staged: Path, inbox: Path, name: str) -> str:
    """Rename the complete file or folder into the inbox under a free name; the name it got."""
    with _lock:
        for _ in range(100):
            target = free_name(inbox, name)
            try:
                if staged.is_dir():
                    # rename(2) would replace an empty folder of that name: checked free just above, under the lock
                    os.rename(staged, inbox / target)
                else:
                    os.link(staged, inbox / target)  # never replaces an existing file
                    staged.unlink()
                return target
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno != errno.ENOTEMPTY:
                    raise
        raise UploadRefused(409, f"收件箱中同名材料过多：{name}")


def _staging_root(inbox: Path) -> Path:
    root = inbox / STAGING
    root.mkdir(exist_ok=True)
    return root


async def _write_body(body: AsyncIterator[bytes], target: Path, cap_bytes: int, cap_mb: int) -> int:
    written = 0
    with target.open("xb") as handle:
        async for chunk in body:
            written += len(chunk)
            if written > cap_bytes:
                raise UploadRefused(413, too_large_message(cap_mb))
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return written


async def receive(
    body: AsyncIterator[bytes],
    inbox: Path,
    name: str,
    *,
    cap_mb: int,
    declared_length: int | None = None,
    folder: str | None = None,
    batch: str | None = None,
    total: int = 1,
) -> Uploaded:
    """Stream one uploaded file into the inbox (see the module's text). A file of a folder upload is
    staged under its `batch` (a token chosen by the page, one per drop); the folder moves into the inbox
    with its `total`-th file."""
    name = check_name(name)
    check_type(name)
    if folder is not None:
        folder = check_name(folder, what="材料包名称")
        if batch is None or not _BATCH.fullmatch(batch):
            raise UploadRefused(400, "上传批次标识不合法")
        if not 1 <= total <= _TOTAL_MAX:
            raise UploadRefused(400, f"一个材料包至多 {_TOTAL_MAX} 个文件")
    cap_bytes = cap_mb * 2**20
    if declared_length is not None and declared_length > cap_bytes:
        raise UploadRefused(413, too_large_message(cap_mb))
    if not inbox.is_dir():
        raise UploadRefused(409, "收件箱不存在，无法上传")
    root = _staging_root(inbox)
    if folder is None:
        stage = root / secrets.token_hex(12)
        stage.mkdir()
        try:
            size = await _write_body(body, stage / name, cap_bytes, cap_mb)
            landed = _move_in(stage / name, inbox, name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return Uploaded(landed, name, True, size)
    stage = root / batch  # type: ignore[operator]  # checked above
    holder = stage / folder
    holder.mkdir(parents=True, exist_ok=True)
    partial = stage / f".{secrets.token_hex(8)}.part"
    try:
        size = await _write_body(body, partial, cap_bytes, cap_mb)
        with _lock:
            target = holder / free_name(holder, name)
            os.rename(partial, target)
            done = sum(1 for p in holder.iterdir() if p.is_file()) >= total
        if not done:
            return Uploaded("", name, False, size)
        landed = _move_in(holder, inbox, folder)
        shutil.rmtree(stage, ignore_errors=True)
        return Uploaded(landed, name, True, size)
    except UploadRefused:
        shutil.rmtree(stage, ignore_errors=True)  # a folder missing one of its files must not go in
        raise
    finally:
        partial.unlink(missing_ok=True)


def sweep(inbox: Path, older_than: float = 86400.0) -> None:
    """Staged uploads left for a day (a browser closed mid-upload, the desk stopped): never to finish."""
    root = inbox / STAGING
    if not root.is_dir():
        return
    limit = time.time() - older_than
    for stage in root.iterdir():
        try:
            if stage.lstat().st_mtime < limit:
                shutil.rmtree(stage, ignore_errors=True)
        except OSError:
            continue

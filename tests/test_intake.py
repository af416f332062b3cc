"""Intake: folders, zips (UTF-8 and GBK names), zip-slip, zip bombs, junk, hashing."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from core.limits import Limits
from pipeline.intake import NotADossier, is_junk, member_name, open_dossier, safe_relpath
from pipeline.runner import content_hash, failure_reason


class _GbkInfo(zipfile.ZipInfo):
    """Writes the member name in GBK without the UTF-8 flag, as Windows Explorer does."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _write_zip(path: Path, members: dict[str, bytes], gbk: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = _GbkInfo(name) if gbk else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def test_gbk_member_names_are_decoded(tmp_path: Path) -> None:
    archive = tmp_path / "临朐.zip"
    _write_zip(archive, {"申报材料/1.申请表.txt": "申请表".encode(), "2.简介.txt": b"x"}, gbk=True)
    with zipfile.ZipFile(archive) as z:
        raw = z.infolist()[0]
        assert not raw.flag_bits & 0x800  # really written without the flag
        assert raw.filename != "申报材料/1.申请表.txt"  # zipfile alone gets it wrong
        assert member_name(raw) == "申报材料/1.申请表.txt"
    with open_dossier(archive) as intake:
        assert [f.rel for f in intake.files] == ["2.简介.txt", "申报材料/1.申请表.txt"]
        assert intake.kind == "zip"


def test_utf8_member_names_are_kept(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    _write_zip(archive, {"材料/发展规划.txt": b"plan"})
    with open_dossier(archive) as intake:
        assert [f.rel for f in intake.files] == ["材料/发展规划.txt"]


def test_zip_slip_never_writes_outside(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    outside = tmp_path / "escaped.txt"
    _write_zip(archive, {"../escaped.txt": b"x", "/etc/evil.txt": b"y", "ok/../../../z.txt": b"z"})
    with open_dossier(archive) as intake:
        rels = sorted(f.rel for f in intake.files)
        for job in intake.files:
            assert job.path.resolve().is_relative_to(intake.workdir.resolve())
        kinds = {p.kind for p in intake.problems}
    assert not outside.exists()
    assert rels == ["escaped.txt", "etc/evil.txt", "ok/z.txt"]
    assert kinds == {"unsafe_path"}


def test_zip_bomb_stops_at_the_size_cap(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    _write_zip(archive, {f"{i}.txt": b"\0" * 2_000_000 for i in range(5)})
    assert archive.stat().st_size < 100_000
    with open_dossier(archive, Limits(unpacked_mb=5)) as intake:
        assert len(intake.files) == 2
        assert [p.kind for p in intake.problems] == ["zip_bomb"]
        assert "压缩炸弹" in intake.problems[0].reason


def test_zip_bomb_stops_at_the_member_cap(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    _write_zip(archive, {f"{i}.txt": b"x" for i in range(50)})
    with open_dossier(archive, Limits(archive_members=10)) as intake:
        assert len(intake.files) == 10
        assert [p.kind for p in intake.problems] == ["zip_bomb"]


def test_junk_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "dossier"
    for rel in ["__MACOSX/._a.pdf", ".DS_Store", "sub/Thumbs.db", "~$申请表.docx", "申请表.docx"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"data " + rel.encode())
    with open_dossier(root) as intake:
        assert [f.rel for f in intake.files] == ["申请表.docx"]
        assert len(intake.skipped) == 4
    assert is_junk("a/.hidden/x.pdf") and not is_junk("a/b.pdf")


def test_folder_files_are_hashed_in_natural_order_and_left_untouched(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    for name in ["10.其他.txt", "2.简介.txt", "sub/1.表.txt"]:
        (root / name).write_text(name, encoding="utf-8")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    with open_dossier(root) as intake:
        assert [f.rel for f in intake.files] == ["2.简介.txt", "10.其他.txt", "sub/1.表.txt"]
        for job in intake.files:
            assert job.sha256 == hashlib.sha256(job.path.read_bytes()).hexdigest()
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    assert before == after


def test_nested_zip_and_temporary_folder_removed(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    _write_zip(inner, {"证书.txt": b"cert"})
    root = tmp_path / "d"
    root.mkdir()
    (root / "附件.zip").write_bytes(inner.read_bytes())
    with open_dossier(root) as intake:
        assert [f.rel for f in intake.files] == ["附件.zip/证书.txt"]
        unpacked = intake.files[0].path
        assert unpacked.is_file()
    assert not unpacked.exists()


def test_single_file_dossier(tmp_path: Path) -> None:
    bound = tmp_path / "申报材料.pdf"
    bound.write_bytes(b"%PDF-1.4 not really")
    with open_dossier(bound) as intake:
        assert intake.kind == "file"
        assert [f.rel for f in intake.files] == ["申报材料.pdf"]
        assert intake.files[0].path == bound


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, root / "link.txt")
    with open_dossier(root) as intake:
        assert intake.files == []
        assert [p.kind for p in intake.problems] == ["symlink"]


def test_safe_relpath() -> None:
    assert safe_relpath("..\\..\\windows\\x.doc") == "windows/x.doc"
    assert safe_relpath("C:/Users/a.pdf") == "Users/a.pdf"
    assert safe_relpath("../..") is None


def test_a_named_pipe_is_refused_at_once_not_read(tmp_path: Path) -> None:
    """A FIFO dropped as a dossier would block every reader until something writes to it."""
    fifo = tmp_path / "管道"
    os.mkfifo(fifo)
    with open_dossier(fifo) as intake:
        assert intake.files == []
        assert [(p.kind, p.rel) for p in intake.problems] == [("special", "管道")]
    assert "命名管道" in failure_reason(NotADossier("不是普通文件或文件夹（命名管道、设备等），无法读取"))
    with pytest.raises(OSError):
        content_hash(fifo)  # the flow's cache key: no key, rather than a hang


class _FlaggedGbkInfo(zipfile.ZipInfo):
    """GBK names with the UTF-8 flag set anyway, as some Chinese zip tools write them."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits | 0x800


def test_gbk_names_flagged_utf8_are_still_unpacked(tmp_path: Path) -> None:
    archive = tmp_path / "标错的.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name in ("申请表.txt", "简介.txt"):
            out.writestr(_FlaggedGbkInfo(name), name.encode("utf-8"))
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(archive)  # zipfile alone cannot open it
    with open_dossier(archive) as intake:
        assert sorted(f.rel for f in intake.files) == ["申请表.txt", "简介.txt"]
        assert intake.problems == []

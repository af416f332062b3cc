"""Hostile dossiers: an inbox of packages built to break, trap or exhaust `dossier batch`.

    python -m scripts.hostile --out DIR [--scale small|large] [--seed N] [--port 9]

writes
    DIR/inbox/<case>[.zip|.pdf|…]   one direct child per case (folder, zip, single file, link, FIFO)
    DIR/canary/secret.txt           a file outside the inbox that no report may ever quote or open
    DIR/cases.json                  case → what it is, what the tool must do, machine checks, the canary
                                    path and the port of the harness's listener (scripts/hostile_run.py)

Everything is written by hand from bytes (zip headers, PDF objects, PNG chunks) where a library would
refuse to write the lie; python-docx and Pillow make the honest parts. Output is the same for
the same seed and DIR (the canary's absolute path is inside the payloads, so DIR is part of the input).
A case whose file system refuses it (no FIFOs, no raw-byte names) is recorded as skipped: the generator
itself never fails on one case.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import stat
import struct
import sys
import time
import traceback
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCALES = ("small", "large")
DEFAULT_PORT = 9  # discard: nothing listens there unless the harness does
_FIXED_DATE = (2024, 1, 1, 0, 0, 0)
# DOS date/time of _FIXED_DATE, for hand-written zip headers: deterministic archives.
_DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1
_DOS_TIME = 0
_UTF8_FLAG = 0x800

# ---------------------------------------------------------------------------------------------------
# Cases and the generation context
# ---------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One hostile dossier: a direct child of the inbox and what the tool must do with it."""

    name: str
    group: str
    child: str  # its name in the inbox
    kind: str  # folder, zip, file, symlink, fifo
    what: str
    must: str
    # Machine checks the harness evaluates (scripts/hostile_run.py), beside the global ones that hold for
    # every case (a report.json, no traceback, canary never opened or quoted, nothing written outside).
    read_ok: list[str] = field(default_factory=list)  # files (path endings) that must be read without error
    items_present: list[str] = field(default_factory=list)  # ruleset items the report must find
    should_read_ok: list[str] = field(default_factory=list)  # as read_ok, but a miss is a note, not a violation
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None  # why it could not be generated here

    @property
    def dossier_id(self) -> str:
        # CONTRACT.md: the child's name minus a .zip extension.
        return self.child[:-4] if self.child.lower().endswith(".zip") else self.child


@dataclass
class Ctx:
    out: Path
    inbox: Path
    canary_dir: Path
    canary_file: Path
    canary_text: str
    port: int
    seed: int
    scale: str
    is_root: bool

    def rng(self, case: str) -> random.Random:
        # Per case, so that adding a case never changes the bytes of another.
        return random.Random(f"{self.seed}:{case}")

    @property
    def large(self) -> bool:
        return self.scale == "large"

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self.port}/{tag}"

    @property
    def canary_url(self) -> str:
        return self.canary_file.resolve().as_uri()


# ---------------------------------------------------------------------------------------------------
# Text that reads like a dossier (so that what must still be read has something to be read for)
# ---------------------------------------------------------------------------------------------------

_COUNTIES = ["临朐县", "博兴县", "莒县", "茌平区", "沂水县", "寿光市", "邹平市", "阳谷县", "平度市", "曹县"]
_INDUSTRIES = ["铝型材加工", "厨具制造", "汽车零部件", "木制品", "食品加工", "化纤纺织", "轴承", "农机装备"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰海燕鹏飞晓东丹丹文博宇轩浩然子涵欣怡"


def cluster_name(rng: random.Random) -> str:
    return f"{rng.choice(_COUNTIES)}{rng.choice(_INDUSTRIES)}特色产业集群"


def intro_text(rng: random.Random, cluster: str | None = None, paragraphs: int = 5) -> str:
    """An introduction (发展情况简介) of ~200 字 a section: its title, numbered headings, figures."""
    cluster = cluster or cluster_name(rng)
    headings = ["集群基本情况", "产业发展水平", "品牌建设情况", "创新平台建设", "信息化建设", "下一步工作打算"]
    lines = [f"{cluster}发展情况简介", ""]
    numerals = "一二三四五六七八九十"
    for i in range(min(paragraphs, len(headings))):
        lines.append(f"{numerals[i]}、{headings[i]}")
        enterprises = rng.randint(120, 400)
        revenue = rng.randint(105, 900)
        lines.append(
            f"集群内共有规模以上企业{enterprises}户，2023年实现营业收入{revenue}.{rng.randint(0, 9)}亿元，"
            f"同比增长{rng.randint(3, 19)}.{rng.randint(0, 9)}%。集群依托龙头企业带动，形成了原材料供应、"
            f"精深加工、配套服务协同发展的产业链条，主导产品国内市场占有率达到{rng.randint(8, 40)}%。"
            "县委、县政府高度重视集群发展，出台了专项扶持政策，设立产业发展基金，推动企业技术改造和智能化升级。"
        )
        lines.append("")
    return "\n".join(lines)


def chinese_names(rng: random.Random, target_bytes: int) -> str:
    """People's names joined by 、 with no line break: one long line of about target_bytes in UTF-8."""
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
        parts.append(name)
        size += len(name.encode("utf-8")) + 3
    return "、".join(parts)


# ---------------------------------------------------------------------------------------------------
# Zip archives written header by header (zipfile refuses to write the lies)
# ---------------------------------------------------------------------------------------------------


@dataclass
class ZipMember:
    name: bytes
    payload: bytes  # as stored in the archive (deflated for method 8)
    crc: int
    size: int  # declared uncompressed size
    method: int = 8
    flags: int = 0
    external_attr: int = (stat.S_IFREG | 0o644) << 16
    create_system: int = 3  # unix: external_attr carries the mode (symlinks need it)
    compress_size: int | None = None  # declared; None: the payload's length
    local_size: int | None = None  # the local header's own declared sizes, when they should differ
    local_compress_size: int | None = None


def deflate(data: bytes, level: int = 9) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def member(name: str | bytes, data: bytes, *, method: int = 8, mode: int = stat.S_IFREG | 0o644) -> ZipMember:
    """An honest member; a str name is written as UTF-8 with the UTF-8 flag when it is not ASCII."""
    if isinstance(name, str):
        raw = name.encode("utf-8", "surrogateescape")
        flags = 0 if raw.isascii() else _UTF8_FLAG
    else:
        raw, flags = name, 0
    payload = deflate(data) if method == 8 else data
    return ZipMember(raw, payload, zlib.crc32(data), len(data), method, flags, mode << 16)


def write_zip(target: Path | io.BytesIO, members: Iterable[ZipMember]) -> None:
    """Local headers, data, central directory, end record (zip64 end records past 65,535 members)."""
    handle = target.open("wb") if isinstance(target, Path) else target
    try:
        central: list[bytes] = []
        offset = handle.tell()
        for m in members:
            csize = len(m.payload) if m.compress_size is None else m.compress_size
            local_csize = csize if m.local_compress_size is None else m.local_compress_size
            local_size = m.size if m.local_size is None else m.local_size
            header = struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                m.flags,
                m.method,
                _DOS_TIME,
                _DOS_DATE,
                m.crc & 0xFFFFFFFF,
                local_csize & 0xFFFFFFFF,
                local_size & 0xFFFFFFFF,
                len(m.name),
                0,
            )
            handle.write(header + m.name)
            handle.write(m.payload)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    (m.create_system << 8) | 20,
                    20,
                    m.flags,
                    m.method,
                    _DOS_TIME,
                    _DOS_DATE,
                    m.crc & 0xFFFFFFFF,
                    csize & 0xFFFFFFFF,
                    m.size & 0xFFFFFFFF,
                    len(m.name),
                    0,
                    0,
                    0,
                    0,
                    m.external_attr & 0xFFFFFFFF,
                    offset,
                )
                + m.name
            )
            offset += len(header) + len(m.name) + len(m.payload)
        cd_start = offset
        cd_size = 0
        for entry in central:
            handle.write(entry)
            cd_size += len(entry)
        count = len(central)
        if count > 0xFFFF:
            eocd64 = offset + cd_size
            handle.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_start))
            handle.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
            handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_start, 0))
        else:
            handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_start, 0))
    finally:
        if isinstance(target, Path):
            handle.close()


def zip_bytes(members: Iterable[ZipMember]) -> bytes:
    buffer = io.BytesIO()
    write_zip(buffer, members)
    return buffer.getvalue()


def normalize_zip(data: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """An OOXML package rewritten with fixed timestamps (python-docx and openpyxl stamp the clock),
    optionally with some parts replaced."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = replace.get(info.filename, src.read(info))
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", body)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------
# PDF written object by object (small files that claim a lot)
# ---------------------------------------------------------------------------------------------------


class RawPdf:
    """Objects in order, a classic xref table; object 1 is the catalog, 2 the page tree."""

    def __init__(self) -> None:
        self.objects: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def reserve(self) -> int:
        return self.add(b"null")

    def set(self, number: int, body: bytes) -> None:
        self.objects[number - 1] = body

    @staticmethod
    def stream(data: bytes, extra: bytes = b"") -> bytes:
        return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"

    def build(self) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets: list[int] = []
        for number, body in enumerate(self.objects, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objects) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.objects) + 1, xref)
        return bytes(out)


def _cjk_font(pdf: RawPdf, chars: Iterable[str]) -> int:
    """STSong-Light (a predefined CJK font, not embedded) with UCS-2 codes and a ToUnicode map, so
    that pdfium gives the text back."""
    used = sorted(set(chars))
    bfchar = "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in used if ord(c) <= 0xFFFF)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) "
        "/Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(used)} beginbfchar\n{bfchar}endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode()
    to_unicode = pdf.add(RawPdf.stream(cmap))
    descriptor = pdf.add(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
    )
    descendant = pdf.add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (GB1) /Supplement 2 >> /FontDescriptor %d 0 R /DW 1000 >>" % descriptor
    )
    return pdf.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (descendant, to_unicode)
    )


def _text_ops(lines: list[str], size: int = 12, top: int = 780, left: int = 60) -> bytes:
    ops = [b"BT /F1 %d Tf %d TL %d %d Td" % (size, int(size * 1.6), left, top)]
    for line in lines:
        ops.append(b"<" + line.encode("utf-16-be").hex().upper().encode() + b"> Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


def text_pdf(pages: list[list[str]]) -> bytes:
    """A born-digital PDF: each page a list of lines in a CJK font, wrapped at 40 characters."""
    wrapped: list[list[str]] = []
    for page in pages:
        lines: list[str] = []
        for line in page:
            lines.extend([line[i : i + 40] for i in range(0, len(line), 40)] or [""])
        wrapped.append(lines[:45])
    pdf = RawPdf()
    pdf.reserve()
    pdf.reserve()
    font = _cjk_font(pdf, (c for page in wrapped for line in page for c in line))
    kids: list[int] = []
    for lines in wrapped:
        content = pdf.add(RawPdf.stream(_text_ops(lines)))
        kids.append(
            pdf.add(
                b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>"
                % (content, font)
            )
        )
    pdf.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    pdf.set(2, b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>" % (refs, len(kids)))
    return pdf.build()


def blank_pages_pdf(count: int) -> bytes:
    """COUNT page objects under one flat page tree, all sharing one empty content stream."""
    pdf = RawPdf()
    pdf.reserve()
    pdf.reserve()
    content = pdf.add(RawPdf.stream(b""))
    kids = [pdf.add(b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % content) for _ in range(count)]
    pdf.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    pdf.set(2, b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>" % (refs, count))
    return pdf.build()


def text_pages_pdf(count: int, rng: random.Random) -> bytes:
    """COUNT pages with one line of text each (one shared font)."""
    names = chinese_names(rng, 600).split("、")
    pages = [
        [f"第{n}页 集群企业名录：{names[n % len(names)]}、{names[(n * 7) % len(names)]}"] for n in range(1, count + 1)
    ]
    return text_pdf(pages)


# ---------------------------------------------------------------------------------------------------
# Office files and images
# ---------------------------------------------------------------------------------------------------


def docx_bytes(title: str, body: str) -> bytes:
    """A Word file made by python-docx: a Heading 1 title and one paragraph per line; fixed dates."""
    import datetime as dt

    from docx import Document

    document = Document()
    document.add_heading(title, level=1)
    for line in body.splitlines():
        if line.strip():
            document.add_paragraph(line.strip())
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    props = document.core_properties
    props.created = props.modified = props.last_printed = stamp
    props.author = props.last_modified_by = "hostile"
    buffer = io.BytesIO()
    document.save(buffer)
    return normalize_zip(buffer.getvalue())


def _ooxml(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body.encode())
    return out.getvalue()


_SSML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx_bytes(rows: list[list[str]], sst: Callable[[list[str]], str]) -> bytes:
    """A minimal workbook written by hand, every cell a shared string (openpyxl writes inline strings,
    and the hostile part must be sharedStrings.xml); SST makes that part from the strings."""
    strings: list[str] = []
    cells: list[str] = []
    for r, row in enumerate(rows, 1):
        refs = []
        for col, value in enumerate(row):
            strings.append(value)
            refs.append(f'<c r="{chr(65 + col)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        cells.append(f'<row r="{r}">{"".join(refs)}</row>')
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return _ooxml(
        {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
                f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>'
            ),
            "_rels/.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
                f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
            "xl/workbook.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_SSML}" xmlns:r="{_DOC_RELS}">'
                '<sheets><sheet name="申请表" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
                f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
                f'<Relationship Id="rId2" Type="{_DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
            ),
            "xl/worksheets/sheet1.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_SSML}"><sheetData>{"".join(cells)}'
                "</sheetData></worksheet>"
            ),
            "xl/sharedStrings.xml": sst(strings),
        }
    )


_W_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def _w_paragraphs(texts: list[str]) -> str:
    return "".join(f'<w:p><w:r><w:t xml:space="preserve">{t}</w:t></w:r></w:p>' for t in texts)


def billion_laughs_dtd(root: str) -> str:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    ]
    return f"<!DOCTYPE {root} [\n" + "\n".join(entities) + "\n]>"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, full: bool) -> bytes:
    """A PNG whose header claims WIDTH×HEIGHT; `full` deflates every (zero) row, so decoding really
    produces that many pixels (grey, 1 byte a pixel); else one row, the rest missing."""
    signature = b"\x89PNG\r\n\x1a\n"
    if not full:
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        idat = zlib.compress(b"\x00" + b"\x00" * (width * 3), 9)
        return signature + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row_block = b"\x00" * ((width + 1) * 256)  # 256 rows (filter byte + pixels) at a time
    parts: list[bytes] = []
    rows = 0
    while rows < height:
        n = min(256, height - rows)
        parts.append(compressor.compress(row_block if n == 256 else b"\x00" * ((width + 1) * n)))
        rows += n
    parts.append(compressor.flush())
    idat = b"".join(parts)
    chunks = [png_chunk(b"IDAT", idat[i : i + (1 << 20)]) for i in range(0, len(idat), 1 << 20)]
    return signature + png_chunk(b"IHDR", ihdr) + b"".join(chunks) + png_chunk(b"IEND", b"")


def tiff_frames(count: int, rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    frames = []
    for n in range(count):
        image = Image.new("L", (96, 64), 255)
        draw = ImageDraw.Draw(image)
        x = rng.randint(4, 60)
        draw.rectangle([x, 20, x + 24, 20 + (n % 30)], fill=0)
        frames.append(image)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    return buffer.getvalue()


def rtf_escape(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\par\n")
        elif code < 128:
            out.append(ch)
        else:
            out.append(f"\\u{code if code < 32768 else code - 65536}?")
    return "".join(out)


# ---------------------------------------------------------------------------------------------------
# File-system helpers (raw byte names, fds for paths past PATH_MAX)
# ---------------------------------------------------------------------------------------------------


def write_file(path: Path | bytes, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def join_bytes(folder: Path, *names: bytes) -> bytes:
    return b"/".join([os.fsencode(folder), *names])


def fit_name(stem: str, suffix: str, size: int, filler: str = "材料") -> str:
    """A file name of exactly SIZE bytes in UTF-8 (CJK filler, ASCII padding)."""
    name = stem
    while len((name + filler[0] + suffix).encode()) <= size:
        name += filler[len(name) % len(filler)]
    while len((name + suffix).encode()) < size:
        name += "x"
    return name + suffix


def restore_and_remove(folder: Path) -> None:
    """Remove a previous output, giving back the permissions the permission cases took away."""
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_dir() and not folder.is_symlink():
        with_fd_walk_chmod(folder)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    else:
        folder.unlink()


def with_fd_walk_chmod(folder: Path) -> None:
    os.chmod(folder, 0o755)
    # fwalk works through fds: the deep cases are past PATH_MAX as paths.
    for _, dirnames, _, dirfd in os.fwalk(folder, topdown=True, follow_symlinks=False):
        for name in dirnames:
            try:
                if stat.S_ISDIR(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode):
                    os.chmod(name, 0o755, dir_fd=dirfd)
            except OSError:
                continue


# ---------------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------------

Builder = Callable[[Ctx, Case], None]
_BUILDERS: list[
    tuple[str, str, str, str, str, Builder, bool]
] = []  # name, group, child, kind, doc, builder, large-only


def case(name: str, group: str, child: str, kind: str, *, large_only: bool = False) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        _BUILDERS.append((name, group, child, kind, builder.__doc__ or "", builder, large_only))
        return builder

    return register


def _good_members(ctx: Ctx, rng: random.Random, cluster: str) -> list[ZipMember]:
    return [
        member("2.发展情况简介.txt", intro_text(rng, cluster).encode()),
        member(
            "3.发展规划.txt", f"{cluster}发展规划（2024—2026年）\n一、总体思路\n{intro_text(rng, cluster, 2)}".encode()
        ),
    ]


_GOOD = ["2.发展情况简介.txt", "3.发展规划.txt"]


def _zip_case(ctx: Ctx, c: Case, members: list[ZipMember]) -> None:
    write_zip(ctx.inbox / c.child, members)


def _verify_zip_raises(path: Path, name: bytes) -> str | None:
    """The exception reading member NAME raises (the case is void if none)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if (
                info.orig_filename.encode("cp437", "replace") == name
                or info.filename.encode("utf-8", "replace") == name
            ):
                try:
                    archive.read(info)
                except Exception as exc:
                    return f"{type(exc).__name__}: {exc}"
                return None
    return "member not found"


@case("zip-corrupt-deflate", "zip", "zip-corrupt-deflate.zip", "zip")
def _zip_corrupt_deflate(ctx: Ctx, c: Case) -> None:
    """Good members beside one whose deflated bytes are flipped in the middle (zlib.error or a CRC error)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    text = "\n".join(intro_text(rng, cluster) for _ in range(6)).encode()
    bad = member("4.品牌建设材料.txt", text)
    payload = bytearray(bad.payload)
    middle = len(payload) // 2
    for i in range(middle, middle + 16):
        payload[i] ^= rng.randint(1, 255)
    bad.payload = bytes(payload)
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), bad])
    raised = _verify_zip_raises(ctx.inbox / c.child, bad.name)
    c.notes.append(f"zipfile on the bad member: {raised}")
    c.must = "report.json; the corrupt member FILE_UNREADABLE (corrupt), the good members read"
    c.read_ok = list(_GOOD)


@case("zip-stored-bad-crc", "zip", "zip-stored-bad-crc.zip", "zip")
def _zip_stored_bad_crc(ctx: Ctx, c: Case) -> None:
    """A stored (uncompressed) member whose CRC-32 is wrong in both headers, beside good members."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    bad = member("4.品牌建设材料.txt", intro_text(rng, cluster).encode(), method=0)
    bad.crc ^= 0xDEADBEEF
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), bad])
    c.notes.append(f"zipfile on the bad member: {_verify_zip_raises(ctx.inbox / c.child, bad.name)}")
    c.must = "report.json; the bad member FILE_UNREADABLE (CRC), the good members read"
    c.read_ok = list(_GOOD)


@case("zip-size-lie", "zip", "zip-size-lie.zip", "zip")
def _zip_size_lie(ctx: Ctx, c: Case) -> None:
    """Members whose headers lie about sizes: uncompressed size halved, compressed size short (the
    stream is cut), and last one claiming 4 GB for 1 KB."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    text = intro_text(rng, cluster).encode()
    small = member("4.声称更小.txt", text)
    small.size = len(text) // 2
    short = member("5.压缩长度不足.txt", text)
    short.compress_size = len(short.payload) // 3
    short.local_compress_size = short.compress_size
    huge = member("6.声称4GB.txt", text[:1024])
    huge.size = 0xFFFFFFF0
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), small, short, huge])
    c.must = (
        "report.json; the lying members read as far as their real bytes go or FILE_UNREADABLE; never more "
        "written than the real data; the good members (first in the archive) read"
    )
    c.read_ok = list(_GOOD)


@case("zip-file-and-folder", "zip", "zip-file-and-folder.zip", "zip")
def _zip_file_and_folder(ctx: Ctx, c: Case) -> None:
    """A file and a folder of the same name: `a.pdf` then `a.pdf/x.txt`, and `b.pdf/y.txt` then `b.pdf`."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    pdf = text_pdf([[f"{cluster}申请表", "申报单位：某县工业和信息化局"]])
    members = [
        *_good_members(ctx, rng, cluster),
        member("a.pdf", pdf),
        member("a.pdf/x.txt", "文件夹与文件同名".encode()),
        member("b.pdf/y.txt", "文件夹与文件同名".encode()),
        member("b.pdf", pdf),
    ]
    _zip_case(ctx, c, members)
    c.must = "report.json; both members of each clashing pair kept (one renamed) or reported, the good members read"
    c.read_ok = list(_GOOD)


@case("zip-name-300", "zip", "zip-name-300.zip", "zip")
def _zip_name_300(ctx: Ctx, c: Case) -> None:
    """A member whose name is 300 bytes (longer than any file name a Linux file system takes)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    long_name = fit_name("4.", ".txt", 300, "品牌建设材料说明")
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), member(long_name, intro_text(rng, cluster).encode())])
    c.must = "report.json; the long-named member read under a shortened name or reported, the good members read"
    c.read_ok = list(_GOOD)
    c.notes.append(f"name bytes: {len(long_name.encode())}")


@case("zip-path-5000", "zip", "zip-path-5000.zip", "zip")
def _zip_path_5000(ctx: Ctx, c: Case) -> None:
    """A member path of 5,000 bytes (components under 255 bytes, the whole over PATH_MAX)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    component = fit_name("", "", 100, "申报材料附件目录")
    parts: list[str] = []
    while len("/".join([*parts, component, "x"]).encode()) < 4900:
        parts.append(component)
    stem = "/".join(parts) + "/"
    path = stem + fit_name("4.", ".txt", 5000 - len(stem.encode()), "品牌建设")
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), member(path, intro_text(rng, cluster).encode())])
    c.must = "report.json; the deep member read or reported, the good members read"
    c.read_ok = list(_GOOD)
    c.notes.append(f"path bytes: {len(path.encode())}")


@case("zip-nested-long-name", "zip", "zip-nested-long-name.zip", "zip")
def _zip_nested_long_name(ctx: Ctx, c: Case) -> None:
    """A zip inside the zip whose name is 250 bytes (its unpack folder `<name>.unpacked` would be 259)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    inner = zip_bytes([member("4.品牌建设材料.txt", intro_text(rng, cluster).encode())])
    name = fit_name("附件", ".zip", 250, "品牌建设材料汇编")
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), member(name, inner, method=0)])
    c.must = "report.json; the inner zip unpacked (its member read) or reported, the good members read"
    c.read_ok = list(_GOOD)
    c.should_read_ok = ["4.品牌建设材料.txt"]


@case("zip-name-invalid-utf8", "zip", "zip-name-invalid-utf8.zip", "zip")
def _zip_name_invalid_utf8(ctx: Ctx, c: Case) -> None:
    """Member names of raw bytes, no UTF-8 flag, neither UTF-8 nor GBK (0xFF is no GB18030 lead byte)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    raw_names = [b"\xff\xfe\x80bad\xc3(.txt", b"4.\xff\xff\xb7\xa2\xd5\xb9.txt", b"dir\xfe\xff/\x81\xff.txt"]
    members = [*_good_members(ctx, rng, cluster)]
    members += [member(name, intro_text(rng, cluster, 2).encode()) for name in raw_names]
    for raw in raw_names:
        for encoding in ("utf-8", "gb18030"):
            try:
                raw.decode(encoding)
                c.notes.append(f"warning: {raw!r} decodes as {encoding}")
            except UnicodeDecodeError:
                pass
    _zip_case(ctx, c, members)
    c.must = "report.json (valid JSON, names shown escaped or replaced); every member read, the good ones at least"
    c.read_ok = list(_GOOD)


@case("zip-name-utf8flag-invalid", "zip", "zip-name-utf8flag-invalid.zip", "zip")
def _zip_name_utf8flag_invalid(ctx: Ctx, c: Case) -> None:
    """A member that sets the UTF-8 flag over bytes that are not UTF-8 (Python's zipfile cannot open the
    archive at all: UnicodeDecodeError in ZipFile())."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    bad = member(b"\xc3\x28\xff\xfe.txt", intro_text(rng, cluster, 2).encode())
    bad.flags |= _UTF8_FLAG
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), bad])
    c.must = "report.json; the archive reported (FILE_UNREADABLE) rather than a crash; ideally the good members read"
    c.should_read_ok = list(_GOOD)


@case("zip-name-control", "zip", "zip-name-control.zip", "zip")
def _zip_name_control(ctx: Ctx, c: Case) -> None:
    """Member names with terminal escapes (OSC title, clear screen), CR, LF, NUL and HTML."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    names = [
        "\x1b]0;pwned-title\x07标题.txt",
        "\x1b[2J\x1b[H清屏材料齐全.txt",
        "回车\r覆盖.txt",
        "换行\n注入.txt",
        "空字符\x00截断.txt",
        "<script>alert(1)</script>.txt",
        "<img src=x onerror=alert(1)>.txt",
        "tab\tand\x7fdel\x08bs.txt",
    ]
    members = [*_good_members(ctx, rng, cluster)]
    for name in names:
        m = member(name, intro_text(rng, cluster, 2).encode())
        m.flags |= _UTF8_FLAG
        members.append(m)
    _zip_case(ctx, c, members)
    c.must = (
        "report.json, .html (names escaped: no live <script>/<img onerror>), .md and .docx written; no escape "
        "sequence reaches the terminal; the good members read"
    )
    c.read_ok = list(_GOOD)


@case("zip-slip", "zip", "zip-slip.zip", "zip")
def _zip_slip(ctx: Ctx, c: Case) -> None:
    """Members named ../../x, absolute paths, a Windows drive and backslashes: written where?"""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    payload = b"zip-slip: this file must never exist outside the unpack folder"
    names = [
        "../../dossier-hostile-slip.txt",
        "../../../../../../../../tmp/dossier-hostile-slip-up.txt",
        "/tmp/dossier-hostile-slip-abs.txt",
        "C:\\Windows\\Temp\\dossier-hostile-slip-win.txt",
        "..\\..\\dossier-hostile-slip-backslash.txt",
        "good/../../dossier-hostile-slip-mid.txt",
    ]
    _zip_case(ctx, c, [*_good_members(ctx, rng, cluster), *(member(n, payload) for n in names)])
    c.must = (
        "report.json; nothing written outside the tool's temporary folder (no /tmp/dossier-hostile-slip*); "
        "ARCHIVE_ENTRY_SKIPPED or safe unpacking; the good members read"
    )
    c.read_ok = list(_GOOD)


@case("zip-symlink", "zip", "zip-symlink.zip", "zip")
def _zip_symlink(ctx: Ctx, c: Case) -> None:
    """Symlink members (S_IFLNK in external_attr) to /etc/passwd, to the canary file and to the canary
    folder, then a regular member written through the folder link."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    link = stat.S_IFLNK | 0o777
    members = [
        *_good_members(ctx, rng, cluster),
        member("4.passwd.txt", b"/etc/passwd", method=0, mode=link),
        member("5.品牌建设材料.txt", str(ctx.canary_file).encode(), method=0, mode=link),
        member("linkdir", str(ctx.canary_dir).encode(), method=0, mode=link),
        member("linkdir/overwrite.txt", b"written through a symlink member: the canary folder was reached", method=0),
    ]
    _zip_case(ctx, c, members)
    c.must = "report.json; links not followed (canary never opened, canary folder unchanged); good members read"
    c.read_ok = list(_GOOD)


def _nested_bomb(levels: int, fanout: int, inner_bytes: int) -> bytes:
    # The innermost zip holds one member of zeros; each level holds FANOUT copies of the one below.
    zeros = b"\x00" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    parts: list[bytes] = []
    for _ in range(inner_bytes >> 20):
        parts.append(compressor.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    parts.append(compressor.flush())
    payload = b"".join(parts)
    level = zip_bytes([ZipMember(b"zeros.txt", payload, crc, inner_bytes)])
    for depth in range(levels - 1, 0, -1):
        level = zip_bytes([member(f"level{depth}-{i:02d}.zip", level, method=0) for i in range(fanout)])
    return level


@case("zip-bomb-nested", "zip", "zip-bomb-nested.zip", "zip")
def _zip_bomb_nested(ctx: Ctx, c: Case) -> None:
    """Nested zip bomb: zips in zips, FANOUT at each level, zeros at the bottom."""
    levels, fanout, inner = (3, 10, 16 << 20) if not ctx.large else (4, 10, 32 << 20)
    data = _nested_bomb(levels, fanout, inner)
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    outer = zip_bytes([*_good_members(ctx, rng, cluster), member("附件.zip", data, method=0)])
    write_file(ctx.inbox / c.child, outer)
    total = fanout ** (levels - 1) * inner
    c.notes.append(
        f"{levels} levels, fanout {fanout}, {inner >> 20} MB of zeros at the bottom: {total / 2**30:.1f} GB in all"
    )
    c.must = "report.json within the time budget; unpacking bounded (zip_bomb or nesting limit); memory bounded; the good members read"
    c.read_ok = list(_GOOD)


@case("zip-bomb-100k-members", "zip", "zip-bomb-100k-members.zip", "zip", large_only=True)
def _zip_bomb_members(ctx: Ctx, c: Case) -> None:
    """100,000 members of 0 bytes (zip64 end records)."""
    empty = deflate(b"")

    def members() -> Iterable[ZipMember]:
        for i in range(100_000):
            yield ZipMember(f"空文件/{i:06d}.txt".encode(), empty, 0, 0, flags=_UTF8_FLAG)

    write_zip(ctx.inbox / c.child, members())
    c.must = "report.json within the time budget; a member cap reported (zip_bomb), memory bounded"


@case("zip-bomb-3gb-member", "zip", "zip-bomb-3gb-member.zip", "zip", large_only=True)
def _zip_bomb_3gb(ctx: Ctx, c: Case) -> None:
    """One member of 3 GB of zeros, deflated (a few MB on disk)."""
    size = 3 << 30
    zeros = b"\x00" * (4 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    parts: list[bytes] = []
    for _ in range(size // len(zeros)):
        parts.append(compressor.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    parts.append(compressor.flush())
    write_zip(ctx.inbox / c.child, [ZipMember("1.申请表.txt".encode(), b"".join(parts), crc, size, flags=_UTF8_FLAG)])
    c.must = "report.json within the time budget; unpacking capped (zip_bomb), no 3 GB written, memory bounded"


@case("zip-encrypted", "zip", "zip-encrypted.zip", "zip")
def _zip_encrypted(ctx: Ctx, c: Case) -> None:
    """Members with the ZipCrypto flag set over garbage (deflated and stored), beside good members."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    members = [*_good_members(ctx, rng, cluster)]
    for name, method in (("4.品牌建设材料.pdf", 8), ("5.创新平台.docx", 0)):
        garbage = bytes(rng.randrange(256) for _ in range(12 + 2048))
        members.append(
            ZipMember(name.encode(), garbage, rng.getrandbits(32), 4096, method=method, flags=1 | _UTF8_FLAG)
        )
    _zip_case(ctx, c, members)
    c.must = "report.json; the encrypted members FILE_UNREADABLE (encrypted), the good members read"
    c.read_ok = list(_GOOD)


# --- folders ---------------------------------------------------------------------------------------


def _good_folder(ctx: Ctx, folder: Path, rng: random.Random) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    cluster = cluster_name(rng)
    write_file(folder / "2.发展情况简介.txt", intro_text(rng, cluster).encode())
    return cluster


_ROOT_NOTE = (
    "generated as root: root ignores permission bits, so the tool can read this unless the batch runs as "
    "another user (hostile_run.py --as-user nobody)"
)


@case("folder-unreadable-file", "folder", "folder-unreadable-file", "folder")
def _folder_unreadable_file(ctx: Ctx, c: Case) -> None:
    """A file without read permission (chmod 000) beside a readable one."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    secret = folder / "4.品牌建设材料.pdf"
    write_file(secret, text_pdf([[f"{cluster}品牌建设材料", "中国驰名商标"]]))
    os.chmod(secret, 0)
    c.must = "report.json; the unreadable file FILE_UNREADABLE (no permission), the other files read"
    c.read_ok = ["2.发展情况简介.txt"]
    if ctx.is_root:
        c.notes.append(_ROOT_NOTE)


@case("folder-unreadable-subdir", "folder", "folder-unreadable-subdir", "folder")
def _folder_unreadable_subdir(ctx: Ctx, c: Case) -> None:
    """A sub-folder without read or execute permission (chmod 000) holding a file."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    sub = folder / "附件"
    sub.mkdir()
    write_file(sub / "5.创新平台材料.pdf", text_pdf([[f"{cluster}创新平台材料", "省级企业技术中心"]]))
    os.chmod(sub, 0)
    c.must = "report.json; the closed folder reported (FILE_UNREADABLE or a problem naming it), the other files read"
    c.read_ok = ["2.发展情况简介.txt"]
    if ctx.is_root:
        c.notes.append(_ROOT_NOTE)


@case("folder-fifo", "folder", "folder-fifo", "folder")
def _folder_fifo(ctx: Ctx, c: Case) -> None:
    """A named pipe called like a document (opening it for reading blocks forever)."""
    folder = ctx.inbox / c.child
    _good_folder(ctx, folder, ctx.rng(c.name))
    os.mkfifo(folder / "5.创新平台材料.pdf")
    c.must = "report.json within seconds (the pipe never opened or opened non-blocking); the other files read"
    c.read_ok = ["2.发展情况简介.txt"]


@case("folder-symlink-outside", "folder", "folder-symlink-outside", "folder")
def _folder_symlink_outside(ctx: Ctx, c: Case) -> None:
    """A symlink (absolute) to the canary file outside the dossier, named like an item."""
    folder = ctx.inbox / c.child
    _good_folder(ctx, folder, ctx.rng(c.name))
    os.symlink(ctx.canary_file, folder / "3.发展规划.txt")
    c.must = (
        "report.json; the link not followed (canary never opened or quoted), reported as skipped; the other files read"
    )
    c.read_ok = ["2.发展情况简介.txt"]


@case("folder-symlink-subdir", "folder", "folder-symlink-subdir", "folder")
def _folder_symlink_subdir(ctx: Ctx, c: Case) -> None:
    """A symlinked sub-folder pointing at the canary folder outside the dossier."""
    folder = ctx.inbox / c.child
    _good_folder(ctx, folder, ctx.rng(c.name))
    os.symlink(ctx.canary_dir, folder / "附件", target_is_directory=True)
    c.must = "report.json; the linked folder not entered (canary never opened); the other files read"
    c.read_ok = ["2.发展情况简介.txt"]


@case("folder-dangling-symlink", "folder", "folder-dangling-symlink", "folder")
def _folder_dangling(ctx: Ctx, c: Case) -> None:
    """A symlink to nothing, named like an item."""
    folder = ctx.inbox / c.child
    _good_folder(ctx, folder, ctx.rng(c.name))
    os.symlink("/nonexistent/dossier-hostile/6.信息化建设.pdf", folder / "6.信息化建设.pdf")
    c.must = "report.json; the dangling link reported, the other files read"
    c.read_ok = ["2.发展情况简介.txt"]


@case("folder-name-invalid-utf8", "folder", "folder-name-invalid-utf8", "folder")
def _folder_invalid_utf8(ctx: Ctx, c: Case) -> None:
    """File and folder names of raw bytes: invalid UTF-8 (not GBK either), and a GBK name (Windows copy)."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    write_file(join_bytes(folder, b"4.\xff\xfe\x80bad\xc3(.txt"), intro_text(rng, cluster, 2).encode())
    os.mkdir(join_bytes(folder, b"\xff\xfe\xe9\x99\x84"))
    write_file(join_bytes(folder, b"\xff\xfe\xe9\x99\x84", b"5.\x81\xff.txt"), intro_text(rng, cluster, 2).encode())
    write_file(
        join_bytes(folder, "3.发展规划.txt".encode("gbk")), f"{cluster}发展规划\n{intro_text(rng, cluster, 2)}".encode()
    )
    c.must = "report.json (valid UTF-8 JSON: names escaped or replaced), .html/.md/.docx written; every file read"
    c.read_ok = ["2.发展情况简介.txt"]


@case("folder-name-control-html", "folder", "folder-name-control-html", "folder")
def _folder_control_html(ctx: Ctx, c: Case) -> None:
    """Names with HTML (`<script>alert(1)</script>.pdf` as folder `<script>alert(1)<` + file `script>.pdf`)
    and terminal escapes (`\\x1b[2J材料齐全\\r\\n.docx`, an OSC title)."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    (folder / "<script>alert(1)<").mkdir()
    write_file(
        folder / "<script>alert(1)<" / "script>.pdf", text_pdf([[f"{cluster}申请表", "申报单位：工业和信息化局"]])
    )
    write_file(folder / "<img src=x onerror=alert(1)>.txt", intro_text(rng, cluster, 2).encode())
    write_file(folder / "\x1b[2J材料齐全\r\n.docx", docx_bytes(f"{cluster}发展规划", intro_text(rng, cluster, 3)))
    write_file(folder / "\x1b]0;pwned-title\x07标题.txt", intro_text(rng, cluster, 2).encode())
    c.must = (
        "report.json; .html escapes the names (no live <script>/<img onerror>); no escape sequence reaches the "
        "terminal; .docx report written (control characters are not valid XML); every file read"
    )
    c.read_ok = ["2.发展情况简介.txt", "script>.pdf", "<img src=x onerror=alert(1)>.txt", "材料齐全\r\n.docx"]


@case("folder-name-255", "folder", "folder-name-255", "folder")
def _folder_name_255(ctx: Ctx, c: Case) -> None:
    """A file name of 255 bytes (the maximum) and a zip of 255 bytes (its unpack folder cannot be longer)."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    long_txt = fit_name("3.", ".txt", 255, "发展规划文本")
    write_file(folder / long_txt, f"{cluster}发展规划\n{intro_text(rng, cluster, 2)}".encode())
    long_zip = fit_name("4.", ".zip", 255, "品牌建设材料")
    write_file(folder / long_zip, zip_bytes([member("4.品牌建设材料.txt", intro_text(rng, cluster, 2).encode())]))
    c.must = "report.json; both long-named files read (the zip's member too)"
    c.read_ok = ["2.发展情况简介.txt", long_txt]
    c.should_read_ok = ["4.品牌建设材料.txt"]


def _deep(folder: Path, levels: int, component: Callable[[int], str], leaf: str, data: bytes) -> None:
    # Through directory fds: the deep variant is past PATH_MAX as a path.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(1, levels + 1):
            name = component(level)
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf_fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        try:
            os.write(leaf_fd, data)
        finally:
            os.close(leaf_fd)
    finally:
        os.close(fd)


@case("folder-deep-50", "folder", "folder-deep-50", "folder")
def _folder_deep(ctx: Ctx, c: Case) -> None:
    """50 levels of folders, the introduction at the bottom."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    folder.mkdir()
    cluster = cluster_name(rng)
    write_file(folder / "1.申请表.txt", f"{cluster}申请表\n申报单位：工业和信息化局".encode())
    _deep(folder, 50, lambda n: f"第{n:02d}层", "2.发展情况简介.txt", intro_text(rng, cluster).encode())
    c.must = "report.json; the deep file read"
    c.read_ok = ["2.发展情况简介.txt"]
    c.items_present = ["introduction"]


@case("folder-deep-pathmax", "folder", "folder-deep-pathmax", "folder", large_only=True)
def _folder_deep_pathmax(ctx: Ctx, c: Case) -> None:
    """50 levels of 100-byte folder names: the file's path is past PATH_MAX (4096)."""
    folder = ctx.inbox / c.child
    rng = ctx.rng(c.name)
    cluster = _good_folder(ctx, folder, rng)
    _deep(
        folder,
        50,
        lambda n: fit_name(f"{n:02d}", "", 100, "申报材料附件"),
        "3.发展规划.txt",
        intro_text(rng, cluster).encode(),
    )
    c.must = "report.json; the deep file read or reported (path too long), the other files read"
    c.read_ok = ["2.发展情况简介.txt"]


# --- the inbox's own children ----------------------------------------------------------------------


@case("symlink-child", "inbox", "symlink-child", "symlink")
def _symlink_child(ctx: Ctx, c: Case) -> None:
    """A direct child of the inbox that is a symlink to a folder outside it (the canary's folder)."""
    os.symlink(ctx.canary_dir, ctx.inbox / c.child, target_is_directory=True)
    c.must = "report.json (or a failed row) saying it is a link; the canary never opened or quoted"


@case("fifo-child", "inbox", "fifo-child.pdf", "fifo")
def _fifo_child(ctx: Ctx, c: Case) -> None:
    """A direct child of the inbox that is a named pipe called like a PDF."""
    os.mkfifo(ctx.inbox / c.child)
    c.must = "report.json (or a failed row) within seconds: not a file; the batch does not block"


@case("dangling-child", "inbox", "dangling-child.zip", "symlink")
def _dangling_child(ctx: Ctx, c: Case) -> None:
    """A direct child of the inbox that is a symlink to nothing."""
    os.symlink("/nonexistent/dossier-hostile/dangling.zip", ctx.inbox / c.child)
    c.must = "report.json (or a failed row) saying the file is missing; the batch goes on"


# --- text ------------------------------------------------------------------------------------------


def _encoded_intro(ctx: Ctx, c: Case, encoding: str, bom: bytes) -> None:
    folder = ctx.inbox / c.child
    folder.mkdir()
    rng = ctx.rng(c.name)
    write_file(folder / "2.发展情况简介.txt", bom + intro_text(rng).encode(encoding))
    c.must = "report.json; the text decoded by its BOM (the introduction found, its 字 counted)"
    c.read_ok = ["2.发展情况简介.txt"]
    c.items_present = ["introduction"]


@case("text-utf16le-bom", "text", "text-utf16le-bom", "folder")
def _text_utf16le(ctx: Ctx, c: Case) -> None:
    """An introduction in UTF-16 LE with its BOM (Notepad's 'Unicode')."""
    _encoded_intro(ctx, c, "utf-16-le", b"\xff\xfe")


@case("text-utf16be-bom", "text", "text-utf16be-bom", "folder")
def _text_utf16be(ctx: Ctx, c: Case) -> None:
    """An introduction in UTF-16 BE with its BOM."""
    _encoded_intro(ctx, c, "utf-16-be", b"\xfe\xff")


@case("text-utf32-bom", "text", "text-utf32-bom", "folder")
def _text_utf32(ctx: Ctx, c: Case) -> None:
    """An introduction in UTF-32 LE with its BOM."""
    _encoded_intro(ctx, c, "utf-32-le", b"\xff\xfe\x00\x00")


@case("text-long-line-1mb", "text", "text-long-line-1mb.txt", "file")
def _text_long_line(ctx: Ctx, c: Case) -> None:
    """1.1 MB of Chinese names on one line (no line break at all)."""
    write_file(ctx.inbox / c.child, chinese_names(ctx.rng(c.name), 1_100_000).encode())
    c.must = "report.json within the time budget, memory bounded"


@case("text-long-line-19mb", "text", "text-long-line-19mb.txt", "file", large_only=True)
def _text_long_line_19(ctx: Ctx, c: Case) -> None:
    """19 MB of Chinese names on one line."""
    write_file(ctx.inbox / c.child, chinese_names(ctx.rng(c.name), 19_000_000).encode())
    c.must = "report.json within the time budget, memory bounded"


# --- PDF, images -----------------------------------------------------------------------------------


@case("pdf-20000-blank-pages", "pdf", "pdf-20000-blank-pages.pdf", "file")
def _pdf_blank(ctx: Ctx, c: Case) -> None:
    """20,000 blank pages (one flat page tree, one shared empty content stream)."""
    write_file(ctx.inbox / c.child, blank_pages_pdf(20_000))
    c.must = (
        "report.json within the time budget (a page cap or blank pages skipped, not 20,000 OCR runs); memory bounded"
    )


@case("pdf-5000-text-pages", "pdf", "pdf-5000-text-pages.pdf", "file", large_only=True)
def _pdf_text_pages(ctx: Ctx, c: Case) -> None:
    """5,000 pages with one line of text each."""
    write_file(ctx.inbox / c.child, text_pages_pdf(5000, ctx.rng(c.name)))
    c.must = "report.json within the time budget; memory bounded"


@case("png-pixel-bomb", "image", "png-pixel-bomb.png", "file")
def _png_bomb(ctx: Ctx, c: Case) -> None:
    """A PNG whose header claims 60000×60000 RGB (10.8 GB decoded), with one row of data."""
    write_file(ctx.inbox / c.child, png_claiming(60000, 60000, full=False))
    c.must = "report.json; FILE_UNREADABLE (too large) without allocating the pixels; memory bounded"


@case("png-pixel-bomb-full", "image", "png-pixel-bomb-full.png", "file", large_only=True)
def _png_bomb_full(ctx: Ctx, c: Case) -> None:
    """A PNG of 60000×60000 grey pixels, every row present (3.6 GB decoded, a few MB on disk)."""
    write_file(ctx.inbox / c.child, png_claiming(60000, 60000, full=True))
    c.must = "report.json; FILE_UNREADABLE (too large) without allocating the pixels; memory bounded"


@case("tiff-480-frames", "image", "tiff-480-frames.tif", "file")
def _tiff_frames(ctx: Ctx, c: Case) -> None:
    """A TIFF of 480 small frames (every frame a page for OCR)."""
    write_file(ctx.inbox / c.child, tiff_frames(480, ctx.rng(c.name)))
    c.must = "report.json within the time budget (a frame cap, LimitHit reported); memory bounded"


# --- Word, Excel -----------------------------------------------------------------------------------


@case("docx-xxe", "office", "docx-xxe.docx", "file")
def _docx_xxe(ctx: Ctx, c: Case) -> None:
    """document.xml declares external entities: the canary file, the listener (http), and an external
    parameter entity (a DTD fetched from the listener)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    base = docx_bytes(f"{cluster}发展情况简介", intro_text(rng, cluster))
    doctype = (
        "<!DOCTYPE w:document [\n"
        f'<!ENTITY canary SYSTEM "{ctx.canary_url}">\n'
        f'<!ENTITY remote SYSTEM "{ctx.url("docx-xxe-entity")}">\n'
        f'<!ENTITY % dtd SYSTEM "{ctx.url("docx-xxe-dtd")}">\n%dtd;\n]>'
    )
    paragraphs = [
        f"{cluster}发展情况简介",
        *filter(None, intro_text(rng, cluster).splitlines()[1:]),
        "&canary;",
        "&remote;",
    ]
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n{doctype}\n<w:document {_W_NS}><w:body>'
        f"{_w_paragraphs(paragraphs)}<w:sectPr/></w:body></w:document>"
    )
    write_file(ctx.inbox / c.child, normalize_zip(base, {"word/document.xml": xml.encode()}))
    c.must = "report.json; entities not resolved: canary never opened or quoted, no connection to the listener"


@case("docx-billion-laughs", "office", "docx-billion-laughs.docx", "file")
def _docx_laughs(ctx: Ctx, c: Case) -> None:
    """Billion laughs in document.xml (10^9 'lol's if expanded)."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    base = docx_bytes(f"{cluster}发展情况简介", intro_text(rng, cluster))
    paragraphs = [f"{cluster}发展情况简介", *filter(None, intro_text(rng, cluster).splitlines()[1:]), "&lol9;"]
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{billion_laughs_dtd("w:document")}\n<w:document {_W_NS}><w:body>'
        f"{_w_paragraphs(paragraphs)}<w:sectPr/></w:body></w:document>"
    )
    write_file(ctx.inbox / c.child, normalize_zip(base, {"word/document.xml": xml.encode()}))
    c.must = "report.json quickly; entities not expanded (or refused); memory bounded"


def _sst(strings: list[str], doctype: str = "") -> str:
    body = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        f'<sst xmlns="{_SSML}" count="{len(strings)}" uniqueCount="{len(strings)}">{body}</sst>'
    )


def _form_rows(cluster: str) -> list[list[str]]:
    return [
        ["山东省特色产业集群申请表", "值"],
        ["集群名称", cluster],
        ["企业数量", "180户"],
        ["营业收入", "120亿元"],
        ["占地面积", "36平方公里"],
    ]


@case("xlsx-billion-laughs", "office", "xlsx-billion-laughs.xlsx", "file")
def _xlsx_laughs(ctx: Ctx, c: Case) -> None:
    """Billion laughs in xl/sharedStrings.xml."""
    rows = [*_form_rows(cluster_name(ctx.rng(c.name))), ["备注", "&lol9;"]]
    write_file(ctx.inbox / c.child, xlsx_bytes(rows, lambda strings: _sst(strings, billion_laughs_dtd("sst"))))
    c.must = "report.json quickly; entities not expanded (or refused); memory bounded"


@case("xlsx-xxe", "office", "xlsx-xxe.xlsx", "file", large_only=True)
def _xlsx_xxe(ctx: Ctx, c: Case) -> None:
    """External entities (canary file, listener) in xl/sharedStrings.xml."""
    rows = [*_form_rows(cluster_name(ctx.rng(c.name))), ["备注", "&canary;"], ["链接", "&remote;"]]
    doctype = (
        f'<!DOCTYPE sst [\n<!ENTITY canary SYSTEM "{ctx.canary_url}">\n'
        f'<!ENTITY remote SYSTEM "{ctx.url("xlsx-xxe-entity")}">\n]>'
    )
    write_file(ctx.inbox / c.child, xlsx_bytes(rows, lambda strings: _sst(strings, doctype)))
    c.must = "report.json; entities not resolved: canary never opened or quoted, no connection to the listener"


# --- legacy (LibreOffice) --------------------------------------------------------------------------


@case("legacy-html-as-doc", "legacy", "legacy-html-as-doc.doc", "file")
def _legacy_html(ctx: Ctx, c: Case) -> None:
    """HTML saved as .doc (Word's 'web page' trick) loading the canary (file://) and the listener (http)
    through img, iframe, object and a stylesheet."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    body = "".join(f"<p>{line}</p>" for line in intro_text(rng, cluster).splitlines() if line)
    html = (
        f'<html><head><meta charset="utf-8"><title>{cluster}发展情况简介</title>'
        f'<link rel="stylesheet" href="{ctx.url("html-style.css")}"></head><body>'
        f"<h1>{cluster}发展情况简介</h1>{body}"
        f'<img src="{ctx.url("html-img.png")}"><img src="{ctx.canary_url}">'
        f'<iframe src="{ctx.canary_url}"></iframe><object data="{ctx.canary_url}"></object>'
        f'<iframe src="{ctx.url("html-iframe")}"></iframe></body></html>'
    )
    write_file(ctx.inbox / c.child, html.encode())
    c.must = "report.json; nothing fetched: no connection to the listener, canary never opened or quoted"


@case("legacy-fodt-as-doc", "legacy", "legacy-fodt-as-doc.doc", "file")
def _legacy_fodt(ctx: Ctx, c: Case) -> None:
    """A Flat ODT (one XML file) named .doc, with a section linked to the canary file and an image
    linked to the listener."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    paragraphs = "".join(f"<text:p>{line}</text:p>" for line in intro_text(rng, cluster).splitlines()[1:] if line)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.3" '
        'office:mimetype="application/vnd.oasis.opendocument.text">'
        f'<office:body><office:text><text:h text:outline-level="1">{cluster}发展情况简介</text:h>{paragraphs}'
        f'<text:section text:name="linked"><text:section-source xlink:href="{ctx.canary_url}" '
        'xlink:type="simple" text:filter-name="Text"/><text:p>linked section</text:p></text:section>'
        '<text:p><draw:frame draw:name="img" svg:width="1cm" svg:height="1cm" text:anchor-type="as-char">'
        f'<draw:image xlink:href="{ctx.url("fodt-image.png")}" xlink:type="simple" xlink:show="embed" '
        'xlink:actuate="onLoad"/></draw:frame></text:p>'
        "</office:text></office:body></office:document>"
    )
    write_file(ctx.inbox / c.child, xml.encode())
    c.must = "report.json; the linked section and image not loaded: canary never opened or quoted, no connection"


@case("legacy-rtf-include", "legacy", "legacy-rtf-include.rtf", "file")
def _legacy_rtf(ctx: Ctx, c: Case) -> None:
    """An RTF with INCLUDETEXT of the canary (path and file:// URL) and INCLUDEPICTURE from the listener."""
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    path = str(ctx.canary_file).replace("\\", "\\\\")
    rtf = (
        "{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fnil\\fcharset134 SimSun;}}\n\\f0\\fs24 "
        + rtf_escape(intro_text(rng, cluster))
        + "\\par\n"
        + f'{{\\field{{\\*\\fldinst{{INCLUDETEXT "{path}" \\\\* MERGEFORMAT}}}}{{\\fldrslt{{included}}}}}}\\par\n'
        + f'{{\\field{{\\*\\fldinst{{INCLUDETEXT "{ctx.canary_url}"}}}}{{\\fldrslt{{included}}}}}}\\par\n'
        + f'{{\\field{{\\*\\fldinst{{INCLUDEPICTURE "{ctx.url("rtf-includepicture.png")}" \\\\d}}}}{{\\fldrslt{{}}}}}}\\par\n'
        + "}"
    )
    write_file(ctx.inbox / c.child, rtf.encode("ascii"))
    c.must = "report.json; fields not updated: canary never opened or quoted, no connection to the listener"


# --- the control -----------------------------------------------------------------------------------


@case("control-normal", "control", "control-normal", "folder")
def _control(ctx: Ctx, c: Case) -> None:
    """A small, honest dossier: the introduction in Word, the application form as a text-layer PDF."""
    folder = ctx.inbox / c.child
    folder.mkdir()
    rng = ctx.rng(c.name)
    cluster = cluster_name(rng)
    write_file(folder / "2.发展情况简介.docx", docx_bytes(f"{cluster}发展情况简介", intro_text(rng, cluster)))
    form = [
        "山东省特色产业集群申请表",
        f"集群名称：{cluster}",
        "申报单位：县工业和信息化局",
        "所在地区：山东省",
        "集群企业数量：180户",
        "年营业收入：120亿元",
        "集群占地面积：36.5平方公里",
    ]
    write_file(folder / "1.申请表.pdf", text_pdf([form]))
    c.must = "report.json; both files read, the introduction and the form found"
    c.read_ok = ["2.发展情况简介.docx", "1.申请表.pdf"]
    c.items_present = ["introduction", "application_form"]


# ---------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------


def generate(
    out: Path, scale: str = "small", seed: int = 0, port: int = DEFAULT_PORT, quiet: bool = False
) -> dict[str, Any]:
    """Write the inbox, the canary and cases.json under OUT; return what cases.json holds."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    out = out.absolute()
    if out.exists() and any(out.iterdir()) and not (out / "cases.json").exists():
        raise FileExistsError(f"{out} is not empty and holds no cases.json: not overwriting it")
    for part in ("inbox", "canary", "cases.json"):
        restore_and_remove(out / part)
    out.mkdir(parents=True, exist_ok=True)
    token = hashlib.sha256(f"canary:{seed}".encode()).hexdigest()[:16]
    ctx = Ctx(
        out=out,
        inbox=out / "inbox",
        canary_dir=out / "canary",
        canary_file=out / "canary" / "secret.txt",
        canary_text=f"DOSSIER-HOSTILE-CANARY-{token} 金丝雀机密：此文本绝不应出现在任何报告中",
        port=port,
        seed=seed,
        scale=scale,
        is_root=os.geteuid() == 0,
    )
    ctx.inbox.mkdir()
    ctx.canary_dir.mkdir()
    write_file(ctx.canary_file, (ctx.canary_text + "\n").encode())
    cases: dict[str, Case] = {}
    for name, group, child, kind, doc, builder, large_only in _BUILDERS:
        if large_only and not ctx.large:
            continue
        what = " ".join(doc.split())
        c = Case(name=name, group=group, child=child, kind=kind, what=what, must="report.json")
        started = time.perf_counter()
        try:
            builder(ctx, c)
        except Exception as exc:  # one case the file system refuses must not stop the others
            c.skipped = f"{type(exc).__name__}: {exc}"
            c.notes.append(traceback.format_exc(limit=3))
            target = ctx.inbox / child
            with contextlib.suppress(OSError):
                restore_and_remove(target)
        if not quiet:
            state = f"SKIPPED ({c.skipped})" if c.skipped else "ok"
            print(f"  {name:28s} {time.perf_counter() - started:6.2f} s  {state}", flush=True)
        cases[name] = c
    manifest: dict[str, Any] = {
        "schema": "dossier-hostile/1",
        "seed": seed,
        "scale": scale,
        "port": port,
        "inbox": str(ctx.inbox),
        "canary": {"path": str(ctx.canary_file), "dir": str(ctx.canary_dir), "text": ctx.canary_text},
        "generated_as_root": ctx.is_root,
        "notes": (
            [
                "generated as root: the permission cases (chmod 000) only bite when the batch runs as another "
                "user (hostile_run.py --as-user nobody)"
            ]
            if ctx.is_root
            else []
        ),
        "cases": {name: {**asdict(c), "id": c.dossier_id} for name, c in cases.items()},
    }
    (out / "cases.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def disk_usage(folder: Path) -> int:
    total = 0
    for _, _, files, dirfd in os.fwalk(folder, follow_symlinks=False):
        for name in files:
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for inbox/, canary/ and cases.json")
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the harness's listener (URLs in the payloads)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest = generate(args.out, args.scale, args.seed, args.port, args.quiet)
    except (FileExistsError, ValueError) as exc:
        print(f"hostile: {exc}", file=sys.stderr)
        return 2
    skipped = [n for n, c in manifest["cases"].items() if c["skipped"]]
    size = disk_usage(args.out)
    print(
        f"{len(manifest['cases'])} cases ({len(skipped)} skipped) in {args.out.absolute() / 'inbox'}; "
        f"{size / 2**20:.1f} MB on disk; {time.perf_counter() - started:.1f} s; canary {manifest['canary']['path']}"
    )
    for name in skipped:
        print(f"  skipped {name}: {manifest['cases'][name]['skipped']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much of a dossier is read at most: the limits that keep one hostile package from costing a batch.

Each limit has a documented default (README "Limits") and an environment variable `DOSSIER_<NAME>`
(e.g. `DOSSIER_PAGES_PER_FILE=500`). A limit that is reached leaves a LIMIT_REACHED finding naming it,
so the clerk knows what was not read.
"""

from __future__ import annotations

from dataclasses import dataclass

ENV_PREFIX = "DOSSIER_"


@dataclass(frozen=True)
class Limits:
    pages_per_file: int = 2000  # a PDF's pages read; a real bound dossier has a few hundred
    pages_per_dossier: int = 5000  # pages read over all of a dossier's files
    ocr_pages_per_dossier: int = 300  # scanned pages recognised (~2–5 s each)
    image_megapixels: int = 80  # a picture larger than this is a decompression bomb, not a scan (A0 at 300 dpi)
    image_frames: int = 500  # frames of one TIFF
    text_file_mb: int = 20  # a .txt larger than this is refused
    evidence_chars_per_file: int = 1_000_000  # characters of one file searched for brands and platforms
    unpacked_mb: int = 2048  # bytes unpacked from a dossier's archives
    archive_members: int = 5000  # files unpacked from a dossier's archives
    archive_depth: int = 2  # a zip inside a zip inside the dossier is unpacked; deeper is not
    worker_memory_mb: int = 2048  # address space of one reading process (OCR runs in 1.5 GB)

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, each overridden by a positive integer in DOSSIER_<NAME>; nonsense is ignored
        (core/settings.py reads the environment)."""
        from core.settings import Settings  # here: pydantic-settings costs ~0.2 s to import

        return Settings().limits


def env_name(limit: str) -> str:
    return ENV_PREFIX + limit.upper()


LABELS = {
    "pages_per_file": "单个文件读取页数上限",
    "pages_per_dossier": "单个材料包读取页数上限",
    "ocr_pages_per_dossier": "单个材料包扫描页识别（OCR）上限",
    "image_megapixels": "图片像素上限（百万像素）",
    "image_frames": "图片帧数上限",
    "text_file_mb": "文本文件大小上限（MB）",
    "evidence_chars_per_file": "单个文件品牌与平台证明检索字符数上限",
    "unpacked_mb": "压缩包解压总量上限（MB）",
    "archive_members": "压缩包文件个数上限",
    "archive_depth": "压缩包嵌套层数上限",
    "worker_memory_mb": "单个读取进程内存上限（MB）",
}


def describe(name: str, value: int) -> str:
    """「单个文件读取页数上限 2000（DOSSIER_PAGES_PER_FILE）」: the limit NAME at VALUE, as the clerk's finding
    names it."""
    return f"{LABELS[name]} {value}（{env_name(name)}）"

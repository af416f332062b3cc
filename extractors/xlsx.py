"""Spreadsheets (.xlsx) through openpyxl: each sheet becomes one table block."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl

from core.model import Block, Document

from .errors import Unreadable

MAX_CELLS = 200_000
_DEFAULT_SHEET = re.compile(r"(?i)sheet\s*\d*|工作表\s*\d*")


def read_xlsx(path: Path, doc: Document) -> Document:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed packages
        raise Unreadable("corrupt", f"Excel 文件已损坏，无法解析（{type(exc).__name__}）") from exc
    cells = 0
    try:
        for sheet in book.worksheets:
            rows: list[list[str]] = []
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                if cells > MAX_CELLS:
                    raise Unreadable("too_large", f"Excel 文件超过 {MAX_CELLS} 个单元格，已停止读取")
                values = ["" if v is None else str(v).strip() for v in row]
                if any(values):
                    rows.append(values)
            if rows:
                # A sheet named by hand names its content; Sheet1 / 工作表1 says nothing.
                if not _DEFAULT_SHEET.fullmatch(sheet.title.strip()):
                    doc.blocks.append(Block(text=sheet.title, kind="heading", heading_level=1))
                # Rows of one filled cell above the grid are its title and captions (集群企业名录).
                while rows and sum(1 for v in rows[0] if v) == 1 and len(rows) > 1:
                    text = next(v for v in rows.pop(0) if v)
                    doc.blocks.append(Block(text=text, kind="paragraph", centered=not doc.blocks))
                text = "\n".join("\t".join(v for v in row if v) for row in rows)
                doc.blocks.append(Block(text=text, kind="table", rows=rows))
    finally:
        book.close()
    for i, block in enumerate(doc.blocks):
        block.index = i
    return doc

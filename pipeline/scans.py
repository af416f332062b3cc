"""Scanned pages: OCR every page without a usable text layer and put its lines into the model;
then search the pages that should carry an official seal.

Pages are recognised in parallel across the extraction workers (one page a job, each within the
time limit); results are cached on disk by the page image's hash (extractors/ocr.py), so a re-run
of the same dossier costs a render per page and no recognition.
"""

from __future__ import annotations

from pathlib import Path

from extractors.ocr import OCR_DPI, OcrJob, OcrPage, cache_dir
from extractors.pdf import mark_centred
from extractors.sandbox import ExtractionPool, default_workers
from extractors.seal import SealJob, SealResult

from .model import Block, Document
from .ruleset import Ruleset

SEAL_FORMATS = ("pdf", "jpg", "png", "tif", "bmp")


def ocr_jobs(documents: list[Document], paths: dict[str, Path], pool_size: int, dpi: float = OCR_DPI) -> list[OcrJob]:
    """One job per page that needs OCR, in the files' own order."""
    pages = [
        (doc, page.number) for doc in documents if doc.readable and doc.pages for page in doc.pages if page.needs_ocr
    ]
    # onnxruntime threads per job: the machine's cores shared among the jobs running at once.
    threads = max(1, default_workers() // max(1, min(pool_size, len(pages))))
    cache = cache_dir()
    return [OcrJob(paths[doc.path], doc.path, doc.format, number, dpi, threads, cache) for doc, number in pages]


def merge_ocr(doc: Document, results: list[OcrPage]) -> None:
    """Replace the text of each recognised page with its OCR lines, in reading order."""
    by_page = {r.page: r for r in results if r.rel == doc.path}
    if not by_page or doc.pages is None:
        return
    text_blocks: dict[int | None, list[Block]] = {}
    for block in doc.blocks:
        text_blocks.setdefault(block.page, []).append(block)
    blocks: list[Block] = []
    for page in doc.pages:
        result = by_page.get(page.number)
        if result is None or result.error:
            if result is not None:
                page.ocr_error = result.error
            blocks.extend(text_blocks.get(page.number, []))
            continue
        page.ocr_confidence = result.confidence if result.confidence is not None else 0.0
        page.width, page.height = result.width or page.width, result.height or page.height
        # Top to bottom, then left to right within a line band: rapidocr's order is nearly
        # that, but a skewed page can swap neighbours.
        lines = sorted(result.lines, key=lambda line: (round(line.box[1] / 8), line.box[0]))
        blocks.extend(
            Block(
                text=line.text.strip(),
                kind="line",
                page=page.number,
                bbox=line.box,
                font_size=round(line.box[3] - line.box[1], 1),  # box height stands in for the size
                source="ocr",
                confidence=line.score,
            )
            for line in lines
            if line.text.strip()
        )
    mark_centred(blocks)
    for i, block in enumerate(blocks):
        block.index = i
    doc.blocks = blocks


def seal_jobs(documents: list[Document], paths: dict[str, Path], ruleset: Ruleset) -> list[SealJob]:
    """Pages that mention sealing or carry the title of an item needing a seal; Word files whose
    text does (their pasted seal images are searched)."""
    jobs: list[SealJob] = []
    for doc in documents:
        if not doc.readable:
            continue
        if doc.format == "docx":
            if ruleset.needs_seal_check(doc.text):
                jobs.append(SealJob(paths[doc.path], doc.path, doc.format, 0))
            continue
        if doc.pages is None or doc.format not in SEAL_FORMATS:
            continue
        by_page: dict[int | None, list[str]] = {}
        for block in doc.blocks:
            by_page.setdefault(block.page, []).append(block.text)
        jobs.extend(
            SealJob(paths[doc.path], doc.path, doc.format, page.number)
            for page in doc.pages
            if ruleset.needs_seal_check("\n".join(by_page.get(page.number, [])))
        )
    return jobs


def find_seals_in(documents: list[Document], paths: dict[str, Path], ruleset: Ruleset, pool: ExtractionPool) -> None:
    jobs = seal_jobs(documents, paths, ruleset)
    if not jobs:
        return
    results: list[SealResult] = pool.run_all(jobs)
    by_path = {doc.path: doc for doc in documents}
    for result in results:
        doc = by_path[result.rel]
        if result.error is None:
            doc.seal_checked.append(result.page)
            doc.seals.extend(s for s in result.seals if s.score >= ruleset.seals.min_score)


def recognise_scans(documents: list[Document], paths: dict[str, Path], pool: ExtractionPool) -> None:
    jobs = ocr_jobs(documents, paths, pool.size)
    if not jobs:
        return
    results: list[OcrPage] = pool.run_all(jobs)
    for doc in documents:
        merge_ocr(doc, results)

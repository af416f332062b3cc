"""Scanned pages: OCR every page without a usable text layer and put its lines into the model;
then search the pages that should carry an official seal.

Pages are recognised in parallel across the extraction workers (one page a job, each within the
time limit); results are cached on disk by the page image's hash (extractors/ocr.py), so a re-run
of the same dossier costs a render per page and no recognition.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.limits import Limits, describe
from core.model import Block, Document, LimitHit
from core.text import count_chars_no_spaces, normalize, toc_entry
from extractors.ocr import OCR_DPI, OcrJob, OcrLine, OcrPage, cache_dir, inference_threads
from extractors.pdf import TableJob, mark_centred
from extractors.sandbox import ExtractionPool
from extractors.seal import SealJob, seal_cache_dir
from pipeline.form_grid import GridJob

from .identify import Candidate, assign
from .layout import SENTENCE_PUNCT
from .ruleset import Ruleset

SEAL_FORMATS = ("pdf", "jpg", "png", "tif", "bmp")
BOX_PER_POINT = 1.35  # a detected line box is about this many times the font size
LEADERS = re.compile(r"[.．·…_—\-]{2,}\s*$")


def ocr_jobs(
    documents: list[Document],
    paths: dict[str, Path],
    pool_size: int,
    *,
    partial: bool = False,
    only: dict[str, set[int]] | None = None,
) -> list[OcrJob]:
    """One job per page that needs OCR (or per page of `only`), in the files' own order."""
    pages = [
        (doc, page.number)
        for doc in documents
        if doc.readable and doc.pages
        for page in doc.pages
        if page.needs_ocr and (only is None or page.number in only.get(doc.path, ()))
    ]
    threads = inference_threads(pool_size)
    cache = cache_dir()
    return [
        OcrJob(
            paths[doc.path],
            doc.path,
            doc.format,
            number,
            OCR_DPI,
            threads,
            cache,
            doc.sha256,
            partial and not _front(doc, number),
        )
        for doc, number in pages
    ]


FRONT_PAGES = 2  # the cover and the 目录 of a bound file: read in full at once, they place everything else
BOUND_PAGES = 6  # a file this long may be a bound package


def _front(doc: Document, number: int) -> bool:
    return number <= FRONT_PAGES and len(doc.pages or []) >= BOUND_PAGES


def merge_ocr(doc: Document, results: list[OcrPage]) -> None:
    """Replace the text of each recognised page with its OCR lines, in reading order (a page read again
    in full replaces its partial reading)."""
    by_page = {r.page: r for r in results if r.rel == doc.path}
    if not by_page or doc.pages is None:
        return
    page_blocks: dict[int | None, list[Block]] = {}
    for block in doc.blocks:
        page_blocks.setdefault(block.page, []).append(block)
    blocks: list[Block] = []
    for page in doc.pages:
        result = by_page.get(page.number)
        layer = [b for b in page_blocks.get(page.number, []) if b.source != "ocr"]
        if result is None or result.error:
            if result is not None:
                page.ocr_error = result.error
            blocks.extend(page_blocks.get(page.number, []))  # the text layer, or an earlier partial reading
            continue
        page.ocr_confidence = result.confidence if result.confidence is not None else 0.0
        page.ocr_partial = result.partial
        page.width, page.height = result.width or page.width, result.height or page.height
        read = [
            Block(
                text=line.text.strip(),
                kind="line",
                page=page.number,
                bbox=line.box,
                font_size=round(line.height / BOX_PER_POINT * 2) / 2,
                source="ocr",
                confidence=line.score,
            )
            for line in _join_leaders(_reading_order(result.lines))
            if line.text.strip()
        ]
        # A picture page whose text layer is sound (a clipping with the next item's title run on below
        # it): the text layer's lines keep their fonts; OCR adds only what lies outside them.
        kept = layer if page.ocr_reason in KEEP_TEXT_LAYER and not result.rotation else []
        blocks.extend(_interleave(kept, read))
    mark_centred(blocks, {p.number: p.width for p in doc.pages})
    for i, block in enumerate(blocks):
        block.index = i
    doc.blocks = blocks


KEEP_TEXT_LAYER = ("image_page", "no_text")  # not "garbage": that text layer is unreadable


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two boxes overlap by at least a third of the smaller one."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return False
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h >= smaller / 3


def _interleave(text: list[Block], read: list[Block]) -> list[Block]:
    """The text layer's lines among the OCR lines by their place on the page; an OCR line over a text
    line is that line read again and is left out."""
    boxes = [b.bbox for b in text if b.bbox is not None]
    if not boxes:
        return read
    fresh = [b for b in read if b.bbox is None or not any(_overlaps(b.bbox, box) for box in boxes)]
    out: list[Block] = []
    pending = list(text)
    for block in fresh:
        while pending and (pending[0].bbox is None or block.bbox is None or pending[0].bbox[1] <= block.bbox[1]):
            out.append(pending.pop(0))
        out.append(block)
    return out + pending


SIGNATURE_PAGE_CHARS = 200  # a page after a sealed one holding at most this is the end of its signature block


def seal_jobs(documents: list[Document], paths: dict[str, Path], ruleset: Ruleset) -> list[SealJob]:
    """Pages that mention sealing or carry the title of an item needing a seal, and every scanned page read
    in full (a seal or a photocopy over the 盖章 line can hide the very words that call for it; next to the
    page's OCR the search costs little); Word files whose text calls for one (their pasted seal images are
    searched)."""
    jobs: list[SealJob] = []
    cache = seal_cache_dir()
    for doc in documents:
        if not doc.readable:
            continue
        if doc.format == "docx":
            if ruleset.needs_seal_check(doc.text):
                jobs.append(SealJob(paths[doc.path], doc.path, doc.format, 0, file_sha256=doc.sha256, cache=cache))
            continue
        if doc.pages is None or doc.format not in SEAL_FORMATS:
            continue
        by_page: dict[int | None, list[str]] = {}
        for block in doc.blocks:
            by_page.setdefault(block.page, []).append(block.text)
        # (A page read only in part belongs, surely, to an item no check reads and none needs sealed.)
        scanned = {p.number for p in doc.pages if p.ocr_confidence is not None and not p.ocr_partial}
        wanted = scanned | {
            page.number for page in doc.pages if ruleset.needs_seal_check("\n".join(by_page.get(page.number, [])))
        }
        # A signature block cut by a page break (特此声明 / 负责人（签字） 日期 over the page) carries
        # its seal on the short page after the one that calls for it.
        wanted |= {
            n + 1
            for n in wanted
            if n < len(doc.pages) and count_chars_no_spaces("".join(by_page.get(n + 1, []))) <= SIGNATURE_PAGE_CHARS
        }
        jobs.extend(
            SealJob(paths[doc.path], doc.path, doc.format, n, file_sha256=doc.sha256, cache=cache)
            for n in sorted(wanted)
        )
    return jobs


def seals_and_forms(
    documents: list[Document], paths: dict[str, Path], ruleset: Ruleset, pool: ExtractionPool
) -> Callable[[], None]:
    """Search the pages that call for a seal and read the form's tables, in one round of jobs so the
    workers take them in parallel. The jobs start at once on a thread; the returned `finish()` waits for
    them and stores the seals and tables on the documents. Meanwhile the caller analyses the text,
    which needs neither."""
    seal_work = seal_jobs(documents, paths, ruleset)
    table_work = table_jobs(documents, paths, ruleset)
    if not seal_work and not table_work:
        return lambda: None
    results: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            results.extend(pool.run_all([*seal_work, *table_work]))
        except BaseException as exc:  # handed to finish(), in the caller's thread
            failure.append(exc)

    # In this context: the jobs queue in the dossier's turn (extractors/sandbox.py queue_as_one).
    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="seals-and-forms", daemon=True)
    thread.start()

    def finish() -> None:
        thread.join()
        if failure:
            raise failure[0]
        by_path = {doc.path: doc for doc in documents}
        for result in results[: len(seal_work)]:
            doc = by_path[result.rel]
            if result.error is None:
                doc.seal_checked.append(result.page)
                doc.seals.extend(s for s in result.seals if s.score >= ruleset.seals.min_score)
        for rel, tables in results[len(seal_work) :]:  # a PDF's ruled tables, a scanned page's grid
            by_path[rel].tables.extend(tables)

    return finish


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Top to bottom, left to right within a line: boxes whose centres lie within half a line
    height of each other share a line (rapidocr's own order can swap neighbours on a skewed page,
    and puts a 目录 entry's page number wherever its box happened to fall)."""
    bands: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        if bands:
            band = bands[-1]
            band_centre = sum((b.box[1] + b.box[3]) / 2 for b in band) / len(band)
            if abs(centre - band_centre) < 0.5 * max(line.height, band[0].height, 1.0):
                band.append(line)
                continue
        bands.append([line])
    return [line for band in bands for line in sorted(band, key=lambda line: line.box[0])]


def _join_leaders(lines: list[OcrLine]) -> list[OcrLine]:
    """A 目录 entry's title and its page number come back as two boxes split at the leader dots;
    put them together again so the entry reads as one line."""
    joined: list[OcrLine] = []
    for line in lines:
        last = joined[-1] if joined else None
        same_band = last is not None and abs((last.box[1] + last.box[3]) - (line.box[1] + line.box[3])) / 2 < 0.6 * max(
            last.height, line.height, 1.0
        )
        if last is not None and same_band and LEADERS.search(last.text) and line.box[0] > last.box[2]:
            box = (last.box[0], min(last.box[1], line.box[1]), line.box[2], max(last.box[3], line.box[3]))
            joined[-1] = OcrLine(
                f"{last.text} {line.text}", box, min(last.score, line.score), max(last.height, line.height)
            )
        else:
            joined.append(line)
    return joined


MAX_FORM_PAGES = 6
MIN_FORM_LABELS = 3  # a scanned page carrying this many of the form's field labels is taken for the form


def table_jobs(documents: list[Document], paths: dict[str, Path], ruleset: Ruleset) -> list[TableJob | GridJob]:
    """Pages that carry the form's title, and the page after (a form may run over): a PDF's ruled
    tables give the form's cells; a scanned page (also one that carries several of the form's field
    labels) has its grid read from the image, its OCR lines placed into the cells."""
    if ruleset.form_item is None:
        return []
    form = ruleset.item(ruleset.form_item)
    jobs: list[TableJob | GridJob] = []
    for doc in documents:
        if doc.format not in SEAL_FORMATS or not doc.readable or not doc.pages:
            continue
        titles: dict[str, set[int]] = {"text": set(), "ocr": set()}
        labels: dict[tuple[str, int], set[str]] = {}
        previous: Block | None = None
        for b in doc.blocks:
            if not b.page:
                continue
            # A title may wrap: `…申报` then `书`.
            joined = previous.text + b.text if previous is not None and previous.page == b.page else ""
            # (A line ending a sentence is no title; most of a bound file's lines are skipped unread.)
            candidates = (t for t in (b.text, joined) if t and len(t) <= 60 and not SENTENCE_PUNCT.search(t[-1:]))
            if any(form.matches_title(t) and toc_entry(t) is None for t in candidates):
                titles[b.source].add(b.page)
            flat = normalize(b.text) if len(b.text) <= 60 else ""
            if flat and len(flat) <= 30:
                found = labels.setdefault((b.source, b.page), set())
                found.update(r.id for r in ruleset.form_fields if r.matches_normalized(flat))
            previous = b
        if doc.format == "pdf":
            # A page titled as the form (and the next: a form runs over), or one with the form's labels.
            titled = sorted(
                titles["text"] | {p for (src, p), f in labels.items() if src == "text" and len(f) >= MIN_FORM_LABELS}
            )
            pages = sorted({p for t in titled for p in (t, t + 1) if p <= len(doc.pages)})[:MAX_FORM_PAGES]
            if pages:
                jobs.append(TableJob(paths[doc.path], doc.path, tuple(pages)))
        scanned = {page.number: page for page in doc.pages if page.ocr_confidence is not None}
        wanted = {p for t in titles["ocr"] for p in (t, t + 1)}
        wanted |= {p for (src, p), found in labels.items() if src == "ocr" and len(found) >= MIN_FORM_LABELS}
        for number in sorted(p for p in wanted if p in scanned)[:MAX_FORM_PAGES]:
            page = scanned[number]
            lines = tuple(
                (b.text, b.bbox, b.font_size * BOX_PER_POINT if b.font_size else b.bbox[3] - b.bbox[1])
                for b in doc.blocks
                if b.page == number and b.source == "ocr" and b.bbox is not None
            )
            if lines:
                jobs.append(
                    GridJob(
                        paths[doc.path],
                        doc.path,
                        doc.format,
                        number,
                        (page.width, page.height),
                        lines,
                        ruleset.form_fields,
                    )
                )
    return jobs


def _over_ocr_budget(documents: list[Document], skipped: list[OcrJob], limits: Limits) -> None:
    """Scanned pages past the dossier's OCR budget stay unread: each file concerned says which."""
    by_path = {doc.path: doc for doc in documents}
    pages: dict[str, list[int]] = {}
    for job in skipped:
        pages.setdefault(job.rel, []).append(job.page)
    for rel, numbers in pages.items():
        by_path[rel].limits_hit.append(
            LimitHit(
                "ocr_pages_per_dossier",
                f"扫描页识别已达上限，第 {page_ranges(numbers)} 页（{len(numbers)} 页）未识别，请人工核对"
                f"（{describe('ocr_pages_per_dossier', limits.ocr_pages_per_dossier)}）",
            )
        )


def page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] → "1–3、7"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def recognise_scans(
    documents: list[Document], paths: dict[str, Path], pool: ExtractionPool, limits: Limits, partial: bool = False
) -> None:
    """OCR every page without a usable text layer (in part, when `partial`: `finish_reading` then reads in
    full the pages whose text decides something)."""
    jobs = ocr_jobs(documents, paths, pool.size, partial=partial)
    if not jobs:
        return
    if len(jobs) > limits.ocr_pages_per_dossier:
        _over_ocr_budget(documents, jobs[limits.ocr_pages_per_dossier :], limits)
        jobs = jobs[: limits.ocr_pages_per_dossier]
    results: list[OcrPage] = pool.run_all(jobs)
    for doc in documents:
        merge_ocr(doc, results)


def partial_pages(documents: list[Document]) -> dict[str, set[int]]:
    """The scanned pages read only in part, by file."""
    found = {doc.path: {p.number for p in doc.pages or [] if p.ocr_partial} for doc in documents}
    return {path: pages for path, pages in found.items() if pages}


def finish_reading(
    documents: list[Document], paths: dict[str, Path], pool: ExtractionPool, pages: dict[str, set[int]]
) -> None:
    """Read `pages` (read in part so far) in full; the partial reading's lines are not read again."""
    results: list[OcrPage] = pool.run_all(ocr_jobs(documents, paths, pool.size, only=pages))
    for doc in documents:
        merge_ocr(doc, results)


def pages_to_finish(documents: list[Document], candidates: list[Candidate], ruleset: Ruleset) -> dict[str, set[int]]:
    """The pages read in part that must be read in full: every one not inside a section surely identified
    (its title or file name names the item, no rival item, no doubt about the split) as an item whose
    text no check reads (`Ruleset.reads_text`), and read well enough to be sure of. The cover, the 目录,
    unidentified pages, pages that read poorly, the form, the introduction and the declaration are all read
    in full; and every page, while a required item is missing."""
    partial = partial_pages(documents)
    if not partial:
        return {}
    before = [(c.item, c.rival) for c in candidates]
    try:
        by_item = assign(candidates, ruleset)  # the judgement's own choice of items, on the text as it now stands
        if any(rule.required and not by_item[rule.id] for rule in ruleset.items):
            return partial  # a missing item may lie in the lines not read yet: no page is sure
        sure: dict[tuple[str, int], bool] = {}
        for c in candidates:
            doc, section = c.section.document, c.section
            if doc.path not in partial or not doc.pages:
                continue
            span = [1, len(doc.pages)] if section.role == "whole" else section.pages
            if span is None:
                continue
            identified = (
                c.item is not None
                and c.item in c.titled
                and c.rival is None
                and section.doubt is None
                and not ruleset.reads_text(c.item)
            )
            for number in range(span[0], span[1] + 1):
                sure[doc.path, number] = sure.get((doc.path, number), True) and identified
    finally:
        for c, (item, rival) in zip(candidates, before, strict=True):
            c.item, c.rival = item, rival
    poor = {
        (doc.path, p.number)
        for doc in documents
        for p in doc.pages or []
        if p.ocr_partial and (p.ocr_confidence or 0.0) < ruleset.identification.partial_reading_confidence
    }
    wanted = {
        path: {n for n in pages if not sure.get((path, n), False) or (path, n) in poor}
        for path, pages in partial.items()
    }
    return {path: pages for path, pages in wanted.items() if pages}

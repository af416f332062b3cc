"""Check one dossier end to end: intake → extraction → sections → identification → checks → report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.limits import Limits, describe
from core.model import Block, Document, LimitHit
from core.names import shown
from extractors.sandbox import ExtractionPool, FileJob

from .checks import file_findings, finding, intake_findings, judge_item
from .evidence import Evidence, EvidenceFinder, inventory, summarize
from .figures import conditions, cross_check, missing_fields
from .form import FormField, attested_places, form_fields, read_form
from .identify import Candidate, add_evidence, assign, score_section
from .intake import open_dossier
from .report import (
    ConditionResult,
    CrossCheck,
    DossierInfo,
    FileEntry,
    Finding,
    FormPair,
    Identified,
    ItemResult,
    Location,
    Report,
    RulesetInfo,
)
from .report import Evidence as EvidenceSummary
from .reports import write_reports
from .ruleset import Ruleset
from .scans import finish_reading, pages_to_finish, partial_pages, recognise_scans, seals_and_forms
from .sections import split_sections
from .words import Segmenter

if TYPE_CHECKING:
    from .reports.notice import NoticeOptions

CHINA_TIME = dt.timezone(dt.timedelta(hours=8))


def dossier_id(name: str) -> str:
    """CONTRACT.md: the child's name minus a .zip extension (shown safely: no control characters, no
    undecodable bytes; it names the output folder and appears in every report)."""
    return shown(name[:-4] if name.lower().endswith(".zip") else name)


class Readers:
    """What the text analysis needs loaded for one ruleset: its segmenter and its evidence finder. Both
    start loading at once on threads (jieba ~0.1 s, spaCy ~1.5 s), overlapping the reading of files;
    the first use waits. The engine (pipeline/engine.py) builds one and passes it down."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.segmenter = Segmenter(ruleset.all_cues()).start()
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-load")
        self._finder: Future[EvidenceFinder] = loader.submit(EvidenceFinder, ruleset.evidence_rules)
        loader.shutdown(wait=False)  # its one thread ends when the finder is built

    @property
    def finder(self) -> EvidenceFinder:
        return self._finder.result()


def _read(jobs: list[FileJob], pool: ExtractionPool) -> tuple[list[Document], dict[str, str]]:
    """Read each distinct content once; a duplicate gets a copy of its twin's Document."""
    first: dict[str, FileJob] = {}
    duplicates: dict[str, str] = {}
    unique: list[FileJob] = []
    for job in jobs:
        if job.sha256 in first:
            duplicates[job.rel] = first[job.sha256].rel
        else:
            first[job.sha256] = job
            unique.append(job)
    read = {doc.sha256: doc for doc in pool.run_all(unique)}
    documents: list[Document] = []
    for job in jobs:
        doc = read[job.sha256]
        documents.append(doc if job.rel == doc.path else dataclasses.replace(doc, path=job.rel))
    return documents, duplicates


@dataclass
class Analysis:
    """What the text alone tells: each section scored against the items, and the evidence it names."""

    candidates: list[Candidate]
    evidence: list[Evidence]


@dataclass
class ReadDossier:
    """A dossier's files as read and analysed; the unpacked copies are already gone."""

    path: Path
    name: str
    documents: list[Document]
    duplicates: dict[str, str]  # duplicate path → the first file with the same content
    skipped: list[str]
    findings: list[Finding]  # about the package itself (zip bombs, encrypted members …)
    analysis: Analysis
    seconds: float


def analyse_text(
    documents: list[Document], duplicates: dict[str, str], ruleset: Ruleset, readers: Readers, limits: Limits
) -> Analysis:
    """Sections, their scores against each item, and the evidence inventory: needs no seals or tables."""
    segmenter, weights = readers.segmenter, ruleset.evidence_weights
    candidates: list[Candidate] = []
    evidence: list[Evidence] = []
    for doc in documents:
        if doc.path in duplicates or not doc.readable:
            continue
        budget = limits.evidence_chars_per_file
        for section in split_sections(doc, ruleset):
            candidate = score_section(section, ruleset, segmenter)
            searched = _within(section.blocks, budget)
            size = sum(len(b.text) for b in searched)
            budget -= size
            if size < sum(len(b.text) for b in section.blocks) and not any(
                h.limit == "evidence_chars_per_file" for h in doc.limits_hit
            ):
                doc.limits_hit.append(
                    LimitHit(
                        "evidence_chars_per_file",
                        "文字过多，超出部分未检索品牌与平台证明，请人工核对"
                        f"（{describe('evidence_chars_per_file', limits.evidence_chars_per_file)}）",
                    )
                )
            found = inventory(((b.text, doc.path, b.page) for b in searched), readers.finder)
            add_evidence(candidate, found, weights)
            evidence += found
            candidates.append(candidate)
    return Analysis(candidates, evidence)


def _within(blocks: list[Block], budget: int) -> list[Block]:
    """The leading blocks whose text fits in BUDGET characters (a block over it is cut)."""
    kept: list[Block] = []
    for block in blocks:
        if budget <= 0:
            break
        kept.append(block if len(block.text) <= budget else dataclasses.replace(block, text=block.text[:budget]))
        budget -= len(block.text)
    return kept


def keep_page_budget(documents: list[Document], limits: Limits) -> None:
    """Pages past the dossier's page budget (files in their order) are dropped from the reading, with a
    LIMIT_REACHED note on each file concerned: a package of tens of thousands of pages is not a dossier."""
    left = limits.pages_per_dossier
    for doc in documents:
        if doc.pages is None:
            continue
        if len(doc.pages) > left:
            doc.limits_hit.append(
                LimitHit(
                    "pages_per_dossier",
                    f"材料包页数已达上限，本文件第 {left + 1}–{len(doc.pages)} 页未读取，请人工核对"
                    f"（{describe('pages_per_dossier', limits.pages_per_dossier)}）",
                )
            )
            doc.pages = doc.pages[:left]
            doc.blocks = [b for b in doc.blocks if b.page is None or b.page <= left]
        left -= len(doc.pages)


FINISH_ROUNDS = 3  # rounds of reading pages in full as the items become clear; then every page is read


def settle_scans(
    documents: list[Document],
    duplicates: dict[str, str],
    paths: dict[str, Path],
    pool: ExtractionPool,
    ruleset: Ruleset,
    analyse: Callable[[], Analysis],
) -> Analysis | None:
    """Read in full every page read in part whose item needs its text or is not surely known, until the
    items stand still; the analysis of the text as it then stands (None when no page was read in part).
    A page read in full can change what the pages around it are (a 目录 read in full places the items),
    hence the rounds; if they do not settle, every page is read in full."""
    originals = [d for d in documents if d.path not in duplicates]
    if not partial_pages(originals):
        return None
    for _ in range(FINISH_ROUNDS):
        analysis = analyse()
        wanted = pages_to_finish(originals, analysis.candidates, ruleset)
        if not wanted:
            return analysis
        finish_reading(originals, paths, pool, wanted)
    finish_reading(originals, paths, pool, partial_pages(originals))
    return None


def read_dossier(
    path: Path,
    pool: ExtractionPool,
    ruleset: Ruleset,
    readers: Readers,
    limits: Limits,
    name: str | None = None,
    full_ocr: bool = False,
) -> ReadDossier:
    """Intake, extraction, OCR, then the seal search and the form's tables in the workers while this
    process analyses the text (`analyse_text`), so a single dossier uses both cores. Scanned pages are
    first read only far enough to tell what they are, unless `full_ocr` (`settle_scans`); when some were,
    the last settling round's analysis is used as it is, and the seal search (which skips pages read in
    part, so must wait for the rounds) overlaps nothing."""
    started = time.perf_counter()
    with open_dossier(path, limits) as intake:
        documents, duplicates = _read(intake.files, pool)
        paths = {job.rel: job.path for job in intake.files}
        originals = [d for d in documents if d.path not in duplicates]
        keep_page_budget(originals, limits)
        recognise_scans(originals, paths, pool, limits, partial=not full_ocr)

        def analyse() -> Analysis:
            return analyse_text(documents, duplicates, ruleset, readers, limits)

        settled = settle_scans(documents, duplicates, paths, pool, ruleset, analyse)
        finish = seals_and_forms(originals, paths, ruleset, pool)
        try:
            analysis = settled or analyse()
        finally:
            finish()  # before the unpacked files go
        return ReadDossier(
            path=path,
            name=shown(name or path.name),
            documents=documents,
            duplicates=duplicates,
            skipped=list(intake.skipped),
            findings=intake_findings(intake.problems),
            analysis=analysis,
            seconds=time.perf_counter() - started,
        )


def judge_dossier(
    read: ReadDossier, ruleset: Ruleset, ident: str | None = None, as_of: dt.date | None = None
) -> Report:
    """Identification, checks and the whole report, from what was read. `ident` is the dossier's id in a
    batch (default: from its name); `as_of` the date the ruleset's validity is judged on (default: today)."""
    started = time.perf_counter()
    candidates, evidence = read.analysis.candidates, read.analysis.evidence
    by_item = assign(candidates, ruleset)
    items = [judge_item(rule, by_item[rule.id], ruleset) for rule in ruleset.items]
    _add_duplicate_locations(items, read.duplicates)
    figures = judge_figures(by_item, items, ruleset)
    findings = [f for item in items for f in item.findings] + figures.findings
    findings += file_findings(read.documents, read.duplicates) + read.findings
    checked_at = dt.datetime.now(CHINA_TIME)
    return Report.judged(
        findings,
        dossier=DossierInfo(
            id=ident or dossier_id(read.name),
            source=read.name,
            checked_at=checked_at.isoformat(timespec="seconds"),
            files=[_file_entry(doc, candidates, read.duplicates) for doc in read.documents],
            skipped=read.skipped,
        ),
        ruleset=_ruleset_info(ruleset, as_of or checked_at.date()),
        items=items,
        fields=figures.fields,
        conditions=[ConditionResult.model_validate(c) for c in figures.conditions],
        form=[FormPair.model_validate(f.as_dict()) for f in figures.form],
        cross_checks=[CrossCheck.model_validate(c) for c in figures.compared],
        evidence=EvidenceSummary.model_validate(summarize(evidence)),
        elapsed_seconds=round(read.seconds + time.perf_counter() - started, 3),
    )


@dataclass
class Figures:
    fields: dict[str, Any]
    conditions: list[dict[str, Any]]
    form: list[FormField]
    compared: list[dict[str, Any]]
    findings: list[Finding]


def judge_figures(by_item: dict[str, list[Candidate]], items: list[ItemResult], ruleset: Ruleset) -> Figures:
    """The form's fields, Art. 4 and the cross-checks; nothing is judged without a form."""
    form_candidates = by_item.get(ruleset.form_item or "", [])
    # Place names the text layer of any item gives (OCR'd names on the form are checked against them).
    texts = (b.text for cands in by_item.values() for c in cands for b in c.section.blocks if b.source == "text")
    found = read_form(form_candidates, ruleset, attested_places(texts, ruleset))
    fields = form_fields(found, ruleset)
    form_item = next((i for i in items if i.id == ruleset.form_item), None)
    where = form_item.locations[0] if form_item and form_item.locations else None
    statuses, findings = conditions(fields, ruleset, where)
    compared: list[dict[str, Any]] = []
    if form_candidates:
        findings += missing_fields(found, fields, ruleset, where)
        inconsistent, compared = cross_check(fields, where.file if where else None, by_item, ruleset)
        findings += inconsistent
    return Figures(fields, statuses, found, compared, findings)


def failure_report(
    path: Path, name: str, reason: str, ruleset: Ruleset, ident: str | None = None, as_of: dt.date | None = None
) -> Report:
    """The report of a dossier that could not be checked: nothing read, every item missing, and one
    FILE_UNREADABLE that says why, so that a person looks."""
    found = finding("FILE_UNREADABLE", f"{reason}；请人工核对", location=Location(file=shown(name)))
    read = ReadDossier(path, shown(name), [], {}, [], [found], Analysis([], []), 0.0)
    return judge_dossier(read, ruleset, ident, as_of)


def write_outputs(
    report: Report, out: Path, formats: Sequence[str], *, notice: NoticeOptions | None = None
) -> list[Path]:
    """The reports in `formats` (the 补正通知 with the clerk's NOTICE options), and a PNG crop of each seal
    found (the HTML report shows them)."""
    written = write_reports(report, out, formats, notice=notice)
    for name, data in report.crops().items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def _add_duplicate_locations(items: list[ItemResult], duplicates: dict[str, str]) -> None:
    """An item found in a file is also where that file's identical copies are."""
    copies: dict[str, list[str]] = {}
    for copy, original in duplicates.items():
        copies.setdefault(original, []).append(copy)
    for item in items:
        for loc in list(item.locations):
            item.locations.extend(Location(file=copy, pages=loc.pages) for copy in copies.get(loc.file, []))


def _file_entry(doc: Document, candidates: list[Candidate], duplicates: dict[str, str]) -> FileEntry:
    source = duplicates.get(doc.path, doc.path)
    return FileEntry(
        path=doc.path,
        sha256=doc.sha256,
        format=doc.format,
        pages=doc.page_count,
        ocr_pages=doc.ocr_pages,
        ocr_pages_partial=doc.ocr_pages_partial,
        error=doc.error,
        error_kind=doc.error_kind,
        size=doc.size,
        seconds=round(doc.seconds, 3),
        identified_as=[
            Identified(
                item=c.item,
                title=c.section.title,
                pages=c.section.pages,
                confidence=c.confidence if c.item else round(max(c.scores.values(), default=0.0), 2),
            )
            for c in candidates
            if c.section.document.path == source
        ],
    )


def _ruleset_info(ruleset: Ruleset, as_of: dt.date) -> RulesetInfo:
    """Which regulation was applied, and whether it was in force on the check date (or --as-of)."""
    note = ruleset.validity_note(as_of)
    return RulesetInfo(
        id=ruleset.id,
        title=ruleset.title,
        valid_from=ruleset.valid_from.isoformat() if ruleset.valid_from else None,
        valid_until=ruleset.valid_until.isoformat() if ruleset.valid_until else None,
        as_of=as_of.isoformat(),
        in_force=note is None,
        validity_note=note,
        field_labels={rule.id: rule.label for rule in ruleset.form_fields},
        field_units={rule.id: rule.unit for rule in ruleset.form_fields if rule.unit},
        sealed_items=[rule.id for rule in ruleset.items if rule.needs_seal],
        notice=dict(ruleset.notice),
    )

"""Check one dossier end to end: intake → extraction → sections → identification → checks → report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.limits import Limits, describe
from core.model import Block, Document, Finding, ItemResult, LimitHit, Location
from core.names import shown
from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, FileJob

from .checks import file_findings, finding, intake_findings, judge_item
from .evidence import Evidence, inventory, summarize
from .figures import conditions, cross_check, missing_fields
from .form import FormField, attested_places, form_fields, read_form
from .identify import Candidate, add_evidence, assign, score_section
from .intake import open_dossier
from .reports import REVIEW_CODES, write_reports
from .ruleset import Ruleset
from .scans import recognise_scans, seals_and_forms
from .sections import split_sections
from .words import Segmenter

SCHEMA = "dossier-report/1"
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
_segmenters: dict[str, Segmenter] = {}


@dataclass
class Checked:
    """A checked dossier: the report.json dict plus the model behind it."""

    report: dict[str, Any]
    documents: list[Document]
    items: list[ItemResult]
    findings: list[Finding]
    candidates: list[Candidate]


def dossier_id(name: str) -> str:
    """CONTRACT.md: the child's name minus a .zip extension (shown safely: no control characters, no
    undecodable bytes; it names the output folder and appears in every report)."""
    return shown(name[:-4] if name.lower().endswith(".zip") else name)


def segmenter_for(ruleset: Ruleset) -> Segmenter:
    """One segmenter per ruleset per process; it starts loading on first request."""
    key = ruleset.source or ruleset.id
    if key not in _segmenters:
        vocabulary = set(ruleset.all_cues())
        _segmenters[key] = Segmenter(vocabulary).start()
    return _segmenters[key]


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
    documents: list[Document], duplicates: dict[str, str], ruleset: Ruleset, limits: Limits | None = None
) -> Analysis:
    """Sections, their scores against each item, and the evidence inventory: needs no seals or tables."""
    segmenter = segmenter_for(ruleset)
    limits = limits or Limits.from_env()
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
            found = inventory((b.text, doc.path, b.page) for b in searched)
            add_evidence(candidate, found)
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


def read_dossier(path: Path, pool: ExtractionPool, ruleset: Ruleset, dossier_name: str | None = None) -> ReadDossier:
    """Intake, extraction, OCR, then the seal search and the form's tables in the workers while this
    process analyses the text (`analyse_text`), so a single dossier uses both cores."""
    started = time.perf_counter()
    limits = Limits.from_env()
    with open_dossier(path, limits) as intake:
        documents, duplicates = _read(intake.files, pool)
        paths = {job.rel: job.path for job in intake.files}
        originals = [d for d in documents if d.path not in duplicates]
        keep_page_budget(originals, limits)
        recognise_scans(originals, paths, pool, limits)
        finish = seals_and_forms(originals, paths, ruleset, pool)
        try:
            analysis = analyse_text(documents, duplicates, ruleset, limits)
        finally:
            finish()  # before the unpacked files go
        return ReadDossier(
            path=path,
            name=shown(dossier_name or path.name),
            documents=documents,
            duplicates=duplicates,
            skipped=list(intake.skipped),
            findings=intake_findings(intake.problems),
            analysis=analysis,
            seconds=time.perf_counter() - started,
        )


def judge_dossier(read: ReadDossier, ruleset: Ruleset) -> Checked:
    """Identification, checks and the report dict, from what was read."""
    started = time.perf_counter()
    candidates, evidence = read.analysis.candidates, read.analysis.evidence
    by_item = assign(candidates, ruleset)
    items = [judge_item(rule, by_item[rule.id], ruleset) for rule in ruleset.items]
    _add_duplicate_locations(items, read.duplicates)
    figures = judge_figures(by_item, items, ruleset)
    findings = [f for item in items for f in item.findings] + figures.findings
    findings += file_findings(read.documents, read.duplicates) + read.findings
    report = build_report(read, ruleset, candidates, items, findings)
    report["fields"] = figures.fields
    report["conditions"] = figures.conditions
    report["form"] = [f.as_dict() for f in figures.form]
    report["cross_checks"] = figures.compared
    report["evidence"] = summarize(evidence)
    report["elapsed_seconds"] = round(read.seconds + time.perf_counter() - started, 3)
    return Checked(report, read.documents, items, findings, candidates)


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


def check_dossier(
    path: Path,
    ruleset: Ruleset,
    pool: ExtractionPool | None = None,
    dossier_name: str | None = None,
) -> Checked:
    """Check one dossier end to end."""
    segmenter_for(ruleset)  # starts loading while the files are read
    if pool is not None:
        return judge_dossier(read_dossier(path, pool, ruleset, dossier_name), ruleset)
    with ExtractionPool(workers=1, timeout=DEFAULT_TIMEOUT) as own:
        read = read_dossier(path, own, ruleset, dossier_name)
    return judge_dossier(read, ruleset)


def failure_report(path: Path, name: str, reason: str, ruleset: Ruleset) -> Checked:
    """The report of a dossier that could not be checked: nothing read, every item missing, and one
    FILE_UNREADABLE that says why, so that a person looks."""
    found = finding("FILE_UNREADABLE", f"{reason}；请人工核对", location=Location(shown(name), None))
    read = ReadDossier(path, shown(name), [], {}, [], [found], Analysis([], []), 0.0)
    return judge_dossier(read, ruleset)


def write_outputs(checked: Checked, out: Path, formats: Sequence[str]) -> list[Path]:
    """The reports in `formats`, and a PNG crop of each seal found (the HTML report shows them)."""
    written = write_reports(checked.report, out, formats)
    for item in checked.items:
        if item.seal_crop and item.seal:
            crop = out / str(item.seal["crop"])
            crop.write_bytes(item.seal_crop)
            written.append(crop)
    return written


def _add_duplicate_locations(items: list[ItemResult], duplicates: dict[str, str]) -> None:
    """An item found in a file is also where that file's identical copies are."""
    copies: dict[str, list[str]] = {}
    for copy, original in duplicates.items():
        copies.setdefault(original, []).append(copy)
    for item in items:
        for loc in list(item.locations):
            item.locations.extend(Location(copy, loc.pages) for copy in copies.get(loc.file, []))


def _identified_as(doc: Document, candidates: list[Candidate], duplicates: dict[str, str]) -> list[dict[str, Any]]:
    source = duplicates.get(doc.path, doc.path)
    return [
        {
            "item": c.item,
            "title": c.section.title,
            "pages": c.section.pages,
            "confidence": c.confidence if c.item else round(max(c.scores.values(), default=0.0), 2),
        }
        for c in candidates
        if c.section.document.path == source
    ]


def build_report(
    read: ReadDossier,
    ruleset: Ruleset,
    candidates: list[Candidate],
    items: list[ItemResult],
    findings: list[Finding],
) -> dict[str, Any]:
    counts = {severity: sum(1 for f in findings if f.severity == severity) for severity in ("error", "warning", "info")}
    return {
        "schema": SCHEMA,
        "dossier": {
            "id": dossier_id(read.name),
            "source": read.name,
            "checked_at": dt.datetime.now(CHINA_TIME).isoformat(timespec="seconds"),
            "files": [
                {
                    "path": doc.path,
                    "sha256": doc.sha256,
                    "format": doc.format,
                    "pages": doc.page_count,
                    "ocr_pages": doc.ocr_pages,
                    "error": doc.error,
                    "error_kind": doc.error_kind,
                    "size": doc.size,
                    "seconds": round(doc.seconds, 3),
                    "identified_as": _identified_as(doc, candidates, read.duplicates),
                }
                for doc in read.documents
            ],
            "skipped": read.skipped,
        },
        "ruleset": {
            "id": ruleset.id,
            "title": ruleset.title,
            "valid_from": ruleset.valid_from.isoformat() if ruleset.valid_from else None,
            "valid_until": ruleset.valid_until.isoformat() if ruleset.valid_until else None,
        },
        "verdict": "incomplete" if counts["error"] else "complete",
        "items": [item.as_dict() for item in items],
        "findings": [f.as_dict() for f in findings],
        "counts": counts,
        # CONTRACT.md: a complete dossier with doubts reads "材料齐全，N 项请人工核对".
        "review_count": sum(1 for f in findings if f.code in REVIEW_CODES),
    }

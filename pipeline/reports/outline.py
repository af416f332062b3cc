"""The outline of one dossier's report: an ordered list of blocks, built from a `Report` by `outline()`.

Every renderer (HTML and Markdown through templates, Word through python-docx) walks this list and
nothing else: what a report says, and in what order, is decided here once, in the wording of wording.py,
so the three formats always carry the same sections with the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from ..report import (
    Finding,
    Identified,
    ItemResult,
    Location,
    Report,
    SealFound,
    SealNotFound,
    SealUnchecked,
)
from . import wording as w
from .wording import Tone


@dataclass(frozen=True)
class Cell:
    text: str
    tone: Tone = ""


@dataclass(frozen=True)
class Line:
    """One line of the 补正清单: what is wrong, where, and what to do."""

    text: str
    where: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Heading:
    kind: ClassVar[str] = "heading"
    text: str
    level: int  # 1 the report's title, 2 a section, 3 a part of one


@dataclass(frozen=True)
class Verdict:
    kind: ClassVar[str] = "verdict"
    text: str
    tone: Tone
    counts: str  # 错误 N 项，提醒 M 项


@dataclass(frozen=True)
class KeyValues:
    kind: ClassVar[str] = "keyvalues"
    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Checklist:
    """Numbered lines to act on (errors, warnings: numbered on from `start`) or bulleted notes."""

    kind: ClassVar[str] = "checklist"
    lines: list[Line]
    style: Literal["errors", "warnings", "notes"]
    start: int = 1


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    headers: list[str]
    rows: list[list[Cell]]
    empty: str  # said instead of a table without rows
    nowrap: tuple[int, ...] = ()  # columns kept on one line (HTML)
    mono: tuple[int, ...] = ()  # columns in a fixed-width font (HTML)


@dataclass(frozen=True)
class Figure:
    """A picture beside the report (a seal's crop): `src` its file name there, `image` its PNG bytes when
    known (the Word report embeds them)."""

    kind: ClassVar[str] = "figure"
    src: str
    alt: str
    caption: str
    image: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    text: str
    style: Literal["none", "footer"] = "none"  # none: "nothing here"; footer: the report's last words


Block = Heading | Verdict | KeyValues | Checklist | Table | Figure | Paragraph


def outline(report: Report) -> list[Block]:
    """The report of one dossier as the clerk reads it, top to bottom. Where a clerk decided (人工确认),
    the verdict and the 补正清单 are those after the decisions, and a section lists the decisions."""
    reviews = report.final_review_count
    counts = report.final_counts
    findings = report.final_findings
    blocks: list[Block] = [
        Heading(title(report), 1),
        Verdict(
            w.verdict_text(report.final_verdict, reviews),
            w.verdict_tone(report.final_verdict, reviews),
            w.counts_text(counts.error, counts.warning),
        ),
        KeyValues(_meta(report)),
    ]
    if report.review is not None:
        blocks += [Heading(w.REVIEW_TITLE, 2), _review_table(report)]
    blocks.append(Heading(w.FIX_LIST, 2))
    items_by_id = {item.id: item for item in report.items}
    errors = [_finding_line(f, items_by_id) for f in findings if f.severity == "error"]
    warnings = [_finding_line(f, items_by_id) for f in findings if f.severity == "warning"]
    notes = [_finding_line(f, items_by_id) for f in findings if f.severity not in ("error", "warning")]
    if not errors and not warnings:
        blocks.append(Paragraph(w.NOTHING_TO_FIX))
    if errors:
        blocks += [Heading(w.ERRORS_TITLE.format(n=len(errors)), 3), Checklist(errors, "errors")]
    if warnings:
        blocks += [
            Heading(w.WARNINGS_TITLE.format(n=len(warnings)), 3),
            Checklist(warnings, "warnings", start=len(errors) + 1),
        ]
    blocks += [Heading(w.ITEMS_TITLE, 2), _items_table(report)]
    seals = _seal_figures(report)
    if seals:
        blocks += [Heading(w.SEALS_TITLE, 3), *seals]
    blocks += [
        Heading(w.CONDITIONS_TITLE, 2),
        _conditions_table(report),
        Heading(w.FIELDS_TITLE, 3),
        _fields_table(report),
        Heading(w.FORM_TITLE, 3),
        _form_table(report),
        Heading(w.CROSS_TITLE, 3),
        _cross_table(report),
        Heading(w.EVIDENCE_TITLE, 2),
        _evidence_table(report),
        Heading(w.FILES_TITLE, 2),
        _files_table(report),
    ]
    if notes:
        blocks += [Heading(w.NOTES_TITLE, 2), Checklist(notes, "notes")]
    blocks.append(Paragraph(w.FOOTER, "footer"))
    return blocks


def title(report: Report) -> str:
    return w.REPORT_TITLE.format(dossier=report.dossier.id)


# ---------------------------------------------------------------------------------------------------
# The parts
# ---------------------------------------------------------------------------------------------------


def _meta(report: Report) -> list[tuple[str, str]]:
    dossier, ruleset, counts = report.dossier, report.ruleset, report.counts
    ruleset_text = ruleset.title or ruleset.id
    if ruleset.title and ruleset.id:
        ruleset_text += f"（{ruleset.id}）"
    label = w.META_LABELS
    pairs = [
        (label["dossier"], dossier.id),
        (label["source"], dossier.source),
        (label["checked_at"], w.datetime_text(dossier.checked_at)),
        (label["ruleset"], ruleset_text),
    ]
    if ruleset.validity_note:
        pairs.append((label["validity"], ruleset.validity_note))
    if report.review is not None:
        tool = w.verdict_text(report.verdict, report.review_count)
        pairs.append((label["tool_verdict"], f"{tool}（{w.counts_text(counts.error, counts.warning)}）"))
        counts = report.review.counts
    pairs += [
        (label["files"], str(len(dossier.files))),
        (label["errors"], f"{counts.error} 项"),
        (label["warnings"], f"{counts.warning} 项"),
    ]
    return pairs


def _location_text(location: Location | None) -> str:
    return w.location_text(location.file, location.pages) if location is not None else ""


def _finding_line(finding: Finding, items_by_id: dict[str, ItemResult]) -> Line:
    message = finding.message or finding.code
    item = items_by_id.get(finding.item or "")
    if item is not None and item.article and item.article not in message:
        message += f"（{item.article}）"
    where = _location_text(finding.location)
    return Line(
        text=message,
        where="" if where and where in message else where,
        hint=w.ACTION_HINTS.get(finding.code, ""),
    )


def item_findings(report: Report, item: ItemResult) -> list[Finding]:
    """An item's findings: the top-level ones that name it, plus any the item carries itself."""
    found = [f for f in report.findings if f.item == item.id]
    seen = {(f.code, f.message) for f in found}
    found += [f for f in item.findings if (f.code, f.message) not in seen]
    return found


def item_status(report: Report, item: ItemResult) -> tuple[str, Tone]:
    """已提供 / 缺失 / 有问题 / 需人工确认 (/ 未提供（可选）), or the clerk's answer where one is in force."""
    decided = _decided_items(report)
    if item.id in decided:
        return w.ITEM_DECIDED[decided[item.id]]
    findings = item_findings(report, item)
    error = any(f.severity == "error" for f in findings)
    unsure = any(f.code == "LOW_CONFIDENCE" for f in findings)
    if item.present:
        return w.ITEM_DEFECTIVE if error else w.ITEM_UNSURE if unsure else w.ITEM_PRESENT
    if unsure and not error:
        return w.ITEM_UNSURE
    return w.ITEM_MISSING if item.required else w.ITEM_ABSENT_OPTIONAL


def _review_table(report: Report) -> Table:
    """The clerk's decisions: on what, the tool's answer, the clerk's, by whom and when, and whether it
    still applies."""
    rows: list[list[Cell]] = []
    for decision in report.review.decisions if report.review else []:
        tool = w.DECISION_TOOL_TEXT.get(decision.kind, {}).get(decision.tool, decision.tool or w.DASH)
        state = (w.DECISION_APPLIES, "ok") if decision.applies else (decision.reason or w.DECISION_STALE, "warn")
        rows.append(
            [
                Cell(w.DECISION_KIND_TEXT.get(decision.kind, decision.kind)),
                Cell(decision.label),
                Cell(tool),
                Cell(decision.value_text, "bad" if decision.value in ("missing", "fail", "upheld") else "ok"),
                Cell(decision.note or w.DASH),
                Cell(decision.user),
                Cell(w.datetime_text(decision.at)),
                Cell(*state),
            ]
        )
    return Table(list(w.REVIEW_HEADERS), rows, w.EMPTY_REVIEW, nowrap=(0, 2, 3, 5, 6))


def _decided_items(report: Report) -> dict[str, str]:
    """Item id → the clerk's answer, for items with a decision in force."""
    if report.review is None:
        return {}
    return {d.target.removeprefix("item:"): d.value for d in report.review.decisions if d.kind == "item" and d.applies}


def _seal_cell(item: ItemResult) -> Cell:
    seal = item.seal
    if isinstance(seal, SealFound):
        return Cell(*w.seal_text(True, seal.page, seal.score, None))
    if isinstance(seal, SealNotFound):
        return Cell(*w.seal_text(False, None, None, None))
    if isinstance(seal, SealUnchecked):
        return Cell(*w.seal_text(None, None, None, seal.reason))
    return Cell(w.DASH)


def _items_table(report: Report) -> Table:
    rows: list[list[Cell]] = []
    for item in report.items:
        unsure = any(f.code == "LOW_CONFIDENCE" for f in item_findings(report, item))
        locations = [_location_text(loc) for loc in item.locations]
        status = item_status(report, item)
        rows.append(
            [
                Cell(item.article),
                Cell(item.title),
                Cell(w.REQUIRED_TEXT[item.required]),
                Cell(*status),
                Cell(w.percent_text(item.confidence) if item.present or unsure else w.DASH),
                Cell("；".join(loc for loc in locations if loc) or w.DASH),
                Cell(*w.metrics_text(item.metrics)),
                _seal_cell(item),
            ]
        )
    return Table(list(w.ITEMS_HEADERS), rows, w.EMPTY_ITEMS, nowrap=(0, 2, 3, 4))


def _seal_figures(report: Report) -> list[Block]:
    """The crop of each seal found, written beside the report (pipeline.dossier.write_outputs)."""
    figures: list[Block] = []
    for item in report.items:
        seal = item.seal
        if isinstance(seal, SealFound) and seal.crop:
            where = seal.file + (f" 第{seal.page}页" if seal.page else "")
            figures.append(Figure(seal.crop, w.SEAL_ALT, f"{item.title}：{where}", item.seal_crop))
    return figures


def _conditions_table(report: Report) -> Table:
    rows: list[list[Cell]] = []
    for cond in report.conditions:
        status, tone = w.CONDITION_STATUS.get(cond.status, (cond.status or w.DASH, ""))
        op = w.condition_operator(cond.op)
        rows.append(
            [
                Cell(cond.article),
                Cell(cond.title or cond.id),
                Cell(w.quantity_text(cond.value, cond.unit)),
                Cell(f"{op} {w.quantity_text(cond.threshold, cond.unit)}".strip()),
                Cell(status, tone),
            ]
        )
    return Table(list(w.CONDITIONS_HEADERS), rows, w.EMPTY_CONDITIONS, nowrap=(0, 2, 3, 4))


def _fields_table(report: Report) -> Table:
    labels, units = report.ruleset.field_labels, report.ruleset.field_units
    rows = [
        [
            Cell(w.field_label(key, labels)),
            Cell(w.field_value_text(value, units.get(key)), "muted" if value is None else ""),
        ]
        for key, value in report.fields.items()
    ]
    return Table(list(w.FIELDS_HEADERS), rows, w.EMPTY_FIELDS)


def _form_table(report: Report) -> Table:
    """Every labelled pair read from the application form, as written, with its normalised value."""
    rows, units = [], report.ruleset.field_units
    for pair in report.form:
        shown = (
            w.field_value_text(pair.value, units.get(pair.field)) if pair.field and pair.value is not None else w.DASH
        )
        rows.append([Cell(pair.label), Cell(pair.text or w.EMPTY_TEXT), Cell(shown)])
    return Table(list(w.FORM_HEADERS), rows, w.EMPTY_FORM)


def _cross_table(report: Report) -> Table:
    """What other items state about the form's figures and names, and whether it agrees."""
    labels = report.ruleset.field_labels
    rows = [
        [
            Cell(w.field_label(check.field, labels)),
            Cell(_location_text(check.location)),
            Cell(check.text),
            Cell(*w.AGREES_TEXT[check.agrees]),
        ]
        for check in report.cross_checks
    ]
    return Table(list(w.CROSS_HEADERS), rows, w.EMPTY_CROSS)


def _evidence_table(report: Report) -> Table:
    rows = []
    for entry in report.evidence.items:
        where = entry.file + (f" {w.page_list_text(entry.pages)}" if entry.pages else "")
        rows.append(
            [
                Cell(w.EVIDENCE_LABELS.get(entry.label, entry.label)),
                Cell(entry.normalized or entry.text),
                Cell(entry.level or w.DASH),
                Cell(where),
            ]
        )
    return Table(list(w.EVIDENCE_HEADERS), rows, w.EMPTY_EVIDENCE)


def _identified_text(sections: list[Identified], titles: dict[str, str]) -> str:
    parts: list[str] = []
    for section in sections:
        head = f"「{section.title}」" if section.title else ""
        pages = w.pages_text(section.pages)
        if pages:
            head = f"{head}{pages}" if head else pages
        if section.item:
            what = titles.get(section.item, section.item) + f"（{w.percent_text(section.confidence)}）"
        else:
            what = w.NOT_IDENTIFIED
        parts.append(f"{head} → {what}" if head else what)
    return "；".join(parts) or w.DASH


def _files_table(report: Report) -> Table:
    titles = {item.id: item.title or item.id for item in report.items}
    rows: list[list[Cell]] = []
    for file in report.dossier.files:
        pages = str(file.pages) if file.pages is not None else w.DASH
        if file.ocr_pages > 0:
            pages += w.scanned_pages_text(file.ocr_pages, file.ocr_pages_partial)
        error = file.error or ""
        if error and file.error_kind:
            error += f"（{file.error_kind}）"
        rows.append(
            [
                Cell(file.path),
                Cell(file.format or w.DASH),
                Cell(pages),
                Cell(w.size_text(file.size)),
                Cell(file.sha256[:12] or w.DASH),
                Cell(_identified_text(file.identified_as, titles)),
                Cell(error or w.DASH, "bad" if error else ""),
            ]
        )
    return Table(list(w.FILES_HEADERS), rows, w.EMPTY_FILES, mono=(4,), nowrap=(1, 3, 4))


def headings(blocks: list[Block]) -> list[tuple[int, str]]:
    """The sections of an outline, in order: (level, text) of every heading."""
    return [(b.level, b.text) for b in blocks if isinstance(b, Heading)]

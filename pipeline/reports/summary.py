"""The batch summary: one row per dossier (`SummaryRow`), written as summary.json and summary.xlsx.

summary.json is `{"schema": "dossier-summary/1", "generated_at": …, "dossiers": [row, …]}`, each row
exactly a `SummaryRow` (CONTRACT.md: `review_count` among its keys). summary.xlsx shows the same rows for
the clerk: the verdict and each item's state coloured, a link to each report, a legend sheet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..report import ItemResult, Report
from . import wording as w
from .files import json_text, printable, replace_into
from .outline import item_findings

SUMMARY_SCHEMA = "dossier-summary/1"

ItemState = Literal["present", "missing", "defective", "absent_optional"]


class SummaryRow(BaseModel):
    """One dossier of summary.json. Keys never renamed or removed (CONTRACT.md); rows stored by an older
    version (the watch service's registry) may carry keys no longer written: they are dropped."""

    model_config = ConfigDict(extra="ignore")

    id: str
    source: str
    verdict: Literal["complete", "incomplete", "failed"]
    items: dict[str, ItemState]  # item id → state, in the ruleset's order; empty for a failed dossier
    errors: int
    warnings: int
    review_count: int  # LOW_CONFIDENCE and LIMIT_REACHED warnings: "材料齐全，N 项请人工核对"
    report: str | None  # the report's HTML, relative to the summary; None for a failed dossier
    fields: dict[str, int | float | str | None]
    failure: str | None  # why a dossier could not be processed
    checked_at: str | None = None  # when its report was made
    # After the clerk's decisions (`dossier web`): the verdict people act on, its 请人工核对 count, how
    # many decisions are in force and how many no longer apply. Without decisions: the tool's.
    final_verdict: Literal["complete", "incomplete", "failed"] | None = None
    final_review_count: int | None = None
    final_errors: int | None = None
    final_warnings: int | None = None
    decisions: int = 0
    stale_decisions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def item_state(report: Report, item: ItemResult) -> ItemState:
    """The summary's four-valued item state."""
    if item.present:
        return "defective" if any(f.severity == "error" for f in item_findings(report, item)) else "present"
    return "missing" if item.required else "absent_optional"


def summary_row(report: Report, report_dir: str) -> dict[str, Any]:
    """The summary.json row (a `SummaryRow`, as JSON data) of a report; report_dir is the report's folder
    relative to the summary."""
    folder = report_dir.replace("\\", "/").strip("/")
    return SummaryRow(
        id=report.dossier.id,
        source=report.dossier.source,
        verdict=report.verdict,
        items={item.id: item_state(report, item) for item in report.items},
        errors=report.counts.error,
        warnings=report.counts.warning,
        review_count=report.review_count,
        report=str(PurePosixPath(folder) / "report.html") if folder else "report.html",
        fields=dict(report.fields),
        failure=None,
        checked_at=report.dossier.checked_at,
        final_verdict=report.final_verdict,
        final_review_count=report.final_review_count,
        final_errors=report.final_counts.error,
        final_warnings=report.final_counts.warning,
        decisions=len(report.review.decisions) if report.review else 0,
        stale_decisions=report.review.stale if report.review else 0,
    ).as_dict()


def failed_row(dossier_id: str, source: str, reason: str) -> dict[str, Any]:
    """The summary.json row of a dossier that could not be processed at all (no report exists)."""
    return SummaryRow(
        id=dossier_id,
        source=source,
        verdict="failed",
        items={},
        errors=0,
        warnings=0,
        review_count=0,
        report=None,
        fields={},
        failure=reason,
        final_verdict="failed",
        final_review_count=0,
        final_errors=0,
        final_warnings=0,
    ).as_dict()


def _columns(rows: Sequence[SummaryRow], item_titles: Mapping[str, str]) -> dict[str, str]:
    """Item id → column title: the ruleset's items in its order, then any other id the rows hold (rows of
    an earlier ruleset kept by the watch service), titled by its id."""
    columns = {str(k): str(v) for k, v in item_titles.items()}
    for row in rows:
        for item_id in row.items:
            columns.setdefault(item_id, item_id)
    return columns


def _display_width(text: str) -> int:
    """Columns a string takes in a spreadsheet: CJK and full-width characters count 2."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def with_decisions(row: SummaryRow, out_dir: Path, decided: set[str]) -> SummaryRow:
    """A row with its final verdict: the clerk's, read from its report (pipeline/review.py keeps the
    reports of decided dossiers up to date), else the tool's."""
    final: dict[str, Any] = {
        "final_verdict": row.verdict,
        "final_review_count": row.review_count,
        "final_errors": row.errors,
        "final_warnings": row.warnings,
        "decisions": 0,
        "stale_decisions": 0,
    }
    if row.id in decided and row.report:
        try:
            report = Report.model_validate_json(
                (out_dir / PurePosixPath(row.report).parent / "report.json").read_bytes()
            )
        except (OSError, ValueError):
            report = None
        if report is not None and report.review is not None:
            final = {
                "final_verdict": report.review.verdict,
                "final_review_count": report.review.review_count,
                "final_errors": report.review.counts.error,
                "final_warnings": report.review.counts.warning,
                "decisions": len(report.review.decisions),
                "stale_decisions": report.review.stale,
            }
    return row.model_copy(update=final)


def _decided(out_dir: Path) -> set[str]:
    from ..review import DecisionStore

    if not DecisionStore.exists(out_dir):
        return set()
    store = DecisionStore(out_dir)
    try:
        return store.dossiers()
    finally:
        store.close()


def write_summary(
    rows: Sequence[SummaryRow | Mapping[str, Any]],
    out_dir: Path,
    item_titles: Mapping[str, str],
    generated_at: str | None = None,
    inbox: Path | None = None,
) -> tuple[Path, Path]:
    """Write the batch summary: out_dir/summary.json and out_dir/summary.xlsx; return both paths.

    ROWS are `SummaryRow`s or their JSON data (`summary_row`, `failed_row`, the watch registry's). The item
    columns are the ruleset's items, `item_titles` ({item id: title}), in its order. Each row's final
    verdict takes the clerk's decisions into account (`with_decisions`). INBOX, where the dossiers are, is
    recorded for `dossier web` (page previews, source downloads).
    """
    from ..review import reports_lock

    with reports_lock(Path(out_dir)):  # the watch service and the web desk both write it
        return _write_summary(rows, Path(out_dir), item_titles, generated_at, inbox)


def refresh_summary(out_dir: Path, item_titles: Mapping[str, str]) -> bool:
    """summary.json and .xlsx again as they stand, each row's final verdict as its report now says (after a
    clerk's decision); False when there is no summary to refresh."""
    from ..review import reports_lock

    out_dir = Path(out_dir)
    with reports_lock(out_dir):
        try:
            data = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(data, dict) or data.get("schema") != SUMMARY_SCHEMA:
            return False
        rows = [row for row in data.get("dossiers", []) if isinstance(row, dict)]
        inbox = data.get("inbox")
        _write_summary(
            rows, out_dir, item_titles, data.get("generated_at"), Path(inbox) if isinstance(inbox, str) else None
        )
        return True


def _write_summary(
    rows: Sequence[SummaryRow | Mapping[str, Any]],
    out_dir: Path,
    item_titles: Mapping[str, str],
    generated_at: str | None,
    inbox: Path | None,
) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = generated_at or datetime.now().astimezone().isoformat(timespec="seconds")
    data = [row.as_dict() if isinstance(row, SummaryRow) else dict(row) for row in rows]
    decided = _decided(out_dir)
    typed = [with_decisions(SummaryRow.model_validate(row), out_dir, decided) for row in printable(data)]
    json_path = out_dir / "summary.json"
    summary: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "generated_at": stamp,
        "dossiers": [r.as_dict() for r in typed],
    }
    if inbox is not None:
        summary["inbox"] = str(Path(inbox).resolve())
    text = json_text(summary)
    replace_into(json_path, lambda p: p.write_text(text, encoding="utf-8"))
    xlsx_path = out_dir / "summary.xlsx"
    workbook = _workbook(typed, _columns(typed, item_titles), stamp)
    replace_into(xlsx_path, lambda p: workbook.save(str(p)))
    return json_path, xlsx_path


def _workbook(rows: Sequence[SummaryRow], columns: Mapping[str, str], stamp: str) -> Any:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    red = (PatternFill("solid", fgColor="FFC7CE"), Font(color="9C0006", bold=True))
    green = (PatternFill("solid", fgColor="C6EFCE"), Font(color="006100"))
    amber = (PatternFill("solid", fgColor="FFEB9C"), Font(color="9C5700", bold=True))
    grey = (PatternFill("solid", fgColor="D9D9D9"), Font(color="3F3F3F", bold=True))
    tone_styles = {"bad": red, "ok": green, "warn": amber, "failed": grey}

    headers = [*w.SUMMARY_HEADERS_BEFORE, *columns.values(), *w.SUMMARY_HEADERS_AFTER]
    first_item_col = len(w.SUMMARY_HEADERS_BEFORE) + 1
    report_col = len(headers) - 1

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = w.SUMMARY_SHEET
    sheet.append(headers)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")

    verdict_tones = {"complete": "ok", "incomplete": "bad", "failed": "failed"}
    item_tone = {"present": "ok", "missing": "bad", "defective": "warn"}
    for row in rows:
        failed = row.verdict == "failed"
        final = row.final_verdict or row.verdict
        final_reviews = row.review_count if row.final_review_count is None else row.final_review_count
        final_text = w.verdict_text(final, final_reviews, short=True)
        if row.decisions:
            final_text += w.SUMMARY_DECIDED.format(n=row.decisions)
        if row.stale_decisions:
            final_text += w.SUMMARY_STALE.format(n=row.stale_decisions)
        values: list[Any] = [row.id, row.source, w.verdict_text(row.verdict, row.review_count, short=True), final_text]
        values += ["" if failed else w.SUMMARY_ITEM_TEXT.get(row.items.get(i, ""), w.DASH) for i in columns]
        values += [
            None if failed else row.errors,
            None if failed else row.warnings,
            w.SUMMARY_LINK_TEXT if row.report else "",
            row.failure or "",
        ]
        sheet.append(values)
        r = sheet.max_row
        for col, (verdict, reviews) in ((3, (row.verdict, row.review_count)), (4, (final, final_reviews))):
            tone = "warn" if verdict == "complete" and reviews else verdict_tones.get(verdict)
            if tone:
                fill, font = tone_styles[tone]
                sheet.cell(r, col).fill, sheet.cell(r, col).font = fill, font
        for offset, item_id in enumerate(columns):
            tone = item_tone.get(row.items.get(item_id, ""))
            cell = sheet.cell(r, first_item_col + offset)
            cell.alignment = Alignment(horizontal="center")
            if tone and not failed:
                cell.fill, cell.font = tone_styles[tone]
        if row.report:
            link = sheet.cell(r, report_col)
            link.hyperlink = row.report
            link.style = "Hyperlink"
        if row.failure:
            sheet.cell(r, len(headers)).font = Font(color="9C0006")

    last_col = get_column_letter(len(headers))
    sheet.auto_filter.ref = f"A1:{last_col}{max(sheet.max_row, 1)}"
    sheet.freeze_panes = "B2"  # the header row, and the dossier id column while scrolling right

    item_cols = range(first_item_col, first_item_col + len(columns))
    for col in range(1, len(headers) + 1):
        body = ["" if v is None else str(v) for v in (sheet.cell(r, col).value for r in range(2, sheet.max_row + 1))]
        widest = max((_display_width(v) for v in body), default=0)
        if col in item_cols:
            width = min(max(widest + 2, 12), 18)
        else:
            width = max(min(max(widest, _display_width(headers[col - 1])) + 2, 60), 8)
        sheet.column_dimensions[get_column_letter(col)].width = width
    header_lines = 1
    for col, title in enumerate(headers, start=1):
        width = sheet.column_dimensions[get_column_letter(col)].width or 10
        header_lines = max(header_lines, -(-_display_width(title) // max(int(width) - 1, 1)))
    sheet.row_dimensions[1].height = 15 * min(header_lines, 8)

    legend = workbook.create_sheet(w.SUMMARY_LEGEND_SHEET)
    legend.append([w.SUMMARY_GENERATED, stamp])
    legend.append([])
    legend.append(list(w.SUMMARY_LEGEND_HEADERS))
    for sign, meaning in w.SUMMARY_LEGEND:
        legend.append([sign, meaning])
    legend["A3"].font = legend["B3"].font = Font(bold=True)
    legend.column_dimensions["A"].width = 14
    legend.column_dimensions["B"].width = 70
    return workbook

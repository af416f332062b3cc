"""The round: every dossier of OUT with its verdict and state, for the round page and `/api/round`.

Read from OUT/summary.json (one row per dossier checked, `pipeline.reports.summary.SummaryRow`) and, where
the watch service keeps one, its registry OUT/registry.sqlite3 (what is queued or being checked now), plus
the clerk's final verdicts (written into summary.json's rows). Never from the dossiers' report.json files: a round of 500 loads in
well under a second. The result is kept until one of those files changes (their sizes and mtimes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.registry import FILENAME as REGISTRY_FILE
from pipeline.registry import Registry
from pipeline.reports.summary import SummaryRow

logger = logging.getLogger("dossier.web")

SUMMARY_FILE = "summary.json"
STATES = ("queued", "running", "done", "failed")
COUNT_KEYS = ("complete", "incomplete", "failed", "queued", "running", "total")


@dataclass(frozen=True)
class RoundRow:
    """One dossier of the round."""

    id: str
    source: str
    verdict: str  # the tool's: complete | incomplete | failed; "" while not yet checked
    final_verdict: str  # after the clerk's decisions (the tool's verdict where there are none)
    state: str  # queued | running | done | failed
    errors: int  # the tool's
    warnings: int
    final_errors: int  # after the clerk's decisions: what the final verdict rests on
    final_warnings: int
    review_count: int  # the tool's LOW_CONFIDENCE and LIMIT_REACHED warnings
    final_review_count: int  # what is left to look at after the clerk's decisions
    checked_at: str  # ISO 8601, "" while not yet checked
    decisions: int  # the clerk's decisions in force
    stale: int  # decisions that no longer apply to the content checked
    failure: str = ""
    has_report: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Round:
    stamp: str  # changes whenever anything shown changes
    rows: list[RoundRow]
    counts: dict[str, int]
    inbox: str | None = None  # summary.json's inbox, where the batch or watch service read from
    by_id: dict[str, RoundRow] = field(default_factory=dict, repr=False)


def counts(rows: list[RoundRow]) -> dict[str, int]:
    """Dossiers queued or being checked count by their state, the others by their final verdict."""
    found = dict.fromkeys(COUNT_KEYS, 0)
    for row in rows:
        key = row.state if row.state in ("queued", "running") else row.final_verdict
        if key in found:
            found[key] += 1
    found["total"] = len(rows)
    return found


def _mtime_text(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return ""
    return dt.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def _file_key(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def read_summary(out: Path) -> tuple[list[dict[str, Any]], str | None]:
    """summary.json's rows and its inbox (None where it does not say); nothing when there is none yet."""
    try:
        data = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], None
    except (OSError, ValueError) as exc:  # being replaced, or broken: the next poll reads it again
        logger.warning(f"无法读取 {out / SUMMARY_FILE}：{exc}")
        return [], None
    rows = data.get("dossiers") if isinstance(data, dict) else None
    inbox = data.get("inbox") if isinstance(data, dict) else None
    return [r for r in rows or [] if isinstance(r, dict) and isinstance(r.get("id"), str)], (
        inbox if isinstance(inbox, str) else None
    )


def build_round(out: Path) -> Round:
    """The round as it stands now (no cache: see `RoundReader`)."""
    summary, inbox = read_summary(out)
    registry_rows: dict[str, Any] = {}
    registry_path = out / REGISTRY_FILE
    if registry_path.is_file():
        registry = Registry(registry_path)
        try:
            registry_rows = {row.id: row for row in registry.rows()}
        finally:
            registry.close()
    rows: list[RoundRow] = []
    seen: set[str] = set()
    for data in summary:
        try:
            row = SummaryRow.model_validate(data)  # summary.json's row, as the batch and watch service write it
        except ValidationError as exc:
            logger.warning(f"汇总表中无法识别的一行：{data.get('id')}：{exc.error_count()} 处不符")
            continue
        if row.id in seen:
            continue
        seen.add(row.id)
        in_registry = registry_rows.get(row.id)
        state = in_registry.state if in_registry is not None else ("failed" if row.verdict == "failed" else "done")
        checked_at = row.checked_at or ""
        if not checked_at and in_registry is not None:
            checked_at = in_registry.finished or ""
        if not checked_at and row.report:
            checked_at = _mtime_text(out / row.id / "report.json")
        rows.append(
            RoundRow(
                id=row.id,
                source=row.source or row.id,
                verdict=row.verdict,
                final_verdict=row.final_verdict or row.verdict,
                state=state,
                errors=row.errors,
                warnings=row.warnings,
                final_errors=row.errors if row.final_errors is None else row.final_errors,
                final_warnings=row.warnings if row.final_warnings is None else row.final_warnings,
                review_count=row.review_count,
                final_review_count=row.review_count if row.final_review_count is None else row.final_review_count,
                checked_at=checked_at,
                decisions=row.decisions,
                stale=row.stale_decisions,
                failure=row.failure or "",
                has_report=bool(row.report),
            )
        )
    for ident, entry in registry_rows.items():  # the watch service's dossiers not summarised yet
        if ident in seen:
            continue
        failed = entry.state == "failed"
        rows.append(
            RoundRow(
                id=ident,
                source=entry.source,
                verdict="failed" if failed else "",
                final_verdict="failed" if failed else "",
                state=entry.state,
                errors=0,
                warnings=0,
                final_errors=0,
                final_warnings=0,
                review_count=0,
                final_review_count=0,
                checked_at=entry.finished or "",
                decisions=0,
                stale=0,
                failure=entry.error or "",
            )
        )
    rows.sort(key=lambda r: r.id)
    stamp = hashlib.sha256(json.dumps([r.as_dict() for r in rows], ensure_ascii=False).encode()).hexdigest()[:16]
    return Round(stamp, rows, counts(rows), inbox, {r.id: r for r in rows})


class RoundReader:
    """The round of OUT, read again only when summary.json, the registry or the decisions changed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._key: tuple[tuple[int, int], ...] | None = None
        self._round: Round | None = None

    def _signature(self) -> tuple[tuple[int, int], ...]:
        # Final verdicts come from summary.json (rewritten after each decision), not from the decisions' file.
        names = (SUMMARY_FILE, REGISTRY_FILE, f"{REGISTRY_FILE}-wal")
        return tuple(_file_key(self.out / name) for name in names)

    def read(self) -> Round:
        key = self._signature()
        with self._lock:
            if self._round is None or key != self._key:
                self._round = build_round(self.out)
                self._key = key
            return self._round

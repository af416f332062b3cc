"""A plain sequential batch: every direct child of an inbox is one dossier (CONTRACT.md)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.names import terminal_safe

from .dossier import dossier_id
from .engine import Engine
from .intake import is_junk
from .report import Report
from .reports import verdict_text, write_summary
from .review import apply_decisions
from .ruleset import Ruleset
from .runner import Outcome

logger = logging.getLogger("dossier.batch")


def dossiers_in(inbox: Path) -> list[tuple[str, Path]]:
    """Every direct child of INBOX with its dossier id; clashing ids get -2, -3 … (CONTRACT.md)."""
    children = sorted((p for p in inbox.iterdir() if not is_junk(p.name)), key=lambda p: p.name)
    seen: dict[str, int] = {}
    result: list[tuple[str, Path]] = []
    for child in children:
        base = dossier_id(child.name)
        seen[base] = seen.get(base, 0) + 1
        result.append((base if seen[base] == 1 else f"{base}-{seen[base]}", child))
    return result


def summary_line(report: Report) -> str:
    """One line a clerk reads on the terminal: the verdict, the counts, what is missing."""
    counts = report.counts
    missing = [i.title for i in report.items if i.required and not i.present]
    verdict = verdict_text(report.verdict, report.review_count)
    line = f"{report.dossier.id}：{verdict}（错误 {counts.error}，提醒 {counts.warning}）"
    if missing:
        line += "；缺少：" + "、".join(missing)
    return terminal_safe(line)


def run_batch(
    inbox: Path,
    out: Path,
    ruleset: Ruleset,
    formats: Sequence[str],
    workers: int,
    timeout: float,
    quiet: bool = False,
    full_ocr: bool = False,
) -> tuple[list[dict[str, Any]], bool]:
    """Check every dossier of INBOX in turn, without Prefect; the summary rows and whether all got a report.

    Two dossiers are in flight: the next one's files are read (in the worker processes) while this one
    is judged, so extraction and analysis overlap even with one worker.
    """
    out.mkdir(parents=True, exist_ok=True)
    dossiers = dossiers_in(inbox)
    rows: list[dict[str, Any]] = []
    with (
        Engine(ruleset, workers, timeout).warm() as engine,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="dossier") as threads,
    ):
        futures = [
            threads.submit(engine.run_one, child, ident, out, formats, full_ocr=full_ocr) for ident, child in dossiers
        ]
        for future in futures:
            outcome = future.result()
            rows.append(outcome.row)
            log_outcome(logger, outcome, level=logging.DEBUG if quiet else logging.INFO)
    apply_decisions(out)
    write_summary(rows, out, {item.id: item.title for item in ruleset.items}, inbox=inbox)
    return rows, all(row["verdict"] != "failed" for row in rows)


def outcome_line(outcome: Outcome, note: str = "") -> str:
    """The terminal line of a checked dossier (with its time), or why it could not be checked."""
    if outcome.report is None:
        return terminal_safe(f"{outcome.row['id']}：{outcome.row['failure']}")
    return terminal_safe(f"{summary_line(outcome.report)}  [{outcome.report.elapsed_seconds:.1f} 秒{note}]")


def log_outcome(log: logging.Logger, outcome: Outcome, *, level: int = logging.INFO, cached: bool = False) -> None:
    """One log record per dossier, its message the terminal line: event `dossier_checked` (verdict, counts,
    seconds; `cached` when the report came from the flow's cache) or `dossier_failed` (the reason)."""
    row = outcome.row
    fields: dict[str, Any] = {"dossier": row["id"], "source": row["source"]}
    if outcome.report is None:
        log.log(level, outcome_line(outcome), extra={"event": "dossier_failed", **fields, "reason": row["failure"]})
        return
    fields |= {"verdict": row["verdict"], "review_count": row["review_count"], "errors": row["errors"]}
    fields |= {"warnings": row["warnings"], "seconds": outcome.report.elapsed_seconds, "cached": cached}
    log.log(level, outcome_line(outcome, "，缓存" if cached else ""), extra={"event": "dossier_checked", **fields})

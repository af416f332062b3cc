"""A plain sequential batch: every direct child of an inbox is one dossier (CONTRACT.md)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.names import terminal_safe

from .dossier import dossier_id
from .intake import is_junk
from .reports import review_count, verdict_text, write_summary
from .ruleset import Ruleset
from .runner import Outcome, SharedPool, run_one


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


def summary_line(report: dict[str, Any]) -> str:
    """One line a clerk reads on the terminal: the verdict, the counts, what is missing."""
    counts = report["counts"]
    missing = [i["title"] for i in report["items"] if i["required"] and not i["present"]]
    verdict = verdict_text(report["verdict"], review_count(report))
    line = f"{report['dossier']['id']}：{verdict}（错误 {counts['error']}，提醒 {counts['warning']}）"
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
) -> tuple[list[dict[str, Any]], bool]:
    """Check every dossier of INBOX in turn, without Prefect; the summary rows and whether all got a report.

    Two dossiers are in flight: the next one's files are read (in the worker processes) while this one
    is judged, so extraction and analysis overlap even with one worker.
    """
    out.mkdir(parents=True, exist_ok=True)
    dossiers = dossiers_in(inbox)
    rows: list[dict[str, Any]] = []
    with (
        SharedPool(workers, timeout).warm() as pool,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="dossier") as threads,
    ):
        futures = [threads.submit(run_one, child, ident, out, ruleset, pool, formats) for ident, child in dossiers]
        for future in futures:
            outcome = future.result()
            rows.append(outcome.row)
            if not quiet:
                print(outcome_line(outcome), flush=True)
    write_summary(rows, out)
    return rows, all(row["verdict"] != "failed" for row in rows)


def outcome_line(outcome: Outcome, note: str = "") -> str:
    """The terminal line of a checked dossier (with its time), or why it could not be checked."""
    if outcome.report is None:
        return terminal_safe(f"{outcome.row['id']}：{outcome.row['failure']}")
    return terminal_safe(f"{summary_line(outcome.report)}  [{outcome.report['elapsed_seconds']:.1f} 秒{note}]")

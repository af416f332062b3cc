"""A plain sequential batch: every direct child of an inbox is one dossier (CONTRACT.md)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from extractors.sandbox import ExtractionPool

from .dossier import ReadDossier, dossier_id, judge_dossier, read_dossier, write_outputs
from .intake import is_junk
from .reports import failed_row, summary_row, write_summary
from .ruleset import Ruleset


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
    verdicts = {"complete": "材料齐全", "incomplete": "材料不齐全，需补正"}
    counts = report["counts"]
    missing = [i["title"] for i in report["items"] if i["required"] and not i["present"]]
    line = (
        f"{report['dossier']['id']}：{verdicts[report['verdict']]}（错误 {counts['error']}，提醒 {counts['warning']}）"
    )
    if missing:
        line += "；缺少：" + "、".join(missing)
    return line


def run_batch(
    inbox: Path,
    out: Path,
    ruleset: Ruleset,
    formats: Sequence[str],
    workers: int,
    timeout: float,
    quiet: bool = False,
) -> tuple[list[dict[str, Any]], bool]:
    """Check every dossier of INBOX in turn; returns the summary rows and whether all got a report.

    The next dossier's files are read (in the worker processes) while this one is judged, so
    extraction and analysis overlap even with one worker.
    """
    rows: list[dict[str, Any]] = []
    all_reported = True
    out.mkdir(parents=True, exist_ok=True)
    dossiers = dossiers_in(inbox)
    with (
        ExtractionPool(workers=workers, timeout=timeout).warm() as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as reader,
    ):

        def prefetch(index: int) -> Future[ReadDossier] | None:
            if index >= len(dossiers):
                return None
            child = dossiers[index][1]
            return reader.submit(read_dossier, child, pool, ruleset, child.name)

        upcoming = prefetch(0)
        for index, (ident, child) in enumerate(dossiers):
            started = time.perf_counter()
            current, upcoming = upcoming, prefetch(index + 1)
            try:
                assert current is not None
                checked = judge_dossier(current.result(), ruleset)
                checked.report["dossier"]["id"] = ident
                write_outputs(checked, out / ident, formats)
                rows.append(summary_row(checked.report, ident))
                line = summary_line(checked.report)
            except Exception as exc:  # one dossier's failure must not stop the batch
                all_reported = False
                reason = f"处理失败：{type(exc).__name__}: {exc}"
                (out / ident).mkdir(parents=True, exist_ok=True)
                (out / ident / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
                rows.append(failed_row(ident, child.name, reason))
                line = f"{ident}：{reason}"
            if not quiet:
                print(f"{line}  [{time.perf_counter() - started:.1f} 秒]", flush=True)
    write_summary(rows, out)
    return rows, all_reported

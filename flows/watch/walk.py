"""The registry walk: the inbox's dossiers against the registry (pipeline/registry.py, OUT/registry.sqlite3).

For a settled dossier: its content hash goes to the registry, which says whether it is new, changed, a
re-drop of content already checked (skipped), or content that failed before (skipped until dropped again);
what must be checked is checked (the checker, flows/watch/checker.py), its reports swapped into OUT or its
failure recorded, and the summary rewritten. After a crash, what was left queued or running is checked again.

Every outcome is a log record of the `dossier.watch` logger: the clerk's Chinese line as its message, a
stable `event` name and fields for programs (`dossier_checked`, `dossier_failed`, `dossier_skipped`, …).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.names import shown, terminal_safe
from pipeline.intake import is_junk
from pipeline.registry import Decision, Registry, Row
from pipeline.report import Report

from .checker import Checker, CheckFailed, failure_reason
from .outputs import (
    FAILED,
    checked_at,
    clear_staging,
    publish,
    read_text,
    record_failure,
    staging,
)
from .settle import Snapshot, registry_hash, signature, snapshot

MAX_ATTEMPTS = 3  # a dossier whose check was interrupted this often is failed, not retried forever

logger = logging.getLogger("dossier.watch")


def log(level: int, message: str, event: str, *, exc_info: bool = False, **fields: Any) -> None:
    """One event: the clerk's line (terminal-safe) as the message, its machine name and fields as attributes."""
    logger.log(level, terminal_safe(message), exc_info=exc_info, extra={"event": event, **fields})


@dataclass
class Counts:
    checked: int = 0
    failed: int = 0
    skipped: int = 0


class RegistryWalk:
    """The inbox's children by the names the registry knows them by, and what becomes of each."""

    def __init__(
        self, inbox: Path, out: Path, registry: Registry, checker: Checker, item_titles: Mapping[str, str]
    ) -> None:
        self.inbox = inbox
        self.item_titles = item_titles  # the ruleset's items: the summary's columns
        self.out = out
        self.registry = registry
        self.checker = checker
        self.counts = Counts()
        self._names: dict[str, str] = {}  # a child's key (its name shown safely) → its name on disk

    # -- the inbox's children ------------------------------------------------------------------------

    def key(self, name: str) -> str:
        """The name the registry, the reports and the terminal know a child by: shown safely (a name may
        hold bytes that are not UTF-8, which SQLite cannot store, or control characters)."""
        key = shown(name)
        self._names[key] = name
        return key

    def path(self, key: str) -> Path:
        return self.inbox / self._names.get(key, key)

    def candidate(self, key: str) -> bool:
        """A direct child of the inbox that is a dossier: not junk, not our own output folder."""
        if not key or is_junk(key):
            return False
        child = self.path(key)
        return not (child == self.out or child in self.out.parents)

    def children(self) -> list[str]:
        try:
            names = sorted(p.name for p in self.inbox.iterdir())
        except OSError as exc:  # a network share gone for a moment: try again at the next rescan
            log(logging.WARNING, f"无法读取收件箱 {self.inbox}：{exc}", "inbox_unreadable", error=str(exc))
            return []
        return [key for key in map(self.key, names) if self.candidate(key)]

    def handled(self, key: str, snap: Snapshot) -> bool:
        """Handled before and untouched since."""
        return signature(snap) == self.registry.signature(key)

    def resumable(self, key: str, snap: Snapshot) -> bool:
        """Interrupted by a crash after it had settled, and untouched since: no need to wait again."""
        row: Row | None = self.registry.get(key)
        return row is not None and row.state in ("queued", "running") and row.signature == signature(snap)

    # -- start-up ------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Clear half-written reports; fail what vanished or kept crashing; return what to check again."""
        clear_staging(self.out)
        self.children()  # the names on disk of the keys the registry holds
        again: list[str] = []
        for row in self.registry.unfinished():
            if snapshot(self.path(row.source)) is None:
                self._fail(row.source, row.id, "处理失败：服务重启后，该申报材料已不在收件箱中", None)
            elif row.state == "running" and row.attempts >= MAX_ATTEMPTS:
                reason = f"处理失败：已尝试 {row.attempts} 次，每次处理中服务都中断（崩溃或被终止），不再自动重试"
                self._fail(row.source, row.id, reason, None)
            else:
                again.append(row.source)
        if again:
            log(
                logging.INFO,
                f"上次中断时未处理完的申报材料将重新检查：{'、'.join(again)}",
                "watch_resumed",
                sources=again,
            )
        return again

    # -- one settled dossier ---------------------------------------------------------------------------

    def handle(self, name: str, snap: Snapshot) -> bool:
        """Hash, register and (if new or changed) check one settled dossier. False: it changed meanwhile."""
        from pipeline.dossier import dossier_id

        path = self.path(name)
        digest = registry_hash(path)
        if snapshot(path) != snap:
            return False  # written to while we hashed: let it settle again
        decision = self.registry.seen(name, digest, signature(snap), base_id=dossier_id(name))
        ident = decision.ident
        if not decision.check:
            self.counts.skipped += 1
            if decision.reason == "unchanged":
                message = f"{ident}：内容与已检查的相同，不再重复检查（报告：{ident}/report.html）"
                log(logging.INFO, message, "dossier_skipped", dossier=ident, source=name, why="unchanged")
            else:
                message = f"{ident}：内容与上次处理失败时相同，不再重试（原因见 {FAILED}/{ident}/reason.txt；重新放入即可重试）"
                log(logging.WARNING, message, "dossier_skipped", dossier=ident, source=name, why=decision.reason)
            return True
        self.registry.start(name)
        began, started = dt.datetime.now(dt.UTC).replace(microsecond=0), time.perf_counter()
        new = staging(self.out) / ident
        shutil.rmtree(new, ignore_errors=True)
        try:
            row = self.checker(path, ident, new.parent)
            if row.get("verdict") == "failed":
                raise CheckFailed(str(row.get("failure") or "处理失败：未知原因"))
            data = (new / "report.json").read_bytes()
            report = Report.model_validate_json(data)  # report.json as the contract has it, or a failure
            publish(self.out, new, ident)
            self.registry.finish(name, f"{ident}/report.json", row)
        except Exception as exc:  # one dossier's failure must not stop the service
            reason = failure_reason(exc)
            details = read_text(new / "error.txt") or traceback.format_exc()
            shutil.rmtree(new, ignore_errors=True)
            self._fail(name, ident, reason, details)
            self.counts.failed += 1
            seconds = time.perf_counter() - started
            message = f"{ident}：{reason}（见 {FAILED}/{ident}/reason.txt）  [{seconds:.1f} 秒]"
            log(logging.WARNING, message, "dossier_failed", dossier=ident, source=name, reason=reason, seconds=seconds)
            self.write_summary()
            return True
        self.counts.checked += 1
        seconds = time.perf_counter() - started
        self._checked(name, ident, report, checked_at(json.loads(data)), decision, began, seconds)
        self.write_summary()
        return True

    def _checked(
        self,
        name: str,
        ident: str,
        report: Report,
        checked: dt.datetime | None,
        decision: Decision,
        began: dt.datetime,
        seconds: float,
    ) -> None:
        from pipeline.batch import summary_line

        line = summary_line(report)
        if decision.reason == "changed":
            line += "（内容有变化，已重新检查）"
        elif decision.reason == "retry":
            line += "（已重新检查）"
        if decision.duplicate_of:
            line += f"（与「{decision.duplicate_of}」内容相同）"
        reused = checked if checked and checked < began else None  # served from the flow's cache
        if reused:
            line += f"（与 {reused:%Y-%m-%d %H:%M} 检查过的内容相同，沿用该次结果）"
        log(
            logging.INFO,
            f"{line}  [{seconds:.1f} 秒]",
            "dossier_checked",
            dossier=ident,
            source=name,
            verdict=report.verdict,
            review_count=report.review_count,
            errors=report.counts.error,
            warnings=report.counts.warning,
            why=decision.reason,
            duplicate_of=decision.duplicate_of,
            reused_from=reused.isoformat() if reused else None,
            seconds=seconds,
        )

    def _fail(self, name: str, ident: str, reason: str, details: str | None) -> None:
        from pipeline.reports import failed_row

        record_failure(self.out, name, ident, reason, details)
        self.registry.fail(name, reason, failed_row(ident, name, reason))

    def write_summary(self) -> None:
        from pipeline.reports import write_summary

        try:
            write_summary(self.registry.summary_rows(), self.out, self.item_titles, inbox=self.inbox)
        except Exception as exc:  # e.g. summary.xlsx open in Excel on a share: try again next time
            log(logging.WARNING, f"无法更新汇总表：{type(exc).__name__}: {exc}", "summary_not_written", error=str(exc))

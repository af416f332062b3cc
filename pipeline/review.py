"""The clerk's own decisions (人工确认) and what they do to a dossier's verdict.

A clerk may decide on anything the tool judged: an item (present / missing), an item's seal (present /
missing), an Art. 4 condition (pass / fail) or a finding (upheld / dismissed). `review(report, decisions)`
gives the verdict after them (`Report.review`); `Report.verdict` stays the tool's own.

Every decision is kept (`DecisionStore`: `OUT/decisions.sqlite3`, beside the watch service's registry), with
what the tool said and a fingerprint of the content it rests on. When a dossier is checked again and that
content or the tool's answer changed, the decision is not applied but shown as 请重新确认: a clerk's word
is never silently carried over to material they have not seen.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.database import Database

from .dossier import CHINA_TIME
from .report import (
    REVIEW_CODES,
    ClerkDecision,
    ConditionResult,
    Counts,
    Finding,
    ItemResult,
    Location,
    Report,
    Review,
    SealFound,
    SealNotFound,
)
from .reports.wording import DECISION_VALUE_TEXT

FILENAME = "decisions.sqlite3"
KINDS = ("item", "seal", "condition", "finding")
VALUES: dict[str, tuple[str, ...]] = {
    "item": ("present", "missing"),
    "seal": ("present", "missing"),
    "condition": ("pass", "fail"),
    "finding": ("upheld", "dismissed"),
}
VALUE_TEXT = DECISION_VALUE_TEXT  # the clerk's answers as people read them (wording.py)
# The tool's doubts a decision on the same item settles: the clerk has looked.
DOUBT_CODES = ("LOW_CONFIDENCE", "OCR_LOW_CONFIDENCE", "LIMIT_REACHED")

CLERK_PREFIX = "人工确认："
STALE_GONE = "重新检查后已无此项"
STALE_TOOL = "重新检查后系统结论已变（原为{old}，现为{new}）"
STALE_CONTENT = "材料已更新（相关文件有变化）"
STALE_ADVICE = "，请重新确认"
UNSEEN_SEAL = "该项已确认提供，但系统未核对其公章，请人工确认是否加盖公章"


@dataclass(frozen=True)
class Target:
    """Something a clerk can decide on, as the tool judged it in one report."""

    key: str
    kind: str
    subject: str  # item id, condition id, or the finding's key
    label: str
    tool: str  # the tool's answer: one of VALUES[kind], or "unknown"
    basis: str  # fingerprint of what the answer rests on (files' contents, the finding's text)


@dataclass(frozen=True)
class Decision:
    """One stored decision (the latest on its target)."""

    seq: int
    dossier: str
    target: str
    value: str
    note: str
    user: str
    at: str
    tool: str
    basis: str
    label: str


# ---------------------------------------------------------------------------------------------------
# What can be decided
# ---------------------------------------------------------------------------------------------------


def finding_key(finding: Finding) -> str:
    file = finding.location.file if finding.location else ""
    return f"finding:{finding.code}:{finding.item or ''}:{finding.field or ''}:{file}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _files_basis(report: Report, files: Sequence[str]) -> str:
    """The contents of the files named (or of every file, when none is named: a decision on something the
    tool did not find rests on the whole dossier)."""
    by_path = {f.path: f.sha256 for f in report.dossier.files}
    named = sorted({f for f in files if f in by_path}) or sorted(by_path)
    return _digest(*(f"{path}={by_path[path]}" for path in named))


def _item_files(item: ItemResult) -> list[str]:
    return [loc.file for loc in item.locations]


def needs_seal(report: Report) -> set[str]:
    """The items wanting a seal: a missing one carries no `seal`, the ruleset's list names it."""
    return {item.id for item in report.items if item.seal is not None} | set(report.ruleset.sealed_items)


def targets(report: Report) -> list[Target]:
    """Everything in a report a clerk can decide on, in the report's order."""
    found: list[Target] = []
    sealed = needs_seal(report)
    for item in report.items:
        files = _item_files(item)
        found.append(
            Target(
                f"item:{item.id}",
                "item",
                item.id,
                item.title,
                "present" if item.present else "missing",
                _files_basis(report, files),
            )
        )
        if item.id in sealed:
            tool = "present" if isinstance(item.seal, SealFound) else "missing"
            if not isinstance(item.seal, SealFound | SealNotFound):
                tool = "unknown"  # not searched (the item was not found, or nothing could be searched)
            found.append(
                Target(f"seal:{item.id}", "seal", item.id, f"{item.title}的公章", tool, _files_basis(report, files))
            )
    form_files = [pair.location.file for pair in report.form]  # where the figures were read
    for cond in report.conditions:
        found.append(
            Target(
                f"condition:{cond.id}",
                "condition",
                cond.id,
                cond.title or cond.id,
                cond.status,
                _digest(_files_basis(report, form_files), json.dumps(cond.value)),
            )
        )
    seen: set[str] = set()
    for finding in report.findings:
        key = finding_key(finding)
        if key in seen:
            continue
        seen.add(key)
        file = [finding.location.file] if finding.location else []
        found.append(
            Target(
                key,
                "finding",
                key.removeprefix("finding:"),
                finding.message,
                "upheld",
                _digest(finding.message, _files_basis(report, file)),
            )
        )
    return found


# ---------------------------------------------------------------------------------------------------
# Their effect
# ---------------------------------------------------------------------------------------------------


def _stale_reason(decision: Decision, target: Target | None, kind: str) -> str | None:
    if target is None:
        return STALE_GONE + STALE_ADVICE
    if target.tool != decision.tool:
        texts = VALUE_TEXT[kind]
        old, new = texts.get(decision.tool, decision.tool), texts.get(target.tool, target.tool)
        return STALE_TOOL.format(old=old, new=new) + STALE_ADVICE
    if target.basis != decision.basis:
        return STALE_CONTENT + STALE_ADVICE
    return None


def _clerk_finding(
    code: str, item: ItemResult | None, message: str, decision: Decision, field: str | None = None
) -> Finding:
    """A finding the clerk's decision raises, with the code's own severity (pipeline.checks.SEVERITY)."""
    from .checks import finding

    who = f"（{decision.user}，{decision.at[:16].replace('T', ' ')}）"
    location = item.locations[0] if item and item.locations else None
    where = Location(file=location.file, pages=location.pages) if location else None
    return finding(code, CLERK_PREFIX + message + who, item.id if item else None, where, field)


def review(report: Report, decisions: Sequence[Decision]) -> Review | None:
    """The verdict after the clerk's decisions (None when there are none). Only decisions whose target
    still stands as it did when decided are applied; the rest are listed as 请重新确认."""
    if not decisions:
        return None
    by_key = {t.key: t for t in targets(report)}
    items = {item.id: item for item in report.items}
    conditions: dict[str, ConditionResult] = {c.id: c for c in report.conditions}
    findings = list(report.findings)
    shown: list[ClerkDecision] = []
    settled: set[str] = set()  # finding keys a decision settled: no longer 请人工核对
    added: list[Finding] = []
    applied: list[Decision] = []
    for decision in sorted(decisions, key=lambda d: d.seq):
        kind = decision.target.split(":", 1)[0]
        if kind not in KINDS:
            continue
        target = by_key.get(decision.target)
        reason = _stale_reason(decision, target, kind)
        shown.append(
            ClerkDecision(
                target=decision.target,
                kind=kind,  # type: ignore[arg-type]
                label=target.label if target else decision.label,
                value=decision.value,
                value_text=VALUE_TEXT[kind].get(decision.value, decision.value),
                tool=decision.tool,
                tool_now=target.tool if target else None,
                note=decision.note,
                user=decision.user,
                at=decision.at,
                applies=reason is None,
                reason=reason,
            )
        )
        if reason is not None or target is None:
            continue
        applied.append(decision)
        subject = target.subject
        if kind == "finding":
            settled.add(decision.target)
            if decision.value == "dismissed":
                findings = [f for f in findings if finding_key(f) != decision.target]
            continue
        if kind in ("item", "seal"):
            item = items[subject]
            gone = ("ITEM_MISSING", "ITEM_EMPTY") if kind == "item" else ("SEAL_MISSING",)
            settled.update(finding_key(f) for f in findings if f.item == subject and f.code in DOUBT_CODES)
            if decision.value == "present":
                findings = [f for f in findings if not (f.item == subject and f.code in gone)]
            elif not any(f.item == subject and f.code == gone[0] for f in findings):
                code = "ITEM_MISSING" if kind == "item" else "SEAL_MISSING"
                added.append(_clerk_finding(code, item, f"{target.label}{VALUE_TEXT[kind]['missing']}", decision))
        elif kind == "condition":
            cond = conditions[subject]
            if decision.value == "pass":
                findings = [f for f in findings if not (f.code == "CONDITION_NOT_MET" and f.field == subject)]
            elif not any(f.code == "CONDITION_NOT_MET" and f.field == subject for f in findings):
                added.append(_clerk_finding("CONDITION_NOT_MET", None, f"{target.label}不符合", decision, cond.id))
    # An item the clerk found that wants a seal nobody saw: the verdict must not read a bare 材料齐全.
    sealed, decided = needs_seal(report), {d.target for d in applied}
    for decision in applied:
        subject = decision.target.removeprefix("item:")
        found = decision.target.startswith("item:") and decision.value == "present"
        unseen = subject in sealed and f"seal:{subject}" not in decided
        if found and unseen and not isinstance(items[subject].seal, SealFound):
            added.append(_clerk_finding("LOW_CONFIDENCE", items[subject], UNSEEN_SEAL, decision))
    final = findings + added
    stale = sum(1 for d in shown if not d.applies)
    doubts = sum(1 for f in final if f.code in REVIEW_CODES and finding_key(f) not in settled)
    counts = Counts.of(final)
    return Review(
        verdict=counts.verdict,
        counts=counts,
        review_count=doubts + stale,
        findings=final,
        decisions=shown,
        stale=stale,
    )


# ---------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier   TEXT NOT NULL,              -- the report folder id under OUT
    target    TEXT NOT NULL,              -- Target.key
    value     TEXT NOT NULL,              -- '' when withdrawn
    note      TEXT NOT NULL DEFAULT '',
    user      TEXT NOT NULL,
    at        TEXT NOT NULL,
    tool      TEXT NOT NULL,              -- the tool's answer then
    basis     TEXT NOT NULL,              -- Target.basis then
    label     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_dossier ON decisions (dossier, target);
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    user      TEXT NOT NULL,
    action    TEXT NOT NULL,              -- decide, withdraw, upload, sign_in …
    dossier   TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
"""


def now() -> str:
    return dt.datetime.now(CHINA_TIME).isoformat(timespec="seconds")


class DecisionStore(Database):
    """Every decision ever recorded, and an audit log of who did what (decisions, uploads, sign-ins).
    History is never rewritten: a withdrawal is a row of its own."""

    schema = _SCHEMA

    def __init__(self, out: Path) -> None:
        super().__init__(Path(out) / FILENAME, timeout=30.0)

    @staticmethod
    def exists(out: Path) -> bool:
        return (Path(out) / FILENAME).is_file()

    def record(self, report: Report, target: str, value: str, note: str, user: str) -> Decision:
        """Record a clerk's decision on one target of a report; ValueError (for people) if it is not one."""
        kind = target.split(":", 1)[0]
        found = next((t for t in targets(report) if t.key == target), None)
        if found is None:
            raise ValueError(f"报告中没有可确认的对象：{target}")
        if value not in VALUES[kind]:
            raise ValueError(f"“{found.label}”只能确认为：{'、'.join(VALUE_TEXT[kind][v] for v in VALUES[kind])}")
        note = note.strip()[:2000]
        user = user.strip() or "未署名"
        at = now()
        ident = report.dossier.id
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO decisions (dossier, target, value, note, user, at, tool, basis, label) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ident, target, value, note, user, at, found.tool, found.basis, found.label),
            )
            detail = f"{found.label}：{VALUE_TEXT[kind][value]}" + (f"（{note}）" if note else "")
            conn.execute(
                "INSERT INTO audit (at, user, action, dossier, detail) VALUES (?, ?, 'decide', ?, ?)",
                (at, user, ident, detail),
            )
        seq = int(cursor.lastrowid or 0)
        return Decision(seq, ident, target, value, note, user, at, found.tool, found.basis, found.label)

    def withdraw(self, dossier: str, target: str, user: str) -> bool:
        """Withdraw the decision on a target (kept in the history); False when there was none."""
        if not any(d.target == target for d in self.current(dossier)):
            return False
        at = now()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO decisions (dossier, target, value, note, user, at, tool, basis, label) "
                "VALUES (?, ?, '', '', ?, ?, '', '', '')",
                (dossier, target, user, at),
            )
            conn.execute(
                "INSERT INTO audit (at, user, action, dossier, detail) VALUES (?, ?, 'withdraw', ?, ?)",
                (at, user, dossier, target),
            )
        return True

    def current(self, dossier: str) -> list[Decision]:
        """The decisions in force on a dossier: the latest on each target, withdrawn ones left out."""
        rows = self._conn().execute(
            "SELECT * FROM decisions WHERE seq IN (SELECT MAX(seq) FROM decisions WHERE dossier = ? GROUP BY target) "
            "AND value != '' ORDER BY seq",
            (dossier,),
        )
        return [_decision(row) for row in rows]

    def history(self, dossier: str) -> list[Decision]:
        rows = self._conn().execute("SELECT * FROM decisions WHERE dossier = ? ORDER BY seq", (dossier,))
        return [_decision(row) for row in rows]

    def dossiers(self) -> set[str]:
        """Ids of the dossiers with a decision in force."""
        rows = self._conn().execute(
            "SELECT dossier FROM decisions WHERE seq IN (SELECT MAX(seq) FROM decisions GROUP BY dossier, target) "
            "AND value != ''"
        )
        return {row[0] for row in rows}

    def log(self, user: str, action: str, dossier: str | None, detail: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO audit (at, user, action, dossier, detail) VALUES (?, ?, ?, ?, ?)",
                (now(), user, action, dossier, detail),
            )

    def audit(self, limit: int = 200, dossier: str | None = None) -> list[dict[str, Any]]:
        if dossier is None:
            rows = self._conn().execute("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._conn().execute(
                "SELECT * FROM audit WHERE dossier = ? ORDER BY seq DESC LIMIT ?", (dossier, limit)
            )
        return [dict(row) for row in rows]


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(
        seq=row["seq"],
        dossier=row["dossier"],
        target=row["target"],
        value=row["value"],
        note=row["note"],
        user=row["user"],
        at=row["at"],
        tool=row["tool"],
        basis=row["basis"],
        label=row["label"],
    )


# ---------------------------------------------------------------------------------------------------
# The reports in OUT
# ---------------------------------------------------------------------------------------------------


@contextmanager
def reports_lock(out: Path) -> Iterator[None]:
    """Held while a report folder of OUT is replaced (the watch service) or rewritten (a decision), and
    while the summary is written, so that no writer undoes another's work. A lock on the folder itself:
    nothing is added to OUT."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def load_report(folder: Path) -> Report:
    """OUT/<id>/report.json with its seal crops (the PNGs beside it), ready to be written again."""
    report = Report.model_validate_json((folder / "report.json").read_bytes())
    for item in report.items:
        if isinstance(item.seal, SealFound) and item.seal.crop:
            crop = folder / Path(item.seal.crop).name
            if crop.is_file():
                item.seal_crop = crop.read_bytes()
    return report


def rewrite(folder: Path, decisions: Sequence[Decision]) -> Report | None:
    """Apply the decisions to the report in FOLDER and write its formats again when the outcome changed;
    the report, or None when the folder holds none."""
    from .reports import FORMATS, write_reports

    if not (folder / "report.json").is_file():
        return None
    report = load_report(folder)
    judged = review(report, decisions)
    if judged == report.review:
        return report
    report.review = judged
    write_reports(report, folder, [f for f in FORMATS if (folder / f"report.{f}").is_file()])
    return report


def refresh(out: Path, ident: str, store: DecisionStore) -> Report | None:
    """OUT/<ident>'s report again with the decisions in force (after a decision, or a re-check)."""
    with reports_lock(out):
        return rewrite(out / ident, store.current(ident))


def apply_decisions(out: Path) -> None:
    """The reports of OUT with decisions in force, brought up to date (a batch or watch run wrote them
    again without): call before writing the summary."""
    if not DecisionStore.exists(out):
        return
    store = DecisionStore(out)
    try:
        for ident in sorted(store.dossiers()):
            refresh(out, ident, store)
    finally:
        store.close()
